package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"zoomwatch/feed"
	"zoomwatch/internal/syncbuf"
)

func TestEventsSurviveReopenExactly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path})
	items := joins(t, 200, 7) // more than three blocks, last one partial
	submit(t, s, items...)
	s.Close()

	s = openTest(t, Options{Path: path})
	p, err := s.Page(Query{Oldest: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 200 {
		t.Fatalf("got %d events after reopen, want 200", len(p.Records))
	}
	for i, r := range p.Records {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		if !bytes.Equal(r.Raw, items[i].Event.Raw) {
			t.Fatalf("seq %d: stored bytes differ:\n%s\n%s", r.Seq, r.Raw, items[i].Event.Raw)
		}
		if r.Source != SourceWebSocket || int64(r.TS) != int64(items[i].Event.TS) || !r.Received.Equal(items[i].Received.Truncate(time.Microsecond)) {
			t.Fatalf("seq %d: metadata %v %v %v", r.Seq, r.Source, r.TS, r.Received)
		}
	}
	// The partially filled last block keeps filling after a restart.
	submit(t, s, item(t, joinRaw("late", "someone", t0.UnixMilli()+999_000)))
	if got := s.LastSeq(); got != 201 {
		t.Fatalf("last seq after one more event = %d, want 201", got)
	}
}

func TestTrickleFillsBlocks(t *testing.T) {
	s := openTest(t, Options{})
	for _, it := range joins(t, 130, 3) {
		submit(t, s, it) // one commit per event: the tail block is rewritten each time
	}
	n := 0
	s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bEvents).Stats().KeyN
		return nil
	})
	if n != 3 { // 64 + 64 + 2
		t.Fatalf("130 trickled events use %d blocks, want 3", n)
	}
	for _, seq := range []uint64{1, 64, 65, 128, 129, 130} {
		if r, ok, err := s.Get(seq); err != nil || !ok || r.Seq != seq {
			t.Fatalf("get %d: %v %v %v", seq, r.Seq, ok, err)
		}
	}
}

