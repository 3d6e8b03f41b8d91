package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"zoomwatch/feed"
	"zoomwatch/internal/cpupart"
	"zoomwatch/internal/numfmt"
)

const (
	// maxBatch bounds the inputs in one commit: large enough to amortise the fsync at
	// 100k events/s, small enough that one commit never holds the live state for long.
	maxBatch = 16384
	// aliveEvery is how often a live link's last sign of life is recorded, so that a crash
	// leaves a gap that starts close to when reception really stopped.
	aliveEvery = 5 * time.Second
	// housekeepEvery is how often retention and live-state expiry run.
	housekeepEvery = time.Minute
	// releaseEvery is how often the file's pages leave the resident size (releaseMapping):
	// what stays is what the writer touched since. Each page the writer touches maps up to
	// 64 KiB of its cached neighbours (the kernel's fault-around), so a collector at 200
	// events/s gathers megabytes a second, tens after a save of a busy live state; faulting
	// the hot pages back in costs little.
	releaseEvery = 2 * time.Second
	// pruneChunk is the most blocks one pruning transaction removes.
	pruneChunk = 16
)

// commitEvery is the shortest time from the start of one commit to the next while events
// trickle in: each commit costs two fsyncs and a page rewrite however few events it holds,
// and at a few hundred events a second a commit per event kept a fifth of a core busy. A
// flush is not held back, and under load commits take longer than this anyway.
var commitEvery = 20 * time.Millisecond // a test lengthens it

// LogEntry is one record of the connection log: a state transition, a gap, an anomalous
// frame, or a note (an SSH login, a storage problem).
type LogEntry struct {
	Seq uint64 `json:"-"`
	// AfterSeq is the newest event's sequence number when the entry was written: history
	// shows the entry right after that event.
	AfterSeq   uint64           `json:"after_seq"`
	At         time.Time        `json:"at"`
	Kind       string           `json:"kind"`
	Transition *feed.Transition `json:"transition,omitempty"`
	Gap        *Gap             `json:"gap,omitempty"`
	Anomaly    *feed.Anomaly    `json:"anomaly,omitempty"`
	Note       string           `json:"note,omitempty"`
}

const (
	LogTransition = "transition"
	LogGap        = "gap"
	LogAnomaly    = "anomaly"
	LogNote       = "note"
)

// Gap is a window in which zoomwatch was not receiving: Zoom never redelivers what happened
// in it.
type Gap struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to,omitzero"` // zero while the gap is still open
	Reason string    `json:"reason"`
	// Dropped counts events that arrived but could not be stored (the disk refused writes),
	// DroppedBad the bad frames kept for inspection that could not be.
	Dropped    uint64 `json:"dropped,omitempty"`
	DroppedBad uint64 `json:"dropped_bad,omitempty"`
}

// Open reports whether the gap is still going on.
func (g Gap) Open() bool { return g.To.IsZero() }

// Duration is the gap's length (up to now while it is open).
func (g Gap) Duration(now time.Time) time.Duration {
	if g.Open() {
		return now.Sub(g.From)
	}
	return g.To.Sub(g.From)
}

// Counts are running totals, persisted with every commit.
type Counts struct {
	Events     uint64 `json:"events"` // ever added, pruned ones included
	Duplicates uint64 `json:"duplicates"`
	Anomalies  uint64 `json:"anomalies"`
	Pruned     uint64 `json:"pruned,omitempty"` // events retention removed
}

// Stored is how many events the database holds now.
func (c Counts) Stored() uint64 { return c.Events - min(c.Pruned, c.Events) }

// Health is the writer's view of itself: whether events are being stored right now.
type Health struct {
	Storing       bool
	Err           string    // why not, when not storing
	Since         time.Time // when writes began to fail
	Backlog       int       // events waiting in memory for the disk
	Dropped       uint64    // events dropped because the backlog was full
	LastCommit    time.Time
	CommitLatency time.Duration // of the last commit, fsync included
	Counts        Counts
	// Listening is when a collector first received into this store: nothing before it was
	// listened to. Zero before that, and in stores from builds that did not keep it.
	Listening time.Time
}

