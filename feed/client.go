package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"zoomwatch/auth"
)

// TokenSource hands out OAuth access tokens (auth.Source).
type TokenSource interface {
	Token(ctx context.Context) (auth.Token, error)
	// Invalidate drops the cached token: the WebSocket server refused it.
	Invalidate()
}

// Config configures a Client.
type Config struct {
	// URL is the subscription endpoint as the Marketplace shows it
	// (wss://ws.zoom.us/ws?subscriptionId=…); the client appends the access token.
	URL       string
	Tokens    TokenSource
	Heartbeat time.Duration     // default 30 s; no frame for about 2 periods = dead link
	Logger    *slog.Logger      // nil = discard
	Dialer    *websocket.Dialer // nil = a copy of websocket.DefaultDialer
	ReadLimit int64             // default 64 MiB: frames of hundreds of KB are normal
	Backoff   Backoff           // zero = defaults
	// Now stamps items and transitions (nil = time.Now). Deadlines and waits always run on
	// the real clock.
	Now func() time.Time
}

const (
	defaultHeartbeat = 30 * time.Second
	defaultReadLimit = 64 << 20
	// writeWait bounds a heartbeat write: a peer that takes no data for this long is gone.
	writeWait = 10 * time.Second
	// closeWait bounds the goodbye on shutdown: writing our close frame, then waiting for
	// the server's echo before closing the socket.
	closeWait = time.Second
	lagWindow = 256 // events in the lag median and maximum
)

var heartbeatFrame = []byte(`{"module":"heartbeat"}`)

// Client holds one subscription's connection, reconnecting forever.
type Client struct {
	cfg      Config
	log      *slog.Logger
	dialer   *websocket.Dialer
	liveness time.Duration // no frame for this long = dead link

	mu    sync.Mutex
	stats Stats
	lags  [lagWindow]time.Duration // ring of recent lags
	nLags int                      // how many of lags are filled
	lagAt int                      // where the next lag goes
}

// New returns a client; Run starts it.
func New(cfg Config) *Client {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = defaultHeartbeat
	}
	if cfg.ReadLimit <= 0 {
		cfg.ReadLimit = defaultReadLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	d := cfg.Dialer
	if d == nil {
		dd := *websocket.DefaultDialer // keeps its proxy
		dd.HandshakeTimeout = handshakeTimeout
		d = &dd
	}
	c := &Client{
		cfg:    cfg,
		log:    cfg.Logger,
		dialer: d,
		// Heartbeats go out every period and each is answered, so a healthy link is never
		// quiet for much more than one period. About two, then: the read deadline fires
		// after 7/8 to 8/8 of this (frameReader), 1.97 to 2.25 periods.
		liveness: 2*cfg.Heartbeat + cfg.Heartbeat/4,
	}
	c.stats.Heartbeat = cfg.Heartbeat
	return c
}

// Stats returns the current counters. It is safe to call from any goroutine at any time.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	s := c.stats
	var lags [lagWindow]time.Duration
	recent := lags[:c.nLags]
	copy(recent, c.lags[:c.nLags])
	c.mu.Unlock()
	if len(recent) > 0 {
		slices.Sort(recent)
		s.LagMedian, s.LagMax, s.LagSamples = recent[len(recent)/2], recent[len(recent)-1], len(recent)
	}
	return s
}

// linkEnd is how one connection attempt ended.
type linkEnd struct {
	kind    endKind
	reason  string
	err     error         // the rejection, for endRejected
	liveFor time.Duration // 0 if the link never went live
	quiet   time.Duration // how long nothing had arrived, when the link ended by silence
	// setting names what to check when links keep failing this way before any went live
	// (a typo in a host never connects, and retrying says nothing about it).
	setting string
}

// SubscriptionError says Zoom refused the WebSocket URL's subscription (build_connection
// failed naming it): the URL is wrong, or the subscription was deleted.
type SubscriptionError struct{ Content string }

func (e *SubscriptionError) Error() string {
	return "Zoom refused the subscription: " + e.Content
}

type endKind int