func TestDedupeWithinBatchAcrossCommitsAndRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path})
	a := joinRaw("m1", "Ada", t0.UnixMilli())
	b := joinRaw("m1", "Grace", t0.UnixMilli())
	sub := s.Subscribe(16)
	// The same event three times in one batch, and a different participant at the same ms.
	// The writer is held in a first commit while they queue, so that they make one batch.
	entered, release := make(chan struct{}), make(chan struct{})
	var hold sync.Once
	s.opts.commitHook = func() error {
		hold.Do(func() { close(entered); <-release })
		return nil
	}
	ctx := context.Background()
	if err := s.Note(ctx, "hold the writer"); err != nil {
		t.Fatal(err)
	}
	<-entered
	for _, it := range []feed.Item{item(t, a), item(t, a), item(t, b), item(t, a)} {
		if err := s.Submit(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	<-sub.C // the note's
	n := <-sub.C
	if len(n.Records) != 2 {
		t.Fatalf("published %d records, want 2 (duplicates are not shown)", len(n.Records))
	}
	// The same event re-formatted (a webhook retry) is still the same event.
	var pretty bytes.Buffer
	pretty.WriteString(strings.ReplaceAll(string(a), `,"`, ",\n  \""))
	submit(t, s, item(t, pretty.Bytes()))
	s.Close()

	s = openTest(t, Options{Path: path})
	submit(t, s, item(t, a), item(t, b))
	h := s.Health()
	if h.Counts.Events != 2 || h.Counts.Duplicates != 5 {
		t.Fatalf("counts = %+v, want 2 events and 5 duplicates", h.Counts)
	}
	if s.LastSeq() != 2 {
		t.Fatalf("last seq %d", s.LastSeq())
	}
}

// TestTrickleIsCommittedTogether: events that arrive one by one soon after a commit wait for
// the next one rather than each taking its own (two fsyncs apiece), and a flush does not
// wait: with the interval set to an hour, what arrives before the flush is one commit.
func TestTrickleIsCommittedTogether(t *testing.T) {
	// Set before the store opens and put back after it closes (cleanups run last first).
	every := commitEvery
	t.Cleanup(func() { commitEvery = every })
	commitEvery = time.Hour
	s := openTest(t, Options{})
	sub := s.Subscribe(16)
	ctx := context.Background()
	submit(t, s, item(t, joinRaw("m1", "Ada", t0.UnixMilli()))) // a first commit, just now
	if n := <-sub.C; len(n.Records) != 1 {
		t.Fatalf("first commit published %d records", len(n.Records))
	}
	for i := range 5 {
		if err := s.Submit(ctx, item(t, joinRaw("m1", fmt.Sprint("p", i), t0.UnixMilli()+int64(i)))); err != nil {
			t.Fatal(err)
		}
		for len(s.w.in) > 0 { // one at a time: the writer has taken each before the next comes
			runtime.Gosched()
		}
	}
	if err := s.Flush(ctx); err != nil { // returns at once: the hour is not waited out
		t.Fatal(err)
	}
	if n := <-sub.C; len(n.Records) != 5 {
		t.Fatalf("the trickle came in a commit of %d records, want all 5 in one", len(n.Records))
	}
	select {
	case n := <-sub.C:
		t.Fatalf("another commit of %d records", len(n.Records))
	default:
	}
}

func TestPageDirectionsCursorsAndFilters(t *testing.T) {
	s := openTest(t, Options{})
	var items []feed.Item
	for i := range 300 {
		m := fmt.Sprintf("m%d", i%3)
		ts := t0.UnixMilli() + int64(i)*1000
		switch i % 4 {
		case 0:
			items = append(items, item(t, startedRaw(m, ts)))
		case 1, 2:
			items = append(items, item(t, joinRaw(m, fmt.Sprintf("Person %d", i), ts)))
		case 3:
			items = append(items, item(t, leftRaw(m, fmt.Sprintf("Person %d", i-1), ts)))
		}
	}
	submit(t, s, items...)

	// Newest first, paged with the cursor, covers everything exactly once.
	var all []uint64
	q := Query{Limit: 50}
	for {
		p, err := s.Page(q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, seqs(p.Records)...)
		if p.Done || len(p.Records) == 0 {
			break
		}
		q.Cursor = p.Records[len(p.Records)-1].Seq
	}
	if len(all) != 300 || all[0] != 300 || all[299] != 1 || !slices.IsSortedFunc(all, func(a, b uint64) int { return int(b) - int(a) }) {
		t.Fatalf("newest-first paging gave %d seqs from %v to %v", len(all), all[0], all[len(all)-1])
	}

	cases := []struct {
		name string
		f    Filter
		want func(i int) bool
	}{
		{"type glob", Filter{Types: []string{"meeting.participant_*"}}, func(i int) bool { return i%4 != 0 }},
		{"exact type", Filter{Types: []string{"meeting.started"}}, func(i int) bool { return i%4 == 0 }},
		{"two types", Filter{Types: []string{"meeting.started", "meeting.participant_left"}}, func(i int) bool { return i%4 == 0 || i%4 == 3 }},
		{"meeting uuid", Filter{Meeting: "m1=="}, func(i int) bool { return i%3 == 1 }},
		{"meeting number", Filter{Meeting: "86431910002"}, func(i int) bool { return true }},
		{"meeting and type", Filter{Meeting: "m2==", Types: []string{"meeting.started"}}, func(i int) bool { return i%3 == 2 && i%4 == 0 }},
		{"participant name", Filter{Participant: "person 10"}, func(i int) bool {
			return (i%4 == 1 || i%4 == 2) && strings.HasPrefix(fmt.Sprint(i), "10") || i%4 == 3 && strings.HasPrefix(fmt.Sprint(i-1), "10")
		}},
		{"text", Filter{Text: "PERSON 77"}, func(i int) bool { return i == 77 }},
		{"time range", Filter{Since: t0.Add(100 * time.Second), Until: t0.Add(110 * time.Second)}, func(i int) bool { return i >= 100 && i < 110 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []uint64
			for i := 299; i >= 0; i-- {
				if c.want(i) {
					want = append(want, uint64(i+1))
				}
			}
			var got []uint64
			q := Query{Filter: c.f, Limit: 7, MaxScan: 40}
			for range 1000 {
				p, err := s.Page(q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, seqs(p.Records)...)
				if p.Done {
					break
				}
				q.Cursor = p.Next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
			// Oldest first gives the same set reversed.
			var asc []uint64
			err := s.Scan(context.Background(), c.f, func(r *Record) error { asc = append(asc, r.Seq); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if c.f.Since.IsZero() {
				slices.Reverse(asc)
			} else {
				slices.Sort(asc)
				slices.Reverse(asc)
			}
			if !slices.Equal(asc, want) {
				t.Fatalf("scan got %v\nwant %v", asc, want)
			}
		})
	}
	if got := s.SeqAt(t0.Add(150 * time.Second)); got != 151 {
		t.Fatalf("SeqAt = %d, want 151", got)
	}
}

func TestGapsFromDropsAndRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	now := t0
	clock := func() time.Time { return now }
	s := openTest(t, Options{Path: path, Now: clock})
	if _, open := s.OpenGap(); open {
		t.Fatal("a new database has no gap")
	}
	// First-ever connection: not a gap, but where listening began.
	if l := s.Health().Listening; !l.IsZero() {
		t.Fatalf("a new database says it listened since %v", l)
	}
	submit(t, s, transition(feed.StateConnecting, t0, ""), transition(feed.StateLive, t0.Add(time.Second), ""))
	if l := s.Health().Listening; !l.Equal(t0.Add(time.Second)) {
		t.Fatalf("listening since %v, want the first live transition %v", l, t0.Add(time.Second))
	}
	submit(t, s, item(t, startedRaw("m1", t0.Add(2*time.Second).UnixMilli())))
	// A drop opens a gap; retries keep the first cause; going live closes it.
	submit(t, s, transition(feed.StateBackoff, t0.Add(time.Minute), "read: unexpected EOF"))
	g, open := s.OpenGap()
	if !open || !g.From.Equal(t0.Add(time.Minute)) || g.Reason != "read: unexpected EOF" {
		t.Fatalf("open gap = %+v, %v", g, open)
	}
	submit(t, s, transition(feed.StateConnecting, t0.Add(61*time.Second), ""),
		transition(feed.StateBackoff, t0.Add(62*time.Second), "dial: connection refused"),
		transition(feed.StateLive, t0.Add(3*time.Minute), ""))
	gaps, _ := s.Gaps(10)
	if len(gaps) != 1 || !gaps[0].From.Equal(t0.Add(time.Minute)) || !gaps[0].To.Equal(t0.Add(3*time.Minute)) || gaps[0].Reason != "read: unexpected EOF" {
		t.Fatalf("gaps = %+v", gaps)
	}
	// The meeting that was active across a two-minute gap is now uncertain.
	if m := s.Live().Meeting("m1=="); m == nil || m.Uncertain == "" {
		t.Fatalf("meeting after a long gap: %+v", m)
	}

	// A crash (no stopped transition): the next run records a gap from the last sign of life.
	now = t0.Add(4 * time.Minute)
	submit(t, s, item(t, joinRaw("m1", "Ada", now.UnixMilli()))) // commits LastAlive = now
	s.w.stop()                                                   // simulate kill -9: no stopped transition, no clean close
	s.db.Close()
	s.w = nil

	now = t0.Add(10 * time.Minute)
	s2 := openTest(t, Options{Path: path, Now: clock})
	submit(t, s2, transition(feed.StateConnecting, now, ""), transition(feed.StateLive, now.Add(time.Second), ""))
	gaps, _ = s2.Gaps(10)
	if len(gaps) != 2 || !gaps[0].From.Equal(t0.Add(4*time.Minute)) || !strings.Contains(gaps[0].Reason, "not running") {
		t.Fatalf("gap after crash = %+v", gaps)
	}
	// A clean stop: the gap starts at the stop.
	submit(t, s2, transition(feed.StateStopped, now.Add(time.Minute), "interrupted"))
	s2.Close()
	now = t0.Add(20 * time.Minute)
	s3 := openTest(t, Options{Path: path, Now: clock})
	if g, open := s3.OpenGap(); !open || !g.From.Equal(t0.Add(11*time.Minute)) {
		t.Fatalf("open gap while stopped = %+v %v", g, open)
	}
	submit(t, s3, transition(feed.StateConnecting, now, ""), transition(feed.StateLive, now, ""))
	gaps, _ = s3.Gaps(10)
	if len(gaps) != 3 || !gaps[0].From.Equal(t0.Add(11*time.Minute)) || gaps[0].Reason != "zoomwatch was not running" {
		t.Fatalf("gap after clean stop = %+v", gaps[0])
	}
	// Later connections and restarts keep when listening first began; so does a reader.
	if l := s3.Health().Listening; !l.Equal(t0.Add(time.Second)) {
		t.Fatalf("after restarts, listening since %v, want %v", l, t0.Add(time.Second))
	}
	s3.Close()
	r := openTest(t, Options{Path: path, ReadOnly: true})
	if l := r.Health().Listening; !l.Equal(t0.Add(time.Second)) {
		t.Fatalf("a reader says listening since %v, want %v", l, t0.Add(time.Second))
	}
	r.Close()
	s3 = openTest(t, Options{Path: path, Now: clock})
	// History shows the gaps inline, after the event that preceded them.
	log, _ := s3.LogRange(0, s3.LastSeq())
	kinds := 0
	for _, e := range log {
		if e.Kind == LogGap {
			kinds++
		}
	}
	if kinds != 3 {
		t.Fatalf("log has %d gap entries, want 3", kinds)
	}
	// Running again but failing to connect: the gap says so, not only that zoomwatch was
	// not running (it was, for the last part).
	submit(t, s3, transition(feed.StateConnecting, now.Add(time.Minute), ""), transition(feed.StateLive, now.Add(time.Minute), ""),
		transition(feed.StateStopped, now.Add(2*time.Minute), "interrupted"))
	s3.Close()
	now = t0.Add(30 * time.Minute)
	s4 := openTest(t, Options{Path: path, Now: clock})
	submit(t, s4, transition(feed.StateConnecting, now, ""), transition(feed.StateBackoff, now, "connect: dial tcp: connection refused"),
		transition(feed.StateConnecting, now.Add(time.Second), ""), transition(feed.StateBackoff, now.Add(time.Second), "connect: dial tcp: i/o timeout"))
	want := "zoomwatch was not running; running again from " + now.Local().Format("15:04:05") + ", but connect: dial tcp: connection refused"
	if g, open := s4.OpenGap(); !open || g.Reason != want {
		t.Errorf("open gap while failing to connect after a restart: %+v, want reason %q", g, want)
	}
	// A process restarted again (a service manager after each failure) says its own: the
	// reason does not grow a clause per restart.
	for range 3 {
		submit(t, s4, transition(feed.StateStopped, now.Add(2*time.Second), "terminated (SIGTERM)"))
		s4.Close()
		s4 = openTest(t, Options{Path: path, Now: clock})
		submit(t, s4, transition(feed.StateConnecting, now, ""), transition(feed.StateBackoff, now, "connect: dial tcp: connection refused"))
	}
	if g, _ := s4.OpenGap(); g.Reason != want {
		t.Errorf("after restarts in a row the gap's reason is %q, want %q", g.Reason, want)
	}
	submit(t, s4, transition(feed.StateLive, now.Add(time.Minute), ""))
	if gaps, _ := s4.Gaps(1); len(gaps) != 1 || gaps[0].Reason != want {
		t.Errorf("gap = %+v, want reason %q", gaps, want)
	}
}

// A gap across a restart marks the active meetings uncertain however short it is (after a
// quick restart of the demo, its new simulator never mentions the old meetings again); a
// quick reconnect within one process does not.
func TestAQuickRestartMarksMeetingsUncertain(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(map[bool]string{false: "clean stop", true: "crash"}[crash], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.db")
			now := t0
			clock := func() time.Time { return now }
			s := openTest(t, Options{Path: path, Now: clock})
			submit(t, s, transition(feed.StateConnecting, t0, ""), transition(feed.StateLive, t0.Add(time.Second), ""))
			submit(t, s, item(t, startedRaw("m1", t0.Add(2*time.Second).UnixMilli())))
			now = t0.Add(time.Minute)
			if crash {
				submit(t, s, item(t, joinRaw("m1", "Ada", now.UnixMilli()))) // commits LastAlive = now
				s.w.stop()
				s.db.Close()
				s.w = nil
			} else {
				submit(t, s, transition(feed.StateStopped, now, "interrupted"))
				s.Close()
			}
			now = now.Add(time.Second)
			s2 := openTest(t, Options{Path: path, Now: clock})
			submit(t, s2, transition(feed.StateConnecting, now, ""), transition(feed.StateLive, now.Add(time.Second), ""))
			if m := s2.Live().Meeting("m1=="); m == nil || !strings.Contains(m.Uncertain, "not running") {
				t.Fatalf("meeting after a 2 s restart: %+v", m)
			}

			// In this process a 2 s reconnect is no restart.
			now = now.Add(time.Minute)
			submit(t, s2, item(t, startedRaw("m2", now.UnixMilli())))
			submit(t, s2, transition(feed.StateBackoff, now.Add(time.Second), "read: unexpected EOF"),
				transition(feed.StateLive, now.Add(3*time.Second), ""))
			if gaps, _ := s2.Gaps(1); len(gaps) != 1 || gaps[0].Reason != "read: unexpected EOF" {
				t.Fatalf("the reconnect's gap: %+v", gaps)
			}
			if m := s2.Live().Meeting("m2=="); m == nil || m.Uncertain != "" {
				t.Fatalf("meeting after a 2 s reconnect: %+v", m)
			}
		})
	}
}

// A silent link is noticed only heartbeats after it went quiet: the gap starts at the last
// frame received, so that it covers the whole time nothing arrived (and meetings are marked
// uncertain when that was long).
func TestSilentLinksGapStartsAtItsLastFrame(t *testing.T) {
	s := openTest(t, Options{})
	submit(t, s, transition(feed.StateConnecting, t0, ""), transition(feed.StateLive, t0, ""))
	submit(t, s, item(t, startedRaw("m1", t0.Add(time.Second).UnixMilli())))
	silent := transition(feed.StateBackoff, t0.Add(50*time.Second), "no frame for 21s (heartbeat 10s): link silent")
	silent.Transition.SilentSince = t0.Add(29 * time.Second)
	submit(t, s, silent, transition(feed.StateLive, t0.Add(60*time.Second), ""))
	gaps, _ := s.Gaps(10)
	if len(gaps) != 1 || !gaps[0].From.Equal(t0.Add(29*time.Second)) || !gaps[0].To.Equal(t0.Add(60*time.Second)) {
		t.Fatalf("gaps = %+v, want one from the last frame (t0+29s) to t0+60s", gaps)
	}
	if m := s.Live().Meeting("m1=="); m == nil || m.Uncertain == "" {
		t.Fatalf("a meeting across 31 s without frames is not marked uncertain: %+v", m)
	}
}

func TestSlowSubscriberNeverBlocksWriter(t *testing.T) {
	s := openTest(t, Options{})
	slow := s.Subscribe(1)
	fast := s.Subscribe(1000)
	for _, it := range joins(t, 50, 5) {
		submit(t, s, it) // 50 commits; the slow subscriber reads none of them
	}
	got := 0
	for got < 50 {
		n := <-fast.C
		got += len(n.Records)
	}
	n := <-slow.C
	if len(n.Records) != 1 || n.Records[0].Seq != 1 {
		t.Fatalf("slow subscriber's first notice: %v", seqs(n.Records))
	}
	submit(t, s, item(t, joinRaw("x", "late", t0.UnixMilli()+1e6)))
	n = <-slow.C
	if n.Missed != 49 {
		t.Fatalf("slow subscriber missed %d batches, want 49", n.Missed)
	}
	// It reloads what it missed from the store.
	recs, err := s.After(1, 100)
	if err != nil || len(recs) != 50 {
		t.Fatalf("reload after 1: %d records, %v", len(recs), err)
	}
	slow.Close()
	fast.Close()
	if s.Subscribers() != 0 {
		t.Fatalf("%d subscribers left", s.Subscribers())
	}
}

func TestDiskErrorsKeepBacklogThenRecordGap(t *testing.T) {
	fail := make(chan bool, 1)
	failing := false
	s := openTest(t, Options{BacklogMax: 10})
	s.opts.commitHook = func() error {
		select {
		case failing = <-fail:
		default:
		}
		if failing {
			return errors.New("write events.db: no space left on device")
		}
		return nil
	}
	sub := s.Subscribe(100)
	submit(t, s, transition(feed.StateLive, t0, ""))
	<-sub.C
	fail <- true
	ctx := context.Background()
	items := joins(t, 25, 2)
	for _, it := range items {
		if err := s.Submit(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	// Bad frames are kept for inspection, but not without bound (up to 64 KiB each).
	for i := range backlogBadMax + 5 {
		bad := feed.Item{Received: t0.Add(time.Duration(i) * time.Millisecond), Anomaly: &feed.Anomaly{Kind: feed.AnomalyBadFrame, Error: "not JSON", Data: []byte("<html>"), Size: 6}}
		if err := s.Submit(ctx, bad); err != nil {
			t.Fatal(err)
		}
	}
	// Submit never blocks on the broken disk, health says so, nothing is published.
	waitFor(t, func() bool { h := s.Health(); return !h.Storing && h.Backlog == 10 && h.Dropped == 15 })
	if h := s.Health(); !strings.Contains(h.Err, "no space left") {
		t.Fatalf("health = %+v", h)
	}
	select {
	case n := <-sub.C:
		t.Fatalf("published %d records while the disk failed", len(n.Records))
	default:
	}
	fail <- false
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h := s.Health()
	if !h.Storing || h.Counts.Events != 10 {
		t.Fatalf("after recovery: %+v", h)
	}
	// The ten newest were kept; the fifteen oldest dropped and recorded as a gap.
	p, _ := s.Page(Query{Oldest: true, Limit: 100})
	if len(p.Records) != 10 || !bytes.Equal(p.Records[0].Raw, items[15].Event.Raw) {
		t.Fatalf("stored %d, first %s", len(p.Records), p.Records[0].Raw)
	}
	gaps, _ := s.Gaps(5)
	if len(gaps) != 1 || gaps[0].Dropped != 15 || gaps[0].DroppedBad != 5 || !strings.HasPrefix(gaps[0].Reason, "15 events and 5 bad frames arrived but could not be stored (") {
		t.Fatalf("gaps = %+v", gaps)
	}
	if n := h.Counts.Anomalies; n != backlogBadMax {
		t.Errorf("%d bad frames stored, want the newest %d", n, backlogBadMax)
	}
}

// Bad frames alone lost to a refusing disk are recorded in a gap, but leave the meetings as
// they were: no event was lost.
func TestLostBadFramesLeaveMeetingsCertain(t *testing.T) {
	var failing atomic.Bool
	s := openTest(t, Options{})
	s.opts.commitHook = func() error {
		if failing.Load() {
			return errors.New("write events.db: no space left on device")
		}
		return nil
	}
	submit(t, s, item(t, startedRaw("m1", t0.UnixMilli())))
	failing.Store(true)
	for i := range backlogBadMax + 5 {
		bad := feed.Item{Received: t0.Add(time.Duration(i) * time.Millisecond), Anomaly: &feed.Anomaly{Kind: feed.AnomalyBadFrame, Error: "not JSON", Data: []byte("<"), Size: 1}}
		if err := s.Submit(context.Background(), bad); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return !s.Health().Storing })
	failing.Store(false)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if gaps, _ := s.Gaps(5); len(gaps) != 1 || gaps[0].DroppedBad != 5 || gaps[0].Dropped != 0 {
		t.Errorf("gaps %+v, want one of 5 bad frames", gaps)
	}
	if m := s.LiveMeeting("m1=="); m == nil || m.Uncertain != "" {
		t.Errorf("meeting after losing bad frames only: %+v", m)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising on time
	}
}

func TestRefusesForeignFilesWithoutTouchingThem(t *testing.T) {
	dir := t.TempDir()
	sum := func(p string) [32]byte { b, _ := os.ReadFile(p); return sha256.Sum256(b) }

	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("these are my notes, not a database\n"), 0o600)
	before := sum(text)
	_, err := Open(Options{Path: text})
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "not a zoomwatch database") {
		t.Fatalf("text file: %v", err)
	}
	if sum(text) != before {
		t.Fatal("text file was modified")
	}

	other := filepath.Join(dir, "other.db")
	editFile(t, other, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	before = sum(other)
	if _, err := Open(Options{Path: other}); !errors.As(err, &fe) || !strings.Contains(err.Error(), "another program") {
		t.Fatalf("foreign bbolt file: %v", err)
	}
	if sum(other) != before {
		t.Fatal("foreign database was modified")
	}

	// zoomwatch files, edited after they were written.
	for _, c := range []struct {
		name, want string
		edit       func(tx *bolt.Tx) error
	}{
		{"newer schema", "newer zoomwatch", func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kSchema, u32(schemaVersion()+1)) }},
		{"meeting index epochs no build writes", "epochs are recorded as ff", func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kMeetingEpochs, []byte{0xff}) }},
	} {
		path := filepath.Join(t.TempDir(), "events.db")
		s := openTest(t, Options{Path: path})
		s.Close()
		editFile(t, path, c.edit)
		before = sum(path)
		if _, err := Open(Options{Path: path}); !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: %v", c.name, err)
		}
		if sum(path) != before {
			t.Fatalf("%s: the database was modified", c.name)
		}
	}
}

func TestLockedDatabaseSaysWhoHoldsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	openTest(t, Options{Path: path, Owner: Owner{Command: "zoomwatch serve", SSH: ":2222", Started: t0}})
	start := time.Now()
	_, err := Open(Options{Path: path, LockWait: 300 * time.Millisecond})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second open: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("took %v to answer", time.Since(start))
	}
	msg := err.Error()
	for _, want := range []string{fmt.Sprint(os.Getpid()), "zoomwatch serve", "ssh -p 2222 localhost"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if _, err := Open(Options{Path: path, ReadOnly: true, LockWait: 100 * time.Millisecond}); !errors.As(err, &le) {
		t.Fatalf("read-only open while held: %v", err)
	}
}

// TestLockedByAReaderNamesIt: a writer kept out by `zoomwatch history` used to hear only
// "in use by another process. Only one process can open the database at a time", which is
// not so: readers share it.
func TestLockedByAReaderNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	openTest(t, Options{Path: path}).Close()
	history := openTest(t, Options{Path: path, ReadOnly: true, Owner: Owner{Command: "zoomwatch history", Started: t0}})
	export := openTest(t, Options{Path: path, ReadOnly: true, LockWait: 100 * time.Millisecond, Owner: Owner{Command: "zoomwatch export"}})
	_, err := Open(Options{Path: path, LockWait: 100 * time.Millisecond, Owner: Owner{Command: "zoomwatch import"}})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("writer's open beside readers: %v", err)
	}
	want := fmt.Sprintf("%s is in use by another process: zoomwatch (pid %d, \"zoomwatch history\", running since %s). "+
		"That one only reads, and readers share the database, but this command writes to it and needs it to itself: quit that one (or let it finish) first.",
		path, os.Getpid(), t0.Format("2006-01-02 15:04:05"))
	if err.Error() != want {
		t.Errorf("message:\n%s\nwant:\n%s", err, want)
	}
	// The second reader did not take over the owner file, and leaves it to the first.
	export.Close()
	if _, err := Open(Options{Path: path, LockWait: 100 * time.Millisecond}); !strings.Contains(fmt.Sprint(err), `"zoomwatch history"`) {
		t.Errorf("after the second reader closed: %v", err)
	}
	history.Close()
	if _, err := os.Stat(ownerPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the reader left its owner file: %v", err)
	}
	openTest(t, Options{Path: path}) // and a writer gets in
}

