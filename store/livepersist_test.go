package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
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

func TestMeetingHeadEncodesLikeEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 14, 3, 22, 123456789, time.UTC)
	people := map[string]*live.Participant{"p": {Key: "p", Name: "n", Joined: at}}
	for _, m := range []live.Meeting{
		{Key: "k==", Start: at},
		{Key: "k/+1==", ID: "81234567890", UUID: "k/+1==", Topic: "Zoë \\ 王芳 \"weekly\" 🚀\n", HostID: "h", HostName: "Jan Šimonek",
			Type: 8, Start: at, StartSeen: true, LastTS: 1795000000000, Peak: 12, Joins: 40, Recording: true,
			Uncertain: "a gap while it ran", UncertainUntil: 1795000000001, Participants: people},
	} {
		head := m
		head.Participants = nil
		want, _ := json.Marshal(head)
		if got := appendMeetingHead(nil, &m); string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
}

// The live state read back after a clean restart is the one the running store had, whether
// its last changes were saved by a commit or at close, and across meetings that ended
// (their people deleted by prefix) in between; open applies no event again.
func TestLiveStateRoundTrip(t *testing.T) {
	setForTest(t, &liveSaveEvents, 700) // saved by commits too, not only at close
	path := filepath.Join(t.TempDir(), "events.db")
	items := benchEventsAt(t, 6_000, 300)
	for start := 0; start < len(items); start += 1_500 {
		s := openTest(t, Options{Path: path})
		// A last few events, saved at close.
		submit(t, s, items[start:start+1_490]...)
		submit(t, s, items[start+1_490:start+1_500]...)
		s = reopenAfterClose(t, s, path)
		if len(s.Live().Meetings) == 0 {
			t.Fatal("no active meetings to compare")
		}
		s.Close()
	}
}

// dumpLive renders the live state a viewer sees: the snapshot, and each meeting's page.
func dumpLive(t *testing.T, s *Store) string {
	t.Helper()
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	return dumpState(t, s.state)
}

// dumpState is st as JSON: its snapshot, and every active meeting with its sessions.
func dumpState(t *testing.T, st *live.State) string {
	t.Helper()
	snap := st.Snapshot()
	var details []*live.Meeting
	for _, m := range snap.Meetings {
		details = append(details, st.MeetingDetail(m.Key))
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

// copyCommitted copies the store's file as committed, while it runs: what a crash would
// leave (bbolt's hot backup, in one read transaction).
func copyCommitted(t *testing.T, s *Store) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crashed.db")
	if err := s.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(path, 0o600) }); err != nil {
		t.Fatal(err)
	}
	return path
}

// openCrashed opens a copy of s's file as committed (copyCommitted), checks that its live
// state is the running store's (want, from dumpLive), and returns it with the number of
// events its open applied again.
func openCrashed(t *testing.T, s *Store, want string) (*Store, int) {
	t.Helper()
	crashed := openTest(t, Options{Path: copyCommitted(t, s)})
	if got := dumpLive(t, crashed); got != want {
		t.Fatalf("the live state after a crash differs from the running store's:\n%s\nwant\n%s", got, want)
	}
	return crashed, crashed.unsaved.Events()
}

// checkLiveIsEveryEvent fails the test unless s's live state is the one built from every
// stored event (replayedState); after says when.
func checkLiveIsEveryEvent(t *testing.T, s *Store, after string) {
	t.Helper()
	if got, want := dumpLive(t, s), dumpState(t, replayedState(t, s)); got != want {
		t.Fatalf("%s, the live state differs from one built from every stored event:\n%s\nwant\n%s", after, got, want)
	}
}

