// Package live derives what is happening now (active meetings with their participants,
// recordings and their readiness) from the event stream. State.Apply is a pure reducer over
// events in arrival order: it copes with partial knowledge (leaves for joins it never saw, a
// meeting.ended for a meeting it never saw start, rejoins, duplicates), with events that
// arrive late or out of order (an event_ts older than what it already holds never overrides
// newer knowledge), and with gaps (after a long blind spot, what it holds is marked uncertain
// rather than silently wrong).
package live

import (
	"sort"
	"strconv"
	"time"

	"zoomwatch/feed"
)

// Tunables. Event time, not wall time, drives all of them so that replaying the same events
// gives the same state.
const (
	// UncertainAfter is the shortest gap after which active meetings are marked uncertain.
	UncertainAfter = 30 * time.Second
	// TombstoneTTL is how long an ended meeting or a left participant is remembered, so that
	// late events about it do not bring it back.
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
	// Start is start_time when known, else the time of the first event seen about it.
	Start time.Time `json:"start"`
	// StartSeen is false when zoomwatch never saw meeting.started (joined mid-meeting, or the
	// start fell in a gap).
	StartSeen bool  `json:"start_seen"`
	LastTS    int64 `json:"last_ts"` // newest event_ts applied, ms

	Participants map[string]*Participant `json:"participants,omitempty"` // present now, by participant key
	// Left remembers when each participant last left (event_ts), so that a late join older
	// than the leave is not applied.
	Left     map[string]int64 `json:"left,omitempty"`
	Sessions []Session        `json:"sessions,omitempty"` // join/leave history, oldest first, bounded
	Peak     int              `json:"peak"`
	Joins    int              `json:"joins"`

	Recording bool `json:"recording,omitempty"`
	// Uncertain, when set, says why the meeting may not be as shown (a gap while it ran).
	// Any event about the meeting newer than UncertainUntil (the gap's end, ms) clears it.
	Uncertain      string `json:"uncertain,omitempty"`
	UncertainUntil int64  `json:"uncertain_until,omitempty"`
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
	// DownloadExpires is when the download_token delivered with the completion stops working.
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

	dirty dirtySet
}

type dirtySet struct {
	meetings, recordings, users, ended map[string]bool
	// people lists, per meeting key, the participants whose presence, leave or sessions
	// changed: the store persists each participant apart, so that a busy meeting does not
	// rewrite all its participants at every commit.
	people map[string]map[string]bool
}

func (d *dirtySet) reset() {
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

// Apply folds one event into the state. It reports whether anything changed.
func (s *State) Apply(ev *feed.Event) bool {
	ts := int64(ev.TS)
	if ts > s.NewestTS {
		s.NewestTS = ts
	}
	o := &ev.Payload.Object
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
		name := o.UserName()
		if o.ID == "" || name == "" || s.Users[string(o.ID)] == name {
			return false
		}
		s.Users[string(o.ID)] = name
		s.dirty.users[string(o.ID)] = true
		s.renameHost(string(o.ID), name)
		return true
	}
	return false
}

// touch marks a participant of a meeting as changed.
func (s *State) touch(m *Meeting, pk string) {
	ps := s.dirty.people[m.Key]
	if ps == nil {
		ps = map[string]bool{}
		s.dirty.people[m.Key] = ps
	}
	ps[pk] = true
}

// isEnded reports whether the meeting ended at or after ts (so an event at ts is late).
func (s *State) isEnded(key string, ts int64) bool {
	e, ok := s.Ended[key]
	return ok && e >= ts
}

// meeting returns the active meeting an event is about, creating a partial one when the event
// shows it is running. nil when the event is about a meeting that has already ended.
func (s *State) meeting(ev *feed.Event) *Meeting {
	key := ev.MeetingKey()
	if key == "" || s.isEnded(key, int64(ev.TS)) {
		return nil
	}
	m := s.Meetings[key]
	if m == nil {
		m = &Meeting{Key: key, Start: ev.Time()}
		s.Meetings[key] = m
	}
	s.fill(m, ev)
	return m
}

