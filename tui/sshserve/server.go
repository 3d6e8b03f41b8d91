// Package sshserve serves zoomwatch over SSH. Zoom allows one connection per subscription and
// bbolt one process per database, so the process that holds both serves everyone else: each
// SSH session with a terminal gets its own live monitor on the shared store; sessions without
// one run commands (export, status, help).
//
// Sessions only read. The one thing the server writes is the login and logout record of each
// monitor and export in the connection log (status and help, which health checks run every
// minute, go only to the server's log). A session whose key leaves the authorized keys file
// is ended. A session that ends gives back everything it held: its store subscription, its
// Bubble Tea program and its goroutines.
package sshserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"zoomwatch/feed"
	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
	"zoomwatch/tui"
)

// Defaults for the zero values of Config.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxSessions = 32
)

// handshakeTimeout bounds an unauthenticated connection, which counts towards no limit.
const handshakeTimeout = 30 * time.Second

// keyCheckEvery is how often an open session's key is checked against the authorized keys
// file, so that removing a key ends its sessions too (at the second check that misses it),
// not only its next logins.
var keyCheckEvery = 2 * time.Second // a test shortens it

// closeGrace is how long a session the server ended may take to finish (a monitor restores
// the client's terminal) before its channel is closed under it.
const closeGrace = 5 * time.Second

// Config configures a Server.
type Config struct {
	Addr           string // informational until Serve is given a listener
	AuthorizedKeys string // path; required
	HostKey        string // path; generated (ed25519, 0600) if missing
	// IdleTimeout closes a session after this long without activity: input for a monitor
	// (whose screen changes every second anyway), input or output for a command; 0 is
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxSessions bounds the sessions open at once (monitors and exports: status and help
	// are answered even then); beyond it a new session is told "too many viewers" and
	// closed. 0 is DefaultMaxSessions.
	MaxSessions int
	Store       *store.Store
	Status      func() feed.Stats // nil if the process has no feed
	Account     string
	Mode        tui.Mode // tui.ModeLive or tui.ModeDemo
	Keys        map[string][]string
	Logger      *slog.Logger
}

// Server is an SSH server for one store.
type Server struct {
	cfg         Config
	log         *slog.Logger
	keys        *authorizedKeys
	fingerprint string
	ssh         *ssh.Server
	// viewer runs a session's monitor inside wish's bubbletea middleware, which feeds it
	// window changes and quits it when the session's context ends.
	viewer ssh.Handler

	mu       sync.Mutex
	sessions map[*session]struct{}
	closing  bool
	ln       net.Listener
	wg       sync.WaitGroup // one per open session
}

// Why a session's context ended early, for the message its client sees.
var (
	errIdle     = errors.New("idle")
	errShutdown = errors.New("the server is shutting down")
	errRevoked  = errors.New("this key was removed from the authorized keys file")
	errGone     = errors.New("the client closed its input")
)

// New checks the configuration (authorized keys, host key, key remaps) and prepares the
// server; nothing listens until Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("sshserve: no store")
	}
	if cfg.AuthorizedKeys == "" {
		return nil, errors.New("serving over SSH needs an authorized keys file: the public keys of the people allowed to watch")
	}
	if cfg.HostKey == "" {
		return nil, errors.New("serving over SSH needs a host key file (it is created if missing)")
	}
	if _, err := tui.NewKeyMap(cfg.Keys); err != nil {
		return nil, fmt.Errorf("key remaps: %w", err)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	keys, err := loadAuthorizedKeys(cfg.AuthorizedKeys, cfg.Logger)
	if err != nil {
		return nil, err
	}
	signer, err := loadHostKey(cfg.HostKey)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, keys: keys,
		fingerprint: gossh.FingerprintSHA256(signer.PublicKey()),
		sessions:    map[*session]struct{}{},
	}
	s.viewer = bm.MiddlewareWithProgramHandler(s.program)(func(ssh.Session) {})
	s.ssh, err = wish.NewServer(
		func(srv *ssh.Server) error {
			srv.AddHostKey(signer)
			srv.HandshakeTimeout = handshakeTimeout
			// Refused keys are logged by authorize; this names the rest: a client that
			// offered only a password, or no key at all, a handshake cut short, a scan.
			srv.ConnectionFailedCallback = func(conn net.Conn, err error) {
				s.log.Info("ssh: connection ended before login", "addr", conn.RemoteAddr().String(), "err", err)
			}
			return nil
		},
		// The only authentication method: without password or keyboard-interactive
		// handlers, those are refused.
		wish.WithPublicKeyAuth(s.authorize),
		// Not wish.WithIdleTimeout: charm.land/ssh v0.4.2 then races on the connection's
		// deadline fields (handleConn against the transport's read loop), and it would count
		// the monitor's clock redrawing every second as activity. The idle timeout is per
		// session instead (idleWatch).
		wish.WithMiddleware(s.handle),
	)
	if err != nil {
		return nil, err
	}
	s.log.Info("ssh: ready", "host_key", cfg.HostKey, "fingerprint", s.fingerprint, "authorized_keys", cfg.AuthorizedKeys, "keys", len(keys.keys))
	return s, nil
}

