package bench

import (
	"fmt"
	"strings"
	"time"

	"zoomwatch/store"
)

// soakEvidence is everything a soak collected, for the verdicts.
type soakEvidence struct {
	delivered map[eventKey]time.Time // first delivery by the simulator, to whichever process was connected
	stored    map[eventKey]int       // in the database at the end
	printed   map[eventKey]int       // by tail, over all processes
	gaps      []store.Gap            // recorded, the one still open at the end included
	outages   []outage               // faults that cut a live link, and restarts
	heartbeat time.Duration

	unexpected   []string // processes that exited on their own
	stopFailures []string // planned stops that did not exit as they should
	processes    int

	junkSent, junkKept uint64
	last               *segment // the last (longest) process
}

// Leak thresholds: the second half of the last process may exceed the first by this much
// before the run counts as leaking (GC timing and a reconnect in flight move both a little).
const (
	goroutineSlack = 3
	anonRel        = 0.15
	anonAbs        = 8 << 20
)

// restartBefore is how long before a restart's recorded gap an event may have been
// delivered and still be lost with the process: it was on the wire or in the process's
// queues, not yet committed, so it was never shown.
const restartBefore = time.Second

func (e *soakEvidence) verdicts() (checks []Check, lostInRestarts int) {
	matched, unmatched, extra := matchOutages(e.outages, e.gaps, e.heartbeat)
	var restartGaps []store.Gap
	for i, g := range matched {
		if strings.HasPrefix(e.outages[i].kind, "restart") && g != nil {
			restartGaps = append(restartGaps, *g)
		}
	}
	once, lost := exactlyOnce(e.delivered, e.stored, restartGaps)
	checks = append(checks,
		check("never exited", fmt.Sprintf("%d processes; none exited on its own", e.processes), e.unexpected),
		check("stopped cleanly", "every SIGTERM ended with exit 0", e.stopFailures),
		once,
		outagesCheck(len(e.outages), unmatched, extra),
		shownStored(e.printed, e.stored),
		Check{Name: "junk frames kept", OK: e.junkKept == e.junkSent,
			Detail: fmt.Sprintf("%d bad frames sent while connected, %d kept as anomalies", e.junkSent, e.junkKept)},
	)
	gor, anon, _ := e.trends()
	checks = append(checks,
		Check{Name: "goroutines flat", OK: gor.Flat, Detail: trendDetail(gor, "%.0f", 1)},
		Check{Name: "memory flat", OK: anon.Flat, Detail: trendDetail(anon, "%.1f MiB", 1<<20) + " (RssAnon)"},
	)
	return checks, lost
}

// check passes with the good detail when there are no problems, else lists them.
func check(name, good string, problems []string) Check {
	if len(problems) == 0 {
		return Check{Name: name, OK: true, Detail: good}
	}
	return Check{Name: name, Detail: strings.Join(problems, "\n")}
}

func (e *soakEvidence) trends() (goroutines, anon, rss Trend) {
	goroutines = trend(e.last.goroutines, 0, goroutineSlack)
	anon = trend(e.last.anon, anonRel, anonAbs)
	rss = trend(e.last.rss, anonRel, anonAbs)
	return
}

func trendDetail(t Trend, format string, unit float64) string {
	if t.Samples < 5 {
		return fmt.Sprintf("too few samples to tell (%d)", t.Samples)
	}
	f := func(v float64) string { return fmt.Sprintf(format, v/unit) }
	return fmt.Sprintf("median %s in the first half, %s in the second (max %s; %d samples of the last process)",
		f(t.FirstHalf), f(t.SecondHalf), f(t.Max), t.Samples)
}

// exactlyOnce checks that every event the simulator delivered is stored once, however
// often it was delivered (redeliveries count once), and that nothing else is stored. An
// event delivered just before or during a restart's gap may be missing: it was delivered to
// a process that was then stopped before committing it (and so had not shown it).
func exactlyOnce(delivered map[eventKey]time.Time, stored map[eventKey]int, restartGaps []store.Gap) (Check, int) {
	var once, lost, missing, doubled, invented int
	for k, first := range delivered {
		switch n := stored[k]; {
		case n == 1:
			once++
		case n > 1:
			doubled++
		case inRestartGap(first, restartGaps):
			lost++
		default:
			missing++
		}
	}
	for k := range stored {
		if _, ok := delivered[k]; !ok {
			invented++
		}
	}
	c := Check{Name: "stored exactly once", OK: missing == 0 && doubled == 0 && invented == 0}
	c.Detail = fmt.Sprintf("%d delivered events stored once", once)
	if lost > 0 {
		c.Detail += fmt.Sprintf("; %d delivered to a process as it was stopped, inside its recorded gap", lost)
	}
	if !c.OK {
		c.Detail += fmt.Sprintf("; %d delivered but missing, %d stored more than once, %d stored but never delivered", missing, doubled, invented)
	}
	return c, lost
}