// linkState is what the writer knows about reception, persisted so that a restart can tell
// when reception stopped.
type linkState struct {
	Ever      bool      `json:"ever"`           // the link was live at least once
	First     time.Time `json:"first,omitzero"` // when it first was
	Receiving bool      `json:"receiving"`      // live now (or was, when the process died)
	Since     time.Time `json:"since,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	LastAlive time.Time `json:"last_alive,omitzero"`
	// Restart: the gap open now began before this process started.
	Restart bool `json:"restart,omitempty"`
	// toldWhyNow: the reason of a gap open across a restart says why this process has not
	// received either. Not persisted: each process says it once.
	toldWhyNow bool
}

// runningAgain begins what a gap's reason says of the process that is running again.
const runningAgain = "; running again from "

type input struct {
	item  feed.Item
	src   Source
	id    feed.Identity
	note  string
	flush chan struct{} // closed once everything before it is committed
	prune chan struct{} // run retention to completion, then close it
	tally *Tally
	// outcome is what the commit under way decided for the event, counted in tally once
	// the commit is durable (a failed commit is retried and decides again).
	outcome outcome
}

type outcome uint8

const (
	outcomeNone outcome = iota
	outcomeAdded
	outcomeDuplicate
)

// Tally counts what happened to submitted events (import reports).
type Tally struct {
	Added, Duplicates, Dropped atomic.Uint64
}

type writer struct {
	s    *Store
	in   chan input
	quit chan struct{}
	done chan struct{}
	// The pprof labels (cpupart) of the writer's goroutines: cpu for its own work, liveCPU
	// while they apply events to the live state.
	cpu, liveCPU context.Context

	// closing orders submits before stop; closed is read without it too (isClosed), as a
	// pending stop blocks new readers of closing: Subscribe, waiting there while holding
	// subsMu, deadlocked a writer publishing and a submit waiting for that writer.
	closing sync.RWMutex
	closed  atomic.Bool

	// Owned by the writer goroutine.
	tail          *block // the newest block, possibly partial
	link          linkState
	sawTransition bool
	counts        Counts
	pending       []input // inputs a failed commit could not store, retried first
	spare         []input // the last batch's array, for the next
	// pendingEvents and pendingBad count the events and bad frames in pending, which a
	// refusing disk fills with up to BacklogMax events: counting them all again at every
	// input was quadratic.
	pendingEvents, pendingBad int
	dropGap                   *Gap // events dropped while the disk failed, recorded once it recovers
	retry                     time.Duration
	batchIDs                  map[feed.Identity]struct{}
	uuidsSeen                 map[string]time.Time // occurrences mapped to their number, and when
	uuidSweepAt               []byte               // where retention's next look at the mappings starts
	lastAliveSave             time.Time
	lastHousekeep             time.Time
	lastRelease               time.Time
	lastCommit                time.Time // when the last commit began (monotonic clock: commitEvery is real time)
	pruneMore                 bool
	liveSavedAt               time.Time // when the live state was last saved (real time, as liveSaveEvery)
	liveSaveDue               bool      // save it at the next commit, in that commit
	// liveStale: a failed commit's events are in the live state, and reading it back from
	// the file failed; the next commit reads it back first.
	liveStale bool
	// A save is captured in one commit (or when idle) and encoded beside the writer
	// (saveEncoding until saveDone delivers it), then written a part at a time by the
	// commits that follow, or by transactions of its own when idle (saveReady until then):
	// a busy account's save is tens of MiB of JSON, and the writer's transaction waited for
	// it.
	// Saves that must be in their commit (after a reload, with a gap, at close) are encoded
	// there, after the rest of the one in flight is written.
	saveEncoding bool
	saveDone     chan liveSave
	saveReady    *liveSave
	committedSeq uint64 // the newest event committed

	healthMu sync.Mutex
	health   Health
	linkView linkState // the committed link state, for readers
}

func newWriter(s *Store) *writer {
	w := &writer{
		s:         s,
		cpu:       cpupart.In(cpupart.Store),
		liveCPU:   cpupart.In(cpupart.Live),
		in:        make(chan input, 16384),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		batchIDs:  map[feed.Identity]struct{}{},
		uuidsSeen: map[string]time.Time{},
	}
	w.health.Storing = true
	_ = s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		json.Unmarshal(meta.Get(kLink), &w.link)
		json.Unmarshal(meta.Get(kCounts), &w.counts)
		w.committedSeq = tx.Bucket(bEvents).Sequence()
		if k, v := tx.Bucket(bEvents).Cursor().Last(); k != nil {
			if b, err := decodeBlock(keySeq(k), v); err == nil && len(b.recs) < blockMax {
				w.tail = b
			}
		}
		return nil
	})
	w.health.Counts, w.health.Listening = w.counts, w.link.First
	w.linkView = w.link
	w.lastHousekeep = s.now()
	w.liveSavedAt = time.Now()
	w.liveSaveDue = !s.unsaved.Empty() // events were applied at open: save them soon
	w.saveDone = make(chan liveSave, 1)
	return w
}

// Submit hands an item from the feed to the writer. It blocks only while the writer's queue
// is full (back-pressure on the feed), never on a failing disk.
func (s *Store) Submit(ctx context.Context, it feed.Item) error {
	in := input{item: it, src: SourceWebSocket}
	if it.Event != nil {
		in.id = it.Event.Identity()
	}
	return s.submit(ctx, in)
}

// Prune applies retention now and returns when it is done (the writer also does this on its
// own every minute, a chunk at a time between commits).
func (s *Store) Prune(ctx context.Context) error {
	done := make(chan struct{})
	return s.submitAndWait(ctx, input{prune: done}, done, nil)
}

// Note adds a free-text entry to the connection log (SSH logins, operator notes).
func (s *Store) Note(ctx context.Context, text string) error {
	return s.submit(ctx, input{note: text, item: feed.Item{Received: s.now()}})
}

// Flush returns once everything submitted before it is committed (or dropped).
func (s *Store) Flush(ctx context.Context) error {
	done := make(chan struct{})
	return s.submitAndWait(ctx, input{flush: done}, done, nil)
}

// NotStoringError says the database has refused writes for a while: what was submitted
// waits in memory, and a batch job (an import, a tail being stopped) should give up.
type NotStoringError struct {
	Err     string // the write's error
	Since   time.Time
	Backlog int // events waiting in memory
}

func (e *NotStoringError) Error() string {
	return fmt.Sprintf("the database has refused writes since %s (%s); %d events are not stored", e.Since.Format("15:04:05"), e.Err, e.Backlog)
}

// giveUpAfter is how long a batch job waits for a refusing disk before it gives up.
var giveUpAfter = 5 * time.Second // a test shortens it

// notStoring reports, as a *NotStoringError, a disk that has refused writes for giveUpAfter.
func (s *Store) notStoring() error {
	h := s.Health()
	if h.Storing || s.now().Sub(h.Since) < giveUpAfter {
		return nil
	}
	return &NotStoringError{Err: h.Err, Since: h.Since, Backlog: h.Backlog}
}

// FlushOrGiveUp is Flush for batch jobs: it returns a *NotStoringError instead of waiting
// on a disk that has refused writes for a few seconds (Flush waits until it recovers).
func (s *Store) FlushOrGiveUp(ctx context.Context) error {
	done := make(chan struct{})
	return s.submitAndWait(ctx, input{flush: done}, done, s.notStoring)
}

// submitAndWait submits in and waits until the writer closes done, or until giveUp (when
// not nil, asked every 100 ms) returns an error.
func (s *Store) submitAndWait(ctx context.Context, in input, done <-chan struct{}, giveUp func() error) error {
	if err := s.submit(ctx, in); err != nil {
		return err
	}
	var check <-chan time.Time // nil: never
	if giveUp != nil {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		check = t.C
	}
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-check:
			if err := giveUp(); err != nil {
				return err
			}
		}
	}
}

func (s *Store) submit(ctx context.Context, in input) error {
	w := s.w
	if w == nil {
		return errors.New("store: opened read-only")
	}
	w.closing.RLock()
	defer w.closing.RUnlock()
	if w.closed.Load() {
		return ErrClosed
	}
	select {
	case w.in <- in:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Health reports whether events are being stored.
func (s *Store) Health() Health {
	if s.w == nil {
		var h Health
		s.view(func(tx *bolt.Tx) error {
			if meta := tx.Bucket(bMeta); meta != nil {
				var l linkState
				json.Unmarshal(meta.Get(kCounts), &h.Counts)
				json.Unmarshal(meta.Get(kLink), &l)
				h.Listening = l.First
			}
			return nil
		})
		return h
	}
	s.w.healthMu.Lock()
	defer s.w.healthMu.Unlock()
	return s.w.health
}

func (w *writer) stop() {
	w.closing.Lock()
	w.closed.Store(true)
	w.closing.Unlock()
	close(w.quit)
	<-w.done
}

func (w *writer) run() {
	cpupart.Set(w.cpu)
	defer close(w.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		batch, retrying := w.pending, w.pending != nil
		w.pending = nil
		if batch == nil {
			batch, w.spare = w.spare[:0], nil
		}
		if len(batch) == 0 && !w.pruneMore {
			select {
			case in := <-w.in:
				batch = append(batch, in)
			case <-tick.C:
				w.spare = batch
				w.housekeep()
				continue
			case <-w.quit:
				w.final()
				return
			}
		}
		if len(batch) > 0 && !retrying {
			w.gather(&batch)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case in := <-w.in:
				batch = append(batch, in)
			default:
				break drain
			}
		}
		if len(batch) == 0 { // only pruning to do, and nothing waiting
			w.spare = batch
			w.prune()
			continue
		}
		// From the start: a commit that takes longer than commitEvery (under load) is
		// followed by the next at once.
		w.lastCommit = time.Now()
		if err := w.commit(batch); err != nil {
			w.failed(batch, err)
			if !w.waitRetry() {
				w.final()
				return
			}
			continue
		}
		clear(batch) // let the events go
		w.spare = batch[:0]
	}
}

// gather adds to batch what arrives until commitEvery has passed since the last commit began,
// unless something is waiting for the commit (a flush, a prune), the batch is full or the
// store is closing.
func (w *writer) gather(batch *[]input) {
	wait := commitEvery - time.Since(w.lastCommit)
	if wait <= 0 || urgent((*batch)[len(*batch)-1]) {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for len(*batch) < maxBatch {
		select {
		case in := <-w.in:
			*batch = append(*batch, in)
			if urgent(in) {
				return
			}
		case <-t.C:
			return
		case <-w.quit:
			return
		}
	}
}

// urgent: someone waits for this input's commit.
func urgent(in input) bool { return in.flush != nil || in.prune != nil }

// final commits what is queued when the store closes.
func (w *writer) final() {
	batch := w.pending
	for {
		select {
		case in := <-w.in:
			batch = append(batch, in)
			continue
		default:
		}
		break
	}
	// The next open then has no events to apply again. Not after a failed commit: the live
	// state holds its events, which are not stored.
	w.liveSaveDue = true
	if len(batch) == 0 {
		if w.collectSave(true); w.liveSaveWanted() {
			w.saveAtClose()
		}
		return
	}
	if err := w.commit(batch); err != nil {
		events, _ := countKinds(batch)
		w.s.log.Error("store: events could not be written at shutdown", "events", events, "err", err)
		for _, in := range batch {
			for _, c := range []chan struct{}{in.flush, in.prune} {
				if c != nil {
					close(c)
				}
			}
		}
	}
}

// countKinds counts the events and the bad frames in batch.
func countKinds(batch []input) (events, bad int) {
	for _, in := range batch {
		switch {
		case in.item.Event != nil:
			events++
		case in.item.Anomaly != nil:
			bad++
		}
	}
	return events, bad
}

// failed keeps a batch that could not be committed, to retry it.
func (w *writer) failed(batch []input, err error) {
	w.pending = batch
	w.pendingEvents, w.pendingBad = countKinds(batch)
	w.healthMu.Lock()
	if w.health.Storing {
		w.health.Since = w.s.now()
		w.s.log.Error("store: commit failed; keeping events in memory and retrying", "err", err)
	}
	w.health.Storing, w.health.Err = false, err.Error()
	w.healthMu.Unlock()
	w.trimBacklog()
	if w.retry == 0 {
		w.retry = 100 * time.Millisecond
	} else if w.retry *= 2; w.retry > 5*time.Second {
		w.retry = 5 * time.Second
	}
}

// waitRetry waits before the next attempt, still taking inputs so that the feed never blocks
// on a broken disk. It returns false when the store is closing.
func (w *writer) waitRetry() bool {
	t := time.NewTimer(w.retry)
	defer t.Stop()
	for {
		select {
		case in := <-w.in:
			w.pending = append(w.pending, in)
			events, bad := countKinds(w.pending[len(w.pending)-1:])
			w.pendingEvents, w.pendingBad = w.pendingEvents+events, w.pendingBad+bad
			w.trimBacklog()
		case <-t.C:
			return true
		case <-w.quit:
			return false
		}
	}
}

// trimBacklog drops the oldest events beyond BacklogMax and the oldest bad frames beyond
// backlogBadMax (up to 64 KiB each), remembering them in a gap. Other inputs (transitions,
// flushes) are small and kept.
func (w *writer) trimBacklog() {
	over, overBad := w.pendingEvents-w.s.opts.BacklogMax, w.pendingBad-backlogBadMax
	if over <= 0 && overBad <= 0 {
		w.setBacklog()
		return
	}
	kept := w.pending[:0]
	for _, in := range w.pending {
		drop := false
		switch {
		case over > 0 && in.item.Event != nil:
			over--
			drop, w.pendingEvents = true, w.pendingEvents-1
			if in.tally != nil {
				in.tally.Dropped.Add(1)
			}
		case overBad > 0 && in.item.Anomaly != nil:
			overBad--
			drop, w.pendingBad = true, w.pendingBad-1
		}
		if !drop {
			kept = append(kept, in)
			continue
		}
		if w.dropGap == nil {
			w.dropGap = &Gap{From: in.item.Received}
		}
		w.dropGap.To = in.item.Received
		if in.item.Event != nil {
			w.dropGap.Dropped++
		} else {
			w.dropGap.DroppedBad++
		}
	}
	clear(w.pending[len(kept):])
	w.pending = kept
	w.setBacklog()
}

// backlogBadMax bounds the bad frames kept in memory while the disk refuses writes.
const backlogBadMax = 1000

func (w *writer) setBacklog() {
	w.healthMu.Lock()
	w.health.Backlog = w.pendingEvents
	if w.dropGap != nil {
		w.health.Dropped = w.dropGap.Dropped
	}
	w.healthMu.Unlock()
}

// saved is the writer state a failed commit must roll back.
type saved struct {
	tail   *block
	link   linkState
	counts Counts
	saw    bool
}

func (w *writer) save() saved {
	var t *block
	if w.tail != nil {
		t = &block{first: w.tail.first, recs: w.tail.recs[:len(w.tail.recs):len(w.tail.recs)]}
	}
	return saved{t, w.link, w.counts, w.sawTransition}
}

// commit stores a batch in one transaction and publishes it once it is durable.
func (w *writer) commit(batch []input) error {
	s := w.s
	start := s.now()
	before := w.save()
	pub := &Batch{}
	var flushes, prunes []chan struct{}
	// captured: the commit took a save (written now, or encoded beside the writer);
	// wroteSave: it wrote parts (how many) of one encoded beside the writer; wroteSync: it
	// wrote its own.
	liveChanged, captured, wroteSave, wroteSync := false, false, false, false
	var applied uint64
	parts := 0

	// A commit that must save (after a reload, a gap) writes the save encoded beside it
	// first: wait for it here, outside liveMu. Any transition may open or close a gap.
	w.collectSave(w.liveSaveDue || w.dropGap != nil || slices.ContainsFunc(batch, func(in input) bool { return in.item.Transition != nil }))
	// The batch is applied to the live state inside the transaction, so liveMu is held until
	// the commit is durable, or undone: no viewer may see an event before it is stored
	// (store, then show), which the fsync at the end of the transaction decides.
	s.liveMu.Lock()
	if w.liveStale {
		w.reloadLiveLocked()
	}
	err := s.update(func(tx *bolt.Tx) error {
		c := newTxCtx(tx)
		c.added = make([]added, 0, len(batch))
		pub.Records = make([]Record, 0, len(batch))
		clear(w.batchIDs)
		// First, in order, what decides where things go: which events are new, their
		// sequence numbers and blocks, the connection log.
		if w.dropGap != nil {
			g := *w.dropGap
			var lost []string
			if g.Dropped > 0 {
				lost = append(lost, numfmt.Plural(g.Dropped, "event"))
			}
			if g.DroppedBad > 0 {
				lost = append(lost, numfmt.Plural(g.DroppedBad, "bad frame"))
			}
			g.Reason = fmt.Sprintf("%s arrived but could not be stored (%s)", strings.Join(lost, " and "), w.health.Err)
			if err := w.addGap(c, pub, g); err != nil {
				return err
			}
			if g.Dropped > 0 { // bad frames alone change nothing that is shown as live
				c.live = append(c.live, liveOp{gap: &Gap{From: g.From, To: g.To, Reason: "events not stored"}})
			}
		}
		for i := range batch {
			in := &batch[i]
			switch {
			case in.flush != nil:
				flushes = append(flushes, in.flush)
			case in.prune != nil:
				prunes = append(prunes, in.prune)
			case in.item.Event != nil:
				if err := w.addEvent(c, pub, in); err != nil {
					return err
				}
			case in.item.Anomaly != nil:
				w.counts.Anomalies++
				if err := w.addLog(c, pub, LogEntry{At: in.item.Received, Kind: LogAnomaly, Anomaly: in.item.Anomaly}); err != nil {
					return err
				}
			case in.item.Transition != nil:
				if err := w.addTransition(c, pub, *in.item.Transition); err != nil {
					return err
				}
			case in.note != "":
				if err := w.addLog(c, pub, LogEntry{At: in.item.Received, Kind: LogNote, Note: in.note}); err != nil {
					return err
				}
			}
		}
		// The save encoded beside the writer goes first, a part per commit, or all of what
		// is left of it before a save in this commit: saves are written in order.
		c.saveSync = w.liveSaveDue || c.hasGap()
		if c.saveSync && w.saveEncoding {
			w.collectSave(true) // not foreseen above; rare
		}
		var err error
		if parts, err = w.writeReadySave(tx, c.saveSync || w.saveLagging()); err != nil {
			return err
		}
		wroteSave = parts > 0
		// applyLive takes the batch before it captures a save: a save includes its last event.
		c.applied = c.events.Sequence()
		due := c.saveSync || time.Since(w.liveSavedAt) >= liveSaveEvery || s.unsaved.Events()+len(c.added) >= liveSaveEvents
		c.saveLive = due && !w.saveEncoding && (w.saveReady == nil || parts == len(w.saveReady.parts))
		liveRes, err := c.flushAndApply(w)
		w.saveEncoding = w.saveEncoding || liveRes.encoding
		if err != nil {
			return err
		}
		liveChanged, captured, applied = liveRes.changed, c.saveLive, c.applied
		if wroteSync = len(liveRes.save) > 0; wroteSync {
			if err := writeLive(tx, liveRes.save); err != nil {
				return err
			}
		}
		if w.link.Receiving {
			w.link.LastAlive = start
		}
		if err := w.saveMeta(tx); err != nil {
			return err
		}
		if s.opts.commitHook != nil {
			return s.opts.commitHook()
		}
		return nil
	})
	if err != nil {
		w.tail, w.link, w.counts, w.sawTransition = before.tail, before.link, before.counts, before.saw
		s.types.rollback()
		clear(w.uuidsSeen) // it may name mappings the failed transaction was to write
		w.reloadLiveLocked()
		s.liveMu.Unlock()
		return err
	}
	if liveChanged {
		s.liveVer++
	}
	s.liveMu.Unlock()
	s.types.commit()
	for i := range batch {
		if in := &batch[i]; in.tally != nil {
			switch in.outcome {
			case outcomeAdded:
				in.tally.Added.Add(1)
			case outcomeDuplicate:
				in.tally.Duplicates.Add(1)
			}
		}
	}
	if wroteSave {
		w.wroteParts(parts)
	}
	if wroteSave && w.saveReady == nil || wroteSync {
		// A save rewrites the live records, on a busy account most of them: tens of MiB of
		// the file that would otherwise stay in the resident size until the next release.
		// Once it is all written: each release makes the commits after it fault in again
		// the pages they touch.
		s.releaseMapping()
	}
	now := s.now()
	w.lastAliveSave = now
	w.dropGap, w.retry = nil, 0
	w.committedSeq = applied
	if captured {
		w.liveSavedAt = time.Now()
	}
	if wroteSync {
		w.liveSaveDue = false
	}
	pub.Committed, pub.LiveChanged = now, liveChanged
	w.healthMu.Lock()
	if !w.health.Storing {
		s.log.Info("store: writing again", "after", now.Sub(w.health.Since))
	}
	w.health = Health{Storing: true, LastCommit: now, CommitLatency: now.Sub(start), Counts: w.counts, Listening: w.link.First}
	w.linkView = w.link
	w.healthMu.Unlock()
	s.publish(pub)
	for _, f := range flushes {
		close(f)
	}
	for _, p := range prunes {
		for w.pruneMore = true; w.pruneMore; {
			w.prune()
		}
		close(p)
	}
	return nil
}

// reloadLive resets the live state to what is committed, after a failed commit applied
// events that were not stored.
func (w *writer) reloadLive() {
	w.s.liveMu.Lock()
	defer w.s.liveMu.Unlock()
	w.reloadLiveLocked()
}

// reloadLiveLocked is reloadLive for a caller that holds liveMu.
func (w *writer) reloadLiveLocked() {
	s := w.s
	// A save captured before is of a state that may hold the failed batch: wait for it and
	// drop it (no encoding outlives a reload). The reloaded state's unsaved changes include
	// whatever it had.
	if w.saveEncoding {
		<-w.saveDone
		w.saveEncoding = false
	}
	w.saveReady = nil
	err := s.view(func(tx *bolt.Tx) error {
		st, unsaved, err := readLive(tx)
		if err == nil {
			s.state, s.unsaved = st, unsaved
			s.reportFaults()
			s.snapChanges.All()
			s.liveVer++
			w.liveSaveDue = true
		}
		return err
	})
	if err != nil && !w.liveStale {
		s.log.Error("store: could not read the live state back after a failed commit; the panes may show events not stored until it can be (tried again at each commit)", "err", err)
	}
	w.liveStale = err != nil
}

// reportFaults logs the events the live state failed on (see live.State.Apply), and
// forgets them. The caller holds liveMu, or has the store to itself.
func (s *Store) reportFaults() {
	for _, f := range s.state.Faults {
		s.log.Error("live state: an event could not be applied to the panes, which may be wrong about its meeting until it ends; the event is stored",
			"type", f.Event.Type, "meeting", f.Event.MeetingKey(), "error", f.Panic)
	}
	if n := s.state.FaultsMore; n > 0 {
		s.log.Error("live state: more events could not be applied to the panes", "events", n)
	}
	s.state.Faults, s.state.FaultsMore = nil, 0
}

// parallelMin is the smallest batch whose live state is applied beside the puts: below it,
// handing work to another goroutine costs more than it saves.
const parallelMin = 32

// txCtx holds the buckets of one write transaction, the blocks it changed, the events it
// adds and what they do to the live state.
type txCtx struct {
	tx                                            *bolt.Tx
	events, dedupe, typ, meeting, uuids, log, gap *bolt.Bucket
	dirty                                         []*block
	encoded                                       [][]byte // dirty, encoded
	added                                         []added
	live                                          []liveOp
	// applied is the newest event's sequence number once the batch is stored; saveLive
	// says whether this commit saves the live state.
	applied  uint64
	saveLive bool
	// saveSync: the save is encoded and written in this commit (a gap, a reload, close),
	// not beside the writer.
	saveSync bool
}

// hasGap reports whether the batch marks a gap in the live state: a commit with one saves
// the live state, as open applies again only events (replayLive).
func (c *txCtx) hasGap() bool {
	return slices.ContainsFunc(c.live, func(op liveOp) bool { return op.gap != nil })
}

// added is an event the batch stores, with what its index entries need.
type added struct {
	ev   *feed.Event
	id   feed.Identity
	seq  uint64
	code uint16 // of its type
}

// liveOp is one change to the live state, in batch order: an event to apply, or a gap.
type liveOp struct {
	ev  *feed.Event
	gap *Gap
	// restart: the gap spans a restart, which marks the live state uncertain whatever its
	// length (see live.State.MarkGap).
	restart bool
}

type liveResult struct {
	changed  bool
	save     liveBatch // a save to write in this commit
	encoding bool      // a save is being encoded beside the writer, for the next commit
	err      error
}

// liveSave is a save encoded beside the writer, cut into parts (splitSave): those not yet
// written. events is how many events it holds that the saved state did not.
type liveSave struct {
	parts  []liveOverlay
	events int
	err    error
}

// collectSave takes the save encoded beside the writer if it is done or, with wait, once
// it is. It must not wait while holding liveMu: viewers would wait too.
func (w *writer) collectSave(wait bool) {
	if !w.saveEncoding {
		return
	}
	var r liveSave
	if wait {
		r = <-w.saveDone
	} else {
		select {
		case r = <-w.saveDone:
		default:
			return
		}
	}
	w.saveEncoding, w.saveReady = false, &r
}

// writeReadySave writes the next part of the save collected, if any, or with all every
// part left, and returns how many it wrote. Once they are committed, wroteParts drops them.
func (w *writer) writeReadySave(tx *bolt.Tx, all bool) (int, error) {
	r := w.saveReady
	switch {
	case r == nil:
		return 0, nil
	case r.err != nil:
		return 0, r.err
	}
	n := 1
	if all {
		n = len(r.parts)
	}
	for _, p := range r.parts[:n] {
		if err := p.writeTo(tx.Bucket(bLive)); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// saveLagging reports whether the save being written a part per commit and the changes
// since hold twice liveSaveEvents or more: then the rest of it goes in this commit, or
// under heavy load a crash could leave ever more events to apply again. The caller holds
// liveMu.
func (w *writer) saveLagging() bool {
	return w.saveReady != nil && w.saveReady.events+w.s.unsaved.Events() >= 2*liveSaveEvents
}

// wroteParts drops the first n parts of the save collected: they are committed.
func (w *writer) wroteParts(n int) {
	if w.saveReady.parts = w.saveReady.parts[n:]; len(w.saveReady.parts) == 0 {
		w.saveReady = nil
	}
}

// flushAndApply does the two jobs that follow the batch's decisions, side by side on a
// machine's two cores when the batch is large enough: the live state takes the batch and
// encodes its changes, while this goroutine encodes the blocks and puts them and the index
// entries (the transaction is this goroutine's alone).
func (c *txCtx) flushAndApply(w *writer) (liveResult, error) {
	// The blocks are encoded by whichever of the two is done first (both, when they finish
	// together): which one takes longer depends on the account.
	c.encoded = make([][]byte, len(c.dirty))
	var next atomic.Int64
	encode := func() {
		for i := int(next.Add(1) - 1); i < len(c.dirty); i = int(next.Add(1) - 1) {
			c.encoded[i] = encodeBlock(c.dirty[i].recs)
		}
	}
	var r liveResult
	if len(c.added) < parallelMin {
		r = c.applyLive(w)
		if err := c.putIndexes(w); err != nil {
			return r, err
		}
		encode()
	} else {
		done := make(chan liveResult, 1)
		go func() {
			r := c.applyLive(w)
			encode()
			done <- r
		}()
		err := c.putIndexes(w)
		if err == nil {
			encode()
		}
		r = <-done // the live state is left alone before the caller releases liveMu
		if err != nil {
			return r, err
		}
	}
	if r.err != nil {
		return r, r.err
	}
	for i, b := range c.dirty {
		if err := c.events.Put(seqKey(b.first), c.encoded[i]); err != nil {
			return r, err
		}
	}
	return r, nil
}

// applyLive applies the batch to the live state and, when the commit saves it, encodes what
// changed since the last save. The caller holds liveMu. Its CPU time, and that of the
// encoding it starts, counts as the live state's (cpupart); then the writer's again.
func (c *txCtx) applyLive(w *writer) liveResult {
	cpupart.Set(w.liveCPU)
	defer cpupart.Set(w.cpu)
	s := w.s
	var r liveResult
	for _, op := range c.live {
		var changed bool
		if op.ev != nil {
			changed = s.state.Apply(op.ev)
		} else {
			changed = s.state.MarkGap(op.gap.From, op.gap.To, op.gap.Reason, op.restart)
		}
		r.changed = r.changed || changed
	}
	s.reportFaults()
	s.noteLiveChanges(len(c.added))
	switch {
	case c.saveLive && c.saveSync:
		r.save, r.err = liveChanges(s.state, s.unsaved.Take(), c.applied)
	case c.saveLive:
		s.startEncode(w.saveDone, c.applied)
		r.encoding = true
	}
	return r
}

// startEncode captures what changed since the last save (with applied, the newest event the
// state includes) and encodes it beside the writer, for done. The caller holds liveMu.
func (s *Store) startEncode(done chan<- liveSave, applied uint64) {
	events := s.unsaved.Events()
	d, hook := s.unsaved.Take(), s.opts.encodeHook
	st := captureLive(s.state, d)
	go func() {
		batch, err := liveChanges(st, d, applied)
		var parts []liveOverlay
		if err == nil {
			parts, err = splitSave(batch)
		}
		if hook != nil {
			hook()
		}
		done <- liveSave{parts, events, err}
	}()
}

type kv struct{ k, v []byte }

func newTxCtx(tx *bolt.Tx) *txCtx {
	c := &txCtx{tx: tx, events: tx.Bucket(bEvents), dedupe: tx.Bucket(bDedupe), typ: tx.Bucket(bType),
		meeting: tx.Bucket(bMeeting), uuids: tx.Bucket(bUUIDs), log: tx.Bucket(bLog), gap: tx.Bucket(bGaps)}
	// Keys that mostly arrive in order fill their pages instead of splitting them in half.
	c.events.FillPercent = 1
	c.dedupe.FillPercent = 0.95
	c.typ.FillPercent = 0.9
	return c
}

func (c *txCtx) markDirty(b *block) {
	if n := len(c.dirty); n == 0 || c.dirty[n-1] != b {
		c.dirty = append(c.dirty, b)
	}
}

// putIndexes writes the added events' index entries, in key order: consecutive puts then
// land in the same B-tree leaves, which bbolt keeps materialised for the transaction.
func (c *txCtx) putIndexes(w *writer) error {
	n := len(c.added)
	dedupeKV, typKeys, mKeys := make([]kv, 0, n), make([][]byte, 0, n), make([][]byte, 0, n)
	var uuidKV []kv
	now := w.s.now()
	// The keys are cut from one allocation per batch: bbolt holds on to them until commit.
	arena := make([]byte, 0, n*(8+10+20))
	cut := func(from int) []byte { return arena[from:len(arena):len(arena)] }
	for i := range c.added {
		a := &c.added[i]
		at := len(arena)
		arena = binary.BigEndian.AppendUint64(arena, a.seq)
		dedupeKV = append(dedupeKV, kv{a.id[:], cut(at)})
		at = len(arena)
		arena = appendTypeKey(arena, a.code, a.seq)
		typKeys = append(typKeys, cut(at))
		if k := meetingIndexKey(a.ev); k != "" {
			at = len(arena)
			arena = w.s.epochs.appendKey(arena, meetingHash(k), a.seq)
			mKeys = append(mKeys, cut(at))
			if o := &a.ev.Payload.Object; o.UUID != "" && o.ID != "" && !w.knownUUID(o.UUID, now) {
				uuidKV = append(uuidKV, kv{[]byte(o.UUID), uuidValue(string(o.ID), now)})
			}
		}
	}
	for _, ix := range []struct {
		b   *bolt.Bucket
		kvs []kv
	}{{c.dedupe, dedupeKV}, {c.uuids, uuidKV}} {
		slices.SortFunc(ix.kvs, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
		for _, e := range ix.kvs {
			if err := ix.b.Put(e.k, e.v); err != nil {
				return err
			}
		}
	}
	for _, ix := range []struct {
		b    *bolt.Bucket
		keys [][]byte
	}{{c.typ, typKeys}, {c.meeting, mKeys}} {
		slices.SortFunc(ix.keys, bytes.Compare)
		for _, k := range ix.keys {
			if err := ix.b.Put(k, empty); err != nil {
				return err
			}
		}
	}
	return nil
}

var empty = []byte{}

// addEvent decides whether the event is new and, if so, gives it its sequence number and
// its place in a block; flushAndApply does the rest.
func (w *writer) addEvent(c *txCtx, pub *Batch, in *input) error {
	ev := in.item.Event
	if _, dup := w.batchIDs[in.id]; dup || c.dedupe.Get(in.id[:]) != nil {
		w.counts.Duplicates++
		in.outcome = outcomeDuplicate
		return nil
	}
	w.batchIDs[in.id] = struct{}{}
	seq, err := c.events.NextSequence()
	if err != nil {
		return err
	}
	rec := Record{Seq: seq, Received: in.item.Received, Source: in.src, TS: ev.TS, Raw: ev.Raw, Event: ev}
	if w.tail == nil || len(w.tail.recs) >= blockMax || w.tail.last()+1 != seq {
		w.tail = &block{first: seq}
	}
	w.tail.recs = append(w.tail.recs, rec)
	c.markDirty(w.tail)
	code, err := w.s.types.code(c.tx, ev.Type)
	if err != nil {
		return err
	}
	c.added = append(c.added, added{ev: ev, id: in.id, seq: seq, code: code})
	c.live = append(c.live, liveOp{ev: ev})
	w.counts.Events++
	in.outcome = outcomeAdded
	pub.Records = append(pub.Records, rec)
	return nil
}

// meetingIndexKey is the name the meeting index files an event under: the meeting's number
// when it has one (what people search for, and shared by a recurring meeting's occurrences;
// the uuid of an occurrence maps to it through the uuids bucket), else its uuid.
func meetingIndexKey(ev *feed.Event) string {
	if !ev.IsMeetingLike() {
		return ""
	}
	o := &ev.Payload.Object
	if o.ID != "" {
		return string(o.ID)
	}
	return o.UUID
}

func typeKey(code uint16, seq uint64) []byte {
	return appendTypeKey(make([]byte, 0, 10), code, seq)
}

func appendTypeKey(b []byte, code uint16, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint16(b, code), seq)
}

// meetingHash names a meeting in the index in 8 bytes; collisions are filtered when reading.
func meetingHash(key string) []byte {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum(nil)
}

// meetingEpochs is how the meeting index is cut into epochs of 2^n sequence numbers: a key
// is epoch(4) + meetingHash(8) + seq(8). New entries then land in the newest epoch's pages,
// rather than anywhere in an index as big as the history: on an account with thousands of
// meetings, a commit used to rewrite a page per event. A query by meeting seeks once per
// epoch. The smaller the epoch, the fewer pages a busy commit rewrites, and the more seeks a
// query makes. Each file keeps the size it was created with (kMeetingEpochs).
type meetingEpochs uint

// newFileMeetingEpochs: an epoch of 2,048 events spans about 20 pages. With epochs of
// 16,384 (about 150 pages), a commit of a few hundred events on a busy account rewrote
// nearly all of them: 60 % of the pages it wrote, and the allocations of bbolt reading them.
// A query by meeting over a million events seeks 489 times.
var newFileMeetingEpochs meetingEpochs = 11 // tests make epochs smaller

// legacyMeetingEpochs is the size of files written before kMeetingEpochs.
const legacyMeetingEpochs meetingEpochs = 14

func (e meetingEpochs) of(seq uint64) uint64 { return seq >> e }

func (e meetingEpochs) key(key string, seq uint64) []byte {
	return e.hashedKey(meetingHash(key), seq)
}

func (e meetingEpochs) hashedKey(hash []byte, seq uint64) []byte {
	return e.appendKey(make([]byte, 0, 20), hash, seq)
}

func (e meetingEpochs) appendKey(b, hash []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(appendMeetingPrefix(b, e.of(seq), hash), seq)
}

func meetingPrefix(epoch uint64, hash []byte) []byte {
	return appendMeetingPrefix(make([]byte, 0, 20), epoch, hash)
}

func appendMeetingPrefix(b []byte, epoch uint64, hash []byte) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(epoch)), hash...)
}

// uuidValue is an occurrence's mapping: its meeting number, then (after a NUL) when it was
// last heard of (within a day, knownUUID), by which retention forgets it (pruneUUIDs).
// Older stores hold the number alone.
func uuidValue(number string, seen time.Time) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(number), 0), uint64(seen.Unix()))
}

// uuidNumber reads a mapping's meeting number, and when it was last heard of (zero in the
// mappings of older stores).
func uuidNumber(v []byte) (string, time.Time) {
	num, seen, ok := bytes.Cut(v, []byte{0})
	if !ok || len(seen) != 8 {
		return string(v), time.Time{}
	}
	return string(num), time.Unix(int64(binary.BigEndian.Uint64(seen)), 0)
}

// knownUUID reports whether the uuid → number mapping was written lately, and remembers that
// it is now. A mapping is written again a day after: the time it keeps is then when the
// occurrence was last heard of, give or take a day, which retention goes by (a recording
// trashed 30 days after its meeting keeps its occurrence's mapping). A repeat Put of the
// same mapping is harmless.
func (w *writer) knownUUID(uuid string, now time.Time) bool {
	if at, ok := w.uuidsSeen[uuid]; ok && now.Sub(at) < 24*time.Hour {
		return true
	}
	if len(w.uuidsSeen) >= 50_000 {
		clear(w.uuidsSeen)
	}
	w.uuidsSeen[uuid] = now
	return false
}

func (w *writer) lastSeq(c *txCtx) uint64 { return c.events.Sequence() }

func (w *writer) addLog(c *txCtx, pub *Batch, e LogEntry) error {
	seq, err := c.log.NextSequence()
	if err != nil {
		return err
	}
	e.Seq, e.AfterSeq = seq, w.lastSeq(c)
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	k := binary.BigEndian.AppendUint64(seqKey(e.AfterSeq), seq)
	if err := c.log.Put(k, v); err != nil {
		return err
	}
	pub.Log = append(pub.Log, e)
	return nil
}

func (w *writer) addGap(c *txCtx, pub *Batch, g Gap) error {
	if err := w.addLog(c, pub, LogEntry{At: g.To, Kind: LogGap, Gap: &g}); err != nil {
		return err
	}
	e := pub.Log[len(pub.Log)-1]
	v, _ := json.Marshal(g)
	k := binary.BigEndian.AppendUint64(seqKey(uint64(g.From.UnixNano())), e.Seq)
	return c.gap.Put(k, v)
}

// addTransition logs a state change and keeps track of reception: leaving live opens a gap,
// going live again closes it.
func (w *writer) addTransition(c *txCtx, pub *Batch, t feed.Transition) error {
	if err := w.addLog(c, pub, LogEntry{At: t.At, Kind: LogTransition, Transition: &t}); err != nil {
		return err
	}
	l := &w.link
	if !w.sawTransition {
		// The first transition of this process: whatever happened since the previous
		// process last received is a blind spot.
		w.sawTransition = true
		if l.Receiving {
			l.Receiving, l.Since = false, l.LastAlive
			l.Reason = "zoomwatch was not running (it did not shut down cleanly)"
		}
		l.Restart = l.Ever && !l.Receiving
	}
	switch {
	case t.State == feed.StateLive:
		if !l.Receiving && l.Ever {
			g := Gap{From: l.Since, To: t.At, Reason: l.Reason}
			if err := w.addGap(c, pub, g); err != nil {
				return err
			}
			c.live = append(c.live, liveOp{gap: &g, restart: l.Restart})
		}
		if !l.Ever {
			l.First = t.At
		}
		l.Ever, l.Receiving, l.Since, l.Reason, l.LastAlive, l.Restart = true, true, time.Time{}, "", t.At, false
	case l.Restart && !l.toldWhyNow && t.Reason != "" && t.State != feed.StateStopped:
		// Running again but not receiving: the rest of the gap is not for want of running.
		// One clause, the latest process's: restarts in a row would each add one.
		l.toldWhyNow = true
		base, _, _ := strings.Cut(l.Reason, runningAgain)
		l.Reason = base + runningAgain + t.At.Local().Format("15:04:05") + ", but " + t.Reason
	case l.Receiving:
		stopped := t.At
		if !t.SilentSince.IsZero() && t.SilentSince.Before(stopped) {
			stopped = t.SilentSince
		}
		l.Receiving, l.Since, l.LastAlive = false, stopped, stopped
		l.Reason = t.Reason
		if t.State == feed.StateStopped {
			l.Reason = "zoomwatch was not running"
		} else if l.Reason == "" {
			l.Reason = string(t.State)
		}
	}
	return nil
}

func (w *writer) saveMeta(tx *bolt.Tx) error {
	meta := tx.Bucket(bMeta)
	lv, _ := json.Marshal(w.link)
	cv, _ := json.Marshal(w.counts)
	if err := meta.Put(kLink, lv); err != nil {
		return err
	}
	return meta.Put(kCounts, cv)
}

// housekeep runs on the writer's ticker: record that a live link is still alive, and start
// retention and live-state expiry when due.
func (w *writer) housekeep() {
	now := w.s.now()
	if w.link.Receiving && now.Sub(w.lastAliveSave) >= aliveEvery {
		w.link.LastAlive = now
		err := w.s.update(w.saveMeta)
		if err == nil {
			w.lastAliveSave = now
		}
	}
	expired := now.Sub(w.lastHousekeep) >= housekeepEvery
	if expired {
		w.lastHousekeep = now
		w.pruneMore = w.s.opts.Retain > 0 || w.s.opts.MaxBytes > 0
		w.expireLive(now)
	} else if w.liveSaveWanted() {
		w.saveIdle()
	}
	if now.Sub(w.lastRelease) >= releaseEvery {
		w.lastRelease = now
		w.s.releaseMapping()
	}
}

// expireLive forgets stale live state (housekeeping runs when the writer is idle, a better
// time for that than a busy commit); a save takes what that changed.
func (w *writer) expireLive(now time.Time) {
	s := w.s
	s.liveMu.Lock()
	if s.state.Expire(now) {
		s.liveVer++
		s.noteLiveChanges(0)
	}
	s.liveMu.Unlock()
	if w.liveSaveWanted() {
		w.saveIdle()
	}
}

// saveIdle, when the writer is idle, writes what is left of the save encoded beside it, or
// starts one. Even idle moments under load are short: it writes a part per transaction and
// stops when input waits; and a save's encoding takes hundreds of milliseconds on a busy
// account.
func (w *writer) saveIdle() {
	s := w.s
	if w.saveReady != nil {
		for w.saveReady != nil && len(w.in) == 0 {
			parts := 0
			err := s.update(func(tx *bolt.Tx) (err error) {
				parts, err = w.writeReadySave(tx, false)
				return err
			})
			if err != nil {
				w.reloadLive()
				return
			}
			w.wroteParts(parts)
		}
		if w.saveReady == nil {
			s.releaseMapping() // as after a commit that writes the last part
		}
		return
	}
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	s.noteLiveChanges(0)
	s.startEncode(w.saveDone, w.committedSeq)
	w.saveEncoding, w.liveSavedAt = true, time.Now()
}

// saveAtClose writes the save encoded beside the writer, if any, and saves the rest: the
// next open then has no events to apply again.
func (w *writer) saveAtClose() {
	s := w.s
	w.collectSave(true) // saves are written in order
	err := s.update(func(tx *bolt.Tx) error {
		s.liveMu.Lock()
		defer s.liveMu.Unlock()
		if _, err := w.writeReadySave(tx, true); err != nil {
			return err
		}
		return s.saveLive(tx, w.committedSeq)
	})
	if err != nil {
		w.reloadLive()
		return
	}
	w.saveReady = nil
}

// liveSaveWanted reports whether a save encoded beside the writer waits to be written, or
// changes wait to be saved and it is time, or due. It does not wait for an encoding.
func (w *writer) liveSaveWanted() bool {
	if w.collectSave(false); w.saveEncoding {
		return false // a save is still being encoded: the next tick writes it
	}
	s := w.s
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	return w.saveReady != nil || !s.unsaved.Empty() && (w.liveSaveDue || time.Since(w.liveSavedAt) >= liveSaveEvery)
}

func (w *writer) isClosed() bool { return w.closed.Load() }
