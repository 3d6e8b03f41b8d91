// Package sim is a Zoom-compatible server for zoomwatch's tests, its demo and `zoomwatch sim`:
// the Server-to-Server OAuth token endpoint, the WebSocket event-subscription endpoint
// (PROTOCOL.md §1–§2), a realistic account's activity and injectable faults. It follows Zoom's
// protocol closely enough that Zoom's own sample client (zoom/websocket-js-sample) runs
// against it unchanged.
package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Options configures a Server. Zero values take the defaults.
type Options struct {
	Seed             int64         // activity is deterministic given Seed, Start and Rate
	Rate             float64       // events per second; default 5
	AccountID        string        // default "sImAcCt0000000000000A"
	ClientID         string        // default "sImCLiEnTiD0000000000A"
	ClientSecret     string        // default "sImSeCrEt00000000000000000000000A"
	SubscriptionID   string        // default "sImSuBsCrIpTiOn000000A"
	TokenTTL         time.Duration // expires_in of issued tokens; default 1h
	HeartbeatTimeout time.Duration // a link that sent no heartbeat for this long is closed; default 90s
	Start            time.Time     // virtual-clock origin of the activity; zero = now
	TimeScale        float64       // meeting lengths and recording delays × this; 0 = 1 (demo: 0.25)
	Faults           Faults
	// StampFrames sets each message frame's header to {"sim_sent_ns":<unix nanos at write>}
	// (for benchmarks); otherwise the header is {} as Zoom sends it.
	StampFrames bool
	// OnDeliver is called with the event JSON after each event frame (duplicates and
	// oversize ones included, bad frames not) is fully written to a client. It runs on a
	// server goroutine while that link's writes wait, so calls come in wire order; it must
	// not call the Server's fault knobs (Evict, Drop, Silence, Send*), which wait on the same
	// link.
	OnDeliver func(raw []byte)
	Logger    *slog.Logger // nil = discard
}

// Faults injects trouble on a schedule. Zero disables each.
type Faults struct {
	DropEvery      int           // after every N delivered events, end the TCP link abruptly (no close frame)
	EvictEvery     time.Duration // this often, act as if another consumer took the subscription (Evict)
	SilenceEvery   time.Duration // this often, go silent on the current link (Silence)
	MalformedEvery int           // every N events also send one bad frame (SendMalformed)
	OversizeEvery  int           // every N events also send a valid ~512 KB event (SendOversize)
	DuplicateEvery int           // every N events re-send an earlier event with identical bytes
}

// Stats counts what the server did. Delivered counts every event frame written (duplicates
// and oversize ones included), i.e. every OnDeliver call.
type Stats struct {
	TokensIssued, TokenRejects uint64
	Connections                uint64 // WebSocket links that passed build_connection
	ConnectRejects             uint64 // build_connection success:false
	Active                     int    // links open now (0 or 1: one per subscription)
	Evictions, Drops, Silences uint64
	HeartbeatsReceived         uint64
	Delivered, Duplicates      uint64
	Malformed, Oversize        uint64
	Generated, Lost            uint64 // events generated; generated while no link could take them
}

const (
	defaultRate             = 5
	defaultClientID         = "sImCLiEnTiD0000000000A"
	defaultClientSecret     = "sImSeCrEt00000000000000000000000A"
	defaultSubscriptionID   = "sImSuBsCrIpTiOn000000A"
	defaultTokenTTL         = time.Hour
	defaultHeartbeatTimeout = 90 * time.Second
	oversizeBytes           = 512 << 10
	duplicateWindow         = 16 // how far back a redelivered event may come from
)

// Server is a running simulator. All methods are safe for concurrent use.
type Server struct {
	opts     Options // defaults filled in; credentials live in mu's fields
	log      *slog.Logger
	ln       net.Listener
	http     *http.Server
	upgrader websocket.Upgrader
	origin   time.Time // real time at which the virtual clock reads opts.Start
	done     chan struct{}
	wg       sync.WaitGroup

	mu           sync.Mutex
	clientID     string
	clientSecret string
	tokens       map[string]time.Time // access token → expiry
	cur          *link                // the subscription's link, if any
	links        map[*link]struct{}   // every open link, closing ones included
	closed       bool
	faultRNG     *rand.Rand
	lastAt       time.Time // virtual time of the latest event

	rate         atomic.Uint64 // float64 bits, read by the pump before each event
	malformedSeq atomic.Uint64
	linkSeq      atomic.Uint64
	stats        counters
}

