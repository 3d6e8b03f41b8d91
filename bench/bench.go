// Package bench measures zoomwatch the way its users rely on it: how fast it ingests and shows
// a Zoom event stream (against the simulator, beside a bare client that only decodes), what
// its store costs and answers, how much memory a collector holds, and whether it survives
// long runs under faults and restarts without losing or doubling an event. `zoomwatch bench`
// runs it; the figures are meant to be rerun by anyone and quoted in the README.
//
// Everything that claims a property of the product runs the product: the soak and the
// memory figures run zoomwatch as a child process (so exits, resident size and restarts are
// real); the ingest ladder runs the real pipeline in-process (auth, feed client, store with
// fsync, and a TUI model updated and drawn after every message) to timestamp each event.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Part names one section of the benchmark.
type Part string

const (
	PartIngest Part = "ingest"
	PartStore  Part = "store"
	PartMemory Part = "memory"
	PartSoak   Part = "soak"
)

// Options configure a run. Zero values take the defaults (full sizes unless Quick).
type Options struct {
	// Exe is the zoomwatch binary that child processes run (normally os.Executable()).
	Exe string
	// Quick uses small sizes: the whole benchmark in about two minutes, for trying it out.
	Quick bool
	// CacheDir keeps the generated stores (a 1,000,000-event store takes a while to build)
	// between runs.
	CacheDir string
	// WorkDir holds temporary databases and files; "" is the system's temp directory.
	WorkDir string
	// Progress gets a line as each step finishes; nil discards.
	Progress io.Writer

	// Rates is the ingest ladder (events per second, rising); StepTime the measured window
	// of each step.
	Rates    []float64
	StepTime time.Duration
	// ProfileDir, when set, keeps each ingest step's CPU profile there (zoomwatch-15000.pprof,
	// bare-15000.pprof), labelled by part (see internal/cpupart).
	ProfileDir string

	// Soak: how long, at what rate, how often a fault, and which restarts in the middle
	// ("sigterm", "kill9").
	Duration   time.Duration
	Rate       float64
	FaultEvery time.Duration
	Restarts   []string
}

// Soak defaults (the "long run").
const (
	DefaultSoakDuration = 30 * time.Minute
	DefaultSoakRate     = 200
	DefaultFaultEvery   = time.Minute
)

func (o Options) withDefaults() Options {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.CacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			o.CacheDir = filepath.Join(d, "zoomwatch", "bench")
		} else {
			o.CacheDir = filepath.Join(os.TempDir(), "zoomwatch-bench-cache")
		}
	}
	if len(o.Rates) == 0 {
		// Steps of 2,500 where a 2-core machine runs out (zoomwatch at 12,500–17,500, the
		// bare client at 32,500–40,000), narrowed further where each stops (see ladder):
		// with coarser steps the ratio was mostly the ladder's rounding.
		o.Rates = []float64{1000, 2000, 5000}
		for r := 10_000.0; r <= 40_000; r += 2500 {
			o.Rates = append(o.Rates, r)
		}
		o.Rates = append(o.Rates, 45_000, 50_000, 60_000, 80_000, 100_000)
		if o.Quick {
			// Up to 80,000: a fast 2-core machine's bare client holds 40,000, and a ladder
			// whose top is held gives only a bound on the share.
			o.Rates = []float64{1000, 5000, 10_000, 20_000, 40_000, 80_000}
		}
	}
	if o.StepTime <= 0 {
		o.StepTime = 5 * time.Second
		if o.Quick {
			o.StepTime = 2 * time.Second
		}
	}
	if o.Duration <= 0 {
		o.Duration = DefaultSoakDuration
	}
	if o.Rate <= 0 {
		o.Rate = DefaultSoakRate
	}
	if o.FaultEvery <= 0 {
		o.FaultEvery = DefaultFaultEvery
	}
	return o
}

// sizes are the data sizes of a run.
type sizes struct {
	big          int   // the large store: pages, open, disk ratio
	memory       []int // stored events at which resident memory is measured
	importN      int   // events imported and exported
	ingestN      int   // events through the writer for durable ingest
	ingestRounds int
	pageSamples  int
	opens        int
	settle       time.Duration // how long a child runs before its memory is read
	sshWindow    time.Duration
}

