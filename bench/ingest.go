package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"zoomwatch/auth"
	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/internal/cpupart"
	"zoomwatch/store"
)

// IngestReport is the ingest ladder: zoomwatch's whole pipeline and a bare client that only
// decodes, at the same rising rates, each until it falls behind.
type IngestReport struct {
	StepSeconds   float64 `json:"step_seconds"`
	Zoomwatch     []Step  `json:"zoomwatch"`
	Bare          []Step  `json:"bare_client"`
	ZoomwatchHeld float64 `json:"zoomwatch_highest_held_per_s"`
	BareHeld      float64 `json:"bare_highest_held_per_s"`
	// TopReached says a client held even the ladder's top rate: its ceiling is higher than
	// reported.
	ZoomwatchTopReached bool    `json:"zoomwatch_held_top_rate"`
	BareTopReached      bool    `json:"bare_held_top_rate"`
	Ratio               float64 `json:"ratio"`
	RatioGoal           float64 `json:"ratio_goal"`
}

const ratioGoal = 0.8

// stepWarmup is left out of each step's window: token, dial, build_connection, the TUI's
// first load.
func (r *runner) stepWarmup() time.Duration {
	if r.o.Quick {
		return time.Second
	}
	return 1500 * time.Millisecond
}

func (r *runner) ingest(ctx context.Context) (*IngestReport, error) {
	rep := &IngestReport{StepSeconds: r.o.StepTime.Seconds(), RatioGoal: ratioGoal}
	var err error
	rep.Zoomwatch, err = ladder(ctx, r.o.Rates, func(rate float64) (Step, error) {
		s, err := r.zoomwatchStep(ctx, rate)
		r.progress("ingest zoomwatch   %s", describeStep(s))
		return s, err
	})
	if err != nil {
		return rep, err
	}
	// The bare client also runs at zoomwatch's ceiling, for the parts side by side.
	bareRates := r.o.Rates
	if h := highestHeld(rep.Zoomwatch); h > 0 && !slices.Contains(bareRates, h) {
		bareRates = slices.Sorted(slices.Values(append(slices.Clone(bareRates), h)))
	}
	rep.Bare, err = ladder(ctx, bareRates, func(rate float64) (Step, error) {
		s, err := r.bareStep(ctx, rate)
		r.progress("ingest bare client %s", describeStep(s))
		return s, err
	})
	if err != nil {
		return rep, err
	}
	top := r.o.Rates[len(r.o.Rates)-1]
	rep.ZoomwatchHeld, rep.BareHeld = highestHeld(rep.Zoomwatch), highestHeld(rep.Bare)
	rep.ZoomwatchTopReached, rep.BareTopReached = rep.ZoomwatchHeld == top, rep.BareHeld == top
	if rep.BareHeld > 0 {
		rep.Ratio = rep.ZoomwatchHeld / rep.BareHeld
	}
	return rep, nil
}

// ladder runs steps at rising rates until one is not held twice in a row (one failure on a
// shared machine may be noise, so a failed step runs once more), then halves the gap between
// the highest rate held and that one while it is over refineGap of the rate held, at most
// refineRounds times: the ladder's steps alone put a sixth of zoomwatch's ceiling between
// two neighbouring results.
func ladder(ctx context.Context, rates []float64, run func(rate float64) (Step, error)) ([]Step, error) {
	var steps []Step
	try := func(rate float64) (held bool, err error) {
		for retry := range 2 {
			if retry > 0 && ctx.Err() != nil {
				return false, ctx.Err()
			}
			s, err := run(rate)
			if err != nil {
				return false, err
			}
			s.Retry = retry > 0
			steps = append(steps, s)
			if s.Held {
				return true, nil
			}
		}
		return false, nil
	}
	held, failed := 0.0, 0.0
	for _, rate := range rates {
		ok, err := try(rate)
		if err != nil {
			return steps, err
		}
		if !ok {
			failed = rate
			break
		}
		held = rate
	}
	for range refineRounds {
		mid := math.Round((held+failed)/2/refineUnit) * refineUnit
		if held == 0 || failed == 0 || failed-held <= refineGap*held || mid <= held || mid >= failed {
			break
		}
		ok, err := try(mid)
		if err != nil {
			return steps, err
		}
		if ok {
			held = mid
		} else {
			failed = mid
		}
	}
	return steps, ctx.Err()
}