type counters struct {
	tokensIssued, tokenRejects, connections, connectRejects     atomic.Uint64
	evictions, drops, silences, heartbeats                      atomic.Uint64
	delivered, duplicates, malformed, oversize, generated, lost atomic.Uint64
}

// Start runs a simulator on 127.0.0.1 at a free port.
func Start(opts Options) (*Server, error) { return Listen("127.0.0.1:0", opts) }

// Listen runs a simulator on addr.
func Listen(addr string, opts Options) (*Server, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &Server{
		opts:         opts,
		log:          opts.Logger,
		ln:           ln,
		origin:       time.Now(),
		done:         make(chan struct{}),
		clientID:     opts.ClientID,
		clientSecret: opts.ClientSecret,
		tokens:       make(map[string]time.Time),
		links:        make(map[*link]struct{}),
		faultRNG:     rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed)),
		upgrader: websocket.Upgrader{
			WriteBufferSize: 32 << 10,
			// Zoom's clients are servers and scripts, not pages: any Origin is fine.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	s.rate.Store(math.Float64bits(opts.Rate))
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", s.handleToken)
	mux.HandleFunc("/ws", s.handleWS)
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("sim: serve", "err", err)
		}
	}()
	go s.pump()
	if opts.Faults.EvictEvery > 0 || opts.Faults.SilenceEvery > 0 {
		s.wg.Add(1)
		go s.faultClock()
	}
	s.log.Info("sim: listening", "addr", s.Addr(), "rate", opts.Rate, "seed", opts.Seed)
	return s, nil
}

func withDefaults(o Options) (Options, error) {
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return o, fmt.Errorf("sim: invalid rate %v", o.Rate)
	}
	f := o.Faults
	if f.DropEvery < 0 || f.MalformedEvery < 0 || f.OversizeEvery < 0 || f.DuplicateEvery < 0 || f.EvictEvery < 0 || f.SilenceEvery < 0 {
		return o, errors.New("sim: negative fault interval")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.AccountID, defaultAccountID)
	def(&o.ClientID, defaultClientID)
	def(&o.ClientSecret, defaultClientSecret)
	def(&o.SubscriptionID, defaultSubscriptionID)
	if o.Rate == 0 {
		o.Rate = defaultRate
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = defaultTokenTTL
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = defaultHeartbeatTimeout
	}
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Close stops the activity, closes every link (close frame 1001) and the listener, and
// waits for all of the server's goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cur = nil
	links := make([]*link, 0, len(s.links))
	for l := range s.links {
		links = append(links, l)
	}
	s.mu.Unlock()
	close(s.done)
	err := s.http.Close()
	for _, l := range links {
		l.abort()
	}
	s.wg.Wait()
	return err
}

// Addr is the listening address, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// hostPort is Addr as a client can dial it: a wildcard listen address becomes loopback.
func (s *Server) hostPort() string {
	a, ok := s.ln.Addr().(*net.TCPAddr)
	if !ok || !a.IP.IsUnspecified() {
		return s.Addr()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(a.Port))
}

// WSURL is the subscription's endpoint URL as the Marketplace shows it (ZOOM_WS_URL).
func (s *Server) WSURL() string { return s.BaseWSURL() + "?subscriptionId=" + s.opts.SubscriptionID }

// BaseWSURL is the endpoint without the subscription (Zoom's sample appends it).
func (s *Server) BaseWSURL() string { return "ws://" + s.hostPort() + "/ws" }

// OAuthURL is the token endpoint.
func (s *Server) OAuthURL() string { return "http://" + s.hostPort() + "/oauth/token" }

// Options returns the options in effect: defaults filled in, current credentials.
func (s *Server) Options() Options {
	o := s.opts
	s.mu.Lock()
	o.ClientID, o.ClientSecret = s.clientID, s.clientSecret
	s.mu.Unlock()
	o.Rate = math.Float64frombits(s.rate.Load())
	return o
}

