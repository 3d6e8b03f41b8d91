package feed_test

// End to end: the client against the simulator (feed/sim), every fault it can inject.
// feed/link_test.go covers the same rules against scripted servers, deterministically.

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"zoomwatch/auth"
	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/internal/syncbuf"
)

// fast is a reconnect policy for tests: the same shape as the real one, in milliseconds.
var fast = feed.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond, Replaced: 100 * time.Millisecond,
	ReplacedMax: 400 * time.Millisecond, AuthFailed: 50 * time.Millisecond, AuthFailedMax: 200 * time.Millisecond, StableAfter: time.Hour}

// delivered records what the simulator reports it wrote, in order.
type delivered struct {
	mu   sync.Mutex
	raws []string
}

func (d *delivered) add(raw []byte) {
	d.mu.Lock()
	d.raws = append(d.raws, string(raw))
	d.mu.Unlock()
}

func (d *delivered) snapshot() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.raws...)
}

// rig is a simulator plus a client running against it.
type rig struct {
	t      *testing.T
	sim    *sim.Server
	client *feed.Client
	tokens *auth.Source
	out    chan feed.Item
	cancel context.CancelFunc
	done   chan error
	del    *delivered
}

func newRig(t *testing.T, opts sim.Options, hb time.Duration) *rig {
	t.Helper()
	del := &delivered{}
	if opts.OnDeliver == nil {
		opts.OnDeliver = del.add
	}
	s, err := sim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	o := s.Options()
	r := &rig{t: t, sim: s, del: del, out: make(chan feed.Item, 1024), done: make(chan error, 1)}
	r.tokens = auth.New(auth.Config{URL: s.OAuthURL(), AccountID: o.AccountID, ClientID: o.ClientID, ClientSecret: o.ClientSecret})
	r.client = feed.New(feed.Config{URL: s.WSURL(), Tokens: r.tokens, Heartbeat: hb, Backoff: fast})
	return r
}

func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		r.done <- r.client.Run(ctx, r.out)
		close(r.out)
	}()
	r.t.Cleanup(func() {
		cancel()
		for range r.out {
		}
	})
}

// next returns the next item, failing the test after a generous deadline.
func (r *rig) next() feed.Item {
	r.t.Helper()
	select {
	case it, ok := <-r.out:
		if !ok {
			r.t.Fatal("client stopped")
		}
		return it
	case <-time.After(15 * time.Second):
		r.t.Fatal("no item from the client within 15s")
	}
	return feed.Item{}
}

// until reads items until one satisfies cond, returning all items read. Items that keep
// coming do not hold it up past a generous deadline.
func (r *rig) until(cond func(feed.Item) bool) []feed.Item {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var seen []feed.Item
	for time.Now().Before(deadline) {
		it := r.next()
		seen = append(seen, it)
		if cond(it) {
			return seen
		}
	}
	r.t.Fatalf("no such item within 15s; client stats %+v", r.client.Stats())
	return nil
}

// liveAndCurrent waits for the link to go live and carry an event: the simulator sends
// build_connection before it makes the link the subscription's current one, which its
// fault knobs act on.
func (r *rig) liveAndCurrent() {
	r.t.Helper()
	r.until(state(feed.StateLive))
	r.until(func(it feed.Item) bool { return it.Event != nil })
}

func state(s feed.State) func(feed.Item) bool {
	return func(it feed.Item) bool { return it.Transition != nil && it.Transition.State == s }
}

func events(items []feed.Item) []string {
	var out []string
	for _, it := range items {
		if it.Event != nil {
			out = append(out, string(it.Event.Raw))
		}
	}
	return out
}

