package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// typeTable maps event type names to the 2-byte codes the type index uses: an index key is
// then 10 bytes instead of 30-odd, which matters at millions of events.
type typeTable struct {
	mu     sync.RWMutex
	codes  map[string]uint16
	names  []string // code-1 → name
	staged int      // names[staged:] were added by the uncommitted batch
}

var errTooManyTypes = errors.New("store: more than 65535 distinct event types")

func loadTypes(tx *bolt.Tx) (*typeTable, error) {
	t := &typeTable{codes: map[string]uint16{}}
	b := tx.Bucket(bTypes)
	if b == nil {
		return t, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		if len(v) != 2 {
			return errBadBlock
		}
		code := binary.BigEndian.Uint16(v)
		for len(t.names) < int(code) {
			t.names = append(t.names, "")
		}
		t.names[code-1] = string(k)
		t.codes[string(k)] = code
		return nil
	})
	t.staged = len(t.names)
	return t, err
}

// code returns the type's code, assigning (and storing, in tx) a new one if needed.
func (t *typeTable) code(tx *bolt.Tx, name string) (uint16, error) {
	t.mu.RLock()
	c, ok := t.codes[name]
	t.mu.RUnlock()
	if ok {
		return c, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.names) >= 0xFFFF {
		return 0, errTooManyTypes
	}
	t.names = append(t.names, name)
	c = uint16(len(t.names))
	t.codes[name] = c
	return c, tx.Bucket(bTypes).Put([]byte(name), binary.BigEndian.AppendUint16(nil, c))
}

// commit keeps the codes added since the last commit; rollback forgets them.
func (t *typeTable) commit() {
	t.mu.Lock()
	t.staged = len(t.names)
	t.mu.Unlock()
}

func (t *typeTable) rollback() {
	t.mu.Lock()
	for _, n := range t.names[t.staged:] {
		delete(t.codes, n)
	}
	t.names = t.names[:t.staged]
	t.mu.Unlock()
}

// match returns the codes of the known types matching any of the patterns (path.Match globs,
// e.g. "meeting.*"; a plain name matches itself).
func (t *typeTable) match(patterns []string) []uint16 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []uint16
	for i, name := range t.names[:t.staged] {
		if MatchType(patterns, name) {
			out = append(out, uint16(i+1))
		}
	}
	return out
}

// Types lists the event types the store has seen.
func (s *Store) Types() []string {
	s.types.mu.RLock()
	defer s.types.mu.RUnlock()
	return append([]string(nil), s.types.names[:s.types.staged]...)
}

// CheckTypePattern says why p cannot be one of a Filter's Types, if it cannot.
func CheckTypePattern(p string) error {
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("%q is not a valid pattern (use * and ?, e.g. meeting.*)", p)
	}
	return nil
}

// MatchType reports whether an event type name matches any of the names or globs
// ("meeting.*") of a Filter's Types.
func MatchType(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok || p == name {
			return true
		}
	}
	return false
}
