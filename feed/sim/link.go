package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"zoomwatch/internal/jsonw"
)

const (
	// lingerTimeout bounds how long a link the server is closing waits for the client to close
	// its side: long enough for the client to read what was written, short enough for tests.
	lingerTimeout = 3 * time.Second
	// writeTimeout ends a link whose client has read nothing for this long. A merely slow
	// client keeps reading, so the server falls behind rather than dropping it.
	writeTimeout    = 30 * time.Second
	controlTimeout  = time.Second
	clientReadLimit = 64 << 10
)

var heartbeatReply = []byte(`{"module":"heartbeat","success":true,"content":"live","header":{}}`)

func buildConnectionFrame(success bool, content string) []byte {
	b := strconv.AppendBool([]byte(`{"module":"build_connection","success":`), success)
	b = jsonw.StrField(b, "content", content)
	return append(b, `,"header":{}}`...)
}

// link is one client's WebSocket connection.
type link struct {
	s    *Server
	id   uint64
	conn *websocket.Conn

	mu      sync.Mutex // serialises writes, so frames go out whole and in order; guards below
	silent  bool       // Silence: write nothing more
	closing bool       // the server or the client is closing: write nothing more
	buf     []byte     // message frames are built here
}

// handleWS serves GET /ws?subscriptionId=…&access_token=…: build_connection, then events
// until the link ends.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "simulator closed", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("sim: upgrade failed", "err", err) // Upgrade has answered with an HTTP error
		return
	}
	l := &link{s: s, id: s.linkSeq.Add(1), conn: conn}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.links[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.links, l)
		if s.cur == l {
			s.cur = nil
		}
		s.mu.Unlock()
	}()

	q := r.URL.Query()
	if reason := s.authorize(q.Get("subscriptionId"), q.Get("access_token")); reason != "" {
		s.stats.connectRejects.Add(1)
		s.log.Info("sim: build_connection refused", "link", l.id, "reason", reason)
		l.send(websocket.TextMessage, buildConnectionFrame(false, reason))
		l.shutdown(nil, nil)
	} else {
		// Become the subscription's link before saying so, holding the link's write lock so
		// that build_connection still goes out first: a fault injected the moment the client
		// sees "success" then hits this link, as it would at Zoom.
		l.mu.Lock()
		s.mu.Lock()
		old := s.cur
		s.cur = l
		s.mu.Unlock()
		ok := l.writeLocked(websocket.TextMessage, buildConnectionFrame(true, "ok"))
		l.mu.Unlock()
		if ok {
			s.stats.connections.Add(1)
			s.log.Info("sim: link up", "link", l.id, "remote", r.RemoteAddr)
		}
		if old != nil { // one link per subscription: the newcomer wins
			s.evict(old)
		}
	}
	l.serve()
}

// authorize checks a build_connection request; it returns the failure content, or "".
func (s *Server) authorize(subscriptionID, token string) string {
	if token == "" {
		return "token is empty"
	}
	s.mu.Lock()
	expiry, ok := s.tokens[token]
	s.mu.Unlock()
	if !ok || !time.Now().Before(expiry) {
		return "Invalid Token"
	}
	if subscriptionID != s.opts.SubscriptionID {
		return "Invalid subscriptionId"
	}
	return ""
}

// serve reads the client's frames until the link ends: heartbeats are answered and keep the
// link alive; anything else is ignored, as Zoom does.
func (l *link) serve() {
	l.conn.SetReadLimit(clientReadLimit)
	// Zoom's keep-alive is the JSON heartbeat, but some clients send WebSocket pings:
	// answer them and let them keep the link alive too.
	l.conn.SetPingHandler(func(data string) error {
		l.alive(websocket.PongMessage, []byte(data))
		return nil
	})
	l.alive(0, nil)
	var err error
	for {
		var typ int
		var data []byte
		if typ, data, err = l.conn.ReadMessage(); err != nil {
			break
		}
		if typ == websocket.TextMessage && isHeartbeat(data) {
			l.s.stats.heartbeats.Add(1)
			l.alive(websocket.TextMessage, heartbeatReply)
		} else {
			l.s.log.Debug("sim: ignored client frame", "link", l.id, "type", typ, "len", len(data))
		}
	}
	l.finish(err)
}

// isHeartbeat accepts Zoom's {"module":"heartbeat"} and the bare text "heartbeat" that some
// samples send.
func isHeartbeat(data []byte) bool {
	data = bytes.TrimSpace(data)
	if string(data) == "heartbeat" {
		return true
	}
	var f struct {
		Module string `json:"module"`
	}
	return json.Unmarshal(data, &f) == nil && f.Module == "heartbeat"
}

