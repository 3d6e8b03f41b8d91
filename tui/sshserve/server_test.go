package sshserve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"zoomwatch/store"
)

func TestMonitorFollowsTheClientsWindowAndTerminal(t *testing.T) {
	r := newRig(t, nil)
	v := r.monitor(r.alice, "xterm-256color", 80, 24, nil)
	v.screen.waitFor(t, "zoomwatch", "Active meetings")
	if r.st.Subscribers() != 1 {
		t.Errorf("subscribers = %d, want 1 for the viewer", r.st.Subscribers())
	}
	// The viewer's name shows in the header from 100 columns on.
	if strings.Contains(v.screen.text(), "ssh alice@127.0.0.1") {
		t.Fatal("the viewer's name shows at 80 columns")
	}
	if err := v.sess.WindowChange(30, 120); err != nil {
		t.Fatal(err)
	}
	v.screen.waitFor(t, "ssh alice@127.0.0.1")
	// Colours follow the client's $TERM (256 colours), whatever the server's terminal.
	if !bytes.Contains(v.screen.bytes(), []byte("\x1b[38;5;")) {
		t.Error("no 256-colour sequences for a client with TERM=xterm-256color")
	}
	v.stdin.Write([]byte("q"))
	if err := v.ended(t); err != nil {
		t.Errorf("quitting the monitor: %v", err)
	}
	eventually(t, "the session to close", func() bool { return r.srv.Sessions() == 0 && r.st.Subscribers() == 0 })
}

func TestMonitorHonoursTheClientsNoColor(t *testing.T) {
	r := newRig(t, nil)
	v := r.monitor(r.alice, "xterm-256color", 100, 30, map[string]string{"NO_COLOR": "1"})
	v.screen.waitFor(t, "zoomwatch", "Active meetings")
	if raw := v.screen.bytes(); bytes.Contains(raw, []byte("\x1b[38;")) || bytes.Contains(raw, []byte(";38;")) {
		t.Errorf("colour sequences although the client sent NO_COLOR=1:\n%q", raw)
	}
}

func TestExportOverSSHEqualsTheStoresExport(t *testing.T) {
	r := newRig(t, nil)
	for _, args := range []string{"", " --format csv", " --type meeting.participant_joined,meeting.started --since 2h", " --format=csv --text zzz-nothing"} {
		out, errOut, code := r.run("export" + args)
		wantErr := "" // an export that finds nothing says so
		if strings.Contains(args, "zzz-nothing") {
			wantErr = "zoomwatch export: no stored event matches\n"
		}
		if code != 0 || errOut != wantErr {
			t.Fatalf("export%s: exit %d, stderr %q, want %q", args, code, errOut, wantErr)
		}
		format, f, err := ParseExportArgs(strings.Fields(args), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if _, err := r.st.Export(context.Background(), &want, format, f); err != nil {
			t.Fatal(err)
		}
		if out != want.String() {
			t.Errorf("export%s over SSH differs from the store's export: %d bytes, want %d", args, len(out), want.Len())
		}
	}
	if out, _, _ := r.run("export"); strings.Count(out, "\n") != 300 {
		t.Errorf("export printed %d lines, want the 300 stored events", strings.Count(out, "\n"))
	}
	for args, want := range map[string]string{
		"--format xml":       `--format "xml": use jsonl or csv`,
		"--since yesterdayz": "--since:",
		"--colour red":       "unknown flag: --colour",
		"meeting.started":    `unexpected argument "meeting.started"`,
	} {
		out, errOut, code := r.run("export " + args)
		if code != 2 || out != "" || !strings.Contains(errOut, want) {
			t.Errorf("export %s: exit %d, stdout %q, stderr %q; want exit 2 and %q on stderr", args, code, out, errOut, want)
		}
	}
	out, _, code := r.run("export --help")
	if code != 0 || !strings.Contains(out, "--participant") {
		t.Errorf("export --help: exit %d, %q", code, out)
	}
}

func TestStatusIsOneJSONObjectWithTheDocumentedFields(t *testing.T) {
	r := newRig(t, nil)
	v := r.monitor(r.alice, "xterm", 80, 24, nil)
	v.screen.waitFor(t, "zoomwatch")
	out, errOut, code := r.run("status")
	if code != 0 || errOut != "" {
		t.Fatalf("status: exit %d, stderr %q", code, errOut)
	}
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("status is not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Errorf("status printed more than one JSON value:\n%s", out)
	}
	for _, f := range []string{"account", "state", "reason", "since", "heartbeats_sent", "heartbeats_acked", "last_heartbeat_ack",
		"last_event", "lag_median_ms", "lag_max_ms", "reconnects", "bad_frames", "token_expiry", "events_stored", "duplicates",
		"storing", "store_error", "backlog", "open_gap", "gaps_total", "recent_gaps", "viewers", "sessions"} {
		if _, ok := got[f]; !ok {
			t.Errorf("status has no %q field:\n%s", f, out)
		}
	}
	want := map[string]any{"account": "AbC", "state": "live", "events_stored": 300.0, "heartbeats_acked": 3.0, "viewers": 1.0, "sessions": 2.0, "storing": true, "backlog": 0.0}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("status %s = %v, want %v", k, got[k], w)
		}
	}
}