// The ladder's refinement: rates between two steps are multiples of refineUnit.
const (
	refineRounds = 2
	refineGap    = 0.05
	refineUnit   = 250
)

func describeStep(s Step) string {
	verdict := "held"
	if !s.Held {
		verdict = "NOT held (" + strings.Join(s.Why, "; ") + ")"
	}
	out := fmt.Sprintf("%s offered, %s received, lag p50/p99 %s", perSecond(s.Offered), perSecond(s.Received), s.Latency)
	if s.Screen != nil {
		out += ", screen " + s.Screen.String()
	}
	if s.CPU > 0 {
		out += fmt.Sprintf(", %.2f cores busy", s.CPU)
	}
	return out + ": " + verdict
}

// window is the measured part of a step.
type window struct{ from, to time.Time }

func (w window) has(t time.Time) bool { return !t.Before(w.from) && t.Before(w.to) }

func (r *runner) newWindow() window {
	from := time.Now().Add(r.stepWarmup())
	return window{from, from.Add(r.o.StepTime)}
}

// waitWindow waits until the window ends and returns the cores this process kept busy in
// it (0 where /proc cannot tell), and how they split by part (nil without a profile). The
// profile is also written to Options.ProfileDir, if set, named for who and rate.
func (r *runner) waitWindow(ctx context.Context, win window, who string, rate float64) (float64, map[string]float64, error) {
	if err := sleepUntil(ctx, win.from); err != nil {
		return 0, nil, err
	}
	prof := startProfile()
	cpu0, err0 := cpuSeconds(os.Getpid())
	err := sleepUntil(ctx, win.to)
	cpu1, err1 := cpuSeconds(os.Getpid())
	cores := 0.0
	if err0 == nil && err1 == nil {
		cores = (cpu1 - cpu0) / win.to.Sub(win.from).Seconds()
	}
	parts, perr := prof.stop(cores, profilePath(r.o.ProfileDir, who, rate))
	if err != nil {
		return 0, nil, err
	}
	return cores, parts, perr
}

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// zoomwatchStep runs the real pipeline against the simulator at rate: auth and the feed
// client, the store (fsync on) fed in order as the collector feeds it, a subscriber that
// takes each event's commit time, and a TUI model drawn after every message.
func (r *runner) zoomwatchStep(ctx context.Context, rate float64) (Step, error) {
	step := Step{Offered: rate}
	dir, err := os.MkdirTemp(r.work, "ingest-")
	if err != nil {
		return step, err
	}
	defer os.RemoveAll(dir)
	s, err := startSim(rate)
	if err != nil {
		return step, err
	}
	defer s.Close()
	st, err := store.Open(store.Options{Path: filepath.Join(dir, "events.db")})
	if err != nil {
		return step, err
	}
	defer st.Close()
	o := s.Options()
	client := feed.New(feed.Config{URL: s.WSURL(),
		Tokens: auth.New(auth.Config{URL: s.OAuthURL(), AccountID: o.AccountID, ClientID: o.ClientID, ClientSecret: o.ClientSecret})})

	win := r.newWindow()
	var (
		sentMu sync.Mutex
		// The send stamp of each event submitted and not yet committed, in order: the store
		// publishes what it adds in the order it was submitted, leaving out duplicates.
		sentAt    []sentStamp
		stored    atomic.Int64
		missed    int
		storeLat  []time.Duration // in commit order
		screenLat []time.Duration
	)
	var scr *screen
	cpupart.Do(noPart, cpupart.Screen, func() { // its goroutines are labelled so
		scr, err = newScreen(st, client.Stats, func(at time.Time, sent []time.Time) {
			if !win.has(at) {
				return
			}
			for _, t := range sent {
				screenLat = append(screenLat, at.Sub(t))
			}
		})
	})
	if err != nil {
		return step, err
	}
	sub := st.Subscribe(1 << 14)
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		cpupart.Set(cpupart.In(cpupart.Bench))
		for n := range sub.C {
			missed += n.Missed
			sent := make([]time.Time, len(n.Records))
			sentMu.Lock()
			for i := range n.Records {
				ev := n.Records[i].Event
				for len(sentAt) > 0 && sentAt[0].ev != ev {
					sentAt = sentAt[1:] // a duplicate, not stored
				}
				if len(sentAt) > 0 {
					sent[i], sentAt = sentAt[0].at, sentAt[1:]
				}
			}
			sentMu.Unlock()
			stored.Add(int64(len(n.Records)))
			if win.has(n.Committed) {
				for _, t := range sent {
					storeLat = append(storeLat, n.Committed.Sub(t))
				}
			}
			scr.show(n, sent)
		}
	}()

	runCtx, stop := context.WithCancel(ctx)
	items := make(chan feed.Item, 4096) // as the collector's
	fed := make(chan struct{})
	go func() {
		cpupart.Set(cpupart.In(cpupart.Feed))
		client.Run(runCtx, items)
		close(items)
	}()
	go func() {
		defer close(fed)
		cpupart.Set(cpupart.In(cpupart.Store)) // the collector's hand-over: identity, queueing
		for it := range items {
			if it.Event != nil {
				sentMu.Lock()
				sentAt = append(sentAt, sentStamp{it.Event, it.SentAt})
				sentMu.Unlock()
			}
			st.Submit(context.Background(), it)
		}
	}()
	cpu, parts, waitErr := r.waitWindow(ctx, win, "zoomwatch", rate)
	step.Queued = int(int64(client.Stats().Events) - stored.Load())
	stop()
	<-fed
	st.Flush(context.Background())
	sub.Close()
	<-relayDone
	scr.close()
	if waitErr != nil {
		return step, waitErr
	}

	step.Received = float64(len(storeLat)) / r.o.StepTime.Seconds()
	step.GrowthMs = ms(lagGrowth(storeLat))
	step.Latency = summarize(storeLat)
	sl := summarize(screenLat)
	step.Screen = &sl
	step.Missed, step.CPU, step.CPUByPart = missed, cpu, parts
	step.judge()
	return step, nil
}

