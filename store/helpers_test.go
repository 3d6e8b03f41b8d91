package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"zoomwatch/feed"
)

// editFile changes the database at path (made if missing) in one bbolt transaction, as
// another program, an older build or damage would have left it.
func editFile(t testing.TB, path string, edit func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(edit)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// t0 is a fixed event time for deterministic tests.
var t0 = time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)

// setForTest sets a package variable (a tunable) to v until the test is over. Call it
// before opening stores: cleanups run last first, so their writers are closed before the
// value goes back, and none reads it while it changes.
func setForTest[T any](t testing.TB, p *T, v T) {
	old := *p
	*p = v
	t.Cleanup(func() { *p = old })
}

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "events.db")
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// joinRaw is a real-shaped meeting.participant_joined (PROTOCOL.md §4.3; id is a string).
func joinRaw(meeting, who string, ts int64) []byte {
	return fmt.Appendf(nil, `{"event":"meeting.participant_joined","event_ts":%d,"payload":{"account_id":"AAAAAABBBB","object":{"id":"8643191%04d","uuid":"%s==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":"Topic of %s","type":2,"start_time":"2026-11-22T14:00:00Z","timezone":"","duration":60,"participant":{"user_id":"1677%04d","user_name":"%s","id":"","participant_uuid":"p-%s","join_time":"2026-11-22T14:00:01Z","email":"","registrant_id":null}}}}`,
		ts, len(meeting), meeting, meeting, len(who), who, who)
}

func leftRaw(meeting, who string, ts int64) []byte {
	return fmt.Appendf(nil, `{"event":"meeting.participant_left","event_ts":%d,"payload":{"account_id":"AAAAAABBBB","object":{"id":"8643191%04d","uuid":"%s==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":"Topic of %s","type":2,"start_time":"2026-11-22T14:00:00Z","timezone":"","duration":60,"participant":{"user_id":"1677%04d","user_name":"%s","participant_uuid":"p-%s","leave_time":"2026-11-22T14:10:00Z","leave_reason":"%s left the meeting.<br>Reason: left the meeting","email":""}}}}`,
		ts, len(meeting), meeting, meeting, len(who), who, who, who)
}

func startedRaw(meeting string, ts int64) []byte {
	return fmt.Appendf(nil, `{"event":"meeting.started","event_ts":%d,"payload":{"account_id":"AAAAAABBBB","object":{"id":"8643191%04d","uuid":"%s==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":"Topic of %s","type":2,"start_time":"2026-11-22T14:00:00Z","timezone":"","duration":60}}}`,
		ts, len(meeting), meeting, meeting)
}

func item(t testing.TB, raw []byte) feed.Item {
	t.Helper()
	ev, err := feed.DecodeEvent(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return feed.Item{Event: ev, Received: time.UnixMilli(int64(ev.TS)).Add(150 * time.Millisecond)}
}

func transition(st feed.State, at time.Time, reason string) feed.Item {
	return feed.Item{Received: at, Transition: &feed.Transition{State: st, At: at, Reason: reason}}
}

func submit(t testing.TB, s *Store, items ...feed.Item) {
	t.Helper()
	ctx := context.Background()
	for _, it := range items {
		if err := s.Submit(ctx, it); err != nil {
			t.Fatalf("submit: %v", err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// joins makes n join events spread over meetings m0..m(k-1), one second apart.
func joins(t testing.TB, n, meetings int) []feed.Item {
	out := make([]feed.Item, n)
	for i := range out {
		out[i] = item(t, joinRaw(fmt.Sprintf("m%d", i%meetings), fmt.Sprintf("person %d", i), t0.UnixMilli()+int64(i)*1000))
	}
	return out
}

func seqs(recs []Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}