const (
	endFailed   endKind = iota // back off (Min…Max) and try again
	endReplaced                // Zoom closed a live link cleanly: another consumer took over
	endRejected                // the token endpoint refused the credentials, or Zoom the subscription
	endStopped                 // ctx was cancelled
)

// Run connects and reconnects until ctx is cancelled, sending every event, anomaly and
// transition on out in arrival order. Sends block: the caller must drain out until Run
// returns. Run returns nil once stopped (the close frame sent and a final "stopped"
// transition emitted), or the token source's *auth.RejectedError (or a *SubscriptionError),
// after an "auth-failed" transition, if the credentials (or the subscription) are refused
// before any link of this Run went live.
func (c *Client) Run(ctx context.Context, out chan<- Item) error {
	policy := retryPolicy{b: c.cfg.Backoff}
	everLive := false
	attempt := 0 // since the link was last live
	for ctx.Err() == nil {
		attempt++
		c.emit(out, Transition{State: StateConnecting, Attempt: attempt})
		end := c.attempt(ctx, out, attempt, everLive)

		var state State
		switch end.kind {
		case endStopped:
			c.emitStopped(ctx, out)
			return nil
		case endRejected:
			if !everLive {
				c.emit(out, Transition{State: StateAuthFailed, Reason: end.reason, Attempt: attempt})
				return end.err
			}
			state = StateAuthFailed
		case endReplaced:
			state = StateReplaced
		default:
			state = StateBackoff
		}
		wait := policy.next(end.kind, end.liveFor)
		reason := end.reason
		if end.kind == endReplaced && policy.replaced > 1 {
			// Two consumers of one subscription take it from each other: the waits only
			// slow the fight down, and only the user can end it.
			reason = fmt.Sprintf("%s (%d times in a row: stop the other consumer; while it holds the subscription, this one receives nothing)", reason, policy.replaced)
		}
		if !everLive && attempt >= 3 && end.setting != "" {
			reason += " (never connected since start: check " + end.setting + ")"
		}
		t := Transition{State: state, Reason: reason, Attempt: attempt, NextRetry: c.cfg.Now().Add(wait)}
		if end.liveFor > 0 && end.quiet > 0 {
			t.SilentSince = c.cfg.Now().Add(-end.quiet)
		}
		c.emit(out, t)
		if end.liveFor > 0 {
			everLive, attempt = true, 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
	}
	c.emitStopped(ctx, out)
	return nil
}

func (c *Client) emitStopped(ctx context.Context, out chan<- Item) {
	reason := "" // the state says it
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
		reason = cause.Error()
		// signal.NotifyContext's wording, "terminated signal received", said plainly.
		if name, ok := strings.CutSuffix(reason, " signal received"); ok {
			reason = map[string]string{"interrupt": "interrupted (SIGINT)", "terminated": "terminated (SIGTERM)",
				"hangup": "the terminal closed (SIGHUP)"}[name]
			if reason == "" {
				reason = "signal: " + name
			}
		}
	}
	c.emit(out, Transition{State: StateStopped, Reason: reason})
}

// emit records a transition in the stats and the log, and hands it out.
func (c *Client) emit(out chan<- Item, t Transition) {
	t.At = c.cfg.Now()
	c.mu.Lock()
	c.stats.Current = t
	if t.State != StateLive {
		c.stats.LiveSince = time.Time{}
	}
	c.mu.Unlock()
	level := slog.LevelInfo
	if t.State == StateBackoff || t.State == StateReplaced || t.State == StateAuthFailed {
		level = slog.LevelWarn
	}
	c.log.Log(context.Background(), level, "feed: "+string(t.State), "reason", t.Reason, "attempt", t.Attempt, "next_retry", t.NextRetry)
	out <- Item{Received: t.At, Transition: &t}
}

