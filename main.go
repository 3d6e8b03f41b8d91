// Command zoomwatch is a terminal monitor for a Zoom account's live event stream: it holds the
// account's WebSocket event subscription, keeps every event in a bbolt database and shows
// live panes, history and the health of the connection itself.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	charmlog "charm.land/log/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"zoomwatch/auth"
	"zoomwatch/config"
	"zoomwatch/feed"
	"zoomwatch/internal/logfile"
	"zoomwatch/internal/numfmt"
	"zoomwatch/internal/suggest"
	"zoomwatch/store"
	"zoomwatch/tui"
)

var version = "dev"

// exitError carries an exit code (DESIGN.md: 2 usage or configuration, 1 anything else).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error { return &exitError{2, err} }

// noArgs is cobra.NoArgs without calling the stray argument a command.
func noArgs(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return nil
	case cmd.HasSubCommands():
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += ": did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageErr(errors.New(msg))
	}
	return usageErr(fmt.Errorf("%s takes no arguments: %q is not a flag (see %s --help)", cmd.CommandPath(), args[0], cmd.CommandPath()))
}

// stopSignals end any command cleanly (events stored, the stop recorded). SIGHUP is the
// terminal closing under the monitor (a closed SSH session or tmux window): by default it
// would kill the process like kill -9, leaving a gap marked as an unclean stop.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "zoomwatch:", err)
	var ee *exitError
	var ce *config.Error
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ce):
		return 2
	case strings.HasPrefix(err.Error(), "unknown command"), // cobra's own, as are the argument counts
		strings.HasPrefix(err.Error(), "accepts "), strings.HasPrefix(err.Error(), "requires at least"):
		return 2
	}
	return 1
}