// alive restarts the heartbeat timeout and, unless the link is silent, replies with a frame
// of the given type (none when typ is 0).
func (l *link) alive(typ int, reply []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return
	}
	l.conn.SetReadDeadline(time.Now().Add(l.s.opts.HeartbeatTimeout))
	switch typ {
	case websocket.PongMessage:
		if !l.silent {
			l.conn.WriteControl(websocket.PongMessage, reply, time.Now().Add(controlTimeout))
		}
	case websocket.TextMessage:
		l.writeLocked(typ, reply)
	}
}

// finish ends the link once reading stopped. A heartbeat timeout is announced with close
// 1001 "heartbeat timeout" before the connection is closed.
func (l *link) finish(readErr error) {
	l.mu.Lock()
	wasClosing := l.closing
	l.closing = true
	var ne net.Error
	timedOut := !wasClosing && errors.As(readErr, &ne) && ne.Timeout()
	if timedOut {
		l.s.detach(l)
		l.s.log.Info("sim: no heartbeat, closing link", "link", l.id, "timeout", l.s.opts.HeartbeatTimeout)
		l.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "heartbeat timeout"), time.Now().Add(controlTimeout))
		closeWrite(l.conn)
	}
	l.mu.Unlock()
	if timedOut {
		// gorilla cannot read after a timeout; drain the socket directly so that the client's
		// close reply does not meet a closed socket, whose RST could destroy our close frame.
		nc := l.conn.NetConn()
		nc.SetReadDeadline(time.Now().Add(lingerTimeout))
		io.Copy(io.Discard, nc)
	}
	l.conn.Close()
	l.s.log.Debug("sim: link closed", "link", l.id, "err", readErr)
}

// send writes one frame unless the link is silent or closing; it reports whether it did.
func (l *link) send(typ int, frame []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeLocked(typ, frame)
}

func (l *link) writeLocked(typ int, frame []byte) bool {
	if l.silent || l.closing {
		return false
	}
	l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := l.conn.WriteMessage(typ, frame); err != nil {
		// The client is gone or stuck: close the socket, which also ends serve's reading.
		l.s.log.Info("sim: write failed, closing link", "link", l.id, "err", err)
		l.closing = true
		l.s.detach(l)
		l.conn.NetConn().Close()
		return false
	}
	return true
}

// sendEvent writes an event as a message frame and reports the delivery (Stats.Delivered,
// OnDeliver) while still holding the write lock, so that deliveries are reported in the
// order the client reads them.
func (l *link) sendEvent(raw []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.silent || l.closing {
		return false
	}
	b := append(l.buf[:0], `{"module":"message","success":true,"content":`...)
	b = jsonw.JSONText(b, raw)
	if l.s.opts.StampFrames {
		b = append(b, `,"header":{"sim_sent_ns":`...)
		b = strconv.AppendInt(b, time.Now().UnixNano(), 10)
		b = append(b, "}}"...)
	} else {
		b = append(b, `,"header":{}}`...)
	}
	l.buf = b
	if !l.writeLocked(websocket.TextMessage, b) {
		return false
	}
	l.s.stats.delivered.Add(1)
	if f := l.s.opts.OnDeliver; f != nil {
		f(raw)
	}
	return true
}

func (l *link) silence() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.silent || l.closing {
		return false
	}
	l.silent = true
	return true
}

// shutdown closes the link from the server side: it writes closeFrame (none for an abrupt
// drop) after every frame already written, sends FIN, and leaves serve reading until the
// client closes or lingerTimeout passes. Nothing written is lost: the client reads it all
// before it sees the end. If the link was still open, count is incremented before the client
// can see the end, and shutdown reports true.
func (l *link) shutdown(closeFrame []byte, count *atomic.Uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return false
	}
	l.closing = true
	if count != nil {
		count.Add(1)
	}
	if closeFrame != nil {
		l.conn.WriteControl(websocket.CloseMessage, closeFrame, time.Now().Add(controlTimeout))
	}
	closeWrite(l.conn)
	l.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	return true
}

// abort closes the link at once (server shutdown), with a close frame if it can be written
// promptly.
func (l *link) abort() {
	l.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseGoingAway, "simulator shutting down"), time.Now().Add(100*time.Millisecond))
	l.conn.NetConn().Close()
}

func closeWrite(c *websocket.Conn) {
	if tcp, ok := c.NetConn().(*net.TCPConn); ok {
		tcp.CloseWrite()
	}
}
