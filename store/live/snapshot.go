package live

import (
	"cmp"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Snapshot is an immutable copy of the state for viewers: safe to read from any goroutine
// while the writer goes on applying events.
type Snapshot struct {
	// Meetings are the active meetings, longest-running first, without their Sessions and
	// Left: a busy meeting's join/leave history is most of its size, dashboards ask for
	// every changed meeting after every commit, and only a meeting's own page shows it (see
	// State.MeetingDetail).
	Meetings []*Meeting
	// Recordings are the listed recordings, most recently changed first.
	Recordings []*Recording
	NewestTS   int64
}

// Snapshot copies the whole state for viewers (what a Snapshot holds, and leaves out).
func (s *State) Snapshot() *Snapshot {
	return s.SnapshotSince(nil, nil)
}

// Changes gathers what changed since a snapshot (State.MoveDirty, at each commit), so
// that the next snapshot copies only that: a busy account changes a few meetings per
// commit while viewers ask for the whole state.
type Changes struct {
	all                  bool
	meetings, recordings map[string]bool
	// users are hosts whose name changed: their meetings are copied again, as a snapshot
	// shows each meeting's host by the name known now.
	users map[string]bool
	// drop are the copies of meetings removed since (see Meeting.shown).
	drop []*Meeting
	// last is the snapshot these changes are since: the last SnapshotSince built with them.
	last *Snapshot
}

// maxTracked bounds the keys Changes keeps: past it the next snapshot copies everything,
// as a headless collector that nobody views would otherwise gather every key for weeks.
const maxTracked = 1 << 14

// add notes one commit's changes (see State.MoveDirty).
func (c *Changes) add(d *dirtySet) {
	if c.all {
		return
	}
	if c.meetings == nil {
		c.meetings, c.recordings, c.users = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	for k := range d.users {
		c.users[k] = true
	}
	for _, keys := range []map[string]bool{d.meetings, d.ended} {
		for k := range keys {
			c.meetings[k] = true
		}
	}
	for k := range d.people {
		c.meetings[k] = true
	}
	for k := range d.recordings {
		c.recordings[k] = true
	}
	c.drop = append(c.drop, d.unshown...)
	if len(c.meetings)+len(c.recordings)+len(c.users)+len(c.drop) > maxTracked {
		*c = Changes{all: true}
	}
}

// All marks everything changed: the state was replaced.
func (c *Changes) All() { *c = Changes{all: true} }

// SnapshotSince returns a snapshot of the state that shares with prev the meetings and
// recordings that c does not name (snapshots are immutable), and resets c. It copies
// everything when there is no prev or c, when everything changed, and when prev is not
// the last snapshot built with c (the meetings remember their copies in that one, so that
// the next leaves them out without looking every meeting of prev up).
func (s *State) SnapshotSince(prev *Snapshot, c *Changes) *Snapshot {
	var snap *Snapshot
	if prev != nil && c != nil && !c.all && prev == c.last {
		snap = s.snapshotChanges(prev, c)
	}
	if snap == nil {
		snap = newSnapshot(s)
		for _, m := range s.Meetings {
			cm := s.meetingCopy(m)
			if c != nil {
				m.shown = cm
			}
			snap.Meetings = append(snap.Meetings, cm)
		}
		slices.SortFunc(snap.Meetings, compareMeetings)
		for _, r := range s.Recordings {
			snap.Recordings = append(snap.Recordings, r.clone())
		}
	}
	snap.NewestTS = s.NewestTS
	if c != nil {
		*c = Changes{last: snap}
	}
	sort.Slice(snap.Recordings, func(i, j int) bool {
		a, b := snap.Recordings[i], snap.Recordings[j]
		if a.LastTS != b.LastTS {
			return a.LastTS > b.LastTS
		}
		return a.Key < b.Key
	})
	return snap
}

func newSnapshot(s *State) *Snapshot {
	return &Snapshot{Meetings: make([]*Meeting, 0, len(s.Meetings)), Recordings: make([]*Recording, 0, len(s.Recordings))}
}

// snapshotChanges builds the next snapshot from prev, the last one, and what c names; nil
// if a copy it replaces is not in prev, which would be a bug (then everything is copied).
func (s *State) snapshotChanges(prev *Snapshot, c *Changes) *Snapshot {
	// A new host is announced (user.created) before their first meeting, so on a busy
	// account names change all the time: copy again only the meetings they host.
	for u := range c.users {
		for _, k := range s.index(&s.byHost, hostOf)[u] {
			c.meetings[k] = true
		}
	}
	// What becomes of prev's copies: replaced by a new copy, or left out (nil).
	next := make(map[*Meeting]*Meeting, len(c.meetings)+len(c.drop))
	for _, m := range c.drop {
		next[m] = nil
	}
	var added []*Meeting // copies with no place in prev yet
	for k := range c.meetings {
		m := s.Meetings[k]
		if m == nil {
			continue // removed: its copy is in c.drop
		}
		cm := s.meetingCopy(m)
		if m.shown != nil && compareMeetings(m.shown, cm) == 0 {
			next[m.shown] = cm // same place: the usual case
		} else {
			if m.shown != nil {
				next[m.shown] = nil
			}
			added = append(added, cm)
		}
		m.shown = cm
	}
	// prev is in order: the few added copies go where a binary search puts them, and one
	// walk over prev does the rest without reading its meetings (a busy account has
	// thousands, mostly unchanged).
	slices.SortFunc(added, compareMeetings)
	at := make([]int, len(added))
	for i, cm := range added {
		at[i], _ = slices.BinarySearchFunc(prev.Meetings, cm, compareMeetings)
	}
	snap := newSnapshot(s)
	found := 0
	for i, m := range prev.Meetings {
		for len(at) > 0 && at[0] == i {
			snap.Meetings, added, at = append(snap.Meetings, added[0]), added[1:], at[1:]
		}
		cm, ok := next[m]
		switch {
		case !ok:
			snap.Meetings = append(snap.Meetings, m)
		case cm != nil:
			snap.Meetings = append(snap.Meetings, cm)
			found++
		default:
			found++
		}
	}
	if found != len(next) {
		return nil
	}
	snap.Meetings = append(snap.Meetings, added...)
	for _, r := range prev.Recordings {
		if !c.recordings[r.Key] {
			snap.Recordings = append(snap.Recordings, r)
		}
	}
	for k := range c.recordings {
		if r := s.Recordings[k]; r != nil {
			snap.Recordings = append(snap.Recordings, r.clone())
		}
	}
	return snap
}

// MeetingDetail is a viewer's copy of the active meeting key with its sessions, or nil.
func (s *State) MeetingDetail(key string) *Meeting {
	m := s.Meetings[key]
	if m == nil {
		return nil
	}
	c := s.meetingCopy(m)
	c.Sessions, c.Left = slices.Clone(m.Sessions), maps.Clone(m.Left)
	return c
}

// compareMeetings orders meetings longest-running first.
func compareMeetings(a, b *Meeting) int {
	return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Key, b.Key))
}

