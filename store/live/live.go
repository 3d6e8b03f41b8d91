// Package live derives what is happening now (active meetings with their participants,
// recordings and their readiness) from the event stream. State.Apply is a pure reducer over
// events in arrival order: it copes with partial knowledge (leaves for joins it never saw, a
// meeting.ended for a meeting it never saw start, rejoins, duplicates), with events that
// arrive late or out of order (an event_ts older than what it already holds never overrides
// newer knowledge), and with gaps (after a long blind spot, what it holds is marked uncertain
// rather than silently wrong).
package live

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"zoomwatch/feed"
)

// Tunables. Event time, not wall time, drives all of them so that replaying the same events
// gives the same state.
const (
	// UncertainAfter is the shortest gap after which active meetings are marked uncertain:
	// any gap may have swallowed a meeting.ended, and a meeting that missed one would stay
	// on screen unmarked for MaxSilence. Shorter gaps are reconnects within a second or two.
	UncertainAfter = 5 * time.Second
	// TombstoneTTL is how long an ended meeting is remembered, so that late events about it
	// do not bring it back.
	TombstoneTTL = 24 * time.Hour
	// MaxTombstones bounds the memory of ended meetings.
	MaxTombstones = 20000
	// RecordingKeep is how long a recording stays listed after its last change.
	RecordingKeep = 48 * time.Hour
	// MaxRecordings bounds the recordings list.
	MaxRecordings = 500
	// DownloadTokenTTL is how long a recording's download_token is valid (Zoom: 24 hours).
	DownloadTokenTTL = 24 * time.Hour
	// StaleAfter drops an uncertain meeting that nothing has been heard of for this long.
	StaleAfter = 12 * time.Hour
	// MaxSilence drops any meeting nothing has been heard of for this long: Zoom ends a
	// meeting after 30 hours, so its meeting.ended was lost.
	MaxSilence = 30 * time.Hour
	// MaxSessions bounds the join/leave sessions kept per meeting.
	MaxSessions = 500
)

// Meeting is an active meeting.
type Meeting struct {
	Key      string `json:"key"` // uuid, else numeric id
	ID       string `json:"id,omitempty"`
	UUID     string `json:"uuid,omitempty"`
	Topic    string `json:"topic,omitempty"`
	HostID   string `json:"host_id,omitempty"`
	HostName string `json:"host_name,omitempty"`
	Type     int    `json:"type,omitempty"`
	// Start is start_time from meeting.started; without it, the earliest start_time or event
	// time seen about the meeting.
	Start time.Time `json:"start"`
	// StartSeen is false when zoomwatch never saw meeting.started (joined mid-meeting, or the
	// start fell in a gap).
	StartSeen bool  `json:"start_seen"`
	LastTS    int64 `json:"last_ts"` // newest event_ts applied, ms

	// Participants are present now, by participant key. A Participant is never changed once
	// in the map (a change puts a new one there), so that snapshots can share them.
	Participants map[string]*Participant `json:"participants,omitempty"`
	// Left remembers when each participant last left (event_ts), so that a late join older
	// than the leave is not applied.
	Left map[string]int64 `json:"left,omitempty"`
	// Sessions is the join/leave history, oldest first (by join, else leave, then key: the
	// order the store reloads them in), bounded.
	Sessions []Session `json:"sessions,omitempty"`
	Peak     int       `json:"peak"`
	Joins    int       `json:"joins"`

	Recording bool `json:"recording,omitempty"`
	// Uncertain, when set, says why the meeting may not be as shown (a gap while it ran).
	// UncertainUntil is the end of the last such gap (ms): an event about the meeting newer
	// than it clears Uncertain, and a join newer than it clears the participant's.
	Uncertain      string `json:"uncertain,omitempty"`
	UncertainUntil int64  `json:"uncertain_until,omitempty"`

	stays map[string]int // sessions per participant key; see stayCount
	// shown is the copy of the meeting in the latest snapshot of the chain SnapshotSince
	// builds: the one the next snapshot leaves out when it copies the meeting again.
	shown *Meeting
	// sessionsShared says a reader holds Sessions (ShareSessions): they are copied before
	// the next change.
	sessionsShared bool
}

// ShareSessions returns m's sessions for a reader that keeps them while the writer goes on
// changing m (a save encoded beside the writer): rather than the reader copying every
// changed meeting's history at once, holding the state, the writer copies a meeting's
// history when it next changes it. The caller holds the state as the writer would.
func (m *Meeting) ShareSessions() []Session {
	m.sessionsShared = true
	return m.Sessions
}

// ownSessions gives m a copy of Sessions of its own before a change, if a reader shares
// them.
func (m *Meeting) ownSessions() {
	if m.sessionsShared {
		m.Sessions = slices.Clone(m.Sessions)
		m.sessionsShared = false
	}
}