// fill copies what the event says about the meeting into m, never older over newer.
func (s *State) fill(m *Meeting, ev *feed.Event) {
	o := &ev.Payload.Object
	ts := int64(ev.TS)
	newer := ts >= m.LastTS
	set := func(dst *string, v string) {
		if v != "" && (newer || *dst == "") {
			*dst = v
		}
	}
	set(&m.UUID, o.UUID)
	set(&m.ID, string(o.ID))
	set(&m.Topic, o.Topic)
	set(&m.HostID, o.HostID)
	if t, err := strconv.Atoi(string(o.Type)); err == nil && (newer || m.Type == 0) {
		m.Type = t
	}
	if st, ok := parseTime(o.StartTime); ok && (ev.Type == "meeting.started" || !m.StartSeen) {
		m.Start = st
	}
	if m.HostName == "" && m.HostID != "" {
		m.HostName = s.Users[m.HostID]
	}
	if newer {
		m.LastTS = ts
	}
	if m.Uncertain != "" && ts > m.UncertainUntil {
		m.Uncertain, m.UncertainUntil = "", 0
	}
	s.dirty.meetings[m.Key] = true
}

func (s *State) started(ev *feed.Event) bool {
	m := s.meeting(ev)
	if m == nil {
		return false
	}
	m.StartSeen = true
	if st, ok := parseTime(ev.Payload.Object.StartTime); ok {
		m.Start = st
	} else if !ev.Time().IsZero() {
		m.Start = ev.Time()
	}
	return true
}

func (s *State) ended(ev *feed.Event) bool {
	key := ev.MeetingKey()
	if key == "" {
		return false
	}
	ts := int64(ev.TS)
	if s.isEnded(key, ts) {
		return false
	}
	s.Ended[key] = ts
	s.dirty.ended[key] = true
	if m := s.Meetings[key]; m != nil {
		if rec := s.Recordings[key]; rec != nil && (rec.Status == RecInProgress || rec.Status == RecPaused) {
			rec.Status, rec.Stopped = RecProcessing, ev.Time()
			s.dirty.recordings[key] = true
		}
		delete(s.Meetings, key)
		s.dirty.meetings[key] = true
	}
	s.pruneTombstones()
	return true
}

func (s *State) joined(ev *feed.Event) bool {
	p := ev.Payload.Object.Participant
	pk := ev.ParticipantKey()
	if p == nil || pk == "" {
		return false
	}
	m := s.meeting(ev)
	if m == nil {
		return false
	}
	ts := int64(ev.TS)
	if left, ok := m.Left[pk]; ok && left > ts {
		return true // a late join older than the leave we already applied: history, not state
	}
	joined := ev.Time()
	if t, ok := parseTime(p.JoinTime); ok {
		joined = t
	}
	cur := m.Participants[pk]
	switch {
	case cur != nil && cur.LastTS > ts:
		return true // older than what we know of this participant
	case cur != nil:
		// Joined again without a leave in between (a duplicate, or a missed leave): one
		// presence, not two.
		cur.Uncertain = false
		cur.LastTS = ts
		s.touch(m, pk)
		return true
	}
	if m.Participants == nil {
		m.Participants = map[string]*Participant{}
	}
	np := &Participant{Key: pk, Name: p.UserName, Email: p.Email, UserID: p.ID, Joined: joined, LastTS: ts}
	if _, before := m.Left[pk]; before {
		for _, se := range m.Sessions {
			if se.Key == pk {
				np.Rejoins++
			}
		}
	}
	m.Participants[pk] = np
	m.Joins++
	if n := len(m.Participants); n > m.Peak {
		m.Peak = n
	}
	m.Sessions = appendSession(m.Sessions, Session{Key: pk, Name: p.UserName, Join: joined})
	s.touch(m, pk)
	if p.ID != "" && p.ID == m.HostID && p.UserName != "" && m.HostName == "" {
		m.HostName = p.UserName
	}
	return true
}

func (s *State) left(ev *feed.Event) bool {
	p := ev.Payload.Object.Participant
	pk := ev.ParticipantKey()
	if p == nil || pk == "" {
		return false
	}
	m := s.meeting(ev)
	if m == nil {
		return false
	}
	ts := int64(ev.TS)
	if prev, ok := m.Left[pk]; ok && prev >= ts {
		return true // duplicate or older leave
	}
	cur := m.Participants[pk]
	if cur != nil && cur.LastTS > ts {
		return true // they joined again after this (late) leave
	}
	if m.Left == nil {
		m.Left = map[string]int64{}
	}
	m.Left[pk] = ts
	s.touch(m, pk)
	leave := ev.Time()
	if t, ok := parseTime(p.LeaveTime); ok {
		leave = t
	}
	reason := feed.CleanReason(p.LeaveReason)
	if cur != nil {
		delete(m.Participants, pk)
		closeSession(m, pk, leave, reason)
	} else {
		// A leave for a join we never saw: record the stay with an unknown start.
		m.Sessions = appendSession(m.Sessions, Session{Key: pk, Name: p.UserName, Leave: leave, Reason: reason})
	}
	return true
}