// meetingCopy is a viewer's copy of m without its history (sessions and leaves), with its
// host's name as known now.
func (s *State) meetingCopy(m *Meeting) *Meeting {
	c := m.clone()
	if name := s.Users[m.HostID]; name != "" {
		c.HostName = name // a user.created since the meeting's last event
	}
	return c
}

func (r *Recording) clone() *Recording {
	c := *r
	c.Files = slices.Clone(r.Files)
	return &c
}

// CopyHead makes m a copy of src's own fields, without its participants, leaves, sessions
// and the writer's indexes.
func (m *Meeting) CopyHead(src *Meeting) {
	*m = *src
	m.stays, m.shown, m.Participants, m.Left, m.Sessions = nil, nil, nil, nil, nil
	m.sessionsShared = false
}

func (m *Meeting) clone() *Meeting {
	c := *m
	c.stays, c.shown, c.sessionsShared = nil, nil, false // the writer's, not for readers
	c.Participants = maps.Clone(m.Participants)          // the Participants themselves are never changed
	c.Left, c.Sessions = nil, nil
	return &c
}

// People lists the participants present now, earliest joiner first.
func (m *Meeting) People() []*Participant {
	ps := make([]*Participant, 0, len(m.Participants))
	for _, p := range m.Participants {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if !ps[i].Joined.Equal(ps[j].Joined) {
			return ps[i].Joined.Before(ps[j].Joined)
		}
		if a, b := strings.ToLower(ps[i].Name), strings.ToLower(ps[j].Name); a != b {
			return a < b
		}
		return ps[i].Key < ps[j].Key // same name: a stable order between snapshots
	})
	return ps
}

// Meeting finds an active meeting by key.
func (s *Snapshot) Meeting(key string) *Meeting {
	for _, m := range s.Meetings {
		if m.Key == key {
			return m
		}
	}
	return nil
}
