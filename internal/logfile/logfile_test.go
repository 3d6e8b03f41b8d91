package logfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A log that keeps growing moves aside at its size and starts again; nothing written is
// lost (the last two files hold the newest lines), and writes straight to the file (as
// os.Stderr in the monitor) still land in the log.
func TestTheLogStaysBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zoomwatch.log")
	f, err := Open(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for i := range 100 {
		line := fmt.Sprintf("line %03d of the log, some forty bytes\n", i)
		want.WriteString(line)
		if _, err := f.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.OS().WriteString("a panic report\n"); err != nil {
		t.Errorf("the file itself no longer takes writes: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cur, _ := os.ReadFile(path)
	old, _ := os.ReadFile(path + ".1")
	if len(cur) > 1000+len("a panic report\n") || len(old) > 1000 {
		t.Errorf("the log is %d bytes and the one before %d, over 1000", len(cur), len(old))
	}
	kept := append(old, bytes.ReplaceAll(cur, []byte("a panic report\n"), nil)...)
	if !bytes.HasSuffix(want.Bytes(), kept) || len(kept) < 1000 {
		t.Errorf("the two files do not hold the newest lines in order:\n%s", kept)
	}
	if !bytes.Contains(cur, []byte("a panic report")) {
		t.Error("the write straight to the file did not land in the log")
	}
}

// A log already past its size when zoomwatch starts is moved aside at once.
func TestABigLogMovesAsideAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zoomwatch.log")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("new\n"))
	f.Close()
	if cur, _ := os.ReadFile(path); string(cur) != "new\n" {
		t.Errorf("log %q", cur)
	}
	if old, _ := os.ReadFile(path + ".1"); len(old) != 2000 {
		t.Errorf("the old log kept %d bytes, want 2000", len(old))
	}
}
