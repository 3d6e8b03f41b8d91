package sshserve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/wish/v2/testsession"
	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/store"
	"zoomwatch/tui"
)

// wait is how long a test waits for something that should happen at once.
const wait = 15 * time.Second

// rig is a server on 127.0.0.1:0 over a store with some simulated history, and two client
// keys: alice's is authorized, bob's is not.
type rig struct {
	t          *testing.T
	dir        string
	st         *store.Store
	srv        *Server
	addr       string
	keysFile   string
	alice, bob gossh.Signer
	served     chan error
}

func newRig(t *testing.T, tweak func(*Config)) *rig {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(store.Options{Path: filepath.Join(dir, "events.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, dir: dir, st: st, alice: newKey(t), bob: newKey(t), keysFile: filepath.Join(dir, "authorized_keys"), served: make(chan error, 1)}
	fillStore(t, st, 300)
	r.authorize(r.alice)
	cfg := Config{
		AuthorizedKeys: r.keysFile, HostKey: filepath.Join(dir, "host_key"), Store: st,
		Status: func() feed.Stats {
			return feed.Stats{Current: feed.Transition{State: feed.StateLive, At: time.Now().Add(-time.Minute)}, HeartbeatsSent: 3, HeartbeatsAcked: 3}
		},
		Account: "AbC", Mode: tui.ModeLive,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	r.srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { r.served <- r.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := r.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-r.served; err != nil {
			t.Errorf("serve: %v", err)
		}
		st.Close()
	})
	return r
}

// authorize writes the authorized_keys file with these keys.
func (r *rig) authorize(keys ...gossh.Signer) {
	r.t.Helper()
	var b bytes.Buffer
	b.WriteString("# zoomwatch viewers\n")
	for i, k := range keys {
		b.Write(bytes.TrimSpace(gossh.MarshalAuthorizedKey(k.PublicKey())))
		b.WriteString(" viewer" + string(rune('0'+i)) + "@laptop\n")
	}
	if err := os.WriteFile(r.keysFile, b.Bytes(), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) config(key gossh.Signer) *gossh.ClientConfig {
	return &gossh.ClientConfig{User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(key)}, HostKeyCallback: gossh.InsecureIgnoreHostKey()}
}

// session opens a client session with wish's testsession (closed at the end of the test).
func (r *rig) session(key gossh.Signer) (*gossh.Session, error) {
	r.t.Helper()
	return testsession.NewClientSession(r.t, r.addr, r.config(key))
}

// run runs a command without a terminal and returns its stdout, stderr and exit status.
func (r *rig) run(cmd string) (stdout, stderr string, code int) {
	r.t.Helper()
	sess, err := r.session(r.alice)
	if err != nil {
		r.t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errOut
	code = exitCode(r.t, sess.Run(cmd))
	return out.String(), errOut.String(), code
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *gossh.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitStatus()
	}
	t.Fatalf("session: %v", err)
	return -1
}

// viewer is a monitor session with a terminal.
type viewer struct {
	sess   *gossh.Session
	stdin  io.WriteCloser
	screen *screen
	stderr *screen
	done   chan error
}

// monitor opens a session with a terminal of w×h and starts the monitor.
func (r *rig) monitor(key gossh.Signer, term string, w, h int, env map[string]string) *viewer {
	r.t.Helper()
	sess, err := r.session(key)
	if err != nil {
		r.t.Fatal(err)
	}
	return startMonitor(r.t, sess, term, w, h, env)
}

func startMonitor(t *testing.T, sess *gossh.Session, term string, w, h int, env map[string]string) *viewer {
	t.Helper()
	for k, v := range env {
		if err := sess.Setenv(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.RequestPty(term, h, w, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	v := &viewer{sess: sess, screen: newScreen(), stderr: newScreen(), done: make(chan error, 1)}
	sess.Stdout, sess.Stderr = v.screen, v.stderr
	var err error
	if v.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() { v.done <- sess.Wait() }()
	return v
}

// ended waits for the session to end and returns its result.
func (v *viewer) ended(t *testing.T) error {
	t.Helper()
	select {
	case err := <-v.done:
		return err
	case <-time.After(wait):
		t.Fatalf("the session did not end; the screen:\n%s", v.screen.text())
		return nil
	}
}

// screen collects a session's output and lets a test wait for what it shows.
type screen struct {
	mu      sync.Mutex
	raw     bytes.Buffer
	changed chan struct{}
}

func newScreen() *screen { return &screen{changed: make(chan struct{}, 1)} }

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.raw.Write(p)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *screen) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.raw.Bytes())
}

// text is everything written so far without escape sequences.
func (s *screen) text() string { return ansi.Strip(string(s.bytes())) }

// waitFor waits until the output so far contains all of texts.
func (s *screen) waitFor(t *testing.T, texts ...string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		txt := s.text()
		ok := true
		for _, want := range texts {
			ok = ok && strings.Contains(txt, want)
		}
		if ok {
			return
		}
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %q; the output:\n%s", texts, txt)
		}
	}
}

func newKey(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fillStore stores n events of the simulator's activity, ending now.
func fillStore(t testing.TB, st *store.Store, n int) {
	t.Helper()
	g := sim.NewGenerator(7, time.Now().Add(-time.Duration(n)*time.Second), 1)
	ctx := context.Background()
	for range n {
		raw, at := g.Next()
		ev, err := feed.DecodeEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Submit(ctx, feed.Item{Event: ev, Received: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes: for things that settle
// asynchronously with nothing to wait on (goroutines exiting, counters dropping).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
