package bench

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"zoomwatch/internal/cpupart"
)

func TestByPartScalesLabelledTimeToTheCoresMeasured(t *testing.T) {
	sample := func(ms int64, part string) *profile.Sample {
		s := &profile.Sample{Value: []int64{ms / 10, ms * 1e6}}
		if part != "" {
			s.Label = map[string][]string{cpupart.Key: {part}}
		}
		return s
	}
	prof := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample:     []*profile.Sample{sample(200, cpupart.Feed), sample(100, cpupart.Store), sample(100, cpupart.Feed), sample(100, "")},
	}
	got := byPart(prof, 1.5) // the profile saw 0.5 s of 1.5 cores' work: it is scaled up
	want := map[string]float64{cpupart.Feed: 0.9, cpupart.Store: 0.3, runtimePart: 0.3}
	for k, v := range want {
		if d := got[k] - v; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s: %.3f cores, want %.3f (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("parts %v, want %v", got, want)
	}
	if s := describeParts(got); s != "feed 0.90 · store 0.30 · runtime 0.30" {
		t.Errorf("described as %q", s)
	}
}

// TestIngestTableSplitsCoresByPart: the table shows both clients' parts at zoomwatch's
// highest held rate, the bare client's from its step at that rate.
func TestIngestTableSplitsCoresByPart(t *testing.T) {
	step := func(rate float64, parts map[string]float64) Step {
		return Step{Offered: rate, Received: rate, Held: true, CPU: 1, CPUByPart: parts}
	}
	rep := &IngestReport{
		Zoomwatch: []Step{step(15_000, map[string]float64{cpupart.Feed: 0.4, cpupart.Live: 0.25, runtimePart: 0.2})},
		Bare: []Step{step(15_000, map[string]float64{cpupart.Feed: 0.45, runtimePart: 0.15}),
			step(17_500, map[string]float64{cpupart.Feed: 0.5})},
		ZoomwatchHeld: 15_000, BareHeld: 17_500, Ratio: 15_000.0 / 17_500, RatioGoal: ratioGoal}
	var out strings.Builder
	rep.writeTable(&out)
	for _, want := range []string{"zoomwatch at 15,000 ev/s: feed 0.40 · live 0.25 · runtime 0.20",
		"bare client at 15,000 ev/s: feed 0.45 · runtime 0.15"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestStoreWorkIsLabelled: a profile of the store ingesting events puts the writer's work
// under store and the live state's under live, as the bench's table reports them.
func TestStoreWorkIsLabelled(t *testing.T) {
	items, err := decodedHistory(30_000, importSeed)
	if err != nil {
		t.Fatal(err)
	}
	prof := startProfile()
	if !prof.on {
		t.Skip("another CPU profile is running")
	}
	// The bench's own durable-ingest round: a new store, every event submitted, flushed.
	_, ingestErr := ingestRound(context.Background(), filepath.Join(t.TempDir(), "events.db"), items)
	parts, err := prof.stop(1, "")
	if err = cmp.Or(ingestErr, err); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cpupart.Store, cpupart.Live} {
		if parts[p] <= 0 {
			t.Errorf("no CPU time labelled %s: %v", p, parts)
		}
	}
}

// TestProfilePathKeepsEveryStep: a retry at the same rate gets its own file.
func TestProfilePathKeepsEveryStep(t *testing.T) {
	if p := profilePath("", "zoomwatch", 15_000); p != "" {
		t.Errorf("without a directory: %q", p)
	}
	dir := t.TempDir()
	first := profilePath(dir, "zoomwatch", 15_000)
	if want := filepath.Join(dir, "zoomwatch-15000.pprof"); first != want {
		t.Fatalf("first: %q, want %q", first, want)
	}
	if err := os.WriteFile(first, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := profilePath(dir, "zoomwatch", 15_000), filepath.Join(dir, "zoomwatch-15000-2.pprof"); got != want {
		t.Errorf("retry: %q, want %q", got, want)
	}
}