// replayedState is the live state built from nothing by applying every stored event in
// order: what the saved state plus the events after it must come to.
func replayedState(t *testing.T, s *Store) *live.State {
	t.Helper()
	st := live.New()
	err := s.Scan(context.Background(), Filter{}, func(r *Record) error {
		st.Apply(r.Decode())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The live state is saved every few seconds, not at every commit: a crash leaves live
// records that lag behind the events, and open applies the events after them, including
// meetings that ended and people who left meanwhile. The first commit then saves it.
func TestLiveStateLaggingAtACrashIsCaughtUpAtOpen(t *testing.T) {
	setForTest(t, &liveSaveEvents, 1_000)
	setForTest(t, &splitSaveAt, 8) // every save encoded in two halves
	s := openTest(t, Options{})
	items := benchEventsAt(t, 4_500, 300)
	for i := 0; i < len(items); i += 500 { // commits of up to 500: some save, the last do not
		submit(t, s, items[i:i+500]...)
	}
	want := dumpLive(t, s)

	crashed, n := openCrashed(t, s, want)
	if n == 0 || n >= len(items) {
		t.Fatalf("open applied %d of %d events again; the test wants live records saved part of the way", n, len(items))
	}
	ref := replayedState(t, crashed)
	if got, want := ref.Snapshot(), crashed.Live(); !reflect.DeepEqual(got, want) {
		t.Fatal("the live state after the crash differs from one built from every stored event")
	}

	submit(t, crashed, items[:1]...) // a duplicate: no event, but a commit
	if _, n := openCrashed(t, crashed, want); n != 0 {
		t.Fatalf("the first commit after open did not save the live state: %d events applied again", n)
	}
}

// Open applies only events again, so a commit that marks a gap in the live state (its
// meetings uncertain) saves it, after the save being encoded beside the writer.
func TestCommitWithAGapSavesTheLiveState(t *testing.T) {
	setForTest(t, &liveSaveEvents, 100) // saves captured before the gap, some perhaps still encoding
	s := openTest(t, Options{})
	items := benchEventsAt(t, 600, 300)
	start := items[0].Received
	submit(t, s, transition(feed.StateConnecting, start, ""), transition(feed.StateLive, start, ""))
	submit(t, s, items[:300]...)
	down := items[299].Received.Add(time.Second)
	submit(t, s, transition(feed.StateBackoff, down, "read: unexpected EOF"),
		transition(feed.StateConnecting, down.Add(time.Second), ""), transition(feed.StateLive, down.Add(time.Minute), ""))
	uncertain := 0
	for _, m := range s.Live().Meetings {
		if m.Uncertain != "" {
			uncertain++
		}
	}
	if uncertain == 0 {
		t.Fatal("the gap left no meeting uncertain: the test needs one")
	}
	if _, n := openCrashed(t, s, dumpLive(t, s)); n != 0 {
		t.Fatalf("open applied %d events again after the commit with the gap", n)
	}
}

// A file whose live state was saved at every commit (schema 2) says nothing of the newest
// event it includes: it includes all, and open must not apply them again.
func TestSchema2LiveStateIsTakenAsComplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path})
	submit(t, s, benchEventsAt(t, 2_000, 300)...)
	want := dumpLive(t, s)
	s.Close()
	// Schema 2 kept the newest changes in the live journal, a change a value.
	editFile(t, path, func(tx *bolt.Tx) error {
		b, j := tx.Bucket(bLive), tx.Bucket(bLiveJournal)
		var keys [][]byte
		i := 0
		err := b.ForEach(func(k, v []byte) error {
			if i++; i%2 == 0 || bytes.Equal(k, kApplied) { // half of them, the rest stay
				return nil
			}
			keys = append(keys, bytes.Clone(k))
			e := binary.AppendUvarint([]byte{opPut}, uint64(len(k)))
			e = append(append(e, k...), v...)
			at := j.Sequence()
			if err := j.Put(binary.BigEndian.AppendUint64(nil, at), e); err != nil {
				return err
			}
			return j.SetSequence(at + uint64(len(e)))
		})
		if err != nil || len(keys) == 0 {
			return fmt.Errorf("moving records to the journal: %v (%d moved)", err, len(keys))
		}
		for _, k := range append(keys, kApplied) {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, u32(2))
	})
	s = openTest(t, Options{Path: path})
	if n := s.unsaved.Events(); n != 0 {
		t.Fatalf("open of a schema-2 file applied %d events again", n)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bLiveJournal).Stats().KeyN; n != 0 {
			t.Errorf("%d journal entries left after the upgrade", n)
		}
		return nil
	})
	if got := dumpLive(t, s); got != want {
		t.Fatalf("the upgraded live state differs:\n%s\nwant\n%s", got, want)
	}
}

