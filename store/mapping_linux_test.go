package store

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mappedKiB is how much of the file at path this process has resident through its mappings,
// from /proc/self/smaps.
func mappedKiB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	total, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Contains(fields[0], "-") && len(fields[1]) == 4 {
			in = len(fields) >= 6 && fields[len(fields)-1] == path // a mapping begins
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			total += n
		}
	}
	return total
}

// A collector that has appended for hours has touched every page of its file; housekeeping
// lets those pages go from its resident size (they stay in the page cache), and reads work
// on as before.
func TestReleaseMappingShrinksResidentSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	w := openTest(t, Options{Path: path})
	submit(t, w, benchEvents(t, 20_000)...)
	w.Close()
	// Read-only: no writer whose own housekeeping releases the mapping while this measures.
	s := openTest(t, Options{Path: path, ReadOnly: true})
	var all []Record
	for q := (Query{Oldest: true, Limit: 500}); ; {
		p, err := s.Page(q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Records...)
		if p.Done {
			break
		}
		q.Cursor = p.Next
	}
	before := mappedKiB(t, s.opts.Path)
	fi, _ := os.Stat(s.opts.Path)
	if before < int(fi.Size()>>10)/4 {
		t.Fatalf("only %d KiB of a %d KiB file resident after reading it all: nothing to measure", before, fi.Size()>>10)
	}
	s.releaseMapping()
	after := mappedKiB(t, s.opts.Path)
	if after > before/10 {
		t.Fatalf("resident %d KiB of the file before, %d KiB after", before, after)
	}
	p, err := s.Page(Query{Oldest: true, Limit: 500})
	if err != nil || len(p.Records) != 500 || string(p.Records[499].Raw) != string(all[499].Raw) {
		t.Fatalf("reading after the release: %v, %d records", err, len(p.Records))
	}
	t.Logf("file %d KiB: resident %d KiB → %d KiB", fi.Size()>>10, before, after)
}