func TestHappyPathEventsInOrderExactBytes(t *testing.T) {
	r := newRig(t, sim.Options{Seed: 7, Rate: 500, StampFrames: true}, 50*time.Millisecond)
	r.start()
	if it := r.next(); it.Transition == nil || it.Transition.State != feed.StateConnecting {
		t.Fatalf("first item %+v", it)
	}
	r.until(state(feed.StateLive))
	var got []string
	for len(got) < 300 {
		it := r.next()
		if it.Event == nil {
			t.Fatalf("%+v, want only events", it)
		}
		if it.SentAt.IsZero() || it.SentAt.After(it.Received) {
			t.Fatalf("SentAt %v, received %v", it.SentAt, it.Received)
		}
		got = append(got, string(it.Event.Raw))
	}
	var want []string
	for len(want) < 300 { // the server reports a delivery just after the write
		want = r.del.snapshot()
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("event %d differs from what the server sent:\n%s\n%s", i, got[i], want[i])
		}
	}
	st := r.client.Stats()
	if st.Current.State != feed.StateLive || st.Events < 300 || st.Frames < st.Events+1 || st.BadFrames != 0 || st.Reconnects != 0 ||
		st.LiveSince.IsZero() || st.TokenExpiry.IsZero() || st.LagSamples == 0 || st.LagMax < st.LagMedian {
		t.Fatalf("stats %+v", st)
	}
	r.cancel()
	r.until(state(feed.StateStopped))
	if err := <-r.done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestHeartbeatsAreSentAndAnswered(t *testing.T) {
	r := newRig(t, sim.Options{Seed: 1, Rate: 200}, 20*time.Millisecond)
	r.start()
	r.until(state(feed.StateLive))
	// Each event read is a moment to look: no sleeping.
	r.until(func(feed.Item) bool { return r.client.Stats().HeartbeatsAcked >= 5 })
	st := r.client.Stats()
	if st.HeartbeatsSent < st.HeartbeatsAcked || st.LastHeartbeatAck.IsZero() {
		t.Fatalf("heartbeats: %+v", st)
	}
	if got := r.sim.Stats().HeartbeatsReceived; got < 5 {
		t.Fatalf("server saw %d heartbeats", got)
	}
}

func TestDropReconnectsWithBackoff(t *testing.T) {
	r := newRig(t, sim.Options{Seed: 2, Rate: 300, Faults: sim.Faults{DropEvery: 40}}, 100*time.Millisecond)
	r.start()
	r.until(state(feed.StateLive))
	items := r.until(state(feed.StateBackoff))
	bo := items[len(items)-1].Transition
	if !strings.Contains(bo.Reason, "dropped") || bo.NextRetry.IsZero() {
		t.Fatalf("backoff transition %+v", bo)
	}
	items = append(items, r.until(state(feed.StateLive))...)
	items = append(items, r.until(state(feed.StateBackoff))...)
	if r.client.Stats().Reconnects < 1 {
		t.Fatalf("reconnects %d", r.client.Stats().Reconnects)
	}
}

func TestEvictionIsReplacedAndDoesNotFlap(t *testing.T) {
	r := newRig(t, sim.Options{Seed: 3, Rate: 50}, 100*time.Millisecond)
	r.start()
	r.liveAndCurrent()
	r.sim.Evict()
	items := r.until(func(it feed.Item) bool { return it.Transition != nil && it.Transition.State != feed.StateLive })
	tr := items[len(items)-1].Transition
	if tr.State != feed.StateReplaced || !strings.Contains(tr.Reason, "another client") {
		t.Fatalf("after eviction: %+v", tr)
	}
	// The wait after being replaced is the long one, not the 5 ms first backoff.
	if wait := tr.NextRetry.Sub(tr.At); wait < 80*time.Millisecond {
		t.Fatalf("replaced waits only %v", wait)
	}
	r.liveAndCurrent()
	// Evicted again at once: the wait grows instead of flapping.
	r.sim.Evict()
	items = r.until(state(feed.StateReplaced))
	if tr2 := items[len(items)-1].Transition; tr2.NextRetry.Sub(tr2.At) <= tr.NextRetry.Sub(tr.At)*6/5 {
		t.Fatalf("second replaced wait %v not longer than first %v", tr2.NextRetry.Sub(tr2.At), tr.NextRetry.Sub(tr.At))
	}
}

