package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"zoomwatch/feed/sim"
	"zoomwatch/internal/numfmt"
	"zoomwatch/internal/sshviewer"
)

// MemoryReport is the resident memory of a collecting zoomwatch by history size, and of a
// serving one while SSH viewers watch.
type MemoryReport struct {
	Collector  []RSSFigure `json:"collector"`
	SSH        *SSHFigure  `json:"ssh,omitempty"`
	SSHSkipped string      `json:"ssh_skipped,omitempty"`
}

// RSSFigure is a child process's memory after it has run for a while (bytes).
type RSSFigure struct {
	Events int     `json:"events"`
	RSS    float64 `json:"rss"`
	Peak   float64 `json:"peak"`
	Anon   float64 `json:"anon"`
	File   float64 `json:"file"`
}

// SSHFigure is a `zoomwatch serve` process alone and with viewers, each a real ssh client
// in its own 120×40 terminal.
type SSHFigure struct {
	Viewers       int     `json:"viewers"`
	Events        int     `json:"events"`
	AloneRSS      float64 `json:"alone_rss"`
	WatchedRSS    float64 `json:"watched_rss"`
	WatchedPeak   float64 `json:"watched_peak"`
	PerViewerRSS  float64 `json:"per_viewer_rss"`
	AloneCPU      float64 `json:"alone_cpu"` // cores busy
	WatchedCPU    float64 `json:"watched_cpu"`
	PerViewerCPU  float64 `json:"per_viewer_cpu"`
	SlowestKBps   float64 `json:"slowest_viewer_kb_per_s"`
	StoppedUpdate int     `json:"viewers_stopped_updating"`
}

// collectorRate is the simulator's pace while memory is measured: a busy account.
const collectorRate = 200

const sshViewers = 20

func (r *runner) memory(ctx context.Context) (*MemoryReport, error) {
	rep := &MemoryReport{}
	for _, n := range r.sz.memory {
		f, err := r.rssAt(ctx, n)
		if err != nil {
			return rep, err
		}
		rep.Collector = append(rep.Collector, f)
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		rep.SSHSkipped = "no ssh client installed"
		return rep, nil
	}
	var err error
	rep.SSH, err = r.sshLoad(ctx, r.sz.big)
	return rep, err
}

// storeCopy is a fresh database holding n generated events (none for 0), for a child to
// collect into.
func (r *runner) storeCopy(ctx context.Context, n int, name string) (string, error) {
	path := filepath.Join(r.work, name)
	os.Remove(path)
	if n == 0 {
		return path, nil
	}
	cached, _, _, err := r.cachedStore(ctx, n)
	if err != nil {
		return "", err
	}
	return path, copyFile(cached, path)
}

// rssAt runs `zoomwatch tail` over a store of n events, collecting from the simulator, and
// reads its memory once it has settled.
func (r *runner) rssAt(ctx context.Context, n int) (RSSFigure, error) {
	if f, ok := r.rss[n]; ok {
		return f, nil
	}
	fig := RSSFigure{Events: n}
	db, err := r.storeCopy(ctx, n, "rss.db")
	if err != nil {
		return fig, err
	}
	defer os.Remove(db)
	s, err := sim.Start(sim.Options{Seed: 3, Rate: collectorRate})
	if err != nil {
		return fig, err
	}
	defer s.Close()
	c, err := r.startChild(ctx, childSpec{env: simEnv(s),
		args: []string{"tail", "--json", "--db", db, "--log", filepath.Join(r.work, "rss.log")}})
	if err != nil {
		return fig, err
	}
	defer c.stop(syscall.SIGTERM, 10*time.Second)
	if err := c.waitLive(ctx, 30*time.Second); err != nil {
		return fig, err
	}
	if err := sleepCtx(ctx, r.sz.settle); err != nil {
		return fig, err
	}
	m, err := readProcMem(c.pid())
	if err != nil {
		return fig, err
	}
	fig.RSS, fig.Peak, fig.Anon, fig.File = m.RSS, m.Peak, m.Anon, m.File
	if code := c.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
		return fig, fmt.Errorf("zoomwatch tail exited %d:\n%s", code, c.stderrTail())
	}
	r.rss[n] = fig
	r.progress("memory with %s events stored: %s resident", numfmt.Thousands(int64(n)), mib(fig.RSS))
	return fig, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error { return sleepUntil(ctx, time.Now().Add(d)) }

var servingOn = regexp.MustCompile(`serving on (\S+) `)

