package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"zoomwatch/config"
	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/store"
	"zoomwatch/tui"
)

func (a *app) addMonitorFlags(root *cobra.Command) {
	a.ssh.add(root.Flags())
}

func (a *app) extraCommands() []*cobra.Command {
	return []*cobra.Command{a.demoCmd(), a.historyCmd(), a.simCmd(), a.serveCmd(), a.benchCmd()}
}

// runMonitor is `zoomwatch`: the live monitor for the configured account.
func (a *app) runMonitor(cmd *cobra.Command) error {
	if err := a.cfg.CheckZoom(); err != nil {
		return err
	}
	return a.monitor(cmd.Context(), "events.db", tui.ModeLive, a.cfg.Zoom, a.cfg.WSURL(), a.cfg.Zoom.AccountID)
}

// monitor runs the collector and the TUI on this terminal (and, with --ssh, serves the same
// monitor to SSH viewers), then shuts down in order: screen, feed (close frame), store.
func (a *app) monitor(ctx context.Context, dbName string, mode tui.Mode, z config.Zoom, wsURL, account string) error {
	if err := needTerminal("the monitor", "`zoomwatch tail` prints events, `zoomwatch serve --ssh ADDR` collects and serves the monitor over SSH"); err != nil {
		return err
	}
	srv, err := a.ssh.prepare(a, dbName)
	if err != nil {
		return err
	}
	st, err := a.openStore(dbName, false, store.Owner{SSH: a.ssh.addr, Screen: true})
	if err != nil {
		return err
	}
	defer st.Close()

	var client atomic.Pointer[feed.Client]
	if srv != nil {
		if err := srv.create(st, &client, account, mode); err != nil {
			return err
		}
		defer srv.stop()
	}
	// Not a child of ctx: the feed stops after the screen, with the stop signal as its reason.
	feedCtx, stopFeed := context.WithCancelCause(context.Background())
	defer stopFeed(nil)
	col := a.startCollector(feedCtx, st, z, wsURL)
	client.Store(col.client)
	if srv != nil {
		srv.serve()
	}

	sub := st.Subscribe(256)
	defer sub.Close()
	deps := tui.Deps{Store: st, Sub: sub, Status: col.client.Stats, Account: account, Mode: mode,
		Keys: a.cfg.Keys, AllowExport: true}
	if srv != nil {
		deps.Serving = func() (string, int) { return srv.srv.Addr(), srv.srv.Viewers() }
	}
	m, err := tui.New(deps)
	if err != nil {
		return usageErr(fmt.Errorf("keys in %s: %w", a.cfg.File, err))
	}
	if a.logFile != nil {
		// Nothing may write to the terminal while the monitor owns it; Bubble Tea reports a
		// viewer's panic on os.Stderr, so send that to the log too.
		prev := os.Stderr
		os.Stderr = a.logFile.OS()
		defer func() { os.Stderr = prev }()
	}
	uiCtx, stopUI := context.WithCancel(ctx)
	defer stopUI()
	var feedErr error
	feedDone := make(chan struct{})
	go func() {
		// The feed ends on its own only when Zoom rejects the credentials at start-up:
		// close the screen and say why.
		feedErr = <-col.done
		close(feedDone)
		stopUI()
	}()
	_, runErr := tea.NewProgram(m, tea.WithContext(uiCtx)).Run()

	stopFeed(context.Cause(ctx)) // "terminated (SIGTERM)" when a signal stopped it
	<-feedDone
	flushErr := finalFlush(st)
	if err := a.startupErr(feedErr); err != nil {
		return err
	}
	if flushErr != nil {
		return flushErr
	}
	if runErr != nil && !errors.Is(runErr, tea.ErrInterrupted) && !errors.Is(runErr, tea.ErrProgramKilled) {
		return runErr
	}
	return nil
}

// needTerminal refuses to start a full-screen command without a terminal to draw on (cron,
// a pipe, a service), before it connects to anything; instead says what works there.
func needTerminal(what, instead string) error {
	if !term.IsTerminal(os.Stdout.Fd()) {
		return usageErr(fmt.Errorf("%s needs a terminal, and its output is not one: %s", what, instead))
	}
	if term.IsTerminal(os.Stdin.Fd()) {
		return nil
	}
	// Bubble Tea reads keys from /dev/tty when stdin is redirected.
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return usageErr(fmt.Errorf("%s needs a terminal to read keys from, and there is none: %s", what, instead))
	}
	tty.Close()
	return nil
}