func TestCommandsAndTheirExitStatuses(t *testing.T) {
	r := newRig(t, nil)
	cases := []struct {
		cmd            string
		code           int
		stdout, stderr string
	}{
		{"help", 0, "ssh -p " + port(r.addr) + " HOST export [flags]", ""},
		{"frobnicate --now", 2, "", `unknown command "frobnicate"; try: export, status, help`},
		{"status now", 2, "", "status takes no arguments"},
		{"", 2, "", "the monitor needs a terminal"},
	}
	for _, c := range cases {
		out, errOut, code := r.run(c.cmd)
		if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errOut, c.stderr) || (c.stderr == "" && errOut != "") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, %q, %q", c.cmd, code, out, errOut, c.code, c.stdout, c.stderr)
		}
	}

	// ssh -t HOST status: a command with a terminal runs the command.
	sess, err := r.session(r.alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("status")
	if err != nil || !strings.Contains(string(out), `"events_stored": 300`) {
		t.Errorf("status with a terminal: %v\n%s", err, out)
	}
}

func TestRemovingAKeyEndsItsSessions(t *testing.T) {
	t.Cleanup(func(d time.Duration) func() { return func() { keyCheckEvery = d } }(keyCheckEvery)) // after the rig's
	keyCheckEvery = 50 * time.Millisecond
	r := newRig(t, nil)
	r.authorize(r.alice, r.bob)
	bob := r.monitor(r.bob, "xterm", 80, 24, nil)
	alice := r.monitor(r.alice, "xterm", 80, 24, nil)
	bob.screen.waitFor(t, "Active meetings")
	alice.screen.waitFor(t, "Active meetings")

	r.authorize(r.alice)
	var ee *gossh.ExitError
	if err := bob.ended(t); !errors.As(err, &ee) || ee.ExitStatus() != exitFail {
		t.Errorf("bob's session ended with %v, want exit status %d", err, exitFail)
	}
	if !strings.Contains(bob.stderr.text(), "zoomwatch: this key was removed from the authorized keys file") {
		t.Errorf("bob was not told why: %q", bob.stderr.text())
	}
	eventually(t, "bob's session to be released", func() bool { return r.srv.Sessions() == 1 })
	select {
	case err := <-alice.done:
		t.Fatalf("alice's session, whose key stays, ended: %v", err)
	default:
	}
	if err := r.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	log, err := r.st.RecentLog(5)
	if err != nil {
		t.Fatal(err)
	}
	if e := log[0]; e.Kind != store.LogNote || !strings.HasPrefix(e.Note, "ssh logout alice") || !strings.HasSuffix(e.Note, "(key revoked)") {
		t.Errorf("newest log entry %+v, want bob's logout, key revoked", e)
	}
}

// logRecords is a slog handler that hands each record to a channel (dropped when full).
type logRecords chan slog.Record

func (c logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (c logRecords) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c logRecords) WithGroup(string) slog.Handler            { return c }
func (c logRecords) Handle(_ context.Context, r slog.Record) error {
	select {
	case c <- r:
	default:
	}
	return nil
}

// attr is the value of the record's attribute key, as text.
func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// waitFor returns the first record with message msg, failing after wait.
func (c logRecords) waitFor(t *testing.T, msg string) slog.Record {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case r := <-c:
			if r.Message == msg {
				return r
			}
		case <-timeout:
			t.Fatalf("no %q in the log", msg)
		}
	}
}

