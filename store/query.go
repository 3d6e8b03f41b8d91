package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Filter selects events. Zero fields match everything.
type Filter struct {
	// Types are event type names or globs ("meeting.*").
	Types []string
	// Meeting is a meeting uuid or number.
	Meeting string
	// Participant matches a participant's name or email (case-insensitive substring) or id.
	Participant string
	// Text matches within any value of the event JSON (case-insensitive; not its keys).
	Text string
	// Since and Until bound event_ts: Since ≤ event_ts < Until.
	Since, Until time.Time
}

// IsZero reports whether the filter matches everything.
func (f Filter) IsZero() bool {
	return len(f.Types) == 0 && f.Meeting == "" && f.Participant == "" && f.Text == "" &&
		f.Since.IsZero() && f.Until.IsZero()
}

// Query asks for one page of history in sequence (arrival) order.
type Query struct {
	Filter
	// Cursor is an exclusive bound: the page starts just past it in the query's direction.
	// 0 starts at the newest (or, with Oldest, the oldest) end.
	Cursor uint64
	Oldest bool
	Limit  int
	// MaxScan bounds the events examined in one call, so that a rare match in a huge
	// history answers promptly; the caller continues from Page.Next. Default 100,000.
	MaxScan int
}

// Page is one page of results.
type Page struct {
	Records []Record
	// Next continues the query (as Query.Cursor) when Done is false.
	Next    uint64
	Done    bool
	Scanned int
}

// Page returns up to q.Limit matching events. It runs in one short read transaction.
func (s *Store) Page(q Query) (Page, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.MaxScan <= 0 {
		q.MaxScan = 100_000
	}
	var p Page
	err := s.view(func(tx *bolt.Tx) error {
		r := newReader(tx)
		if r == nil {
			p.Done = true
			return nil
		}
		defer r.close()
		m := newMatcher(q.Filter)
		src := s.candidates(r, q)
		for {
			if p.Scanned >= q.MaxScan {
				return nil
			}
			seq, ok := src.next()
			if !ok {
				p.Done, p.Next = true, 0
				return nil
			}
			p.Scanned++
			p.Next = seq
			rec, ok, err := r.get(seq)
			if err != nil {
				return err
			}
			if !ok || !m.match(&rec) {
				continue
			}
			p.Records = append(p.Records, rec)
			if len(p.Records) >= q.Limit {
				return nil
			}
		}
	})
	return p, err
}

// Get returns one event.
func (s *Store) Get(seq uint64) (Record, bool, error) {
	var rec Record
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		r := newReader(tx)
		if r == nil {
			return nil
		}
		defer r.close()
		var err error
		rec, ok, err = r.get(seq)
		if ok {
			rec.Decode()
		}
		return err
	})
	return rec, ok, err
}

// LastSeq is the newest event's sequence number (0 when empty).
func (s *Store) LastSeq() uint64 {
	var n uint64
	s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bEvents); b != nil {
			n = b.Sequence()
		}
		return nil
	})
	return n
}

// After returns up to limit events with sequence numbers greater than seq, oldest first:
// what a subscriber that fell behind reloads.
func (s *Store) After(seq uint64, limit int) ([]Record, error) {
	p, err := s.Page(Query{Cursor: seq, Oldest: true, Limit: limit})
	return p.Records, err
}

// SeqAt returns the sequence number of the first event (in event time) at or after t, or
// the newest event's if none is that recent: where "jump to a time" lands.
func (s *Store) SeqAt(t time.Time) uint64 {
	var seq uint64
	s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bDedupe)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.Seek(binary.BigEndian.AppendUint64(nil, uint64(t.UnixMilli())))
		if k == nil {
			k, v = c.Last()
		}
		if k != nil && len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return seq
}

// Scan streams every matching event to fn, oldest first, in chunks of short transactions
// (constant memory, and the writer is never held up by a long reader). With only a time
// range (and maybe text or participant) it walks the time index, so the order is event time.
func (s *Store) Scan(ctx context.Context, f Filter, fn func(*Record) error) error {
	if len(f.Types) == 0 && f.Meeting == "" && (!f.Since.IsZero() || !f.Until.IsZero()) {
		return s.scanTime(ctx, f, fn)
	}
	q := Query{Filter: f, Oldest: true, Limit: 2000, MaxScan: 50_000}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := s.Page(q)
		if err != nil {
			return err
		}
		for i := range p.Records {
			if err := fn(&p.Records[i]); err != nil {
				return err
			}
		}
		if p.Done {
			return nil
		}
		q.Cursor = p.Next
	}
}