// The message fits who asks: a reader hears where the history is (the holder's own screen
// only when it has one), a writer that only one can write; neither is told readers share.
func TestLockedErrorFitsWhoAsks(t *testing.T) {
	tail := (&LockedError{Path: "events.db", Owner: &Owner{PID: 7, Command: "zoomwatch tail"}, Reading: true}).Error()
	monitor := (&LockedError{Path: "events.db", Owner: &Owner{PID: 7, Command: "zoomwatch demo", Screen: true}, Reading: true}).Error()
	writer := (&LockedError{Path: "events.db", Owner: &Owner{PID: 7, Command: "zoomwatch demo", Screen: true}}).Error()
	if strings.Contains(tail, "screen") || !strings.Contains(tail, "stop it first") {
		t.Errorf("history, held by tail: %s", tail)
	}
	if !strings.Contains(monitor, "Its own screen has the history (h).") {
		t.Errorf("history, held by the monitor: %s", monitor)
	}
	if strings.Contains(writer, "history") || !strings.Contains(writer, "Only one process can write to a database at a time") {
		t.Errorf("import, held by the monitor: %s", writer)
	}
}

func TestRetentionPrunesEventsAndTheirIndexes(t *testing.T) {
	now := t0
	opts := Options{Path: filepath.Join(t.TempDir(), "events.db"), Retain: time.Hour, Now: func() time.Time { return now }}
	s := openTest(t, opts)
	old := joins(t, 150, 3)
	for i := range old {
		old[i].Received = t0.Add(-2 * time.Hour)
	}
	fresh := joins(t, 10, 3)
	for i := range fresh {
		fresh[i].Event = item(t, joinRaw("fresh", fmt.Sprint("f", i), t0.UnixMilli()+int64(i))).Event
		fresh[i].Received = t0
	}
	submit(t, s, old...)
	submit(t, s, fresh...)
	s.Close() // which saves the live state through every event: pruning waits for that
	s = openTest(t, opts)
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Page(Query{Limit: 1000})
	// Whole blocks go: the block holding the last old events and the fresh ones stays.
	if len(p.Records) != 160-128 {
		t.Fatalf("%d events left, want %d", len(p.Records), 160-128)
	}
	// The counts say what is stored now and what retention removed, after a reopen too.
	for range 2 {
		if c := s.Health().Counts; c.Pruned != 128 || c.Stored() != 32 || c.Events != 160 {
			t.Fatalf("counts %+v (stored %d), want 160 added, 128 pruned, 32 stored", c, c.Stored())
		}
		s.Close()
		s = openTest(t, opts)
	}
	typed, _ := s.Page(Query{Filter: Filter{Types: []string{"meeting.*"}}, Limit: 1000})
	byMeeting, _ := s.Page(Query{Filter: Filter{Meeting: "m0=="}, Limit: 1000})
	if len(typed.Records) != 32 || len(byMeeting.Records) != len(filterRecs(p.Records, "m0==")) {
		t.Fatalf("indexes still list pruned events: %d by type, %d by meeting", len(typed.Records), len(byMeeting.Records))
	}
	// A pruned event is new again if it comes back.
	submit(t, s, old[0])
	if h := s.Health(); h.Counts.Duplicates != 0 {
		t.Fatalf("pruned event counted as duplicate")
	}
}