// A save is captured in one commit and encoded beside the writer for a later commit to
// write: until then the file holds the previous save, and a crash loses nothing (open
// applies the events after it). A commit that fails meanwhile drops the captured save (its
// state may hold the failed batch) and the state read back is saved in full by the retry.
func TestSaveEncodedBesideTheWriter(t *testing.T) {
	setForTest(t, &liveSaveEvents, 300)
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path})
	encoded, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.opts.encodeHook = func() {
		once.Do(func() { close(encoded) })
		<-release
	}
	items := benchEventsAt(t, 1_200, 300)
	submit(t, s, items[:400]...)
	<-encoded // a save was captured; its batch waits to be handed over
	submit(t, s, items[400:800]...)
	if _, n := openCrashed(t, s, dumpLive(t, s)); n != int(s.LastSeq()) {
		t.Fatalf("a crash now applies %d events again, want all %d: no save is written yet", n, s.LastSeq())
	}

	var failed atomic.Bool
	s.opts.commitHook = func() error {
		if failed.CompareAndSwap(false, true) {
			close(release) // the failed commit's reload waits for the captured save, and drops it
			return errors.New("write events.db: input/output error")
		}
		return nil
	}
	submit(t, s, items[800:900]...)
	if !failed.Load() {
		t.Fatal("no commit failed")
	}
	if _, n := openCrashed(t, s, dumpLive(t, s)); n != 0 {
		t.Fatalf("after a failed commit and its retry, a crash applies %d events again: the retry did not save", n)
	}

	submit(t, s, items[900:]...) // captured beside the writer again, written by a later commit or at close
	reopenAfterClose(t, s, path)
}

// A save encoded beside the writer is written a part (a range of meetings) per commit. A
// crash between parts leaves some meetings saved past the save's sequence number: open
// applies their events again, and must come to the state built from every stored event.
func TestACrashBetweenPartsOfASaveLosesNothing(t *testing.T) {
	setForTest(t, &liveSaveEvents, 1_000)
	setForTest(t, &livePartBytes, 32<<10)
	s := openTest(t, Options{})
	// A copy taken in a commit is the file as the commits before it left it.
	var copies []string
	_, saves := submitSavingInParts(t, s, func(written, left int) error {
		if left%4 == 1 {
			copies = append(copies, copyCommitted(t, s))
		}
		return nil
	})
	if saves < 2 || len(copies) < 3 {
		t.Fatalf("%d copies taken between parts of %d saves; the test wants more", len(copies), saves)
	}
	for _, path := range copies {
		crashed := openTest(t, Options{Path: path})
		if crashed.unsaved.Events() == 0 {
			t.Fatalf("%s: open applied no event again, but a save was half written", path)
		}
		checkLiveIsEveryEvent(t, crashed, "after a crash between parts of a save")
		crashed.Close()
	}
}

// submitSavingInParts submits 4,000 events of a busy account in commits of 100, and returns
// them with how many saves were written in parts. During each commit in which some parts
// of a save are committed (written) and some not (left), it calls between on the writer's
// goroutine (the commit hook), which may fail the commit.
func submitSavingInParts(t *testing.T, s *Store, between func(written, left int) error) (items []feed.Item, saves int) {
	t.Helper()
	first := map[*liveSave]int{} // parts of each save when first seen
	s.opts.commitHook = func() error {
		r := s.w.saveReady
		if r == nil || r.err != nil {
			return nil
		}
		n, seen := first[r]
		if !seen {
			first[r] = len(r.parts)
			return nil
		}
		return between(n-len(r.parts), len(r.parts))
	}
	items = benchEventsAt(t, 4_000, 300)
	for i := 0; i < len(items); i += 100 {
		submit(t, s, items[i:i+100]...)
	}
	s.opts.commitHook = nil
	return items, len(first)
}