// sshLoad runs `zoomwatch serve` over a store of n events, collecting from the simulator,
// and measures it alone and then with sshViewers monitors watching over SSH.
func (r *runner) sshLoad(ctx context.Context, n int) (*SSHFigure, error) {
	fig := &SSHFigure{Viewers: sshViewers, Events: n}
	db, err := r.storeCopy(ctx, n, "ssh.db")
	if err != nil {
		return nil, err
	}
	defer os.Remove(db)
	keys, err := newViewerKeys(r.work)
	if err != nil {
		return nil, err
	}
	s, err := sim.Start(sim.Options{Seed: 4, Rate: collectorRate})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	addr := make(chan string, 1)
	c, err := r.startChild(ctx, childSpec{env: simEnv(s),
		args: []string{"serve", "--ssh", "127.0.0.1:0", "--authorized-keys", keys.authorized, "--host-key", filepath.Join(r.work, "host_key"),
			"--db", db, "--log", filepath.Join(r.work, "ssh.log")},
		stderr: func(line string) {
			if m := servingOn.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}})
	if err != nil {
		return nil, err
	}
	defer c.stop(syscall.SIGTERM, 10*time.Second)
	var listen string
	select {
	case listen = <-addr:
	case <-c.exited:
		return nil, fmt.Errorf("zoomwatch serve exited:\n%s", c.stderrTail())
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("zoomwatch serve did not say where it listens:\n%s", c.stderrTail())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	_, port, _ := strings.Cut(listen, ":")
	if err := sleepCtx(ctx, 2*time.Second); err != nil { // the collector's start-up out of the baseline
		return nil, err
	}
	alone, err := sampleProc(ctx, c.pid(), r.sz.sshWindow)
	if err != nil {
		return nil, err
	}
	fig.AloneRSS, fig.AloneCPU = alone.mem.RSS, alone.cpu

	var viewers []*sshviewer.Viewer
	defer func() {
		for _, v := range viewers {
			v.Close()
		}
	}()
	for range sshViewers {
		v, err := sshviewer.Start(ctx, keys.private, port)
		if err != nil {
			return nil, err
		}
		viewers = append(viewers, v)
	}
	if err := waitViewers(ctx, viewers, 30*time.Second); err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, 2*time.Second); err != nil { // the viewers' first loads out of the figure
		return nil, err
	}
	before := make([]int64, len(viewers))
	for i, v := range viewers {
		before[i] = v.Bytes()
	}
	watched, err := sampleProc(ctx, c.pid(), r.sz.sshWindow)
	if err != nil {
		return nil, err
	}
	fig.WatchedRSS, fig.WatchedPeak, fig.WatchedCPU = watched.mem.RSS, watched.mem.Peak, watched.cpu
	fig.PerViewerRSS = (fig.WatchedRSS - fig.AloneRSS) / sshViewers
	fig.PerViewerCPU = (fig.WatchedCPU - fig.AloneCPU) / sshViewers
	slowest := int64(1) << 62
	for i, v := range viewers {
		slowest = min(slowest, v.Bytes()-before[i])
		if time.Since(v.Last()) > 2*time.Second {
			fig.StoppedUpdate++
		}
	}
	fig.SlowestKBps = float64(slowest) / r.sz.sshWindow.Seconds() / 1024
	if c.hasExited() {
		return fig, fmt.Errorf("zoomwatch serve exited:\n%s", c.stderrTail())
	}
	r.progress("memory with %d SSH viewers: %s resident (alone %s)", sshViewers, mib(fig.WatchedRSS), mib(fig.AloneRSS))
	return fig, nil
}

// procSample is a process's CPU use over a window and its memory at the end.
type procSample struct {
	cpu float64 // cores busy on average
	mem procMem
}

func sampleProc(ctx context.Context, pid int, d time.Duration) (procSample, error) {
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return procSample{}, err
	}
	start := time.Now()
	if err := sleepCtx(ctx, d); err != nil {
		return procSample{}, err
	}
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return procSample{}, err
	}
	m, err := readProcMem(pid)
	return procSample{cpu: (cpu1 - cpu0) / time.Since(start).Seconds(), mem: m}, err
}

func (rep *MemoryReport) writeTable(w io.Writer) {
	fmt.Fprintf(w, "memory      resident size of a collecting zoomwatch tail (%d ev/s from the simulator)\n", collectorRate)
	for _, f := range rep.Collector {
		fmt.Fprintf(w, "  %9s events stored   %-10s (heap %s, mapped file %s; peak %s)\n", numfmt.Thousands(int64(f.Events)), mib(f.RSS), mib(f.Anon), mib(f.File), mib(f.Peak))
	}
	if s := rep.SSH; s != nil {
		fmt.Fprintf(w, "  %d SSH viewers (zoomwatch serve, %s events stored): %s resident (alone %s; %s per viewer),\n",
			s.Viewers, numfmt.Thousands(int64(s.Events)), mib(s.WatchedRSS), mib(s.AloneRSS), mib(s.PerViewerRSS))
		fmt.Fprintf(w, "    CPU %.0f%% of a core (alone %.0f%%; %.1f%% per viewer); slowest viewer %.1f KB/s of screen; %d stopped updating\n",
			100*s.WatchedCPU, 100*s.AloneCPU, 100*s.PerViewerCPU, s.SlowestKBps, s.StoppedUpdate)
	} else if rep.SSHSkipped != "" {
		fmt.Fprintf(w, "  SSH viewers: skipped (%s)\n", rep.SSHSkipped)
	}
}
