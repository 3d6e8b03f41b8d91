package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"zoomwatch/feed/sim"
	"zoomwatch/internal/syncbuf"
)

// cli runs zoomwatch in-process with its own stdout and stderr.
type cli struct {
	t      *testing.T
	dir    string
	stdout *syncbuf.Buffer
	stderr *syncbuf.Buffer
	code   chan int
	cancel context.CancelFunc
}

// isolate keeps the user's own config, state and Zoom credentials out of a test.
func isolate(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	for _, v := range []string{"ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET", "ZOOM_WS_URL", "ZOOM_SUBSCRIPTION_ID", "ZOOM_OAUTH_URL"} {
		t.Setenv(v, "")
	}
	return dir
}

// simFor starts a simulator for the test and points zoomwatch's environment at it.
func simFor(t *testing.T, o sim.Options) *sim.Server {
	t.Helper()
	s, err := sim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	pointAt(t, s)
	return s
}

// pointAt sets the environment zoomwatch reads to the simulator's.
func pointAt(t *testing.T, s *sim.Server) {
	o := s.Options()
	t.Setenv("ZOOM_ACCOUNT_ID", o.AccountID)
	t.Setenv("ZOOM_CLIENT_ID", o.ClientID)
	t.Setenv("ZOOM_CLIENT_SECRET", o.ClientSecret)
	t.Setenv("ZOOM_WS_URL", s.WSURL())
	t.Setenv("ZOOM_OAUTH_URL", s.OAuthURL())
}

func start(t *testing.T, dir string, args ...string) *cli {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cli{t: t, dir: dir, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}, code: make(chan int, 1), cancel: cancel}
	args = append(args, "--db", filepath.Join(dir, "events.db"), "--log", filepath.Join(dir, "zoomwatch.log"))
	go func() { c.code <- run(ctx, args, c.stdout, c.stderr) }()
	t.Cleanup(cancel)
	return c
}

// wait returns the exit code, failing after a deadline.
func (c *cli) wait() int {
	c.t.Helper()
	select {
	case code := <-c.code:
		return code
	case <-time.After(30 * time.Second):
		c.t.Fatalf("command did not finish; stderr:\n%s", c.stderr.String())
	}
	return -1
}

func runOnce(t *testing.T, dir string, args ...string) (int, string, string) {
	c := start(t, dir, args...)
	code := c.wait()
	return code, c.stdout.String(), c.stderr.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not timing the test
	}
}