func (o Options) sizes() sizes {
	if o.Quick {
		return sizes{big: 100_000, memory: []int{0, 10_000, 100_000}, importN: 20_000, ingestN: 20_000, ingestRounds: 1,
			pageSamples: 50, opens: 3, settle: 3 * time.Second, sshWindow: 4 * time.Second}
	}
	return sizes{big: 1_000_000, memory: []int{0, 100_000, 1_000_000}, importN: 200_000, ingestN: 200_000, ingestRounds: 3,
		pageSamples: 200, opens: 5, settle: 10 * time.Second, sshWindow: 10 * time.Second}
}

// Report is everything a run measured. The JSON form is for machines (CI, comparisons);
// WriteTable is for people.
type Report struct {
	Machine  Machine       `json:"machine"`
	Started  time.Time     `json:"started"`
	Seconds  float64       `json:"seconds"`
	Quick    bool          `json:"quick"`
	Ingest   *IngestReport `json:"ingest,omitempty"`
	Store    *StoreReport  `json:"store,omitempty"`
	Memory   *MemoryReport `json:"memory,omitempty"`
	Soak     *SoakReport   `json:"soak,omitempty"`
	Failures []string      `json:"failures,omitempty"` // parts that could not run
}

// Machine describes where the figures were taken.
type Machine struct {
	Cores     int     `json:"cores"`
	CPU       string  `json:"cpu"`
	MemoryGiB float64 `json:"memory_gib"`
	Go        string  `json:"go"`
	Platform  string  `json:"platform"`
}

func thisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			m.MemoryGiB = kb / (1 << 20)
		}
	}
	return m
}

// Run measures the given parts, in order, and returns what it measured even when a part
// fails (the failure is in Report.Failures and the returned error).
func Run(ctx context.Context, o Options, parts ...Part) (*Report, error) {
	o = o.withDefaults()
	r := &runner{o: o, sz: o.sizes(), rss: map[int]RSSFigure{}}
	rep := &Report{Machine: thisMachine(), Started: time.Now(), Quick: o.Quick}
	work, err := os.MkdirTemp(o.WorkDir, "zoomwatch-bench-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(work)
	r.work = work
	var firstErr error
	for _, p := range parts {
		var err error
		switch p {
		case PartIngest:
			rep.Ingest, err = r.ingest(ctx)
		case PartStore:
			rep.Store, err = r.storeFigures(ctx)
		case PartMemory:
			rep.Memory, err = r.memory(ctx)
		case PartSoak:
			rep.Soak, err = r.soak(ctx)
		default:
			err = fmt.Errorf("unknown part %q", p)
		}
		if err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %v", p, err))
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", p, err)
			}
			if ctx.Err() != nil {
				break
			}
		}
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, firstErr
}

// runner carries one run's settings and what its parts share.
type runner struct {
	o    Options
	sz   sizes
	work string
	// rss memoises resident memory by stored events: the store and memory parts both
	// report the largest size's.
	rss map[int]RSSFigure
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.o.Progress, "bench: "+format+"\n", args...)
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteTable writes the short report a person reads.
func (rep *Report) WriteTable(w io.Writer) {
	m := rep.Machine
	fmt.Fprintf(w, "zoomwatch bench · %d cores (%s), %.0f GiB RAM, %s, %s, fsync on", m.Cores, m.CPU, m.MemoryGiB, m.Go, m.Platform)
	if rep.Quick {
		fmt.Fprint(w, " · --quick sizes")
	}
	fmt.Fprintf(w, "\n  the simulator, the client, the writer and any viewers share these %d cores (and the machine\n  may be shared with other work): treat figures as noisy, compare runs on the same machine\n", m.Cores)
	if rep.Ingest != nil {
		rep.Ingest.writeTable(w)
	}
	if rep.Store != nil {
		rep.Store.writeTable(w)
	}
	if rep.Memory != nil {
		rep.Memory.writeTable(w)
	}
	if rep.Soak != nil {
		rep.Soak.writeTable(w)
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "FAILED %s\n", f)
	}
}

// goal renders "(goal ≤ 5 ms ✓)".
func goal(text string, met bool) string {
	mark := "✓"
	if !met {
		mark = "✗"
	}
	return "(goal " + text + " " + mark + ")"
}
