package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"zoomwatch/feed/sim"
)

// liveLine is tail's stderr line for a link going live: "zoomwatch: 11:29:14 live".
var liveLine = regexp.MustCompile(`^zoomwatch: \d\d:\d\d:\d\d live\b`)

// child is a zoomwatch process started by the bench.
type child struct {
	cmd     *exec.Cmd
	started time.Time
	live    chan struct{} // closed when stderr first says the link is live
	exited  chan struct{} // closed once the process has exited and its output is read
	waitErr error         // set before exited is closed

	mu     sync.Mutex
	stderr []string // the last lines, for error messages
}

// childSpec is what to run and where its output goes.
type childSpec struct {
	args []string
	env  []string // added to the bench's environment (without its ZOOM_* and config)
	// stdout gets each line of standard output (a fresh slice); nil discards it. stdin and
	// stdout of a child are never a terminal.
	stdout func(line []byte)
	// stderr gets each line of standard error, besides the bench keeping the last ones.
	stderr func(line string)
}

const stderrKept = 40

// startChild runs zoomwatch. The environment is the bench's own without Zoom settings and
// with an empty config directory, so that a user's config file or account never leaks in.
func (r *runner) startChild(ctx context.Context, spec childSpec) (*child, error) {
	cmd := exec.CommandContext(ctx, r.o.Exe, spec.args...)
	cmd.Env = append(cleanEnv(filepath.Join(r.work, "config")), spec.env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, live: make(chan struct{}), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.started = time.Now()
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		if spec.stdout == nil {
			io.Copy(io.Discard, out)
			return
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			spec.stdout(bytes.Clone(sc.Bytes()))
		}
		io.Copy(io.Discard, out) // an over-long line: keep the pipe flowing
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(nil, 1<<20)
		isLive := false
		for sc.Scan() {
			line := sc.Text()
			if !isLive && liveLine.MatchString(line) {
				isLive = true
				close(c.live)
			}
			if spec.stderr != nil {
				spec.stderr(line)
			}
			if !strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "SCHED") { // runtime traces are not news
				c.mu.Lock()
				c.stderr = append(c.stderr, line)
				if len(c.stderr) > stderrKept {
					c.stderr = c.stderr[len(c.stderr)-stderrKept:]
				}
				c.mu.Unlock()
			}
		}
		io.Copy(io.Discard, errPipe)
	}()
	go func() {
		readers.Wait() // Wait closes the pipes: read them to the end first
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

func cleanEnv(configDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ZOOM_") || k == "XDG_CONFIG_HOME" || k == "GODEBUG" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "XDG_CONFIG_HOME="+configDir)
}

// simEnv points a child at the simulator.
func simEnv(s *sim.Server) []string {
	o := s.Options()
	return []string{"ZOOM_ACCOUNT_ID=" + o.AccountID, "ZOOM_CLIENT_ID=" + o.ClientID,
		"ZOOM_CLIENT_SECRET=" + o.ClientSecret, "ZOOM_WS_URL=" + s.WSURL(), "ZOOM_OAUTH_URL=" + s.OAuthURL()}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stderrTail is the last lines the child wrote to stderr.
func (c *child) stderrTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.stderr, "\n")
}

func (c *child) hasExited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// waitLive waits until the child's link is live.
func (c *child) waitLive(ctx context.Context, limit time.Duration) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-c.live:
		return nil
	case <-c.exited:
		return fmt.Errorf("zoomwatch exited before going live (%v):\n%s", c.waitErr, c.stderrTail())
	case <-t.C:
		return fmt.Errorf("zoomwatch not live after %v:\n%s", limit, c.stderrTail())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop sends sig and waits for the exit; a child still running after grace is killed.