// Env returns shell lines that point zoomwatch (ZOOM_*) and Zoom's sample client
// (CLIENT_USERNAME, WS_URL, …) at this server.
func (s *Server) Env() []string {
	o := s.Options()
	vars := [][2]string{
		{"ZOOM_ACCOUNT_ID", o.AccountID},
		{"ZOOM_CLIENT_ID", o.ClientID},
		{"ZOOM_CLIENT_SECRET", o.ClientSecret},
		{"ZOOM_WS_URL", s.WSURL()},
		{"ZOOM_OAUTH_URL", s.OAuthURL()},
		{"#", "the same for Zoom's own sample client (zoom/websocket-js-sample), in its names:"},
		{"CLIENT_USERNAME", o.ClientID},
		{"CLIENT_PASSWORD", o.ClientSecret},
		{"SUBSCRIPTION_ID", o.SubscriptionID},
		{"WS_URL", s.BaseWSURL()},
		{"OAUTH_URL", s.OAuthURL()},
		{"WS_URL_DEV", s.BaseWSURL()},
		{"OAUTH_URL_DEV", s.OAuthURL()},
	}
	lines := make([]string, len(vars))
	for i, v := range vars {
		if v[0] == "#" {
			lines[i] = "# " + v[1]
			continue
		}
		lines[i] = "export " + v[0] + "=" + shellQuote(v[1])
	}
	return lines
}

func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:@%+=,", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// pump generates the activity and paces it by the virtual clock: an event goes out when real
// time since start reaches its virtual time since Options.Start. Writes block on a slow
// client, so the server falls behind (visible as lag) instead of dropping.
func (s *Server) pump() {
	defer s.wg.Done()
	g := NewGenerator(s.opts.Seed, s.opts.Start, s.opts.Rate)
	g.SetTimeScale(s.opts.TimeScale)
	g.account = s.opts.AccountID
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var n int                                    // events delivered by the pump, for the *Every faults
	recent := make([][]byte, 0, duplicateWindow) // delivered events that may be redelivered
	for {
		if r := math.Float64frombits(s.rate.Load()); r != g.rate {
			g.setRate(r)
		}
		raw, at := g.Next()
		if wait := time.Until(s.origin.Add(at.Sub(s.opts.Start))); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-s.done:
				return
			}
		} else {
			select {
			case <-s.done:
				return
			default:
			}
		}
		s.stats.generated.Add(1)
		s.mu.Lock()
		l := s.cur
		s.lastAt = at
		s.mu.Unlock()
		if l == nil || !l.sendEvent(raw) {
			s.stats.lost.Add(1)
			continue
		}
		if len(recent) == duplicateWindow {
			recent = append(recent[:0], recent[1:]...)
		}
		recent = append(recent, raw)
		n++
		f := s.opts.Faults
		if every(n, f.DuplicateEvery) {
			s.mu.Lock()
			dup := recent[s.faultRNG.IntN(len(recent))]
			s.mu.Unlock()
			if l.sendEvent(dup) {
				s.stats.duplicates.Add(1)
			}
		}
		if every(n, f.MalformedEvery) {
			s.sendMalformed(l)
		}
		if every(n, f.OversizeEvery) {
			s.sendOversize(l)
		}
		if every(n, f.DropEvery) {
			s.drop(l)
		}
	}
}

func every(n, period int) bool { return period > 0 && n%period == 0 }

// faultClock runs the time-based faults.
func (s *Server) faultClock() {
	defer s.wg.Done()
	tick := func(d time.Duration) (<-chan time.Time, func()) {
		if d <= 0 {
			return nil, func() {}
		}
		t := time.NewTicker(d)
		return t.C, t.Stop
	}
	evict, stopEvict := tick(s.opts.Faults.EvictEvery)
	defer stopEvict()
	silence, stopSilence := tick(s.opts.Faults.SilenceEvery)
	defer stopSilence()
	for {
		select {
		case <-evict:
			s.Evict()
		case <-silence:
			s.Silence()
		case <-s.done:
			return
		}
	}
}

func (s *Server) current() *link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// detach makes l no longer the subscription's link, so events stop going to it.
func (s *Server) detach(l *link) {
	s.mu.Lock()
	if s.cur == l {
		s.cur = nil
	}
	s.mu.Unlock()
}

// Evict acts as if another consumer took the subscription: the current link is closed
// cleanly (close frame 1000, empty reason) after everything already written to it.
func (s *Server) Evict() {
	if l := s.current(); l != nil {
		s.evict(l)
	}
}

func (s *Server) evict(l *link) {
	s.detach(l)
	if l.shutdown(websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), &s.stats.evictions) {
		s.log.Info("sim: link evicted", "link", l.id)
	}
}

