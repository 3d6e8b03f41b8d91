package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"zoomwatch/config"
	"zoomwatch/feed"
	"zoomwatch/store"
	"zoomwatch/tui"
	"zoomwatch/tui/sshserve"
)

// sshFlags configure serving the monitor over SSH (--ssh on the monitor, demo and serve).
type sshFlags struct {
	addr           string
	authorizedKeys string
	hostKey        string
	idle           time.Duration
	maxSessions    int
}

func (f *sshFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "ssh", "", "serve the monitor and history over SSH on this address (e.g. :2222)")
	fs.StringVar(&f.authorizedKeys, "authorized-keys", "", "public keys allowed to connect over SSH (authorized_keys format; re-read when it changes)")
	fs.StringVar(&f.hostKey, "host-key", "", "SSH host key (generated, mode 0600, if missing; default beside the database)")
	fs.DurationVar(&f.idle, "idle-timeout", 0, "close SSH sessions with no keyboard input for this long (default 30m)")
	fs.IntVar(&f.maxSessions, "max-sessions", 0, "most SSH viewers at once (default 32; status and help are always answered)")
}

// sshServer is a prepared SSH server: validated before anything connects to Zoom, started
// once the store is open.
type sshServer struct {
	f   *sshFlags
	a   *app
	srv *sshserve.Server
	ln  net.Listener
}

// prepare merges the config file's [ssh] settings under the flags and checks that serving
// can work; nil when SSH is not asked for.
func (f *sshFlags) prepare(a *app, dbName string) (*sshServer, error) {
	c := a.cfg.SSH
	pick := func(flag, file string) string {
		if flag != "" {
			return flag
		}
		return file
	}
	f.addr = pick(f.addr, c.Listen)
	if f.addr == "" {
		return nil, nil
	}
	f.authorizedKeys = pick(f.authorizedKeys, c.AuthorizedKeys)
	f.hostKey = pick(f.hostKey, c.HostKey)
	if f.idle == 0 {
		f.idle = time.Duration(c.IdleTimeout)
	}
	if f.maxSessions == 0 {
		f.maxSessions = c.MaxSessions
	}
	switch {
	case f.maxSessions < 0:
		return nil, usageErr(fmt.Errorf("--max-sessions %d: give at least 1 (0 or none: %d)", f.maxSessions, sshserve.DefaultMaxSessions))
	case f.idle < 0:
		return nil, usageErr(fmt.Errorf("--idle-timeout %s: give a positive duration, e.g. 30m", f.idle))
	}
	if _, port, err := net.SplitHostPort(f.addr); err != nil {
		return nil, usageErr(fmt.Errorf("--ssh %s: give host:port or :port, e.g. :2222 (%v)", f.addr, err))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return nil, usageErr(fmt.Errorf("--ssh %s: %q is not a port number (0–65535)", f.addr, port))
	}
	if f.authorizedKeys == "" {
		return nil, usageErr(errors.New("--ssh needs --authorized-keys FILE: the public keys of the people allowed to watch (one per line, as in ~/.ssh/authorized_keys)"))
	}
	if f.hostKey == "" {
		db, err := a.dbPath(dbName)
		if err != nil {
			return nil, usageErr(errors.New("--ssh needs --host-key FILE"))
		}
		f.hostKey = db + ".ssh_host_ed25519"
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("--ssh %s: %w", f.addr, err)
	}
	return &sshServer{f: f, a: a, ln: ln}, nil
}

// create checks the key files and builds the server, before anything connects to Zoom;
// status is read through the collector once it exists.
func (s *sshServer) create(st *store.Store, status *atomic.Pointer[feed.Client], account string, mode tui.Mode) error {
	srv, err := sshserve.New(sshserve.Config{
		Addr: s.ln.Addr().String(), AuthorizedKeys: s.f.authorizedKeys, HostKey: s.f.hostKey,
		IdleTimeout: s.f.idle, MaxSessions: s.f.maxSessions,
		Store: st, Account: account, Mode: mode, Keys: s.a.cfg.Keys, Logger: s.a.log,
		Status: func() feed.Stats {
			if c := status.Load(); c != nil {
				return c.Stats()
			}
			return feed.Stats{}
		},
	})
	if err != nil {
		s.ln.Close()
		return usageErr(err)
	}
	s.srv = srv
	return nil
}

