package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/store"
)

// simItems runs the simulator from start at rate events/s until n events or until.
func simItems(seed int64, start, until time.Time, rate float64, n int) []feed.Item {
	g := sim.NewGenerator(seed, start, rate)
	var items []feed.Item
	for len(items) < n {
		raw, when := g.Next()
		if when.After(until) {
			break
		}
		e, err := feed.DecodeEvent(raw)
		if err != nil {
			panic(err)
		}
		items = append(items, feed.Item{Event: e, Received: when.Add(120 * time.Millisecond)})
	}
	return items
}

// BenchmarkView200x60 renders the whole live screen at 200x60 with every pane full: 50
// meetings, a full joins log, recordings, a connection pane with gaps and log.
func BenchmarkView200x60(b *testing.B) {
	st := openStore(b)
	// At 45 events/s the simulator keeps about 50 meetings going.
	submit(b, st, simItems(3, at(15*time.Minute), fixedNow, 45, 1<<30)...)
	mdl, _ := New(Deps{Store: st, Sub: st.Subscribe(8), Status: fixtureStats, Account: "AbC Corp", Now: func() time.Time { return fixedNow }})
	m := mdl.(*Model)
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	m.Update(readHealth(&m.d, fixedNow))
	m.Update(loadInitial(st, fixedNow))
	if len(m.data.snap.Meetings) < 45 || len(m.data.joins) < 1500 || len(m.data.snap.Recordings) < 20 {
		b.Fatalf("not busy: %d meetings, %d joins, %d recordings", len(m.data.snap.Meetings), len(m.data.joins), len(m.data.snap.Recordings))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.frameValid = false
		_ = m.View()
	}
}

// BenchmarkUpdate5000 feeds committed batches as the store publishes them at 5,000 events/s
// (a commit every 100 ms: 500 events a notice) through the whole update path: draining the
// subscription into one message, then Update. ns/event is the cost per event.
func BenchmarkUpdate5000(b *testing.B) {
	const perNotice = 500
	st := openStore(b)
	submit(b, st, scenario()...)
	items := simItems(5, fixedNow, fixedNow.Add(time.Hour), 5000, 50_000)
	recs := make([]store.Record, len(items))
	for i, it := range items {
		recs[i] = store.Record{Seq: uint64(1000 + i), Received: it.Received, Source: store.SourceWebSocket, TS: it.Event.TS, Raw: it.Event.Raw, Event: it.Event}
	}
	ch := make(chan store.Notice, 4)
	sub := &store.Subscription{C: ch}
	mdl, _ := New(Deps{Store: st, Sub: sub, Status: fixtureStats, Now: func() time.Time { return fixedNow }})
	m := mdl.(*Model)
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	m.Update(loadInitial(st, fixedNow))
	wait := waitFeed(st, sub, func() time.Time { return fixedNow }, time.Time{})
	next, seq := 0, uint64(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		batch := &store.Batch{Records: make([]store.Record, perNotice), LiveChanged: true, Committed: fixedNow}
		for k := range batch.Records {
			r := recs[next%len(recs)]
			seq++
			r.Seq = seq
			batch.Records[k] = r
			next++
		}
		ch <- store.Notice{Batch: batch}
		m.Update(wait())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perNotice), "ns/event")
}

// BenchmarkHistoryFirstPaint200k opens history over 200,000 stored events: the first page
// read, the log markers, and the first frame.
func BenchmarkHistoryFirstPaint200k(b *testing.B) {
	st := openStore(b)
	const total = 200_000
	items := simItems(11, fixedNow.Add(-12*time.Hour), fixedNow, 5, total)
	for i := 0; i < len(items); i += 10_000 {
		submit(b, st, items[i:min(i+10_000, len(items))]...)
	}
	if n := st.LastSeq(); n < total*9/10 {
		b.Fatalf("only %d events stored", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		mdl, _ := New(Deps{Store: st, Mode: ModeHistory, Now: func() time.Time { return fixedNow }})
		m := mdl.(*Model)
		m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
		h := m.pages[0].(*historyPage)
		m.Update(h.reload(m)())
		if len(h.rows) == 0 {
			b.Fatal("no rows")
		}
		_ = m.View()
	}
}