// Two consumers on one subscription evict each other, but ever more slowly: the replaced
// waits grow, so the connection count stays small.
func TestTwoConsumersDoNotFlap(t *testing.T) {
	r := newRig(t, sim.Options{Seed: 4, Rate: 20}, 100*time.Millisecond)
	r.start()
	r.until(state(feed.StateLive))
	other := feed.New(feed.Config{URL: r.sim.WSURL(), Tokens: r.tokens, Heartbeat: 100 * time.Millisecond, Backoff: fast})
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan feed.Item, 64)
	go func() { other.Run(ctx, out); close(out) }()
	drained := make(chan struct{})
	go func() { // the other consumer's items are not this test's business
		for range out {
		}
		close(drained)
	}()
	defer func() {
		cancel()
		<-drained
	}()
	start := time.Now()
	var waits []time.Duration
	for len(waits) < 3 {
		items := r.until(func(it feed.Item) bool { return it.Transition != nil && it.Transition.State != feed.StateLive })
		tr := items[len(items)-1].Transition
		switch tr.State {
		case feed.StateConnecting:
			continue
		case feed.StateReplaced:
			waits = append(waits, tr.NextRetry.Sub(tr.At))
		default:
			t.Fatalf("first consumer went %s (%s), want replaced", tr.State, tr.Reason)
		}
	}
	took, conns := time.Since(start), r.sim.Stats().Connections
	// Replaced 100 ms doubling: waits of about 100, 200 and 400 ms.
	for i, w := range waits {
		if want := fast.Replaced << i; !feed.AnnouncedWait(w, want) {
			t.Errorf("replaced wait %d: %v, want %v ±20%%", i, w, want)
		}
	}
	// Each eviction of the first consumer is one connection of the other and one of its own.
	if conns > 2*3+2 {
		t.Errorf("%d connections in %v for 3 evictions: flapping", conns, took)
	}
	t.Logf("3 evictions of the first consumer in %v, %d connections in all; waits %v", took, conns, waits)
}

func TestSilentLinkIsDeclaredDeadWithinHeartbeats(t *testing.T) {
	hb := 100 * time.Millisecond
	r := newRig(t, sim.Options{Seed: 5, Rate: 50}, hb)
	r.start()
	r.liveAndCurrent()
	silentAt := time.Now()
	r.sim.Silence()
	items := r.until(state(feed.StateBackoff))
	took := time.Since(silentAt)
	tr := items[len(items)-1].Transition
	if !strings.Contains(tr.Reason, "silent") {
		t.Fatalf("reason %q", tr.Reason)
	}
	if took > 4*hb+500*time.Millisecond {
		t.Fatalf("silent link noticed after %v (heartbeat %v)", took, hb)
	}
	r.until(state(feed.StateLive))
	t.Logf("silent link replaced after %v with heartbeat %v", took, hb)
}

func TestBadFramesAreKeptAndTheLinkCarriesOn(t *testing.T) {
	r := newRig(t, sim.Options{Seed: 6, Rate: 100, Faults: sim.Faults{MalformedEvery: 10}}, 100*time.Millisecond)
	r.start()
	r.until(state(feed.StateLive))
	kinds := map[string]int{}
	for len(kinds) < 3 {
		it := r.next()
		if it.Transition != nil {
			t.Fatalf("the link changed state on a bad frame: %+v", it.Transition)
		}
		if a := it.Anomaly; a != nil {
			kinds[a.Kind]++
			if len(a.Data) == 0 {
				t.Fatal("anomaly without its bytes")
			}
		}
	}
	if r.client.Stats().BadFrames < 3 {
		t.Fatalf("bad frames counted: %d", r.client.Stats().BadFrames)
	}
}

func TestOversizedFrameIsRead(t *testing.T) {
	// A heartbeat long enough that decoding 400 KiB under -race on a busy machine is not
	// mistaken for silence (TestSlowFrameKeepsTheLink covers a slow link).
	r := newRig(t, sim.Options{Seed: 8, Rate: 5}, time.Second)
	r.start()
	r.liveAndCurrent()
	r.sim.SendOversize()
	items := r.until(func(it feed.Item) bool { return it.Event != nil && len(it.Event.Raw) > 400<<10 })
	ev := items[len(items)-1].Event
	if ev.Type != "recording.completed" || len(ev.Payload.Object.RecordingFiles) < 1000 {
		t.Fatalf("oversized event decoded as %s with %d files", ev.Type, len(ev.Payload.Object.RecordingFiles))
	}
}

