package live

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"zoomwatch/feed"
)

func TestSampleShapes(t *testing.T) {
	bb := b{t}
	for _, c := range []struct {
		e             *feed.Event
		key, id, pkey string
		idIsNumInWire bool
	}{
		{e: bb.start(mDocs, 0), key: mDocs.uuid, id: mDocs.id},
		{e: bb.join(mDocs, jill, 1), key: mDocs.uuid, id: mDocs.id, pkey: jill.uuid},
		{e: bb.join(mReal, jan, 1), key: mReal.uuid, id: mReal.id, pkey: jan.userID},
		{e: bb.leave(mDocs, jill, 2), key: mDocs.uuid, id: mDocs.id, pkey: jill.uuid},
		{e: bb.end(mDocs, 3), key: mDocs.uuid, id: mDocs.id},
		{e: bb.rec("recording.completed", mDocs, 4), key: mDocs.uuid, id: mDocs.id, idIsNumInWire: true},
		{e: bb.rec("recording.transcript_completed", mDocs, 4), key: mDocs.uuid, id: mDocs.id, idIsNumInWire: true},
		{e: bb.rec("recording.started", mDocs, 4), key: mDocs.uuid, id: mDocs.id, idIsNumInWire: true},
		{e: bb.updated(mUpd, 5, "x"), key: mUpd.id, id: mUpd.id, idIsNumInWire: true},
	} {
		var wire struct {
			Payload struct {
				Object struct {
					ID json.RawMessage `json:"id"`
				} `json:"object"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(c.e.Raw, &wire); err != nil {
			t.Fatal(err)
		}
		if num := wire.Payload.Object.ID[0] != '"'; num != c.idIsNumInWire {
			t.Errorf("%s: id on the wire %s, want number=%v", c.e.Type, wire.Payload.Object.ID, c.idIsNumInWire)
		}
		eq(t, c.e.Type+" MeetingKey", c.e.MeetingKey(), c.key)
		eq(t, c.e.Type+" id", string(c.e.Payload.Object.ID), c.id)
		eq(t, c.e.Type+" ParticipantKey", c.e.ParticipantKey(), c.pkey)
	}
	if p := bb.leave(mDocs, jill, 2).Payload.Object.Participant; !strings.Contains(p.LeaveReason, "<br>") || p.LeaveTime == "" {
		t.Errorf("leave event lost its sample shape: %+v", p)
	}
}

func TestMeetingLifecycle(t *testing.T) {
	bb := b{t}
	s := New()
	if !s.Apply(bb.start(mReal, 0)) {
		t.Fatal("meeting.started reported no change")
	}
	m := mustMeeting(t, s, mReal)
	want := Meeting{Key: mReal.uuid, ID: mReal.id, UUID: mReal.uuid, Topic: mReal.topic, HostID: mReal.host,
		Type: 1, Start: t0, StartSeen: true, LastTS: tsAt(0)}
	if !reflect.DeepEqual(*m, want) {
		t.Fatalf("started:\n got %+v\nwant %+v", *m, want)
	}

	applyAll(s,
		bb.join(mReal, jan, 1), // the host: participant id == host_id
		bb.join(mReal, jill, 5),
		bb.join(mReal, guest, 10),
		bb.leave(mReal, guest, 20, reason("left the meeting. Reason : lost connection.")),
	)
	m = mustMeeting(t, s, mReal)
	eqSlice(t, "present", presentKeys(m), keys(jan, jill))
	eq(t, "Peak", m.Peak, 3)
	eq(t, "Joins", m.Joins, 3)
	eq(t, "HostName", m.HostName, "Jan Šimonek")
	eq(t, "LastTS", m.LastTS, tsAt(20))
	eqSlice(t, "sessions", sessions(m), []string{"Jan Šimonek 1-", "Jill Chill 5-", "iPhone (guest) 10-20 lost connection"})
	pj := m.Participants[jill.key()]
	if want := (Participant{Key: jill.uuid, Name: jill.name, Email: jill.email, UserID: jill.zid, Joined: timeAt(5), LastTS: tsAt(5)}); !reflect.DeepEqual(*pj, want) {
		t.Errorf("jill:\n got %+v\nwant %+v", *pj, want)
	}
	var names []string
	for _, p := range m.People() {
		names = append(names, p.Name)
	}
	eqSlice(t, "People", names, []string{"Jan Šimonek", "Jill Chill"})

	d := s.TakeDirty()
	eqSlice(t, "dirty meetings", d.Meetings, []string{mReal.uuid})

	hostEnded := reason("Jill Chill left the meeting.<br>Reason: Host ended the meeting.")
	if !s.Apply(bb.end(mReal, 30)) {
		t.Fatal("meeting.ended reported no change")
	}
	noMeeting(t, s, mReal)
	eq(t, "tombstone", s.Ended[mReal.uuid], tsAt(30))
	d = s.TakeDirty()
	eqSlice(t, "dirty meetings", d.Meetings, []string{mReal.uuid})
	eqSlice(t, "dirty ended", d.Ended, []string{mReal.uuid})

	// Zoom sends the leaves of everyone still there as it closes the meeting, stamped after
	// meeting.ended: they must not bring it back.
	for _, e := range []*feed.Event{bb.leave(mReal, jill, 31, hostEnded), bb.leave(mReal, jan, 31)} {
		if s.Apply(e) {
			t.Errorf("trailing leave after the end reported a change")
		}
	}
	noMeeting(t, s, mReal)
	if snap := s.Snapshot(); len(snap.Meetings) != 0 {
		t.Errorf("snapshot still lists %d meetings", len(snap.Meetings))
	}
	if d := s.TakeDirty(); !isClean(d) {
		t.Errorf("no-op events left dirty keys %+v", d)
	}
}

// TestPartialAndOutOfOrder covers what the reducer must cope with: knowledge it never had,
// and events in an arrival order different from their event_ts order.
func TestPartialAndOutOfOrder(t *testing.T) {
	for _, c := range []struct {
		name   string
		events func(b) []*feed.Event
		check  func(*testing.T, *State)
	}{
		{
			name:   "meeting.ended for a meeting never seen start",
			events: func(b b) []*feed.Event { return []*feed.Event{b.end(mDocs, 30)} },
			check: func(t *testing.T, s *State) {
				noMeeting(t, s, mDocs)
				eq(t, "tombstone", s.Ended[mDocs.uuid], tsAt(30))
			},
		},
		{
			name:   "participant joins a meeting never seen start",
			events: func(b b) []*feed.Event { return []*feed.Event{b.join(mDocs, jill, 600)} },
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mDocs)
				eq(t, "StartSeen", m.StartSeen, false)
				eq(t, "Start (start_time)", m.Start, t0)
				eq(t, "Topic", m.Topic, "My Meeting")
				eq(t, "ID", m.ID, mDocs.id)
				eq(t, "Type", m.Type, 8)
				eqSlice(t, "present", presentKeys(m), keys(jill))
			},
		},
		{
			name: "partial meeting without start_time starts at its earliest event",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.join(mDocs, jill, 600, without("start_time")), b.join(mDocs, guest, 300, without("start_time"))}
			},
			check: func(t *testing.T, s *State) {
				eq(t, "Start", mustMeeting(t, s, mDocs).Start, timeAt(300))
			},
		},
		{
			name:   "leave for a join never seen",
			events: func(b b) []*feed.Event { return []*feed.Event{b.start(mDocs, 0), b.leave(mDocs, jill, 20)} },
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mDocs)
				eq(t, "present", len(m.Participants), 0)
				eq(t, "Joins", m.Joins, 0)
				eq(t, "Peak", m.Peak, 0)
				eqSlice(t, "sessions", sessions(m), []string{"Jill Chill ?-20 left the meeting"})
			},
		},
		{
			name:   "leave for a join never seen, meeting never seen either",
			events: func(b b) []*feed.Event { return []*feed.Event{b.leave(mReal, jan, 20)} },
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mReal)
				eq(t, "StartSeen", m.StartSeen, false)
				eq(t, "present", len(m.Participants), 0)
				eqSlice(t, "sessions", sessions(m), []string{"Jan Šimonek ?-20 left the meeting"})
			},
		},
		{
			name: "rejoin",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1), b.join(mDocs, guest, 2),
					b.leave(mDocs, jill, 5), b.join(mDocs, jill, 10)}
			},
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mDocs)
				eqSlice(t, "present", presentKeys(m), keys(jill, guest))
				eq(t, "Rejoins", m.Participants[jill.key()].Rejoins, 1)
				eq(t, "Joined", m.Participants[jill.key()].Joined, timeAt(10))
				eq(t, "Joins", m.Joins, 3)
				eq(t, "Peak", m.Peak, 2)
				eqSlice(t, "sessions", sessions(m), []string{"Jill Chill 1-5 left the meeting", "iPhone (guest) 2-", "Jill Chill 10-"})
			},
		},
		{
			name: "duplicate join: one presence",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1), b.join(mDocs, jill, 1),
					b.join(mDocs, jill, 7, joinTime(1))}
			},
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mDocs)
				eqSlice(t, "present", presentKeys(m), keys(jill))
				eq(t, "Joins", m.Joins, 1)
				eq(t, "Peak", m.Peak, 1)
				eq(t, "Rejoins", m.Participants[jill.key()].Rejoins, 0)
				eqSlice(t, "sessions", sessions(m), []string{"Jill Chill 1-"})
			},
		},
		{
			name: "leave arrives before its older join: not resurrected, the session completed",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.leave(mDocs, jill, 20), b.join(mDocs, jill, 10)}
			},
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mDocs)
				eq(t, "present", len(m.Participants), 0)
				eq(t, "Joins", m.Joins, 1)
				eqSlice(t, "sessions", sessions(m), []string{"Jill Chill 10-20 left the meeting"})
			},
		},
		{
			name: "a redelivered join is not given to a later stay whose join was lost",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1), b.leave(mDocs, jill, 5),
					b.leave(mDocs, jill, 20), b.join(mDocs, jill, 1)}
			},
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mDocs)
				eq(t, "Joins", m.Joins, 1)
				eqSlice(t, "sessions", sessions(m), []string{"Jill Chill 1-5 left the meeting", "Jill Chill ?-20 left the meeting"})
			},
		},
		{
			name: "events with the same event_ts: the first applied wins (re-applying them changes nothing)",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.join(mDocs, jill, 5, topic("X")), b.join(mDocs, guest, 5, topic("Y"))}
			},
			check: func(t *testing.T, s *State) { eq(t, "Topic", mustMeeting(t, s, mDocs).Topic, "X") },
		},
		{
			name: "join and leave in the same millisecond, leave first",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.leave(mDocs, jill, 20), b.join(mDocs, jill, 20)}
			},
			check: func(t *testing.T, s *State) {
				eq(t, "present", len(mustMeeting(t, s, mDocs).Participants), 0)
			},
		},
		{
			name: "late leave older than a rejoin already applied",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1), b.join(mDocs, jill, 10), b.leave(mDocs, jill, 5)}
			},
			check: func(t *testing.T, s *State) {
				eqSlice(t, "present", presentKeys(mustMeeting(t, s, mDocs)), keys(jill))
			},
		},
		{
			name: "late join for a meeting that already ended",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1), b.end(mDocs, 30), b.join(mDocs, guest, 20)}
			},
			check: func(t *testing.T, s *State) { noMeeting(t, s, mDocs) },
		},
		{
			name: "late leave (older) for a meeting that already ended",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1), b.end(mDocs, 30), b.leave(mDocs, jill, 25)}
			},
			check: func(t *testing.T, s *State) { noMeeting(t, s, mDocs) },
		},
		{
			name: "late meeting.started after participants",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.join(mReal, jill, 5), b.join(mReal, jan, 6), b.start(mReal, 0)}
			},
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mReal)
				eq(t, "StartSeen", m.StartSeen, true)
				eq(t, "Start", m.Start, t0)
				eq(t, "LastTS", m.LastTS, tsAt(6))
				eqSlice(t, "present", presentKeys(m), keys(jill, jan))
				eq(t, "HostName", m.HostName, jan.name)
			},
		},
		{
			name: "late meeting.started for a meeting that already ended",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.join(mReal, jill, 5), b.end(mReal, 30), b.start(mReal, 0)}
			},
			check: func(t *testing.T, s *State) { noMeeting(t, s, mReal) },
		},
		{
			name: "meeting.started newer than the end restarts the meeting under the same key",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1), b.end(mDocs, 30),
					b.start(mDocs, 40, without("start_time")), b.join(mDocs, guest, 25), b.join(mDocs, jan, 45)}
			},
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mDocs)
				eq(t, "Start", m.Start, timeAt(40))
				eqSlice(t, "present", presentKeys(m), keys(jan))
				for k, e := range s.Ended {
					if m := s.Meetings[k]; m != nil && e >= m.LastTS {
						t.Errorf("active meeting %s tombstoned at %d ≥ its last event %d", k, e, m.LastTS)
					}
				}
			},
		},
		{
			name: "the same participant in two meetings",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.join(mDocs, jill, 1), b.join(mReal, jill, 2), b.leave(mDocs, jill, 3)}
			},
			check: func(t *testing.T, s *State) {
				eq(t, "docs present", len(mustMeeting(t, s, mDocs).Participants), 0)
				eqSlice(t, "real present", presentKeys(mustMeeting(t, s, mReal)), keys(jill))
			},
		},
		{
			name: "event without event_ts does not overwrite and gives no token expiry",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 5, topic("Renamed")),
					b.join(mDocs, guest, 0, eventTS(nil), topic("Stale")),
					b.rec("recording.completed", mDocs, 0, eventTS("")),
				}
			},
			check: func(t *testing.T, s *State) {
				m := mustMeeting(t, s, mDocs)
				eq(t, "Topic", m.Topic, "Renamed")
				eq(t, "LastTS", m.LastTS, tsAt(5))
				r := s.Recordings[mDocs.uuid]
				if r == nil {
					t.Fatal("recording without event_ts not listed")
				}
				if !r.DownloadExpires.IsZero() || !r.Completed.IsZero() {
					t.Errorf("unknown event time gave Completed %v, DownloadExpires %v", r.Completed, r.DownloadExpires)
				}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := New()
			applyAll(s, c.events(b{t})...)
			c.check(t, s)
			checkInvariants(t, s)
		})
	}
}

// TestRedeliveryIsIdempotent applies each kind of event a second time, exactly as delivered:
// nothing may change, Apply must say so, and nothing may be marked for persisting.
func TestRedeliveryIsIdempotent(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(b) []*feed.Event // the last one is redelivered
	}{
		{"meeting.started", func(b b) []*feed.Event { return []*feed.Event{b.start(mDocs, 0)} }},
		{"meeting.started late", func(b b) []*feed.Event { return []*feed.Event{b.join(mDocs, jill, 5), b.start(mDocs, 0)} }},
		{"meeting.ended", func(b b) []*feed.Event { return []*feed.Event{b.start(mDocs, 0), b.end(mDocs, 30)} }},
		{"meeting.ended never seen", func(b b) []*feed.Event { return []*feed.Event{b.end(mDocs, 30)} }},
		{"participant_joined", func(b b) []*feed.Event { return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1)} }},
		{"participant_joined, partial meeting", func(b b) []*feed.Event { return []*feed.Event{b.join(mReal, jan, 1)} }},
		{"participant_joined after a gap", func(b b) []*feed.Event {
			return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1), b.join(mDocs, jill, 900)}
		}},
		{"participant_joined older than the leave", func(b b) []*feed.Event {
			return []*feed.Event{b.start(mDocs, 0), b.leave(mDocs, jill, 20), b.join(mDocs, jill, 10)}
		}},
		{"participant_left", func(b b) []*feed.Event {
			return []*feed.Event{b.start(mDocs, 0), b.join(mDocs, jill, 1), b.leave(mDocs, jill, 5)}
		}},
		{"participant_left without join", func(b b) []*feed.Event { return []*feed.Event{b.start(mDocs, 0), b.leave(mDocs, jill, 5)} }},
		{"recording.started", func(b b) []*feed.Event {
			return []*feed.Event{b.start(mDocs, 0), b.rec("recording.started", mDocs, 60)}
		}},
		{"recording.paused", func(b b) []*feed.Event {
			return []*feed.Event{b.start(mDocs, 0), b.rec("recording.started", mDocs, 60), b.rec("recording.paused", mDocs, 70)}
		}},
		{"recording.resumed", func(b b) []*feed.Event {
			return []*feed.Event{b.start(mDocs, 0), b.rec("recording.started", mDocs, 60), b.rec("recording.paused", mDocs, 70), b.rec("recording.resumed", mDocs, 80)}
		}},
		{"recording.stopped", func(b b) []*feed.Event {
			return []*feed.Event{b.start(mDocs, 0), b.rec("recording.started", mDocs, 60), b.rec("recording.stopped", mDocs, 90)}
		}},
		{"recording.completed", func(b b) []*feed.Event {
			return []*feed.Event{b.rec("recording.stopped", mDocs, 90), b.rec("recording.completed", mDocs, 900)}
		}},
		{"recording.completed never seen", func(b b) []*feed.Event { return []*feed.Event{b.rec("recording.completed", mDocs, 900)} }},
		{"recording.completed older than the transcript", func(b b) []*feed.Event {
			return []*feed.Event{b.rec("recording.transcript_completed", mDocs, 1200), b.rec("recording.completed", mDocs, 900)}
		}},
		{"recording.transcript_completed", func(b b) []*feed.Event {
			return []*feed.Event{b.rec("recording.completed", mDocs, 900), b.rec("recording.transcript_completed", mDocs, 1200)}
		}},
		{"meeting.updated", func(b b) []*feed.Event {
			return []*feed.Event{b.start(mUpd, 0), b.updated(mUpd, 10, "ZoomNet Unit Testing: UPDATED scheduled meeting")}
		}},
		{"user.created", func(b b) []*feed.Event {
			return []*feed.Event{b.start(mDocs, 0, hostID("abcD3ojfdbjfg")), build(b.tb, "user.created", 5)}
		}},
		{"user.updated", func(b b) []*feed.Event {
			return []*feed.Event{build(b.tb, "user.created", 5), b.user("user.updated", 6, "abcD3ojfdbjfg", "Jill", "Chill-Smith", "", "")}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := New()
			evs := c.setup(b{t})
			applyAll(s, evs...)
			s.TakeDirty()
			before := dump(t, s)
			snapBefore := s.Snapshot()
			last := evs[len(evs)-1]
			again, err := feed.DecodeEvent(slices.Clone(last.Raw))
			if err != nil {
				t.Fatal(err)
			}
			if s.Apply(again) {
				t.Errorf("redelivered %s reported a change", last.Type)
			}
			if after := dump(t, s); after != before {
				t.Errorf("redelivery changed the state:\nbefore %s\nafter %s", before, after)
			}
			if !reflect.DeepEqual(s.Snapshot(), snapBefore) {
				t.Error("redelivery changed the snapshot")
			}
			if d := s.TakeDirty(); !isClean(d) {
				t.Errorf("redelivery marked keys dirty: %+v", d)
			}
		})
	}
}

func TestRecordingLifecycle(t *testing.T) {
	bb := b{t}
	s := New()
	key := mDocs.uuid
	step := func(e *feed.Event, status RecordingStatus, recording bool) *Recording {
		t.Helper()
		if !s.Apply(e) {
			t.Errorf("%s reported no change", e.Type)
		}
		r := s.Recordings[key]
		if r == nil {
			t.Fatalf("%s: no recording", e.Type)
		}
		eq(t, e.Type+" status", r.Status, status)
		if m := s.Meetings[key]; m != nil {
			eq(t, e.Type+" meeting.Recording", m.Recording, recording)
		}
		if d := s.TakeDirty(); !slices.Equal(d.Recordings, []string{key}) {
			t.Errorf("%s: dirty recordings %q", e.Type, d.Recordings)
		}
		return r
	}
	s.Apply(bb.start(mDocs, 0))
	r := step(bb.rec("recording.started", mDocs, 60), RecInProgress, true)
	eq(t, "MeetingID (number on the wire)", r.MeetingID, mDocs.id)
	eq(t, "HostID", r.HostID, "x1yCzABCDEfg23HiJKl4mN")
	eq(t, "Started", r.Started, timeAt(60))
	step(bb.rec("recording.paused", mDocs, 120), RecPaused, false)
	r = step(bb.rec("recording.resumed", mDocs, 180), RecInProgress, true)
	eq(t, "Started after resume", r.Started, timeAt(60))
	r = step(bb.rec("recording.stopped", mDocs, 600), RecProcessing, false)
	eq(t, "Stopped", r.Stopped, timeAt(600))
	s.Apply(bb.end(mDocs, 700))

	r = step(bb.rec("recording.completed", mDocs, 1500), RecCompleted, false)
	noMeeting(t, s, mDocs)
	eq(t, "Completed", r.Completed, timeAt(1500))
	eq(t, "TotalSize", r.TotalSize, int64(3328371))
	eq(t, "Duration", r.Duration, 60)
	eq(t, "Topic", r.Topic, "My Personal Recording")
	eq(t, "DownloadExpires", r.DownloadExpires, timeAt(1500).Add(24*time.Hour))
	fStart, fEnd := time.Date(2021, 3, 23, 22, 14, 57, 0, time.UTC), time.Date(2021, 3, 23, 23, 15, 41, 0, time.UTC)
	wantFiles := []File{
		{ID: "ed6c2f27-2ae7-42f4-b3d0-835b493e4fa8", FileType: "M4A", Extension: "M4A", RecordingType: "audio_only", Size: 246560, Start: fStart, End: fEnd},
		{ID: "388ffb46-1541-460d-8447-4624451a1db7", FileType: "MP4", Extension: "MP4", RecordingType: "shared_screen_with_speaker_view", Size: 282825, Start: fStart, End: fEnd},
		{ID: "2af3b4b2-d5ad-4b5b-9be2-81b429206b27", FileType: "M4A", Extension: "M4A", Size: 246560, Start: fStart, End: fEnd},
	}
	eqSlice(t, "files", r.Files, wantFiles)

	r = step(bb.rec("recording.transcript_completed", mDocs, 2000), RecCompleted, false)
	eq(t, "Transcript", r.Transcript, timeAt(2000))
	eq(t, "Completed kept", r.Completed, timeAt(1500))
	eq(t, "TotalSize kept", r.TotalSize, int64(3328371))
	eq(t, "DownloadExpires (the newer token)", r.DownloadExpires, timeAt(2000).Add(24*time.Hour))
	wantFiles = append(wantFiles, File{ID: "bd5b3ea6-7dd6-484d-9125-b297e0a2f80a", FileType: "TRANSCRIPT", Extension: "VTT",
		RecordingType: "audio_transcript", Size: 142, Start: fStart, End: fEnd})
	eqSlice(t, "files", r.Files, wantFiles)
	eq(t, "LastTS", r.LastTS, tsAt(2000))
	if len(s.Meetings) != 0 {
		t.Errorf("recording events brought back a meeting:\n%s", dump(t, s))
	}
}

func TestRecordingEdges(t *testing.T) {
	key := mDocs.uuid
	for _, c := range []struct {
		name   string
		events func(b) []*feed.Event
		check  func(*testing.T, *State, *Recording)
	}{
		{
			name:   "recording.completed for a meeting never seen",
			events: func(b b) []*feed.Event { return []*feed.Event{b.rec("recording.completed", mDocs, 900)} },
			check: func(t *testing.T, s *State, r *Recording) {
				eq(t, "status", r.Status, RecCompleted)
				eq(t, "files", len(r.Files), 3)
				eq(t, "meetings", len(s.Meetings), 0)
			},
		},
		{
			name: "late recording.started after recording.completed does not undo the completion",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.rec("recording.completed", mDocs, 900), b.rec("recording.started", mDocs, 60), b.rec("recording.stopped", mDocs, 600)}
			},
			check: func(t *testing.T, s *State, r *Recording) {
				eq(t, "status", r.Status, RecCompleted)
				eq(t, "LastTS", r.LastTS, tsAt(900))
			},
		},
		{
			name: "transcript before the recording",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.rec("recording.transcript_completed", mDocs, 1200), b.rec("recording.completed", mDocs, 900)}
			},
			check: func(t *testing.T, s *State, r *Recording) {
				eq(t, "status", r.Status, RecCompleted)
				eq(t, "Completed", r.Completed, timeAt(900))
				eq(t, "Transcript", r.Transcript, timeAt(1200))
				eq(t, "files", len(r.Files), 4)
				eq(t, "TotalSize (the recording's)", r.TotalSize, int64(3328371))
				eq(t, "DownloadExpires", r.DownloadExpires, timeAt(1200).Add(24*time.Hour))
			},
		},
		{
			name: "a newer completion (re-processed) wins over an older one delivered late",
			events: func(b b) []*feed.Event {
				return []*feed.Event{
					b.rec("recording.completed", mDocs, 2000, files(recFile("f1", "MP4", "MP4", "shared_screen_with_speaker_view", 5000))),
					b.rec("recording.completed", mDocs, 900, files(recFile("f1", "MP4", "MP4", "shared_screen_with_speaker_view", 10))),
				}
			},
			check: func(t *testing.T, s *State, r *Recording) {
				eq(t, "Completed", r.Completed, timeAt(2000))
				eq(t, "size", r.Files[0].Size, int64(5000))
				eq(t, "files", len(r.Files), 1)
			},
		},
		{
			name: "meeting.ended while recording: processing",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.rec("recording.started", mDocs, 60), b.end(mDocs, 700)}
			},
			check: func(t *testing.T, s *State, r *Recording) {
				eq(t, "status", r.Status, RecProcessing)
				eq(t, "Stopped", r.Stopped, timeAt(700))
			},
		},
		{
			name: "recording.stopped after meeting.ended does not bring the meeting back",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.rec("recording.started", mDocs, 60), b.end(mDocs, 700), b.rec("recording.stopped", mDocs, 701)}
			},
			check: func(t *testing.T, s *State, r *Recording) {
				noMeeting(t, s, mDocs)
				eq(t, "status", r.Status, RecProcessing)
			},
		},
		{
			name: "late recording.started after meeting.ended does not bring the recording back to life",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.rec("recording.stopped", mDocs, 600), b.end(mDocs, 700), b.rec("recording.resumed", mDocs, 500)}
			},
			check: func(t *testing.T, s *State, r *Recording) {
				noMeeting(t, s, mDocs)
				eq(t, "status", r.Status, RecProcessing)
			},
		},
		{
			name: "recording.started before the meeting is known: the meeting shows it when it appears",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.rec("recording.started", mDocs, 60), b.join(mDocs, jill, 61)}
			},
			check: func(t *testing.T, s *State, r *Recording) {
				eq(t, "status", r.Status, RecInProgress)
				eq(t, "meeting.Recording", mustMeeting(t, s, mDocs).Recording, true)
			},
		},
		{
			name: "recording.completed without download_token",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.rec("recording.completed", mDocs, 900, noToken())}
			},
			check: func(t *testing.T, s *State, r *Recording) {
				if !r.DownloadExpires.IsZero() {
					t.Errorf("DownloadExpires = %v without a token", r.DownloadExpires)
				}
			},
		},
		{
			name: "recording.completed while the meeting is still listed clears its recording flag",
			events: func(b b) []*feed.Event {
				return []*feed.Event{b.start(mDocs, 0), b.rec("recording.started", mDocs, 60), b.rec("recording.completed", mDocs, 900)}
			},
			check: func(t *testing.T, s *State, r *Recording) {
				eq(t, "meeting.Recording", mustMeeting(t, s, mDocs).Recording, false)
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := New()
			applyAll(s, c.events(b{t})...)
			r := s.Recordings[key]
			if r == nil {
				t.Fatalf("no recording:\n%s", dump(t, s))
			}
			c.check(t, s, r)
			checkInvariants(t, s)
		})
	}
}

func TestMeetingUpdated(t *testing.T) {
	bb := b{t}
	const newTopic = "ZoomNet Unit Testing: UPDATED scheduled meeting"
	s := New()
	applyAll(s, bb.start(mUpd, 0), bb.join(mUpd, jill, 5))
	s.TakeDirty()
	if s.Apply(bb.updated(mUpd, 3, "older rename")) {
		t.Error("meeting.updated older than what we hold reported a change")
	}
	if !s.Apply(bb.updated(mUpd, 10, newTopic)) {
		t.Fatal("meeting.updated reported no change")
	}
	eq(t, "Topic", mustMeeting(t, s, mUpd).Topic, newTopic)
	eqSlice(t, "dirty", s.TakeDirty().Meetings, []string{mUpd.uuid})
	// An event older than the rename, carrying the old topic, arrives late.
	s.Apply(bb.join(mUpd, guest, 7))
	eq(t, "Topic after a late event", mustMeeting(t, s, mUpd).Topic, newTopic)
	if s.Apply(bb.updated(mReal, 20, "not running")) {
		t.Error("meeting.updated for a meeting not running reported a change")
	}
	settingsOnly := build(t, "meeting.updated", 30, in(mUpd), without("topic"))
	if s.Apply(settingsOnly) {
		t.Error("meeting.updated without a topic reported a change")
	}
	eq(t, "Topic", mustMeeting(t, s, mUpd).Topic, newTopic)

	// meeting.updated finds meetings by number through an index kept as meetings come, go
	// and learn their number.
	t.Run("by number as meetings come and go", func(t *testing.T) {
		a, c := genMeeting(1), genMeeting(2)
		b2 := mref{uuid: "other/Occurrence+Of1==", id: a.id, topic: a.topic, host: a.host}
		s := New()
		applyAll(s, bb.start(a, 0), bb.join(c, jan, 1, without("id")))
		if mustMeeting(t, s, c).ID != "" {
			t.Fatal("the meeting has a number before any event gave it one")
		}
		if !s.Apply(bb.updated(a, 2, "renamed once")) {
			t.Fatal("no change")
		}
		applyAll(s, bb.start(b2, 3), bb.join(c, jill, 4)) // a second occurrence; c learns its number
		if !s.Apply(bb.updated(a, 5, "renamed twice")) || !s.Apply(bb.updated(c, 6, "c renamed")) {
			t.Fatal("no change")
		}
		eq(t, "first occurrence", mustMeeting(t, s, a).Topic, "renamed twice")
		eq(t, "second occurrence", mustMeeting(t, s, b2).Topic, "renamed twice")
		eq(t, "meeting that learnt its number", mustMeeting(t, s, c).Topic, "c renamed")
		s.Apply(bb.end(a, 7))
		if !s.Apply(bb.updated(a, 8, "renamed thrice")) {
			t.Fatal("no change")
		}
		eq(t, "second occurrence", mustMeeting(t, s, b2).Topic, "renamed thrice")
		if s.Meetings[a.uuid] != nil {
			t.Error("meeting.updated brought an ended occurrence back")
		}
		if n := len(s.byID[a.id]); n != 1 {
			t.Errorf("the index lists %d meetings under the number, want the one still running", n)
		}
		// A state whose meetings were loaded, not applied (as the store reloads it).
		r := New()
		for k, m := range s.Meetings {
			r.Meetings[k] = m
		}
		if !r.Apply(bb.updated(c, 9, "after a reload")) {
			t.Fatal("meeting.updated missed a reloaded meeting")
		}
	})
}

func TestHostNames(t *testing.T) {
	bb := b{t}
	const uid = "abcD3ojfdbjfg" // user.created sample
	t.Run("user known before the meeting", func(t *testing.T) {
		s := New()
		applyAll(s, build(t, "user.created", 0), bb.start(mDocs, 5, hostID(uid)))
		eq(t, "HostName", mustMeeting(t, s, mDocs).HostName, "Jill Chill")
		eq(t, "Users", s.Users[uid], "Jill Chill")
	})
	t.Run("user created while the meeting runs", func(t *testing.T) {
		s := New()
		applyAll(s, bb.start(mDocs, 0, hostID(uid)), bb.start(mReal, 0))
		s.TakeDirty()
		if !s.Apply(build(t, "user.created", 5)) {
			t.Fatal("user.created reported no change")
		}
		// The snapshot names the host at once; the meeting itself is not rewritten for it.
		eq(t, "HostName", snapHost(t, s, mDocs), "Jill Chill")
		eq(t, "other HostName", snapHost(t, s, mReal), "")
		d := s.TakeDirty()
		eqSlice(t, "dirty users", d.Users, []string{uid})
		eqSlice(t, "dirty meetings", d.Meetings, nil)
	})
	t.Run("host joining as a participant names the host; the account name wins", func(t *testing.T) {
		s := New()
		applyAll(s, bb.start(mReal, 0), bb.join(mReal, jill, 1), bb.join(mReal, jan, 2))
		eq(t, "HostName", mustMeeting(t, s, mReal).HostName, jan.name)
		s.Apply(bb.user("user.updated", 3, jan.zid, "Jan", "Šimonek", "", "jan.simonek@gmail.com"))
		eq(t, "HostName", snapHost(t, s, mReal), "Jan Šimonek")
		s.Apply(bb.user("user.updated", 4, jan.zid, "", "", "Jan S.", ""))
		eq(t, "HostName", snapHost(t, s, mReal), "Jan S.")
	})
	t.Run("a viewer's snapshot built from changes renames only the host's meetings", func(t *testing.T) {
		s := New()
		applyAll(s, bb.start(mDocs, 0, hostID(uid)), bb.start(mReal, 0))
		var c Changes
		s.MoveDirty(&Unsaved{}, &c, 2)
		prev := s.SnapshotSince(nil, &c)
		s.Apply(build(t, "user.created", 5))
		s.MoveDirty(&Unsaved{}, &c, 1)
		got := s.SnapshotSince(prev, &c)
		if want := s.Snapshot(); !reflect.DeepEqual(got, want) {
			t.Fatalf("snapshot from changes differs from a full one:\n%s\nwant\n%s", dumpSnap(t, got), dumpSnap(t, want))
		}
		eq(t, "HostName", got.Meeting(mDocs.uuid).HostName, "Jill Chill")
		if got.Meeting(mReal.uuid) != prev.Meeting(mReal.uuid) {
			t.Error("a meeting of another host was copied again")
		}
	})
	t.Run("user.updated without a name does not rename the user to its id", func(t *testing.T) {
		s := New()
		applyAll(s, build(t, "user.created", 0), bb.start(mDocs, 5, hostID(uid)))
		s.TakeDirty()
		if s.Apply(bb.user("user.updated", 6, uid, "", "", "", "")) {
			t.Error("a nameless user.updated reported a change")
		}
		eq(t, "Users", s.Users[uid], "Jill Chill")
		eq(t, "HostName", mustMeeting(t, s, mDocs).HostName, "Jill Chill")
	})
	t.Run("host changes", func(t *testing.T) {
		s := New()
		applyAll(s, build(t, "user.created", 0), bb.start(mDocs, 5, hostID(uid)), bb.join(mDocs, guest, 6, hostID("someoneElse")))
		m := mustMeeting(t, s, mDocs)
		eq(t, "HostID", m.HostID, "someoneElse")
		eq(t, "HostName", m.HostName, "")
	})
}

func TestMarkGap(t *testing.T) {
	bb := b{t}
	setup := func(t *testing.T) *State {
		s := New()
		applyAll(s, bb.start(mDocs, 0), bb.join(mDocs, jill, 10), bb.join(mDocs, guest, 20), bb.start(mReal, 50))
		s.TakeDirty()
		return s
	}
	from, to := timeAt(100), timeAt(400)

	t.Run("short gap changes nothing", func(t *testing.T) {
		s := setup(t)
		before := dump(t, s)
		if s.MarkGap(from, from.Add(UncertainAfter-time.Millisecond), "reconnecting", false) {
			t.Error("short gap reported a change")
		}
		eq(t, "state", dump(t, s), before)
	})
	t.Run("short gap across a restart marks meetings uncertain", func(t *testing.T) {
		s := setup(t)
		if !s.MarkGap(from, from.Add(time.Second), "zoomwatch was not running", true) {
			t.Fatal("short restart reported no change")
		}
		for _, k := range []string{mDocs.uuid, mReal.uuid} {
			if !strings.Contains(s.Meetings[k].Uncertain, "zoomwatch was not running") {
				t.Errorf("%s: reason %q", k, s.Meetings[k].Uncertain)
			}
		}
	})
	t.Run("no meetings", func(t *testing.T) {
		if New().MarkGap(from, to, "x", false) {
			t.Error("gap with no meetings reported a change")
		}
	})
	t.Run("long gap marks meetings and participants uncertain", func(t *testing.T) {
		s := setup(t)
		if !s.MarkGap(from, to, "connection closed (1006)", false) {
			t.Fatal("long gap reported no change")
		}
		for _, k := range []string{mDocs.uuid, mReal.uuid} {
			m := s.Meetings[k]
			for _, want := range []string{from.Format("15:04:05"), to.Format("15:04:05"), "connection closed (1006)"} {
				if !strings.Contains(m.Uncertain, want) {
					t.Errorf("%s: reason %q lacks %q", k, m.Uncertain, want)
				}
			}
			for _, p := range m.Participants {
				eq(t, p.Name+" uncertain", p.Uncertain, true)
			}
		}
		eqSlice(t, "dirty", s.TakeDirty().Meetings, []string{mDocs.uuid, mReal.uuid})
		if s.MarkGap(from, to, "connection closed (1006)", false) {
			t.Error("marking the same gap again reported a change")
		}
	})
	t.Run("newer event clears the meeting, older does not", func(t *testing.T) {
		s := setup(t)
		s.MarkGap(from, to, "", false)
		s.Apply(bb.leave(mDocs, guest, 300)) // stamped inside the gap, delivered late
		m := mustMeeting(t, s, mDocs)
		if m.Uncertain == "" {
			t.Error("an event older than the gap end cleared the uncertainty")
		}
		s.Apply(bb.join(mDocs, jill, 401, joinTime(10))) // Zoom resends a join after the gap
		eq(t, "meeting uncertainty", m.Uncertain, "")
		eq(t, "jill uncertain", m.Participants[jill.key()].Uncertain, false)
		if mustMeeting(t, s, mReal).Uncertain == "" {
			t.Error("an event about another meeting cleared this one")
		}
		s.Apply(bb.join(mDocs, guest, 350)) // stamped inside the gap: guest is back, but for how long?
		eq(t, "guest uncertain", m.Participants[guest.key()].Uncertain, true)
	})
	t.Run("a meeting heard of after the gap is not marked", func(t *testing.T) {
		s := setup(t)
		s.Apply(bb.join(mReal, jan, 500))
		s.MarkGap(from, to, "", false)
		eq(t, "uncertain", mustMeeting(t, s, mReal).Uncertain, "")
		if mustMeeting(t, s, mDocs).Uncertain == "" {
			t.Error("meeting silent through the gap not marked")
		}
	})
}

func TestExpire(t *testing.T) {
	bb := b{t}
	s := New()
	applyAll(s,
		bb.start(mDocs, 0), bb.join(mDocs, jill, 10), // will be uncertain and silent
		bb.start(mUpd, 0),
		bb.end(genMeeting(1), 20),
		bb.rec("recording.completed", genMeeting(2), 30),
		bb.rec("recording.started", genMeeting(3), 40), // never heard of again
	)
	s.MarkGap(timeAt(100), timeAt(200), "", false)
	s.Apply(bb.join(mUpd, guest, 300))                          // mUpd heard of after the gap
	applyAll(s, bb.start(mReal, 250), bb.join(mReal, jan, 260)) // certain, then silent
	s.TakeDirty()

	if s.Expire(timeAt(300)) {
		t.Errorf("Expire soon after reported a change:\n%s", dump(t, s))
	}
	now := timeAt(10).Add(StaleAfter)
	if !s.Expire(now) {
		t.Fatal("Expire reported no change")
	}
	noMeeting(t, s, mDocs) // uncertain, silent 12h
	mustMeeting(t, s, mReal)
	mustMeeting(t, s, mUpd)
	d := s.TakeDirty()
	eqSlice(t, "dirty meetings", d.Meetings, []string{mDocs.uuid})

	now = timeAt(40).Add(RecordingKeep + time.Second)
	s.Expire(now)
	noMeeting(t, s, mReal) // silent longer than any meeting can last
	if len(s.Ended) != 0 || len(s.Recordings) != 0 {
		t.Errorf("tombstones or recordings kept past their time:\n%s", dump(t, s))
	}
	d = s.TakeDirty()
	eqSlice(t, "dirty ended", d.Ended, []string{genMeeting(1).uuid})
	eqSlice(t, "dirty recordings", d.Recordings, []string{genMeeting(2).uuid, genMeeting(3).uuid})
}

// A meeting whose event_ts lies far in the future is not silent: its silence, as a Duration,
// wrapped around and expired it at once (9e15 ms) or never (1e16).
func TestExpireFarFuture(t *testing.T) {
	bb := b{t}
	s := New()
	ev := bb.start(mDocs, 0)
	ev.TS = 9e15
	s.Apply(ev)
	if s.Expire(timeAt(300)); s.Meetings[mDocs.uuid] == nil {
		t.Error("a meeting dated 9e15 ms was expired as silent")
	}
}

func TestBounds(t *testing.T) {
	bb := b{t}
	t.Run("MaxSessions", func(t *testing.T) {
		s := New()
		s.Apply(bb.start(mDocs, 0))
		n := 2*MaxSessions + 20
		for i := 0; i < n; i++ {
			s.Apply(bb.join(mDocs, genPerson(i), 2*i+1))
			s.Apply(bb.leave(mDocs, genPerson(i), 2*i+2))
		}
		m := mustMeeting(t, s, mDocs)
		if l := len(m.Sessions); l < MaxSessions || l > MaxSessions+MaxSessions/4 {
			t.Errorf("%d sessions, want %d to %d", l, MaxSessions, MaxSessions+MaxSessions/4)
		}
		eq(t, "newest kept", m.Sessions[len(m.Sessions)-1].Join, timeAt(2*(n-1)+1))
		eq(t, "Joins", m.Joins, n)
		eq(t, "Peak", m.Peak, 1)
	})
	t.Run("MaxTombstones", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds 20k events")
		}
		s := New()
		n := MaxTombstones + 50
		e := bb.end(genMeeting(0), 0)
		for i := 0; i < n; i++ {
			// Vary the decoded event rather than re-marshal the sample 20k times.
			c := *e
			c.TS = feed.Millis(tsAt(i))
			c.Payload.Object.UUID = genMeeting(i).uuid
			s.Apply(&c)
		}
		if len(s.Ended) > MaxTombstones {
			t.Errorf("%d tombstones, max %d", len(s.Ended), MaxTombstones)
		}
		if _, ok := s.Ended[genMeeting(n-1).uuid]; !ok {
			t.Error("newest tombstone dropped")
		}
		if _, ok := s.Ended[genMeeting(0).uuid]; ok {
			t.Error("oldest tombstone kept")
		}
	})
	t.Run("MaxRecordings", func(t *testing.T) {
		s := New()
		n := MaxRecordings + 10
		for i := 0; i < n; i++ {
			s.Apply(bb.rec("recording.completed", genMeeting(i), i))
		}
		eq(t, "recordings", len(s.Recordings), MaxRecordings)
		if s.Recordings[genMeeting(n-1).uuid] == nil || s.Recordings[genMeeting(9).uuid] != nil || s.Recordings[genMeeting(10).uuid] == nil {
			t.Error("not the oldest recordings dropped")
		}
	})
}

func TestTakeDirty(t *testing.T) {
	bb := b{t}
	s := New()
	if d := s.TakeDirty(); !isClean(d) {
		t.Fatalf("new state dirty: %+v", d)
	}
	people := func(mk string, pks ...string) map[string][]string { return map[string][]string{mk: pks} }
	for _, c := range []struct {
		events []*feed.Event
		want   Dirty
	}{
		{[]*feed.Event{bb.start(mDocs, 0, hostID("abcD3ojfdbjfg")), bb.start(mReal, 1)}, Dirty{Meetings: []string{mDocs.uuid, mReal.uuid}}},
		// A join changes the meeting's counts and the participant's record.
		{[]*feed.Event{bb.join(mReal, jill, 5)}, Dirty{Meetings: []string{mReal.uuid}, People: people(mReal.uuid, jill.key())}},
		{[]*feed.Event{bb.join(mReal, jill, 5)}, Dirty{}},
		// A later duplicate join: the meeting's last event and the participant's.
		{[]*feed.Event{bb.join(mReal, jill, 6, joinTime(5))}, Dirty{Meetings: []string{mReal.uuid}, People: people(mReal.uuid, jill.key())}},
		{[]*feed.Event{build(t, "user.created", 6)}, Dirty{Users: []string{"abcD3ojfdbjfg"}}},
		{[]*feed.Event{bb.join(mReal, guest, 7), bb.leave(mReal, guest, 7)}, Dirty{Meetings: []string{mReal.uuid}, People: people(mReal.uuid, guest.key())}},
		{[]*feed.Event{bb.leave(mReal, jan, 7)}, Dirty{People: people(mReal.uuid, jan.key())}},
		{[]*feed.Event{bb.rec("recording.started", mReal, 8)}, Dirty{Meetings: []string{mReal.uuid}, Recordings: []string{mReal.uuid}}},
		{[]*feed.Event{bb.end(mReal, 9)}, Dirty{Meetings: []string{mReal.uuid}, Recordings: []string{mReal.uuid}, Ended: []string{mReal.uuid}, Gone: []string{mReal.uuid}}},
		{[]*feed.Event{bb.leave(mReal, jill, 10)}, Dirty{}},
		{[]*feed.Event{bb.rec("recording.completed", genMeeting(5), 11)}, Dirty{Recordings: []string{genMeeting(5).uuid}}},
		{[]*feed.Event{build(t, "meeting.created", 12), build(t, "meeting.deleted", 13)}, Dirty{}},
	} {
		applyAll(s, c.events...)
		got := s.TakeDirty()
		norm := func(d Dirty) Dirty {
			for _, p := range []*[]string{&d.Meetings, &d.Recordings, &d.Users, &d.Ended, &d.Gone} {
				if len(*p) == 0 {
					*p = nil
				}
			}
			if len(d.People) == 0 {
				d.People = nil
			}
			return d
		}
		if !reflect.DeepEqual(norm(got), c.want) {
			t.Errorf("after %s: dirty %+v, want %+v", c.events[0].Type, got, c.want)
		}
	}
}

// TestSnapshotIsIsolated: neither the state's changes reach a snapshot (or a meeting's
// detail), nor a viewer's changes to its maps and lists the state. Participants are shared,
// as the state never changes one in place.
func TestSnapshotIsIsolated(t *testing.T) {
	bb := b{t}
	s := New()
	applyAll(s, bb.start(mReal, 0), bb.join(mReal, jan, 1), bb.join(mReal, jill, 2), bb.leave(mReal, jill, 3),
		bb.start(mDocs, -60, without("start_time")), bb.join(mDocs, guest, 5),
		bb.rec("recording.completed", genMeeting(1), 10), bb.rec("recording.completed", genMeeting(2), 20))
	snap := s.Snapshot()
	frozen, _ := json.Marshal(snap)
	detail := s.MeetingDetail(mReal.uuid)
	frozenDetail, _ := json.Marshal(detail)
	if len(detail.Sessions) != 2 || len(snap.Meeting(mReal.uuid).Sessions) != 0 {
		t.Errorf("%d sessions in the detail (want 2), %d in the snapshot (want none)", len(detail.Sessions), len(snap.Meeting(mReal.uuid).Sessions))
	}
	if s.MeetingDetail("nope") != nil {
		t.Error("MeetingDetail of no meeting")
	}

	eq(t, "longest running first", snap.Meetings[0].Key, mDocs.uuid)
	eq(t, "most recently changed recording first", snap.Recordings[0].Key, genMeeting(2).uuid)
	if snap.Meeting(mReal.uuid) == nil || snap.Meeting("nope") != nil {
		t.Error("Snapshot.Meeting lookup")
	}

	// Change everything the snapshot holds, in place.
	applyAll(s, bb.join(mReal, jill, 4), bb.join(mReal, guest, 5), bb.join(mDocs, guest, 6), bb.leave(mReal, jan, 6),
		bb.updated(mReal, 7, "renamed"), bb.rec("recording.transcript_completed", genMeeting(1), 30))
	s.MarkGap(timeAt(100), timeAt(200), "x", false)
	s.Apply(bb.end(mDocs, 300))
	s.Expire(timeAt(0).Add(1000 * time.Hour))
	if now, _ := json.Marshal(snap); string(now) != string(frozen) {
		t.Errorf("snapshot changed with the state:\nwas %s\nnow %s", frozen, now)
	}
	if now, _ := json.Marshal(detail); string(now) != string(frozenDetail) {
		t.Errorf("meeting detail changed with the state:\nwas %s\nnow %s", frozenDetail, now)
	}

	// And the other way: a viewer scribbling on a snapshot does not reach the state.
	s2 := New()
	applyAll(s2, bb.start(mReal, 0), bb.join(mReal, jan, 1), bb.join(mReal, guest, 2), bb.leave(mReal, guest, 3),
		bb.rec("recording.completed", mReal, 9))
	before := dump(t, s2)
	sn := s2.Snapshot()
	sn.Meetings[0].Participants["someone"] = &Participant{Name: "x"}
	s2.MeetingDetail(sn.Meetings[0].Key).Sessions[0].Name = "x"
	s2.MeetingDetail(sn.Meetings[0].Key).Left["x"] = 1
	sn.Recordings[0].Files[0].Size = -1
	eq(t, "state after scribbling on a snapshot", dump(t, s2), before)
}

// TestSnapshotChain: snapshots built from changes leave out the copies of meetings that
// changed, moved (an earlier start learnt), ended or came back, and share the rest; one
// built from a snapshot that is not the last is still exact, even when what changed since
// is only an end.
func TestSnapshotChain(t *testing.T) {
	bb := b{t}
	s := New()
	var c Changes
	step := func(prev *Snapshot, evs ...*feed.Event) *Snapshot {
		t.Helper()
		applyAll(s, evs...)
		s.MoveDirty(&Unsaved{}, &c, len(evs))
		got := s.SnapshotSince(prev, &c)
		if want := s.Snapshot(); !reflect.DeepEqual(got, want) {
			t.Fatalf("snapshot from changes differs from a full one:\n%s\nwant\n%s", dumpSnap(t, got), dumpSnap(t, want))
		}
		return got
	}
	startAt := func(sec int) mod {
		return func(_, o map[string]any) { o["start_time"] = timeAt(sec).Format(time.RFC3339) }
	}
	m0, m1, m2 := genMeeting(0), genMeeting(1), genMeeting(2)
	first := step(nil, bb.start(m0, 0, startAt(0)), bb.join(m1, jill, 50), bb.start(m2, 100, startAt(100)))
	eq(t, "order", first.Meetings[1].Key, m1.uuid)
	// m1 was joined mid-meeting: its meeting.started, late, moves it first. m2 ends.
	second := step(first, bb.start(m1, -30, startAt(-30)), bb.end(m2, 120))
	eq(t, "moved first", second.Meetings[0].Key, m1.uuid)
	eq(t, "meetings", len(second.Meetings), 2)
	if second.Meeting(m0.uuid) != first.Meeting(m0.uuid) {
		t.Error("an unchanged meeting was copied again")
	}
	// m2 starts again, later; m0 changes in place.
	third := step(second, bb.start(m2, 200, startAt(200)), bb.join(m0, guest, 210))
	eq(t, "meetings", len(third.Meetings), 3)
	fourth := step(third, bb.join(m0, jan, 220))
	if fourth.Meeting(m1.uuid) != third.Meeting(m1.uuid) {
		t.Error("an unchanged meeting was copied again")
	}
	// From snapshots that are not the last: third lacks m0's newest copy, though what
	// changed since fourth (m1 ended) touches only a copy third shares with it; first
	// lacks even m0's copy in fourth.
	step(third, bb.end(m1, 230))
	step(first, bb.join(m0, jill, 240))
}

// TestSharedSessionsStayAsShared: sessions handed to a reader (a save encoded beside the
// writer) do not change while the writer goes on, whichever change comes first: a join
// that files a stay among earlier ones, a leave, a late join that completes a stay. Under
// -race, the reader's reads show any sharing of what the writer writes.
func TestSharedSessionsStayAsShared(t *testing.T) {
	bb := b{t}
	s := New()
	m0 := genMeeting(0)
	applyAll(s, bb.start(m0, 0), bb.leave(m0, guest, 30))
	for i := range 6 {
		s.Apply(bb.join(m0, genPerson(i), 1+2*i))
	}
	for _, c := range []struct {
		name string
		ev   *feed.Event
		more int // sessions the writer's meeting gains
	}{
		// First, while the sessions have room to grow in place (appended one by one).
		{"a join among earlier ones", bb.join(m0, genPerson(7), 41, joinTime(4)), 1},
		{"a leave", bb.leave(m0, genPerson(2), 40), 0},
		{"a late join completing a stay", bb.join(m0, guest, 25, joinTime(20)), 0},
	} {
		m := mustMeeting(t, s, m0)
		shared := m.ShareSessions()
		want := slices.Clone(shared)
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
					_ = shared[n%len(shared)].Leave.IsZero()
				}
			}
		}()
		changed := s.Apply(c.ev)
		close(stop)
		<-done
		if !changed {
			t.Fatalf("%s changed nothing", c.name)
		}
		if !slices.Equal(shared, want) {
			t.Errorf("%s changed the shared sessions:\n%v\nwant\n%v", c.name, shared, want)
		}
		if got := len(mustMeeting(t, s, m0).Sessions); got != len(want)+c.more {
			t.Errorf("after %s the meeting has %d sessions, want %d", c.name, got, len(want)+c.more)
		}
	}
}

// TestSnapshotConcurrentReaders runs viewers over published snapshots while the writer goes
// on applying events; under -race any sharing between a snapshot and the state shows.
func TestSnapshotConcurrentReaders(t *testing.T) {
	bb := b{t}
	var evs []*feed.Event
	for i := 0; i < 300; i++ {
		m, p := genMeeting(i%5), genPerson(i%17)
		evs = append(evs, bb.join(m, p, i))
		if i%3 == 0 {
			evs = append(evs, bb.leave(m, genPerson((i+5)%17), i))
		}
		if i%50 == 0 {
			evs = append(evs, bb.rec("recording.completed", m, i))
		}
	}
	s := New()
	var mu sync.Mutex
	snap := s.Snapshot()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				mu.Lock()
				sn := snap
				mu.Unlock()
				n := 0
				for _, m := range sn.Meetings {
					n += len(m.People()) + len(m.Sessions) + len(m.Left)
				}
				for _, r := range sn.Recordings {
					n += len(r.Files)
				}
				if _, err := json.Marshal(sn); err != nil || n < 0 {
					t.Error(err)
				}
			}
		}()
	}
	for i, e := range evs {
		mu.Lock()
		s.Apply(e)
		if i%7 == 0 {
			s.MarkGap(timeAt(i), timeAt(i+60), "x", false)
		}
		snap = s.Snapshot()
		mu.Unlock()
	}
	close(done)
	wg.Wait()
}

// TestPersistRoundTrip stores every meeting and recording as JSON, the way store/livepersist.go
// does, reloads them into a fresh state and checks that nothing was lost: the reloaded state
// equals the original and goes on to reduce the same later events identically.
func TestPersistRoundTrip(t *testing.T) {
	bb := b{t}
	s := New()
	applyAll(s,
		build(t, "user.created", -10),
		bb.start(mReal, 0), bb.join(mReal, jan, 1), bb.join(mReal, jill, 2), bb.leave(mReal, jill, 3),
		bb.join(mReal, jill, 4), bb.leave(mReal, guest, 5, reason("Reason: lost connection<br>")),
		bb.join(mDocs, jill, 6), bb.rec("recording.started", mDocs, 7),
		bb.end(genMeeting(1), 8),
		bb.rec("recording.completed", genMeeting(2), 9), bb.rec("recording.transcript_completed", genMeeting(2), 10),
	)
	s.MarkGap(timeAt(20), timeAt(100), "connection closed", false)
	s.Apply(bb.join(mReal, jan, 120)) // clears mReal's uncertainty, keeps UncertainUntil for participants

	r := New()
	for k, m := range s.Meetings {
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back Meeting
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		want := m.clone() // without the writer's private index
		want.Sessions, want.Left = m.Sessions, m.Left
		if !reflect.DeepEqual(&back, want) {
			t.Errorf("meeting %s changed in JSON:\n got %+v\nwant %+v", k, back, *m)
		}
		r.Meetings[k] = &back
	}
	for k, rec := range s.Recordings {
		raw, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var back Recording
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&back, rec) {
			t.Errorf("recording %s changed in JSON:\n got %+v\nwant %+v", k, back, *rec)
		}
		r.Recordings[k] = &back
	}
	for k, v := range s.Users {
		r.Users[k] = v
	}
	for k, v := range s.Ended {
		r.Ended[k] = v
	}
	r.NewestTS = s.NewestTS
	eq(t, "reloaded state", dump(t, r), dump(t, s))

	later := []*feed.Event{
		bb.leave(mReal, jill, 130), bb.join(mReal, jill, 3), bb.join(mDocs, guest, 140),
		bb.rec("recording.stopped", mDocs, 150), bb.end(mDocs, 160), bb.end(mReal, 170),
		bb.join(genMeeting(1), guest, 7), bb.rec("recording.completed", mDocs, 900),
	}
	for _, e := range later {
		if a, b := s.Apply(e), r.Apply(e); a != b {
			t.Errorf("%s: changed %v in the original, %v in the reloaded state", e.Type, a, b)
		}
	}
	eq(t, "after more events", dump(t, r), dump(t, s))
}

// checkInvariants holds after any sequence of events.
func checkInvariants(t *testing.T, s *State) {
	t.Helper()
	for k, m := range s.Meetings {
		if k != m.Key {
			t.Errorf("meeting filed under %q has key %q", k, m.Key)
		}
		if e, ok := s.Ended[k]; ok && e >= m.LastTS {
			t.Errorf("active meeting %s tombstoned at %d, not older than its last event %d", k, e, m.LastTS)
		}
		if m.Peak < len(m.Participants) {
			t.Errorf("%s: Peak %d < %d present", k, m.Peak, len(m.Participants))
		}
		if m.Joins < len(m.Participants) || m.Peak < 0 || m.Joins < 0 {
			t.Errorf("%s: Joins %d, Peak %d with %d present", k, m.Joins, m.Peak, len(m.Participants))
		}
		if len(m.Sessions) > MaxSessions+MaxSessions/4 {
			t.Errorf("%s: %d sessions", k, len(m.Sessions))
		}
		for pk, p := range m.Participants {
			if pk != p.Key || p.Rejoins < 0 {
				t.Errorf("%s: participant %q: %+v", k, pk, *p)
			}
			if l, ok := m.Left[pk]; ok && l >= p.LastTS {
				t.Errorf("%s: %s present but left at %d ≥ last join %d", k, pk, l, p.LastTS)
			}
		}
		// The store keeps sessions with their participant and reloads them grouped by key,
		// then stable-sorted by join-else-leave time (store/livepersist.go): that must give
		// back the same order.
		reloaded := slices.Clone(m.Sessions)
		slices.SortStableFunc(reloaded, func(a, b Session) int { return strings.Compare(a.Key, b.Key) })
		slices.SortStableFunc(reloaded, func(a, b Session) int {
			ta, tb := a.Join, b.Join
			if ta.IsZero() {
				ta = a.Leave
			}
			if tb.IsZero() {
				tb = b.Leave
			}
			return ta.Compare(tb)
		})
		if !slices.Equal(reloaded, m.Sessions) {
			t.Errorf("%s: sessions not in reload order: %v", k, sessions(m))
		}
		open := map[string]int{}
		for _, se := range m.Sessions {
			if se.Leave.IsZero() {
				open[se.Key]++
			} else if !se.Join.IsZero() && se.Leave.Before(se.Join) {
				t.Errorf("%s: session %+v leaves before it joins", k, se)
			}
		}
		for pk, n := range open {
			if n > 1 || m.Participants[pk] == nil {
				t.Errorf("%s: %d open sessions for %s (present %v)", k, n, pk, m.Participants[pk] != nil)
			}
		}
	}
	for k, r := range s.Recordings {
		if k != r.Key || r.TotalSize < 0 {
			t.Errorf("recording %q: %+v", k, *r)
		}
	}
	if len(s.Ended) > MaxTombstones || len(s.Recordings) > MaxRecordings {
		t.Errorf("bounds: %d tombstones, %d recordings", len(s.Ended), len(s.Recordings))
	}
}

// A panic in the reducer is contained to its event: Apply reports it (the first few, then a
// count) and the state goes on taking events.
func TestApplySurvivesAPanic(t *testing.T) {
	s := New()
	s.Users = nil // a user event now panics: a write to a nil map
	for i := range maxFaults + 5 {
		if !s.Apply(build(t, "user.created", i+1)) {
			t.Fatal("a failed event is not reported as a change")
		}
	}
	if len(s.Faults) != maxFaults || s.FaultsMore != 5 || s.Faults[0].Event.Type != "user.created" || s.Faults[0].Panic == "" {
		t.Errorf("faults %d (+%d more), first %+v", len(s.Faults), s.FaultsMore, s.Faults[0])
	}
	if !s.Apply(bb(t).start(mDocs, 60)) || s.Meetings[mDocs.uuid] == nil {
		t.Error("the state took no event after the failed ones")
	}
}