// serve accepts viewers until stop.
func (s *sshServer) serve() {
	go func() {
		if err := s.srv.Serve(s.ln); err != nil {
			s.a.log.Error("ssh server stopped", "err", err)
		}
	}()
}

func (s *sshServer) stop() {
	if s.srv == nil {
		s.ln.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}

func (a *app) serveCmd() *cobra.Command {
	var f sshFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Headless collector plus an SSH server: teammates watch and export over SSH",
		Long: `serve holds the Zoom connection and the database, and serves the monitor and its history over
SSH: each viewer with a terminal gets the live screen; without one, "ssh -p PORT host export
[flags]" streams an export and "ssh -p PORT host status" prints the health as JSON.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.cfg.CheckZoom(); err != nil {
				return err
			}
			if f.addr == "" && a.cfg.SSH.Listen == "" {
				return usageErr(errors.New("serve needs --ssh ADDR (e.g. --ssh :2222)"))
			}
			return a.serve(cmd.Context(), &f, "events.db", a.cfg.Zoom, a.cfg.WSURL(), a.cfg.Zoom.AccountID, tui.ModeLive)
		},
	}
	f.add(cmd.Flags())
	return cmd
}

// serve is the headless collector with its SSH server, until interrupted.
func (a *app) serve(ctx context.Context, f *sshFlags, dbName string, z config.Zoom, wsURL, account string, mode tui.Mode) error {
	srv, err := f.prepare(a, dbName)
	if err != nil {
		return err
	}
	st, err := a.openStore(dbName, false, store.Owner{SSH: f.addr})
	if err != nil {
		srv.stop()
		return err
	}
	defer st.Close()
	var client atomic.Pointer[feed.Client]
	if err := srv.create(st, &client, account, mode); err != nil {
		return err
	}
	// Not a child of ctx: the feed stops after the screen, with the stop signal as its reason.
	feedCtx, stopFeed := context.WithCancelCause(context.Background())
	defer stopFeed(nil)
	col := a.startCollector(feedCtx, st, z, wsURL)
	client.Store(col.client)
	srv.serve()
	fmt.Fprintf(a.stderr, "zoomwatch: serving on %s (ssh -p %s HOST; host key %s); database %s\n",
		srv.ln.Addr(), portOf(srv.ln.Addr().String()), srv.srv.Fingerprint(), st.Path())
	// The connection's story on stderr, as tail tells it: a headless collector retrying a
	// wrong URL for ever said nothing after "serving on".
	sub := st.Subscribe(64)
	defer sub.Close()
	p := &printer{st: st, errw: a.stderr, out: bufio.NewWriter(io.Discard)}
	showLog := func(n store.Notice) {
		if n.Batch != nil {
			for _, e := range n.Log {
				p.logEntry(e)
			}
		}
	}
	health := time.NewTicker(time.Second)
	defer health.Stop()
	var feedErr error
	for running := true; running; {
		select {
		case n := <-sub.C:
			showLog(n)
		case <-health.C:
			p.health(st.Health())
		case <-ctx.Done():
			running = false
		case feedErr = <-col.done:
			running = false
		}
	}
	srv.stop()
	stopFeed(context.Cause(ctx)) // "terminated (SIGTERM)" when a signal stopped it
	if feedErr == nil {
		feedErr = <-col.done
	}
	flushErr := finalFlush(st)
	drainNotices(sub, showLog) // the stop, now stored
	if err := a.startupErr(feedErr); err != nil {
		return err
	}
	return flushErr
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}