func TestDuplicatesArePassedOn(t *testing.T) {
	r := newRig(t, sim.Options{Seed: 13, Rate: 300, Faults: sim.Faults{DuplicateEvery: 5}}, 100*time.Millisecond)
	r.start()
	r.until(state(feed.StateLive))
	seen := map[string]int{}
	twice := 0
	for twice < 3 {
		if it := r.next(); it.Event != nil {
			if seen[string(it.Event.Raw)]++; seen[string(it.Event.Raw)] == 2 {
				twice++
			}
		}
	}
	if st := r.client.Stats(); st.Current.State != feed.StateLive || st.BadFrames != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestExpiredTokenIsRefreshed(t *testing.T) {
	r := newRig(t, sim.Options{Seed: 9, Rate: 20}, 100*time.Millisecond)
	r.start()
	r.liveAndCurrent()
	issued := r.sim.Stats().TokensIssued
	r.sim.ExpireTokens()
	r.sim.Drop() // the next connection presents the now-invalid cached token
	items := r.until(func(it feed.Item) bool {
		return it.Transition != nil && strings.Contains(it.Transition.Reason, "Invalid Token")
	})
	_ = items
	r.until(state(feed.StateLive))
	if r.sim.Stats().TokensIssued <= issued {
		t.Fatal("no fresh token was fetched")
	}
}

func TestRejectedCredentialsAtStartEndRun(t *testing.T) {
	s, err := sim.Start(sim.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := s.Options()
	c := feed.New(feed.Config{URL: s.WSURL(), Heartbeat: time.Second, Backoff: fast,
		Tokens: auth.New(auth.Config{URL: s.OAuthURL(), AccountID: o.AccountID, ClientID: o.ClientID, ClientSecret: "wrong"})})
	out := make(chan feed.Item, 16)
	errc := make(chan error, 1)
	go func() { errc <- c.Run(context.Background(), out); close(out) }()
	var last feed.Item
	for it := range out {
		last = it
	}
	var rej *auth.RejectedError
	if err := <-errc; !errors.As(err, &rej) || rej.Code != "invalid_client" {
		t.Fatalf("Run = %v", err)
	}
	if last.Transition == nil || last.Transition.State != feed.StateAuthFailed {
		t.Fatalf("last item %+v", last)
	}
	if strings.Contains(last.Transition.Reason, "wrong") {
		t.Fatal("the secret leaked into the reason")
	}
}

func TestRotatedSecretMidRunRetriesSlowlyAndRecovers(t *testing.T) {
	r := newRig(t, sim.Options{Seed: 10, Rate: 20}, 100*time.Millisecond)
	r.start()
	r.liveAndCurrent()
	o := r.sim.Options()
	r.sim.SetCredentials(o.ClientID, "rotated")
	r.sim.ExpireTokens() // the next connection gets "Invalid Token", the client a 400
	r.sim.Drop()
	items := r.until(state(feed.StateAuthFailed))
	tr := items[len(items)-1].Transition
	if !strings.Contains(tr.Reason, "invalid_client") || tr.NextRetry.Sub(tr.At) < 40*time.Millisecond {
		t.Fatalf("auth-failed transition %+v", tr)
	}
	items = r.until(state(feed.StateAuthFailed)) // retried, still failing
	tr2 := items[len(items)-1].Transition
	if tr2.NextRetry.Sub(tr2.At) <= tr.NextRetry.Sub(tr.At)*6/5 {
		t.Fatal("auth-failed retries do not slow down")
	}
	r.sim.SetCredentials(o.ClientID, o.ClientSecret)
	r.until(state(feed.StateLive))
}

func TestStopSendsCloseFrameAndReturns(t *testing.T) {
	var serverLog syncbuf.Buffer
	r := newRig(t, sim.Options{Seed: 11, Rate: 50,
		Logger: slog.New(slog.NewTextHandler(&serverLog, &slog.HandlerOptions{Level: slog.LevelDebug}))}, 100*time.Millisecond)
	r.start()
	r.until(state(feed.StateLive))
	r.cancel()
	r.until(state(feed.StateStopped))
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	// Close waits for the server's link handlers: the link's end is in the log by then.
	r.sim.Close()
	if !strings.Contains(serverLog.String(), `msg="sim: link closed" link=1 err="websocket: close 1000 (normal)"`) {
		t.Fatalf("the server did not see close 1000:\n%s", serverLog.String())
	}
}

// TestAllFaultsExactlyOnce runs every fault at once and checks that the client handed out
// each delivered event exactly as many times as the server delivered it, with its bytes.
func TestAllFaultsExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several seconds")
	}
	r := newRig(t, sim.Options{Seed: 12, Rate: 400, TokenTTL: 2 * time.Second, Faults: sim.Faults{
		DropEvery: 150, EvictEvery: 900 * time.Millisecond, SilenceEvery: 500 * time.Millisecond,
		MalformedEvery: 37, OversizeEvery: 250, DuplicateEvery: 53,
	}}, 80*time.Millisecond)
	r.start()
	got := map[string]int{}
	lives := 0
	// At least 4 s, then until every fault has happened: the timed ones only count when they
	// find a live link, which on a loaded machine can take longer.
	allFaults := func() bool {
		st := r.sim.Stats()
		return st.Drops > 0 && st.Evictions > 0 && st.Silences > 0 && st.Malformed > 0 && st.Oversize > 0 && st.Duplicates > 0
	}
	start, limit := time.Now(), time.Now().Add(30*time.Second)
	for time.Since(start) < 4*time.Second || (!allFaults() && time.Now().Before(limit)) {
		it := r.next()
		switch {
		case it.Event != nil:
			got[string(it.Event.Raw)]++
		case it.Transition != nil && it.Transition.State == feed.StateLive:
			lives++
		}
	}
	r.cancel()
	for it := range r.out {
		if it.Event != nil {
			got[string(it.Event.Raw)]++
		}
	}
	r.sim.Close() // no delivery can be reported after this
	want := map[string]int{}
	for _, raw := range r.del.snapshot() {
		want[raw]++
	}
	st := r.sim.Stats()
	if !allFaults() {
		t.Fatalf("not every fault happened in 30 s: %+v", st)
	}
	missing, extra := 0, 0
	for raw, n := range want {
		if got[raw] < n {
			missing += n - got[raw]
		}
	}
	for raw, n := range got {
		if want[raw] < n {
			extra += n - want[raw]
		}
	}
	// Even the link that Run's cancellation closes loses nothing: the client reads up to the
	// server's answer to its close frame, and the server delivers nothing after that.
	if missing != 0 || extra != 0 {
		t.Fatalf("delivered %d distinct, received %d: %d missing, %d never delivered", len(want), len(got), missing, extra)
	}
	t.Logf("%d links; %d events delivered and received; server stats %+v", lives, len(r.del.snapshot()), st)
}

// BenchmarkSimEndToEnd measures what the client takes from a simulator sending as fast as
// it can: events per second and the send-to-receive latency from the frames' stamps.
func BenchmarkSimEndToEnd(b *testing.B) {
	s, err := sim.Start(sim.Options{Seed: 1, Rate: 1e6, StampFrames: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	o := s.Options()
	c := feed.New(feed.Config{URL: s.WSURL(), Backoff: fast,
		Tokens: auth.New(auth.Config{URL: s.OAuthURL(), AccountID: o.AccountID, ClientID: o.ClientID, ClientSecret: o.ClientSecret})})
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan feed.Item, 4096) // as main wires it
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, out); close(out) }()
	for it := range out {
		if it.Transition != nil && it.Transition.State == feed.StateLive {
			break
		}
	}
	b.ResetTimer()
	start := time.Now()
	var latency time.Duration
	for n := 0; n < b.N; {
		if it := <-out; it.Event != nil {
			latency += it.Received.Sub(it.SentAt)
			n++
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(latency.Microseconds())/float64(b.N), "µs-latency")
	b.StopTimer()
	cancel()
	for range out {
	}
	<-done
}
