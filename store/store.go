// Package store is zoomwatch's one source of truth: the bbolt database holding every event
// exactly as delivered, the connection log and its gaps, the indexes that make history fast
// to browse, and the live state derived from the events. One writer goroutine commits in
// groups (fsync'd) and then publishes each committed batch to subscribers, so that nothing
// is shown before it is stored.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"zoomwatch/store/live"
)

// schemaVersion is the layout this build reads and writes: 1, plus one per migration.
func schemaVersion() uint32 { return uint32(1 + len(migrations)) }

const formatName = "zoomwatch-events"

var (
	bMeta    = []byte("meta")
	bEvents  = []byte("events")     // block first seq → event block
	bDedupe  = []byte("dedupe")     // event_ts(8) + identity hash(8) → seq; doubles as the time index
	bType    = []byte("ix_type")    // type code(2) + seq(8)
	bMeeting = []byte("ix_meeting") // epoch(4) + hash(meeting number, else uuid)(8) + seq(8)
	bUUIDs   = []byte("uuids")      // meeting occurrence uuid → meeting number
	bTypes   = []byte("types")      // event type name → code(2)
	bLog     = []byte("log")        // after-seq(8) + log seq(8) → LogEntry JSON
	bGaps    = []byte("gaps")       // from unix ns(8) + log seq(8) → Gap JSON
	bLive    = []byte("live")       // derived live state (store/live), see livepersist.go
	// bLiveJournal holds changes to bLive not yet folded into it, in order.
	bLiveJournal = []byte("live_journal")

	allBuckets = [][]byte{bMeta, bEvents, bDedupe, bType, bMeeting, bUUIDs, bTypes, bLog, bGaps, bLive, bLiveJournal}

	kFormat  = []byte("format")
	kSchema  = []byte("schema")
	kCreated = []byte("created")
	kLink    = []byte("link")   // linkState JSON
	kCounts  = []byte("counts") // counts JSON
	// kMeetingEpochs is the file's meetingEpochs (1 byte); files without it use
	// legacyMeetingEpochs.
	kMeetingEpochs = []byte("meeting_epochs")
)

// Options configure Open.
type Options struct {
	Path string
	// ReadOnly opens with a shared lock and never writes: history and export on a database
	// nobody is collecting into.
	ReadOnly bool
	// LockWait is how long to wait for another process's lock before saying who holds it.
	LockWait time.Duration
	// Retain drops events received longer ago than this (0 keeps everything).
	Retain time.Duration
	// MaxBytes prunes the oldest events while the data in the file exceeds this (0: no limit).
	MaxBytes int64
	// Owner describes this process; other zoomwatch processes that find the database locked
	// read it to say who holds it and how to reach its data.
	Owner  Owner
	Logger *slog.Logger
	Now    func() time.Time
	// NoSync skips fsync (benchmarks compare against it; never for real use).
	NoSync bool
	// BacklogMax bounds the events held in memory while the disk refuses writes; beyond it
	// the oldest are dropped and recorded as a gap. Default 200,000.
	BacklogMax int

	// commitHook, when set, runs before each commit and can fail it (tests inject disk errors).
	commitHook func() error
	// encodeHook, when set, runs as a save encoded beside the writer is done (tests hold it).
	encodeHook func()
}

// Owner is written beside the database while a process holds it: by every writer, and by
// a reader when no other live process is named there (readers share the database).
type Owner struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
	// SSH is the address viewers can reach this process's data at, when it serves SSH.
	SSH string `json:"ssh,omitempty"`
	// Screen: the process shows the monitor on its own terminal.
	Screen bool `json:"screen,omitempty"`
	// ReadOnly: the process only reads (history, export).
	ReadOnly bool `json:"read_only,omitempty"`
}

// Store is an open database. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	opts Options
	log  *slog.Logger
	now  func() time.Time

	types  *typeTable
	epochs meetingEpochs // the file's, as the meeting index is keyed

	liveMu  sync.Mutex
	state   *live.State
	liveVer uint64
	snap    *live.Snapshot
	snapVer uint64
	// snapChanges is what changed since snap: the next snapshot copies only that.
	snapChanges live.Changes
	// unsaved is what changed since the live state was last saved (see liveSaveEvery).
	unsaved live.Unsaved

	w *writer // nil when read-only

	subsMu sync.Mutex
	subs   map[*Subscription]struct{}

	closeOnce sync.Once
	closeErr  error
	// ownerFile: this handle wrote the owner file, and removes it on Close.
	ownerFile bool
}

// LockedError says the database is held by another process.
type LockedError struct {
	Path  string
	Owner *Owner // nil when the holder left no (live) owner file
	// Reading: the open refused was a reader's (history, export), else a writer's.
	Reading bool
}

