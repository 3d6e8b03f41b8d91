package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleEvents writes the sample events, one per line as import reads them, and returns the
// file's path.
func sampleEvents(t *testing.T, dir string) (string, int) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("feed", "testdata", "samples", "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("samples: %v", err)
	}
	var b bytes.Buffer
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Compact(&b, data); err != nil {
			t.Fatal(err)
		}
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, len(names)
}

// TestExportRefusesATimeTooFarBack: a duration ago beyond time.Duration's range used to
// wrap around (--since 999999d found nothing, --until 100000000h everything, exit 0).
func TestExportRefusesATimeTooFarBack(t *testing.T) {
	dir := isolate(t)
	events, n := sampleEvents(t, dir)
	if code, _, errOut := runOnce(t, dir, "import", events); code != 0 {
		t.Fatalf("import: exit %d, %s", code, errOut)
	}
	for _, c := range []struct{ flag, value string }{
		{"--since", "999999d"}, {"--since", "106752d"}, {"--since", "50000w"}, {"--since", "36501d"},
		{"--until", "100000000h"}, {"--since", "999999d ago"},
	} {
		code, out, errOut := runOnce(t, dir, "export", c.flag, c.value)
		want := "zoomwatch: " + c.flag + ": " + strings.TrimSuffix(c.value, " ago") + " is too far back (at most 100 years, 36500d)\n"
		if code != 2 || errOut != want || out != "" {
			t.Errorf("export %s %q: exit %d, stdout %d bytes, stderr %q; want exit 2 and %q", c.flag, c.value, code, len(out), errOut, want)
		}
	}
	// The limit itself still goes back far enough for everything.
	if code, out, errOut := runOnce(t, dir, "export", "--since", "36500d"); code != 0 || len(lines(out)) != n {
		t.Errorf("export --since 36500d: exit %d, %d lines (want %d), %s", code, len(lines(out)), n, errOut)
	}
}

// TestAnEmptyDatabaseFileIsNamedAsSuch: reading an empty file used to fail with "write
// zero.db: bad file descriptor", and compact to "compact" it into a new database.
func TestAnEmptyDatabaseFileIsNamedAsSuch(t *testing.T) {
	dir := isolate(t)
	db := filepath.Join(dir, "events.db") // runOnce's --db
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := db + ": an empty file (0 bytes), not a zoomwatch database yet: the monitor, tail and import start one in it; it was not modified\n"
	if code, out, errOut := runOnce(t, dir, "export"); code != 2 || errOut != "zoomwatch: "+want || out != "" {
		t.Errorf("export: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut := runOnce(t, dir, "compact"); code != 1 || errOut != "zoomwatch: "+want || out != "" {
		t.Errorf("compact: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if fi, err := os.Stat(db); err != nil || fi.Size() != 0 {
		t.Fatalf("the empty file was changed: %v, %v", fi, err)
	}
	// A command that writes starts a database in it, as in a missing file.
	events, n := sampleEvents(t, dir)
	if code, _, errOut := runOnce(t, dir, "import", events); code != 0 {
		t.Fatalf("import into an empty file: exit %d, %s", code, errOut)
	}
	if code, out, errOut := runOnce(t, dir, "export"); code != 0 || len(lines(out)) != n {
		t.Errorf("export after import: exit %d, %d lines (want %d), %s", code, len(lines(out)), n, errOut)
	}
}

// TestImportOfFilesWithoutEventsSaysSo: files read to the end with no event in them used to
// end with "some files could not be read completely".
func TestImportOfFilesWithoutEventsSaysSo(t *testing.T) {
	dir := isolate(t)
	junk := filepath.Join(dir, "junk.txt")
	heartbeats := filepath.Join(dir, "heartbeats.jsonl")
	os.WriteFile(junk, []byte("junk\n"), 0o600)
	os.WriteFile(heartbeats, []byte(`{"module":"heartbeat","success":true}`+"\n"+`{"module":"heartbeat","success":true}`+"\n"), 0o600)
	code, _, errOut := runOnce(t, dir, "import", junk, heartbeats)
	last := tailOf(errOut, 1)
	if want := "zoomwatch: no event was found in " + junk + ", " + heartbeats + " (every line was rejected)"; code != 1 || last != want {
		t.Errorf("exit %d, last line %q, want exit 1 and %q; stderr:\n%s", code, last, want, errOut)
	}
	if !strings.Contains(errOut, "heartbeats.jsonl: 0 added, 0 duplicates, 2 rejected lines") {
		t.Errorf("no report of the rejected lines:\n%s", errOut)
	}
	// A file that could not be read still says so.
	code, _, errOut = runOnce(t, dir, "import", filepath.Join(dir, "absent.jsonl"), junk)
	if want := "zoomwatch: some files could not be read completely, and no event was found in " + junk; code != 1 || tailOf(errOut, 1) != want {
		t.Errorf("exit %d, want 1 and %q; stderr:\n%s", code, want, errOut)
	}
}

// An event named past what the store can file (a 40,000-byte meeting uuid) once stopped
// every commit behind it, then every open after: import now rejects that line, saying why,
// stores the others, and the store takes more events afterwards.
func TestImportRejectsAnEventTheStoreCannotFile(t *testing.T) {
	dir := isolate(t)
	events, n := sampleEvents(t, dir)
	data, _ := os.ReadFile(events)
	poison := append([]byte(`{"event":"meeting.started","event_ts":1700000000000,"payload":{"object":{"uuid":"`+strings.Repeat("u", 40_000)+`"}}}`+"\n"), data...)
	os.WriteFile(events, poison, 0o600)
	code, _, errOut := runOnce(t, dir, "import", events)
	if code != 0 || !strings.Contains(errOut, "events.jsonl:1: event: payload.object.uuid is 40,000 bytes long") ||
		!strings.Contains(errOut, fmt.Sprintf("events.jsonl: %d added, 0 duplicates, 1 rejected line", n)) {
		t.Errorf("exit %d; stderr:\n%s", code, errOut)
	}
	if code, out, errOut := runOnce(t, dir, "export"); code != 0 || len(lines(out)) != n {
		t.Fatalf("export: exit %d, %d events, want %d; stderr:\n%s", code, len(lines(out)), n, errOut)
	}
}

// An export that writes nothing says why on stderr (exit 0), and formats are read in any case.
func TestAnEmptyExportSaysSo(t *testing.T) {
	dir := isolate(t)
	events, n := sampleEvents(t, dir)
	if code, _, errOut := runOnce(t, dir, "import", events); code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	if code, out, errOut := runOnce(t, dir, "export", "--type", "meeting.nothing"); code != 0 || out != "" || errOut != "zoomwatch: no stored event matches\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut := runOnce(t, dir, "export", "--format", "CSV"); code != 0 || len(lines(out)) != n+1 || errOut != "" {
		t.Errorf("--format CSV: exit %d, %d lines, stderr %q", code, len(lines(out)), errOut)
	}
}
