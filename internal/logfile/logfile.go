// Package logfile is zoomwatch's log file: appended to, and kept to a bounded size for a
// monitor that runs for months (every SSH login and health check writes a line).
package logfile

import (
	"io"
	"os"
	"sync"
)

// MaxSize is the size past which the log is copied to PATH.1 (replacing the one before)
// and emptied: at most about twice this much log is kept.
const MaxSize = 10 << 20

// File appends to the log at its path.
type File struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64 // as this process knows it
}

// Open opens (creating) the log at path for appending; a log already past max is moved
// aside first.
func Open(path string, max int64) (*File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	l := &File{path: path, max: max, f: f}
	if st, err := f.Stat(); err == nil {
		l.size = st.Size()
	}
	if l.size >= max {
		l.rotate()
	}
	return l, nil
}

// OS is the open file, for what must have an *os.File (the monitor points os.Stderr at it).
// Rotation keeps it: the log is copied aside and emptied, never replaced.
func (l *File) OS() *os.File { return l.f }

// Write appends p, first moving the log aside if p would take it past its size.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		l.rotate()
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate copies the log to PATH.1 and empties it. Copying rather than renaming keeps
// everything that holds the file writing to the log: os.Stderr in the monitor, other
// zoomwatch processes appending to the same log. A failure (a full or read-only disk) leaves
// the log growing: a log is not worth stopping the monitor for.
func (l *File) rotate() {
	src, err := os.Open(l.path)
	if err != nil {
		return
	}
	defer src.Close()
	tmp := l.path + ".1.tmp"
	dst, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, l.path+".1")
	}
	if err != nil {
		os.Remove(tmp)
		return
	}
	if l.f.Truncate(0) == nil {
		l.size = 0
	}
}

// Close closes the log.
func (l *File) Close() error { return l.f.Close() }
