package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestImportCountsDuplicatesAndBadLines(t *testing.T) {
	s := openTest(t, Options{})
	a := joinRaw("m1", "Ada", t0.UnixMilli())
	b := leftRaw("m1", "Ada", t0.UnixMilli()+5000)
	frame := fmt.Sprintf(`{"module":"message","success":true,"content":%q,"header":{}}`, startedRaw("m1", t0.UnixMilli()-1000))
	sample, err := os.ReadFile("../feed/testdata/samples/recording.completed.json") // pretty-printed, several lines
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	fmt.Fprintf(&in, "%s\n\n%s\r\nnot json at all\n%s\n", a, b, a) // line 5 repeats line 1
	fmt.Fprintf(&in, "%s\n", frame)                                // a WebSocket frame carrying an event
	fmt.Fprintf(&in, `{"module":"heartbeat","success":true,"content":"live","header":{}}`+"\n")
	fmt.Fprintf(&in, `{"no_event_field":1}`+"\n")
	fmt.Fprintf(&in, "%s\n", bytes.Join(bytes.Fields(sample), []byte(" "))) // one line
	fmt.Fprintf(&in, "%s", b)                                               // no final newline; duplicate

	rep, err := s.Import(context.Background(), &in, "archive.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lines != 9 || rep.Added != 4 || rep.Duplicates != 2 || rep.Rejected != 3 {
		t.Fatalf("report = %+v", rep)
	}
	var lines []int
	for _, e := range rep.Errors {
		lines = append(lines, e.Line)
	}
	if fmt.Sprint(lines) != "[4 7 8]" || !strings.Contains(rep.Errors[1].String(), `archive.jsonl:7: a "heartbeat" frame`) {
		t.Fatalf("errors = %v", rep.Errors)
	}
	p, _ := s.Page(Query{Oldest: true, Limit: 10})
	if len(p.Records) != 4 || p.Records[0].Source != SourceImport || !bytes.Equal(p.Records[0].Raw, a) {
		t.Fatalf("stored %d; first %v %s", len(p.Records), p.Records[0].Source, p.Records[0].Raw)
	}
	// Importing the same file again adds nothing.
	in.Reset()
	fmt.Fprintf(&in, "%s\n%s\n", a, b)
	rep, _ = s.Import(context.Background(), &in, "again", nil)
	if rep.Added != 0 || rep.Duplicates != 2 {
		t.Fatalf("second import = %+v", rep)
	}
}

// TestImportKeepsEventsWithoutEventTS: lines alike but for an event_ts that no sender writes
// are two events, not one and a duplicate; only the same line again is a duplicate.
func TestImportKeepsEventsWithoutEventTS(t *testing.T) {
	s := openTest(t, Options{})
	a := joinRaw("m1", "Ada", t0.UnixMilli())
	ts := fmt.Appendf(nil, `"event_ts":%d`, t0.UnixMilli())
	soon, later := bytes.Replace(a, ts, []byte(`"event_ts":"soon"`), 1), bytes.Replace(a, ts, []byte(`"event_ts":"later"`), 1)
	if bytes.Equal(soon, a) {
		t.Fatal("the line has no event_ts to replace")
	}
	var in bytes.Buffer
	fmt.Fprintf(&in, "%s\n%s\n%s\n", soon, later, soon)
	rep, err := s.Import(context.Background(), &in, "archive.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 2 || rep.Duplicates != 1 {
		t.Fatalf("report = %+v, want 2 added and the repeated line a duplicate", rep)
	}
}

