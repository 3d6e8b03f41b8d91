package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
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
		want := dumpLive(t, s.Live())
		s.Close()
		s = openTest(t, Options{Path: path})
		if got := dumpLive(t, s.Live()); got != want {
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

func dumpLive(t *testing.T, snap *live.Snapshot) string {
	t.Helper()
	b, err := json.MarshalIndent(snap, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
