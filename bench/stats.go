package bench

import (
	"fmt"
	"math"
	"slices"
	"time"

	"zoomwatch/internal/numfmt"
)

// Latency summarises durations, in milliseconds for readers of the JSON.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// summarize sorts ds in place and summarises it.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	return Latency{N: len(ds), P50: ms(percentile(ds, 50)), P99: ms(percentile(ds, 99)), Max: ms(ds[len(ds)-1])}
}

// percentile is the nearest-rank percentile of sorted durations: the smallest value that at
// least p% of the values do not exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (l Latency) String() string {
	if l.N == 0 {
		return "—"
	}
	return fmtMs(l.P50) + " / " + fmtMs(l.P99)
}

// fmtMs prints a millisecond figure with the precision it deserves.
func fmtMs(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// What a rate step must show to count as held: the client kept pace and its lag did not
// build up. The thresholds are deliberately plain so that the table can state them.
const (
	heldMinShare   = 0.95                   // of the offered rate received (stored, decoded)
	heldMaxP99     = time.Second            // event → store (or → decoded), and → screen
	heldMaxGrowth  = 250 * time.Millisecond // median lag, last fifth of the window minus first fifth
	heldQueueFloor = 100                    // events read but not stored at the window's end…
	heldQueueTime  = 250 * time.Millisecond // …or this much of the offered rate, whichever is more
)

// Step is one rate of the ingest ladder for one client.
type Step struct {
	Offered  float64 `json:"offered_per_s"`
	Received float64 `json:"received_per_s"` // stored (zoomwatch) or decoded (bare client) per second
	// Latency is event → store for zoomwatch (send stamp to commit), event → decoded for the
	// bare client.
	Latency Latency  `json:"latency"`
	Screen  *Latency `json:"event_to_screen,omitempty"`
	// GrowthMs is the median lag of the window's last fifth minus that of its first fifth.
	GrowthMs float64 `json:"lag_growth_ms"`
	// Queued counts events the feed had read but the store had not committed at the end.
	Queued int `json:"queued_at_end"`
	// Missed counts notices the bench's own subscriber was too slow for: its figures then
	// leave events out.
	Missed int `json:"bench_missed_notices,omitempty"`
	// CPU is the cores the bench's process kept busy in the window, the simulator's work
	// included (for both clients): it shows whether a client fell behind for want of CPU.
	CPU float64 `json:"cpu_cores,omitempty"`
	// CPUByPart splits CPU by what the process was doing, from a CPU profile of the window
	// (see internal/cpupart): feed, store, live, screen, simulator, bench, runtime.
	CPUByPart map[string]float64 `json:"cpu_cores_by_part,omitempty"`
	Held      bool               `json:"held"`
	Why       []string           `json:"why_not,omitempty"`
	Retry     bool               `json:"retry,omitempty"` // a second run of a step that failed once
}

// judge decides whether the step was held and says why not.
func (s *Step) judge() {
	s.Why = nil
	if s.Latency.N == 0 {
		s.Why = append(s.Why, "nothing received")
	}
	if s.Received < heldMinShare*s.Offered {
		s.Why = append(s.Why, fmt.Sprintf("received %.0f%% of the offered rate", 100*s.Received/s.Offered))
	}
	if s.Latency.P99 > ms(heldMaxP99) {
		s.Why = append(s.Why, "p99 lag "+fmtMs(s.Latency.P99))
	}
	switch {
	case s.Screen != nil && s.Screen.N == 0:
		s.Why = append(s.Why, "nothing drawn")
	case s.Screen != nil && s.Screen.P99 > ms(heldMaxP99):
		s.Why = append(s.Why, "p99 to screen "+fmtMs(s.Screen.P99))
	}
	if s.GrowthMs > ms(heldMaxGrowth) {
		s.Why = append(s.Why, "lag grew by "+fmtMs(s.GrowthMs))
	}
	if limit := max(heldQueueFloor, int(s.Offered*heldQueueTime.Seconds())); s.Queued > limit {
		s.Why = append(s.Why, fmt.Sprintf("%d events queued at the end", s.Queued))
	}
	if s.Missed > 0 {
		s.Why = append(s.Why, fmt.Sprintf("the bench's own subscriber missed %d notices", s.Missed))
	}
	s.Held = len(s.Why) == 0
}

// lagGrowth compares the median lag of the last fifth of samples (in arrival order) with
// that of the first fifth: a client falling behind shows a lag that keeps rising.
func lagGrowth(inOrder []time.Duration) time.Duration {
	k := len(inOrder) / 5
	if k == 0 {
		return 0
	}
	first := slices.Clone(inOrder[:k])
	last := slices.Clone(inOrder[len(inOrder)-k:])
	slices.Sort(first)
	slices.Sort(last)
	return percentile(last, 50) - percentile(first, 50)
}

// highestHeld is the highest offered rate held, 0 if none.
func highestHeld(steps []Step) float64 {
	best := 0.0
	for _, s := range steps {
		if s.Held {
			best = max(best, s.Offered)
		}
	}
	return best
}

// Trend compares a resource's level in the two halves of a run (after warm-up): a leak
// shows as a second half above the first.
type Trend struct {
	Samples    int     `json:"samples"`
	FirstHalf  float64 `json:"first_half_median"`
	SecondHalf float64 `json:"second_half_median"`
	Max        float64 `json:"max"`
	Flat       bool    `json:"flat"`
}

// warmupShare of the samples is left out of a trend: caches and pools fill at the start.
const warmupShare = 0.2

// trend judges samples (in time order) flat when the second half's median exceeds the
// first half's by no more than rel (a fraction) plus abs. Too few samples to tell is flat
// with Samples saying how few.
func trend(samples []float64, rel, abs float64) Trend {
	t := Trend{Samples: len(samples), Flat: true}
	for _, v := range samples {
		t.Max = max(t.Max, v)
	}
	s := samples[int(float64(len(samples))*warmupShare):]
	if len(s) < 4 {
		return t
	}
	h := len(s) / 2
	t.FirstHalf, t.SecondHalf = median(s[:h]), median(s[h:])
	t.Flat = t.SecondHalf <= t.FirstHalf*(1+rel)+abs
	return t
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Check is one verdict of the soak.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func checksPass(cs []Check) bool {
	for _, c := range cs {
		if !c.OK {
			return false
		}
	}
	return true
}

// perSecond formats a rate for the table: 38,000 ev/s.
func perSecond(v float64) string { return numfmt.Thousands(int64(math.Round(v))) + " ev/s" }

func mib(bytes float64) string { return fmt.Sprintf("%.1f MiB", bytes/(1<<20)) }