// attempt is one connection: a token, the dial, build_connection, then frames until the
// link ends.
func (c *Client) attempt(ctx context.Context, out chan<- Item, attempt int, everLive bool) linkEnd {
	tok, err := c.cfg.Tokens.Token(ctx)
	if err != nil {
		var rej *auth.RejectedError
		switch {
		case ctx.Err() != nil:
			return linkEnd{kind: endStopped}
		case errors.As(err, &rej):
			return linkEnd{kind: endRejected, reason: err.Error(), err: err}
		}
		return linkEnd{reason: err.Error(), setting: "ZOOM_OAUTH_URL"} // auth's errors never carry the secret
	}
	c.mu.Lock()
	c.stats.TokenExpiry = tok.Expiry
	c.mu.Unlock()

	conn, resp, err := c.dial(ctx, c.tokenURL(tok.Value))
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return linkEnd{kind: endStopped}
		case resp == nil:
			return linkEnd{reason: "connect: " + redact(err.Error(), tok.Value), setting: "ZOOM_WS_URL"}
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			c.cfg.Tokens.Invalidate()
			return linkEnd{reason: fmt.Sprintf("WebSocket handshake refused: HTTP %d %s (token refused: fetching a new one)", resp.StatusCode, http.StatusText(resp.StatusCode))}
		}
		return linkEnd{reason: fmt.Sprintf("WebSocket handshake refused: HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)), setting: "ZOOM_WS_URL"}
	}
	defer conn.Close()
	conn.SetReadLimit(c.cfg.ReadLimit)
	l := &link{conn: conn, live: make(chan struct{}), readerDone: make(chan struct{}), writerDone: make(chan struct{})}
	go c.write(ctx, l)
	defer func() {
		close(l.readerDone)
		<-l.writerDone
	}()
	end := c.read(ctx, l, out, attempt, everLive)
	if ctx.Err() != nil {
		// Whatever the read saw last, the link ended because we are stopping.
		end.kind, end.reason = endStopped, ""
	}
	return end
}

// handshakeTimeout bounds a WebSocket handshake (gorilla's default is 45 s): a server that
// accepts and never answers is then reported, and retried, within seconds.
const handshakeTimeout = 15 * time.Second

// dial opens the WebSocket. gorilla/websocket watches the context only while it connects,
// not during the handshake after it: a server that accepts and never answers held a stop
// (Ctrl-C, q) for the whole handshake timeout. A second after ctx ends, the connection's
// deadline passes and a handshake still waiting fails; one answered in that second goes on
// to close the link cleanly, as Zoom should see.
func (c *Client) dial(ctx context.Context, u string) (*websocket.Conn, *http.Response, error) {
	d := *c.dialer
	netDial := d.NetDialContext
	if netDial == nil {
		netDial = (&net.Dialer{}).DialContext
	}
	var mu sync.Mutex
	var conns []net.Conn
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := netDial(ctx, network, addr)
		if err == nil {
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
		return conn, err
	}
	var abort *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		abort = time.AfterFunc(time.Second, func() {
			mu.Lock()
			defer mu.Unlock()
			for _, conn := range conns {
				conn.Close()
			}
		})
	})
	conn, resp, err := d.DialContext(ctx, u, nil)
	stop()
	mu.Lock()
	if abort != nil {
		abort.Stop()
	}
	conns = nil // answered: the link is the caller's now
	mu.Unlock()
	return conn, resp, err
}

// tokenURL appends the token to the subscription URL, as Zoom's docs and sample do: in the
// query string, which is the only place Zoom looks.
func (c *Client) tokenURL(token string) string {
	sep := "&"
	if !strings.Contains(c.cfg.URL, "?") {
		sep = "?"
	}
	return c.cfg.URL + sep + "access_token=" + url.QueryEscape(token)
}

// redact keeps a token out of error text: errors about the dial may quote the URL.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	s = strings.ReplaceAll(s, url.QueryEscape(token), "[token]")
	return strings.ReplaceAll(s, token, "[token]")
}

// link is one WebSocket connection, shared by its reader (the Run goroutine) and its writer.
type link struct {
	conn       *websocket.Conn
	live       chan struct{} // closed by the reader after build_connection: heartbeats start
	readerDone chan struct{} // closed when the reader has finished with the link
	writerDone chan struct{}
	writeErr   atomic.Pointer[string] // why the writer gave up, for the reader's reason
}

