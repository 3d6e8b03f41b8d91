package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/store/live"
)

// benchEvents makes n decoded events from the simulator's generator: a busy account (200
// events/s of virtual time: about a thousand meetings at once, starting and ending, people
// joining, leaving and rejoining, recordings), distinct identities throughout.
func benchEvents(tb testing.TB, n int) []feed.Item {
	return benchEventsAt(tb, n, 200)
}

// benchEventsAt generates n events of an account as busy as rate events/s: the simulator
// runs about 1.2 concurrent meetings per event/s (200: 240 meetings; 10,000: 10,000).
func benchEventsAt(tb testing.TB, n int, rate float64) []feed.Item {
	g := sim.NewGenerator(1, t0, rate)
	out := make([]feed.Item, n)
	for i := range out {
		raw, at := g.Next()
		ev, err := feed.DecodeEvent(raw)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = feed.Item{Event: ev, Received: at}
	}
	return out
}

// BenchmarkIngest measures durable ingest through the writer: group commit, fsync on, for
// accounts of about a dozen meetings at a time (the history `zoomwatch bench store` ingests),
// 240 and 10,000.
func BenchmarkIngest(b *testing.B) {
	for _, rate := range []float64{10, 200, 10_000} {
		b.Run(fmt.Sprintf("account=%.0f/s", rate), func(b *testing.B) { benchIngest(b, rate) })
	}
}

func benchIngest(b *testing.B, rate float64) {
	items := benchEventsAt(b, 100_000, rate)
	s := openTest(b, Options{NoSync: os.Getenv("ZOOMWATCH_BENCH_NOSYNC") != ""})
	ctx := context.Background()
	var raw int64
	b.ResetTimer()
	for i := range b.N {
		it := items[i%len(items)]
		if i >= len(items) { // keep identities distinct past the prepared set
			ev := *it.Event
			ev.TS += feed.Millis(i / len(items) * 1_000_000_000)
			it.Event = &ev
		}
		raw += int64(len(it.Event.Raw))
		if err := s.Submit(ctx, it); err != nil {
			b.Fatal(err)
		}
	}
	s.Flush(ctx)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	file, used := s.Size()
	b.ReportMetric(float64(used)/float64(raw), "disk/raw")
	_ = file
}

// BenchmarkPage measures a 50-row page at a random point of a large store, unfiltered and
// by meeting. The store is built once per run in a temp dir (set ZOOMWATCH_BENCH_N to size it;
// default 200,000).
func BenchmarkPage(b *testing.B) {
	n := 200_000
	if v := os.Getenv("ZOOMWATCH_BENCH_N"); v != "" {
		fmt.Sscan(v, &n)
	}
	path := filepath.Join(b.TempDir(), "events.db")
	s := openTest(b, Options{Path: path})
	items := benchEvents(b, 100_000)
	ctx := context.Background()
	for i := range n {
		it := items[i%len(items)]
		if i >= len(items) {
			ev := *it.Event
			ev.TS += feed.Millis(i / len(items) * 1_000_000_000)
			it.Event = &ev
		}
		s.Submit(ctx, it)
	}
	s.Flush(ctx)
	last := s.LastSeq()
	for _, c := range []struct {
		name string
		f    Filter
	}{{"all", Filter{}}, {"meeting", Filter{Meeting: meetingOf(items[len(items)/2])}}, {"type", Filter{Types: []string{"recording.completed"}}}} {
		b.Run(c.name, func(b *testing.B) {
			for i := range b.N {
				cursor := uint64(i*7919)%last + 1
				p, err := s.Page(Query{Filter: c.f, Cursor: cursor, Limit: 50})
				if err != nil {
					b.Fatal(err)
				}
				for j := range p.Records {
					p.Records[j].Decode() // a page is shown, so it is decoded
				}
			}
		})
	}
}

func meetingOf(it feed.Item) string { return it.Event.MeetingKey() }

// BenchmarkSaveCapture is what a save of the live state holds the state for (liveMu: the
// writer's next batch and every viewer's snapshot wait) on the busiest account: 10,000
// meetings, five seconds at 15,000 events/s applied since the last save. One op is one
// capture (taking the changed set, and copying what the save reads); the events between
// are applied with the timer stopped.
func BenchmarkSaveCapture(b *testing.B) {
	const warm, per = 100_000, 75_000
	items := benchEventsAt(b, warm+4*per, 10_000)
	var (
		st   *live.State
		u    live.Unsaved
		next int
	)
	reset := func() {
		st, u, next = live.New(), live.Unsaved{}, warm
		for _, it := range items[:warm] {
			st.Apply(it.Event)
		}
		st.MoveDirty(&u, nil, warm)
		u.Take()
	}
	reset()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if next+per > len(items) {
			reset()
		}
		for i, it := range items[next : next+per] {
			st.Apply(it.Event)
			if i%300 == 299 { // a commit
				st.MoveDirty(&u, nil, 300)
			}
		}
		next += per
		b.StartTimer()
		captureLive(st, u.Take())
	}
}
