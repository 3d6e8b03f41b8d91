package sshserve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"zoomwatch/internal/testbin"
)

// TestEndToEndRealSSH runs `zoomwatch serve` against `zoomwatch sim` and uses it with the
// real ssh client: two viewers at once in tmux, an unknown key, export and status; the
// simulator must have seen exactly one connection.
func TestEndToEndRealSSH(t *testing.T) {
	for _, tool := range []string{"tmux", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "zoomwatch")
	testbin.Build(t, bin)
	home := filepath.Join(dir, "home")
	env := []string{"HOME=" + home, "XDG_STATE_HOME=" + filepath.Join(home, "state"), "XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"PATH=" + os.Getenv("PATH"), "TERM=xterm-256color"}

	// The simulator, and its settings for zoomwatch.
	simCmd := exec.Command(bin, "sim", "--listen", "127.0.0.1:0", "--rate", "20", "--log", filepath.Join(dir, "sim.log"))
	simCmd.Env = env
	simOut := startLogged(t, simCmd)
	for _, l := range simOut.waitLines(t, 5, func(l string) bool { return strings.HasPrefix(l, "export ZOOM_OAUTH_URL=") }) {
		if kv, ok := strings.CutPrefix(l, "export "); ok && strings.HasPrefix(kv, "ZOOM_") {
			k, v, _ := strings.Cut(kv, "=")
			env = append(env, k+"="+strings.Trim(v, "'"))
		}
	}

	// Keys: alice may watch, bob may not.
	for _, who := range []string{"alice", "bob"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who+"@laptop", "-f", filepath.Join(dir, who)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "alice.pub"))
	if err != nil {
		t.Fatal(err)
	}
	keysFile := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keysFile, pub, 0o600); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	db := filepath.Join(dir, "events.db")
	srvCmd := exec.Command(bin, "serve", "--ssh", "127.0.0.1:"+port, "--authorized-keys", keysFile, "--host-key", filepath.Join(dir, "host_key"),
		"--db", db, "--log", filepath.Join(dir, "zoomwatch.log"))
	srvCmd.Env = env
	srvOut := startLogged(t, srvCmd)
	srvOut.waitLines(t, 1, func(l string) bool { return strings.Contains(l, "serving on") })

	sshArgs := func(key string) []string {
		return []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
			"-o", "IdentitiesOnly=yes", "-i", filepath.Join(dir, key), "-p", port, "alice@127.0.0.1"}
	}
	sshRun := func(key string, args ...string) (stdout, stderr string, code int) {
		c := exec.Command("ssh", append(sshArgs(key), args...)...)
		c.Env = env
		var out, errOut bytes.Buffer
		c.Stdout, c.Stderr = &out, &errOut
		err := c.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), errOut.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), 0
	}

	// Two viewers at once, at different sizes.
	tm := &tmux{t: t, socket: "zoomwatch-ssh-e2e-" + filepath.Base(dir)}
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	viewers := map[string][2]int{"wide": {120, 30}, "narrow": {80, 24}}
	for name, size := range viewers {
		tm.cmd(append([]string{"new-session", "-d", "-s", name, "-x", fmt.Sprint(size[0]), "-y", fmt.Sprint(size[1]), "env", "-i"}, append(env, "PS1=PROMPT$ ", "sh")...)...)
		tm.waitText(name, "PROMPT$")
		tm.cmd("send-keys", "-t", name, "ssh "+strings.Join(sshArgs("alice"), " ")+"; echo SSH-EXIT=$?", "Enter")
	}
	tm.waitText("wide", "zoomwatch", "Active meetings", "ssh alice@127.0.0.1")
	tm.waitText("narrow", "zoomwatch", "Active meetings")

	// An unknown key is refused.
	if _, errOut, code := sshRun("bob", "status"); code != 255 || !strings.Contains(errOut, "Permission denied") {
		t.Errorf("bob's key: exit %d, %q; want 255 and Permission denied", code, errOut)
	}

	// status, until a few seconds of events are stored (20/s).
	var st status
	for deadline := time.Now().Add(wait); st.EventsStored < 60; {
		out, errOut, code := sshRun("alice", "status")
		if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
			t.Fatalf("status: exit %d, %v, %q\n%s", code, err, errOut, out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d events stored", st.EventsStored)
		}
	}
	if st.State != "live" || st.Reconnects != 0 || st.Viewers != 2 || st.Backlog != 0 {
		t.Errorf("status: state %s, %d reconnects, %d viewers, backlog %d; want live, 0, 2, 0", st.State, st.Reconnects, st.Viewers, st.Backlog)
	}

	// An export of a closed time range over SSH, compared after the server stops with the
	// local export of the same range.
	until := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	remote, errOut, code := sshRun("alice", "export", "--until", until)
	if code != 0 || errOut != "" || remote == "" {
		t.Fatalf("export over ssh: exit %d, %q, %d bytes", code, errOut, len(remote))
	}
	if _, errOut, code := sshRun("alice", "export", "--format", "yaml"); code != 2 || !strings.Contains(errOut, "use jsonl or csv") {
		t.Errorf("export --format yaml: exit %d, %q", code, errOut)
	}

	for name := range viewers {
		tm.cmd("send-keys", "-t", name, "q")
		tm.waitText(name, "SSH-EXIT=0")
	}
	out, _, _ := sshRun("alice", "status")
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Viewers != 0 {
		t.Errorf("after both viewers quit: %v, %d viewers", err, st.Viewers)
	}

	srvOut.stop(t)
	local := exec.Command(bin, "export", "--db", db, "--log", filepath.Join(dir, "zoomwatch.log"), "--until", until)
	local.Env = env
	want, err := local.Output()
	if err != nil {
		t.Fatalf("local export: %v", err)
	}
	if remote != string(want) {
		t.Errorf("export over ssh (%d lines) differs from the local export (%d lines)", strings.Count(remote, "\n"), bytes.Count(want, []byte("\n")))
	}
	logText, _ := os.ReadFile(filepath.Join(dir, "zoomwatch.log"))
	for _, w := range []string{`msg="ssh: login" user=alice addr=127.0.0.1:`, `msg="ssh: logout" user=alice addr=127.0.0.1:`, "comment=alice@laptop", "ended_by=client"} {
		if !bytes.Contains(logText, []byte(w)) {
			t.Errorf("the log has no %q", w)
		}
	}

	simOut.stop(t)
	simOut.waitLines(t, 1, func(l string) bool { return strings.HasPrefix(l, "simulator:") })
	if m := regexp.MustCompile(`(\d+) connections`).FindStringSubmatch(simOut.text()); m == nil || m[1] != "1" {
		t.Errorf("the simulator did not see exactly one connection:\n%s", simOut.text())
	}
}

