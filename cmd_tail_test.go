package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"zoomwatch/store"
)

// TestTailSaysWhenTheDiskRefusesWrites: tail prints only what is stored, so a disk that
// refuses writes would look like a quiet account unless stderr says so, once, and says when
// it recovers.
func TestTailSaysWhenTheDiskRefusesWrites(t *testing.T) {
	var out, errOut bytes.Buffer
	p := &printer{out: bufio.NewWriter(&out), errw: &errOut}
	since := time.Date(2026, 12, 2, 1, 15, 45, 0, time.Local)
	full := store.Health{Err: "write events.db: no space left on device", Since: since, Backlog: 1200}
	p.health(store.Health{Storing: true})
	p.health(full)
	p.health(full)
	p.health(store.Health{Storing: true})
	want := []string{
		"zoomwatch: NOT STORING since 01:15:45: write events.db: no space left on device; 1200 events wait in memory (retrying; nothing is printed until it is stored)",
		"zoomwatch: storing again",
	}
	if got := strings.Split(strings.TrimSpace(errOut.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut.String(), strings.Join(want, "\n"))
	}
}