func (e *LockedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is in use by another process", e.Path)
	o := e.Owner
	if o != nil {
		fmt.Fprintf(&b, ": zoomwatch (pid %d", o.PID)
		if o.Command != "" {
			fmt.Fprintf(&b, ", %q", o.Command)
		}
		if !o.Started.IsZero() {
			fmt.Fprintf(&b, ", running since %s", o.Started.Format("2006-01-02 15:04:05"))
		}
		b.WriteString(")")
	}
	// bbolt locks the file: exclusively for a writer, shared for readers.
	served := func() {
		if o != nil && o.SSH != "" {
			fmt.Fprintf(&b, " Its monitor and history are served over SSH: ssh -p %s %s (or `ssh -p %s %s export` for the events).",
				sshPort(o.SSH), sshHost(o.SSH), sshPort(o.SSH), sshHost(o.SSH))
		}
	}
	switch {
	case o != nil && o.ReadOnly:
		b.WriteString(". That one only reads, and readers share the database, but this command writes to it and needs it to itself: quit that one (or let it finish) first.")
	case e.Reading:
		b.WriteString(". It writes to the database, and history and export can open it only once it stops.")
		served()
		switch {
		case o != nil && o.SSH != "":
		case o != nil && o.Screen:
			b.WriteString(" Its own screen has the history (h).")
		default:
			b.WriteString(" To browse from here, stop it first, or run the collector as `zoomwatch serve --ssh ADDR` (or `zoomwatch --ssh ADDR`) so that others can watch and export over SSH.")
		}
	default:
		b.WriteString(". Only one process can write to a database at a time: stop that one first, or give this one a database of its own (--db PATH).")
		served()
	}
	return b.String()
}

func sshHost(addr string) string {
	h := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		h = addr[:i]
	}
	if h == "" || h == "0.0.0.0" || h == "::" || h == "[::]" {
		return "localhost"
	}
	return h
}

func sshPort(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i+1:]
	}
	return "22"
}

// FormatError says the file is not a database this build can use; the file is left untouched.
type FormatError struct {
	Path   string
	Reason string
}

func (e *FormatError) Error() string { return e.Path + ": " + e.Reason }

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store: closed")

// Open opens (creating if needed) the database at opts.Path.
func Open(opts Options) (*Store, error) {
	if opts.LockWait <= 0 {
		opts.LockWait = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BacklogMax <= 0 {
		opts.BacklogMax = 200_000
	}
	// An empty file (mktemp, an interrupted first open) holds nothing to lose: a writer
	// starts a database in it; a reader cannot, and bbolt would fail writing to it.
	if err := sniff(opts.Path, !opts.ReadOnly); err != nil {
		return nil, err
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
			return nil, fmt.Errorf("cannot make the database's directory (--db, or db in the config file): %w", err)
		}
	} else if _, err := os.Stat(opts.Path); err != nil {
		return nil, fmt.Errorf("no database at %s yet (it is created by the monitor, tail or import): %w", opts.Path, err)
	}
	db, err := openBolt(opts.Path, &bolt.Options{
		Timeout:         opts.LockWait,
		ReadOnly:        opts.ReadOnly,
		FreelistType:    bolt.FreelistMapType, // pruning fragments the freelist; the map copes
		InitialMmapSize: 1 << 30,              // readers never wait for the writer to remap
		NoSync:          opts.NoSync,
	})
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, opts: opts, log: opts.Logger, now: opts.Now, subs: map[*Subscription]struct{}{}}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	// A writer holds the database alone; readers share it, and the first one is named (so
	// that a writer kept out can say who to quit).
	if !opts.ReadOnly || readOwner(opts.Path) == nil {
		owner := opts.Owner
		owner.ReadOnly = opts.ReadOnly
		writeOwner(opts.Path, owner)
		s.ownerFile = true
	}
	if !opts.ReadOnly {
		s.w = newWriter(s)
		s.releaseMapping() // loading the live state read all of it; a collector keeps none resident
		go s.w.run()
	}
	return s, nil
}

// openBolt opens path with bbolt, naming what went wrong: another process holding it, a file
// that is not (or no longer) a database. bbolt reads the meta and freelist pages as it
// opens, and faults on a damaged file.
func openBolt(path string, o *bolt.Options) (db *bolt.DB, err error) {
	defer recoverDamage(path, &err)()
	db, err = bolt.Open(path, 0o600, o)
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		err = &LockedError{Path: path, Owner: readOwner(path), Reading: o != nil && o.ReadOnly}
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		err = &FormatError{path, "not a zoomwatch database (" + err.Error() + "); it was not modified"}
	case strings.HasPrefix(err.Error(), "file size too small"):
		err = &DamagedError{Path: path, Detail: "too short to be a database: " + err.Error()}
	}
	return db, err
}

