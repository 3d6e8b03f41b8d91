package store

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// releaseMapping drops this process's page-table entries for the database file. Every page
// the writer has appended to since start-up stays mapped once touched, and so counts in top
// as the process's resident memory, growing with the history, although those pages are the
// kernel's cache and mostly never read again. The pages stay cached; the next read of one
// maps it again. The read transaction keeps bbolt from remapping the file meanwhile.
func (s *Store) releaseMapping() {
	_ = s.view(func(tx *bolt.Tx) error {
		if info := s.db.Info(); info != nil && info.Data != 0 && tx.Size() > 0 {
			syscall.Syscall(syscall.SYS_MADVISE, info.Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
		}
		return nil
	})
}
