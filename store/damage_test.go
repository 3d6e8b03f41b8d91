package store

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// healthyFile builds a store of 4,000 events in dir and returns its bytes, the bytes its
// pages use (the file is longer: bbolt grows it ahead) and the root pages of its indexes,
// events and live records.
func healthyFile(t *testing.T, dir string) (data []byte, used int64, roots map[string]uint64) {
	t.Helper()
	good := filepath.Join(dir, "good.db")
	s, err := Open(Options{Path: good, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	submit(t, s, joins(t, 4000, 300)...)
	s.Close() // its last save moves the pages it rewrites: the roots are read after it
	db, err := bolt.Open(good, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bolt.Tx) error {
		used, roots = tx.Size(), map[string]uint64{}
		for _, name := range [][]byte{bDedupe, bEvents, bType, bMeeting, bLive} {
			roots[string(name)] = uint64(tx.Bucket(name).Root())
		}
		return nil
	})
	db.Close()
	if data, err = os.ReadFile(good); err != nil {
		t.Fatal(err)
	}
	return data, used, roots
}

// TestDamagedFilesAreReportedNotCrashedOn: a database with garbage in its pages, or cut
// short, gives an error naming it, never a panic or a fault; compact leaves nothing behind.
func TestDamagedFilesAreReportedNotCrashedOn(t *testing.T) {
	dir := t.TempDir()
	data, used, roots := healthyFile(t, dir)
	rng := rand.New(rand.NewPCG(1, 2))
	damage := map[string][]byte{}
	for _, at := range []float64{0.3, 0.5, 0.7, 0.9} {
		d := append([]byte(nil), data...)
		off := int(float64(used)*at)/4096*4096 + 100
		for i := off; i < off+2000 && i < len(d); i++ {
			d[i] = byte(rng.Uint32())
		}
		damage["garbage at "+strconv.Itoa(int(at*100))+"%"] = d
	}
	damage["truncated to half"] = data[:used/2]
	// Whole pages of garbage: where bbolt's own pages are (the first after the meta pages),
	// and at random.
	pages := int(used / 4096)
	for i := range 12 {
		d := append([]byte(nil), data...)
		p := 2 + i
		if i >= 6 {
			p = 2 + rng.IntN(pages-2)
		}
		for j := p * 4096; j < (p+1)*4096; j++ {
			d[j] = byte(rng.Uint32())
		}
		damage["garbage page "+strconv.Itoa(p)] = d
	}
	// And the root pages of B-trees that open and export read, for damage that only bbolt
	// can meet (random pages may all land in values that our own checks read first).
	for name, p := range roots {
		if p < 2 || p >= uint64(pages) {
			continue // inline in its parent
		}
		d := append([]byte(nil), data...)
		for j := p * 4096; j < (p+1)*4096; j++ {
			d[j] = byte(rng.Uint32())
		}
		damage["garbage in the root page of "+name] = d
	}

	damaged := 0 // bbolt panics (or the length check) turned into a DamagedError
	for name, d := range damage {
		path := filepath.Join(dir, "damaged.db")
		if err := os.WriteFile(path, d, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := Open(Options{Path: path, ReadOnly: true})
		if err == nil {
			_, err = st.Export(context.Background(), io.Discard, "jsonl", Filter{})
			st.Close()
		}
		var de *DamagedError
		if name == "truncated to half" && !errors.As(err, &de) {
			t.Errorf("%s: open and export gave %v, want a DamagedError", name, err)
		}
		switch {
		case errors.As(err, &de):
			damaged++
		case err != nil:
			t.Logf("%s: %v", name, err) // a check of our own caught it first
		}
		if _, _, err := Compact(path, 0); err == nil && name == "truncated to half" {
			t.Errorf("%s: compact succeeded", name)
		}
		if _, err := os.Stat(path + ".compact.tmp"); err == nil {
			t.Errorf("%s: compact left its temporary file", name)
		}
		os.Remove(path)
	}
	if damaged < 3 {
		t.Errorf("%d of %d damaged files were reported as damaged: the test no longer reaches bbolt's panics", damaged, len(damage))
	}
}

// TestDamageMetWhileWritingIsReported: opening a truncated file to write (import, tail), and
// a damaged index page met by a commit, give errors naming the damage: the process goes on
// (the writer keeps the events and says why it cannot store them).
func TestDamageMetWhileWritingIsReported(t *testing.T) {
	t.Cleanup(func(d time.Duration) func() { return func() { giveUpAfter = d } }(giveUpAfter))
	giveUpAfter = 300 * time.Millisecond
	dir := t.TempDir()
	data, used, roots := healthyFile(t, dir)
	dedupeRoot := roots[string(bDedupe)]

	short := filepath.Join(dir, "short.db")
	os.WriteFile(short, data[:used/2], 0o600)
	var de *DamagedError
	if _, err := Open(Options{Path: short}); !errors.As(err, &de) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("opening a truncated copy to write: %v, want a DamagedError saying it is truncated", err)
	}

	bad := filepath.Join(dir, "bad.db")
	d := append([]byte(nil), data...)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := dedupeRoot * 4096; i < (dedupeRoot+1)*4096; i++ {
		d[i] = byte(rng.Uint32())
	}
	os.WriteFile(bad, d, 0o600)
	st, err := Open(Options{Path: bad, NoSync: true})
	if err != nil {
		if !errors.As(err, &de) {
			t.Fatalf("open with a damaged dedupe index: %v", err)
		}
		return // found at open: fine too
	}
	defer st.Close()
	for _, it := range joins(t, 4010, 300)[4000:] {
		st.Submit(context.Background(), it)
	}
	err = st.FlushOrGiveUp(context.Background())
	if !errors.As(err, new(*NotStoringError)) || !strings.Contains(err.Error(), "is damaged") {
		t.Errorf("commits into a damaged dedupe index: %v, want the store to give up saying it is damaged", err)
	}
}