func TestOnlyAuthorizedKeysGetIn(t *testing.T) {
	logs := make(logRecords, 100)
	r := newRig(t, func(c *Config) { c.Logger = slog.New(logs) })
	if _, err := r.session(r.bob); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("bob's key, not in authorized_keys: %v", err)
	}
	if _, _, code := r.run("status"); code != 0 {
		t.Fatalf("alice's key: exit %d", code)
	}
	// Password and keyboard-interactive are not offered.
	cfg := &gossh.ClientConfig{User: "alice", HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Auth: []gossh.AuthMethod{gossh.Password("alice"), gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil })}}
	if c, err := gossh.Dial("tcp", r.addr, cfg); err == nil {
		c.Close()
		t.Fatal("a client without a key got in")
	}
	// Both are in the log, with where they came from: bob's key, then each connection that
	// never logged in (bob's, then the keyless one).
	bobKey := gossh.FingerprintSHA256(r.bob.PublicKey())
	if got := logs.waitFor(t, "ssh: key refused"); !strings.HasPrefix(attr(got, "addr"), "127.0.0.1:") || attr(got, "key") != bobKey {
		t.Errorf("the refused key's record: addr %q, key %q (bob's is %s)", attr(got, "addr"), attr(got, "key"), bobKey)
	}
	for range 2 {
		if got := logs.waitFor(t, "ssh: connection ended before login"); !strings.HasPrefix(attr(got, "addr"), "127.0.0.1:") || attr(got, "err") == "" {
			t.Errorf("a failed connection's record: addr %q, err %q", attr(got, "addr"), attr(got, "err"))
		}
	}
}

func TestAuthorizedKeysAreReReadWhenTheyChange(t *testing.T) {
	r := newRig(t, nil)
	r.authorize(r.alice, r.bob)
	sess, err := r.session(r.bob)
	if err != nil {
		t.Fatalf("bob's key, just added: %v", err)
	}
	sess.Close()

	// An open connection does not keep a removed key's access: each new session is checked
	// against the file as it is then, on the key the client proved.
	client, err := gossh.Dial("tcp", r.addr, r.config(r.alice))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	r.authorize(r.bob)
	if _, err := r.session(r.alice); err == nil {
		t.Fatal("alice's key got in after it was removed")
	}
	sess, err = client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	sess.Stderr = &errOut
	if code := exitCode(t, sess.Run("status")); code != 1 || !strings.Contains(errOut.String(), "not authorized") {
		t.Errorf("a new session on alice's connection after her key was removed: exit %d, %q", code, errOut.String())
	}

	// A file that cannot be read lets nobody in; once back, it counts again.
	os.Remove(r.keysFile)
	if _, err := r.session(r.bob); err == nil {
		t.Fatal("bob got in while the authorized keys file was missing")
	}
	r.authorize(r.alice)
	if _, _, code := r.run("status"); code != 0 {
		t.Fatalf("alice, authorized again: exit %d", code)
	}
}

func TestNewRefusesBadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Options{Path: filepath.Join(dir, "events.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := string(gossh.MarshalAuthorizedKey(newKey(t).PublicKey()))
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hostKey := filepath.Join(dir, "host_key")
	cases := []struct {
		name, keys, hostKey, want string
	}{
		{"missing file", filepath.Join(dir, "nope"), hostKey, "cannot read the authorized keys file " + filepath.Join(dir, "nope") + ": no such file"},
		{"unreadable file", dir, hostKey, "cannot read the authorized keys file " + dir + ": is a directory"},
		{"no keys", write("empty", "# nobody yet\n\n", 0o600), hostKey, "has no public keys"},
		{"bad line", write("bad", good+"ssh-ed25519 AAAAnotakey alice\n", 0o600), hostKey, "bad: line 2 is not a public key"},
		{"options", write("opts", `from="10.0.0.0/8" `+good, 0o600), hostKey, "line 1 has options (from=\"10.0.0.0/8\")"},
		{"no keys file given", "", hostKey, "needs an authorized keys file"},
		{"host key in a directory that is not there", write("ok", good, 0o600), filepath.Join(dir, "nodir", "hk"),
			"cannot read the SSH host key " + filepath.Join(dir, "nodir", "hk") + ": no such file or directory"},
		{"host key not a key", write("ok", good, 0o600), write("hk-bad", "hello", 0o600), "hk-bad is not a private key"},
		{"host key readable by others", write("ok", good, 0o600), write("hk-open", "hello", 0o644), "can be read by other users (mode 0644)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(Config{AuthorizedKeys: c.keys, HostKey: c.hostKey, Store: st})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New: %v; want an error containing %q", err, c.want)
			}
		})
	}
}