// tailOf is the last n lines of s.
func tailOf(s string, n int) string {
	l := lines(s)
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestTailUnderEveryFaultPrintsEachDeliveredEventOnce is issue 2's "done when": with every
// fault knob on, tail --json stores and prints each delivered event exactly once, keeps
// running and reconnects after every fault.
func TestTailUnderEveryFaultPrintsEachDeliveredEventOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several seconds")
	}
	dir := isolate(t)
	var mu sync.Mutex
	delivered := map[string]int{}
	s := simFor(t, sim.Options{Seed: 42, Rate: 300, TokenTTL: 3 * time.Second, HeartbeatTimeout: 5 * time.Second,
		Faults: sim.Faults{DropEvery: 200, EvictEvery: 1500 * time.Millisecond, SilenceEvery: 2300 * time.Millisecond,
			MalformedEvery: 41, OversizeEvery: 300, DuplicateEvery: 29},
		OnDeliver: func(raw []byte) { mu.Lock(); delivered[string(raw)]++; mu.Unlock() }})
	c := start(t, dir, "tail", "--json", "--heartbeat", "150ms", "--backoff-scale", "0.01")

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("simulator: %+v\nstderr:\n%s", s.Stats(), tailOf(c.stderr.String(), 40))
		}
	})
	// The timed faults only count when they find a live link, and an eviction keeps the
	// client away for seconds: on a loaded machine the two clocks can miss each other for
	// the whole run. So the test also silences and evicts whatever link is live until each
	// has happened twice.
	eventually(t, 30*time.Second, "every fault to happen", func() bool {
		st := s.Stats()
		if st.Silences < 2 {
			s.Silence()
		} else if st.Evictions < 2 {
			s.Evict()
		}
		return st.Drops > 1 && st.Evictions > 1 && st.Silences > 1 && st.Malformed > 2 && st.Oversize > 0 && st.Duplicates > 2
	})
	// Quiet the account, then wait until everything delivered is printed.
	s.SetRate(0.0001)
	distinct := func() int { mu.Lock(); defer mu.Unlock(); return len(delivered) }
	eventually(t, 20*time.Second, "tail to print every delivered event", func() bool {
		return strings.Count(c.stdout.String(), "\n") >= distinct()
	})
	c.cancel()
	if code := c.wait(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, c.stderr.String())
	}

	printed := map[string]int{}
	for _, l := range lines(c.stdout.String()) {
		printed[l]++
	}
	mu.Lock()
	defer mu.Unlock()
	for raw := range delivered {
		if printed[raw] != 1 {
			t.Fatalf("delivered event printed %d times: %.120s", printed[raw], raw)
		}
	}
	if len(printed) != len(delivered) {
		t.Fatalf("printed %d distinct events, %d delivered", len(printed), len(delivered))
	}
	// What was printed is what is stored: export prints the same lines.
	code, out, errOut := runOnce(t, dir, "export")
	if code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	if got := lines(out); len(got) != len(printed) {
		t.Fatalf("export has %d events, tail printed %d", len(got), len(printed))
	}
	// State changes went to stderr: a reconnection after each fault, and the bad frames kept.
	errs := c.stderr.String()
	st := s.Stats()
	if lives := len(regexp.MustCompile(`(?m)^zoomwatch: \d\d:\d\d:\d\d live`).FindAllString(errs, -1)); uint64(lives) < st.Connections {
		t.Fatalf("%d live transitions on stderr for %d connections", lives, st.Connections)
	}
	for _, want := range []string{"replaced", "silent", "dropped", "kept a frame for inspection (bad-frame", "gap "} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr never says %q", want)
		}
	}
	t.Logf("%d events delivered (%d duplicates), %d connections, %d drops, %d evictions, %d silences",
		st.Delivered, st.Duplicates, st.Connections, st.Drops, st.Evictions, st.Silences)
}

func TestRejectedCredentialsExitTwo(t *testing.T) {
	dir := isolate(t)
	simFor(t, sim.Options{Seed: 1})
	t.Setenv("ZOOM_CLIENT_SECRET", "not-the-secret-4711")
	code, _, errOut := runOnce(t, dir, "tail")
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut)
	}
	if strings.Count(errOut, "rejected the credentials") != 1 || !strings.Contains(errOut, "invalid_client") {
		t.Fatalf("stderr should give the reason once:\n%s", errOut)
	}
	if strings.Contains(errOut, "4711") {
		t.Fatal("the secret is in the message")
	}
}

// TestUnknownSubscriptionExitsTwo: a WebSocket URL naming a subscription Zoom does not know
// is a configuration error at start-up, not a reason to retry for ever.
func TestUnknownSubscriptionExitsTwo(t *testing.T) {
	dir := isolate(t)
	s := simFor(t, sim.Options{Seed: 1})
	t.Setenv("ZOOM_WS_URL", strings.Replace(s.WSURL(), "subscriptionId=", "subscriptionId=not", 1))
	code, _, errOut := runOnce(t, dir, "tail")
	if code != 2 || strings.Count(errOut, "Zoom refused the subscription: Invalid subscriptionId") != 1 || !strings.Contains(errOut, "Check ZOOM_WS_URL") {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut)
	}
}