// app holds what every command shares: flags, the loaded config, the logger.
type app struct {
	stdout, stderr io.Writer

	configFile string
	dbFlag     string
	logFlag    string
	heartbeat  string
	retain     string
	maxDBSize  string
	ssh        sshFlags // the monitor's and demo's --ssh
	// backoffScale multiplies every reconnect wait (hidden: tests and the soak use it to
	// live through hours of faults in minutes).
	backoffScale float64

	cfg     config.Config
	log     *slog.Logger
	logFile *logfile.File
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "zoomwatch",
		Short: "Terminal monitor for a Zoom account's live event stream",
		Long: `zoomwatch holds your Zoom account's WebSocket event subscription (Server-to-Server OAuth),
keeps every event in a local database and shows what is live: meetings, joins and leaves,
recordings, and the health of the connection itself.

Without a Zoom account, try: zoomwatch demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runMonitor(cmd)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Every flag error is a usage error (exit 2), however pflag words it ("unknown
	// shorthand flag" was taken for a failure, exit 1).
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		var bad *pflag.InvalidValueError
		if errors.As(err, &bad) {
			if _, ok := bad.GetFlag().Value.(*eventCount); ok { // the simulator's fault knobs
				return usageErr(fmt.Errorf("--%s takes a number of events, e.g. 500, not %q (--silence-every and --evict-every take durations)", bad.GetFlag().Name, bad.GetValue()))
			}
		}
		if name, ok := strings.CutPrefix(err.Error(), "unknown flag: --"); ok {
			name, _, _ = strings.Cut(name, "=")
			var flags []string
			cmd.Flags().VisitAll(func(f *pflag.Flag) { flags = append(flags, f.Name) })
			env := "ZOOM_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
			switch near := suggest.Nearest(name, flags); {
			case slices.ContainsFunc(config.Env, func(e config.EnvVar) bool { return e.Name == env }):
				// The Zoom settings are no flags: a secret in a flag shows in ps.
				err = fmt.Errorf("%w: the Zoom settings are read from the environment (%s) or the config file, not from flags", err, env)
			case len(near) > 0:
				err = fmt.Errorf("%w (did you mean --%s?)", err, near[0])
			}
		}
		return usageErr(err)
	})
	root.SetVersionTemplate("zoomwatch {{.Version}}\n") // as `zoomwatch version` prints it
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return usageErr(fmt.Errorf("no help for %q: not a command (zoomwatch --help lists them)", strings.Join(args, " ")))
			}
			return c.Help()
		},
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "config file (default $XDG_CONFIG_HOME/zoomwatch/config.toml)")
	pf.StringVar(&a.dbFlag, "db", "", "database file (default $XDG_STATE_HOME/zoomwatch/events.db)")
	pf.StringVar(&a.logFlag, "log", "", "log file (default $XDG_STATE_HOME/zoomwatch/zoomwatch.log; demo.log and sim.log for those)")
	pf.StringVar(&a.heartbeat, "heartbeat", config.DefaultHeartbeat.String(), "heartbeat period; a link silent for about two periods is replaced")
	pf.StringVar(&a.retain, "retain", "", "drop events older than this (e.g. 30d; default: keep all)")
	pf.StringVar(&a.maxDBSize, "max-db-size", "", "prune the oldest events beyond this much data (e.g. 2GB)")
	pf.Float64Var(&a.backoffScale, "backoff-scale", 1, "multiply reconnect waits (testing)")
	pf.MarkHidden("backoff-scale")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Name() == "version" || cmd.Name() == "help" {
			return nil // they read no settings: a bad config file must not stop them
		}
		return a.setup(cmd)
	}
	root.PersistentPostRun = func(cmd *cobra.Command, args []string) {
		if a.logFile != nil {
			a.logFile.Close()
		}
	}
	a.addMonitorFlags(root)
	root.AddCommand(a.tailCmd(), a.exportCmd(), a.importCmd(), a.compactCmd(), a.versionCmd())
	root.AddCommand(a.extraCommands()...)
	return root
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

// setup loads the configuration (defaults < file < environment < flags) and opens the log.
func (a *app) setup(cmd *cobra.Command) error {
	cfg, err := config.Load(a.configFile, nil)
	if err != nil {
		return err
	}
	flags := cmd.Flags()
	if flags.Changed("db") {
		cfg.DB = a.dbFlag
	}
	if flags.Changed("log") {
		cfg.Log = a.logFlag
	}
	if flags.Changed("heartbeat") || cfg.Heartbeat == 0 {
		d, err := config.ParseDuration(a.heartbeat) // as the file reads it
		if err != nil {
			return usageErr(fmt.Errorf("--heartbeat: %w", err))
		}
		cfg.Heartbeat = config.Duration(d)
	}
	source := "--heartbeat"
	if !flags.Changed("heartbeat") {
		source = "heartbeat in " + cfg.File
	}
	switch hb := time.Duration(cfg.Heartbeat); {
	case hb < 100*time.Millisecond:
		return usageErr(fmt.Errorf("%s %v is too short (at least 100ms; Zoom expects %v)", source, hb, config.DefaultHeartbeat))
	case hb > config.DefaultHeartbeat:
		return usageErr(fmt.Errorf("%s %v is too long: Zoom expects a heartbeat at least every %v, and may close a link that sends none", source, hb, config.DefaultHeartbeat))
	}
	// Checked for every command, as every other setting is, not only by those that draw.
	if err := tui.ValidateKeys(cfg.Keys); err != nil {
		return usageErr(fmt.Errorf("%s: %w", cfg.File, err))
	}
	if flags.Changed("retain") {
		d, err := config.ParseDuration(a.retain)
		if err != nil {
			return usageErr(fmt.Errorf("--retain: %w", err))
		}
		cfg.Retain = config.Duration(d)
	}
	if flags.Changed("max-db-size") {
		n, err := config.ParseSize(a.maxDBSize)
		if err != nil {
			return usageErr(fmt.Errorf("--max-db-size: %w", err))
		}
		cfg.MaxDBSize = config.Size(n)
	}
	a.cfg = cfg
	return a.openLog(cmd.Name())
}

// openLog sends log/slog (and the std log package) to the log file: never to the terminal,
// which belongs to the TUI or to tail's output.
func (a *app) openLog(command string) error {
	path := a.cfg.Log
	if path == "" {
		dir, err := config.StateDir(os.Getenv)
		if err != nil {
			a.log = slog.New(slog.DiscardHandler)
			return nil
		}
		// The demo and the simulator keep their own logs, as the demo keeps its own database:
		// their lines would mix into the real monitor's.
		name := map[string]string{"demo": "demo.log", "sim": "sim.log"}[command]
		if name == "" {
			name = "zoomwatch.log"
		}
		path = filepath.Join(dir, name)
	}
	f, err := func() (*logfile.File, error) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		return logfile.Open(path, logfile.MaxSize)
	}()
	if err != nil && a.cfg.Log != "" {
		return fmt.Errorf("log: %w", err) // asked for by name: a log is expected there
	}
	if err != nil {
		// The default place may not be writable (a read-only home, another user's state
		// directory): nothing is worth refusing an export or a look at history for.
		fmt.Fprintf(a.stderr, "zoomwatch: not logging (%v)\n", err)
		a.log = slog.New(slog.DiscardHandler)
		return nil
	}
	a.logFile = f
	a.log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(a.log)
	charmlog.SetOutput(f) // wish logs through charm's logger
	return nil
}

// dbPath is --db, or the default database (demo keeps its own file so that simulated events
// never mix with real history).
func (a *app) dbPath(name string) (string, error) {
	if a.cfg.DB != "" {
		return a.cfg.DB, nil
	}
	dir, err := config.StateDir(os.Getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// openStore opens the database for collecting (read-write) or browsing (read-only).
func (a *app) openStore(name string, readOnly bool, owner store.Owner) (*store.Store, error) {
	path, err := a.dbPath(name)
	if err != nil {
		return nil, err
	}
	owner.Command = strings.Join(append([]string{"zoomwatch"}, os.Args[1:]...), " ")
	owner.Started = time.Now()
	st, err := store.Open(store.Options{
		Path:     path,
		ReadOnly: readOnly,
		Retain:   time.Duration(a.cfg.Retain),
		MaxBytes: int64(a.cfg.MaxDBSize),
		Owner:    owner,
		Logger:   a.log,
	})
	var fe *store.FormatError
	if errors.As(err, &fe) {
		return nil, usageErr(err)
	}
	if err != nil && readOnly && errors.Is(err, fs.ErrNotExist) && a.cfg.DB == "" && name != demoDB {
		// Someone who only tried the demo looks for its events here.
		if demo, derr := a.dbPath(demoDB); derr == nil {
			if _, serr := os.Stat(demo); serr == nil {
				err = fmt.Errorf("%w; the demo keeps its events apart: --db %s", err, demo)
			}
		}
	}
	return st, err
}

// demoDB is the demo's database, beside the real one.
const demoDB = "demo.db"

// collector is the one Zoom connection of this process, feeding the store.
type collector struct {
	client *feed.Client
	done   chan error // the feed's Run result, once everything it sent is submitted
}

// startCollector connects to Zoom (or the simulator) and forwards everything the feed hands
// out to the store, in order. Viewers never connect themselves: they watch the store.
func (a *app) startCollector(ctx context.Context, st *store.Store, z config.Zoom, wsURL string) *collector {
	tokens := auth.New(auth.Config{URL: z.OAuthURL, AccountID: z.AccountID, ClientID: z.ClientID, ClientSecret: z.ClientSecret})
	client := feed.New(feed.Config{
		URL:       wsURL,
		Tokens:    tokens,
		Heartbeat: time.Duration(a.cfg.Heartbeat),
		Logger:    a.log,
		Backoff:   a.backoff(),
	})
	c := &collector{client: client, done: make(chan error, 1)}
	items := make(chan feed.Item, 4096)
	runErr := make(chan error, 1)
	go func() {
		runErr <- client.Run(ctx, items)
		close(items)
	}()
	go func() {
		for it := range items {
			// Not ctx: the final "stopped" transition arrives after cancellation and must be
			// stored too.
			if err := st.Submit(context.Background(), it); err != nil {
				a.log.Error("store refused an item", "err", err)
			}
		}
		c.done <- <-runErr
	}()
	return c
}

// backoff is the feed's reconnect policy: its defaults, scaled by --backoff-scale.
func (a *app) backoff() feed.Backoff {
	k := a.backoffScale
	if k <= 0 || k == 1 {
		return feed.Backoff{}
	}
	d := func(v time.Duration) time.Duration { return max(time.Duration(float64(v)*k), time.Millisecond) }
	return feed.Backoff{Min: d(time.Second), Max: d(30 * time.Second), Replaced: d(30 * time.Second),
		ReplacedMax: d(5 * time.Minute), AuthFailed: d(time.Minute), AuthFailedMax: d(10 * time.Minute),
		StableAfter: d(2 * time.Minute)}
}

// startupErr turns the feed's result into the command's: credentials rejected at start-up
// are a configuration error (exit 2).
func (a *app) startupErr(err error) error {
	c := a.cfg
	var rej *auth.RejectedError
	if errors.As(err, &rej) && rej.NoEndpoint {
		return usageErr(fmt.Errorf("%w\nCheck %s: leave it unset for Zoom's, %s", err, c.Name("ZOOM_OAUTH_URL"), config.DefaultOAuthURL))
	}
	if errors.As(err, &rej) {
		return usageErr(fmt.Errorf("%w\nCheck %s, %s and %s against your Server-to-Server OAuth app's App Credentials, and that the app is activated",
			err, c.Name("ZOOM_ACCOUNT_ID"), c.Name("ZOOM_CLIENT_ID"), c.Name("ZOOM_CLIENT_SECRET")))
	}
	var sub *feed.SubscriptionError
	if errors.As(err, &sub) {
		name := c.Name("ZOOM_WS_URL")
		if c.Zoom.WSURL == "" {
			name = c.Name("ZOOM_SUBSCRIPTION_ID")
		}
		return usageErr(fmt.Errorf("%w\nCheck %s: it is the Endpoint URL of the app's WebSocket event subscription, wss://ws.zoom.us/ws?subscriptionId=… (or the id alone, as ZOOM_SUBSCRIPTION_ID)", err, name))
	}
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(a.stdout, "zoomwatch", buildVersion())
			return nil
		},
	}
}

func (a *app) compactCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "compact",
		Short: "Rewrite the database without the free space pruning left behind",
		Long: `compact rewrites the database without the free space that pruning (--retain,
--max-db-size) left behind, and prints its size before and after. It needs the database to
itself: stop the monitor first. Once events arrive again, the file grows ahead of its data
again, by up to 16 MiB.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := a.dbPath("events.db")
			if err != nil {
				return err
			}
			before, after, err := store.Compact(path, time.Second)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %s → %s\n", path, numfmt.Bytes(before), numfmt.Bytes(after))
			return nil
		},
	}
}
