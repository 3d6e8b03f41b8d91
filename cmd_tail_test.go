package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/internal/syncbuf"
	"zoomwatch/internal/testbin"
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
	p.health(store.Health{Storing: true, LastCommit: since.Add(time.Minute)})
	want := []string{
		"zoomwatch: NOT STORING since 01:15:45: write events.db: no space left on device; 1200 events wait in memory (retrying; nothing is printed until it is stored)",
		"zoomwatch: 01:16:45 storing again",
	}
	if got := strings.Split(strings.TrimSpace(errOut.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut.String(), strings.Join(want, "\n"))
	}
}

// closedPipe is stdout after the reader went away (tail | head): writes fail with EPIPE once
// n bytes are through.
type closedPipe struct{ n int }

func (c *closedPipe) Write(p []byte) (int, error) {
	if c.n -= len(p); c.n < 0 {
		return 0, syscall.EPIPE
	}
	return len(p), nil
}

// TestTailStopsCleanlyWhenItsOutputCloses: tail | head ends tail quietly, and the connection
// log says it stopped, so that the next run reports a clean stop rather than a crash.
func TestTailStopsCleanlyWhenItsOutputCloses(t *testing.T) {
	dir := isolate(t)
	simFor(t, sim.Options{Seed: 3, Rate: 200})
	db := filepath.Join(dir, "events.db")
	var errOut syncbuf.Buffer
	code := run(context.Background(), []string{"tail", "--db", db, "--log", filepath.Join(dir, "zoomwatch.log")}, &closedPipe{n: 500}, &errOut)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	if stop := stopped(t, db); !strings.Contains(stop.Reason, "output closed") {
		t.Errorf("stopped because %q, want the closed output", stop.Reason)
	}
}

// stopped is the database's newest connection-log entry, which must be a clean stop.
func stopped(t *testing.T, db string) *feed.Transition {
	t.Helper()
	st, err := store.Open(store.Options{Path: db, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, err := st.RecentLog(1)
	if err != nil || len(log) != 1 || log[0].Transition == nil || log[0].Transition.State != feed.StateStopped {
		t.Fatalf("the newest log entry is %+v (%v), want the stopped transition", log, err)
	}
	return log[0].Transition
}

// A stop signal, the terminal's hang-up included, ends tail (the process, as a user runs it)
// cleanly: exit 0, the stop recorded, the database given up.
func TestStopSignalsEndTailCleanly(t *testing.T) {
	dir := isolate(t)
	simFor(t, sim.Options{Seed: 3, Rate: 200})
	bin := filepath.Join(dir, "bin", "zoomwatch")
	testbin.Build(t, bin)
	said := map[os.Signal]string{os.Interrupt: "stopped: interrupted (SIGINT)", syscall.SIGTERM: "stopped: terminated (SIGTERM)",
		syscall.SIGHUP: "stopped: the terminal closed (SIGHUP)"}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "events.db")
			cmd := exec.Command(bin, "tail", "--db", db, "--log", filepath.Join(dir, "zoomwatch.log"))
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errOut syncbuf.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The first event printed: the link is live and events are stored.
			if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
				cmd.Process.Kill()
				t.Fatalf("no event printed: %v; stderr:\n%s", err, errOut.String())
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			go io.Copy(io.Discard, out)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("after %v: %v; stderr:\n%s", sig, err, errOut.String())
			}
			if _, err := os.Stat(db + ".owner"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after %v the database's owner file is still there (%v)", sig, err)
			}
			stopped(t, db)
			if !strings.Contains(errOut.String(), said[sig]) { // not Go's "terminated signal received"
				t.Errorf("after %v stderr does not say %q:\n%s", sig, said[sig], errOut.String())
			}
		})
	}
}

// serve, run as systemd runs it and stopped by SIGTERM, records why it stopped, as tail does.
func TestServeRecordsTheSignalThatStoppedIt(t *testing.T) {
	dir := isolate(t)
	simFor(t, sim.Options{Seed: 3, Rate: 50})
	bin := filepath.Join(dir, "bin", "zoomwatch")
	testbin.Build(t, bin)
	cmd := exec.Command(bin, "serve", "--ssh", "127.0.0.1:0", "--authorized-keys", authorizedKeys(t, dir),
		"--db", filepath.Join(dir, "events.db"), "--log", filepath.Join(dir, "zoomwatch.log"))
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errOut syncbuf.Buffer
	lines := bufio.NewScanner(errPipe)
	for lines.Scan() {
		errOut.Write(append(lines.Bytes(), '\n'))
		if strings.HasSuffix(lines.Text(), " live") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	io.Copy(&errOut, errPipe)
	if err := cmd.Wait(); err != nil || !strings.Contains(errOut.String(), "stopped: terminated (SIGTERM)") {
		t.Errorf("serve after SIGTERM: %v; stderr:\n%s", err, errOut.String())
	}
}