// It returns the exit code (-1 when killed by a signal).
func (c *child) stop(sig syscall.Signal, grace time.Duration) int {
	if !c.hasExited() {
		c.cmd.Process.Signal(sig)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.exited:
	case <-t.C:
		c.cmd.Process.Kill()
		<-c.exited
	}
	return exitCode(c.waitErr)
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// runChild runs zoomwatch to completion and returns how long it took and its stderr.
func (r *runner) runChild(ctx context.Context, stdout io.Writer, args ...string) (time.Duration, string, error) {
	cmd := exec.CommandContext(ctx, r.o.Exe, args...)
	cmd.Env = cleanEnv(filepath.Join(r.work, "config"))
	var errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &errBuf
	start := time.Now()
	err := cmd.Run()
	el := time.Since(start)
	if err != nil {
		return el, errBuf.String(), fmt.Errorf("zoomwatch %s: %v\n%s", strings.Join(args, " "), err, errBuf.String())
	}
	return el, errBuf.String(), nil
}

// procMem is a process's memory as the kernel accounts it (/proc/PID/status), in bytes.
type procMem struct {
	RSS     float64 // VmRSS: resident now
	Peak    float64 // VmHWM: the most ever resident
	Anon    float64 // RssAnon: heap, stacks — what a leak grows
	File    float64 // RssFile: mapped files (bbolt's mmap of the database) and the binary
	Threads int
}

func readProcMem(pid int) (procMem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procMem{}, err
	}
	return parseStatus(b), nil
}

func parseStatus(b []byte) procMem {
	var m procMem
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseFloat(f[0], 64)
		switch k {
		case "VmRSS":
			m.RSS = n * 1024
		case "VmHWM":
			m.Peak = n * 1024
		case "RssAnon":
			m.Anon = n * 1024
		case "RssFile":
			m.File = n * 1024
		case "Threads":
			m.Threads = int(n)
		}
	}
	return m
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// cpuSeconds is the CPU time (user + system) a process has used.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

func parseStatCPU(b []byte) (float64, error) {
	// The command name (field 2) may hold spaces: count fields after its closing paren.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	ut, err1 := strconv.ParseFloat(f[11], 64) // utime is field 14: the 12th after the paren
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat format")
	}
	return (ut + st) / clockTicks, nil
}

// goroutineCounter counts a child's goroutines from the Go runtime's scheduler trace
// (GODEBUG=schedtrace=MS,scheddetail=1 on its stderr): every MS milliseconds the runtime
// lists each goroutine; those not dead are the live ones (the runtime's own included, which
// are few and constant). This reads the real process without adding anything to it.
type goroutineCounter struct {
	inBlock bool
	at      time.Time
	n       int
	emit    func(at time.Time, n int)
}

// goroutineTrace is the GODEBUG setting that makes a child list its goroutines every period.
func goroutineTrace(period time.Duration) string {
	return fmt.Sprintf("GODEBUG=schedtrace=%d,scheddetail=1", period.Milliseconds())
}

// line takes one line of the child's stderr.
func (g *goroutineCounter) line(l string, now time.Time) {
	switch {
	case strings.HasPrefix(l, "SCHED "):
		g.flush()
		g.inBlock, g.at, g.n = true, now, 0
	case g.inBlock && strings.HasPrefix(l, "  G"):
		// "  G12: status=4(chan receive) m=nil lockedm=nil"
		_, rest, ok := strings.Cut(l, "status=")
		if !ok {
			return
		}
		end := strings.IndexByte(rest, '(')
		if end < 0 {
			return
		}
		status, err := strconv.Atoi(rest[:end])
		if err != nil {
			return
		}
		if !goroutineDead(status) {
			g.n++
		}
	}
	// Other lines (P and M lines, and the child's own messages, which may interleave with
	// the runtime's) leave the count alone.
}

// goroutineDead: _Gdead (6) and _Gdeadextra (11), with or without the GC's scan bit.
func goroutineDead(status int) bool {
	s := status &^ 0x1000
	return s == 6 || s == 11
}

// flush emits the block in progress (at the next block, and when the child exits).
func (g *goroutineCounter) flush() {
	if g.inBlock && g.n > 0 {
		g.emit(g.at, g.n)
	}
	g.inBlock = false
}