// Retention forgets an occurrence's uuid → number mapping once its events are long gone:
// mappings outlived every event, and --max-db-size never got their space back.
func TestRetentionForgetsOldOccurrences(t *testing.T) {
	setForTest(t, &uuidSweepMax, 7) // several passes over the mappings
	now := t0
	opts := Options{Path: filepath.Join(t.TempDir(), "events.db"), Retain: 24 * time.Hour, Now: func() time.Time { return now }}
	s := openTest(t, opts)
	var old []feed.Item
	for i := range 2 * blockMax { // two whole blocks, 40 occurrences
		it := item(t, joinRaw(fmt.Sprint("o", i%40), fmt.Sprint("p", i), t0.UnixMilli()+int64(i)))
		it.Received = t0
		old = append(old, it)
	}
	submit(t, s, old...)
	now = t0.Add(40 * 24 * time.Hour)
	fresh := item(t, joinRaw("fresh", "Ada", now.UnixMilli()))
	fresh.Received = now
	submit(t, s, fresh)
	s.Close() // which saves the live state through every event: pruning waits for that
	s = openTest(t, opts)
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	mappings := 0
	s.view(func(tx *bolt.Tx) error { mappings = tx.Bucket(bUUIDs).Stats().KeyN; return nil })
	if mappings != 1 {
		t.Errorf("%d occurrence mappings left, want the fresh one's alone", mappings)
	}
	if p, _ := s.Page(Query{Filter: Filter{Meeting: "fresh=="}}); len(p.Records) != 1 {
		t.Errorf("by the kept occurrence's uuid: %d records, want 1", len(p.Records))
	}
}

