package feed

import (
	"testing"

	asmcpu "github.com/segmentio/asm/cpu"
	"github.com/segmentio/asm/cpu/x86"
)

// The decoder must not leave the vector registers dirty (see avx.go): a machine with AVX2
// shows the switch; one without has nothing to switch off.
func TestDecoderAVX2PathsAreOff(t *testing.T) {
	if asmcpu.X86.Has(x86.AVX2) {
		t.Fatal("segmentio/asm's AVX2 paths are on: every SSE instruction after a decode pays for them on Intel")
	}
}