func inRestartGap(t time.Time, gaps []store.Gap) bool {
	for _, g := range gaps {
		if !t.Before(g.From.Add(-restartBefore)) && !t.After(g.To) {
			return true
		}
	}
	return false
}

// matchOutages finds the recorded gap that covers each outage (outages in time order): the
// nearest gap that began close to it (a cut link is noticed at once, a silent one only after
// about two heartbeats without a frame, a killed process's gap begins at its last commit),
// preferring one no earlier outage took; or else a gap already going on when it happened.
// Two outages share a gap when the second comes before the first is noticed, or while
// reception is down. A gap still open at the end
// goes on for ever. It returns each outage's gap (nil if none), the outages without one and
// the gaps that no outage explains.
func matchOutages(outages []outage, gaps []store.Gap, heartbeat time.Duration) (matched []*store.Gap, unmatched []outage, extra []store.Gap) {
	used := make([]bool, len(gaps))
	matched = make([]*store.Gap, len(outages))
	for i, o := range outages {
		before, after := 500*time.Millisecond, 2*time.Second
		switch {
		case o.kind == faultSilence:
			after = 3*heartbeat + 2*time.Second
		case strings.HasPrefix(o.kind, "restart"):
			before = 6 * time.Second // the process records that it is alive every 5 s when idle
		}
		near := func(shared bool) int {
			best := -1
			for j, g := range gaps {
				if used[j] && !shared || g.From.Before(o.at.Add(-before)) || g.From.After(o.at.Add(after)) {
					continue
				}
				if best < 0 || absDuration(g.From.Sub(o.at)) < absDuration(gaps[best].From.Sub(o.at)) {
					best = j
				}
			}
			return best
		}
		best := near(false)
		if best < 0 {
			best = near(true)
		}
		for j, g := range gaps {
			if best < 0 && !o.at.Before(g.From) && (g.Open() || !o.at.After(g.To)) {
				best = j
			}
		}
		if best < 0 {
			unmatched = append(unmatched, o)
			continue
		}
		used[best] = true
		matched[i] = &gaps[best]
	}
	for j, g := range gaps {
		if !used[j] {
			extra = append(extra, g)
		}
	}
	return matched, unmatched, extra
}

func absDuration(d time.Duration) time.Duration { return max(d, -d) }

func outagesCheck(n int, unmatched []outage, extra []store.Gap) Check {
	c := Check{Name: "every outage a gap", OK: len(unmatched) == 0,
		Detail: fmt.Sprintf("%d outages (faults that cut the link, restarts), each a recorded gap", n)}
	if !c.OK {
		var kinds []string
		for _, o := range unmatched {
			kinds = append(kinds, o.kind+" at "+o.at.Format("15:04:05.000"))
		}
		c.Detail = fmt.Sprintf("%d of %d outages have no recorded gap: %s", len(unmatched), n, strings.Join(kinds, ", "))
	}
	if len(extra) > 0 {
		var why []string
		for _, g := range extra {
			why = append(why, fmt.Sprintf("%s (%s)", g.From.Format("15:04:05.000"), g.Reason))
		}
		c.Detail += fmt.Sprintf("; %d more gaps without an injected cause: %s", len(extra), strings.Join(why, ", "))
	}
	return c
}

// shownStored checks store-then-show across restarts: every line tail printed is in the
// database at the end, and none was printed twice.
func shownStored(printed, stored map[eventKey]int) Check {
	var lost, twice, total int
	for k, n := range printed {
		total += n
		if stored[k] == 0 {
			lost++
		}
		if n > 1 {
			twice++
		}
	}
	c := Check{Name: "nothing shown is lost", OK: lost == 0 && twice == 0,
		Detail: fmt.Sprintf("all %d printed events are stored", total)}
	if !c.OK {
		c.Detail = fmt.Sprintf("%d printed events are not stored, %d were printed more than once", lost, twice)
	}
	return c
}
