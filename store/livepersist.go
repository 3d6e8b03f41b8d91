package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"zoomwatch/internal/jsonw"
	"zoomwatch/store/live"
)

// The live bucket holds the derived state so that start-up does not replay history. Only
// what changed is written, in the same transaction as the events that changed it; each
// participant is a record of its own so that a join in a big meeting writes one small value.
//
//	m<key>          meeting JSON, without its participants
//	p<key>\0<pk>    participant record (presence, last leave, sessions) JSON
//	r<key>          recording JSON
//	u<id>           user display name
//	e<key>          meeting ended at, event_ts ms (8 bytes)
//	n               newest event_ts applied (8 bytes)
const (
	pMeeting   = 'm'
	pPerson    = 'p'
	pRecording = 'r'
	pUser      = 'u'
	pEnded     = 'e'
)

// personRecord is one participant of an active meeting.
type personRecord struct {
	Present  *live.Participant `json:"present,omitempty"` // nil once they left
	LeftTS   int64             `json:"left_ts,omitempty"`
	Sessions []live.Session    `json:"sessions,omitempty"`
}

// appendJSON writes the record as encoding/json would (loadLive reads it with json.Unmarshal)
// but without reflection: one is written for every join and leave.
func (r personRecord) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if p := r.Present; p != nil {
		b = append(jsonw.Key(b, "present"), '{')
		b = jsonw.StrField(b, "key", p.Key)
		b = jsonw.StrField(b, "name", p.Name)
		if p.Email != "" {
			b = jsonw.StrField(b, "email", p.Email)
		}
		if p.UserID != "" {
			b = jsonw.StrField(b, "user_id", p.UserID)
		}
		b = jsonw.TimeNanoField(b, "joined", p.Joined)
		b = jsonw.IntField(b, "last_ts", p.LastTS)
		if p.Rejoins != 0 {
			b = jsonw.IntField(b, "rejoins", int64(p.Rejoins))
		}
		if p.Uncertain {
			b = jsonw.BoolField(b, "uncertain", true)
		}
		b = append(b, '}')
	}
	if r.LeftTS != 0 {
		b = jsonw.IntField(b, "left_ts", r.LeftTS)
	}
	if len(r.Sessions) > 0 {
		b = append(jsonw.Key(b, "sessions"), '[')
		for i, se := range r.Sessions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = jsonw.StrField(b, "key", se.Key)
			b = jsonw.StrField(b, "name", se.Name)
			if !se.Join.IsZero() {
				b = jsonw.TimeNanoField(b, "join", se.Join)
			}
			if !se.Leave.IsZero() {
				b = jsonw.TimeNanoField(b, "leave", se.Leave)
			}
			if se.Reason != "" {
				b = jsonw.StrField(b, "reason", se.Reason)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func personKey(meeting, pk string) []byte {
	k := make([]byte, 0, 2+len(meeting)+len(pk))
	k = append(k, pPerson)
	k = append(k, meeting...)
	k = append(k, 0)
	return append(k, pk...)
}

var kNewest = []byte("n")

func liveKey(prefix byte, key string) []byte {
	return append([]byte{prefix}, key...)
}

func saveLive(tx *bolt.Tx, st *live.State) error {
	b := tx.Bucket(bLive)
	d := st.TakeDirty()
	put := func(prefix byte, key string, v any, present bool) error {
		k := liveKey(prefix, key)
		if !present {
			return b.Delete(k)
		}
		var val []byte
		switch x := v.(type) {
		case string:
			val = []byte(x)
		case int64:
			val = binary.BigEndian.AppendUint64(nil, uint64(x))
		default:
			var err error
			if val, err = json.Marshal(x); err != nil {
				return err
			}
		}
		return b.Put(k, val)
	}
	for _, k := range d.Meetings {
		m, ok := st.Meetings[k]
		if !ok {
			if err := deletePeople(b, k); err != nil {
				return err
			}
			if err := b.Delete(liveKey(pMeeting, k)); err != nil {
				return err
			}
			continue
		}
		head := *m
		head.Participants, head.Left, head.Sessions = nil, nil, nil
		if err := put(pMeeting, k, &head, true); err != nil {
			return err
		}
	}
	for mk, pks := range d.People {
		m, ok := st.Meetings[mk]
		if !ok {
			continue // ended in the same batch: deleted above
		}
		// One pass over the meeting's sessions for all its changed participants.
		want := make(map[string][]live.Session, len(pks))
		for _, pk := range pks {
			want[pk] = nil
		}
		for _, se := range m.Sessions {
			if ss, ok := want[se.Key]; ok {
				want[se.Key] = append(ss, se)
			}
		}
		for _, pk := range pks {
			rec := personRecord{Present: m.Participants[pk], LeftTS: m.Left[pk], Sessions: want[pk]}
			if err := b.Put(personKey(mk, pk), rec.appendJSON(nil)); err != nil {
				return err
			}
		}
	}
	for _, k := range d.Recordings {
		r, ok := st.Recordings[k]
		if err := put(pRecording, k, r, ok); err != nil {
			return err
		}
	}
	for _, k := range d.Users {
		u, ok := st.Users[k]
		if err := put(pUser, k, u, ok); err != nil {
			return err
		}
	}
	for _, k := range d.Ended {
		e, ok := st.Ended[k]
		if err := put(pEnded, k, e, ok); err != nil {
			return err
		}
	}
	return b.Put(kNewest, binary.BigEndian.AppendUint64(nil, uint64(st.NewestTS)))
}

// deletePeople removes every participant record of a meeting.
func deletePeople(b *bolt.Bucket, meeting string) error {
	prefix := personKey(meeting, "")
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func loadLive(tx *bolt.Tx) (*live.State, error) {
	st := live.New()
	b := tx.Bucket(bLive)
	if b == nil {
		return st, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		if len(k) == 0 {
			return nil
		}
		key := string(k[1:])
		switch {
		case string(k) == string(kNewest):
			if len(v) == 8 {
				st.NewestTS = int64(binary.BigEndian.Uint64(v))
			}
		case k[0] == pMeeting:
			var m live.Meeting
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("meeting %q: %w", key, err)
			}
			st.Meetings[key] = &m
		case k[0] == pPerson:
			mk, pk, ok := strings.Cut(key, "\x00")
			m := st.Meetings[mk]
			if !ok || m == nil {
				return nil // meetings sort before their people; an orphan is left over
			}
			var rec personRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("participant %q of %q: %w", pk, mk, err)
			}
			if rec.Present != nil {
				if m.Participants == nil {
					m.Participants = map[string]*live.Participant{}
				}
				m.Participants[pk] = rec.Present
			}
			if rec.LeftTS != 0 {
				if m.Left == nil {
					m.Left = map[string]int64{}
				}
				m.Left[pk] = rec.LeftTS
			}
			m.Sessions = append(m.Sessions, rec.Sessions...)
		case k[0] == pRecording:
			var r live.Recording
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("recording %q: %w", key, err)
			}
			st.Recordings[key] = &r
		case k[0] == pUser:
			st.Users[key] = string(v)
		case k[0] == pEnded && len(v) == 8:
			st.Ended[key] = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	for _, m := range st.Meetings {
		// Sessions were stored per participant: put them back in time order.
		sort.SliceStable(m.Sessions, func(i, j int) bool { return sessionTime(m.Sessions[i]).Before(sessionTime(m.Sessions[j])) })
	}
	st.TakeDirty()
	return st, err
}

func sessionTime(s live.Session) time.Time {
	if !s.Join.IsZero() {
		return s.Join
	}
	return s.Leave
}
