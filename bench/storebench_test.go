package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zoomwatch/internal/testbin"
)

// TestStorePartEndToEnd runs `bench store` at small sizes against the real binary: import
// and export as child processes, durable ingest, pages, opens and resident memory. Its
// figures come from parsing and counting what other commands print, which only running it
// checks (a change to import's report once made it measure 0 ev/s).
func TestStorePartEndToEnd(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "zoomwatch")
	testbin.Build(t, bin)
	o := Options{Exe: bin, CacheDir: filepath.Join(dir, "cache")}.withDefaults()
	r := &runner{o: o, rss: map[int]RSSFigure{}, work: dir,
		sz: sizes{big: 20_000, importN: 2_000, ingestN: 2_000, ingestRounds: 1, pageSamples: 5, opens: 1, settle: 200 * time.Millisecond}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := r.storeFigures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for what, tp := range map[string]Throughput{"durable ingest": rep.DurableIngest, "import": rep.Import, "export": rep.Export} {
		if tp.Events != 2_000 || tp.PerSecond <= 0 {
			t.Errorf("%s: %d events at %.0f ev/s", what, tp.Events, tp.PerSecond)
		}
	}
	if len(rep.Pages) != 4 {
		t.Fatalf("%d page figures, want unfiltered, meeting, type and meeting+type", len(rep.Pages))
	}
	for _, p := range rep.Pages {
		if p.Rows != pageRows || p.Latency.P50 <= 0 {
			t.Errorf("%s pages: %.1f rows, p50 %v", p.Filter, p.Rows, p.Latency.P50)
		}
	}
	if rep.Open.P50 <= 0 || rep.RSS.RSS <= 0 || rep.DiskPerRaw <= 0 {
		t.Errorf("open %v, resident %.0f bytes, disk per raw byte %.2f", rep.Open.P50, rep.RSS.RSS, rep.DiskPerRaw)
	}
	var table bytes.Buffer
	rep.writeTable(&table)
	if s := table.String(); strings.Contains(s, "FAILED") || !strings.Contains(s, "import") {
		t.Errorf("the table:\n%s", s)
	}
	if kept, err := os.ReadDir(o.CacheDir); err != nil || len(kept) == 0 {
		t.Errorf("the generated store was not kept for the next run: %v", err)
	}
}