func TestMissingSettingsExitTwoNamingThem(t *testing.T) {
	dir := isolate(t)
	t.Setenv("ZOOM_ACCOUNT_ID", "abc")
	code, _, errOut := runOnce(t, dir, "tail")
	if code != 2 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"ZOOM_CLIENT_ID is not set", "ZOOM_CLIENT_SECRET is not set", "ZOOM_WS_URL is not set", "zoomwatch demo"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code, _, _ := runOnce(t, dir, "tail", "--heartbeat", "nope"); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
	if code, _, _ := runOnce(t, dir, "frobnicate"); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
	// The flag reads durations as the file does, and Zoom's 30 s is the longest heartbeat.
	if code, _, errOut := runOnce(t, dir, "tail", "--heartbeat", "1d"); code != 2 || !strings.Contains(errOut, "is too long: Zoom expects a heartbeat at least every 30s") {
		t.Errorf("--heartbeat 1d: exit %d, %q", code, errOut)
	}
	// version reads no settings: a broken config file does not stop it.
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("bad = =\n"), 0o600)
	if code, out, errOut := runOnce(t, dir, "version", "--config", bad); code != 0 || !strings.HasPrefix(out, "zoomwatch ") {
		t.Errorf("version with a broken config file: exit %d, %q, %q", code, out, errOut)
	}
	// Every kind of usage error exits 2: a short flag ("unknown shorthand flag" was exit 1),
	// a stray argument (called an unknown command).
	for _, args := range [][]string{{"export", "-f", "csv"}, {"-V"}, {"export", "--since"}, {"version", "extra"}, {"bench", "nope"}, {"sim", "--bogus"}} {
		if code, _, errOut := runOnce(t, dir, args...); code != 2 || strings.Contains(errOut, `unknown command "extra"`) {
			t.Errorf("%q: exit %d, %q", args, code, errOut)
		}
	}
}

