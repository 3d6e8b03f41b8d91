package live

import (
	"math/rand"
	"testing"
	"time"

	"zoomwatch/feed"
	"zoomwatch/feed/sim"
)

// BenchmarkApply reduces decoded, real-shaped events; one op is one event.
//
//	mix: 200 overlapping meetings of 2–9 people (joins, leaves, rejoins, renames,
//	     recordings, ends with the trailing leaves), shuffled, 5% redelivered.
//	webinar: one meeting that 3000 people join and then leave (sessions past MaxSessions).
func BenchmarkApply(b *testing.B) {
	for _, c := range []struct {
		name string
		evs  func(testing.TB) []*feed.Event
	}{
		{"mix", func(tb testing.TB) []*feed.Event {
			rng := rand.New(rand.NewSource(1))
			script, _ := genScript(bb(tb), rng, 0, 200)
			return arrival(tb, rng, script, 8, 0.05)
		}},
		{"webinar", func(tb testing.TB) []*feed.Event {
			var evs []*feed.Event
			evs = append(evs, bb(tb).start(mDocs, 0))
			for i := range 3000 {
				evs = append(evs, bb(tb).join(mDocs, genPerson(i), 1+i))
			}
			for i := range 3000 {
				evs = append(evs, bb(tb).leave(mDocs, genPerson(i), 4000+i))
			}
			return evs
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			evs := c.evs(b)
			s := New()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k := i % len(evs)
				if k == 0 && i > 0 {
					b.StopTimer()
					s = New()
					b.StartTimer()
				}
				s.Apply(evs[k])
				if k%50 == 0 {
					s.TakeDirty() // the store takes the changes at each commit
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
		})
	}
}

// BenchmarkSnapshot copies a state of 200 meetings × 20 participants, each meeting with some
// churn (25 sessions, 5 leaves).
func BenchmarkSnapshot(b *testing.B) {
	s := New()
	for i := range 200 {
		m := genMeeting(i)
		s.Apply(bb(b).start(m, 0))
		for p := range 25 {
			s.Apply(bb(b).join(m, genPerson(p), 1+p))
		}
		for p := range 5 {
			s.Apply(bb(b).leave(m, genPerson(p), 100+p))
		}
	}
	if n := len(s.Meetings); n != 200 || len(s.Meetings[genMeeting(0).uuid].Participants) != 20 {
		b.Fatalf("%d meetings", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Snapshot()
	}
}

func bb(tb testing.TB) b { return b{tb} }

// accountEvents decodes n events of the simulator's busiest account (10,000 meetings at
// once, each hearing about one event a second): the state the bench's ingest ladder builds.
func accountEvents(tb testing.TB, n int) []*feed.Event {
	g := sim.NewGenerator(1, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), 10_000)
	evs := make([]*feed.Event, n)
	for i := range evs {
		raw, _ := g.Next()
		ev, err := feed.DecodeEvent(raw)
		if err != nil {
			tb.Fatal(err)
		}
		evs[i] = ev
	}
	return evs
}

// BenchmarkSnapshotSince is what a viewer costs on a busy account: with 10,000 meetings
// live, 1,500 events (a tenth of a second at 15,000 events/s) are applied and noted as a
// commit would, then the next snapshot is taken from the last. One op is one snapshot; the
// events are applied with the timer stopped.
func BenchmarkSnapshotSince(b *testing.B) {
	const warm, per = 100_000, 1_500
	evs := accountEvents(b, warm+200*per)
	var (
		s    *State
		prev *Snapshot
		c    Changes
		u    Unsaved
		next int
	)
	reset := func() {
		s, c, u, next = noted(evs[:warm])
		prev = s.SnapshotSince(nil, &c)
	}
	reset()
	if len(prev.Meetings) < 9_000 {
		b.Fatalf("%d meetings live, want about 10,000", len(prev.Meetings))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if next+per > len(evs) {
			reset()
		}
		for _, ev := range evs[next : next+per] {
			s.Apply(ev)
		}
		next += per
		s.MoveDirty(&u, &c, per)
		if i%50 == 0 {
			u.Take() // as saves do, so that the unsaved set does not grow for ever
		}
		b.StartTimer()
		prev = s.SnapshotSince(prev, &c)
	}
}

// BenchmarkApplyAndNote is the live state's share of the writer's work on a busy account:
// events applied and their changes noted at every commit of 300 (20 ms at 15,000
// events/s), the noted changes taken by a save every 75,000 and by a snapshot every 1,500.
// One op is one event.
func BenchmarkApplyAndNote(b *testing.B) {
	const warm, commit, save, snapshot = 100_000, 300, 75_000, 1_500
	evs := accountEvents(b, warm+400_000)
	var (
		s    *State
		c    Changes
		u    Unsaved
		next int
	)
	reset := func() {
		s, c, u, next = noted(evs[:warm])
		u.Take()
	}
	reset()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if next == len(evs) {
			b.StopTimer()
			reset()
			b.StartTimer()
		}
		s.Apply(evs[next])
		if next++; next%commit == 0 {
			s.MoveDirty(&u, &c, commit)
			if next%snapshot == 0 {
				c = Changes{}
			}
			if next%save == 0 {
				u.Take()
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
}

// noted is a new state with evs applied and their changes noted, as by a commit; next is
// the index of the event after them.
func noted(evs []*feed.Event) (s *State, c Changes, u Unsaved, next int) {
	s = New()
	for _, ev := range evs {
		s.Apply(ev)
	}
	s.MoveDirty(&u, &c, len(evs))
	return s, c, u, len(evs)
}