// logged is a running process and its combined output, line by line.
type logged struct {
	cmd   *exec.Cmd
	lines chan string
	seen  []string
	done  chan struct{} // closed when the process has exited
	err   error         // its exit, once done
}

func startLogged(t *testing.T, c *exec.Cmd) *logged {
	t.Helper()
	r, w := io.Pipe()
	c.Stdout, c.Stderr = w, w
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	l := &logged{cmd: c, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
		close(l.lines)
	}()
	go func() {
		l.err = c.Wait()
		w.Close()
		close(l.done)
	}()
	t.Cleanup(func() {
		c.Process.Kill()
		<-l.done
	})
	return l
}

// waitLines reads lines until one satisfies last, and returns those read since the previous
// call.
func (l *logged) waitLines(t *testing.T, timeoutSecs int, last func(string) bool) []string {
	t.Helper()
	var got []string
	deadline := time.After(time.Duration(timeoutSecs)*time.Second + wait)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				t.Fatalf("the process ended; its output:\n%s", l.text())
			}
			got = append(got, line)
			l.seen = append(l.seen, line)
			if last(line) {
				return got
			}
		case <-deadline:
			t.Fatalf("timed out; the output so far:\n%s", l.text())
		}
	}
}

func (l *logged) text() string { return strings.Join(l.seen, "\n") }

// stop interrupts the process as Ctrl-C would; it must exit with status 0.
func (l *logged) stop(t *testing.T) {
	t.Helper()
	if err := l.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.done:
		if l.err != nil {
			t.Errorf("%s: %v", strings.Join(l.cmd.Args[:2], " "), l.err)
		}
	case <-time.After(wait):
		t.Fatalf("%s did not stop when interrupted", strings.Join(l.cmd.Args[:2], " "))
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return port(ln.Addr().String())
}

// tmux drives terminals in a private tmux server.
type tmux struct {
	t      *testing.T
	socket string
}

func (m *tmux) cmd(args ...string) string {
	m.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", m.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitText polls a session's screen until it shows all of texts.
func (m *tmux) waitText(session string, texts ...string) {
	m.t.Helper()
	deadline := time.Now().Add(2 * wait)
	for {
		sc := m.cmd("capture-pane", "-p", "-t", session)
		ok := true
		for _, w := range texts {
			ok = ok && strings.Contains(sc, w)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("timed out waiting for %q in %s; the screen:\n%s", texts, session, sc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
