//go:build !linux

package store

// releaseMapping is Linux's alone (see mapping_linux.go).
func (s *Store) releaseMapping() {}
