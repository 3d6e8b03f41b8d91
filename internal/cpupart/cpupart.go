// Package cpupart names what zoomwatch's goroutines are working on, as pprof labels, so that
// a CPU profile splits the process's time into parts. The store labels its own work (store,
// live); `zoomwatch bench` labels the rest of the pipeline it runs (feed, screen, simulator)
// and reports its cores by part. In a profile of zoomwatch itself, go tool pprof
// -tagfocus part=live shows the live state's share.
package cpupart

import (
	"context"
	"runtime/pprof"
)

// Key is the label's name.
const Key = "part"

// The parts. Work a part's goroutine does for another (a viewer's snapshot, say) counts
// where it is done.
const (
	Feed      = "feed"      // reading and decoding frames
	Store     = "store"     // the writer: blocks, indexes, commits, fsync
	Live      = "live"      // applying events to the live state, and saving it
	Screen    = "screen"    // a viewer: snapshots of the live state, drawing
	Simulator = "simulator" // the built-in simulator
	Bench     = "bench"     // the bench's own bookkeeping
)

// In is a context whose labels say part, for Set and Do.
func In(part string) context.Context {
	return pprof.WithLabels(context.Background(), pprof.Labels(Key, part))
}

// Set labels the calling goroutine as ctx says (see In) until it is set again. Goroutines
// it starts from then on are labelled alike.
func Set(ctx context.Context) { pprof.SetGoroutineLabels(ctx) }

// Do runs f with the calling goroutine labelled part, and then labelled as ctx says again:
// ctx carries the caller's own labels, as pprof cannot read them back. Goroutines f starts
// keep part.
func Do(ctx context.Context, part string, f func()) {
	pprof.Do(ctx, pprof.Labels(Key, part), func(context.Context) { f() })
}
