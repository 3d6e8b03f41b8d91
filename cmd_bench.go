package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"zoomwatch/bench"
)

// benchFlags are the flags of `zoomwatch bench` and its parts.
type benchFlags struct {
	json     string
	quick    bool
	cache    string
	rates    string
	stepTime time.Duration
	duration time.Duration
	rate     float64
	every    time.Duration
	restart  []string
	profiles string
}

func (a *app) benchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure ingest, the store and memory (bench soak: a long run under faults)",
		Long: `bench measures zoomwatch against the built-in simulator and prints a short table (--json FILE
also writes every figure for machines):

  ingest   the simulator at rising rates until zoomwatch falls behind: the highest rate held
           with fsync on, event→store and event→screen latency; beside it a bare client that
           only decodes frames (the ceiling) and zoomwatch's share of it; where the cores
           went, by part (feed, store, live state, screen, simulator, Go's runtime)
  store    durable ingest, import and export of 200,000 events, 50-row pages and opening in
           a 1,000,000-event store, resident memory, bytes on disk per byte of JSON
  memory   resident size of a collector at 0, 100k and 1M stored events, and with 20 SSH
           viewers watching (needs an ssh client)

"zoomwatch bench" runs those three; "zoomwatch bench soak" runs the long run under faults.
Generated stores are kept in --cache between runs: the first run builds them.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBench(cmd, &f, bench.PartIngest, bench.PartStore, bench.PartMemory)
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.json, "json", "", "also write every figure as JSON to this file")
	pf.BoolVar(&f.quick, "quick", false, "small sizes and short steps: a first look in about two minutes")
	pf.StringVar(&f.cache, "cache", "", "keep generated stores here between runs (default $XDG_CACHE_HOME/zoomwatch/bench)")
	profilesFlag := func(fs *pflag.FlagSet) {
		fs.StringVar(&f.profiles, "profiles", "", "keep each ingest step's CPU profile in this directory, labelled by part (go tool pprof -tagfocus part=live)")
	}
	profilesFlag(cmd.Flags())
	for _, p := range []struct {
		part  bench.Part
		short string
	}{
		{bench.PartIngest, "The ingest ladder: zoomwatch and a bare client at rising rates"},
		{bench.PartStore, "The store's figures: ingest, import, export, pages, open, memory, disk"},
		{bench.PartMemory, "Resident memory by stored events, and with 20 SSH viewers"},
	} {
		part := p.part
		sub := &cobra.Command{Use: string(part), Short: p.short, Args: noArgs,
			RunE: func(cmd *cobra.Command, args []string) error { return a.runBench(cmd, &f, part) }}
		if part == bench.PartIngest {
			sub.Flags().StringVar(&f.rates, "rates", "", "the ladder's rates, events/s, comma-separated (default 1000 … 100000)")
			sub.Flags().DurationVar(&f.stepTime, "step", 0, "measured time of each step (default 5s; 2s with --quick)")
			profilesFlag(sub.Flags())
		}
		cmd.AddCommand(sub)
	}
	soak := &cobra.Command{
		Use:   "soak",
		Short: "Run zoomwatch tail for a long time under faults and restarts, then check it lost nothing",
		Long: `soak runs "zoomwatch tail --json" as a child process against the simulator at a steady rate and
injects a fault every --fault-every, in turn: a dropped link, a silent link, an eviction by
another consumer, junk frames, an expired token. --restart stops the process in the middle and
starts it again (sigterm: a clean stop; kill9: a crash). At the end it checks that every event
the simulator delivered is stored exactly once, every outage is a recorded gap, everything
tail printed is stored, the process never exited on its own, and its goroutines and memory
stayed flat. Exit status 1 if any check fails.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runBench(cmd, &f, bench.PartSoak) },
	}
	sf := soak.Flags()
	sf.DurationVar(&f.duration, "duration", bench.DefaultSoakDuration, "how long to run")
	sf.Float64Var(&f.rate, "rate", bench.DefaultSoakRate, "events per second from the simulator")
	sf.DurationVar(&f.every, "fault-every", bench.DefaultFaultEvery, "time between faults")
	sf.StringSliceVar(&f.restart, "restart", nil, "restart the process in the middle: sigterm, kill9 (both: sigterm,kill9)")
	cmd.AddCommand(soak)
	return cmd
}

func (a *app) runBench(cmd *cobra.Command, f *benchFlags, parts ...bench.Part) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o := bench.Options{Exe: exe, Quick: f.quick, CacheDir: f.cache, Progress: a.stderr, StepTime: f.stepTime,
		Duration: f.duration, Rate: f.rate, FaultEvery: f.every, ProfileDir: f.profiles}
	if f.profiles != "" {
		if err := os.MkdirAll(f.profiles, 0o755); err != nil {
			return err
		}
	}
	if o.Rates, err = parseRates(f.rates); err != nil {
		return usageErr(err)
	}
	for _, r := range f.restart {
		if r != bench.RestartSIGTERM && r != bench.RestartKill9 {
			return usageErr(fmt.Errorf("--restart %q: use sigterm, kill9 or both", r))
		}
	}
	o.Restarts = f.restart
	for _, d := range []struct {
		flag string
		bad  bool
	}{{"duration", f.duration <= 0}, {"rate", f.rate <= 0}, {"fault-every", f.every <= 0}, {"step", f.stepTime < 0}} {
		if fl := cmd.Flags().Lookup(d.flag); fl != nil && fl.Changed && d.bad {
			return usageErr(fmt.Errorf("--%s %s: give a positive value", d.flag, fl.Value))
		}
	}
	// The JSON file is created before minutes of measuring, not after.
	var jf *os.File
	if f.json != "" {
		if jf, err = os.Create(f.json); err != nil {
			return usageErr(fmt.Errorf("--json: %w", err))
		}
		defer jf.Close()
	}
	rep, err := bench.Run(cmd.Context(), o, parts...)
	rep.WriteTable(a.stdout)
	if jf != nil {
		if jerr := cmp.Or(rep.WriteJSON(jf), jf.Close()); jerr != nil && err == nil {
			err = jerr
		}
	}
	if err != nil {
		return err
	}
	if rep.Soak != nil && !rep.Soak.Pass {
		return errors.New("soak: some checks failed")
	}
	return nil
}

func parseRates(s string) ([]float64, error) {
	if s == "" {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || (len(out) > 0 && v <= out[len(out)-1]) {
			return nil, fmt.Errorf("--rates %q: rising positive numbers, comma-separated", s)
		}
		out = append(out, v)
	}
	return out, nil
}