func closeSession(m *Meeting, pk string, leave time.Time, reason string) {
	for i := len(m.Sessions) - 1; i >= 0; i-- {
		if se := &m.Sessions[i]; se.Key == pk && se.Leave.IsZero() {
			se.Leave, se.Reason = leave, reason
			return
		}
	}
}

// appendSession adds a session, forgetting the oldest ones beyond MaxSessions a quarter at a
// time, so that a busy meeting does not copy its whole history at every join.
func appendSession(ss []Session, se Session) []Session {
	ss = append(ss, se)
	if len(ss) > MaxSessions+MaxSessions/4 {
		ss = append(ss[:0:0], ss[len(ss)-MaxSessions:]...)
	}
	return ss
}

func (s *State) updated(ev *feed.Event) bool {
	o := &ev.Payload.Object
	if o.Topic == "" {
		return false
	}
	// meeting.updated names the meeting by number only; update any running occurrence.
	changed := false
	for _, m := range s.Meetings {
		if (o.UUID != "" && m.UUID == o.UUID) || (o.ID != "" && m.ID == string(o.ID)) {
			if int64(ev.TS) >= m.LastTS {
				m.Topic = o.Topic
				m.LastTS = int64(ev.TS)
				s.dirty.meetings[m.Key] = true
				changed = true
			}
		}
	}
	return changed
}

func (s *State) renameHost(userID, name string) {
	for _, m := range s.Meetings {
		if m.HostID == userID && m.HostName != name {
			m.HostName = name
			s.dirty.meetings[m.Key] = true
		}
	}
}

func (s *State) recording(ev *feed.Event) *Recording {
	key := ev.MeetingKey()
	if key == "" {
		return nil
	}
	r := s.Recordings[key]
	if r == nil {
		r = &Recording{Key: key}
		s.Recordings[key] = r
	}
	o := &ev.Payload.Object
	if o.Topic != "" {
		r.Topic = o.Topic
	}
	if o.ID != "" {
		r.MeetingID = string(o.ID)
	}
	if o.HostID != "" {
		r.HostID = o.HostID
	}
	s.dirty.recordings[key] = true
	return r
}

func (s *State) recordingState(ev *feed.Event, st RecordingStatus) bool {
	ts := int64(ev.TS)
	if r := s.Recordings[ev.MeetingKey()]; r != nil && (r.LastTS > ts || r.Status == RecCompleted) {
		return false // stale, or already completed: a late start/stop must not undo it
	}
	r := s.recording(ev)
	if r == nil {
		return false
	}
	r.Status, r.LastTS = st, ts
	switch st {
	case RecInProgress:
		if r.Started.IsZero() {
			r.Started = ev.Time()
		}
	case RecProcessing:
		r.Stopped = ev.Time()
	}
	if m := s.meeting(ev); m != nil {
		m.Recording = st == RecInProgress
	}
	s.pruneRecordings()
	return true
}

func (s *State) recordingDone(ev *feed.Event, transcript bool) bool {
	r := s.recording(ev)
	if r == nil {
		return false
	}
	o := &ev.Payload.Object
	ts := int64(ev.TS)
	if ts > r.LastTS {
		r.LastTS = ts
	}
	if transcript {
		r.Transcript = ev.Time()
		if r.Status != RecCompleted {
			// The transcript can only exist once the recording is processed.
			r.Status = RecCompleted
		}
	} else {
		r.Status, r.Completed = RecCompleted, ev.Time()
		if n, err := strconv.ParseInt(string(o.TotalSize), 10, 64); err == nil {
			r.TotalSize = n
		}
		if n, err := strconv.Atoi(string(o.Duration)); err == nil {
			r.Duration = n
		}
	}
	if ev.DownloadToken != "" {
		if exp := ev.Time().Add(DownloadTokenTTL); exp.After(r.DownloadExpires) {
			r.DownloadExpires = exp
		}
	}
	for _, f := range append(append([]feed.RecordingFile(nil), o.RecordingFiles...), o.ParticipantAudioFiles...) {
		r.addFile(f)
	}
	if m := s.Meetings[r.Key]; m != nil && !transcript {
		m.Recording = false
		s.dirty.meetings[m.Key] = true
	}
	s.pruneRecordings()
	return true
}

