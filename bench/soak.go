package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"zoomwatch/feed/sim"
	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
)

// SoakReport is a long run of a zoomwatch tail process under faults, with restarts.
type SoakReport struct {
	Seconds    float64        `json:"seconds"`
	Rate       float64        `json:"rate"`
	FaultEvery float64        `json:"fault_every_seconds"`
	Restarts   []string       `json:"restarts,omitempty"`
	Faults     map[string]int `json:"faults"` // by kind, those that hit a live link
	Processes  int            `json:"processes"`

	Delivered      int    `json:"delivered_distinct"`
	DeliveredTotal uint64 `json:"delivered_frames"` // duplicates included
	Duplicates     uint64 `json:"duplicates_delivered"`
	Lost           uint64 `json:"generated_while_disconnected"`
	Stored         int    `json:"stored"`
	Printed        int    `json:"printed"`
	LostInRestarts int    `json:"delivered_in_restart_gaps"`
	Outages        int    `json:"outages"`
	Gaps           int    `json:"gaps"`
	JunkSent       uint64 `json:"junk_frames_sent"`
	JunkKept       uint64 `json:"junk_frames_kept"`

	// Trends of the last process (the longest): goroutines, heap-like memory (RssAnon, what
	// a leak grows) and all resident memory (which also counts the database's mapped pages,
	// growing with the file).
	Goroutines Trend `json:"goroutines"`
	Anon       Trend `json:"rss_anon_bytes"`
	RSS        Trend `json:"rss_bytes"`

	Checks []Check `json:"checks"`
	Pass   bool    `json:"pass"`
}

// Fault kinds, injected in this order, one every FaultEvery.
const (
	faultDrop    = "drop"
	faultSilence = "silence"
	faultEvict   = "eviction"
	faultJunk    = "junk frames"
	faultToken   = "token expiry"
)

var faultCycle = []string{faultDrop, faultSilence, faultEvict, faultJunk, faultToken}

// Restart variants.
const (
	RestartSIGTERM = "sigterm"
	RestartKill9   = "kill9"
)

const (
	soakHeartbeat  = time.Second
	soakDuplicates = 97 // the simulator redelivers an event after every this many
	junkPerFault   = 4  // one of each kind of bad frame
)

// eventKey identifies an event by its exact bytes.
type eventKey [16]byte

func keyOf(raw []byte) eventKey {
	h := sha256.Sum256(raw)
	return eventKey(h[:16])
}

// outage is a fault or restart that cut reception; it must show up as a recorded gap.
type outage struct {
	kind string
	at   time.Time
}

// segment is one child process's life and what was sampled from it.
type segment struct {
	pid        int
	rss, anon  []float64
	goroutines []float64
}

// soaker runs one soak.
type soaker struct {
	r      *runner
	sim    *sim.Server
	db     string
	period time.Duration // sampling and goroutine-trace period

	mu          sync.Mutex
	delivered   map[eventKey]time.Time // when each event was first delivered
	printed     map[eventKey]int
	printedN    int
	segments    []*segment
	outages     []outage
	faults      map[string]int
	unexpected  []string // exits nobody asked for
	stopFailure []string // planned stops that did not end as they should

	cur     *child
	planned *atomic.Bool // the current child's exit is being caused by the soak
}

func (r *runner) soak(ctx context.Context) (*SoakReport, error) {
	o := r.o
	k := &soaker{r: r, db: filepath.Join(r.work, "soak.db"), delivered: map[eventKey]time.Time{}, printed: map[eventKey]int{}, faults: map[string]int{}}
	k.period = min(5*time.Second, max(time.Second, o.Duration/24))
	var err error
	k.sim, err = sim.Start(sim.Options{Seed: 5, Rate: o.Rate, Faults: sim.Faults{DuplicateEvery: soakDuplicates},
		OnDeliver: func(raw []byte) {
			key, now := keyOf(raw), time.Now()
			k.mu.Lock()
			if _, again := k.delivered[key]; !again {
				k.delivered[key] = now
			}
			k.mu.Unlock()
		}})
	if err != nil {
		return nil, err
	}
	defer k.sim.Close()
	if err := k.startChild(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if !k.cur.hasExited() {
			k.planned.Store(true)
			k.cur.stop(syscall.SIGKILL, time.Second)
		}
	}()
	r.progress("soak: %v at %.0f ev/s, a fault every %v, restarts %v; zoomwatch pid %d", o.Duration, o.Rate, o.FaultEvery, restartList(o.Restarts), k.cur.pid())

	start := time.Now()
	if err := k.run(ctx, start); err != nil {
		return nil, err
	}
	return k.finish(ctx, start)
}

