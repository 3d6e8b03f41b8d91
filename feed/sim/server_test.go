package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"zoomwatch/feed"
)

const waitLimit = 5 * time.Second // how long a test waits for something that should happen promptly

func startSim(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postToken calls the token endpoint; query and form may be nil.
func postToken(t *testing.T, s *Server, user, pass string, query, form url.Values) (int, map[string]any) {
	t.Helper()
	u := s.OAuthURL()
	if query != nil {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response: %v", err)
	}
	return resp.StatusCode, body
}

func getToken(t *testing.T, s *Server) string {
	t.Helper()
	o := s.Options()
	status, body := postToken(t, s, o.ClientID, o.ClientSecret, nil,
		url.Values{"grant_type": {"account_credentials"}, "account_id": {o.AccountID}})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	return body["access_token"].(string)
}

// dial opens a link the way zoomwatch does (Marketplace URL + &access_token=) and returns
// the connection and its first frame.
func dial(t *testing.T, s *Server, tok string) (*websocket.Conn, []byte) {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(s.WSURL()+"&access_token="+url.QueryEscape(tok), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(waitLimit))
	_, first, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("first frame: %v", err)
	}
	return c, first
}

func connect(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	c, first := dial(t, s, getToken(t, s))
	if string(first) != `{"module":"build_connection","success":true,"content":"ok","header":{}}` {
		t.Fatalf("build_connection: %s", first)
	}
	return c
}

type frame struct {
	typ  int
	data []byte
}

// reader collects what a client reads until its connection ends.
type reader struct {
	frames chan frame
	err    error // valid once frames is closed
}

func startReader(c *websocket.Conn) *reader {
	r := &reader{frames: make(chan frame, 1<<16)}
	go func() {
		defer close(r.frames)
		for {
			c.SetReadDeadline(time.Now().Add(2 * waitLimit))
			typ, data, err := c.ReadMessage()
			if err != nil {
				r.err = err
				return
			}
			r.frames <- frame{typ, data}
		}
	}()
	return r
}

// next returns the next frame, failing the test if none arrives in time.
func (r *reader) next(t *testing.T) (frame, bool) {
	t.Helper()
	select {
	case f, ok := <-r.frames:
		return f, ok
	case <-time.After(waitLimit):
		t.Fatal("no frame in time")
		return frame{}, false
	}
}

// events reads until the connection ends, returning the events received (frames already
// read first) and the error that ended it.
func (r *reader) events(t *testing.T, already ...frame) ([]string, error) {
	t.Helper()
	var got []string
	for _, f := range already {
		got = appendEvent(got, f)
	}
	for {
		f, ok := r.next(t)
		if !ok {
			return got, r.err
		}
		got = appendEvent(got, f)
	}
}

// appendEvent adds f's event content if f is a message frame carrying a valid event.
func appendEvent(events []string, f frame) []string {
	fr, err := feed.DecodeFrame(f.data)
	if err != nil || fr.Module != feed.ModuleMessage {
		return events
	}
	if _, err := feed.DecodeEvent(fr.Content); err != nil {
		return events
	}
	return append(events, string(fr.Content))
}

// deliveries records OnDeliver calls.
type deliveries struct {
	mu  sync.Mutex
	raw []string
}

func (d *deliveries) add(raw []byte) {
	d.mu.Lock()
	d.raw = append(d.raw, string(raw))
	d.mu.Unlock()
}

func (d *deliveries) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.raw...)
}

func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