// Serve accepts connections on ln until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ln.Close()
	}
	s.ln = ln
	s.mu.Unlock()
	err := s.ssh.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, ends every session (monitors quit and give the
// client its terminal back, exports stop) and waits for them until ctx is done; then it
// closes whatever connections remain.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	ln := s.ln
	for vs := range s.sessions {
		vs.cancel(errShutdown)
	}
	s.mu.Unlock()

	// charm's Shutdown closes the listeners and then waits for every connection, including
	// ones with no session left; called with a done context it only does the first part.
	stop, cancel := context.WithCancel(context.Background())
	cancel()
	s.ssh.Shutdown(stop)
	if ln != nil {
		ln.Close() // a Serve that had not yet registered its listener with charm
	}

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("ssh: sessions still open at shutdown: %w", ctx.Err())
	}
	s.ssh.Close()
	return err
}

// Sessions is the number of sessions open now.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Addr is the address being served (the listener's, once Serve runs).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// Fingerprint is the host key's SHA256 fingerprint, as ssh shows it on first connection.
func (s *Server) Fingerprint() string { return s.fingerprint }

// Viewers is the number of monitors being watched over SSH now.
func (s *Server) Viewers() int {
	v, _ := s.counts()
	return v
}

// counts returns the open monitor sessions and all open sessions.
func (s *Server) counts() (viewers, sessions int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for vs := range s.sessions {
		if vs.monitor {
			viewers++
		}
	}
	return viewers, len(s.sessions)
}

// authorize is charm's public key callback. A client may offer keys it cannot prove (see
// CVE-2024-45337), so this only lets the handshake go on: handle checks the key the session
// actually proved.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	_, ok := s.keys.lookup(key)
	if !ok {
		s.log.Info("ssh: key refused", "user", ctx.User(), "addr", ctx.RemoteAddr().String(), "key", gossh.FingerprintSHA256(key))
	}
	return ok
}

// handle is every session's handler.
func (s *Server) handle(ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		key := sess.PublicKey()
		comment, ok := "", false
		if key != nil {
			comment, ok = s.keys.lookup(key)
		}
		if !ok {
			s.log.Warn("ssh: session refused: its key is not authorized", "user", sess.User(), "addr", sess.RemoteAddr().String())
			fmt.Fprintln(sess.Stderr(), "zoomwatch: this key is not authorized")
			sess.Exit(1)
			return
		}
		vs, err := s.open(sess, key, comment)
		if err != nil {
			s.log.Info("ssh: session refused", "user", sess.User(), "addr", sess.RemoteAddr().String(), "err", err)
			fmt.Fprintf(sess.Stderr(), "zoomwatch: %v\n", err)
			sess.Exit(1)
			return
		}
		exit := exitOK
		defer func() { s.close(vs, exit) }()
		go s.guard(vs)
		s.record(vs, "login", fmt.Sprintf("ssh login %s: %s", vs.who(), vs.what))
		if vs.monitor {
			s.watch(vs)
			if msg := vs.endMessage(); msg != "" {
				// Ended by the server (a revoked key, shutdown, idle), not by the viewer:
				// a wrapper script sees it in the exit status too.
				fmt.Fprintf(vs.Stderr(), "zoomwatch: %s\n", msg)
				exit = exitFail
				vs.Exit(exit)
			}
			return
		}
		exit = s.command(vs)
		vs.Exit(exit)
	}
}