func restartList(rs []string) string {
	if len(rs) == 0 {
		return "none"
	}
	return strings.Join(rs, ", ")
}

// soakArgs runs tail as the soak asks: a short heartbeat and scaled-down backoff so
// that a fault a minute (or every few seconds in CI) is survivable many times over.
func (k *soaker) soakArgs() []string {
	return []string{"tail", "--json", "--db", k.db, "--log", filepath.Join(k.r.work, "soak.log"),
		"--heartbeat", soakHeartbeat.String(), "--backoff-scale", "0.05"}
}

// startChild starts a zoomwatch tail and its bookkeeping: each printed line counted, its
// goroutines read from the runtime's trace, its exit watched.
func (k *soaker) startChild(ctx context.Context) error {
	seg := &segment{}
	gc := &goroutineCounter{emit: func(_ time.Time, n int) {
		k.mu.Lock()
		seg.goroutines = append(seg.goroutines, float64(n))
		k.mu.Unlock()
	}}
	c, err := k.r.startChild(ctx, childSpec{
		args: k.soakArgs(),
		env:  append(simEnv(k.sim), goroutineTrace(k.period)),
		stdout: func(line []byte) {
			key := keyOf(line)
			k.mu.Lock()
			k.printed[key]++
			k.printedN++
			k.mu.Unlock()
		},
		stderr: func(line string) { gc.line(line, time.Now()) },
	})
	if err != nil {
		return err
	}
	seg.pid = c.pid()
	planned := &atomic.Bool{}
	k.mu.Lock()
	k.segments = append(k.segments, seg)
	k.cur, k.planned = c, planned
	k.mu.Unlock()
	go func() {
		<-c.exited
		gc.flush() // its stderr is read to the end
		if !planned.Load() {
			k.mu.Lock()
			k.unexpected = append(k.unexpected, fmt.Sprintf("pid %d exited (%v) after %v:\n%s", seg.pid, c.waitErr,
				time.Since(c.started).Round(time.Second), c.stderrTail()))
			k.mu.Unlock()
		}
	}()
	return c.waitLive(ctx, 30*time.Second)
}

// run injects faults and restarts and samples the process until the duration is over.
func (k *soaker) run(ctx context.Context, start time.Time) error {
	o := k.r.o
	restarts := restartTimes(o.Duration, o.FaultEvery, len(o.Restarts))
	faultTick := time.NewTicker(o.FaultEvery)
	defer faultTick.Stop()
	sampleTick := time.NewTicker(k.period)
	defer sampleTick.Stop()
	end := time.NewTimer(o.Duration)
	defer end.Stop()
	restartTimer := time.NewTimer(0)
	restartTimer.Stop()
	defer restartTimer.Stop()
	var restartC <-chan time.Time // nil once no restart is left
	if len(restarts) > 0 {
		restartTimer.Reset(restarts[0])
		restartC = restartTimer.C
	}
	nextFault, nextRestart := 0, 0
	lastReport := start
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end.C:
			return nil
		case <-faultTick.C:
			kind := faultCycle[nextFault%len(faultCycle)]
			nextFault++
			k.inject(kind)
		case <-restartC:
			if err := k.restart(ctx, o.Restarts[nextRestart]); err != nil {
				return err
			}
			if nextRestart++; nextRestart < len(restarts) {
				restartTimer.Reset(time.Until(start.Add(restarts[nextRestart])))
			} else {
				restartC = nil
			}
		case <-sampleTick.C:
			k.sample()
			if time.Since(lastReport) >= time.Minute {
				lastReport = time.Now()
				k.report(start)
			}
		}
	}
}

// restartTimes places n restarts in the run's first half (at 20%, 40%… so that the last
// process lives longest, for its leak trends), each midway between two faults so that a
// restart and a fault never merge into one outage.
func restartTimes(d, faultEvery time.Duration, n int) []time.Duration {
	var out []time.Duration
	for i := range n {
		at := time.Duration(float64(d) * 0.2 * float64(i+1))
		out = append(out, at.Truncate(faultEvery)+faultEvery/2)
	}
	return out
}

