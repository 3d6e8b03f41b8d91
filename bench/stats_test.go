package bench

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func msDurations(vs ...int) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestSummarizeUsesNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got := summarize(ds); got != (Latency{N: 100, P50: 50, P99: 99, Max: 100}) {
		t.Fatalf("1..100 ms: %+v", got)
	}
	if got := summarize(msDurations(7)); got != (Latency{N: 1, P50: 7, P99: 7, Max: 7}) {
		t.Fatalf("one value: %+v", got)
	}
	if got := summarize(nil); got != (Latency{}) || got.String() != "—" {
		t.Fatalf("no values: %+v %q", got, got.String())
	}
	// Ten values: p99 is the largest, p50 the fifth.
	if got := summarize(msDurations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)); got.P50 != 5 || got.P99 != 10 {
		t.Fatalf("1..10 ms: %+v", got)
	}
}

func TestJudgeSaysWhyAStepWasNotHeld(t *testing.T) {
	good := func() Step {
		return Step{Offered: 10_000, Received: 9_900, Latency: Latency{N: 49_500, P50: 5, P99: 40}, Screen: &Latency{N: 49_000, P50: 9, P99: 60}}
	}
	s := good()
	s.judge()
	if !s.Held || len(s.Why) != 0 {
		t.Fatalf("a step that kept pace: %+v", s)
	}
	for name, c := range map[string]struct {
		spoil func(*Step)
		why   string
	}{
		"slow":         {func(s *Step) { s.Received = 9_000 }, "received 90%"},
		"lagging":      {func(s *Step) { s.Latency.P99 = 1500 }, "p99 lag 1500 ms"},
		"screen":       {func(s *Step) { s.Screen.P99 = 2000 }, "p99 to screen"},
		"growing":      {func(s *Step) { s.GrowthMs = 400 }, "lag grew"},
		"queued":       {func(s *Step) { s.Queued = 2600 }, "2600 events queued"},
		"nothing":      {func(s *Step) { s.Latency = Latency{}; s.Received = 0 }, "nothing received"},
		"bare, queued": {func(s *Step) { s.Screen = nil; s.Queued = 5000 }, "queued"},
		"not drawn":    {func(s *Step) { s.Screen = &Latency{} }, "nothing drawn"},
		"bench missed": {func(s *Step) { s.Missed = 2 }, "missed 2 notices"},
	} {
		s := good()
		c.spoil(&s)
		s.judge()
		if s.Held || !strings.Contains(strings.Join(s.Why, "; "), c.why) {
			t.Errorf("%s: held %v, why %q; want %q", name, s.Held, s.Why, c.why)
		}
	}
	// A small queue is in-flight work, not falling behind.
	s = good()
	s.Queued = 2000
	if s.judge(); !s.Held {
		t.Fatalf("a quarter second's worth queued: %v", s.Why)
	}
}

func TestLagGrowthComparesLastFifthWithFirst(t *testing.T) {
	steady := msDurations(5, 6, 5, 7, 5, 6, 5, 6, 5, 6)
	if g := lagGrowth(steady); g > time.Millisecond {
		t.Fatalf("steady lag grew by %v", g)
	}
	var rising []time.Duration
	for i := range 100 {
		rising = append(rising, time.Duration(i*10)*time.Millisecond)
	}
	if g := lagGrowth(rising); g < 700*time.Millisecond {
		t.Fatalf("rising lag: growth %v", g)
	}
	if g := lagGrowth(msDurations(1, 900)); g != 0 {
		t.Fatalf("too few samples to tell: %v", g)
	}
	if !slices.Equal(rising[:3], msDurations(0, 10, 20)) {
		t.Fatal("lagGrowth reordered its input")
	}
}