// TestHistoryWithoutADatabasePointsAtTheDemos: someone who only ran the demo is told where
// its events are.
func TestHistoryWithoutADatabasePointsAtTheDemos(t *testing.T) {
	dir := isolate(t)
	export := func() (int, string) { // on the default database, as a user types it
		var out, errOut syncbuf.Buffer
		code := run(context.Background(), []string{"export", "--log", filepath.Join(dir, "zoomwatch.log")}, &out, &errOut)
		return code, errOut.String()
	}
	if code, errOut := export(); code == 0 || !strings.Contains(errOut, "no database at") || strings.Contains(errOut, "demo") {
		t.Fatalf("export with no database: exit %d, %q", code, errOut)
	}
	demo := filepath.Join(dir, "state", "zoomwatch", "demo.db")
	empty := filepath.Join(dir, "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncbuf.Buffer
	if code := run(context.Background(), []string{"import", empty, "--db", demo, "--log", filepath.Join(dir, "zoomwatch.log")}, &out, &errOut); code != 0 {
		t.Fatalf("creating a demo database: exit %d, %q", code, errOut.String())
	}
	if code, errOut := export(); code == 0 || !strings.Contains(errOut, "the demo keeps its events apart: --db "+demo) {
		t.Errorf("export with only the demo's database: exit %d, %q", code, errOut)
	}
}

// TestImportOfAPrettyPrintedDocumentFails: a file none of whose lines is an event fails and
// says what import expects.
func TestImportOfAPrettyPrintedDocumentFails(t *testing.T) {
	dir := isolate(t)
	file := filepath.Join("feed", "testdata", "samples", "meeting.started.json")
	code, _, errOut := runOnce(t, dir, "import", file)
	// The reason once, last; a few rejected lines, not one per line of the document.
	if want := "zoomwatch: " + file + ": no line is an event: import reads one JSON object per line"; code != 1 || !strings.HasPrefix(tailOf(errOut, 1), want) ||
		strings.Count(errOut, "no line is an event") != 1 || strings.Count(errOut, "not valid JSON") > 3 {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// TestFullScreenCommandsNeedATerminal: run from cron or a pipe (as go test runs this), the
// monitor and history say what to use instead, before connecting to anything.
func TestFullScreenCommandsNeedATerminal(t *testing.T) {
	dir := isolate(t)
	s := simFor(t, sim.Options{Seed: 1})
	for cmd, want := range map[string]string{
		"":        "the monitor needs a terminal, and its output is not one: `zoomwatch tail` prints events",
		"history": "history needs a terminal, and its output is not one: `zoomwatch export`",
		"demo":    "the monitor needs a terminal",
	} {
		var args []string
		if cmd != "" {
			args = append(args, cmd)
		}
		code, _, errOut := runOnce(t, dir, args...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("zoomwatch %s without a terminal: exit %d, stderr %q", cmd, code, errOut)
		}
	}
	if n := s.Stats().Connections; n != 0 {
		t.Errorf("%d connections to Zoom from commands that could not show anything", n)
	}
}

// TestBadKeyRemapsFailEveryCommand: the config file's [keys] are checked like every other
// setting, whichever command reads it.
func TestBadKeyRemapsFailEveryCommand(t *testing.T) {
	dir := isolate(t)
	cfg := filepath.Join(dir, "config", "zoomwatch", "config.toml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("[keys]\nquit = [\"h\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runOnce(t, dir, "export")
	if code != 2 || !strings.Contains(errOut, `"h" is bound to both quit and history`) {
		t.Errorf("export with a conflicting remap: exit %d, %q", code, errOut)
	}
}

// TestSimulatorFlagsAreChecked: the simulator's flags are usage errors when out of range.
func TestSimulatorFlagsAreChecked(t *testing.T) {
	dir := isolate(t)
	for _, args := range [][]string{{"sim", "--rate", "0"}, {"sim", "--rate", "1e9"}, {"sim", "--drop-every", "-3"}, {"sim", "--token-ttl", "-1s"},
		{"sim", "--listen", "bogus"}, {"sim", "--listen", "127.0.0.1:99999"}, {"demo", "--rate", "-1"}} {
		if code, _, errOut := runOnce(t, dir, args...); code != 2 || !strings.HasPrefix(errOut, "zoomwatch: "+args[1]) {
			t.Errorf("%q: exit %d, %q", args, code, errOut)
		}
	}
}

// TestSimulatorCountFlagsSayTheyCountEvents: --drop-every 20s used to fail with
// "strconv.ParseInt: parsing \"20s\": invalid syntax"; beside flags that take durations,
// these count events, and say so.
func TestSimulatorCountFlagsSayTheyCountEvents(t *testing.T) {
	dir := isolate(t)
	for _, flag := range []string{"--drop-every", "--malformed-every", "--oversize-every", "--duplicate-every"} {
		code, out, errOut := runOnce(t, dir, "sim", flag, "20s")
		want := "zoomwatch: " + flag + ` takes a number of events, e.g. 500, not "20s" (--silence-every and --evict-every take durations)` + "\n"
		if code != 2 || errOut != want || out != "" {
			t.Errorf("sim %s 20s: exit %d, stdout %q, stderr %q; want exit 2 and %q", flag, code, out, errOut, want)
		}
	}
	_, out, _ := runOnce(t, dir, "sim", "--help")
	for _, want := range []string{"--drop-every count ", "--silence-every duration "} {
		if !strings.Contains(out, want) {
			t.Errorf("sim --help lacks %q:\n%s", want, out)
		}
	}
}

// TestServingAndBenchFlagsAreChecked: out-of-range values are usage errors, said before
// anything is measured or connected; bench --json is created first.
func TestServingAndBenchFlagsAreChecked(t *testing.T) {
	dir := isolate(t)
	t.Setenv("ZOOM_ACCOUNT_ID", "a")
	t.Setenv("ZOOM_CLIENT_ID", "b")
	t.Setenv("ZOOM_CLIENT_SECRET", "c")
	t.Setenv("ZOOM_SUBSCRIPTION_ID", "s")
	keys := filepath.Join(dir, "keys")
	ssh := []string{"serve", "--authorized-keys", keys}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append(ssh, "--ssh", "nonsense"), "--ssh nonsense: give host:port"},
		{append(ssh, "--ssh", "127.0.0.1:99999"), `"99999" is not a port number`},
		{append(ssh, "--ssh", ":0", "--max-sessions", "-3"), "--max-sessions -3: give at least 1"},
		{append(ssh, "--ssh", ":0", "--idle-timeout", "-5m"), "--idle-timeout -5m0s: give a positive duration"},
		{[]string{"bench", "soak", "--duration", "-1m"}, "--duration -1m0s: give a positive value"},
		{[]string{"bench", "soak", "--fault-every", "0s"}, "--fault-every 0s: give a positive value"},
		{[]string{"bench", "--json", filepath.Join(dir, "no", "such", "dir.json"), "ingest", "--rates", "100"}, "--json: open "},
	} {
		code, out, errOut := runOnce(t, dir, c.args...)
		if code != 2 || !strings.HasPrefix(errOut, "zoomwatch: ") || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errOut, c.want)
		}
	}
}

// TestAnUnwritableDefaultLogOnlyWarns: a state directory that cannot be written (here a
// file in its place) must not stop commands that need no log.
func TestAnUnwritableDefaultLogOnlyWarns(t *testing.T) {
	dir := isolate(t)
	blocked := filepath.Join(dir, "state")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	events, n := sampleEvents(t, dir)
	db := filepath.Join(dir, "events.db")
	var out, errOut syncbuf.Buffer
	if code := run(context.Background(), []string{"import", "--db", db, "--log", filepath.Join(dir, "ok.log"), events}, &out, &errOut); code != 0 {
		t.Fatalf("import: exit %d, %q", code, errOut.String())
	}
	out, errOut = syncbuf.Buffer{}, syncbuf.Buffer{}
	if code := run(context.Background(), []string{"export", "--db", db}, &out, &errOut); code != 0 || len(lines(out.String())) != n {
		t.Errorf("export: exit %d, %d lines, %q", code, len(lines(out.String())), errOut.String())
	}
	if !strings.Contains(errOut.String(), "zoomwatch: not logging (") {
		t.Errorf("no warning that nothing is logged: %q", errOut.String())
	}
	if code := run(context.Background(), []string{"export", "--db", db, "--log", filepath.Join(blocked, "x.log")}, &out, &errOut); code == 0 {
		t.Error("an explicit --log that cannot be written was accepted")
	}
}

// A mistyped flag names the one it may have meant.
func TestMistypedFlagsSuggest(t *testing.T) {
	dir := isolate(t)
	if code, _, errOut := runOnce(t, dir, "export", "--sinse", "1h"); code != 2 || !strings.Contains(errOut, "unknown flag: --sinse (did you mean --since?)") {
		t.Errorf("exit %d, %q", code, errOut)
	}
	// The Zoom settings are no flags (a secret would show in ps): the message says where they go.
	if code, _, errOut := runOnce(t, dir, "tail", "--client-secret", "s3cret"); code != 2 || !strings.Contains(errOut, "environment (ZOOM_CLIENT_SECRET) or the config file") {
		t.Errorf("exit %d, %q", code, errOut)
	}
}

// The simulator logs beside the real monitor's log, not into it.
func TestTheSimulatorKeepsItsOwnLog(t *testing.T) {
	dir := isolate(t)
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"sim", "--listen", "127.0.0.1:0"}, out, errOut) }()
	eventually(t, 10*time.Second, "the simulator to start", func() bool { return strings.Contains(out.String(), "export ZOOM_WS_URL") })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("sim: exit %d: %s", code, errOut.String())
	}
	state := filepath.Join(dir, "state", "zoomwatch")
	if _, err := os.Stat(filepath.Join(state, "sim.log")); err != nil {
		t.Errorf("no sim.log: %v", err)
	}
	if _, err := os.Stat(filepath.Join(state, "zoomwatch.log")); err == nil {
		t.Error("the simulator wrote to zoomwatch.log")
	}
}