// inject causes one fault and records an outage if it cut a live link.
func (k *soaker) inject(kind string) {
	s := k.sim
	at := time.Now()
	before := s.Stats()
	var cut bool
	switch kind {
	case faultDrop:
		s.Drop()
		cut = s.Stats().Drops > before.Drops
	case faultSilence:
		s.Silence()
		cut = s.Stats().Silences > before.Silences
	case faultEvict:
		s.Evict()
		cut = s.Stats().Evictions > before.Evictions
	case faultJunk:
		for range junkPerFault {
			s.SendMalformed()
		}
		k.mu.Lock()
		if s.Stats().Malformed > before.Malformed {
			k.faults[kind]++
		}
		k.mu.Unlock()
		return
	case faultToken:
		// Open links keep working after their token expires (Zoom checks it when a link is
		// built), so the expiry shows at the next connection: drop the link to get there.
		s.ExpireTokens()
		s.Drop()
		cut = s.Stats().Drops > before.Drops
	}
	if cut {
		k.mu.Lock()
		k.faults[kind]++
		k.outages = append(k.outages, outage{kind, at})
		k.mu.Unlock()
	}
}

// restart stops the process (SIGTERM: a clean stop, which must exit 0; kill -9: a crash)
// and starts another on the same database.
func (k *soaker) restart(ctx context.Context, kind string) error {
	sig := syscall.SIGTERM
	if kind == RestartKill9 {
		sig = syscall.SIGKILL
	}
	at := time.Now()
	k.planned.Store(true)
	code := k.cur.stop(sig, 15*time.Second)
	if sig == syscall.SIGTERM && code != 0 {
		k.mu.Lock()
		k.stopFailure = append(k.stopFailure, fmt.Sprintf("SIGTERM: exit %d:\n%s", code, k.cur.stderrTail()))
		k.mu.Unlock()
	}
	k.mu.Lock()
	k.outages = append(k.outages, outage{"restart (" + kind + ")", at})
	k.mu.Unlock()
	if err := k.startChild(ctx); err != nil {
		return err
	}
	k.r.progress("soak: restarted after %s; zoomwatch pid %d", kind, k.cur.pid())
	return nil
}

// sample reads the current process's memory.
func (k *soaker) sample() {
	k.mu.Lock()
	seg, c := k.segments[len(k.segments)-1], k.cur
	k.mu.Unlock()
	if c.hasExited() {
		return
	}
	m, err := readProcMem(c.pid())
	if err != nil {
		return
	}
	k.mu.Lock()
	seg.rss = append(seg.rss, m.RSS)
	seg.anon = append(seg.anon, m.Anon)
	k.mu.Unlock()
}

func (k *soaker) report(start time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	seg := k.segments[len(k.segments)-1]
	rss, gor := 0.0, 0.0
	if n := len(seg.rss); n > 0 {
		rss = seg.rss[n-1]
	}
	if n := len(seg.goroutines); n > 0 {
		gor = seg.goroutines[n-1]
	}
	faults := 0
	for _, n := range k.faults {
		faults += n
	}
	k.r.progress("soak %v: %s events delivered, %s printed, %d faults, %s resident, %.0f goroutines",
		time.Since(start).Round(time.Second), numfmt.Thousands(int64(len(k.delivered))), numfmt.Thousands(int64(k.printedN)), faults, mib(rss), gor)
}

