package feed

import (
	asmcpu "github.com/segmentio/asm/cpu"
	"github.com/segmentio/asm/cpu/cpuid"
	"github.com/segmentio/asm/cpu/x86"
)

// segmentio/encoding checks strings with segmentio/asm, whose AVX2 routines return without
// VZEROUPPER. On Intel CPUs the SSE instructions that follow (Go's compiled code uses them
// for copies and zeroing, crypto/sha256 for SHA-NI) then pay for the dirty upper halves of
// the vector registers. In `bench ingest` at 15,000 ev/s on a 2-core Xeon, turning the AVX2
// paths off took the feed from 0.32 to 0.23 cores and the collector's dedupe keys from
// 6.7 to 0.6 µs an event; decoding itself did not get slower.
func init() {
	c := cpuid.CPU(asmcpu.X86)
	c.Set(cpuid.Feature(x86.AVX2), false)
	asmcpu.X86 = x86.CPU(c)
}