// sniff refuses files that are not bbolt databases, or are cut short (checkLength), before
// bbolt touches them; an empty file only if emptyOK (bbolt initialises it).
func sniff(path string, emptyOK bool) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // missing: created on open (or reported by the read-only check)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil // reported by whoever opens it
	}
	if fi.IsDir() {
		return &FormatError{path, "a directory, not a database file (--db takes the file's path, e.g. " + filepath.Join(path, "events.db") + ")"}
	}
	var hdr [20]byte
	n, err := io.ReadFull(f, hdr[:])
	if n == 0 && errors.Is(err, io.EOF) {
		if emptyOK {
			return nil
		}
		return &FormatError{path, "an empty file (0 bytes), not a zoomwatch database yet: the monitor, tail and import start one in it; it was not modified"}
	}
	// A bbolt file starts with a meta page: 16 bytes of page header, then the magic.
	if err != nil || binary.LittleEndian.Uint32(hdr[16:20]) != boltMagic {
		return &FormatError{path, "not a zoomwatch database (not a bbolt file); it was not modified"}
	}
	return checkLength(f, path, fi.Size())
}

func (s *Store) init() (err error) {
	defer recoverDamage(s.opts.Path, &err)()
	if s.opts.ReadOnly {
		return s.db.View(func(tx *bolt.Tx) error {
			if err := checkFormat(tx, s.opts.Path); err != nil {
				return err
			}
			return s.load(tx)
		})
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := checkFormat(tx, s.opts.Path); err != nil {
			return err
		}
		meta := tx.Bucket(bMeta)
		if meta == nil {
			var err error
			if meta, err = tx.CreateBucket(bMeta); err != nil {
				return err
			}
			meta.Put(kFormat, []byte(formatName))
			meta.Put(kCreated, []byte(s.now().UTC().Format(time.RFC3339)))
			meta.Put(kSchema, u32(schemaVersion()))
			meta.Put(kMeetingEpochs, []byte{byte(newFileMeetingEpochs)})
		}
		if err := migrate(tx, schemaOf(meta)); err != nil {
			return err
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return s.load(tx)
	})
}

func checkFormat(tx *bolt.Tx, path string) error {
	meta := tx.Bucket(bMeta)
	if meta == nil {
		empty := true
		tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if !empty {
			return &FormatError{path, "a bbolt database of another program, not zoomwatch's; it was not modified"}
		}
		return nil
	}
	if f := meta.Get(kFormat); !bytes.Equal(f, []byte(formatName)) {
		return &FormatError{path, "a bbolt database of another program, not zoomwatch's; it was not modified"}
	}
	if v := schemaOf(meta); v > schemaVersion() {
		return &FormatError{path, fmt.Sprintf("written by a newer zoomwatch (schema %d; this build reads up to %d): upgrade zoomwatch; the file was not modified", v, schemaVersion())}
	} else if v < readableSchema && !tx.Writable() {
		return &FormatError{path, fmt.Sprintf("written by an older zoomwatch (schema %d): open it once with `zoomwatch tail` or the monitor to upgrade it", v)}
	}
	return nil
}

