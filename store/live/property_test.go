package live

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"time"

	"zoomwatch/feed"
)

// truth is what a script of events really did, for checking the reducer against.
type truth struct {
	ended   map[string]bool     // meetings whose meeting.ended is in the script
	present map[string][]string // meetings still running at the end → participant keys there
	rec     map[string]recTruth // recordings completed in the script
}

type recTruth struct {
	files   int
	tokenTS int64 // newest event_ts of an event carrying a download_token
}

// genScript makes a realistic, chronological script for n meetings (numbered from first):
// starts, joins and leaves with rejoins, renames, recordings started, paused, resumed and
// stopped, most meetings ending (Zoom then sends leaves for whoever is left, stamped after
// meeting.ended, and recording.stopped), and the recording.completed and transcript that
// follow.
func genScript(bb b, rng *rand.Rand, first, n int) ([]*feed.Event, truth) {
	tr := truth{ended: map[string]bool{}, present: map[string][]string{}, rec: map[string]recTruth{}}
	type timed struct {
		sec int
		e   *feed.Event
	}
	var all []timed
	for i := first; i < first+n; i++ {
		m := genMeeting(i)
		sec := rng.Intn(600)
		add := func(e *feed.Event) { all = append(all, timed{sec, e}) }
		add(bb.start(m, sec))
		cur := topic(m.topic) // events after a rename carry the new topic
		people := 2 + rng.Intn(8)
		present := map[int]bool{}
		rec := ""
		for step, steps := 0, 5+rng.Intn(40); step < steps; step++ {
			sec += 1 + rng.Intn(20)
			p := rng.Intn(people)
			switch r := rng.Intn(12); {
			case r < 5 && !present[p]:
				present[p] = true
				add(bb.join(m, genPerson(p), sec, cur))
			case r < 9 && present[p]:
				delete(present, p)
				if rng.Intn(4) == 0 {
					add(bb.leave(m, genPerson(p), sec, cur, reason("left the meeting. Reason : lost connection.")))
				} else {
					add(bb.leave(m, genPerson(p), sec, cur))
				}
			case r == 9:
				name := fmt.Sprintf("%s (v%d)", m.topic, step)
				add(bb.updated(m, sec, name))
				cur = topic(name)
			case r >= 10:
				switch {
				case rec == "":
					rec = "recording.started"
				case rec == "recording.started" || rec == "recording.resumed":
					rec = []string{"recording.paused", "recording.stopped"}[rng.Intn(2)]
				case rec == "recording.paused":
					rec = []string{"recording.resumed", "recording.stopped"}[rng.Intn(2)]
				default:
					continue
				}
				add(bb.rec(rec, m, sec, cur))
			}
		}
		if rng.Intn(4) == 0 {
			var ks []string
			for p := range present {
				ks = append(ks, genPerson(p).key())
			}
			slices.Sort(ks)
			tr.present[m.uuid] = ks
			continue
		}
		sec += 1 + rng.Intn(20)
		add(bb.end(m, sec, cur))
		tr.ended[m.uuid] = true
		sec++
		for p := range people {
			if present[p] {
				add(bb.leave(m, genPerson(p), sec, cur, reason(genPerson(p).name+" left the meeting.<br>Reason: Host ended the meeting.")))
			}
		}
		if rec == "" {
			continue
		}
		if rec != "recording.stopped" {
			add(bb.rec("recording.stopped", m, sec, cur))
		}
		var fs []map[string]any
		for f := range 1 + rng.Intn(3) {
			fs = append(fs, recFile(fmt.Sprintf("%s-f%d", m.id, f), "MP4", "MP4", "shared_screen_with_speaker_view", 1000*(f+1)))
		}
		sec += 300 + rng.Intn(600)
		add(bb.rec("recording.completed", m, sec, cur, files(fs...)))
		rt := recTruth{files: len(fs), tokenTS: tsAt(sec)}
		if rng.Intn(2) == 0 {
			sec += 60 + rng.Intn(300)
			add(bb.rec("recording.transcript_completed", m, sec, cur))
			rt.files++
			rt.tokenTS = tsAt(sec)
		}
		tr.rec[m.uuid] = rt
	}
	slices.SortStableFunc(all, func(a, b timed) int { return a.sec - b.sec })
	evs := make([]*feed.Event, len(all))
	for i, t := range all {
		evs[i] = t.e
	}
	return evs, tr
}

// arrival reorders events within a window and redelivers some of them a little later.
func arrival(tb testing.TB, rng *rand.Rand, evs []*feed.Event, window int, dupRate float64) []*feed.Event {
	out := slices.Clone(evs)
	for i := range out {
		if j := i + rng.Intn(window); j < len(out) {
			out[i], out[j] = out[j], out[i]
		}
	}
	for i := 0; i < len(out); i++ {
		if rng.Float64() < dupRate {
			again, err := feed.DecodeEvent(slices.Clone(out[i].Raw)) // exactly as delivered
			if err != nil {
				tb.Fatal(err)
			}
			out = slices.Insert(out, min(len(out), i+1+rng.Intn(2*window)), again)
			i++
		}
	}
	return out
}

