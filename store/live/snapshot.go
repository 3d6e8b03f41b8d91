package live

import (
	"maps"
	"slices"
	"sort"
	"strings"
)

// Snapshot is an immutable copy of the state for viewers: safe to read from any goroutine
// while the writer goes on applying events.
type Snapshot struct {
	// Meetings are the active meetings, longest-running first.
	Meetings []*Meeting
	// Recordings are the listed recordings, most recently changed first.
	Recordings []*Recording
	NewestTS   int64
}

// Snapshot deep-copies the state.
func (s *State) Snapshot() *Snapshot {
	snap := &Snapshot{NewestTS: s.NewestTS}
	for _, m := range s.Meetings {
		c := m.clone()
		if name := s.Users[m.HostID]; name != "" {
			c.HostName = name // a user.created since the meeting's last event
		}
		snap.Meetings = append(snap.Meetings, c)
	}
	sort.Slice(snap.Meetings, func(i, j int) bool {
		a, b := snap.Meetings[i], snap.Meetings[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.Key < b.Key
	})
	for _, r := range s.Recordings {
		c := *r
		c.Files = slices.Clone(r.Files)
		snap.Recordings = append(snap.Recordings, &c)
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

func (m *Meeting) clone() *Meeting {
	c := *m
	c.stays = nil // the writer's index, not shared with readers
	c.Participants = make(map[string]*Participant, len(m.Participants))
	for k, p := range m.Participants {
		pc := *p
		c.Participants[k] = &pc
	}
	c.Left = maps.Clone(m.Left)
	c.Sessions = slices.Clone(m.Sessions)
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