func TestHostKeyIsCreatedPrivateAndKept(t *testing.T) {
	r := newRig(t, nil)
	hk := filepath.Join(r.dir, "host_key")
	fi, err := os.Stat(hk)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %04o, want 0600", fi.Mode().Perm())
	}
	var seen string
	cfg := r.config(r.alice)
	cfg.HostKeyCallback = func(_ string, _ net.Addr, key gossh.PublicKey) error {
		seen = gossh.FingerprintSHA256(key)
		return nil
	}
	c, err := gossh.Dial("tcp", r.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if seen != r.srv.Fingerprint() {
		t.Errorf("the client saw host key %s, the server says %s", seen, r.srv.Fingerprint())
	}
	again, err := New(Config{AuthorizedKeys: r.keysFile, HostKey: hk, Store: r.st})
	if err != nil {
		t.Fatal(err)
	}
	if again.Fingerprint() != r.srv.Fingerprint() {
		t.Errorf("after a restart the host key is %s, was %s", again.Fingerprint(), r.srv.Fingerprint())
	}
}

func TestMaxSessions(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxSessions = 2 })
	a := r.monitor(r.alice, "xterm", 80, 24, nil)
	b := r.monitor(r.alice, "xterm", 80, 24, nil)
	a.screen.waitFor(t, "zoomwatch")
	b.screen.waitFor(t, "zoomwatch")
	// A full server still answers its health check.
	if out, errOut, code := r.run("status"); code != 0 || !strings.Contains(out, `"sessions"`) {
		t.Errorf("status on a full server: exit %d, %q %q", code, out, errOut)
	}
	_, errOut, code := r.run("export")
	if code != 1 || !strings.Contains(errOut, "too many viewers (2 sessions open") {
		t.Errorf("a third session: exit %d, %q; want exit 1 and too many viewers", code, errOut)
	}
	c := r.monitor(r.alice, "xterm", 80, 24, nil)
	c.ended(t)
	if !strings.Contains(c.stderr.text(), "too many viewers") {
		t.Errorf("a third monitor was not told why it was refused: %q", c.stderr.text())
	}
	a.stdin.Write([]byte("q"))
	a.ended(t)
	eventually(t, "a free slot", func() bool { return r.srv.Sessions() == 1 })
	if _, _, code := r.run("export --since 1m"); code != 0 {
		t.Errorf("an export with a slot free again: exit %d", code)
	}
}

func TestIdleMonitorIsClosed(t *testing.T) {
	const idle = 2 * time.Second
	r := newRig(t, func(c *Config) { c.IdleTimeout = idle })
	v := r.monitor(r.alice, "xterm", 80, 24, nil)
	v.screen.waitFor(t, "zoomwatch")
	// Input keeps it open: an unbound key (F12) every half second, for longer than the timeout.
	for range 7 {
		v.stdin.Write([]byte("\x1b[24~"))
		select {
		case err := <-v.done:
			t.Fatalf("the session ended while the client was typing: %v\n%s", err, v.stderr.text())
		case <-time.After(idle / 4):
		}
	}
	start := time.Now()
	v.ended(t)
	if el := time.Since(start); el < idle/2 {
		t.Errorf("closed %v after the last input, want about %v", el, idle)
	}
	if !strings.Contains(v.stderr.text(), "closed after 2s without input") {
		t.Errorf("the client was not told why: %q", v.stderr.text())
	}
	eventually(t, "the session to be released", func() bool { return r.srv.Sessions() == 0 && r.st.Subscribers() == 0 })
}

func TestLoginsAndLogoutsAreInTheConnectionLog(t *testing.T) {
	r := newRig(t, nil)
	// Health checks (status, help) stay out of it: one a minute from cron would bury the
	// log's transitions.
	r.run("status")
	r.run("help")
	r.run("export --type meeting.started")
	eventually(t, "the sessions to close", func() bool { return r.srv.Sessions() == 0 })
	if err := r.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	log, err := r.st.RecentLog(5)
	if err != nil {
		t.Fatal(err)
	}
	fp := gossh.FingerprintSHA256(r.alice.PublicKey())
	var notes []string
	for _, e := range log {
		if e.Kind == store.LogNote {
			notes = append(notes, e.Note)
		}
	}
	want := []string{"ssh logout alice from 127.0.0.1:", "ssh login alice from 127.0.0.1:"} // newest first
	if len(notes) != 2 {
		t.Fatalf("connection log notes %q, want a login and a logout", notes)
	}
	for i, n := range notes {
		if !strings.HasPrefix(n, want[i]) || !strings.Contains(n, "with key "+fp+" (viewer0@laptop)") {
			t.Errorf("note %q, want %q… with key %s (viewer0@laptop)", n, want[i], fp)
		}
	}
	if !strings.HasSuffix(notes[1], ": export --type meeting.started") {
		t.Errorf("the login note does not say what the session ran: %q", notes[1])
	}
}