func (r *Recording) addFile(f feed.RecordingFile) {
	nf := File{ID: f.ID, FileType: f.FileType, Extension: f.FileExtension, RecordingType: f.RecordingType}
	nf.Size, _ = strconv.ParseInt(string(f.FileSize), 10, 64)
	nf.Start, _ = parseTime(f.RecordingStart)
	nf.End, _ = parseTime(f.RecordingEnd)
	for i := range r.Files {
		if r.Files[i].ID == nf.ID && nf.ID != "" {
			r.Files[i] = nf
			return
		}
	}
	r.Files = append(r.Files, nf)
}

// MarkGap records that nothing was received between from and to. After a long gap every
// active meeting and participant may have changed unseen: they are marked uncertain until
// an event about them arrives.
func (s *State) MarkGap(from, to time.Time, reason string) bool {
	if to.Sub(from) < UncertainAfter || len(s.Meetings) == 0 {
		return false
	}
	why := "not receiving " + from.Format("15:04:05") + "–" + to.Format("15:04:05")
	if reason != "" {
		why += " (" + reason + ")"
	}
	for _, m := range s.Meetings {
		m.Uncertain, m.UncertainUntil = why, to.UnixMilli()
		for pk, p := range m.Participants {
			p.Uncertain = true
			s.touch(m, pk)
		}
		s.dirty.meetings[m.Key] = true
	}
	return true
}

// Expire forgets what has gone stale by event time now: uncertain meetings silent for
// StaleAfter, tombstones and recordings past their keep time.
func (s *State) Expire(now time.Time) bool {
	changed := false
	cut := now.Add(-StaleAfter).UnixMilli()
	for k, m := range s.Meetings {
		if m.Uncertain != "" && m.LastTS < cut {
			delete(s.Meetings, k)
			s.dirty.meetings[k] = true
			changed = true
		}
	}
	if s.pruneTombstonesAt(now.UnixMilli()) {
		changed = true
	}
	if s.pruneRecordingsAt(now.UnixMilli()) {
		changed = true
	}
	return changed
}

func (s *State) pruneTombstones() { s.pruneTombstonesAt(s.NewestTS) }

func (s *State) pruneTombstonesAt(now int64) bool {
	changed := false
	cut := now - TombstoneTTL.Milliseconds()
	for k, ts := range s.Ended {
		if ts < cut {
			delete(s.Ended, k)
			s.dirty.ended[k] = true
			changed = true
		}
	}
	if over := len(s.Ended) - MaxTombstones; over > 0 {
		keys := make([]string, 0, len(s.Ended))
		for k := range s.Ended {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return s.Ended[keys[i]] < s.Ended[keys[j]] })
		for _, k := range keys[:over] {
			delete(s.Ended, k)
			s.dirty.ended[k] = true
		}
		changed = true
	}
	return changed
}

func (s *State) pruneRecordings() { s.pruneRecordingsAt(s.NewestTS) }

func (s *State) pruneRecordingsAt(now int64) bool {
	changed := false
	cut := now - RecordingKeep.Milliseconds()
	for k, r := range s.Recordings {
		if r.LastTS < cut && r.Status == RecCompleted {
			delete(s.Recordings, k)
			s.dirty.recordings[k] = true
			changed = true
		}
	}
	if over := len(s.Recordings) - MaxRecordings; over > 0 {
		rs := make([]*Recording, 0, len(s.Recordings))
		for _, r := range s.Recordings {
			rs = append(rs, r)
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].LastTS < rs[j].LastTS })
		for _, r := range rs[:over] {
			delete(s.Recordings, r.Key)
			s.dirty.recordings[r.Key] = true
		}
		changed = true
	}
	return changed
}

// Dirty lists what changed since the last TakeDirty, for persisting only that.
type Dirty struct {
	Meetings, Recordings, Users, Ended []string
	// People maps a meeting key to its changed participants' keys.
	People map[string][]string
}

// TakeDirty returns and clears the set of changed keys.
func (s *State) TakeDirty() Dirty {
	keys := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	d := Dirty{keys(s.dirty.meetings), keys(s.dirty.recordings), keys(s.dirty.users), keys(s.dirty.ended), nil}
	if len(s.dirty.people) > 0 {
		d.People = make(map[string][]string, len(s.dirty.people))
		for mk, ps := range s.dirty.people {
			d.People[mk] = keys(ps)
		}
	}
	s.dirty.reset()
	return d
}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