// An occurrence heard of again long after it began (a recording trashed a month later) keeps
// its mapping while that event is kept: the mapping notes when it was last heard of.
func TestRetentionKeepsTheMappingOfAnOccurrenceHeardOfLately(t *testing.T) {
	now := t0
	opts := Options{Path: filepath.Join(t.TempDir(), "events.db"), Retain: 24 * time.Hour, Now: func() time.Time { return now }}
	s := openTest(t, opts)
	var old []feed.Item
	for i := range 2 * blockMax {
		it := item(t, joinRaw("o", fmt.Sprint("p", i), t0.UnixMilli()+int64(i)))
		it.Received = t0
		old = append(old, it)
	}
	submit(t, s, old...)
	now = t0.Add(35 * 24 * time.Hour)
	late := item(t, leftRaw("o", "p1", now.UnixMilli())) // the same occurrence, the same process
	late.Received = now
	submit(t, s, late)
	s.Close()
	s = openTest(t, opts)
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Page(Query{})
	if p, _ := s.Page(Query{Filter: Filter{Meeting: "o=="}}); len(all.Records) != 1 || len(p.Records) != 1 {
		t.Errorf("%d events kept, %d found by the occurrence's uuid; want the late one, found", len(all.Records), len(p.Records))
	}
}

// A query by an occurrence's uuid finds its events however they named it: those with its
// number are filed under the number, one that gave the uuid alone under the uuid.
func TestQueryByUUIDFindsEventsThatNamedItEitherWay(t *testing.T) {
	s := openTest(t, Options{})
	submit(t, s, item(t, fmt.Appendf(nil, `{"event":"meeting.started","event_ts":%d,"payload":{"object":{"uuid":"m1==","topic":"T"}}}`, t0.UnixMilli())))
	submit(t, s, item(t, joinRaw("m1", "Ada", t0.UnixMilli()+1000))) // uuid m1== with its number: the mapping
	for _, oldest := range []bool{false, true} {
		if p, _ := s.Page(Query{Filter: Filter{Meeting: "m1=="}, Oldest: oldest}); len(p.Records) != 2 {
			t.Errorf("by uuid (oldest first %v): %d records, want 2", oldest, len(p.Records))
		}
	}
}

func filterRecs(rs []Record, uuid string) []Record {
	var out []Record
	for _, r := range rs {
		if r.Decode().Payload.Object.UUID == uuid {
			out = append(out, r)
		}
	}
	return out
}

func TestCompactShrinksAndKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path, Retain: time.Hour})
	items := joins(t, 3000, 10)
	for i := range items[:2900] {
		items[i].Received = time.Now().Add(-2 * time.Hour)
	}
	submit(t, s, items...)
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	left := s.LastSeq()
	p, _ := s.Page(Query{Limit: 5000})
	s.Close()
	before, after, err := Compact(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if after >= before {
		t.Fatalf("compact: %d → %d bytes", before, after)
	}
	// bbolt grows a new file ahead of what it writes: that slack made a 32 MiB store's
	// compacted copy 42 MiB. The copy ends at its last page in use.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	db.Close()
	if after != used {
		t.Errorf("compacted file is %d bytes, its pages in use %d", after, used)
	}
	s = openTest(t, Options{Path: path})
	p2, _ := s.Page(Query{Limit: 5000})
	if s.LastSeq() != left || len(p2.Records) != len(p.Records) {
		t.Fatalf("after compact: last %d (was %d), %d records (was %d)", s.LastSeq(), left, len(p2.Records), len(p.Records))
	}
	var more []feed.Item // new events, not the pruned ones again
	for i := range 500 {
		more = append(more, item(t, joinRaw("m1", fmt.Sprintf("late %d", i), t0.UnixMilli()+int64(i))))
	}
	submit(t, s, more...)
	if got := s.LastSeq(); got != left+500 {
		t.Fatalf("the compacted store took %d of 500 new events", got-left)
	}
	if _, err := os.Stat(path + ".compact.tmp"); !os.IsNotExist(err) {
		t.Fatal("temporary file left behind")
	}
}

func TestMigrationsRunOnceInTheOpeningTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path})
	submit(t, s, joins(t, 5, 1)...)
	s.Close()

	// A build with one more migration opens the old file and upgrades it.
	calls := 0
	migrations = append(migrations, func(tx *bolt.Tx) error {
		calls++
		_, err := tx.CreateBucket([]byte("v2_thing"))
		return err
	})
	defer func() { migrations = migrations[:len(migrations)-1] }()
	setForTest(t, &readableSchema, schemaVersion()) // one that reading needs
	if _, err := Open(Options{Path: path, ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "older zoomwatch") {
		t.Fatalf("read-only open of an old schema: %v", err)
	}
	s = openTest(t, Options{Path: path})
	if calls != 1 || s.LastSeq() != 5 {
		t.Fatalf("migration ran %d times; %d events", calls, s.LastSeq())
	}
	s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("v2_thing")) == nil || schemaOf(tx.Bucket(bMeta)) != schemaVersion() {
			t.Fatal("not migrated")
		}
		return nil
	})
	s.Close()
	s = openTest(t, Options{Path: path})
	if calls != 1 {
		t.Fatal("migrated twice")
	}
	s.Close()

	// A migration that fails leaves the file untouched.
	migrations = append(migrations, func(tx *bolt.Tx) error { return errors.New("boom") })
	defer func() { migrations = migrations[:len(migrations)-1] }()
	if _, err := Open(Options{Path: path}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing migration: %v", err)
	}
	migrations = migrations[:len(migrations)-1]
	s = openTest(t, Options{Path: path})
	s.db.View(func(tx *bolt.Tx) error {
		if v := schemaOf(tx.Bucket(bMeta)); v != schemaVersion() {
			t.Fatalf("schema %d after a failed migration", v)
		}
		return nil
	})
	migrations = append(migrations, nil) // restored for the deferred trim
}

func TestMaxBytesPrunesOldestFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path})
	submit(t, s, benchEvents(t, 10_000)...)
	s.Close() // which saves the live state through every event: pruning waits for that
	s = openTest(t, Options{Path: path})
	_, before := s.Size()
	limit := before * 3 / 4
	s.opts.MaxBytes = limit // the submit in Prune orders this write before the writer's read
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, after := s.Size()
	p, _ := s.Page(Query{Oldest: true, Limit: 1})
	if len(p.Records) == 0 {
		t.Fatal("everything was pruned")
	}
	if after > limit || p.Records[0].Seq == 1 || s.LastSeq() != 10_000 {
		t.Fatalf("used %d → %d bytes (limit %d); oldest left %d of %d", before, after, limit, p.Records[0].Seq, s.LastSeq())
	}
	t.Logf("used %d → %d bytes (limit %d); oldest left %d of %d", before, after, limit, p.Records[0].Seq, s.LastSeq())

	// A limit that live state alone exceeds keeps the newest events rather than none.
	s.opts.MaxBytes = 1
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Page(Query{Limit: 1})
	if len(p.Records) != 1 || p.Records[0].Seq != 10_000 {
		t.Fatalf("after an impossible limit the newest event is %+v, want seq 10000 kept", p.Records)
	}
}

// TestPruneWithNothingDueWritesNothing: retention that finds nothing to remove commits
// nothing (the writer runs it every minute; each commit costs two fsyncs). A Prune request
// takes one commit of its own, as a Flush does.
func TestPruneWithNothingDueWritesNothing(t *testing.T) {
	s := openTest(t, Options{Retain: 24 * time.Hour, MaxBytes: 1 << 40})
	submit(t, s, benchEvents(t, 100)...)
	txid := func() (id int) {
		s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
		return id
	}
	before := txid()
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := txid() - before; n != 1 {
		t.Fatalf("a Prune with nothing due committed %d transactions, want its own one", n)
	}
	if s.LastSeq() != 100 {
		t.Fatalf("%d events left of 100", s.LastSeq())
	}
}

// TestPruneByAgeOverTheSizeLimitMeasuresAgain: with both limits, blocks removed for their
// age while the store is over the size limit end the transaction on an estimate of the
// size, which can fall short (the index pages they shared with newer events are not
// freed). Pruning then measures the committed file again and goes on by size, rather than
// stopping over the limit.
func TestPruneByAgeOverTheSizeLimitMeasuresAgain(t *testing.T) {
	// An estimate that falls well short, as a store whose index entries are mostly in
	// pages shared with newer events would make it.
	setForTest(t, &indexBytesPerEvent, 1_000)
	const n, oldBlocks = 2_000, 15 // fewer old blocks than one transaction removes
	items := benchEventsAt(t, n, 30)
	split := oldBlocks * blockMax // items[split] is the first event kept for its age
	if !items[split-1].Received.Before(items[split].Received) {
		t.Fatal("the generated events share a time at the split")
	}
	built := filepath.Join(t.TempDir(), "built.db")
	s := openTest(t, Options{Path: built})
	submit(t, s, items...)
	s.Close() // which saves the live state through every event: pruning waits for that
	retain := time.Hour
	now := items[split].Received.Add(retain) // the first oldBlocks blocks are older than retain
	open := func(max int64) *Store {
		t.Helper()
		path := filepath.Join(t.TempDir(), "events.db")
		b, err := os.ReadFile(built)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return openTest(t, Options{Path: path, Retain: retain, MaxBytes: max, Now: func() time.Time { return now }})
	}
	prune := func(s *Store) (used int64, oldest uint64) {
		t.Helper()
		if err := s.Prune(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, used = s.Size()
		p, _ := s.Page(Query{Oldest: true, Limit: 1})
		return used, p.Records[0].Seq
	}

	// By age alone: what the file measures after the old blocks go, and what prune's
	// estimate makes of it.
	a := open(0)
	_, before := a.Size()
	estimate := before
	a.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		k, v := c.First()
		for range oldBlocks {
			estimate -= int64(len(v)) + blockMax*indexBytesPerEvent
			k, v = c.Next()
		}
		if got := keySeq(k); got != uint64(split+1) {
			t.Fatalf("block %d starts at seq %d, want %d", oldBlocks+1, got, split+1)
		}
		return nil
	})
	measured, oldest := prune(a)
	if oldest != uint64(split+1) {
		t.Fatalf("by age the oldest event left is seq %d, want %d", oldest, split+1)
	}
	// Both limits: the size limit a few pages under the measure, and over the estimate.
	limit := measured - 8*int64(a.db.Info().PageSize)
	if estimate >= limit {
		t.Fatalf("the estimate (%d) is not under the limit (%d): this test's case does not arise", estimate, limit)
	}
	used, oldest := prune(open(limit))
	if used > limit || oldest <= uint64(split+1) {
		t.Fatalf("with both limits: %d bytes used (limit %d; %d by age alone), oldest left seq %d", used, limit, measured, oldest)
	}
	t.Logf("estimate %d, measured %d, limit %d: %d used, oldest left %d", estimate, measured, limit, used, oldest)
}

// A prune never deletes events that the saved live state does not include yet: after a
// crash, open catches the state up by applying them again. The prune after the next save
// takes them.
func TestPruneKeepsEventsTheSavedLiveStateLacks(t *testing.T) {
	setForTest(t, &liveSaveEvery, time.Hour)
	now := t0
	opts := Options{Path: filepath.Join(t.TempDir(), "events.db"), Retain: time.Minute, Now: func() time.Time { return now }}
	s := openTest(t, opts)
	items := benchEventsAt(t, 2_000, 30)
	saved, unsaved := items[:1_000], items[1_000:]
	submit(t, s, saved...)
	s.Close() // saves the live state through every event so far
	s = openTest(t, opts)
	submit(t, s, unsaved...)
	want := dumpLive(t, s)

	now = t0.Add(24 * time.Hour) // every event is past retention
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Page(Query{Oldest: true, Limit: 1})
	if len(p.Records) != 1 || p.Records[0].Seq > 1_001 || p.Records[0].Seq == 1 {
		t.Fatalf("the oldest event left is %+v: want the saved ones pruned and the unsaved ones kept", p.Records)
	}
	openCrashed(t, s, want)

	s.Close()
	s = openTest(t, opts)
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Page(Query{Limit: 1}); len(p.Records) != 0 {
		t.Fatalf("saved, every event past retention is pruned, but %+v is left", p.Records)
	}
}