func TestTokenEndpoint(t *testing.T) {
	s := startSim(t, Options{})
	o := s.Options()
	acct := url.Values{"grant_type": {"account_credentials"}, "account_id": {o.AccountID}}

	status, body := postToken(t, s, o.ClientID, o.ClientSecret, nil, acct)
	if status != 200 || body["token_type"] != "bearer" || body["expires_in"] != 3600.0 ||
		!strings.HasPrefix(body["access_token"].(string), "eyJ") ||
		!strings.Contains(body["scope"].(string), "marketplace:write:websocket_connection") || body["api_url"] == nil {
		t.Fatalf("account_credentials in the body: %d %v", status, body)
	}
	// Zoom's sample: client_credentials in the query string, no account_id, empty body.
	status, body = postToken(t, s, o.ClientID, o.ClientSecret, url.Values{"grant_type": {"client_credentials"}}, nil)
	if status != 200 || body["access_token"] == "" {
		t.Fatalf("client_credentials in the query: %d %v", status, body)
	}
	if status, _ = postToken(t, s, o.ClientID, o.ClientSecret, acct, nil); status != 200 {
		t.Fatalf("account_credentials in the query: %d", status)
	}

	for _, tc := range []struct {
		name, user, pass string
		form             url.Values
		status           int
		reason, err      string
	}{
		{"wrong secret", o.ClientID, "nope", acct, 400, "Invalid client_id or client_secret", "invalid_client"},
		{"wrong id", "nope", o.ClientSecret, acct, 400, "Invalid client_id or client_secret", "invalid_client"},
		{"no basic auth", "", "", acct, 400, "Invalid client_id or client_secret", "invalid_client"},
		{"unsupported grant", o.ClientID, o.ClientSecret, url.Values{"grant_type": {"password"}}, 400, "unsupported grant type", "unsupported_grant_type"},
		{"wrong account", o.ClientID, o.ClientSecret, url.Values{"grant_type": {"account_credentials"}, "account_id": {"other"}}, 400, "Invalid account_id", "invalid_request"},
		{"no account", o.ClientID, o.ClientSecret, url.Values{"grant_type": {"account_credentials"}}, 400, "Missing account_id", "invalid_request"},
	} {
		status, body := postToken(t, s, tc.user, tc.pass, nil, tc.form)
		if status != tc.status || body["reason"] != tc.reason || body["error"] != tc.err || len(body) != 2 {
			t.Errorf("%s: %d %v", tc.name, status, body)
		}
	}

	resp, err := http.Get(s.OAuthURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if st := s.Stats(); st.TokensIssued != 3 || st.TokenRejects != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestBuildConnection(t *testing.T) {
	s := startSim(t, Options{Rate: 0.1})
	connect(t, s) // success frame checked by connect

	for _, tc := range []struct{ name, url, content string }{
		{"no token", s.WSURL(), "token is empty"},
		{"empty token", s.WSURL() + "&access_token=", "token is empty"},
		{"unknown token", s.WSURL() + "&access_token=eyJnope", "Invalid Token"},
		{"unknown subscription", s.BaseWSURL() + "?subscriptionId=other&access_token=" + getToken(t, s), "Invalid subscriptionId"},
	} {
		c, _, err := websocket.DefaultDialer.Dial(tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := startReader(c)
		f, _ := r.next(t)
		want := `{"module":"build_connection","success":false,"content":"` + tc.content + `","header":{}}`
		if string(f.data) != want {
			t.Errorf("%s: %s", tc.name, f.data)
		}
		// Then the server hangs up, without a close frame (Zoom "then disconnects").
		if _, ok := r.next(t); ok || closeCode(r.err) != websocket.CloseAbnormalClosure {
			t.Errorf("%s: after the refusal: %v", tc.name, r.err)
		}
		c.Close()
	}
	if st := s.Stats(); st.Connections != 1 || st.ConnectRejects != 4 || st.Active != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestZoomSampleURL connects exactly as zoom/websocket-js-sample does.
func TestZoomSampleURL(t *testing.T) {
	s := startSim(t, Options{Rate: 200})
	o := s.Options()
	_, body := postToken(t, s, o.ClientID, o.ClientSecret, url.Values{"grant_type": {"client_credentials"}}, nil)
	u := s.BaseWSURL() + "?subscriptionId=" + o.SubscriptionID + "&access_token=" + body["access_token"].(string)
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := startReader(c)
	if f, _ := r.next(t); !bytes.Contains(f.data, []byte(`"success":true`)) {
		t.Fatalf("first frame %s", f.data)
	}
	f, _ := r.next(t)
	fr, err := feed.DecodeFrame(f.data)
	if err != nil || fr.Module != "message" || !fr.Success || !fr.ContentIsString || string(fr.Header) != "{}" {
		t.Fatalf("event frame %s: %v", f.data, err)
	}
	checkEvent(t, fr.Content)
}

func TestHeartbeat(t *testing.T) {
	s := startSim(t, Options{Rate: 0.1})
	c := connect(t, s)
	pongs := make(chan string, 1)
	c.SetPongHandler(func(data string) error { pongs <- data; return nil })
	r := startReader(c)
	for _, msg := range []string{`{"module":"heartbeat"}`, "heartbeat"} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		for {
			f, ok := r.next(t)
			if !ok {
				t.Fatalf("link ended: %v", r.err)
			}
			if bytes.Contains(f.data, []byte(`"module":"heartbeat"`)) {
				if string(f.data) != `{"module":"heartbeat","success":true,"content":"live","header":{}}` {
					t.Fatalf("reply %s", f.data)
				}
				break
			}
		}
	}
	if err := c.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-pongs:
		if p != "p1" {
			t.Errorf("pong %q", p)
		}
	case <-time.After(waitLimit):
		t.Error("no pong")
	}
	if st := s.Stats(); st.HeartbeatsReceived != 2 {
		t.Errorf("heartbeats %d", st.HeartbeatsReceived)
	}
}

func TestHeartbeatTimeout(t *testing.T) {
	s := startSim(t, Options{Rate: 0.1, HeartbeatTimeout: 300 * time.Millisecond})
	// A link that heartbeats stays up well past the timeout.
	kept := connect(t, s)
	kr := startReader(kept)
	deadline := time.After(time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
alive:
	for {
		select {
		case <-tick.C:
			kept.WriteMessage(websocket.TextMessage, []byte(`{"module":"heartbeat"}`))
		case _, ok := <-kr.frames:
			if !ok {
				t.Fatalf("heartbeating link closed: %v", kr.err)
			}
		case <-deadline:
			break alive
		}
	}
	// One that sends nothing is closed: it is replaced first, so use a fresh server.
	s2 := startSim(t, Options{Rate: 0.1, HeartbeatTimeout: 300 * time.Millisecond})
	idle := connect(t, s2)
	start := time.Now()
	_, err := startReader(idle).events(t)
	if closeCode(err) != websocket.CloseGoingAway || !strings.Contains(err.Error(), "heartbeat timeout") {
		t.Fatalf("idle link ended with %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
	if st := s2.Stats(); st.Active != 0 {
		t.Errorf("active %d after timeout", st.Active)
	}
}

func TestSecondLinkEvictsFirst(t *testing.T) {
	var d deliveries
	s := startSim(t, Options{Rate: 500, OnDeliver: d.add})
	first := connect(t, s)
	r1 := startReader(first)
	flowing, _ := r1.next(t)
	second := connect(t, s)
	got, err := r1.events(t, flowing)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "" {
		t.Fatalf("first link ended with %v; want close 1000 with no reason", err)
	}
	// Everything delivered before the eviction reached the first client, in order.
	if all := d.list(); len(all) < len(got) || !equalStrings(all[:len(got)], got) {
		t.Fatalf("first client read %d events that are not the first %d delivered", len(got), len(got))
	}
	r2 := startReader(second)
	if f, _ := r2.next(t); !bytes.Contains(f.data, []byte(`"module":"message"`)) {
		t.Fatalf("second link: %s", f.data)
	}
	if st := s.Stats(); st.Evictions != 1 || st.Active != 1 || st.Connections != 2 {
		t.Errorf("stats %+v", st)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDropLosesNothingWritten checks that OnDeliver reports exactly what the client read,
// across two abrupt drops.
func TestDropLosesNothingWritten(t *testing.T) {
	var d deliveries
	s := startSim(t, Options{Rate: 2000, OnDeliver: d.add, Faults: Faults{DropEvery: 150}})
	var got []string
	for range 2 {
		events, err := startReader(connect(t, s)).events(t)
		if closeCode(err) != websocket.CloseAbnormalClosure {
			t.Fatalf("drop ended the link with %v; want no close frame (1006)", err)
		}
		got = append(got, events...)
	}
	if all := d.list(); len(got) != 300 || !equalStrings(all, got) {
		t.Fatalf("client read %d events, OnDeliver reported %d, or they differ", len(got), len(all))
	}
	if st := s.Stats(); st.Drops != 2 || st.Delivered != 300 {
		t.Errorf("stats %+v", st)
	}
}

func TestEvictKnob(t *testing.T) {
	var d deliveries
	s := startSim(t, Options{Rate: 1000, OnDeliver: d.add})
	r := startReader(connect(t, s))
	flowing, _ := r.next(t)
	s.Evict()
	got, err := r.events(t, flowing)
	if closeCode(err) != websocket.CloseNormalClosure {
		t.Fatalf("evicted link ended with %v", err)
	}
	if all := d.list(); !equalStrings(all, got) {
		t.Fatalf("client read %d events, OnDeliver reported %d", len(got), len(all))
	}
	if st := s.Stats(); st.Evictions != 1 || st.Active != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSilence(t *testing.T) {
	s := startSim(t, Options{Rate: 500})
	c := connect(t, s)
	r := startReader(c)
	r.next(t)
	s.Silence()
	delivered := s.Stats().Delivered
	for events := uint64(1); events < delivered; { // what was written before the silence still arrives
		f, ok := r.next(t)
		if !ok {
			t.Fatalf("link ended: %v", r.err)
		}
		if bytes.Contains(f.data, []byte(`"module":"message"`)) {
			events++
		}
	}
	// From now on nothing at all, not even heartbeat replies, while the link stays open.
	c.WriteMessage(websocket.TextMessage, []byte(`{"module":"heartbeat"}`))
	select {
	case f, ok := <-r.frames:
		t.Fatalf("silent link delivered %q (open: %v)", f.data, ok)
	case <-time.After(400 * time.Millisecond):
	}
	waitFor(t, "the heartbeat to be read", func() bool { return s.Stats().HeartbeatsReceived == 1 })
	st := s.Stats()
	if st.Silences != 1 || st.Active != 1 || st.Delivered != delivered || st.Lost == 0 {
		t.Errorf("stats %+v", st)
	}
	// The link is still open: a newcomer evicts it with a close frame.
	connect(t, s)
	if _, err := r.events(t); closeCode(err) != websocket.CloseNormalClosure {
		t.Errorf("silent link ended with %v", err)
	}
}

func TestMalformedFrames(t *testing.T) {
	var d deliveries
	s := startSim(t, Options{Rate: 0.1, OnDeliver: d.add})
	r := startReader(connect(t, s))
	for range 4 {
		s.SendMalformed()
	}
	var bad []frame
	for len(bad) < 4 {
		f, _ := r.next(t)
		if fr, err := feed.DecodeFrame(f.data); f.typ == websocket.TextMessage && err == nil && fr.Module == "message" {
			if _, err := feed.DecodeEvent(fr.Content); err == nil {
				continue // a regular event
			}
		}
		bad = append(bad, f)
	}
	if _, err := feed.DecodeFrame(bad[0].data); !errors.Is(err, feed.ErrNotJSON) {
		t.Errorf("kind 1 should not be JSON: %q", bad[0].data)
	}
	if fr, err := feed.DecodeFrame(bad[1].data); err != nil || fr.Module != "message" {
		t.Errorf("kind 2 should be a message frame: %q", bad[1].data)
	} else if _, err := feed.DecodeEvent(fr.Content); !errors.Is(err, feed.ErrNotJSON) {
		t.Errorf("kind 2 content should not be JSON: %q", fr.Content)
	}
	if fr, err := feed.DecodeFrame(bad[2].data); err != nil || fr.Module == "message" || fr.Module == "heartbeat" || fr.Module == "build_connection" {
		t.Errorf("kind 3 should be an unknown module: %q", bad[2].data)
	}
	if bad[3].typ != websocket.BinaryMessage {
		t.Errorf("kind 4 should be binary: %q", bad[3].data)
	}
	if st := s.Stats(); st.Malformed != 4 || int(st.Delivered) != len(d.list()) {
		t.Errorf("stats %+v, OnDeliver %d", st, len(d.list()))
	}
	for _, raw := range d.list() {
		checkEvent(t, []byte(raw))
	}
}

func TestOversize(t *testing.T) {
	var d deliveries
	s := startSim(t, Options{Rate: 0.1, OnDeliver: d.add})
	r := startReader(connect(t, s))
	s.SendOversize()
	for {
		f, _ := r.next(t)
		if len(f.data) < oversizeBytes {
			continue
		}
		fr, err := feed.DecodeFrame(f.data)
		if err != nil {
			t.Fatal(err)
		}
		if ev := checkEvent(t, fr.Content); ev.Type != "recording.completed" {
			t.Fatalf("oversize %s", ev.Type)
		}
		if all := d.list(); all[len(all)-1] != string(fr.Content) {
			t.Fatal("OnDeliver did not report the oversize event")
		}
		break
	}
	if st := s.Stats(); st.Oversize != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestScheduledFaults runs the count-based faults together and checks the client's view
// against OnDeliver.
func TestScheduledFaults(t *testing.T) {
	var d deliveries
	s := startSim(t, Options{Rate: 2000, OnDeliver: d.add,
		Faults: Faults{DuplicateEvery: 7, MalformedEvery: 20, OversizeEvery: 50, DropEvery: 100}})
	got, err := startReader(connect(t, s)).events(t)
	if closeCode(err) != websocket.CloseAbnormalClosure {
		t.Fatalf("link ended with %v", err)
	}
	st := s.Stats()
	if !equalStrings(d.list(), got) || st.Delivered != uint64(len(got)) {
		t.Fatalf("client read %d events, OnDeliver reported %d", len(got), len(d.list()))
	}
	if st.Duplicates != 14 || st.Malformed != 5 || st.Oversize != 2 || st.Drops != 1 || len(got) != 100+14+2 {
		t.Errorf("stats %+v, %d events read", st, len(got))
	}
	seen := map[string]bool{}
	dups := 0
	for _, e := range got {
		if seen[e] {
			dups++
		}
		seen[e] = true
	}
	if dups != 14 {
		t.Errorf("%d repeated events, want 14", dups)
	}
}

func TestTimedFaults(t *testing.T) {
	s := startSim(t, Options{Rate: 100, Faults: Faults{EvictEvery: 200 * time.Millisecond}})
	if _, err := startReader(connect(t, s)).events(t); closeCode(err) != websocket.CloseNormalClosure {
		t.Fatalf("EvictEvery: link ended with %v", err)
	}
	s2 := startSim(t, Options{Rate: 100, Faults: Faults{SilenceEvery: 200 * time.Millisecond}})
	connect(t, s2)
	waitFor(t, "SilenceEvery to silence the link", func() bool { return s2.Stats().Silences > 0 })
}

// waitFor polls cond until it holds, for conditions that only the server's counters show.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestTokenExpiry(t *testing.T) {
	s := startSim(t, Options{Rate: 0.1})
	old := getToken(t, s)
	connect(t, s)
	s.ExpireTokens()
	if _, first := dial(t, s, old); string(first) != `{"module":"build_connection","success":false,"content":"Invalid Token","header":{}}` {
		t.Fatalf("expired token: %s", first)
	}
	connect(t, s) // a fresh token works

	short := startSim(t, Options{Rate: 0.1, TokenTTL: time.Nanosecond})
	o := short.Options()
	_, body := postToken(t, short, o.ClientID, o.ClientSecret, url.Values{"grant_type": {"client_credentials"}}, nil)
	if body["expires_in"] != 1.0 {
		t.Errorf("expires_in %v for a 1ns lifetime", body["expires_in"])
	}
	if _, first := dial(t, short, body["access_token"].(string)); !bytes.Contains(first, []byte(`"Invalid Token"`)) {
		t.Fatalf("token past its lifetime: %s", first)
	}
}

func TestSetCredentials(t *testing.T) {
	s := startSim(t, Options{Rate: 0.1})
	o := s.Options()
	issued := getToken(t, s)
	s.SetCredentials("newID", "newSecret")
	q := url.Values{"grant_type": {"client_credentials"}}
	if status, body := postToken(t, s, o.ClientID, o.ClientSecret, q, nil); status != 400 || body["error"] != "invalid_client" {
		t.Errorf("old credentials: %d %v", status, body)
	}
	if status, _ := postToken(t, s, "newID", "newSecret", q, nil); status != 200 {
		t.Errorf("new credentials: %d", status)
	}
	if o := s.Options(); o.ClientID != "newID" || o.ClientSecret != "newSecret" {
		t.Errorf("Options() %q %q", o.ClientID, o.ClientSecret)
	}
	if _, first := dial(t, s, issued); !bytes.Contains(first, []byte(`"success":true`)) {
		t.Errorf("a token issued before the rotation: %s", first)
	}
}

func TestEventsPacedInRealTime(t *testing.T) {
	s := startSim(t, Options{Rate: 300, StampFrames: true})
	r := startReader(connect(t, s))
	for n := 0; n < 300; {
		f, _ := r.next(t)
		fr, err := feed.DecodeFrame(f.data)
		if err != nil || fr.Module != "message" {
			continue
		}
		n++
		var h struct {
			Sent int64 `json:"sim_sent_ns"`
		}
		if err := json.Unmarshal(fr.Header, &h); err != nil || h.Sent == 0 {
			t.Fatalf("header %s", fr.Header)
		}
		ev := checkEvent(t, fr.Content)
		if lag := time.Since(ev.Time()); lag < -time.Millisecond || lag > time.Second {
			t.Fatalf("event %d is %v behind real time", n, lag)
		}
	}
}

func TestCloseEndsLinks(t *testing.T) {
	s, err := Start(Options{Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	r := startReader(connect(t, s))
	r.next(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.events(t); closeCode(err) != websocket.CloseGoingAway && closeCode(err) != websocket.CloseAbnormalClosure {
		t.Errorf("link ended with %v", err)
	}
	if _, err := http.Post(s.OAuthURL(), "", nil); err == nil {
		t.Error("token endpoint still answers after Close")
	}
}

func TestEnv(t *testing.T) {
	s := startSim(t, Options{})
	env := map[string]string{}
	for _, line := range s.Env() {
		if strings.HasPrefix(line, "# ") {
			continue // says whose names follow
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			t.Fatalf("line %q", line)
		}
		env[k] = strings.Trim(v, "'")
	}
	o := s.Options()
	want := map[string]string{
		"ZOOM_ACCOUNT_ID": o.AccountID, "ZOOM_CLIENT_ID": o.ClientID, "ZOOM_CLIENT_SECRET": o.ClientSecret,
		"ZOOM_WS_URL": s.WSURL(), "ZOOM_OAUTH_URL": s.OAuthURL(),
		"CLIENT_USERNAME": o.ClientID, "CLIENT_PASSWORD": o.ClientSecret, "SUBSCRIPTION_ID": o.SubscriptionID,
		"WS_URL": s.BaseWSURL(), "OAUTH_URL": s.OAuthURL(), "WS_URL_DEV": s.BaseWSURL(), "OAUTH_URL_DEV": s.OAuthURL(),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if !strings.HasPrefix(s.WSURL(), "ws://127.0.0.1:") || !strings.HasSuffix(s.WSURL(), "/ws?subscriptionId="+o.SubscriptionID) {
		t.Errorf("WSURL %s", s.WSURL())
	}
}