// write is the link's one writer: heartbeats once live, and the close frame when ctx ends.
func (c *Client) write(ctx context.Context, l *link) {
	defer close(l.writerDone)
	live := l.live
	var tick <-chan time.Time
	for {
		select {
		case <-l.readerDone:
			return
		case <-ctx.Done():
			l.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeWait))
			// The server echoes the close, which ends the reader; a server that does not
			// gets its socket closed.
			t := time.NewTimer(closeWait)
			select {
			case <-l.readerDone:
			case <-t.C:
				l.conn.Close()
			}
			t.Stop()
			return
		case <-live:
			live = nil
			ticker := time.NewTicker(c.cfg.Heartbeat)
			defer ticker.Stop()
			tick = ticker.C
			if !c.heartbeat(l) {
				return
			}
		case <-tick:
			if !c.heartbeat(l) {
				return
			}
		}
	}
}

// heartbeat sends one; on failure it closes the socket, since the reader would otherwise
// notice the broken link only at its deadline. It is counted before it goes out, so that
// Stats never shows more answers than heartbeats.
func (c *Client) heartbeat(l *link) bool {
	c.addHeartbeatsSent(1)
	l.conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := l.conn.WriteMessage(websocket.TextMessage, heartbeatFrame); err != nil {
		c.addHeartbeatsSent(-1)
		if errors.Is(err, websocket.ErrCloseSent) {
			// The reader answered Zoom's close frame (the writer sends its own only as it
			// stops): the link is ending, and the reader has the reason.
			return false
		}
		reason := "send heartbeat: " + err.Error()
		l.writeErr.Store(&reason)
		l.conn.Close()
		return false
	}
	return true
}

func (c *Client) addHeartbeatsSent(n int) {
	c.mu.Lock()
	c.stats.HeartbeatsSent += uint64(n)
	c.mu.Unlock()
}

// frameReader reads whole messages into one buffer reused for the link's life: DecodeFrame
// and NewAnomaly copy whatever they keep.
type frameReader struct {
	conn     *websocket.Conn
	buf      bytes.Buffer
	liveness time.Duration
	armedAt  time.Time // when the read deadline was last set
	waitFrom time.Time // when the last read began: the link has been quiet since
}

const keepBuffer = 1 << 20 // a buffer grown past this by a huge frame is not kept

// next reads the next message. The read deadline is moved only when an eighth of the
// liveness window has passed since it was last set, not for every frame: a silent link is
// still noticed after 7/8 to 8/8 of the window, and at tens of thousands of frames a second
// the timer is left alone. Bytes of a frame still arriving count as signs of life, so that a
// huge frame on a slow link is read rather than cut off, and then never delivered again.
func (r *frameReader) next() (typ int, data []byte, err error) {
	if r.buf.Cap() > keepBuffer {
		r.buf = bytes.Buffer{}
	}
	r.buf.Reset()
	r.waitFrom = time.Now()
	r.rearm(r.waitFrom)
	typ, rd, err := r.conn.NextReader()
	if err == nil {
		_, err = r.buf.ReadFrom(progressReader{rd, r})
	}
	return typ, r.buf.Bytes(), err
}

func (r *frameReader) rearm(now time.Time) {
	if now.Sub(r.armedAt) > r.liveness/8 {
		r.conn.SetReadDeadline(now.Add(r.liveness))
		r.armedAt = now
	}
}

// progressReader moves the read deadline as a frame's bytes arrive.
type progressReader struct {
	rd io.Reader
	fr *frameReader
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.rd.Read(b)
	if n > 0 {
		now := time.Now()
		p.fr.waitFrom = now
		p.fr.rearm(now)
	}
	return n, err
}