func (s *Store) scanTime(ctx context.Context, f Filter, fn func(*Record) error) error {
	from := seqKey(0)
	if !f.Since.IsZero() {
		from = binary.BigEndian.AppendUint64(nil, uint64(max(f.Since.UnixMilli(), 0)))
	}
	until := uint64(1<<63 - 1)
	if !f.Until.IsZero() {
		until = uint64(max(f.Until.UnixMilli(), 0))
	}
	m := newMatcher(f)
	var batch []Record
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = batch[:0]
		var next []byte
		err := s.view(func(tx *bolt.Tx) error {
			r := newReader(tx)
			if r == nil {
				return nil
			}
			defer r.close()
			c := tx.Bucket(bDedupe).Cursor()
			k, v := c.Seek(from)
			for ; k != nil; k, v = c.Next() {
				if binary.BigEndian.Uint64(k[:8]) >= until {
					return nil
				}
				if len(batch) >= 2000 {
					next = append([]byte(nil), k...)
					return nil
				}
				rec, ok, err := r.get(binary.BigEndian.Uint64(v))
				if err != nil {
					return err
				}
				if ok && m.match(&rec) {
					batch = append(batch, rec)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i := range batch {
			if err := fn(&batch[i]); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		from = next
	}
}

// reader fetches events by sequence number inside one transaction, keeping the last few
// decoded blocks (pages of neighbouring events share blocks).
type reader struct {
	events *bolt.Bucket
	cache  [4]*block
	next   int
}

func newReader(tx *bolt.Tx) *reader {
	b := tx.Bucket(bEvents)
	if b == nil {
		return nil
	}
	return &reader{events: b}
}

// get returns the event seq with a Raw of its own: the cached blocks' memory is reused.
func (r *reader) get(seq uint64) (Record, bool, error) {
	for _, b := range r.cache {
		if rec, ok := b.get(seq); ok {
			rec.Raw = bytes.Clone(rec.Raw)
			return rec, true, nil
		}
	}
	c := r.events.Cursor()
	k, v := c.Seek(seqKey(seq))
	if k == nil || keySeq(k) > seq {
		k, v = c.Prev()
	}
	if k == nil {
		return Record{}, false, nil
	}
	buf := plainPool.Get().(*[]byte)
	b, err := decodeBlockInto(keySeq(k), v, buf)
	if err != nil {
		plainPool.Put(buf)
		return Record{}, false, err
	}
	if old := r.cache[r.next]; old != nil {
		old.recycle()
	}
	r.cache[r.next] = b
	r.next = (r.next + 1) % len(r.cache)
	rec, ok := b.get(seq)
	rec.Raw = bytes.Clone(rec.Raw)
	return rec, ok, nil
}

// close recycles the cached blocks; the reader is unusable afterwards.
func (r *reader) close() {
	for i, b := range r.cache {
		if b != nil {
			b.recycle()
			r.cache[i] = nil
		}
	}
}

// seqSource yields candidate sequence numbers in query order.
type seqSource interface{ next() (uint64, bool) }

// candidates picks the narrowest source for the query: the meeting index, the type index,
// or every event.
func (s *Store) candidates(r *reader, q Query) seqSource {
	tx := r.events.Tx()
	if q.Meeting == "" && len(q.Types) > 0 {
		codes := s.types.match(q.Types)
		srcs := make([]seqSource, 0, len(codes))
		for _, c := range codes {
			srcs = append(srcs, newIndexSource(tx.Bucket(bType), binary.BigEndian.AppendUint16(nil, c), q.Cursor, q.Oldest))
		}
		return &mergeSource{srcs: srcs, oldest: q.Oldest, heads: make([]uint64, len(srcs)), ok: make([]bool, len(srcs))}
	}
	at, end, ok := seqRange(r.events, q)
	if !ok {
		return &rangeSource{done: true}
	}
	if q.Meeting != "" {
		byKey := func(key string) seqSource {
			return &meetingSource{b: tx.Bucket(bMeeting), hash: meetingHash(key), cursor: q.Cursor, oldest: q.Oldest,
				at: s.epochs.of(at), end: s.epochs.of(end)}
		}
		if b := tx.Bucket(bUUIDs); b != nil {
			if v := b.Get([]byte(q.Meeting)); v != nil {
				// An occurrence: its events are filed under the meeting number, and those
				// that named it by uuid alone under the uuid.
				num, _ := uuidNumber(v)
				return &mergeSource{srcs: []seqSource{byKey(num), byKey(q.Meeting)}, oldest: q.Oldest, heads: make([]uint64, 2), ok: make([]bool, 2)}
			}
		}
		return byKey(q.Meeting)
	}
	step := -1
	if q.Oldest {
		step = 1
	}
	return &rangeSource{at: at, end: end, step: step}
}

// seqRange is the span of sequence numbers q may visit, in its order: from at to end, both
// included. ok is false when there is none.
func seqRange(events *bolt.Bucket, q Query) (at, end uint64, ok bool) {
	k, _ := events.Cursor().First()
	if k == nil {
		return 0, 0, false
	}
	first, last := keySeq(k), events.Sequence()
	switch {
	case q.Oldest:
		at = max(q.Cursor+1, first)
		return at, last, at <= last
	case q.Cursor == 0:
		return last, first, true
	case q.Cursor <= first:
		return 0, 0, false
	}
	return min(q.Cursor-1, last), first, true
}

// meetingSource walks one meeting's entries in the meeting index, an epoch at a time (see
// meetingKey), in query order.
type meetingSource struct {
	b       *bolt.Bucket
	hash    []byte
	cursor  uint64
	oldest  bool
	at, end uint64 // epochs, both included
	cur     *indexSource
	done    bool
}

func (s *meetingSource) next() (uint64, bool) {
	for !s.done {
		if s.cur == nil {
			s.cur = newIndexSource(s.b, meetingPrefix(s.at, s.hash), s.cursor, s.oldest)
		}
		if seq, ok := s.cur.next(); ok {
			return seq, true
		}
		s.cur = nil
		switch {
		case s.at == s.end:
			s.done = true
		case s.oldest:
			s.at++
		default:
			s.at--
		}
	}
	return 0, false
}

// rangeSource counts through consecutive sequence numbers.
type rangeSource struct {
	at, end uint64
	step    int
	done    bool
}

func (s *rangeSource) next() (uint64, bool) {
	if s.done || (s.step > 0 && s.at > s.end) || (s.step < 0 && s.at < s.end) || s.at == 0 {
		s.done = true
		return 0, false
	}
	v := s.at
	if s.step > 0 {
		s.at++
	} else {
		s.at--
	}
	return v, true
}

// indexSource walks the keys prefix+seq of an index bucket.
type indexSource struct {
	c      *bolt.Cursor
	prefix []byte
	oldest bool
	k      []byte
	begun  bool
	cursor uint64
}

func newIndexSource(b *bolt.Bucket, prefix []byte, cursor uint64, oldest bool) *indexSource {
	return &indexSource{c: b.Cursor(), prefix: prefix, oldest: oldest, cursor: cursor}
}

func (s *indexSource) next() (uint64, bool) {
	if !s.begun {
		s.begun = true
		if s.oldest {
			s.k, _ = s.c.Seek(binary.BigEndian.AppendUint64(bytes.Clone(s.prefix), s.cursor+1))
		} else {
			bound := s.cursor
			if bound == 0 {
				bound = ^uint64(0)
			}
			k, _ := s.c.Seek(binary.BigEndian.AppendUint64(bytes.Clone(s.prefix), bound))
			if k == nil {
				s.k, _ = s.c.Last()
			} else {
				s.k, _ = s.c.Prev()
			}
		}
	} else if s.oldest {
		s.k, _ = s.c.Next()
	} else {
		s.k, _ = s.c.Prev()
	}
	if s.k == nil || len(s.k) != len(s.prefix)+8 || !bytes.HasPrefix(s.k, s.prefix) {
		return 0, false
	}
	return keySeq(s.k), true
}

// mergeSource merges several ordered sources into one.
type mergeSource struct {
	srcs   []seqSource
	oldest bool
	heads  []uint64
	ok     []bool
	primed bool
}

func (m *mergeSource) next() (uint64, bool) {
	if !m.primed {
		m.primed = true
		for i, s := range m.srcs {
			m.heads[i], m.ok[i] = s.next()
		}
	}
	best := -1
	for i := range m.srcs {
		if !m.ok[i] {
			continue
		}
		if best < 0 || (m.oldest && m.heads[i] < m.heads[best]) || (!m.oldest && m.heads[i] > m.heads[best]) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	v := m.heads[best]
	m.heads[best], m.ok[best] = m.srcs[best].next()
	return v, true
}

// matcher checks the parts of a filter that the candidate source did not already ensure.
type matcher struct {
	f           Filter
	text        []byte
	participant string
	since       int64
	until       int64
}

func newMatcher(f Filter) *matcher {
	m := &matcher{f: f, participant: strings.ToLower(f.Participant), since: -1, until: -1}
	if f.Text != "" {
		m.text = bytes.ToLower([]byte(f.Text))
	}
	if !f.Since.IsZero() {
		m.since = f.Since.UnixMilli()
	}
	if !f.Until.IsZero() {
		m.until = f.Until.UnixMilli()
	}
	return m
}

func (m *matcher) match(r *Record) bool {
	ts := int64(r.TS)
	if (m.since >= 0 && ts < m.since) || (m.until >= 0 && ts >= m.until) {
		return false
	}
	if m.text != nil && !valuesContain(r.Raw, m.text) {
		return false
	}
	if m.f.Meeting == "" && len(m.f.Types) == 0 && m.participant == "" {
		return true
	}
	ev := r.Decode()
	if m.f.Meeting != "" {
		o := &ev.Payload.Object
		if !ev.IsMeetingLike() || (o.UUID != m.f.Meeting && string(o.ID) != m.f.Meeting) {
			return false
		}
	}
	if len(m.f.Types) > 0 && !MatchType(m.f.Types, ev.Type) {
		return false
	}
	if m.participant != "" {
		p := ev.Payload.Object.Participant
		if p == nil {
			return false
		}
		if !strings.Contains(strings.ToLower(p.UserName), m.participant) &&
			!strings.Contains(strings.ToLower(p.Email), m.participant) &&
			string(p.UserID) != m.f.Participant && p.ID != m.f.Participant && p.ParticipantUUID != m.f.Participant {
			return false
		}
	}
	return true
}

// LogRange returns the connection-log entries written while the newest event was between
// from and to (inclusive), oldest first: the markers history shows among those events.
func (s *Store) LogRange(from, to uint64) ([]LogEntry, error) {
	return s.readLog(func(c *bolt.Cursor) ([]byte, []byte) { return c.Seek(seqKey(from)) }, (*bolt.Cursor).Next,
		func(k []byte, n int) bool { return binary.BigEndian.Uint64(k[:8]) <= to })
}

// RecentLog returns the newest n connection-log entries, newest first.
func (s *Store) RecentLog(n int) ([]LogEntry, error) {
	return s.readLog((*bolt.Cursor).Last, (*bolt.Cursor).Prev, func(k []byte, got int) bool { return got < n })
}

// readLog walks the log from first, stepping with next while more(key, entries so far).
func (s *Store) readLog(first, next func(*bolt.Cursor) ([]byte, []byte), more func(k []byte, got int) bool) ([]LogEntry, error) {
	var out []LogEntry
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bLog)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := first(c); k != nil && more(k, len(out)); k, v = next(c) {
			var e LogEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			e.Seq = keySeq(k)
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Gaps returns the newest n recorded gaps, newest first, led by the gap going on now (if
// reception is down).
func (s *Store) Gaps(n int) ([]Gap, error) {
	var out []Gap
	if g, ok := s.OpenGap(); ok {
		out = append(out, g)
	}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bGaps)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			var g Gap
			if err := json.Unmarshal(v, &g); err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

// GapCount is the number of recorded (closed) gaps.
func (s *Store) GapCount() int {
	n := 0
	s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bGaps); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

// OpenGap reports the blind spot going on now: reception is down (or, on a database nobody
// is collecting into, stopped when the collector did).
func (s *Store) OpenGap() (Gap, bool) {
	var l linkState
	if s.w != nil {
		s.w.healthMu.Lock()
		l = s.w.linkView
		s.w.healthMu.Unlock()
	} else {
		s.view(func(tx *bolt.Tx) error {
			if meta := tx.Bucket(bMeta); meta != nil {
				json.Unmarshal(meta.Get(kLink), &l)
			}
			return nil
		})
		if l.Receiving {
			return Gap{From: l.LastAlive, Reason: "zoomwatch is not running"}, true
		}
	}
	if !l.Ever || l.Receiving || l.Since.IsZero() {
		return Gap{}, false
	}
	return Gap{From: l.Since, Reason: l.Reason}, true
}

// Size reports the database file's size and how much of it holds data.
func (s *Store) Size() (file, used int64) {
	s.view(func(tx *bolt.Tx) error {
		file = tx.Size()
		st := s.db.Stats()
		used = file - int64(st.FreeAlloc)
		return nil
	})
	if fi, err := os.Stat(s.opts.Path); err == nil {
		file = fi.Size()
	}
	return file, used
}