// noPart is no pprof labels: what the bench's own goroutine goes back to.
var noPart = context.Background()

// startSim starts the simulator at rate, its goroutines labelled as its part.
func startSim(rate float64) (s *sim.Server, err error) {
	cpupart.Do(noPart, cpupart.Simulator, func() {
		s, err = sim.Start(sim.Options{Seed: 1, Rate: rate, StampFrames: true})
	})
	return s, err
}

type sentStamp struct {
	ev *feed.Event
	at time.Time
}

// bareStep is the ceiling: a minimal client that reads frames and decodes them (frame and
// event) and does nothing else, against the same simulator at the same rate.
func (r *runner) bareStep(ctx context.Context, rate float64) (Step, error) {
	step := Step{Offered: rate}
	s, err := startSim(rate)
	if err != nil {
		return step, err
	}
	defer s.Close()
	o := s.Options()
	tok, err := auth.New(auth.Config{URL: s.OAuthURL(), AccountID: o.AccountID, ClientID: o.ClientID, ClientSecret: o.ClientSecret}).Token(ctx)
	if err != nil {
		return step, err
	}
	win := r.newWindow()
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, s.WSURL()+"&access_token="+url.QueryEscape(tok.Value), nil)
	if err != nil {
		return step, err
	}
	conn.SetReadLimit(64 << 20)
	var lat []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		cpupart.Set(cpupart.In(cpupart.Feed))
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			f, err := feed.DecodeFrame(data)
			if err != nil || f.Module != feed.ModuleMessage {
				continue
			}
			if _, err := feed.DecodeEvent(f.Content); err != nil {
				continue
			}
			if now := time.Now(); win.has(now) {
				lat = append(lat, now.Sub(feed.SentAt(f.Header)))
			}
		}
	}()
	cpu, parts, waitErr := r.waitWindow(ctx, win, "bare", rate)
	conn.Close()
	<-done
	if waitErr != nil {
		return step, waitErr
	}
	step.Received = float64(len(lat)) / r.o.StepTime.Seconds()
	step.GrowthMs = ms(lagGrowth(lat))
	step.Latency, step.CPU, step.CPUByPart = summarize(lat), cpu, parts
	step.judge()
	return step, nil
}

