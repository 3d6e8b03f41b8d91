package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"zoomwatch/feed"
)

// indexBytesPerEvent estimates what one event's index entries take on disk.
var indexBytesPerEvent int64 = 100 // a test raises it

// errNothingDue ends a pruning transaction that found nothing to remove.
var errNothingDue = errors.New("store: nothing to prune")

// prune removes one chunk of the oldest blocks that retention (--retain, --max-db-size)
// wants gone, with their index entries and the log entries about them, in one short
// transaction; the writer calls it again while more is due and nothing else is waiting.
func (w *writer) prune() {
	s := w.s
	now := s.now()
	removed, events := 0, 0
	var counted uint64 // added to w.counts.Pruned, taken back if the transaction fails
	bySize := false    // a block went while over the size limit, whose measure below is an estimate
	swept := 0         // occurrence mappings forgotten
	err := s.update(func(tx *bolt.Tx) error {
		c := newTxCtx(tx)
		used := tx.Size() - int64(s.db.Stats().FreeAlloc)
		saved := savedThrough(tx)
		cur := c.events.Cursor()
		for k, v := cur.First(); k != nil && removed < pruneChunk; k, v = cur.First() {
			b, err := decodeBlock(keySeq(k), v)
			if err != nil {
				return err
			}
			newest := b.recs[len(b.recs)-1].Received
			old := s.opts.Retain > 0 && now.Sub(newest) > s.opts.Retain
			big := s.opts.MaxBytes > 0 && used > s.opts.MaxBytes
			if !old && !big {
				break
			}
			// Events the saved live state does not include yet stay until a save does
			// (every few seconds): after a crash, open catches the state up with them.
			if b.last() > saved {
				break
			}
			// A size limit below what live state and indexes need on their own must not
			// wipe the history that was just written: the newest block always stays.
			if !old {
				if next, _ := cur.Next(); next == nil {
					break
				}
			}
			bySize = bySize || big
			if w.tail != nil && w.tail.first == b.first {
				w.tail = nil
			}
			if err := c.deleteBlock(b, s); err != nil {
				return err
			}
			// The block and, roughly, its events' index entries; the next chunk measures
			// again from the committed file.
			used -= int64(len(v)) + int64(len(b.recs))*indexBytesPerEvent
			removed++
			events += len(b.recs)
		}
		first, oldest := uint64(0), now
		if k, v := cur.First(); k != nil {
			first = keySeq(k)
			if b, err := decodeBlock(first, v); err == nil {
				oldest = b.recs[0].Received
			}
		} else {
			first = c.events.Sequence() + 1
		}
		var err error
		swept, err = c.pruneUUIDs(w, oldest.Add(-uuidKeep))
		switch {
		case err != nil:
			return err
		case removed == 0 && swept == 0:
			return errNothingDue // roll back: no empty commit (two fsyncs) each minute
		case removed == 0:
			return nil
		}
		counted = uint64(events)
		w.counts.Pruned += counted
		if err := w.saveMeta(tx); err != nil {
			return err
		}
		return c.pruneLog(first, now.Add(-s.opts.Retain), s.opts.Retain > 0)
	})
	if errors.Is(err, errNothingDue) {
		err = nil
	}
	if err != nil {
		w.counts.Pruned -= counted // the transaction was rolled back
		s.log.Error("store: pruning failed", "err", err)
		w.pruneMore = false
		return
	}
	w.healthMu.Lock()
	w.health.Counts = w.counts
	w.healthMu.Unlock()
	// After pruning while over the size limit (for size or age), measure the committed file
	// again: the estimate can stop a page or so short of the limit.
	w.pruneMore = removed == pruneChunk || bySize || swept > 0 && w.uuidSweepAt != nil
	if removed > 0 {
		s.log.Info("store: pruned old events", "blocks", removed, "events", events)
	}
}

// uuidKeep is how long an occurrence's uuid mapping stays after it was last heard of (give or
// take a day, knownUUID), counted back from the oldest event kept: by then every event of
// the occurrence is gone. A margin of a month over that day. Without this the mappings
// outlived every event, and --max-db-size never got their space back.
const uuidKeep = 30 * 24 * time.Hour

// uuidSweepMax bounds the mappings one pruning transaction looks at.
var uuidSweepMax = 2000 // a test lowers it