// Pages by meeting walk the meeting index epoch by epoch (see meetingEpochs): over a
// history of several epochs, both directions list exactly the meeting's events. A file keeps
// the epochs it was created with when a build makes new files with others, and a schema-1
// file (one flat index), upgraded on open, lists the same with the epochs of files older
// than kMeetingEpochs.
func TestMeetingPagesAcrossEpochs(t *testing.T) {
	const epochs = meetingEpochs(9)
	setForTest(t, &newFileMeetingEpochs, epochs)
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path})
	items := benchEventsAt(t, 8<<epochs, 20) // few meetings, each spanning epochs
	older, newer := items[:6<<epochs], items[6<<epochs:]
	submit(t, s, older...)
	wantOf := func(items []feed.Item) map[string][]uint64 {
		want := map[string][]uint64{} // meeting number → its events' seqs, oldest first
		for seq, it := range items {
			if k := meetingIndexKey(it.Event); k != "" {
				want[k] = append(want[k], uint64(seq+1))
			}
		}
		return want
	}
	var busiest string
	wantOlder := wantOf(older)
	for k, seqs := range wantOlder {
		if len(seqs) > len(wantOlder[busiest]) {
			busiest = k
		}
	}
	if w := wantOlder[busiest]; epochs.of(w[0]) == epochs.of(w[len(w)-1]) {
		t.Fatalf("meeting %s lies within one epoch; the test needs one that spans several", busiest)
	}
	check := func(s *Store, when string, items []feed.Item) {
		t.Helper()
		want := wantOf(items)
		for _, oldest := range []bool{true, false} {
			var got []uint64
			for q := (Query{Filter: Filter{Meeting: busiest}, Oldest: oldest, Limit: 50}); ; {
				p, err := s.Page(q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Records {
					got = append(got, r.Seq)
				}
				if p.Done {
					break
				}
				q.Cursor = p.Next
			}
			if !oldest {
				slices.Reverse(got)
			}
			if !slices.Equal(got, want[busiest]) {
				t.Fatalf("%s, oldest first %v: %d events of meeting %s listed, want %d", when, oldest, len(got), busiest, len(want[busiest]))
			}
		}
	}
	check(s, "new file", older)
	s.Close()

	// A build whose new files have other epochs reads and writes this one with its own.
	setForTest(t, &newFileMeetingEpochs, 12)
	s = openTest(t, Options{Path: path})
	submit(t, s, newer...)
	check(s, "a build with other epochs", items)
	s.Close()

	// Make it a schema-1 file: hash(8) + seq(8) keys, schema 1, no kMeetingEpochs.
	editFile(t, path, func(tx *bolt.Tx) error {
		var old [][]byte
		tx.Bucket(bMeeting).ForEach(func(k, _ []byte) error {
			old = append(old, slices.Clone(k[4:]))
			return nil
		})
		tx.DeleteBucket(bMeeting)
		b, _ := tx.CreateBucket(bMeeting)
		for _, k := range old {
			b.Put(k, empty)
		}
		tx.Bucket(bMeta).Delete(kMeetingEpochs)
		return tx.Bucket(bMeta).Put(kSchema, u32(1))
	})
	s = openTest(t, Options{Path: path})
	if s.epochs != legacyMeetingEpochs {
		t.Fatalf("a file from before kMeetingEpochs reads with epochs of 2^%d, want 2^%d", s.epochs, legacyMeetingEpochs)
	}
	check(s, "upgraded from schema 1", items)
	s.Close()

	// What a schema-3 build wrote is that file as schema 3: it reads as it is, read-only.
	editFile(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kSchema, u32(3)) })
	s = openTest(t, Options{Path: path, ReadOnly: true})
	check(s, "a schema-3 file, read-only", items)
}

// Readers decompress into recycled buffers: the records a query returns keep their bytes
// however many queries follow.
func TestRecordsOwnTheirBytes(t *testing.T) {
	s := openTest(t, Options{})
	items := benchEvents(t, 3_000)
	submit(t, s, items...)
	var kept []Record
	for q := (Query{Oldest: true, Limit: 37}); ; {
		p, err := s.Page(q)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, p.Records...)
		if p.Done {
			break
		}
		q.Cursor = p.Next
	}
	for i := 0; i < 200; i++ { // other queries, reusing the buffers
		if _, err := s.Page(Query{Filter: Filter{Types: []string{"recording.completed"}}, Cursor: uint64(i*13%3000 + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(kept) != len(items) {
		t.Fatalf("%d records, want %d", len(kept), len(items))
	}
	for i, r := range kept {
		if !bytes.Equal(r.Raw, items[i].Event.Raw) {
			t.Fatalf("record %d changed after later queries:\n%s\nwant\n%s", r.Seq, r.Raw, items[i].Event.Raw)
		}
	}
}

// When reading the live state back after a failed commit fails too, the panes go on showing
// the failed commit's events; if those are then dropped (the backlog is full), they must not
// stay on screen once the disk works again: the next commit reads the state back first.
func TestUnstoredEventsLeaveThePanesOnceTheStateCanBeRead(t *testing.T) {
	var logs syncbuf.Buffer
	var failing atomic.Bool
	s := openTest(t, Options{BacklogMax: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.opts.commitHook = func() error {
		if failing.Load() {
			return errors.New("write events.db: input/output error")
		}
		return nil
	}
	submit(t, s, item(t, startedRaw("m1", t0.UnixMilli())))
	damaged := append([]byte{pMeeting}, "zz"...)
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bLive).Put(damaged, []byte("{not json")) }); err != nil {
		t.Fatal(err)
	}
	failing.Store(true)
	ctx := context.Background()
	for _, who := range []string{"Ada", "Bob"} {
		if err := s.Submit(ctx, item(t, joinRaw("m1", who, t0.UnixMilli()+1000))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { h := s.Health(); return !h.Storing && h.Dropped == 1 })
	if !strings.Contains(logs.String(), "could not read the live state back") {
		t.Errorf("the failed read is not logged:\n%s", logs.String())
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bLive).Delete(damaged) }); err != nil {
		t.Fatal(err)
	}
	failing.Store(false)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	m := s.LiveMeeting("m1==")
	if _, shown := m.Participants["p-Ada"]; shown {
		t.Error("Ada's join was dropped, never stored, and is still shown")
	}
	if _, shown := m.Participants["p-Bob"]; !shown {
		t.Error("Bob's join is stored and not shown")
	}
}