// read is the link's one reader: build_connection first, then frames until the link ends.
func (c *Client) read(ctx context.Context, l *link, out chan<- Item, attempt int, everLive bool) linkEnd {
	fr := &frameReader{conn: l.conn, liveness: c.liveness}
	typ, data, err := fr.next()
	if err != nil {
		return c.readFailed(l, err, time.Since(fr.waitFrom), false, "waiting for build_connection: ")
	}
	now := c.cfg.Now()
	f, ferr := DecodeFrame(data)
	if typ != websocket.TextMessage {
		ferr = errBinary
	} else if ferr == nil && f.Module != ModuleBuildConnection {
		ferr = fmt.Errorf("module %q before build_connection", Sanitize(f.Module))
	}
	if ferr != nil {
		// Kept, as every bad frame is; without build_connection the link is no good.
		c.anomaly(out, now, AnomalyBadFrame, ferr, data)
		return linkEnd{reason: "the first frame was not build_connection: " + ferr.Error()}
	}
	c.countFrame(now)
	switch {
	case !f.Success:
		content := describeContent(f.Content)
		reason := "build_connection failed: " + content
		if strings.Contains(strings.ToLower(content), "subscription") {
			// The subscription in the URL is not one Zoom knows: no retry fixes that.
			return linkEnd{kind: endRejected, reason: reason, err: &SubscriptionError{Content: content}}
		}
		// Zoom's other refusals are all about the token ("token is empty", "Invalid Token",
		// "Token is invalid"), worded differently over time: always fetch a new one.
		c.cfg.Tokens.Invalidate()
		return linkEnd{reason: reason}
	case ctx.Err() != nil:
		return linkEnd{kind: endStopped}
	}

	liveAt := time.Now()
	close(l.live)
	c.mu.Lock()
	c.stats.LiveSince = now
	if everLive {
		c.stats.Reconnects++
	}
	c.mu.Unlock()
	c.emit(out, Transition{State: StateLive, Attempt: attempt})

	// Each frame is counted once, with what it turned out to be: one lock per frame.
	for {
		typ, data, err := fr.next()
		if err != nil {
			end := c.readFailed(l, err, time.Since(fr.waitFrom), true, "")
			end.liveFor = max(time.Since(liveAt), time.Nanosecond)
			return end
		}
		now := c.cfg.Now()
		if typ != websocket.TextMessage {
			c.anomaly(out, now, AnomalyBadFrame, errBinary, data)
			continue
		}
		f, err := DecodeFrame(data)
		switch {
		case err != nil:
			c.anomaly(out, now, AnomalyBadFrame, err, data)
		case f.Failed:
			c.countFrame(now)
			content := describeContent(f.Content)
			if strings.Contains(strings.ToLower(content), "token") {
				c.cfg.Tokens.Invalidate()
			}
			return linkEnd{reason: fmt.Sprintf("%s failed: %s", Sanitize(f.Module), content), liveFor: max(time.Since(liveAt), time.Nanosecond)}
		case f.Module == ModuleMessage:
			ev, err := DecodeEvent(f.Content)
			if err == nil {
				err = ev.CheckNames()
			}
			if err != nil {
				c.anomaly(out, now, AnomalyBadEvent, err, data)
				continue
			}
			c.countEvent(now, ev)
			out <- Item{Received: now, Event: ev, SentAt: SentAt(f.Header)}
		case f.Module == ModuleHeartbeat:
			c.mu.Lock()
			c.stats.Frames++
			c.stats.LastFrame = now
			c.stats.HeartbeatsAcked++
			c.stats.LastHeartbeatAck = now
			c.mu.Unlock()
		case f.Module == ModuleBuildConnection:
			c.countFrame(now) // a repeated success changes nothing
		default:
			c.anomaly(out, now, AnomalyUnknownModule, fmt.Errorf("unknown module %q", Sanitize(f.Module)), data)
		}
	}
}

