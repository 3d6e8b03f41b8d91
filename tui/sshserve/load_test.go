package sshserve

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"zoomwatch/auth"
	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/internal/sshviewer"
	"zoomwatch/store"
	"zoomwatch/tui"
)

const (
	loadRate    = 200 // events per second from the simulator
	loadViewers = 20
)

// TestLoadViewers runs the collector (simulator at 200 events/s → feed → store, fsync on) with
// 20 monitors watching over SSH, each a real ssh client in its own 120×40 terminal, and
// measures what the viewers cost the server: CPU and resident memory per viewer. The
// collector must keep pace (no backlog, no gap) and every viewer must keep updating.
func TestLoadViewers(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("load test skipped with -short and under the race detector")
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh is not installed")
	}
	dir := t.TempDir()
	st, err := store.Open(store.Options{Path: filepath.Join(dir, "events.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // cleanups run last first: viewers, server, collector, simulator, store
	simSrv, err := sim.Start(sim.Options{Seed: 1, Rate: loadRate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { simSrv.Close() })
	client := collect(t, simSrv, st)

	keyFile := filepath.Join(dir, "viewer_key")
	pub, err := sshviewer.NewKey(keyFile, "load viewer")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), gossh.MarshalAuthorizedKey(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{AuthorizedKeys: filepath.Join(dir, "authorized_keys"), HostKey: filepath.Join(dir, "host_key"),
		Store: st, Status: client.Stats, Account: "load", Mode: tui.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		srv.Shutdown(ctx)
	})

	const window = 10 * time.Second
	time.Sleep(2 * time.Second) // the collector's start-up (token, build_connection) out of the baseline
	base := sample(st, window)
	t.Logf("collector alone: %s", base)

	var viewers []*sshviewer.Viewer
	for range loadViewers {
		v, err := sshviewer.Start(context.Background(), keyFile, port(ln.Addr().String()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		viewers = append(viewers, v)
	}
	eventually(t, "every viewer's screen", func() bool {
		for _, v := range viewers {
			if !v.ShowsScreen() {
				return false
			}
		}
		return true
	})
	if n, _ := srv.counts(); n != loadViewers {
		t.Fatalf("%d viewers connected, want %d", n, loadViewers)
	}
	time.Sleep(2 * time.Second) // the viewers' initial loads out of the measurement
	before := make([]int64, len(viewers))
	for i, v := range viewers {
		before[i] = v.Bytes()
	}
	loaded := sample(st, window)
	t.Logf("with %d viewers: %s", loadViewers, loaded)

	perCPU := (loaded.cpu - base.cpu) / loadViewers
	perRSS := (loaded.rss - base.rss) / loadViewers
	var minOut int64 = 1 << 62
	for i, v := range viewers {
		n := v.Bytes() - before[i]
		minOut = min(minOut, n)
		if time.Since(v.Last()) > 2*time.Second {
			t.Errorf("viewer %d stopped updating (last output %v ago)", i, time.Since(v.Last()).Round(time.Millisecond))
		}
	}
	t.Logf("per viewer: %.1f%% of a core (%.1f ms CPU per second), %.1f MB resident; the slowest viewer got %.1f KB/s of screen updates",
		100*perCPU, 1000*perCPU, perRSS/(1<<20), float64(minOut)/window.Seconds()/1024)

	stats := simSrv.Stats()
	if stats.Connections != 1 {
		t.Errorf("the simulator saw %d connections, want 1", stats.Connections)
	}
	if loaded.maxBacklog > 0 || base.maxBacklog > 0 {
		t.Errorf("the store's backlog reached %d events (collector alone: %d)", loaded.maxBacklog, base.maxBacklog)
	}
	if n := st.GapCount(); n != 0 {
		t.Errorf("%d gaps recorded", n)
	}
	if g, open := st.OpenGap(); open {
		t.Errorf("a gap is open: %+v", g)
	}
	if loaded.events < loadRate*window.Seconds()*0.8 {
		t.Errorf("only %.0f events stored in %v at %d/s", loaded.events, window, loadRate)
	}
}

// collect connects to the simulator and stores everything, as main's collector does.
func collect(t *testing.T, s *sim.Server, st *store.Store) *feed.Client {
	o := s.Options()
	tokens := auth.New(auth.Config{URL: s.OAuthURL(), AccountID: o.AccountID, ClientID: o.ClientID, ClientSecret: o.ClientSecret})
	client := feed.New(feed.Config{URL: s.WSURL(), Tokens: tokens})
	ctx, cancel := context.WithCancel(context.Background())
	items := make(chan feed.Item, 4096)
	done := make(chan struct{})
	go func() {
		client.Run(ctx, items)
		close(items)
	}()
	go func() {
		for it := range items {
			st.Submit(context.Background(), it)
		}
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return client
}

type loadSample struct {
	cpu        float64 // CPU seconds per second, this process
	rss        float64 // resident bytes at the end
	heap       float64 // Go heap in use at the end
	events     float64 // stored during the window
	maxBacklog int
}

func (s loadSample) String() string {
	return strconv.FormatFloat(100*s.cpu, 'f', 1, 64) + "% CPU, RSS " + strconv.FormatFloat(s.rss/(1<<20), 'f', 1, 64) +
		" MB, heap " + strconv.FormatFloat(s.heap/(1<<20), 'f', 1, 64) + " MB, " + strconv.FormatFloat(s.events, 'f', 0, 64) +
		" events stored, max backlog " + strconv.Itoa(s.maxBacklog)
}

// sample measures the process over d, watching the store's backlog.
func sample(st *store.Store, d time.Duration) loadSample {
	var s loadSample
	cpu0, ev0, start := cpuTime(), st.Health().Counts.Events, time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for time.Since(start) < d {
		<-tick.C
		s.maxBacklog = max(s.maxBacklog, st.Health().Backlog)
	}
	el := time.Since(start).Seconds()
	s.cpu = (cpuTime() - cpu0) / el
	s.events = float64(st.Health().Counts.Events - ev0)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.heap = float64(ms.HeapInuse)
	s.rss = rss()
	return s
}

func cpuTime() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func rss() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}