// Drop ends the current link abruptly: no close frame, but everything already written
// reaches the client before the FIN.
func (s *Server) Drop() {
	if l := s.current(); l != nil {
		s.drop(l)
	}
}

func (s *Server) drop(l *link) {
	s.detach(l)
	if l.shutdown(nil, &s.stats.drops) {
		s.log.Info("sim: link dropped", "link", l.id)
	}
}

// Silence stops all writing on the current link (events, heartbeat replies, pongs) while
// it stays open and read; it stays silent until it is closed, and events meanwhile are lost.
// Heartbeats still keep it open; a newcomer or Evict closes it with a close frame as usual.
func (s *Server) Silence() {
	if l := s.current(); l != nil && l.silence() {
		s.stats.silences.Add(1)
		s.log.Info("sim: link silenced", "link", l.id)
	}
}

// SendMalformed sends one bad frame on the current link now; successive calls rotate through
// a frame that is not JSON, a message whose content is not JSON, an unknown module and a
// binary frame.
func (s *Server) SendMalformed() {
	if l := s.current(); l != nil {
		s.sendMalformed(l)
	}
}

func (s *Server) sendMalformed(l *link) {
	kind := (s.malformedSeq.Add(1) - 1) % 4
	typ, frame := websocket.TextMessage, []byte(nil)
	switch kind {
	case 0:
		frame = []byte("<html><body><h1>502 Bad Gateway</h1></body></html>")
	case 1:
		s.mu.Lock()
		ms := s.lastAt.UnixMilli()
		s.mu.Unlock()
		frame = fmt.Appendf(nil, `{"module":"message","success":true,"content":"{\"event\":\"meeting.started\",\"event_ts\":%d,\"payload\":{\"account_id\":","header":{}}`, ms)
	case 2:
		frame = []byte(`{"module":"notification","success":true,"content":"Scheduled maintenance at 02:00 UTC","header":{}}`)
	case 3:
		typ, frame = websocket.BinaryMessage, []byte("\x1f\x8b\x08\x00zoom\x00\xff\xfe")
	}
	if l.send(typ, frame) {
		s.stats.malformed.Add(1)
	}
}

// SendOversize sends one valid, real-shaped event of about 512 KB on the current link now.
func (s *Server) SendOversize() {
	if l := s.current(); l != nil {
		s.sendOversize(l)
	}
}

func (s *Server) sendOversize(l *link) {
	s.mu.Lock()
	at := s.lastAt
	if at.IsZero() {
		at = s.opts.Start
	}
	raw := oversizeEvent(s.faultRNG, s.opts.AccountID, at, oversizeBytes)
	s.mu.Unlock()
	if l.sendEvent(raw) {
		s.stats.oversize.Add(1)
	}
}

// SetRate changes the pace (events per second) from the next event on; the event already
// waiting for its time keeps it. Non-positive rates are ignored.
func (s *Server) SetRate(eventsPerSec float64) {
	if !(eventsPerSec > 0) || math.IsInf(eventsPerSec, 0) {
		return
	}
	s.rate.Store(math.Float64bits(eventsPerSec))
}

// ExpireTokens makes every token issued so far invalid. Open links keep running: like Zoom,
// the server checks the token when a link is built.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	clear(s.tokens)
	s.mu.Unlock()
}

// SetCredentials rotates the app's credentials: the old ones get invalid_client from now on.
// Tokens already issued stay valid, as on Zoom.
func (s *Server) SetCredentials(clientID, clientSecret string) {
	s.mu.Lock()
	s.clientID, s.clientSecret = clientID, clientSecret
	s.mu.Unlock()
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{
		TokensIssued: c.tokensIssued.Load(), TokenRejects: c.tokenRejects.Load(),
		Connections: c.connections.Load(), ConnectRejects: c.connectRejects.Load(),
		Evictions: c.evictions.Load(), Drops: c.drops.Load(), Silences: c.silences.Load(),
		HeartbeatsReceived: c.heartbeats.Load(),
		Delivered:          c.delivered.Load(), Duplicates: c.duplicates.Load(),
		Malformed: c.malformed.Load(), Oversize: c.oversize.Load(),
		Generated: c.generated.Load(), Lost: c.lost.Load(),
	}
	if s.current() != nil {
		st.Active = 1
	}
	return st
}