func (a *app) demoCmd() *cobra.Command {
	var rate float64
	var seed int64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The live monitor against the built-in Zoom simulator (its own database)",
		Long: `demo runs the whole monitor against a Zoom-compatible simulator on loopback: meetings start and
end, people join and leave, recordings complete, and the connection is real. It keeps its own
database (demo.db beside the real one) so simulated events never mix with real history.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRate(rate); err != nil {
				return err
			}
			if !cmd.Flags().Changed("seed") {
				seed = time.Now().UnixNano() % 1000
			}
			s, err := sim.Start(sim.Options{Seed: seed, Rate: rate, TimeScale: 0.15, Logger: a.log})
			if err != nil {
				return err
			}
			defer s.Close()
			o := s.Options()
			z := config.Zoom{AccountID: o.AccountID, ClientID: o.ClientID, ClientSecret: o.ClientSecret, OAuthURL: s.OAuthURL()}
			return a.monitor(cmd.Context(), demoDB, tui.ModeDemo, z, s.WSURL(), o.AccountID+" (simulated)")
		},
	}
	cmd.Flags().Float64Var(&rate, "rate", 3, "simulated events per second (0.1 to 50000)")
	cmd.Flags().Int64Var(&seed, "seed", 0, "simulator seed: the same seed replays the same activity (default: a new one each run, in the log)")
	a.ssh.add(cmd.Flags())
	return cmd
}

func (a *app) historyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "history",
		Short: "Browse stored history offline (no connection)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needTerminal("history", "`zoomwatch export` writes the stored events"); err != nil {
				return err
			}
			st, err := a.openStore("events.db", true, store.Owner{})
			if err != nil {
				return err
			}
			defer st.Close()
			m, err := tui.New(tui.Deps{Store: st, Account: a.cfg.Zoom.AccountID, Mode: tui.ModeHistory, Keys: a.cfg.Keys, AllowExport: true})
			if err != nil {
				return usageErr(err)
			}
			_, err = tea.NewProgram(m, tea.WithContext(cmd.Context())).Run()
			if err != nil && !errors.Is(err, tea.ErrInterrupted) && !errors.Is(err, tea.ErrProgramKilled) {
				return err
			}
			return nil
		},
	}
}

// eventCount is a simulator fault flag that counts events (pflag.Value): its type and its
// error say so, since its neighbours take durations.
type eventCount int

func (c *eventCount) String() string { return strconv.Itoa(int(*c)) }
func (c *eventCount) Type() string   { return "count" }
func (c *eventCount) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a number of events")
	}
	*c = eventCount(n)
	return nil
}

// checkRate checks a simulator's --rate.
func checkRate(rate float64) error {
	if !(rate >= 0.1 && rate <= 50000) {
		return usageErr(fmt.Errorf("--rate %v: use 0.1 to 50000 events per second", rate))
	}
	return nil
}

func (a *app) simCmd() *cobra.Command {
	var listen string
	var opts sim.Options
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the Zoom simulator and print how to point zoomwatch at it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRate(opts.Rate); err != nil {
				return err
			}
			var negative []string
			cmd.Flags().VisitAll(func(fl *pflag.Flag) {
				if (strings.HasSuffix(fl.Name, "-every") || fl.Name == "token-ttl" || fl.Name == "heartbeat-timeout") && strings.HasPrefix(fl.Value.String(), "-") {
					negative = append(negative, "--"+fl.Name)
				}
			})
			if len(negative) > 0 {
				return usageErr(fmt.Errorf("%s cannot be negative", strings.Join(negative, ", ")))
			}
			_, port, err := net.SplitHostPort(listen)
			if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
				return usageErr(fmt.Errorf("--listen %q: want HOST:PORT, e.g. 127.0.0.1:9000 (port 0 picks a free one)", listen))
			}
			opts.Logger = a.log
			s, err := sim.Listen(listen, opts)
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintf(a.stdout, "# Zoom simulator on %s (%.3g events/s). Point zoomwatch at it with:\n", s.Addr(), opts.Rate)
			for _, l := range s.Env() {
				fmt.Fprintln(a.stdout, l)
			}
			fmt.Fprintln(a.stdout, "# then run: zoomwatch tail --json   (Ctrl-C here stops the simulator)")
			<-cmd.Context().Done()
			st := s.Stats()
			fmt.Fprintf(a.stderr, "simulator: %d events generated, %d delivered, %d lost while no client was connected, %d connections\n",
				st.Generated, st.Delivered, st.Lost, st.Connections)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:9000", "address to listen on")
	f.Float64Var(&opts.Rate, "rate", 5, "events per second (0.1 to 50000)")
	f.Int64Var(&opts.Seed, "seed", 1, "activity seed: the same seed replays the same activity")
	f.StringVar(&opts.ClientSecret, "client-secret", "", "client secret to accept (default: the fixed one printed below, as Zoom's sample client expects it)")
	f.DurationVar(&opts.TokenTTL, "token-ttl", time.Hour, "lifetime of issued tokens (short values exercise token expiry)")
	f.DurationVar(&opts.HeartbeatTimeout, "heartbeat-timeout", 90*time.Second, "close links that send no heartbeat for this long")
	// Some fault knobs count events, others take durations; the help says which.
	f.Var((*eventCount)(&opts.Faults.DropEvery), "drop-every", "drop the link after every N events")
	f.DurationVar(&opts.Faults.EvictEvery, "evict-every", 0, "act as another consumer taking the subscription this often (a duration, e.g. 5m)")
	f.DurationVar(&opts.Faults.SilenceEvery, "silence-every", 0, "go silent (TCP open) this often (a duration, e.g. 5m)")
	f.Var((*eventCount)(&opts.Faults.MalformedEvery), "malformed-every", "send a bad frame after every N events")
	f.Var((*eventCount)(&opts.Faults.OversizeEvery), "oversize-every", "send a ~512 KB event after every N events")
	f.Var((*eventCount)(&opts.Faults.DuplicateEvery), "duplicate-every", "redeliver an event after every N events")
	f.BoolVar(&opts.StampFrames, "stamp", false, "put the send time in each frame's header (benchmarks)")
	return cmd
}