// runLadder runs ladder over rates with steps whose outcomes are scripted by rate, run by
// run (a rate not scripted is held), and returns the rates run in order.
func runLadder(t *testing.T, rates []float64, outcome map[float64][]bool) ([]Step, []float64) {
	t.Helper()
	runs := map[float64]int{}
	steps, err := ladder(context.Background(), rates, func(rate float64) (Step, error) {
		held := true
		if o := outcome[rate]; runs[rate] < len(o) {
			held = o[runs[rate]]
		}
		runs[rate]++
		return Step{Offered: rate, Held: held}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, s := range steps {
		got = append(got, s.Offered)
	}
	return steps, got
}

func TestLadderRetriesAFailedStepOnceThenStops(t *testing.T) {
	// 3000 fails once (noise), 4000 fails twice (the ceiling), 5000 must not run; 3500,
	// half way, fails twice too; the gap is then 500, a sixth of 3000, and 3250 runs last.
	steps, got := runLadder(t, []float64{1000, 2000, 3000, 4000, 5000},
		map[float64][]bool{3000: {false, true}, 4000: {false, false}, 3500: {false, false}})
	if !slices.Equal(got, []float64{1000, 2000, 3000, 3000, 4000, 4000, 3500, 3500, 3250}) {
		t.Fatalf("steps run: %v", got)
	}
	if !steps[3].Retry || steps[2].Retry || steps[6].Retry || !steps[7].Retry || steps[8].Retry {
		t.Fatalf("retries not marked: %+v", steps)
	}
	if h := highestHeld(steps); h != 3250 {
		t.Fatalf("highest held %v", h)
	}
	if f := firstFailure(steps); f == nil || f.Offered != 3500 || !f.Retry {
		t.Fatalf("first failure %+v", f)
	}
}

// Between the highest rate held and the first not held, the ladder tries half way, at
// most twice, and stops once the gap is within 5% of the rate held.
func TestLadderNarrowsTheGapToTheFirstFailure(t *testing.T) {
	rates := []float64{5000, 10_000, 12_500, 15_000, 17_500, 20_000}
	for _, c := range []struct {
		name    string
		rates   []float64 // nil: the ones above
		outcome map[float64][]bool
		want    []float64
		held    float64
	}{
		{"held half way, not three quarters of the way", nil, map[float64][]bool{17_500: {false, false}, 17_000: {false, false}},
			[]float64{5000, 10_000, 12_500, 15_000, 17_500, 17_500, 16_250, 17_000, 17_000}, 16_250},
		{"a wide gap, two rounds at most", nil, map[float64][]bool{10_000: {false, false}},
			[]float64{5000, 10_000, 10_000, 7500, 8750}, 8750},
		{"within 5%: no refinement", []float64{10_000, 10_250, 10_500}, map[float64][]bool{10_500: {false, false}},
			[]float64{10_000, 10_250, 10_500, 10_500}, 10_250},
		{"nothing held: nothing to narrow", nil, map[float64][]bool{5000: {false, false}},
			[]float64{5000, 5000}, 0},
		{"the top held", nil, nil, rates, 20_000},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.rates == nil {
				c.rates = rates
			}
			steps, got := runLadder(t, c.rates, c.outcome)
			if !slices.Equal(got, c.want) {
				t.Fatalf("steps run: %v, want %v", got, c.want)
			}
			if h := highestHeld(steps); h != c.held {
				t.Fatalf("highest held %v, want %v", h, c.held)
			}
		})
	}
}

func TestTrendSeesALeakButNotWarmUpOrNoise(t *testing.T) {
	warmThenFlat := []float64{5, 8, 10, 10, 11, 10, 10, 11, 10, 11, 10, 10}
	if tr := trend(warmThenFlat, 0.1, 1); !tr.Flat || tr.Max != 11 {
		t.Fatalf("warm-up then flat: %+v", tr)
	}
	var leak []float64
	for i := range 40 {
		leak = append(leak, 20+float64(i))
	}
	if tr := trend(leak, 0.1, 3); tr.Flat {
		t.Fatalf("one more every sample: %+v", tr)
	}
	if tr := trend([]float64{1, 100}, 0, 0); !tr.Flat || tr.Samples != 2 {
		t.Fatalf("too few samples: %+v", tr)
	}
}

// A share measured against a bare client that held the ladder's top rate is only an upper
// bound: the table must not call the goal met.
func TestIngestTableMeetsNoGoalWithAnUnknownCeiling(t *testing.T) {
	held := func(rate float64) Step { return Step{Offered: rate, Received: rate, Held: true} }
	for _, c := range []struct {
		bareTop bool
		want    string
	}{{false, "(goal ≥ 0.8 ✓)"}, {true, "(goal ≥ 0.8 ✗)"}} {
		rep := &IngestReport{Zoomwatch: []Step{held(15_000)}, Bare: []Step{held(17_500)}, ZoomwatchHeld: 15_000,
			BareHeld: 17_500, BareTopReached: c.bareTop, Ratio: 15_000.0 / 17_500, RatioGoal: ratioGoal}
		var out strings.Builder
		rep.writeTable(&out)
		line := ""
		for l := range strings.Lines(out.String()) {
			if strings.Contains(l, "ratio") {
				line = l
			}
		}
		if !strings.Contains(line, c.want) {
			t.Errorf("bare client held the top rate %v: ratio line %q, want %s", c.bareTop, line, c.want)
		}
	}
}