// pruneUUIDs forgets occurrence mappings last heard of before before, looking at up to
// uuidSweepMax of them from where the last pass stopped, and returns how many it forgot.
func (c *txCtx) pruneUUIDs(w *writer, before time.Time) (int, error) {
	cur := c.uuids.Cursor()
	k, v := cur.Seek(w.uuidSweepAt)
	var gone [][]byte
	for n := 0; k != nil && n < uuidSweepMax; n++ {
		if _, seen := uuidNumber(v); !seen.IsZero() && seen.Before(before) {
			gone = append(gone, bytes.Clone(k))
		}
		k, v = cur.Next()
	}
	w.uuidSweepAt = bytes.Clone(k) // nil at the end: the next pass starts again
	for _, k := range gone {
		if err := c.uuids.Delete(k); err != nil {
			return 0, err
		}
		delete(w.uuidsSeen, string(k))
	}
	return len(gone), nil
}

// deleteBlock removes a block and every index entry of its events.
func (c *txCtx) deleteBlock(b *block, s *Store) error {
	for i := range b.recs {
		r := &b.recs[i]
		ev, err := feed.DecodeEvent(r.Raw)
		if err != nil {
			continue // never indexed
		}
		id := ev.Identity()
		if err := c.dedupe.Delete(id[:]); err != nil {
			return err
		}
		s.types.mu.RLock()
		code, ok := s.types.codes[ev.Type]
		s.types.mu.RUnlock()
		if ok {
			if err := c.typ.Delete(typeKey(code, r.Seq)); err != nil {
				return err
			}
		}
		if k := meetingIndexKey(ev); k != "" {
			if err := c.meeting.Delete(s.epochs.key(k, r.Seq)); err != nil {
				return err
			}
		}
	}
	return c.events.Delete(seqKey(b.first))
}

// pruneLog drops connection-log entries about events that are gone, and gaps older than
// the retention period.
func (c *txCtx) pruneLog(firstSeq uint64, before time.Time, byAge bool) error {
	lc := c.log.Cursor()
	for k, _ := lc.First(); k != nil && binary.BigEndian.Uint64(k[:8]) < firstSeq-1; k, _ = lc.First() {
		if err := lc.Delete(); err != nil {
			return err
		}
	}
	if !byAge {
		return nil
	}
	gc := c.gap.Cursor()
	for k, _ := gc.First(); k != nil && int64(binary.BigEndian.Uint64(k[:8])) < before.UnixNano(); k, _ = gc.First() {
		if err := gc.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Compact rewrites the database at path into a new file without the free space pruning
// left behind, then replaces the original: write to path.compact.tmp, fsync, rename. The
// database must not be in use. It returns the sizes before and after.
func Compact(path string, lockWait time.Duration) (before, after int64, err error) {
	if err := sniff(path, false); err != nil { // an empty file has nothing to compact
		return 0, 0, err
	}
	tmp := path + ".compact.tmp"
	defer func() { // every failure, a damaged page's panic included, leaves no temporary file
		if err != nil {
			os.Remove(tmp)
		}
	}()
	defer recoverDamage(path, &err)()
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, fmt.Errorf("no database at %s to compact", path)
	}
	if err != nil {
		return 0, 0, err
	}
	before = fi.Size()
	src, err := openBolt(path, &bolt.Options{Timeout: lockWait, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	if err := src.View(func(tx *bolt.Tx) error { return checkFormat(tx, path) }); err != nil {
		return 0, 0, err
	}
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: lockWait, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, 0, err
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		dst.Close()
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return 0, 0, err
	}
	var used int64
	if err := dst.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
		dst.Close()
		return 0, 0, err
	}
	if err := dst.Close(); err != nil {
		return 0, 0, err
	}
	// bbolt grew the new file ahead of what it wrote (doubling its map while small): a
	// compacted copy could come out bigger than the file it compacts. Nothing lives past
	// the last page in use.
	if err := truncateSync(tmp, used); err != nil {
		return 0, 0, err
	}
	// Replace while still holding the source's lock, so that no one opens the old file
	// in between.
	if err := os.Rename(tmp, path); err != nil {
		return 0, 0, err
	}
	syncDir(filepath.Dir(path))
	if fi, err := os.Stat(path); err == nil {
		after = fi.Size()
	}
	return before, after, nil
}

func truncateSync(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err = f.Truncate(size); err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
