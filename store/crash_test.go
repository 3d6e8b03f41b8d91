package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"zoomwatch/feed"
)

// TestMain lets the test binary act as a child process that ingests hard and prints what it
// has shown, so that the parent can kill -9 it mid-stream.
func TestMain(m *testing.M) {
	if path := os.Getenv("ZOOMWATCH_CRASH_CHILD"); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild submits events as fast as it can and, store-then-show, prints each event's
// sequence number and participant only after its batch was published (committed).
func crashChild(path string) {
	// Saves every few thousand events, in many parts: a kill may fall between two.
	liveSaveEvents, livePartBytes = 2_000, 32<<10
	s, err := Open(Options{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	sub := s.Subscribe(1 << 16)
	round := os.Getenv("ZOOMWATCH_CRASH_ROUND")
	go func() {
		ctx := context.Background()
		for i := 0; ; i++ {
			raw := joinRaw(fmt.Sprintf("m%d", i%50), fmt.Sprintf("r%sp%d", round, i), t0.UnixMilli()+int64(i))
			ev, err := feed.DecodeEvent(raw)
			if err != nil {
				panic(err)
			}
			if s.Submit(ctx, feed.Item{Event: ev, Received: time.Now()}) != nil {
				return
			}
		}
	}()
	w := bufio.NewWriter(os.Stdout)
	for n := range sub.C {
		for _, r := range n.Records {
			fmt.Fprintf(w, "%d %s\n", r.Seq, r.Event.Who())
		}
		w.Flush()
	}
}

func TestKill9LosesNothingShown(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "events.db")
	for round := range 3 { // also crash a database that has already survived crashes
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ZOOMWATCH_CRASH_CHILD="+path, fmt.Sprint("ZOOMWATCH_CRASH_ROUND=", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		shown, want := map[uint64]string{}, 10_000
		sc := bufio.NewScanner(out)
		for sc.Scan() && len(shown) < want {
			f := strings.Fields(sc.Text())
			seq, _ := strconv.ParseUint(f[0], 10, 64)
			shown[seq] = f[1]
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if len(shown) < want {
			t.Fatalf("round %d: child showed only %d events", round, len(shown))
		}

		start := time.Now()
		s, err := Open(Options{Path: path})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		took := time.Since(start)
		s.liveMu.Lock()
		replayed := s.unsaved.Events() // before the writer's first save takes them
		s.liveMu.Unlock()
		t.Logf("round %d: %d events shown before kill -9; %d stored; reopened in %v, applying %d events again to the saved live state",
			round, len(shown), s.LastSeq(), took, replayed)
		for seq, who := range shown {
			r, ok, err := s.Get(seq)
			if err != nil || !ok || r.Event.Who() != who {
				t.Fatalf("round %d: shown event %d (%s) lost after kill -9: %v %v", round, seq, who, ok, err)
			}
		}
		// The live state saved before the kill, with the events stored after it applied
		// again, is the state of every stored event.
		checkLiveIsEveryEvent(t, s, fmt.Sprintf("round %d: after kill -9", round))
		s.Close()
	}
}