// Participant is someone in a meeting now.
type Participant struct {
	Key       string    `json:"key"`
	Name      string    `json:"name"`
	Email     string    `json:"email,omitempty"`
	UserID    string    `json:"user_id,omitempty"` // Zoom user id of a signed-in participant
	Joined    time.Time `json:"joined"`
	LastTS    int64     `json:"last_ts"`
	Rejoins   int       `json:"rejoins,omitempty"`
	Uncertain bool      `json:"uncertain,omitempty"`
}

// Session is one stay of a participant in a meeting.
type Session struct {
	Key    string    `json:"key"`
	Name   string    `json:"name"`
	Join   time.Time `json:"join,omitzero"` // zero when the join was never seen
	Leave  time.Time `json:"leave,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// RecordingStatus is where a meeting's cloud recording stands.
type RecordingStatus string

const (
	RecInProgress RecordingStatus = "recording"
	RecPaused     RecordingStatus = "paused"
	RecProcessing RecordingStatus = "processing" // stopped, not yet completed
	RecCompleted  RecordingStatus = "completed"
)

// Recording is one meeting's recording as far as events told.
type Recording struct {
	Key       string          `json:"key"`
	MeetingID string          `json:"meeting_id,omitempty"`
	Topic     string          `json:"topic,omitempty"`
	HostID    string          `json:"host_id,omitempty"`
	Status    RecordingStatus `json:"status"`
	Started   time.Time       `json:"started,omitzero"`
	Stopped   time.Time       `json:"stopped,omitzero"`
	Completed time.Time       `json:"completed,omitzero"`
	// Transcript is when recording.transcript_completed arrived; zero when not yet.
	Transcript time.Time `json:"transcript,omitzero"`
	Files      []File    `json:"files,omitempty"`
	TotalSize  int64     `json:"total_size,omitempty"`
	Duration   int       `json:"duration_min,omitempty"`
	// DownloadExpires is when the newest download_token delivered with it stops working.
	DownloadExpires time.Time `json:"download_expires,omitzero"`
	LastTS          int64     `json:"last_ts"`
}

// File is one recording file.
type File struct {
	ID            string    `json:"id"`
	FileType      string    `json:"file_type"`
	Extension     string    `json:"ext,omitempty"`
	RecordingType string    `json:"recording_type,omitempty"`
	Size          int64     `json:"size"`
	Start         time.Time `json:"start,omitzero"`
	End           time.Time `json:"end,omitzero"`
}

// State is the whole derived state. The zero value is not ready: use New.
type State struct {
	Meetings   map[string]*Meeting
	Ended      map[string]int64 // meeting key → event_ts of its meeting.ended
	Recordings map[string]*Recording
	Users      map[string]string // user id → display name
	// NewestTS is the newest event_ts applied, ms: the reducer's notion of "now".
	NewestTS int64
	// Faults are events Apply failed on since the owner last took them (and cleared them),
	// the first maxFaults of them; FaultsMore counts the rest.
	Faults     []Fault
	FaultsMore int

	dirty dirtySet
	// byID finds active meetings by number (meeting.updated names a meeting by number
	// alone), byHost by host (a host's new name must reach their meetings' copies).
	byID, byHost keyIndex
}

// keyIndex finds active meetings by a value they share: value → meeting keys. Built on
// first use (see State.index); nil until then, and then kept in step by move.
type keyIndex map[string][]string

// index returns x, built from the active meetings with of when not yet built.
func (s *State) index(x *keyIndex, of func(*Meeting) string) keyIndex {
	if *x == nil {
		*x = keyIndex{}
		for k, m := range s.Meetings {
			x.move(k, "", of(m))
		}
	}
	return *x
}

func idOf(m *Meeting) string   { return m.ID }
func hostOf(m *Meeting) string { return m.HostID }

// move notes that meeting key's value changed from old to v ("" when it has none, or is
// gone).
func (x keyIndex) move(key, old, v string) {
	if x == nil || old == v {
		return
	}
	if old != "" {
		ks := slices.DeleteFunc(x[old], func(k string) bool { return k == key })
		if len(ks) == 0 {
			delete(x, old)
		} else {
			x[old] = ks
		}
	}
	if v != "" {
		x[v] = append(x[v], key)
	}
}

// meetingsByID returns the active meetings numbered id.
func (s *State) meetingsByID(id string) []*Meeting {
	var out []*Meeting
	for _, k := range s.index(&s.byID, idOf)[id] {
		if m := s.Meetings[k]; m != nil && m.ID == id {
			out = append(out, m)
		}
	}
	return out
}

// removeMeeting forgets an active meeting.
func (s *State) removeMeeting(key string) {
	if m := s.Meetings[key]; m != nil {
		s.byID.move(key, m.ID, "")
		s.byHost.move(key, m.HostID, "")
		delete(s.Meetings, key)
		s.dirty.gone[key] = true
		if m.shown != nil {
			s.dirty.unshown = append(s.dirty.unshown, m.shown)
		}
	}
}

type dirtySet struct {
	// meetings are meetings whose own fields (not their participants) changed, or that went.
	meetings, recordings, users, ended map[string]bool
	// people lists, per meeting key, the participants whose presence, leave or sessions
	// changed: the store persists each participant apart, so that a busy meeting does not
	// rewrite all its participants at every commit.
	people map[string]map[string]bool
	// gone are meetings removed, whether or not they came back since.
	gone map[string]bool
	// unshown are the snapshot copies of the meetings removed (see Meeting.shown), for
	// Changes alone.
	unshown []*Meeting
}

func (d *dirtySet) reset() {
	d.unshown = nil
	d.gone = map[string]bool{}
	d.people = map[string]map[string]bool{}
	d.meetings = map[string]bool{}
	d.recordings = map[string]bool{}
	d.users = map[string]bool{}
	d.ended = map[string]bool{}
}

// New returns an empty state.
func New() *State {
	s := &State{
		Meetings:   map[string]*Meeting{},
		Ended:      map[string]int64{},
		Recordings: map[string]*Recording{},
		Users:      map[string]string{},
	}
	s.dirty.reset()
	return s
}

// Apply folds one event into the state. It reports whether anything changed: a redelivered
// event, or one older than what it would change, changes nothing.
//
// A panic in the reducer (a bug, met by an event no test had) does not end the monitor that
// stores the event all the same: the event is left out, whatever it half changed stays, and
// Faults says so (reported as changed, so that what it did is shown and saved).
func (s *State) Apply(ev *feed.Event) (changed bool) {
	defer func() {
		if r := recover(); r != nil {
			if len(s.Faults) < maxFaults {
				s.Faults = append(s.Faults, Fault{Event: ev, Panic: fmt.Sprint(r)})
			} else {
				s.FaultsMore++
			}
			changed = true
		}
	}()
	return s.apply(ev)
}

// maxFaults bounds the faults kept between two looks (a replay may apply many events).
const maxFaults = 20

// Fault is an event the reducer failed on.
type Fault struct {
	Event *feed.Event
	Panic string
}

func (s *State) apply(ev *feed.Event) bool {
	if ts := int64(ev.TS); ts > s.NewestTS {
		s.NewestTS = ts
	}
	switch ev.Type {
	case "meeting.started", "webinar.started":
		return s.started(ev)
	case "meeting.ended", "webinar.ended":
		return s.ended(ev)
	case "meeting.participant_joined", "webinar.participant_joined":
		return s.joined(ev)
	case "meeting.participant_left", "webinar.participant_left":
		return s.left(ev)
	case "recording.started", "recording.resumed":
		return s.recordingState(ev, RecInProgress)
	case "recording.paused":
		return s.recordingState(ev, RecPaused)
	case "recording.stopped":
		return s.recordingState(ev, RecProcessing)
	case "recording.completed":
		return s.recordingDone(ev, false)
	case "recording.transcript_completed":
		return s.recordingDone(ev, true)
	case "meeting.updated":
		return s.updated(ev)
	case "user.created", "user.updated":
		return s.user(ev)
	}
	return false
}

// evTime is event_ts as a time, zero when the event carried none. UTC, like the payload's
// times, so that the state reads back from JSON identical.
func evTime(ev *feed.Event) time.Time { return ev.Time().UTC() }

// touch marks a participant of a meeting as changed.
func (s *State) touch(m *Meeting, pk string) {
	ps := s.dirty.people[m.Key]
	if ps == nil {
		ps = map[string]bool{}
		s.dirty.people[m.Key] = ps
	}
	ps[pk] = true
}

// meetingChanged marks m's own fields for persisting when changed, and passes changed on.
func (s *State) meetingChanged(m *Meeting, changed bool) bool {
	if changed {
		s.dirty.meetings[m.Key] = true
	}
	return changed
}

// meeting returns the active meeting an event is about with what the event says about it
// filled in, and whether that changed its own fields. With create, a meeting not yet known
// is added (partial when the event is not its start). nil for an event not newer than the
// meeting's end.
//
// Later events do not bring an ended meeting back either: Zoom stamps the leaves of the
// people still there after meeting.ended. Only a newer meeting.started does (a restart under
// the same key).
func (s *State) meeting(ev *feed.Event, create bool) (*Meeting, bool) {
	key := ev.MeetingKey()
	if key == "" {
		return nil, false
	}
	end, ended := s.Ended[key]
	if ended && int64(ev.TS) <= end {
		return nil, false
	}
	m, created := s.Meetings[key], false
	if m == nil {
		if !create || ended && !strings.HasSuffix(ev.Type, ".started") {
			return nil, false
		}
		m, created = &Meeting{Key: key, Start: evTime(ev)}, true
		if r := s.Recordings[key]; r != nil {
			m.Recording = r.Status == RecInProgress // its recording.started came first
		}
		s.Meetings[key] = m
	}
	return m, s.fill(m, ev) || created
}

// fill copies what the event says about the meeting into m, never older over newer, and
// reports whether anything changed. Of events with the same event_ts the first applied
// wins, so that applying them again changes nothing.
func (s *State) fill(m *Meeting, ev *feed.Event) bool {
	o := &ev.Payload.Object
	ts := int64(ev.TS)
	newer := ts > m.LastTS
	changed := false
	set := func(dst *string, v string) {
		if v != "" && v != *dst && (newer || *dst == "") {
			*dst, changed = v, true
		}
	}
	host, id := m.HostID, m.ID
	set(&m.UUID, o.UUID)
	set(&m.ID, string(o.ID))
	s.byID.move(m.Key, id, m.ID)
	set(&m.Topic, o.Topic)
	set(&m.HostID, o.HostID)
	if m.HostID != host {
		m.HostName = "" // the previous host's
		s.byHost.move(m.Key, host, m.HostID)
	}
	if name := s.Users[m.HostID]; name != "" && name != m.HostName {
		m.HostName, changed = name, true
	}
	if t, err := strconv.Atoi(string(o.Type)); err == nil && t != m.Type && (newer || m.Type == 0) {
		m.Type, changed = t, true
	}
	if !m.StartSeen {
		// Without its meeting.started, a meeting began no later than anything said of it.
		st, ok := parseTime(o.StartTime)
		if !ok {
			st = evTime(ev)
		}
		if !st.IsZero() && (m.Start.IsZero() || st.Before(m.Start)) {
			m.Start, changed = st, true
		}
	}
	if ts > m.LastTS {
		m.LastTS, changed = ts, true
	}
	if m.Uncertain != "" && ts > m.UncertainUntil {
		m.Uncertain, changed = "", true
	}
	return changed
}

func (s *State) started(ev *feed.Event) bool {
	m, changed := s.meeting(ev, true)
	if m == nil {
		return false
	}
	start, ok := parseTime(ev.Payload.Object.StartTime)
	if !ok {
		start = evTime(ev)
	}
	if !m.StartSeen {
		m.StartSeen, changed = true, true
	}
	if !start.IsZero() && !start.Equal(m.Start) {
		m.Start, changed = start, true
	}
	return s.meetingChanged(m, changed)
}

func (s *State) ended(ev *feed.Event) bool {
	key, ts := ev.MeetingKey(), int64(ev.TS)
	if key == "" {
		return false
	}
	if end, ok := s.Ended[key]; ok && end >= ts {
		return false
	}
	s.Ended[key] = ts
	s.dirty.ended[key] = true
	if _, ok := s.Meetings[key]; ok {
		s.removeMeeting(key)
		s.dirty.meetings[key] = true
	}
	// The recording stops with the meeting, whether or not its recording.stopped arrives.
	if r := s.Recordings[key]; r != nil && (r.Status == RecInProgress || r.Status == RecPaused) && r.LastTS <= ts {
		r.Status, r.Stopped = RecProcessing, evTime(ev)
		s.dirty.recordings[key] = true
	}
	s.boundTombstones()
	return true
}

func (s *State) joined(ev *feed.Event) bool {
	p, pk := ev.Payload.Object.Participant, ev.ParticipantKey()
	if p == nil || pk == "" {
		return false
	}
	m, changed := s.meeting(ev, true)
	if m == nil {
		return false
	}
	ts := int64(ev.TS)
	joined := evTime(ev)
	if t, ok := parseTime(p.JoinTime); ok {
		joined = t
	}
	if left, ok := m.Left[pk]; ok && left >= ts {
		// Older than a leave already applied: not presence, but maybe the start of a stay
		// whose leave came first.
		if s.completeSession(m, pk, joined) {
			m.Joins++
			return s.meetingChanged(m, true)
		}
		return s.meetingChanged(m, changed)
	}
	if cur := m.Participants[pk]; cur != nil {
		// Joined again without a leave in between (a redelivery, or a leave missed or still
		// to come): one presence. A join newer than the last gap confirms it.
		if ts <= cur.LastTS {
			return s.meetingChanged(m, changed)
		}
		np := *cur // never changed in place: snapshots share them
		np.LastTS = ts
		np.Uncertain = cur.Uncertain && ts <= m.UncertainUntil
		m.Participants[pk] = &np
		s.touch(m, pk)
		s.meetingChanged(m, changed)
		return true
	}
	if m.Participants == nil {
		m.Participants = map[string]*Participant{}
	}
	np := &Participant{Key: pk, Name: p.UserName, Email: p.Email, UserID: cmp.Or(p.ID, p.ParticipantUserID),
		Joined: joined, LastTS: ts,
		// Seen in an event from before the last gap ended: they may have left unseen.
		Uncertain: ts <= m.UncertainUntil}
	if _, before := m.Left[pk]; before {
		np.Rejoins = m.stayCount(pk)
	}
	m.Participants[pk] = np
	m.Joins++
	m.Peak = max(m.Peak, len(m.Participants))
	s.addSession(m, Session{Key: pk, Name: p.UserName, Join: joined})
	if np.UserID != "" && np.UserID == m.HostID && p.UserName != "" && m.HostName == "" {
		m.HostName = p.UserName
	}
	return s.meetingChanged(m, true)
}

func (s *State) left(ev *feed.Event) bool {
	p, pk := ev.Payload.Object.Participant, ev.ParticipantKey()
	if p == nil || pk == "" {
		return false
	}
	m, changed := s.meeting(ev, true)
	if m == nil {
		return false
	}
	ts := int64(ev.TS)
	cur := m.Participants[pk]
	if prev, ok := m.Left[pk]; ok && prev >= ts || cur != nil && cur.LastTS > ts {
		// A redelivery, a leave older than one applied, or one from before a rejoin.
		return s.meetingChanged(m, changed)
	}
	if m.Left == nil {
		m.Left = map[string]int64{}
	}
	m.Left[pk] = ts
	s.touch(m, pk)
	leave := evTime(ev)
	if t, ok := parseTime(p.LeaveTime); ok {
		leave = t
	}
	reason := feed.CleanReason(p.LeaveReason)
	if cur != nil {
		delete(m.Participants, pk)
		closeSession(m, pk, leave, reason)
	} else {
		// A leave for a join we never saw: the stay, with an unknown start.
		s.addSession(m, Session{Key: pk, Name: p.UserName, Leave: leave, Reason: reason})
	}
	s.meetingChanged(m, changed)
	return true
}

func closeSession(m *Meeting, pk string, leave time.Time, reason string) {
	m.ownSessions()
	for i := len(m.Sessions) - 1; i >= 0; i-- {
		if se := &m.Sessions[i]; se.Key == pk && se.Leave.IsZero() {
			se.Leave, se.Reason = leave, reason
			return
		}
	}
}

// completeSession gives a late join to the stay it began: pk's first stay to end after
// joined, when its join is unknown (otherwise the join is a redelivery, or its stay was
// lost). It reports whether there was one.
func (s *State) completeSession(m *Meeting, pk string, joined time.Time) bool {
	best := -1
	for i, se := range m.Sessions {
		if se.Key == pk && !se.Leave.IsZero() && !se.Leave.Before(joined) &&
			(best < 0 || se.Leave.Before(m.Sessions[best].Leave)) {
			best = i
		}
	}
	if best < 0 || !m.Sessions[best].Join.IsZero() {
		return false
	}
	se := m.Sessions[best]
	se.Join = joined
	m.ownSessions()
	m.Sessions = slices.Delete(m.Sessions, best, best+1)
	m.countStay(pk, -1)
	s.addSession(m, se) // it sorts by its join now
	return true
}

// addSession files a stay in order, and forgets the oldest beyond MaxSessions a quarter at
// a time, so that a busy meeting does not copy its whole history at every join.
func (s *State) addSession(m *Meeting, se Session) {
	m.ownSessions()
	i := len(m.Sessions)
	for i > 0 && sessionLess(se, m.Sessions[i-1]) {
		i--
	}
	m.Sessions = slices.Insert(m.Sessions, i, se)
	m.countStay(se.Key, 1)
	s.touch(m, se.Key)
	if len(m.Sessions) > MaxSessions+MaxSessions/4 {
		drop := len(m.Sessions) - MaxSessions
		for _, old := range m.Sessions[:drop] {
			s.touch(m, old.Key) // the store keeps sessions with their participant
			m.countStay(old.Key, -1)
		}
		m.Sessions = append(m.Sessions[:0:0], m.Sessions[drop:]...)
	}
}

// stayCount is how many of the kept sessions are pk's, from an index built on first use
// (a busy meeting's rejoins must not scan its whole history).
func (m *Meeting) stayCount(pk string) int {
	if m.stays == nil {
		m.stays = make(map[string]int, len(m.Sessions))
		for _, se := range m.Sessions {
			m.stays[se.Key]++
		}
	}
	return m.stays[pk]
}

// countStay keeps the stays index, once built, in step with Sessions.
func (m *Meeting) countStay(pk string, d int) {
	if m.stays == nil {
		return
	}
	if m.stays[pk] += d; m.stays[pk] <= 0 {
		delete(m.stays, pk)
	}
}

// sessionLess orders stays by join (else leave) time, then participant key.
func sessionLess(a, b Session) bool {
	ta, tb := a.Join, b.Join
	if ta.IsZero() {
		ta = a.Leave
	}
	if tb.IsZero() {
		tb = b.Leave
	}
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.Key < b.Key
}

func (s *State) updated(ev *feed.Event) bool {
	o, ts := &ev.Payload.Object, int64(ev.TS)
	if o.Topic == "" {
		return false
	}
	// meeting.updated names the meeting by number (the uuid is optional); rename any running
	// occurrence.
	changed := false
	var named []*Meeting
	switch {
	case o.ID != "":
		named = s.meetingsByID(string(o.ID))
		if m := s.Meetings[o.UUID]; o.UUID != "" && m != nil && m.ID != string(o.ID) {
			named = append(named, m) // keyed by its uuid, and not already found by its number
		}
	case o.UUID != "": // rare: look at every meeting, as one keyed by number may have it
		for _, m := range s.Meetings {
			if m.UUID == o.UUID {
				named = append(named, m)
			}
		}
	}
	for _, m := range named {
		if ts >= m.LastTS && m.Topic != o.Topic {
			m.Topic, m.LastTS = o.Topic, ts
			changed = s.meetingChanged(m, true)
		}
	}
	return changed
}

func (s *State) user(ev *feed.Event) bool {
	o := &ev.Payload.Object
	id := string(o.ID)
	// Not o.UserName(): user.updated carries only the fields that changed, and its fallbacks
	// (email, id) must not replace a known name.
	name := cmp.Or(o.DisplayName, strings.TrimSpace(o.FirstName+" "+o.LastName))
	if name == "" && s.Users[id] == "" {
		name = o.Email
	}
	if id == "" || name == "" || s.Users[id] == name {
		return false
	}
	s.Users[id] = name
	s.dirty.users[id] = true
	// Meetings pick the name up with their next event, and snapshots resolve it at once:
	// no walk over every active meeting here.
	return true
}

// recording returns the recording an event is about, adding it when new, with the event's
// meeting details filled in.
func (s *State) recording(ev *feed.Event) *Recording {
	key := ev.MeetingKey()
	r := s.Recordings[key]
	if r == nil {
		r = &Recording{Key: key}
		s.Recordings[key] = r
	}
	o := &ev.Payload.Object
	r.Topic = cmp.Or(o.Topic, r.Topic)
	r.MeetingID = cmp.Or(string(o.ID), r.MeetingID)
	r.HostID = cmp.Or(o.HostID, r.HostID)
	return r
}

func (s *State) recordingState(ev *feed.Event, st RecordingStatus) bool {
	key, ts := ev.MeetingKey(), int64(ev.TS)
	if key == "" {
		return false
	}
	if r := s.Recordings[key]; r != nil && (r.LastTS > ts || r.LastTS == ts && r.Status == st || r.Status == RecCompleted) {
		return false // stale or redelivered; and a late start or stop must not undo a completion
	}
	if end, ok := s.Ended[key]; ok && end >= ts && st != RecProcessing {
		return false // the meeting's end has stopped it since
	}
	r := s.recording(ev)
	r.Status, r.LastTS = st, ts
	switch st {
	case RecInProgress:
		if r.Started.IsZero() {
			r.Started = evTime(ev)
		}
	case RecProcessing:
		r.Stopped = evTime(ev)
	}
	s.dirty.recordings[key] = true
	// Recording events do not create meetings: recording.stopped often follows meeting.ended.
	if m, changed := s.meeting(ev, false); m != nil {
		if m.Recording != (st == RecInProgress) {
			m.Recording, changed = st == RecInProgress, true
		}
		s.meetingChanged(m, changed)
	}
	s.boundRecordings()
	return true
}

func (s *State) recordingDone(ev *feed.Event, transcript bool) bool {
	key := ev.MeetingKey()
	if key == "" {
		return false
	}
	var before Recording
	old := s.Recordings[key]
	if old != nil {
		before = *old
		before.Files = slices.Clone(old.Files)
	}
	r := s.recording(ev)
	o, ts, t := &ev.Payload.Object, int64(ev.TS), evTime(ev)
	newer := ts >= r.LastTS
	r.LastTS = max(r.LastTS, ts)
	r.Status = RecCompleted // a transcript, too, exists only once the recording is processed
	if transcript {
		if t.After(r.Transcript) {
			r.Transcript = t
		}
	} else if !t.Before(r.Completed) { // the newest completion wins: recordings get reprocessed
		r.Completed = t
		if n, err := strconv.ParseInt(string(o.TotalSize), 10, 64); err == nil {
			r.TotalSize = n
		}
		if n, err := strconv.Atoi(string(o.Duration)); err == nil {
			r.Duration = n
		}
	}
	if ev.DownloadToken != "" && !t.IsZero() {
		if exp := t.Add(DownloadTokenTTL); exp.After(r.DownloadExpires) {
			r.DownloadExpires = exp
		}
	}
	for _, f := range o.RecordingFiles {
		r.addFile(f, newer)
	}
	for _, f := range o.ParticipantAudioFiles {
		r.addFile(f, newer)
	}
	changed := old == nil || !reflect.DeepEqual(&before, r)
	if changed {
		s.dirty.recordings[key] = true
	}
	if m := s.Meetings[key]; m != nil && !transcript && m.Recording {
		m.Recording = false
		changed = s.meetingChanged(m, true)
	}
	s.boundRecordings()
	return changed
}

// addFile adds f, or with replace updates the file already listed under its id.
func (r *Recording) addFile(f feed.RecordingFile, replace bool) {
	nf := File{ID: f.ID, FileType: f.FileType, Extension: f.FileExtension, RecordingType: f.RecordingType}
	nf.Size, _ = strconv.ParseInt(string(f.FileSize), 10, 64)
	nf.Start, _ = parseTime(f.RecordingStart)
	nf.End, _ = parseTime(f.RecordingEnd)
	i := slices.IndexFunc(r.Files, func(x File) bool { return x.ID == nf.ID && (nf.ID != "" || x == nf) })
	switch {
	case i < 0:
		r.Files = append(r.Files, nf)
	case replace:
		r.Files[i] = nf
	}
}

// MarkGap records that nothing was received between from and to. After a long gap every
// active meeting and participant may have changed unseen: they are marked uncertain until
// an event newer than the gap about them arrives. A gap across a restart (zoomwatch was
// not running) does so whatever its length: restarts are rare and chosen, so the marks
// are no noise, and after one the meetings of before may never be heard of again.
func (s *State) MarkGap(from, to time.Time, reason string, restart bool) bool {
	if to.Sub(from) < UncertainAfter && !restart {
		return false
	}
	why := "not receiving " + from.Format("15:04:05") + "–" + to.Format("15:04:05")
	if reason != "" {
		why += " (" + reason + ")"
	}
	until := to.UnixMilli()
	changed := false
	for _, m := range s.Meetings {
		if m.LastTS > until {
			continue // heard of since the gap
		}
		if m.Uncertain != why || m.UncertainUntil != until {
			m.Uncertain, m.UncertainUntil = why, until
			changed = s.meetingChanged(m, true)
		}
		for pk, p := range m.Participants {
			if !p.Uncertain {
				np := *p // never changed in place: snapshots share them
				np.Uncertain, changed = true, true
				m.Participants[pk] = &np
				s.touch(m, pk)
			}
		}
	}
	return changed
}

// Expire forgets what has gone stale by now: meetings silent for MaxSilence (uncertain ones
// for StaleAfter), tombstones and recordings past their keep time.
func (s *State) Expire(now time.Time) bool {
	n := now.UnixMilli()
	changed := false
	for k, m := range s.Meetings {
		// In milliseconds: as a Duration, an event_ts far in the future wrapped around.
		silent := n - m.LastTS
		if silent >= MaxSilence.Milliseconds() || m.Uncertain != "" && silent >= StaleAfter.Milliseconds() {
			s.removeMeeting(k)
			changed = s.meetingChanged(m, true)
		}
	}
	for k, ts := range s.Ended {
		if ts < n-TombstoneTTL.Milliseconds() {
			delete(s.Ended, k)
			s.dirty.ended[k], changed = true, true
		}
	}
	for k, r := range s.Recordings {
		if r.LastTS < n-RecordingKeep.Milliseconds() {
			delete(s.Recordings, k)
			s.dirty.recordings[k], changed = true, true
		}
	}
	return changed
}

// boundTombstones forgets the oldest tombstones beyond MaxTombstones, a tenth at a time so
// that a busy account does not sort them all at every meeting.ended.
func (s *State) boundTombstones() {
	if len(s.Ended) <= MaxTombstones {
		return
	}
	keys := slices.SortedFunc(maps.Keys(s.Ended), func(a, b string) int {
		return cmp.Or(cmp.Compare(s.Ended[a], s.Ended[b]), strings.Compare(a, b))
	})
	for _, k := range keys[:len(keys)-MaxTombstones+MaxTombstones/10] {
		delete(s.Ended, k)
		s.dirty.ended[k] = true
	}
}

// boundRecordings forgets the least recently changed recordings beyond MaxRecordings.
func (s *State) boundRecordings() {
	if len(s.Recordings) <= MaxRecordings {
		return
	}
	if len(s.Recordings) == MaxRecordings+1 { // one was added: find the oldest, no sort
		// The values in hand, not looked up again: this runs at every new recording.
		var oldest string
		var oldestTS int64
		for k, r := range s.Recordings {
			if oldest == "" || cmp.Or(cmp.Compare(r.LastTS, oldestTS), strings.Compare(k, oldest)) < 0 {
				oldest, oldestTS = k, r.LastTS
			}
		}
		delete(s.Recordings, oldest)
		s.dirty.recordings[oldest] = true
		return
	}
	older := func(a, b string) int {
		return cmp.Or(cmp.Compare(s.Recordings[a].LastTS, s.Recordings[b].LastTS), strings.Compare(a, b))
	}
	keys := slices.SortedFunc(maps.Keys(s.Recordings), older)
	for _, k := range keys[:len(keys)-MaxRecordings] {
		delete(s.Recordings, k)
		s.dirty.recordings[k] = true
	}
}

// Dirty lists what changed since the last TakeDirty, for persisting only that.
type Dirty struct {
	// Meetings are meetings whose own fields changed, or that are gone (with their people).
	Meetings, Recordings, Users, Ended []string
	// Gone are meetings that were removed (with their people), even if a later event in
	// the same batch made them active again: their records are deleted before any put.
	Gone []string
	// People maps a meeting key to its changed participants' keys: their presence, last
	// leave or sessions.
	People map[string][]string
}

// TakeDirty returns and clears the set of changed keys.
func (s *State) TakeDirty() Dirty {
	d := s.dirty.list(true)
	s.dirty.reset()
	return d
}

// list is the set as a Dirty, its lists sorted or in no particular order.
func (d *dirtySet) list(sorted bool) Dirty {
	keys := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		if sorted {
			sort.Strings(out)
		}
		return out
	}
	out := Dirty{Meetings: keys(d.meetings), Recordings: keys(d.recordings), Users: keys(d.users),
		Ended: keys(d.ended), Gone: keys(d.gone)}
	if len(d.people) > 0 {
		out.People = make(map[string][]string, len(d.people))
		for mk, ps := range d.people {
			out.People[mk] = keys(ps)
		}
	}
	return out
}

// MoveDirty moves what changed since it was last called (or TakeDirty) into u, for the
// next save, and c (if any), for the next snapshot, as the store does at every commit:
// without building the lists of TakeDirty, which only a save needs.
func (s *State) MoveDirty(u *Unsaved, c *Changes, events int) {
	d := &s.dirty
	if c != nil {
		c.add(d)
	}
	d.unshown = nil // only snapshots need them
	u.events += events
	if u.set.empty() {
		u.set = *d
	} else {
		u.set.merge(d)
	}
	d.reset()
}

func (d *dirtySet) empty() bool {
	return len(d.meetings)+len(d.recordings)+len(d.users)+len(d.ended)+len(d.gone)+len(d.people) == 0
}

// merge adds o to the set.
func (d *dirtySet) merge(o *dirtySet) {
	for _, f := range []struct{ from, to map[string]bool }{
		{o.meetings, d.meetings}, {o.recordings, d.recordings}, {o.users, d.users}, {o.ended, d.ended}, {o.gone, d.gone}} {
		for k := range f.from {
			f.to[k] = true
		}
	}
	for mk, pks := range o.people {
		ps := d.people[mk]
		if ps == nil {
			d.people[mk] = pks // o's maps are the caller's to give
			continue
		}
		for pk := range pks {
			ps[pk] = true
		}
	}
}

// Unsaved gathers what changed since the state was last persisted, over many commits
// (MoveDirty): the store saves the state every few seconds, not at every commit.
type Unsaved struct {
	set    dirtySet
	events int
}

// Events is how many events were applied since the last Take.
func (u *Unsaved) Events() int { return u.events }

// Empty reports whether nothing was noted since the last Take.
func (u *Unsaved) Empty() bool { return u.events == 0 && u.set.empty() }

// Take returns everything noted, in no particular order (a save writes its records in key
// order anyway, and the store holds the state while it takes them), and starts over.
func (u *Unsaved) Take() Dirty {
	d := u.set.list(false)
	*u = Unsaved{}
	return d
}

// parseTime reads an ISO-8601 time from a payload, in UTC.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
