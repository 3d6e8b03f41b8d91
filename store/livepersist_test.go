package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"zoomwatch/store/live"
)

// The hand-written encoder must say exactly what encoding/json would, or loadLive would
// read back something else.
func TestPersonRecordEncodesLikeEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 14, 3, 22, 123456789, time.UTC)
	for _, rec := range []personRecord{
		{},
		{LeftTS: 1795000000000},
		{Present: &live.Participant{Key: "k\"1", Name: "Zoë \\ 王芳 🚀\n", Joined: at, LastTS: 42}},
		{Present: &live.Participant{Key: "k", Name: "n", Email: "a@b", UserID: "u", Joined: at, LastTS: 1, Rejoins: 2, Uncertain: true},
			LeftTS: 7, Sessions: []live.Session{{Key: "k", Name: "n", Join: at, Leave: at.Add(time.Minute), Reason: "Host ended"}, {Key: "k", Name: "n", Leave: at}}},
	} {
		want, _ := json.Marshal(rec)
		if got := rec.appendJSON(nil); string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		var back personRecord
		if err := json.Unmarshal(rec.appendJSON(nil), &back); err != nil || !reflect.DeepEqual(back, rec) {
			t.Errorf("round trip: %+v, %v", back, err)
		}
	}
}

// The live state read back after a restart is the one the running store had, whether its
// last changes were folded into the live bucket or are still in the journal, and across
// meetings that ended (their people deleted by prefix) in between.
func TestLiveJournalRoundTrip(t *testing.T) {
	defer func(n uint64) { liveFoldBytes = n }(liveFoldBytes)
	liveFoldBytes = 64 << 10 // several folds, and a journal left over at each reopen
	path := filepath.Join(t.TempDir(), "events.db")
	items := benchEventsAt(t, 6_000, 300)
	folded, journaled := false, false
	for start := 0; start < len(items); start += 1_500 {
		s := openTest(t, Options{Path: path})
		for _, it := range items[start : start+1_500] {
			if err := s.Submit(context.Background(), it); err != nil {
				t.Fatal(err)
			}
		}
		s.Flush(context.Background())
		// A last small commit, after whatever the others folded, leaves a journal to read.
		s.Note(context.Background(), "checkpoint")
		s.Flush(context.Background())
		s.db.View(func(tx *bolt.Tx) error {
			folded = folded || tx.Bucket(bLive).Stats().KeyN > 0
			journaled = journaled || tx.Bucket(bLiveJournal).Sequence() > 0
			return nil
		})
		want := dumpLive(t, s)
		s.Close()
		s = openTest(t, Options{Path: path})
		if got := dumpLive(t, s); got != want {
			t.Fatalf("after %d events, the reopened live state differs:\n%s\nwant\n%s", start+1_500, got, want)
		}
		if len(s.Live().Meetings) == 0 {
			t.Fatal("no active meetings to compare")
		}
		s.Close()
	}
	if !folded || !journaled {
		t.Fatalf("folded %v, reopened with a journal %v: the test covers neither case alone", folded, journaled)
	}
}

// dumpLive renders the live state a viewer sees: the snapshot, and each meeting's page.
func dumpLive(t *testing.T, s *Store) string {
	t.Helper()
	snap := s.Live()
	var details []*live.Meeting
	for _, m := range snap.Meetings {
		details = append(details, s.LiveMeeting(m.Key))
	}
	b, err := json.MarshalIndent(struct {
		Snap    *live.Snapshot
		Details []*live.Meeting
	}{snap, details}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A commit that fails after its batch was applied to the live state (the disk refuses it)
// must leave the live state as committed: the retry applies the batch again, and what it
// changes must reach the database. Batches this large apply the live state beside the puts.
func TestFailedCommitsLeaveLiveStateAsCommitted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	items := benchEventsAt(t, 3_000, 300)
	ref := openTest(t, Options{Path: filepath.Join(t.TempDir(), "reference.db")})
	submit(t, ref, items...)
	want := dumpLive(t, ref)

	s := openTest(t, Options{Path: path})
	submit(t, s, items[:1_000]...)
	entered, release := make(chan struct{}), make(chan struct{})
	var commits atomic.Int32
	s.opts.commitHook = func() error {
		switch commits.Add(1) {
		case 1: // hold the writer while the rest queues up, then fail: one large batch next
			close(entered)
			<-release
			return errors.New("write events.db: input/output error")
		case 2:
			return errors.New("write events.db: input/output error")
		}
		return nil
	}
	ctx := context.Background()
	if err := s.Submit(ctx, items[1_000]); err != nil {
		t.Fatal(err)
	}
	<-entered
	for _, it := range items[1_001:] {
		if err := s.Submit(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := commits.Load(); n < 3 {
		t.Fatalf("%d commits: the failures were not exercised", n)
	}
	if h := s.Health(); h.Counts.Events != uint64(len(items)) || h.Dropped != 0 {
		t.Fatalf("health after recovery: %+v", h)
	}
	if got := dumpLive(t, s); got != want {
		t.Fatalf("live state after failed commits differs from one that never failed:\n%s\nwant\n%s", got, want)
	}
	s.Close()
	s = openTest(t, Options{Path: path})
	if got := dumpLive(t, s); got != want {
		t.Fatalf("reopened after failed commits, the live state differs:\n%s\nwant\n%s", got, want)
	}
}