// open registers a session, unless the server is closing or full.
func (s *Server) open(sess ssh.Session, key ssh.PublicKey, comment string) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, errShutdown
	}
	// status and help answer at once: a full server still answers its health check.
	if n := len(s.sessions); n >= s.cfg.MaxSessions && !answersAtOnce(sess.Command()) {
		return nil, fmt.Errorf("too many viewers (%s open, the most this server allows); try again later", numfmt.Plural(n, "session"))
	}
	_, _, pty := sess.Pty()
	life, cancel := context.WithCancelCause(sess.Context())
	vs := &session{
		Session: sess,
		ctx:     sessionContext{Context: sess.Context(), life: life},
		cancel:  cancel,
		ended:   make(chan struct{}),
		idle:    s.cfg.IdleTimeout,
		recheck: keyCheckEvery,
		monitor: pty && len(sess.Command()) == 0,
		user:    feed.Sanitize(sess.User()),
		addr:    sess.RemoteAddr().String(),
		pub:     key,
		key:     gossh.FingerprintSHA256(key),
		comment: feed.Sanitize(comment),
		started: time.Now(),
	}
	switch vs.what = feed.Sanitize(strings.Join(sess.Command(), " ")); {
	case vs.monitor:
		vs.what = "monitor"
	case vs.what == "":
		vs.what = "no command and no terminal"
	}
	vs.touch()
	s.sessions[vs] = struct{}{}
	s.wg.Add(1)
	return vs, nil
}

// close releases what the session held and records the logout before Shutdown can return
// (the store is closed after it).
func (s *Server) close(vs *session, exit int) {
	vs.cancel(nil)
	close(vs.ended)
	after := time.Since(vs.started).Round(time.Second)
	text := fmt.Sprintf("ssh logout %s after %s", vs.who(), after)
	attrs := []any{"after", after.String(), "ended_by", vs.endedBy()}
	if reason := vs.endedBy(); reason != "client" {
		text += " (" + reason + ")"
	}
	if !vs.monitor {
		attrs = append(attrs, "exit", exit)
	}
	s.record(vs, "logout", text, attrs...)
	s.mu.Lock()
	delete(s.sessions, vs)
	s.mu.Unlock()
	s.wg.Done()
}

// guard ends the session once it has been idle for the idle timeout or its key is no longer
// authorized, and closes its channel if it does not finish soon after (a client that reads
// nothing blocks every write on the SSH window). It returns when the session has ended.
func (s *Server) guard(vs *session) {
	t := time.NewTimer(min(vs.idle, vs.recheck))
	defer t.Stop()
	why := errIdle
	// A key must be missing at two checks in a row: an editor rewriting the file in place
	// leaves it empty or half written for a moment, which must not end everyone's session.
	missing := false
	for {
		select {
		case <-vs.ended:
			return
		case <-t.C:
		}
		_, ok := s.keys.lookup(vs.pub)
		if !ok && missing {
			why = errRevoked
			break
		}
		missing = !ok
		left := vs.idle - vs.idleFor()
		if left <= 0 {
			break
		}
		t.Reset(min(left, vs.recheck))
	}
	vs.cancel(why)
	t.Reset(closeGrace)
	select {
	case <-vs.ended:
	case <-t.C:
		vs.Session.Close()
	}
}