func schemaOf(meta *bolt.Bucket) uint32 {
	if v := meta.Get(kSchema); len(v) == 4 {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// migrations[i] upgrades schema i+1 to i+2, in the same transaction as the open: a failed
// migration leaves the file as it was.
var migrations = []func(tx *bolt.Tx) error{
	// 1→2: the live journal (its bucket is created with the others; the new number keeps
	// older builds, which would not read it, from opening the file), and the meeting index
	// cut into epochs.
	rekeyMeetingIndex,
	// 2→3: the live state is saved every few seconds straight into its bucket, with the
	// newest event it includes (kApplied); older builds journaled it at every commit, so it
	// includes every stored event. The journal is folded, and no longer written.
	markLiveApplied,
	// 3→4: new files may cut the meeting index into other epochs than 2^14
	// (kMeetingEpochs). Builds before it would read and write such a file's index as 2^14,
	// and lose track of its entries; the new number keeps them off. Older files keep 2^14
	// and need no change.
	func(*bolt.Tx) error { return nil },
	// 4→5: an occurrence's uuid mapping may carry when it was last heard of (number, NUL,
	// time), by which retention forgets it. Builds before it would take all that for the
	// meeting number; older mappings, the number alone, stay readable.
	func(*bolt.Tx) error { return nil },
}

// readableSchema is the oldest schema a read-only open reads as it is: the migrations after
// it change nothing that reading needs.
var readableSchema uint32 = 3 // a test raises it

func markLiveApplied(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(bLive)
	if err != nil {
		return err
	}
	if tx.Bucket(bLiveJournal) != nil {
		if err := foldLive(tx); err != nil {
			return err
		}
	}
	var last uint64
	if ev := tx.Bucket(bEvents); ev != nil {
		last = ev.Sequence()
	}
	return b.Put(kApplied, binary.BigEndian.AppendUint64(nil, last))
}

// rekeyMeetingIndex rewrites schema 1's meeting index keys, hash(8) + seq(8), as
// epoch + hash + seq.
func rekeyMeetingIndex(tx *bolt.Tx) error {
	b := tx.Bucket(bMeeting)
	if b == nil {
		return nil
	}
	epochs, err := epochsOf(tx.Bucket(bMeta))
	if err != nil {
		return err
	}
	var keys [][]byte
	err = b.ForEach(func(k, _ []byte) error {
		if len(k) != 16 {
			return fmt.Errorf("meeting index: a key of %d bytes", len(k))
		}
		keys = append(keys, epochs.hashedKey(k[:8], binary.BigEndian.Uint64(k[8:])))
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bMeeting); err != nil {
		return err
	}
	if b, err = tx.CreateBucket(bMeeting); err != nil {
		return err
	}
	slices.SortFunc(keys, bytes.Compare)
	b.FillPercent = 1 // appended in order
	for _, k := range keys {
		if err := b.Put(k, empty); err != nil {
			return err
		}
	}
	return nil
}

func migrate(tx *bolt.Tx, from uint32) error {
	for v := from; v < schemaVersion(); v++ {
		if int(v)-1 < 0 || int(v)-1 >= len(migrations) {
			return fmt.Errorf("store: no migration from schema %d", v)
		}
		if err := migrations[v-1](tx); err != nil {
			return fmt.Errorf("store: migrating schema %d to %d: %w", v, v+1, err)
		}
		tx.Bucket(bMeta).Put(kSchema, u32(v+1))
	}
	return nil
}

func (s *Store) load(tx *bolt.Tx) error {
	var err error
	if s.epochs, err = epochsOf(tx.Bucket(bMeta)); err != nil {
		return &FormatError{s.opts.Path, err.Error() + "; it was not modified"}
	}
	if s.types, err = loadTypes(tx); err != nil {
		return err
	}
	if s.state, s.unsaved, err = readLive(tx); err == nil {
		s.reportFaults()
	}
	return err
}

func epochsOf(meta *bolt.Bucket) (meetingEpochs, error) {
	v := meta.Get(kMeetingEpochs)
	switch {
	case v == nil:
		return legacyMeetingEpochs, nil
	case len(v) != 1 || v[0] < 4 || v[0] > 32:
		return 0, fmt.Errorf("its meeting index's epochs are recorded as %x, which no zoomwatch writes", v)
	}
	return meetingEpochs(v[0]), nil
}

func u32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

// Close stops the writer after it has committed everything submitted, then closes the file.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.w != nil {
			s.w.stop()
		}
		s.subsMu.Lock()
		for sub := range s.subs {
			close(sub.c)
			delete(s.subs, sub)
		}
		s.subsMu.Unlock()
		s.closeErr = s.db.Close()
		if s.ownerFile {
			removeOwner(s.opts.Path)
		}
	})
	return s.closeErr
}

// Path is the database file.
func (s *Store) Path() string { return s.opts.Path }

// ReadOnly reports whether this handle can write.
func (s *Store) ReadOnly() bool { return s.w == nil }

// Live returns the current derived state. Snapshots are shared and must not be modified.
func (s *Store) Live() *live.Snapshot {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if s.snap == nil || s.snapVer != s.liveVer {
		s.snap, s.snapVer = s.state.SnapshotSince(s.snap, &s.snapChanges), s.liveVer
	}
	return s.snap
}

// LiveMeeting returns a copy of the active meeting key with its join/leave sessions (which
// Live leaves out), or nil when it is not active.
func (s *Store) LiveMeeting(key string) *live.Meeting {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	return s.state.MeetingDetail(key)
}

// MeetingEnded reports when meeting key ended (its meeting.ended's event_ts), if it did
// recently enough to be remembered (live.TombstoneTTL).
func (s *Store) MeetingEnded(key string) (time.Time, bool) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	ts, ok := s.state.Ended[key]
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ts), true
}

func ownerPath(db string) string { return db + ".owner" }

func writeOwner(db string, o Owner) {
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	b, _ := json.Marshal(o)
	_ = os.WriteFile(ownerPath(db), b, 0o600)
}

func removeOwner(db string) {
	if o := readOwner(db); o != nil && o.PID == os.Getpid() {
		os.Remove(ownerPath(db))
	}
}

// readOwner returns the owner file's contents if its process is still running.
func readOwner(db string) *Owner {
	b, err := os.ReadFile(ownerPath(db))
	if err != nil {
		return nil
	}
	var o Owner
	if json.Unmarshal(b, &o) != nil || o.PID <= 0 {
		return nil
	}
	if err := syscall.Kill(o.PID, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return nil
	}
	return &o
}