// A commit that fails between parts of a save reads back the live records as committed
// (some meetings saved past the save's sequence number) and applies the events after
// that number again: the state is the one built from every stored event, and close saves
// it whole.
func TestAFailedCommitBetweenPartsOfASave(t *testing.T) {
	setForTest(t, &liveSaveEvents, 1_000)
	setForTest(t, &livePartBytes, 32<<10)
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path})
	failed := false
	items, saves := submitSavingInParts(t, s, func(written, left int) error {
		if !failed && written >= 2 {
			failed = true
			return errors.New("write events.db: input/output error")
		}
		return nil
	})
	if !failed {
		t.Fatalf("no commit failed between parts of a save (%d saves in parts)", saves)
	}
	if h := s.Health(); h.Counts.Events != uint64(len(items)) || h.Dropped != 0 {
		t.Fatalf("health after the failure: %+v", h)
	}
	checkLiveIsEveryEvent(t, s, "after a failed commit between parts of a save")
	reopenAfterClose(t, s, path)
}

// A save is written a part per commit, but once the events since it was captured reach
// twice liveSaveEvents, the rest goes in one commit: under heavy load a crash would
// otherwise leave ever more events to apply again.
func TestASaveThatLagsIsFinishedAtOnce(t *testing.T) {
	setForTest(t, &liveSaveEvents, 500)
	setForTest(t, &livePartBytes, 1<<10)
	const commit = 100
	s := openTest(t, Options{})
	most := 0 // parts of the largest save
	s.opts.commitHook = func() error {
		if r := s.w.saveReady; r != nil {
			most = max(most, len(r.parts))
		}
		return nil
	}
	items := benchEventsAt(t, 6_000, 300)
	worst := 0
	for i := 0; i < len(items); i += commit {
		submit(t, s, items[i:i+commit]...)
		if i%(3*commit) == 0 {
			crashed := openTest(t, Options{Path: copyCommitted(t, s)})
			worst = max(worst, crashed.unsaved.Events())
			crashed.Close()
		}
	}
	s.opts.commitHook = nil
	if most*commit < 4*liveSaveEvents {
		t.Fatalf("the largest save had %d parts: written a part per commit it would not lag, the test wants more", most)
	}
	if worst > 2*liveSaveEvents+commit {
		t.Fatalf("a crash would have left %d events to apply again, want at most %d", worst, 2*liveSaveEvents+commit)
	}
}

// reopenAfterClose closes s, opens path again, and checks that open applied no event again
// and that the live state is the one s had.
func reopenAfterClose(t *testing.T, s *Store, path string) *Store {
	t.Helper()
	want := dumpLive(t, s)
	s.Close()
	r := openTest(t, Options{Path: path})
	if n := r.unsaved.Events(); n != 0 {
		t.Fatalf("after a clean close, open applied %d events again", n)
	}
	if got := dumpLive(t, r); got != want {
		t.Fatalf("the live state reopened after close differs:\n%s\nwant\n%s", got, want)
	}
	return r
}