// settle waits until the process has printed everything it is going to: the simulator is
// quiet and nothing new was delivered or printed for a few heartbeats.
func (k *soaker) settle(ctx context.Context) error {
	k.sim.SetRate(1e-4)
	quiet := 3 * soakHeartbeat
	deadline := time.Now().Add(2 * time.Minute)
	var lastD, lastP int
	lastChange := time.Now()
	tick := time.NewTicker(100 * time.Millisecond) // polling counters: nothing to wait on
	defer tick.Stop()
	for {
		k.mu.Lock()
		d, p := len(k.delivered), len(k.printed)
		k.mu.Unlock()
		switch {
		case p >= d:
			return nil
		case d != lastD || p != lastP:
			lastD, lastP, lastChange = d, p, time.Now()
		case time.Since(lastChange) >= quiet:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("soak: still not settled after 2 minutes (%d delivered, %d printed)", d, p)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// finish stops the last process cleanly, reads the store and judges the run.
func (k *soaker) finish(ctx context.Context, start time.Time) (*SoakReport, error) {
	o := k.r.o
	if err := k.settle(ctx); err != nil {
		return nil, err
	}
	k.planned.Store(true)
	k.mu.Lock()
	k.outages = append(k.outages, outage{"stop at the end", time.Now()})
	k.mu.Unlock()
	if code := k.cur.stop(syscall.SIGTERM, 15*time.Second); code != 0 {
		k.mu.Lock()
		k.stopFailure = append(k.stopFailure, fmt.Sprintf("final SIGTERM: exit %d:\n%s", code, k.cur.stderrTail()))
		k.mu.Unlock()
	}
	rep := &SoakReport{Seconds: time.Since(start).Seconds(), Rate: o.Rate, FaultEvery: o.FaultEvery.Seconds(), Restarts: o.Restarts}

	st, err := store.Open(store.Options{Path: k.db, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	stored := map[eventKey]int{}
	if err := st.Scan(ctx, store.Filter{}, func(r *store.Record) error {
		stored[keyOf(r.Raw)]++
		return nil
	}); err != nil {
		return nil, err
	}
	gaps, err := st.Gaps(1 << 20)
	if err != nil {
		return nil, err
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	ss := k.sim.Stats()
	ev := soakEvidence{
		delivered: k.delivered, stored: stored, printed: k.printed, gaps: gaps, outages: k.outages,
		heartbeat: soakHeartbeat, unexpected: k.unexpected, stopFailures: k.stopFailure,
		junkSent: ss.Malformed, junkKept: st.Health().Counts.Anomalies, last: k.segments[len(k.segments)-1],
		processes: len(k.segments),
	}
	rep.Checks, rep.LostInRestarts = ev.verdicts()
	rep.Pass = checksPass(rep.Checks)
	rep.Faults, rep.Processes = k.faults, len(k.segments)
	rep.Delivered, rep.DeliveredTotal, rep.Duplicates, rep.Lost = len(k.delivered), ss.Delivered, ss.Duplicates, ss.Lost
	rep.Stored, rep.Printed, rep.Outages, rep.Gaps = len(stored), k.printedN, len(k.outages), len(gaps)
	rep.JunkSent, rep.JunkKept = ev.junkSent, ev.junkKept
	rep.Goroutines, rep.Anon, rep.RSS = ev.trends()
	return rep, nil
}

func (rep *SoakReport) writeTable(w io.Writer) {
	verdict := "PASS"
	if !rep.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "soak        %s · %v at %.0f ev/s, a fault every %v, restarts: %s, %d processes\n", verdict,
		time.Duration(rep.Seconds*float64(time.Second)).Round(time.Second), rep.Rate, time.Duration(rep.FaultEvery*float64(time.Second)),
		restartList(rep.Restarts), rep.Processes)
	var faults []string
	for _, kind := range faultCycle {
		faults = append(faults, fmt.Sprintf("%s %d", kind, rep.Faults[kind]))
	}
	fmt.Fprintf(w, "  faults      %s\n", strings.Join(faults, ", "))
	fmt.Fprintf(w, "  events      %s delivered (%s frames, %s redelivered duplicates), %s stored, %s printed; %s generated while disconnected\n",
		numfmt.Thousands(int64(rep.Delivered)), numfmt.Thousands(int64(rep.DeliveredTotal)), numfmt.Thousands(int64(rep.Duplicates)),
		numfmt.Thousands(int64(rep.Stored)), numfmt.Thousands(int64(rep.Printed)), numfmt.Thousands(int64(rep.Lost)))
	fmt.Fprintf(w, "  outages     %d, recorded gaps %d; junk frames sent %d, kept %d\n", rep.Outages, rep.Gaps, rep.JunkSent, rep.JunkKept)
	fmt.Fprintf(w, "  last process goroutines %.0f → %.0f (max %.0f), heap RSS %s → %s, all RSS %s → %s (halves' medians after warm-up)\n",
		rep.Goroutines.FirstHalf, rep.Goroutines.SecondHalf, rep.Goroutines.Max, mib(rep.Anon.FirstHalf), mib(rep.Anon.SecondHalf),
		mib(rep.RSS.FirstHalf), mib(rep.RSS.SecondHalf))
	for _, c := range rep.Checks {
		mark := "✓"
		if !c.OK {
			mark = "✗"
		}
		fmt.Fprintf(w, "  %s %-22s %s\n", mark, c.Name, c.Detail)
	}
}
