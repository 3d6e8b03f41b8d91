package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"zoomwatch/internal/jsonw"
	"zoomwatch/store/live"
)

// The live bucket holds the derived state so that start-up does not replay history. Only
// what changed is written, every few seconds (liveSaveEvery) in the same transaction as
// events, with the sequence number of the newest event it includes: the events after it
// are applied again at open (replayLive). Each participant is a record of its own so that
// a join in a big meeting writes one small value. (Schema 2 wrote the changes of every
// commit to a journal, folded into the bucket every 8 MiB; a save every few seconds
// rewrites each changed record once however often it changed, and needs no journal.)
//
//	m<key>          meeting JSON, without its participants
//	p<key>\0<pk>    participant record (presence, last leave, sessions) JSON
//	r<key>          recording JSON
//	u<id>           user display name
//	e<key>          meeting ended at, event_ts ms (8 bytes)
//	n               newest event_ts applied (8 bytes)
//	a               sequence number of the newest event included (8 bytes)
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

// appendMeetingHead writes m without its participants, leaves and sessions (each person
// has a record of their own), as encoding/json would: a meeting is written at every change
// to it, most events.
func appendMeetingHead(b []byte, m *live.Meeting) []byte {
	b = append(b, '{')
	b = jsonw.StrField(b, "key", m.Key)
	for _, f := range [...]struct{ k, v string }{{"id", m.ID}, {"uuid", m.UUID}, {"topic", m.Topic}, {"host_id", m.HostID}, {"host_name", m.HostName}} {
		if f.v != "" {
			b = jsonw.StrField(b, f.k, f.v)
		}
	}
	if m.Type != 0 {
		b = jsonw.IntField(b, "type", int64(m.Type))
	}
	b = jsonw.TimeNanoField(b, "start", m.Start)
	b = jsonw.BoolField(b, "start_seen", m.StartSeen)
	b = jsonw.IntField(b, "last_ts", m.LastTS)
	b = jsonw.IntField(b, "peak", int64(m.Peak))
	b = jsonw.IntField(b, "joins", int64(m.Joins))
	if m.Recording {
		b = jsonw.BoolField(b, "recording", true)
	}
	if m.Uncertain != "" {
		b = jsonw.StrField(b, "uncertain", m.Uncertain)
	}
	if m.UncertainUntil != 0 {
		b = jsonw.IntField(b, "uncertain_until", m.UncertainUntil)
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

var (
	kNewest  = []byte("n")
	kApplied = []byte("a")
)

func liveKey(prefix byte, key string) []byte {
	return append([]byte{prefix}, key...)
}

// liveSaveEvery and liveSaveEvents bound how far the saved live state lags behind the
// stored events: the commit after either has passed since the last save saves it, as do a
// commit with a gap, housekeeping when the writer is idle, and close. Saving at every commit
// encoded each changed meeting and participant again every few milliseconds, inside the
// writer's transaction; on an account with thousands of active meetings nearly every event
// changes a different one, and from 15,000 events/s that kept the writer behind. After a
// crash, open applies the lagging events again: at most about twice liveSaveEvents, as a
// save is written a part per commit (saveLagging), a few seconds' work.
var (
	liveSaveEvery  = 5 * time.Second
	liveSaveEvents = 100_000
)

// saveLive writes what changed in the live state since it was last saved, saying that it
// includes every event up to applied. The caller holds liveMu.
func (s *Store) saveLive(tx *bolt.Tx, applied uint64) error {
	if s.noteLiveChanges(0); s.unsaved.Empty() {
		return nil
	}
	batch, err := liveChanges(s.state, s.unsaved.Take(), applied)
	if err != nil {
		return err
	}
	return writeLive(tx, batch)
}

// noteLiveChanges takes what the events just applied (events of them) changed in the live
// state, for the next snapshot and the next save. The caller holds liveMu.
func (s *Store) noteLiveChanges(events int) {
	s.state.MoveDirty(&s.unsaved, &s.snapChanges, events)
}

// splitSaveAt is the number of changed meetings past which a save is encoded on two cores:
// on a busy account a save rewrites thousands of meetings and their people (tens of MiB of
// JSON), and whatever waits for it (a commit that must save, the next save) waits less.
var splitSaveAt = 512 // a test lowers it

// liveChanges encodes the records d names, as st has them, as one batch of changes (see
// liveBatch), with applied as the newest event they include. It does not touch the
// database, so that it can run beside the writer's own puts. st is the store's state (the
// caller holds liveMu) or a copy of what d names (captureLive), encoded beside the writer.
func liveChanges(st *live.State, d live.Dirty, applied uint64) (liveBatch, error) {
	if len(d.Meetings)+len(d.People) < splitSaveAt {
		return encodeLive(st, d, applied)
	}
	// By meeting, so that a meeting's deletes and puts stay in order in one half; it
	// reads st alone, and so does the other half.
	seed := maphash.MakeSeed()
	mine := func(k string) bool { return maphash.String(seed, k)&1 == 0 }
	a, b := d, live.Dirty{People: map[string][]string{}}
	a.Gone, a.Meetings, a.People = nil, nil, map[string][]string{}
	for _, k := range d.Gone {
		if mine(k) {
			a.Gone = append(a.Gone, k)
		} else {
			b.Gone = append(b.Gone, k)
		}
	}
	for _, k := range d.Meetings {
		if mine(k) {
			a.Meetings = append(a.Meetings, k)
		} else {
			b.Meetings = append(b.Meetings, k)
		}
	}
	for k, pks := range d.People {
		if mine(k) {
			a.People[k] = pks
		} else {
			b.People[k] = pks
		}
	}
	var (
		other    liveBatch
		otherErr error
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		other, otherErr = encodeLive(st, b, applied)
	}()
	out, err := encodeLive(st, a, applied)
	<-done
	if err = cmp.Or(err, otherErr); err != nil {
		return nil, err
	}
	return append(out, other[1:]...), nil // other without its opBatch
}

func encodeLive(st *live.State, d live.Dirty, applied uint64) (liveBatch, error) {
	people := 0
	for _, pks := range d.People {
		people += len(pks)
	}
	// Sized for a typical record, so that a save of thousands does not grow it twenty times.
	out := make(liveBatch, 0, 256*(len(d.Meetings)+people)+1024)
	add := out.add
	var val []byte // each record's JSON, before add copies it in
	// A meeting that went and came back: its old participants' records go first.
	for _, k := range d.Gone {
		if _, ok := st.Meetings[k]; ok {
			add(opDeletePeople, personKey(k, ""), nil)
		}
	}
	put := func(prefix byte, key string, v any, present bool) error {
		k := liveKey(prefix, key)
		if !present {
			add(opDelete, k, nil)
			return nil
		}
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
		add(opPut, k, val)
		return nil
	}
	for _, k := range d.Meetings {
		m, ok := st.Meetings[k]
		if !ok {
			add(opDeletePeople, personKey(k, ""), nil)
			add(opDelete, liveKey(pMeeting, k), nil)
			continue
		}
		val = appendMeetingHead(val[:0], m)
		add(opPut, liveKey(pMeeting, k), val)
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
			val = rec.appendJSON(val[:0])
			add(opPut, personKey(mk, pk), val)
		}
	}
	for _, k := range d.Recordings {
		r, ok := st.Recordings[k]
		if err := put(pRecording, k, r, ok); err != nil {
			return nil, err
		}
	}
	for _, k := range d.Users {
		u, ok := st.Users[k]
		if err := put(pUser, k, u, ok); err != nil {
			return nil, err
		}
	}
	for _, k := range d.Ended {
		e, ok := st.Ended[k]
		if err := put(pEnded, k, e, ok); err != nil {
			return nil, err
		}
	}
	add(opPut, kNewest, binary.BigEndian.AppendUint64(nil, uint64(st.NewestTS)))
	add(opPut, kApplied, binary.BigEndian.AppendUint64(nil, applied))
	return out, nil
}

// captureLive copies from st what a save of d reads (see encodeLive), so that it can be
// encoded while the writer goes on changing st: the meetings d names with their sessions
// (shared, see Meeting.ShareSessions), each with only the changed participants and leaves;
// the recordings, users and tombstones d names. Participants are never changed in place,
// and strings are immutable. The caller holds liveMu.
func captureLive(st *live.State, d live.Dirty) *live.State {
	c := live.New()
	c.NewestTS = st.NewestTS
	// Sized up front: a busy account's save names thousands of meetings.
	c.Meetings = make(map[string]*live.Meeting, max(len(d.Meetings), len(d.People)))
	copyMeeting := func(k string, m *live.Meeting) *live.Meeting {
		cm := &live.Meeting{}
		cm.CopyHead(m)
		cm.Sessions = m.ShareSessions()
		c.Meetings[k] = cm
		return cm
	}
	for _, ks := range [][]string{d.Gone, d.Meetings} {
		for _, k := range ks {
			if m := st.Meetings[k]; m != nil && c.Meetings[k] == nil {
				copyMeeting(k, m)
			}
		}
	}
	for mk, pks := range d.People {
		m := st.Meetings[mk]
		if m == nil {
			continue
		}
		cm := c.Meetings[mk]
		if cm == nil {
			cm = copyMeeting(mk, m)
		}
		cm.Participants, cm.Left = make(map[string]*live.Participant, len(pks)), make(map[string]int64, len(pks))
		for _, pk := range pks {
			if p := m.Participants[pk]; p != nil {
				cm.Participants[pk] = p
			}
			if ts, ok := m.Left[pk]; ok {
				cm.Left[pk] = ts
			}
		}
	}
	for _, k := range d.Recordings {
		if r := st.Recordings[k]; r != nil {
			cr := *r
			cr.Files = slices.Clone(r.Files)
			c.Recordings[k] = &cr
		}
	}
	for _, k := range d.Users {
		if u, ok := st.Users[k]; ok {
			c.Users[k] = u
		}
	}
	for _, k := range d.Ended {
		if e, ok := st.Ended[k]; ok {
			c.Ended[k] = e
		}
	}
	return c
}

// writeLive writes a save (see liveChanges) into the live bucket, in key order.
func writeLive(tx *bolt.Tx, batch liveBatch) error {
	o := newOverlay()
	if err := o.add(batch); err != nil {
		return err
	}
	return o.writeTo(tx.Bucket(bLive))
}

// Changes to the live records, in order: op, then the key and value. A save holds many
// (liveBatch): opBatch, then for each its op, uvarint key length, key, uvarint value
// length, value. The live journal of schema 2 held one a value: op, uvarint key length,
// key, and the value to the end (it is folded at the upgrade, and no longer written).
const (
	opPut          = 'P'
	opDelete       = 'D'
	opDeletePeople = 'X' // key: a meeting's person-record prefix
	opBatch        = 'B'
)

// liveBatch is one save's changes, built a change at a time.
type liveBatch []byte

func (j *liveBatch) add(op byte, k, v []byte) {
	if len(*j) == 0 {
		*j = append(*j, opBatch)
	}
	b := append(*j, op)
	b = append(binary.AppendUvarint(b, uint64(len(k))), k...)
	*j = append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// liveOverlay is changes read in order: the last put or delete of each key, and the
// meetings whose person records were all deleted (before any put in overlay).
type liveOverlay struct {
	last   map[string][]byte // nil: deleted
	people map[string]bool   // person-record prefixes deleted
	// puts are the person records put so far, by meeting prefix: a meeting's end deletes
	// only its own.
	puts map[string][]string
}

func newOverlay() liveOverlay {
	return liveOverlay{last: map[string][]byte{}, people: map[string]bool{}, puts: map[string][]string{}}
}

var errBadChange = errors.New("live records: bad change")

// add reads one value of changes (a batch, or one schema-2 journal entry). The overlay
// keeps slices of e.
func (o liveOverlay) add(e []byte) error {
	if len(e) < 2 {
		return errors.New("live records: short change")
	}
	if e[0] != opBatch { // one change, its value to the end
		n, w := binary.Uvarint(e[1:])
		if w <= 0 || uint64(len(e)-1-w) < n {
			return errBadChange
		}
		return o.apply(e[0], string(e[1+w:1+w+int(n)]), e[1+w+int(n):])
	}
	for e = e[1:]; len(e) > 0; {
		op := e[0]
		k, rest, ok := cutLengthPrefixed(e[1:])
		if !ok {
			return errBadChange
		}
		v, rest, ok := cutLengthPrefixed(rest)
		if !ok {
			return errBadChange
		}
		if err := o.apply(op, string(k), v); err != nil {
			return err
		}
		e = rest
	}
	return nil
}

func (o liveOverlay) apply(op byte, k string, v []byte) error {
	switch op {
	case opPut:
		if _, seen := o.last[k]; !seen && len(k) > 0 && k[0] == pPerson {
			for i := range len(k) { // at every zero byte: keys are whatever Zoom sent
				if k[i] == 0 {
					o.puts[k[:i+1]] = append(o.puts[k[:i+1]], k)
				}
			}
		}
		o.last[k] = v
	case opDelete:
		o.last[k] = nil
	case opDeletePeople:
		o.people[k] = true
		for _, pk := range o.puts[k] {
			o.last[pk] = nil
		}
	default:
		return fmt.Errorf("live records: unknown change %q", op)
	}
	return nil
}

// readJournal reads a schema-2 live journal (empty once folded).
func readJournal(tx *bolt.Tx) (liveOverlay, error) {
	o := newOverlay()
	b := tx.Bucket(bLiveJournal)
	if b == nil {
		return o, nil
	}
	err := b.ForEach(func(_, e []byte) error {
		return o.add(bytes.Clone(e)) // e is the file's memory, valid only until a write remaps it
	})
	return o, err
}

// cutLengthPrefixed splits b after a uvarint length and that many bytes.
func cutLengthPrefixed(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}

// masks reports whether a person record in the live bucket was deleted by the journal.
func (o liveOverlay) masks(k []byte) bool {
	if len(k) == 0 || k[0] != pPerson {
		return false
	}
	i := bytes.IndexByte(k, 0)
	return i > 0 && o.people[string(k[:i+1])]
}

// foldLive applies a schema-2 journal to the live bucket and empties it.
func foldLive(tx *bolt.Tx) error {
	o, err := readJournal(tx)
	if err != nil {
		return err
	}
	if err := o.writeTo(tx.Bucket(bLive)); err != nil {
		return err
	}
	if err := tx.DeleteBucket(bLiveJournal); err != nil {
		return err
	}
	_, err = tx.CreateBucket(bLiveJournal)
	return err
}

// livePartBytes bounds what one commit writes of a save encoded beside the writer. A busy
// account's save is tens of MiB; written in one commit, it held up the events behind it
// for most of a second. splitSave cuts it into ranges of meetings, written by consecutive
// commits, and only the last part holds the save's sequence number (a). A crash between
// parts leaves some meetings' records newer than that number, and open applies their
// events again: the reducer ignores an event it already holds, so each meeting, saved
// whole in one part with its people, recording and end, comes out as it was.
var livePartBytes = 2 << 20 // a test lowers it

// splitSave reads a save and cuts it into parts of about livePartBytes, in order, each a
// range of meetings with all their records; records of no meeting (users, and n and a) go
// in the last part.
func splitSave(batch liveBatch) ([]liveOverlay, error) {
	o := newOverlay()
	if err := o.add(batch); err != nil {
		return nil, err
	}
	if len(batch) <= livePartBytes {
		return []liveOverlay{o}, nil
	}
	size := map[string]int{}
	for k, v := range o.last {
		if mk, ok := recordMeeting(k); ok {
			size[mk] += len(k) + len(v)
		}
	}
	for p := range o.people {
		mk, _ := recordMeeting(p)
		size[mk] += len(p)
	}
	var cuts []string // the first meeting of each part but the first
	acc := 0
	for _, mk := range slices.Sorted(maps.Keys(size)) {
		if acc >= livePartBytes {
			cuts, acc = append(cuts, mk), 0
		}
		acc += size[mk]
	}
	parts := make([]liveOverlay, len(cuts)+1)
	for i := range parts {
		parts[i] = liveOverlay{last: map[string][]byte{}, people: map[string]bool{}}
	}
	partOf := func(mk string) *liveOverlay {
		return &parts[sort.Search(len(cuts), func(i int) bool { return cuts[i] > mk })]
	}
	for k, v := range o.last {
		p := &parts[len(parts)-1]
		if mk, ok := recordMeeting(k); ok {
			p = partOf(mk)
		}
		p.last[k] = v
	}
	for k := range o.people {
		mk, _ := recordMeeting(k)
		partOf(mk).people[k] = true
	}
	return parts, nil
}

// recordMeeting is the meeting a live record belongs to, if any; for a meeting's
// person-record prefix (personKey(mk, "")), mk.
func recordMeeting(k string) (string, bool) {
	if len(k) < 2 {
		return "", false
	}
	switch k[0] {
	case pMeeting, pRecording, pEnded:
		return k[1:], true
	case pPerson:
		mk, _, ok := strings.Cut(k[1:], "\x00")
		return mk, ok
	}
	return "", false
}

// liveFill is how full a save leaves the live bucket's pages. A save of a busy account
// rewrites most of them; at bbolt's default of one half, each page it filled was split in
// two, about twice the pages to write and fsync at every save.
const liveFill = 0.9

// writeTo applies the overlay to the live bucket b.
func (o liveOverlay) writeTo(b *bolt.Bucket) error {
	b.FillPercent = liveFill
	for prefix := range o.people {
		c := b.Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Seek(p) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	keys := make([]string, 0, len(o.last))
	for k := range o.last {
		keys = append(keys, k)
	}
	sort.Strings(keys) // in key order: each page is visited once
	var err error
	for _, k := range keys {
		if v := o.last[k]; v == nil {
			err = b.Delete([]byte(k))
		} else {
			err = b.Put([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readLive reads the saved live state and applies to it the events stored after it was
// saved; unsaved is what those events changed (and how many there were).
func readLive(tx *bolt.Tx) (st *live.State, unsaved live.Unsaved, err error) {
	st, applied, err := loadLive(tx)
	if err != nil {
		return st, unsaved, fmt.Errorf("store: loading live state: %w", err)
	}
	n, err := replayLive(tx, st, applied)
	if err != nil {
		return st, unsaved, fmt.Errorf("store: applying to the live state the events stored after it was saved: %w", err)
	}
	st.MoveDirty(&unsaved, nil, n)
	return st, unsaved, nil
}

// savedThrough is the sequence number of the newest event the saved live state includes (0
// when none was saved).
func savedThrough(tx *bolt.Tx) uint64 {
	if b := tx.Bucket(bLive); b != nil {
		if v := b.Get(kApplied); len(v) == 8 {
			return binary.BigEndian.Uint64(v)
		}
	}
	return 0
}

// replayLive applies to st, in order, the events stored after sequence number applied.
func replayLive(tx *bolt.Tx, st *live.State, applied uint64) (int, error) {
	b := tx.Bucket(bEvents)
	if b == nil || b.Sequence() <= applied {
		return 0, nil
	}
	c := b.Cursor()
	k, v := c.Seek(seqKey(applied + 1))
	if k == nil || keySeq(k) > applied+1 {
		if pk, pv := c.Prev(); pk != nil {
			k, v = pk, pv
		} else {
			k, v = c.First()
		}
	}
	n := 0
	for ; k != nil; k, v = c.Next() {
		blk, err := decodeBlock(keySeq(k), v)
		if err != nil {
			return n, fmt.Errorf("events %d…: %w", keySeq(k), err)
		}
		for i := range blk.recs {
			if r := &blk.recs[i]; r.Seq > applied {
				st.Apply(r.Decode())
				n++
			}
		}
	}
	return n, nil
}

// loadLive reads the saved live state, and the sequence number of the newest event it
// includes (0 when none was saved: then it includes none).
func loadLive(tx *bolt.Tx) (*live.State, uint64, error) {
	st := live.New()
	var applied uint64
	b := tx.Bucket(bLive)
	if b == nil {
		return st, 0, nil
	}
	o, err := readJournal(tx)
	if err != nil {
		return st, 0, err
	}
	err = forEachLive(b, o, func(k, v []byte) error {
		if len(k) == 0 {
			return nil
		}
		key := string(k[1:])
		switch {
		case string(k) == string(kNewest):
			if len(v) == 8 {
				st.NewestTS = int64(binary.BigEndian.Uint64(v))
			}
		case string(k) == string(kApplied):
			if len(v) == 8 {
				applied = binary.BigEndian.Uint64(v)
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
	return st, applied, err
}

func sessionTime(s live.Session) time.Time {
	if !s.Join.IsZero() {
		return s.Join
	}
	return s.Leave
}

// forEachLive calls fn for each record of the live state in key order: the live bucket
// with the journal applied.
func forEachLive(b *bolt.Bucket, o liveOverlay, fn func(k, v []byte) error) error {
	puts := make([]string, 0, len(o.last))
	for k, v := range o.last {
		if v != nil {
			puts = append(puts, k)
		}
	}
	sort.Strings(puts)
	i := 0
	putsBefore := func(k []byte) error { // all of them when k is nil
		for ; i < len(puts) && (k == nil || puts[i] < string(k)); i++ {
			if err := fn([]byte(puts[i]), o.last[puts[i]]); err != nil {
				return err
			}
		}
		return nil
	}
	err := b.ForEach(func(k, v []byte) error {
		if err := putsBefore(k); err != nil {
			return err
		}
		if _, ok := o.last[string(k)]; ok || o.masks(k) {
			return nil
		}
		return fn(k, v)
	})
	if err != nil {
		return err
	}
	return putsBefore(nil)
}