// TestSessionsReleaseEverything opens monitors and commands, ends them every way a session
// ends, and checks that the subscriptions and goroutines they held are all given back.
func TestSessionsReleaseEverything(t *testing.T) {
	r := newRig(t, nil)
	baseline := runtime.NumGoroutine()
	for round := range 2 {
		var clients []*gossh.Client
		var viewers []*viewer
		for range 4 {
			c, err := gossh.Dial("tcp", r.addr, r.config(r.alice))
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			viewers = append(viewers, startMonitor(t, sess, "xterm-256color", 100, 30, nil))
			sess, err = c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sess.Output("export"); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range viewers {
			v.screen.waitFor(t, "Active meetings")
		}
		if n := r.st.Subscribers(); n != 4 {
			t.Errorf("round %d: %d subscribers, want 4", round, n)
		}
		viewers[0].stdin.Write([]byte("q")) // quits
		viewers[1].sess.Close()             // closes the session, keeps the connection
		clients[2].Close()                  // drops the connection
		viewers[3].stdin.Close()            // ends its input
		viewers[0].ended(t)
		eventually(t, "every session to end", func() bool { return r.srv.Sessions() == 0 })
		for _, c := range clients {
			c.Close()
		}
	}
	if n := r.st.Subscribers(); n != 0 {
		t.Errorf("%d subscriptions left open", n)
	}
	eventually(t, "the goroutines to return to the baseline", func() bool { return runtime.NumGoroutine() <= baseline })
}

func TestShutdownEndsSessions(t *testing.T) {
	r := newRig(t, nil)
	v := r.monitor(r.alice, "xterm", 80, 24, nil)
	v.screen.waitFor(t, "zoomwatch")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	v.ended(t)
	if !strings.Contains(v.stderr.text(), "zoomwatch: the server is shutting down") {
		t.Errorf("the viewer was not told: %q", v.stderr.text())
	}
	if r.srv.Sessions() != 0 || r.st.Subscribers() != 0 {
		t.Errorf("after Shutdown: %d sessions, %d subscribers", r.srv.Sessions(), r.st.Subscribers())
	}
	if err := <-r.served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	r.served <- nil // for the cleanup's Shutdown, which must also be harmless
	if _, err := r.session(r.alice); err == nil {
		t.Error("a session opened after Shutdown")
	}
}

func TestParseExportArgs(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	format, f, err := ParseExportArgs([]string{"--format", "csv", "--type", "meeting.*,recording.completed", "--type", "user.created",
		"--meeting", "123", "--participant", "ada", "--text", "x", "--since", "2h", "--until", "2026-11-22T13:30:00Z"}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Filter{Types: []string{"meeting.*", "recording.completed", "user.created"}, Meeting: "123", Participant: "ada", Text: "x",
		Since: now.Add(-2 * time.Hour), Until: time.Date(2026, 11, 22, 13, 30, 0, 0, time.UTC)}
	if format != "csv" || !filterEqual(f, want) {
		t.Errorf("got %q %+v\nwant csv %+v", format, f, want)
	}
	if format, f, err := ParseExportArgs(nil, now); err != nil || format != "jsonl" || !f.IsZero() {
		t.Errorf("no flags: %q %+v %v", format, f, err)
	}
	if _, f, _ := ParseExportArgs([]string{"--since", "1.5d"}, now); !f.Since.Equal(now.Add(-36 * time.Hour)) {
		t.Errorf("--since 1.5d = %v", f.Since)
	}
	if _, f, _ := ParseExportArgs([]string{"--since", "1w"}, now); !f.Since.Equal(now.Add(-7 * 24 * time.Hour)) {
		t.Errorf("--since 1w = %v", f.Since)
	}
	// Filters that could match nothing are mistakes, said as such.
	for _, bad := range [][]string{{"--since", "1h", "--until", "2h"}, {"--type", "["}, {"--since", "yesterdayish"}} {
		if _, _, err := ParseExportArgs(bad, now); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func filterEqual(a, b store.Filter) bool {
	return strings.Join(a.Types, ",") == strings.Join(b.Types, ",") && a.Meeting == b.Meeting && a.Participant == b.Participant &&
		a.Text == b.Text && a.Since.Equal(b.Since) && a.Until.Equal(b.Until)
}
