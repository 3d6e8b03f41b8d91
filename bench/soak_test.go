package bench

import (
	"strings"
	"testing"
	"time"

	"zoomwatch/store"
)

var t0 = time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func key(s string) eventKey { return keyOf([]byte(s)) }

func TestExactlyOnce(t *testing.T) {
	restart := []store.Gap{{From: at(100), To: at(101)}}
	cases := []struct {
		name      string
		delivered map[eventKey]time.Time
		stored    map[eventKey]int
		ok        bool
		lost      int
		detail    string
	}{
		{"each stored once",
			map[eventKey]time.Time{key("a"): at(1), key("b"): at(2)}, map[eventKey]int{key("a"): 1, key("b"): 1}, true, 0, "2 delivered events stored once"},
		{"delivered while connected, then missing",
			map[eventKey]time.Time{key("a"): at(1), key("b"): at(50)}, map[eventKey]int{key("a"): 1}, false, 0, "1 delivered but missing"},
		{"delivered as a restart cut in, missing",
			map[eventKey]time.Time{key("a"): at(1), key("b"): at(99.5)}, map[eventKey]int{key("a"): 1}, true, 1, "1 delivered to a process as it was stopped"},
		{"stored twice",
			map[eventKey]time.Time{key("a"): at(1)}, map[eventKey]int{key("a"): 2}, false, 0, "1 stored more than once"},
		{"stored, never delivered",
			map[eventKey]time.Time{key("a"): at(1)}, map[eventKey]int{key("a"): 1, key("x"): 1}, false, 0, "1 stored but never delivered"},
	}
	for _, c := range cases {
		got, lost := exactlyOnce(c.delivered, c.stored, restart)
		if got.OK != c.ok || lost != c.lost || !strings.Contains(got.Detail, c.detail) {
			t.Errorf("%s: %+v, lost %d", c.name, got, lost)
		}
	}
}

func TestMatchOutagesToGaps(t *testing.T) {
	gaps := []store.Gap{ // newest first, as Store.Gaps returns them
		{From: at(95), Reason: "zoomwatch was not running"}, // open: the final stop
		{From: at(62.3), To: at(63), Reason: "link silent"},
		{From: at(40.05), To: at(41), Reason: "zoomwatch was not running"},
		{From: at(38.2), To: at(38.5), Reason: "did not shut down cleanly"}, // kill -9: from the last commit
		{From: at(30.1), To: at(30.4), Reason: "an unexplained reconnect"},
		{From: at(10.05), To: at(10.2), Reason: "connection dropped"},
	}
	outages := []outage{
		{faultDrop, at(10)},
		{"restart (kill9)", at(38.5)},
		{faultSilence, at(38.6)},      // before the kill's restart went live: shares its gap
		{"restart (sigterm)", at(40)}, // its own gap starts a moment later
		{faultSilence, at(60)},        // noticed two heartbeats later
		{faultEvict, at(80)},          // no gap: must be reported
		{"stop at the end", at(95)},   // the open gap
		{"restart (sigterm)", at(96)}, // while reception is down: inside the open gap
	}
	matched, unmatched, extra := matchOutages(outages, gaps, time.Second)
	if len(unmatched) != 1 || unmatched[0].kind != faultEvict {
		t.Fatalf("unmatched %+v", unmatched)
	}
	if len(extra) != 1 || extra[0].Reason != "an unexplained reconnect" {
		t.Fatalf("extra %+v", extra)
	}
	want := map[int]string{0: "connection dropped", 1: "did not shut down cleanly", 2: "zoomwatch was not running",
		3: "zoomwatch was not running", 4: "link silent", 6: "zoomwatch was not running", 7: "zoomwatch was not running"}
	for i, reason := range want {
		if matched[i] == nil || matched[i].Reason != reason {
			t.Errorf("outage %d (%s) matched %+v, want the %q gap", i, outages[i].kind, matched[i], reason)
		}
	}
	if matched[2] != matched[3] || matched[3].From != at(40.05) || matched[6] != matched[7] {
		t.Errorf("restarts matched the wrong gaps: %+v %+v %+v", matched[3], matched[6], matched[7])
	}
	c := outagesCheck(len(outages), unmatched, extra)
	if c.OK || !strings.Contains(c.Detail, "eviction at") || !strings.Contains(c.Detail, "1 more gaps without an injected cause") {
		t.Fatalf("check %+v", c)
	}
}

func TestShownStored(t *testing.T) {
	stored := map[eventKey]int{key("a"): 1, key("b"): 1}
	if c := shownStored(map[eventKey]int{key("a"): 1, key("b"): 1}, stored); !c.OK {
		t.Fatalf("%+v", c)
	}
	if c := shownStored(map[eventKey]int{key("a"): 1, key("c"): 1}, stored); c.OK || !strings.Contains(c.Detail, "1 printed events are not stored") {
		t.Fatalf("printed, then lost: %+v", c)
	}
	if c := shownStored(map[eventKey]int{key("a"): 2}, stored); c.OK || !strings.Contains(c.Detail, "1 were printed more than once") {
		t.Fatalf("printed twice: %+v", c)
	}
}

func TestVerdictsOfAGoodRunAndOfAnExit(t *testing.T) {
	seg := &segment{}
	for range 20 {
		seg.goroutines = append(seg.goroutines, 18)
		seg.anon = append(seg.anon, 12<<20)
		seg.rss = append(seg.rss, 30<<20)
	}
	e := soakEvidence{
		delivered: map[eventKey]time.Time{key("a"): at(1), key("b"): at(20)},
		stored:    map[eventKey]int{key("a"): 1, key("b"): 1},
		printed:   map[eventKey]int{key("a"): 1, key("b"): 1},
		gaps:      []store.Gap{{From: at(10.1), To: at(10.3), Reason: "dropped"}},
		outages:   []outage{{faultDrop, at(10)}},
		heartbeat: time.Second, processes: 1, junkSent: 4, junkKept: 4, last: seg,
	}
	checks, _ := e.verdicts()
	if !checksPass(checks) {
		t.Fatalf("a good run failed: %+v", checks)
	}
	e.unexpected = []string{"pid 42 exited (signal: killed)"}
	e.last.goroutines = append(e.last.goroutines, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49)
	checks, _ = e.verdicts()
	failed := map[string]bool{}
	for _, c := range checks {
		if !c.OK {
			failed[c.Name] = true
		}
	}
	if len(failed) != 2 || !failed["never exited"] || !failed["goroutines flat"] {
		t.Fatalf("failed checks %v: %+v", failed, checks)
	}
}

func TestRestartsFallMidwayBetweenFaults(t *testing.T) {
	got := restartTimes(2*time.Minute, 10*time.Second, 2)
	if len(got) != 2 || got[0] != 25*time.Second || got[1] != 45*time.Second {
		t.Fatalf("2m, faults every 10s: %v", got)
	}
	got = restartTimes(30*time.Minute, time.Minute, 1)
	if len(got) != 1 || got[0] != 6*time.Minute+30*time.Second {
		t.Fatalf("30m, faults every minute: %v", got)
	}
}