func (rep *IngestReport) writeTable(w io.Writer) {
	fmt.Fprintf(w, "ingest      highest rate held   event→store p50/p99     event→screen p50/p99   (steps of %.0f s, fsync on)\n", rep.StepSeconds)
	zw, bare := heldStep(rep.Zoomwatch, rep.ZoomwatchHeld), heldStep(rep.Bare, rep.BareHeld)
	screen := "—"
	if zw.Screen != nil {
		screen = zw.Screen.String()
	}
	fmt.Fprintf(w, "  zoomwatch   %-19s %-23s %s\n", ceilingText(rep.ZoomwatchHeld, rep.ZoomwatchTopReached), zw.Latency, screen)
	fmt.Fprintf(w, "  bare client %-19s %-23s %s   (event→decoded %s)\n", ceilingText(rep.BareHeld, rep.BareTopReached), "—", "—", bare.Latency)
	ratio := fmt.Sprintf("%.2f", rep.Ratio)
	switch {
	case rep.ZoomwatchTopReached:
		ratio += " (both held the ladder's top rate: add higher --rates)"
	case rep.BareTopReached:
		ratio = "≤ " + ratio + " (the bare client held the ladder's top rate: its ceiling is higher)"
	}
	// A ratio to a ceiling that was not found is only a bound: it meets no goal.
	met := rep.Ratio >= rep.RatioGoal && !rep.BareTopReached
	fmt.Fprintf(w, "  ratio       %s %s\n", ratio, goal(fmt.Sprintf("≥ %.1f", rep.RatioGoal), met))
	if zw.CPU > 0 && bare.CPU > 0 {
		fmt.Fprintf(w, "  cores busy  zoomwatch %.2f at %s, bare client %.2f at %s (the simulator's share included)\n",
			zw.CPU, perSecond(zw.Offered), bare.CPU, perSecond(bare.Offered))
	}
	// Where the cores went, both clients at the same rate: what zoomwatch adds is the parts
	// the bare client does not have, and the difference in the ones it has.
	if zw.CPUByPart != nil {
		fmt.Fprintf(w, "  by part     zoomwatch at %s: %s\n", perSecond(zw.Offered), describeParts(zw.CPUByPart))
		if b := heldStep(rep.Bare, zw.Offered); b.CPUByPart != nil {
			fmt.Fprintf(w, "              bare client at %s: %s\n", perSecond(b.Offered), describeParts(b.CPUByPart))
		}
	}
	if first := firstFailure(rep.Zoomwatch); first != nil {
		fmt.Fprintf(w, "  zoomwatch fell behind at %s: %s\n", perSecond(first.Offered), strings.Join(first.Why, "; "))
	}
	if first := firstFailure(rep.Bare); first != nil {
		fmt.Fprintf(w, "  bare client fell behind at %s: %s\n", perSecond(first.Offered), strings.Join(first.Why, "; "))
	}
}

// heldStep is the last held step at the highest held rate (its figures go in the table).
func heldStep(steps []Step, rate float64) Step {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Held && steps[i].Offered == rate {
			return steps[i]
		}
	}
	return Step{}
}

// firstFailure is the second run of the lowest rate not held twice, if any: where the
// client fell behind.
func firstFailure(steps []Step) *Step {
	var first *Step
	for i := range steps {
		if s := &steps[i]; s.Retry && !s.Held && (first == nil || s.Offered < first.Offered) {
			first = s
		}
	}
	return first
}

func ceilingText(rate float64, top bool) string {
	if top {
		return "≥ " + perSecond(rate)
	}
	return perSecond(rate)
}
