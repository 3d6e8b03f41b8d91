package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
)

// DamagedError says the database file is corrupt: bbolt trusts its pages and panics (or
// faults, past the end of a truncated file) on bad ones. zoomwatch reports it instead, and
// never writes to such a file.
type DamagedError struct {
	Path   string
	Detail string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("%s is damaged (%s): restore it from a backup, or move it aside to start a new one (if the file is fine, this is a bug in zoomwatch: please report it); it was not modified", e.Path, e.Detail)
}

// recoverDamage turns a panic or memory fault of bbolt reading path into a *DamagedError in
// *err. Use as: defer recoverDamage(path, &err)() — it makes faults panics for the goroutine
// until it returns.
func recoverDamage(path string, err *error) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			*err = &DamagedError{Path: path, Detail: fmt.Sprint(r)}
		}
	}
}

// view is db.View for reads that a damaged file must not crash.
func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
	defer recoverDamage(s.opts.Path, &err)()
	return s.db.View(fn)
}

// update is db.Update for the writer: a damaged page fails the commit (the events wait in
// memory and health says why) instead of ending the process. bbolt rolls the transaction
// back as the panic passes.
func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	defer recoverDamage(s.opts.Path, &err)()
	return s.db.Update(fn)
}

// boltMagic opens each bbolt meta page, after its 16-byte page header.
const boltMagic = 0xED0CDAED

// checkLength refuses a file (f, of size bytes) shorter than its newest meta page says it
// is: bbolt would fault on the first read past the end (a truncated copy, a full disk
// during a copy). It runs before bbolt opens the file, so another process may be writing a
// meta page: only meta pages whose checksum holds count.
func checkLength(f *os.File, path string, size int64) error {
	// Meta pages 0 and 1: a 16-byte page header, then magic, version, page size, flags (4
	// bytes each), root bucket (16), freelist (8), pgid (8), txid (8) and the FNV-64a
	// checksum of all that (8), at bytes 16 to 80. bbolt uses the valid one with the higher
	// txid.
	var m [80]byte
	var pageSize, pages, txid uint64
	for i := range 2 {
		if i == 1 && pageSize == 0 {
			break
		}
		if _, err := f.ReadAt(m[:], int64(i)*int64(pageSize)); err != nil {
			return nil
		}
		h := fnv.New64a()
		h.Write(m[16:72])
		if binary.LittleEndian.Uint32(m[16:20]) != boltMagic || h.Sum64() != binary.LittleEndian.Uint64(m[72:80]) {
			continue
		}
		if i == 0 {
			pageSize = uint64(binary.LittleEndian.Uint32(m[24:28]))
		}
		if tx := binary.LittleEndian.Uint64(m[64:72]); tx >= txid {
			txid, pages = tx, binary.LittleEndian.Uint64(m[56:64])
		}
	}
	if pageSize == 0 || pages == 0 {
		return nil
	}
	if need := int64(pages * pageSize); size < need {
		return &DamagedError{Path: path, Detail: fmt.Sprintf("the file is %d bytes, its pages reach %d: truncated", size, need)}
	}
	return nil
}