// record logs a login or logout in the server's log and, for monitors and exports (what
// reads the account's events), as text in the connection log.
func (s *Server) record(vs *session, what, text string, attrs ...any) {
	s.log.Info("ssh: "+what, append([]any{"user", vs.user, "addr", vs.addr, "key", vs.key, "comment", vs.comment, "session", vs.what}, attrs...)...)
	if !vs.monitor && (len(vs.Command()) == 0 || vs.Command()[0] != "export") {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.cfg.Store.Note(ctx, text); err != nil {
		s.log.Error("ssh: cannot record in the connection log", "note", text, "err", err)
	}
}

// session is one SSH session, as the handlers below see it: its context ends when the
// session does (charm's ends only with the connection, which a client may keep open for
// more sessions), and reads from it (writes too, for a command) count as activity.
type session struct {
	ssh.Session
	ctx          sessionContext
	cancel       context.CancelCauseFunc
	ended        chan struct{} // closed once the handler has returned
	idle         time.Duration // the idle timeout
	recheck      time.Duration // keyCheckEvery
	lastActivity atomic.Int64  // unix nanoseconds

	monitor bool   // the live monitor, as opposed to a command
	what    string // "monitor" or the command line
	user    string
	addr    string
	pub     ssh.PublicKey // the key the client proved
	key     string        // its fingerprint
	comment string        // the key's comment in authorized_keys
	started time.Time
	sub     *store.Subscription // the monitor's, set by watch before the program is built
}

func (vs *session) Context() ssh.Context { return vs.ctx }

func (vs *session) Read(p []byte) (int, error) {
	n, err := vs.Session.Read(p)
	vs.touch()
	if err != nil {
		vs.cancel(errGone)
	}
	return n, err
}

func (vs *session) Write(p []byte) (int, error) {
	n, err := vs.Session.Write(p)
	if !vs.monitor {
		vs.touch()
	}
	return n, err
}

func (vs *session) touch() { vs.lastActivity.Store(time.Now().UnixNano()) }

func (vs *session) idleFor() time.Duration {
	return time.Since(time.Unix(0, vs.lastActivity.Load()))
}

// who names the session for the connection log: user, address and key.
func (vs *session) who() string {
	key := vs.key
	if vs.comment != "" {
		key += " (" + vs.comment + ")"
	}
	return fmt.Sprintf("%s from %s with key %s", vs.user, vs.addr, key)
}

// endMessage says why the server ended the session, or "" when the client ended it.
func (vs *session) endMessage() string {
	switch cause := context.Cause(vs.ctx.life); {
	case errors.Is(cause, errIdle) && vs.monitor:
		return fmt.Sprintf("closed after %s without input", vs.idle)
	case errors.Is(cause, errIdle):
		return fmt.Sprintf("closed after %s without activity", vs.idle)
	case errors.Is(cause, errShutdown), errors.Is(cause, errRevoked):
		return cause.Error()
	}
	return ""
}

// endedBy says who ended the session, for the logout record.
func (vs *session) endedBy() string {
	switch cause := context.Cause(vs.ctx.life); {
	case errors.Is(cause, errIdle):
		return "idle timeout"
	case errors.Is(cause, errShutdown):
		return "server shutdown"
	case errors.Is(cause, errRevoked):
		return "key revoked"
	}
	return "client"
}

// sessionContext is the connection's ssh.Context (user, addresses, permissions) with the
// lifetime of one session.
type sessionContext struct {
	ssh.Context
	life context.Context
}

func (c sessionContext) Deadline() (time.Time, bool) { return c.life.Deadline() }
func (c sessionContext) Done() <-chan struct{}       { return c.life.Done() }
func (c sessionContext) Err() error                  { return c.life.Err() }
func (c sessionContext) Value(k any) any             { return c.life.Value(k) }