func TestExportRoundTripsExactBytes(t *testing.T) {
	src := openTest(t, Options{})
	items := joins(t, 500, 4)
	submit(t, src, items...)
	var out bytes.Buffer
	n, err := src.Export(context.Background(), &out, "jsonl", Filter{})
	if err != nil || n != 500 {
		t.Fatalf("export: %d, %v", n, err)
	}
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	for i, l := range lines {
		if !bytes.Equal(l, items[i].Event.Raw) {
			t.Fatalf("line %d differs", i+1)
		}
	}
	dst := openTest(t, Options{})
	rep, err := dst.Import(context.Background(), bytes.NewReader(out.Bytes()), "export", nil)
	if err != nil || rep.Added != 500 {
		t.Fatalf("import of export: %+v %v", rep, err)
	}
	var again bytes.Buffer
	dst.Export(context.Background(), &again, "jsonl", Filter{})
	if !bytes.Equal(again.Bytes(), out.Bytes()) {
		t.Fatal("export → import → export changed the bytes")
	}
	// Filtered CSV.
	out.Reset()
	n, err = src.Export(context.Background(), &out, "csv", Filter{Meeting: "m1==", Since: t0.Add(100 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != n+1 || n != 100 {
		t.Fatalf("csv: %d rows for %d events, %v", len(rows), n, err)
	}
	if strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") || rows[1][3] != "meeting.participant_joined" || rows[1][5] != "m1==" {
		t.Fatalf("csv rows: %v / %v", rows[0], rows[1])
	}
	if _, err := src.Export(context.Background(), &out, "xml", Filter{}); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestReadOnlyOpenNeverWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openTest(t, Options{Path: path})
	submit(t, s, joins(t, 10, 2)...)
	s.Close()
	st, _ := os.Stat(path)
	ro := openTest(t, Options{Path: path, ReadOnly: true})
	p, _ := ro.Page(Query{Limit: 100})
	if len(p.Records) != 10 || len(ro.Live().Meetings) != 2 {
		t.Fatalf("read-only: %d events, %d meetings", len(p.Records), len(ro.Live().Meetings))
	}
	if err := ro.Submit(context.Background(), joins(t, 1, 1)[0]); err == nil {
		t.Fatal("read-only store accepted a write")
	}
	ro.Close()
	st2, _ := os.Stat(path)
	if !st.ModTime().Equal(st2.ModTime()) || st.Size() != st2.Size() {
		t.Fatal("read-only open modified the file")
	}
	if _, err := Open(Options{Path: filepath.Join(t.TempDir(), "none.db"), ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("read-only open of a missing file: %v", err)
	}
}

// TestImportCountsOnlyWhatIsStored: a commit that fails and is retried counts its events
// once; a disk that keeps refusing stops the import with a clear error, and the report counts
// nothing it did not store.
func TestImportCountsOnlyWhatIsStored(t *testing.T) {
	t.Cleanup(func(d time.Duration) func() { return func() { giveUpAfter = d } }(giveUpAfter))
	giveUpAfter = 2 * time.Second // beyond the retries of two failed commits (100 + 200 ms)
	s := openTest(t, Options{})
	var mu sync.Mutex
	failures := 2 // the next commits to fail; -1: all of them
	s.opts.commitHook = func() error {
		mu.Lock()
		defer mu.Unlock()
		if failures == 0 {
			return nil
		}
		failures--
		return errors.New("write events.db: no space left on device")
	}
	lines := func(from, n int) io.Reader {
		var b bytes.Buffer
		for _, it := range joins(t, from+n, 7)[from:] {
			b.Write(it.Event.Raw)
			b.WriteByte('\n')
		}
		return &b
	}
	rep, err := s.Import(context.Background(), lines(0, 500), "flaky", nil)
	if err != nil || rep.Added != 500 || rep.Duplicates != 0 {
		t.Fatalf("two failed commits, then fine: added %d, duplicates %d, %v; want 500, 0, nil", rep.Added, rep.Duplicates, err)
	}

	mu.Lock()
	failures = -1
	mu.Unlock()
	rep, err = s.Import(context.Background(), lines(500, 3000), "full", nil)
	var ns *NotStoringError
	if !errors.As(err, &ns) || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("a disk refusing every write: %v, want a NotStoringError naming the disk's error", err)
	}
	if rep.Added != 0 || s.Health().Counts.Events != 500 {
		t.Errorf("report says %d added, the store holds %d events; want 0 and 500", rep.Added, s.Health().Counts.Events)
	}
}

// TestCSVCellsAreNeverFormulas: a display name chosen to run in a spreadsheet is exported as
// text.
func TestCSVCellsAreNeverFormulas(t *testing.T) {
	s := openTest(t, Options{})
	submit(t, s, item(t, joinRaw("m1", `=HYPERLINK(\"http://x\",\"y\")`, t0.UnixMilli())), item(t, joinRaw("m2", "-Ada", t0.UnixMilli()+1)),
		item(t, joinRaw("m3", "Grace", t0.UnixMilli()+2)), item(t, joinRaw("m4", `  =1+1`, t0.UnixMilli()+3)),
		item(t, joinRaw("m5", `Ada = Grace`, t0.UnixMilli()+4)))
	var out bytes.Buffer
	if _, err := s.Export(context.Background(), &out, "csv", Filter{}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for i, want := range []string{`'=HYPERLINK("http://x","y")`, "'-Ada", "Grace", "'  =1+1", "Ada = Grace"} {
		if got := rows[i+1][7]; got != want {
			t.Errorf("participant %q, want %q", got, want)
		}
	}
}

// The CSV detail of a recording counts its files in words: "1 file", "2 files".
func TestCSVDetailCountsFiles(t *testing.T) {
	s := openTest(t, Options{Path: filepath.Join(t.TempDir(), "events.db")})
	rec := func(uuid string, files int) []byte {
		var fs []string
		for i := range files {
			fs = append(fs, fmt.Sprintf(`{"id":"f%d","file_type":"MP4"}`, i))
		}
		return []byte(fmt.Sprintf(`{"event":"recording.completed","event_ts":%d,"payload":{"object":{"uuid":%q,"id":1,"recording_files":[%s]}}}`,
			t0.UnixMilli(), uuid, strings.Join(fs, ",")))
	}
	submit(t, s, item(t, rec("r1==", 1)), item(t, rec("r2==", 2)))
	var out bytes.Buffer
	if _, err := s.Export(context.Background(), &out, "csv", Filter{}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	detail := slices.Index(rows[0], "detail")
	if detail < 0 || rows[1][detail] != "1 file" || rows[2][detail] != "2 files" {
		t.Errorf("details %q and %q, want \"1 file\" and \"2 files\" (header %v)", rows[1][max(detail, 0)], rows[2][max(detail, 0)], rows[0])
	}
}