// splitSave keeps a meeting's records and the deletes of its people in one part. Parts are
// committed one by one, and a crash between them must find each meeting as the last save
// left it or as this one does, never half: an ended meeting without its head but with its
// people (records nobody deletes again), or a restarted meeting whose new people a later
// part's delete removes.
func TestSplitSaveKeepsEachMeetingInOnePart(t *testing.T) {
	setForTest(t, &livePartBytes, 600)
	meetings := make([]string, 12)
	for i := range meetings {
		meetings[i] = fmt.Sprintf("m%02d", i)
	}
	const ended, restarted = "m03", "m06" // neither in the last part
	head := func(mk, v string) []byte { return []byte(v + strings.Repeat(".", 100) + mk) }

	db, err := bolt.Open(filepath.Join(t.TempDir(), "live.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	update := func(f func(*bolt.Bucket) error) {
		t.Helper()
		if err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bLive)
			if err != nil {
				return err
			}
			return f(b)
		}); err != nil {
			t.Fatal(err)
		}
	}
	update(func(b *bolt.Bucket) error { // what the last save left
		for _, mk := range meetings {
			if err := b.Put(liveKey(pMeeting, mk), head(mk, "old")); err != nil {
				return err
			}
			if err := b.Put(personKey(mk, "ada"), []byte("old")); err != nil {
				return err
			}
		}
		return nil
	})

	var batch liveBatch
	for _, mk := range meetings {
		switch mk {
		case ended:
			batch.add(opDeletePeople, personKey(mk, ""), nil)
			batch.add(opDelete, liveKey(pMeeting, mk), nil)
		case restarted:
			batch.add(opDeletePeople, personKey(mk, ""), nil)
			batch.add(opPut, liveKey(pMeeting, mk), head(mk, "new"))
			batch.add(opPut, personKey(mk, "ken"), []byte("new"))
		default:
			batch.add(opPut, liveKey(pMeeting, mk), head(mk, "new"))
			batch.add(opPut, personKey(mk, "ada"), []byte("new"))
		}
	}
	parts, err := splitSave(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 3 {
		t.Fatalf("the save came in %d parts; the test wants at least 3", len(parts))
	}
	if _, ok := parts[len(parts)-1].last[string(liveKey(pMeeting, restarted))]; ok {
		t.Fatalf("%s is in the last part; the test wants it in an earlier one", restarted)
	}

	// state reads one meeting's records: "old", "new", or what was found.
	state := func(b *bolt.Bucket, mk string) string {
		var people []string
		c := b.Cursor()
		p := personKey(mk, "")
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			people = append(people, fmt.Sprintf("%s=%s", k[len(p):], v))
		}
		h := b.Get(liveKey(pMeeting, mk))
		got := fmt.Sprintf("head %.3q, people %q", h, people)
		switch {
		case mk == ended && h == nil && len(people) == 0,
			mk == restarted && bytes.HasPrefix(h, []byte("new")) && slices.Equal(people, []string{"ken=new"}),
			mk != ended && mk != restarted && bytes.HasPrefix(h, []byte("new")) && slices.Equal(people, []string{"ada=new"}):
			return "new"
		case bytes.HasPrefix(h, []byte("old")) && slices.Equal(people, []string{"ada=old"}):
			return "old"
		}
		return got
	}
	for i, part := range parts {
		update(part.writeTo)
		if err := db.View(func(tx *bolt.Tx) error {
			for _, mk := range meetings {
				if s := state(tx.Bucket(bLive), mk); s != "old" && s != "new" || i == len(parts)-1 && s != "new" {
					t.Errorf("after part %d of %d, meeting %s: %s", i+1, len(parts), mk, s)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// Store, then show: a viewer reading the live state while a commit is still writing and
// syncing its pages, or after it failed, is not shown its events. The batch is applied
// inside the transaction; the live state's lock used to be released before bbolt's commit
// and before a failed batch was undone, and a reader in that window saw the join (16 to 20
// commits of 20).
func TestViewersSeeOnlyCommittedEvents(t *testing.T) {
	s := openTest(t, Options{})
	submit(t, s, item(t, startedRaw("m1", t0.UnixMilli())))
	type seen struct {
		shown  bool
		stored uint64
	}
	var who atomic.Value
	var fail atomic.Bool
	res := make(chan seen, 1)
	s.opts.commitHook = func() error {
		go func() { // waits for the lock the writer holds: through the commit, or the undoing
			m := s.LiveMeeting("m1==")
			_, shown := m.Participants["p-"+who.Load().(string)]
			res <- seen{shown, s.LastSeq()}
		}()
		if fail.CompareAndSwap(true, false) {
			return errors.New("write events.db: input/output error")
		}
		return nil
	}
	for n := range 20 {
		name := fmt.Sprintf("P%d", n)
		who.Store(name)
		fail.Store(n%2 == 1) // every other join's first commit fails; the writer retries it
		submit(t, s, item(t, joinRaw("m1", name, t0.UnixMilli()+int64(n+1)*1000)))
		want := uint64(n + 2)
		for range 1 + n%2 { // one reader per attempt
			if r := <-res; r.shown && r.stored < want {
				t.Fatalf("%s was shown while the store held events up to #%d, not hers (#%d)", name, r.stored, want)
			}
		}
	}
}

// A commit that failed after noting an occurrence's uuid as mapped to its meeting number
// left the retry without the mapping: the meeting's page (by uuid) then found nothing.
func TestAFailedCommitKeepsTheUUIDMapping(t *testing.T) {
	s := openTest(t, Options{})
	var failed atomic.Bool
	s.opts.commitHook = func() error {
		if failed.CompareAndSwap(false, true) {
			return errors.New("write events.db: input/output error")
		}
		return nil
	}
	submit(t, s, item(t, joinRaw("m1", "Ada", t0.UnixMilli())))
	if !failed.Load() || s.LastSeq() != 1 {
		t.Fatalf("failed %v, last seq %d", failed.Load(), s.LastSeq())
	}
	for _, m := range []string{"86431910002", "m1=="} {
		if p, err := s.Page(Query{Filter: Filter{Meeting: m}}); err != nil || len(p.Records) != 1 {
			t.Errorf("by meeting %s: %d records, %v; want 1", m, len(p.Records), err)
		}
	}
}

// Subscribe while Close waits for a submit blocked on a full queue (an SSH login as the
// store closes): Subscribe waited for the closing lock while holding the subscribers' lock,
// which the writer needs to publish the commit that would unblock the submit.
func TestSubscribeWhileTheStoreCloses(t *testing.T) {
	s, err := Open(Options{Path: filepath.Join(t.TempDir(), "events.db")})
	if err != nil {
		t.Fatal(err)
	}
	w := s.w
	w.closing.RLock() // as a submit waiting on a full queue does
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	for w.closing.TryRLock() { // until Close waits for the lock: then no reader gets it
		w.closing.RUnlock()
		runtime.Gosched()
	}
	got := make(chan *Subscription, 1)
	go func() { got <- s.Subscribe(1) }()
	var sub *Subscription
	select {
	case sub = <-got:
	case <-time.After(10 * time.Second):
		w.closing.RUnlock()
		t.Fatal("Subscribe waited for Close, holding the lock the writer publishes under")
	}
	w.closing.RUnlock()
	<-closed
	if _, open := <-sub.C; open {
		t.Error("the subscription taken while closing was not closed with the store")
	}
}

// A bug in the reducer, met by some event, does not end the monitor: the event is stored,
// the panes go on with the events after it, and the log says which event it was.
func TestReducerPanicKeepsStoring(t *testing.T) {
	var logs syncbuf.Buffer
	s := openTest(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	submit(t, s, item(t, startedRaw("m1", t0.UnixMilli())))
	s.liveMu.Lock()
	s.state.Users = nil // a user event now panics in the reducer: a write to a nil map
	s.liveMu.Unlock()
	user := fmt.Appendf(nil, `{"event":"user.created","event_ts":%d,"payload":{"account_id":"A","object":{"id":"u1","first_name":"Jill","last_name":"Chill","email":"jchill@example.com","type":1}}}`, t0.UnixMilli()+500)
	submit(t, s, item(t, user), item(t, joinRaw("m1", "Ada", t0.UnixMilli()+1000)))
	if got := s.LastSeq(); got != 3 {
		t.Errorf("%d events stored, want 3: the one the reducer failed on too", got)
	}
	if _, ok := s.LiveMeeting("m1==").Participants["p-Ada"]; !ok {
		t.Error("the join after the failed event is not shown")
	}
	if !strings.Contains(logs.String(), "could not be applied") || !strings.Contains(logs.String(), "type=user.created") {
		t.Errorf("the log does not name the event the reducer failed on:\n%s", logs.String())
	}
}