// readFailed describes why reading ended. A clean close of a live link that sent no error
// frame (those end the link before) is how Zoom hands the subscription to another consumer;
// it is taken as such even right after build_connection, when two consumers connect at
// nearly the same time and would otherwise flap fastest.
func (c *Client) readFailed(l *link, err error, quiet time.Duration, live bool, prefix string) linkEnd {
	if reason := l.writeErr.Load(); reason != nil {
		return linkEnd{reason: prefix + *reason}
	}
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure:
		// gorilla's name for a TCP end without a close frame.
		return linkEnd{reason: prefix + "read: unexpected EOF (connection dropped)"}
	case errors.As(err, &ce) && live && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway) &&
		!closeNamesOtherCause(ce.Text):
		reason := "closed cleanly by Zoom: another client probably connected to this subscription"
		if ce.Code != websocket.CloseNormalClosure || ce.Text != "" {
			reason += " (" + describeClose(ce) + ")"
		}
		return linkEnd{kind: endReplaced, reason: reason}
	case ce != nil:
		return linkEnd{reason: prefix + "closed by Zoom: " + describeClose(ce)}
	case errors.As(err, &ne) && ne.Timeout():
		return linkEnd{reason: fmt.Sprintf("%sno frame for %v (heartbeat %v): link silent", prefix, roundDuration(quiet), c.cfg.Heartbeat), quiet: quiet}
	case errors.Is(err, websocket.ErrReadLimit):
		return linkEnd{reason: fmt.Sprintf("%sa frame exceeded the read limit of %d bytes", prefix, c.cfg.ReadLimit)}
	}
	return linkEnd{reason: prefix + "read: " + err.Error()}
}

// closeNamesOtherCause reports whether a clean close's text gives a cause other than another
// consumer taking over ("heartbeat timeout"): that is a failure to retry soon, not a reason
// to step back for minutes. Zoom's texts are undocumented, so only a text that plainly names
// another cause counts: any other is taken as a takeover, whose long waits keep two
// consumers from evicting each other every second.
func closeNamesOtherCause(text string) bool {
	t := strings.ToLower(text)
	for _, w := range []string{"heartbeat", "timeout", "timed out", "idle", "shutdown", "shutting down", "restart", "maintenance", "token", "expired"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

// roundDuration keeps durations in reasons readable: 1m7s, 2.3s, 225ms.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// describeClose names a close frame: "close 1001 heartbeat timeout". Zoom's codes are
// undocumented, so the number and text are all there is to go on.
func describeClose(ce *websocket.CloseError) string {
	return strings.TrimSpace(fmt.Sprintf("close %d %s", ce.Code, Sanitize(ce.Text)))
}

// describeContent makes a frame's content fit for a reason line.
func describeContent(content []byte) string {
	const limit = 200
	s := Sanitize(string(content))
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	if s == "" {
		return "(no content)"
	}
	return s
}

// SentAt reads the simulator's send stamp from a frame header, {"sim_sent_ns":<nanos>}.
// Zoom's headers are {}, which the length check dismisses at no cost.
func SentAt(header []byte) time.Time {
	const key = `"sim_sent_ns":`
	if len(header) < len(key)+3 {
		return time.Time{}
	}
	i := bytes.Index(header, []byte(key))
	if i < 0 {
		return time.Time{}
	}
	digits := header[i+len(key):]
	n := 0
	for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	ns, err := strconv.ParseInt(string(digits[:n]), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func (c *Client) countFrame(now time.Time) {
	c.mu.Lock()
	c.stats.Frames++
	c.stats.LastFrame = now
	c.mu.Unlock()
}

func (c *Client) countEvent(now time.Time, ev *Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Frames++
	c.stats.LastFrame = now
	c.stats.Events++
	c.stats.LastEvent = now
	if ev.TS == 0 {
		return
	}
	lag := now.Sub(ev.Time())
	c.stats.LagLast = lag
	c.lags[c.lagAt] = lag
	c.lagAt = (c.lagAt + 1) % lagWindow
	c.nLags = min(c.nLags+1, lagWindow)
}

// anomaly counts, logs and hands out a frame that is not a usable event.
func (c *Client) anomaly(out chan<- Item, now time.Time, kind string, err error, data []byte) {
	c.mu.Lock()
	c.stats.Frames++
	c.stats.LastFrame = now
	c.stats.BadFrames++
	c.mu.Unlock()
	c.log.Warn("feed: anomalous frame kept", "kind", kind, "err", err, "bytes", len(data))
	out <- Item{Received: now, Anomaly: NewAnomaly(kind, err, data)}
}

// errBinary describes a binary frame: Zoom sends only text. Not its size: the anomaly holds
// that, and the connection log and tail show it beside this text.
var errBinary = errors.New("binary frame")