func TestPropertyRandomArrival(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 20
	}
	for seed := 1; seed <= seeds; seed++ {
		rng := rand.New(rand.NewSource(int64(seed)))
		script, tr := genScript(b{t}, rng, 0, 8)
		lossy := seed%3 == 0 // some events never arrive
		evs := arrival(t, rng, script, 1+rng.Intn(12), 0.15)
		if lossy {
			evs = slices.DeleteFunc(evs, func(*feed.Event) bool { return rng.Intn(10) == 0 })
		}
		s := New()
		changedOnce := map[feed.Identity]bool{}
		var (
			shown   *Snapshot // what a viewer holds, built a commit at a time as the store does
			changes Changes
			unsaved Unsaved
		)
		for i, e := range evs {
			if s.Apply(e) {
				changedOnce[e.Identity()] = true
			}
			if rng.Intn(40) == 0 {
				at := int(e.TS)/1000 - int(t0.Unix())
				s.MarkGap(timeAt(at), timeAt(at+30+rng.Intn(300)), "reconnecting", false)
			}
			if rng.Intn(3) == 0 { // a commit
				s.MoveDirty(&unsaved, &changes, 1)
				if rng.Intn(2) == 0 { // and a viewer looking
					shown = s.SnapshotSince(shown, &changes)
					if full := s.Snapshot(); !reflect.DeepEqual(shown, full) {
						t.Fatalf("seed %d, event %d (%s): the snapshot built from changes differs from a full one:\n%s\nwant\n%s",
							seed, i, e.Summary(), dumpSnap(t, shown), dumpSnap(t, full))
					}
				}
			}
			checkInvariants(t, s)
			for k := range s.Ended {
				if s.Meetings[k] != nil {
					t.Fatalf("seed %d, event %d (%s): ended meeting %s active again", seed, i, e.Summary(), k)
				}
			}
			if t.Failed() {
				t.Fatalf("seed %d: after event %d: %s", seed, i, e.Summary())
			}
		}

		for k := range tr.ended {
			if _, ok := s.Ended[k]; !ok && !lossy {
				t.Errorf("seed %d: meeting %s ended but not tombstoned", seed, k)
			}
		}
		if !lossy {
			for k, want := range tr.present {
				m := s.Meetings[k]
				if m == nil {
					t.Errorf("seed %d: running meeting %s missing", seed, k)
					continue
				}
				if got := presentKeys(m); !slices.Equal(got, want) {
					t.Errorf("seed %d: %s present %v, want %v", seed, k, got, want)
				}
			}
			for k, want := range tr.rec {
				r := s.Recordings[k]
				expires := time.UnixMilli(want.tokenTS).UTC().Add(DownloadTokenTTL)
				if r == nil || r.Status != RecCompleted || len(r.Files) != want.files || !r.DownloadExpires.Equal(expires) {
					t.Errorf("seed %d: recording %s = %+v, want completed, %d files, token at %d", seed, k, r, want.files, want.tokenTS)
				}
			}
		}

		// The same multiset again, in another order: nothing changes. Except, a known limit:
		// a meeting.updated that arrived before anything else about the meeting it renames
		// changed nothing then (nothing to rename), and may rename it now.
		s.TakeDirty()
		before := dump(t, s)
		again := arrival(t, rng, evs, 20, 0)
		renamed := false
		for _, e := range again {
			if s.Apply(e) {
				if e.Type == "meeting.updated" && !changedOnce[e.Identity()] {
					renamed = true
					continue
				}
				t.Errorf("seed %d: reapplying %s changed the state", seed, e.Summary())
			}
		}
		if renamed { // then a third time must change nothing
			s.TakeDirty()
			before = dump(t, s)
			for _, e := range again {
				if s.Apply(e) {
					t.Errorf("seed %d: applying %s a third time changed the state", seed, e.Summary())
				}
			}
		}
		if after := dump(t, s); after != before {
			t.Fatalf("seed %d: reapplying the events changed the state:\nbefore %s\nafter %s", seed, before, after)
		}
		if d := s.TakeDirty(); !isClean(d) {
			t.Errorf("seed %d: reapplying marked %+v dirty", seed, d)
		}
	}
}

// Changes nobody takes a snapshot of (a headless collector) stay bounded, and the snapshot
// that finally comes is still exact.
func TestChangesStayBounded(t *testing.T) {
	s := New()
	prev := s.Snapshot()
	var c Changes
	for i := range maxTracked + 10 {
		k := fmt.Sprintf("m%d==", i)
		s.Meetings[k] = &Meeting{Key: k, Topic: "t"}
		s.dirty.meetings[k] = true
		s.MoveDirty(&Unsaved{}, &c, 1)
		if n := len(c.meetings) + len(c.recordings); n > maxTracked {
			t.Fatalf("%d keys tracked, bound %d", n, maxTracked)
		}
	}
	if !c.all {
		t.Fatal("past the bound, the next snapshot must copy everything")
	}
	if got, want := s.SnapshotSince(prev, &c), s.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("%d meetings in the snapshot, want %d", len(got.Meetings), len(want.Meetings))
	}
}
