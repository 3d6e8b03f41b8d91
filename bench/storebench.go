package bench

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
)

// StoreReport holds the store's figures.
type StoreReport struct {
	Events        int          `json:"events"` // in the large store (pages, open, disk, memory)
	BuildSeconds  float64      `json:"cache_build_seconds,omitempty"`
	DurableIngest Throughput   `json:"durable_ingest"`
	Import        Throughput   `json:"import"`
	Export        Throughput   `json:"export"`
	Pages         []PageFigure `json:"pages"`
	Open          Latency      `json:"open_with_live_state"`
	RSS           RSSFigure    `json:"rss"`
	FileBytes     int64        `json:"file_bytes"`
	UsedBytes     int64        `json:"used_bytes"`
	RawBytes      int64        `json:"raw_json_bytes"`
	DiskPerRaw    float64      `json:"file_per_raw_byte"`
}

// Throughput is events handled over a measured time.
type Throughput struct {
	Events    int     `json:"events"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// Rounds holds each round's events/s when the figure is the median of several.
	Rounds []float64 `json:"rounds,omitempty"`
}

func throughput(n int, d time.Duration) Throughput {
	return Throughput{Events: n, Seconds: d.Seconds(), PerSecond: float64(n) / d.Seconds()}
}

// PageFigure is the time to read (and decode, as the screen does) one 50-row page at random
// points of the large store.
type PageFigure struct {
	Filter  string  `json:"filter"`
	Latency Latency `json:"latency"`
	Rows    float64 `json:"mean_rows"`
}

// Goals the issue set for the store.
const (
	ingestGoal = 100_000 // events/s
	importGoal = 50_000  // events/s
	pageGoal   = 5 * time.Millisecond
	openGoal   = 300 * time.Millisecond
	rssGoal    = 100 << 20
	pageRows   = 50
)

// The generated history: a mid-sized account (about a dozen meetings at a time) whose
// history ends when the store is built.
const (
	historySeed = 1
	historyRate = 10 // events per second of virtual time
	importSeed  = 2
)

func (r *runner) storeFigures(ctx context.Context) (*StoreReport, error) {
	rep := &StoreReport{Events: r.sz.big}
	path, man, built, err := r.cachedStore(ctx, r.sz.big)
	if err != nil {
		return rep, err
	}
	rep.BuildSeconds = built
	rep.RawBytes = man.RawBytes

	if rep.DurableIngest, err = r.durableIngest(ctx); err != nil {
		return rep, err
	}
	r.progress("store durable ingest %s", perSecond(rep.DurableIngest.PerSecond))
	if rep.Import, rep.Export, err = r.importExport(ctx); err != nil {
		return rep, err
	}
	r.progress("store import %s, export %s", perSecond(rep.Import.PerSecond), perSecond(rep.Export.PerSecond))
	if rep.Pages, rep.FileBytes, rep.UsedBytes, err = r.pages(path); err != nil {
		return rep, err
	}
	rep.DiskPerRaw = float64(rep.FileBytes) / float64(rep.RawBytes)
	if rep.Open, err = r.openTimes(path); err != nil {
		return rep, err
	}
	r.progress("store open %s", fmtMs(rep.Open.P50))
	rep.RSS, err = r.rssAt(ctx, r.sz.big)
	return rep, err
}

// manifest describes a cached store.
type manifest struct {
	Events   int       `json:"events"`
	RawBytes int64     `json:"raw_bytes"`
	Seed     int64     `json:"seed"`
	Rate     float64   `json:"rate"`
	Built    time.Time `json:"built"`
	Layout   int       `json:"layout"`
}

// cacheLayout names how this build lays out a new store. A cached store of another layout
// still opens, but would measure the old layout: it is built again. Bump it with the layout.
const cacheLayout = 2 // 2: meeting index epochs of 2^11 events

// cachedStore returns the cache's store of n generated events, building it first if the
// cache lacks it (or holds one this build cannot read as it is, such as an older schema);
// built is the build time in seconds, 0 when the cache had it.
func (r *runner) cachedStore(ctx context.Context, n int) (path string, m manifest, built float64, err error) {
	if err := os.MkdirAll(r.o.CacheDir, 0o700); err != nil {
		return "", m, 0, err
	}
	path = filepath.Join(r.o.CacheDir, fmt.Sprintf("events-%d.db", n))
	manPath := path + ".json"
	if b, err := os.ReadFile(manPath); err == nil && json.Unmarshal(b, &m) == nil &&
		m.Events == n && m.Seed == historySeed && m.Rate == historyRate && m.Layout == cacheLayout {
		if st, err := store.Open(store.Options{Path: path, ReadOnly: true}); err == nil {
			return path, m, 0, st.Close()
		}
	}
	r.progress("building a store of %s events in %s (once; reused by later runs)", numfmt.Thousands(int64(n)), r.o.CacheDir)
	start := time.Now()
	tmp := path + ".building"
	os.Remove(tmp)
	os.Remove(path)
	raw, err := buildStore(ctx, tmp, n, historySeed, func(done int) {
		r.progress("  %s events stored", numfmt.Thousands(int64(done)))
	})
	if err != nil {
		os.Remove(tmp)
		return "", m, 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", m, 0, err
	}
	m = manifest{Events: n, RawBytes: raw, Seed: historySeed, Rate: historyRate, Built: time.Now(), Layout: cacheLayout}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(manPath, b, 0o600); err != nil {
		return "", m, 0, err
	}
	return path, m, time.Since(start).Seconds(), nil
}

// history returns a generator of n events ending about now.
func history(n int, seed int64) *sim.Generator {
	span := time.Duration(float64(n) / historyRate * float64(time.Second))
	return sim.NewGenerator(seed, time.Now().Add(-span), historyRate)
}

// decodedHistory is n events of generated history (see history), decoded as the feed
// hands them to the store.
func decodedHistory(n int, seed int64) ([]feed.Item, error) {
	g := history(n, seed)
	items := make([]feed.Item, n)
	for i := range items {
		b, at := g.Next()
		ev, err := feed.DecodeEvent(b)
		if err != nil {
			return nil, err
		}
		items[i] = feed.Item{Event: ev, Received: at}
	}
	return items, nil
}

// buildStore stores n generated events at path through the writer and returns their raw
// size. The events are distinct: the store must end up holding all n.
func buildStore(ctx context.Context, path string, n int, seed int64, progress func(int)) (int64, error) {
	st, err := store.Open(store.Options{Path: path})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	g := history(n, seed)
	var raw int64
	for i := 1; i <= n; i++ {
		b, at := g.Next()
		ev, err := feed.DecodeEvent(b)
		if err != nil {
			return 0, err
		}
		raw += int64(len(b))
		if err := st.Submit(ctx, feed.Item{Event: ev, Received: at}); err != nil {
			return 0, err
		}
		if i%100_000 == 0 && i < n {
			progress(i)
		}
	}
	if err := st.Flush(ctx); err != nil {
		return 0, err
	}
	if got := st.Health().Counts.Events; got != uint64(n) {
		return 0, fmt.Errorf("built a store of %d events, want %d (the generator repeated itself?)", got, n)
	}
	return raw, st.Close()
}

// durableIngest measures the writer alone: decoded events submitted as fast as it takes
// them, group-committed with fsync, until the last is durable. The figure is the median of
// ingestRounds rounds, each into a new database: one round moves by ±10 % on a shared
// machine.
func (r *runner) durableIngest(ctx context.Context) (Throughput, error) {
	items, err := decodedHistory(r.sz.ingestN, importSeed)
	if err != nil {
		return Throughput{}, err
	}
	var rounds []Throughput
	for range r.sz.ingestRounds {
		t, err := ingestRound(ctx, filepath.Join(r.work, "ingest.db"), items)
		if err != nil {
			return Throughput{}, err
		}
		rounds = append(rounds, t)
	}
	slices.SortFunc(rounds, func(a, b Throughput) int { return cmp.Compare(a.PerSecond, b.PerSecond) })
	med := rounds[len(rounds)/2]
	for _, t := range rounds {
		med.Rounds = append(med.Rounds, t.PerSecond)
	}
	return med, nil
}

func ingestRound(ctx context.Context, path string, items []feed.Item) (Throughput, error) {
	st, err := store.Open(store.Options{Path: path})
	if err != nil {
		return Throughput{}, err
	}
	defer os.Remove(path)
	defer st.Close()
	start := time.Now()
	for _, it := range items {
		if err := st.Submit(ctx, it); err != nil {
			return Throughput{}, err
		}
	}
	if err := st.Flush(ctx); err != nil {
		return Throughput{}, err
	}
	return throughput(len(items), time.Since(start)), nil
}

// importExport times `zoomwatch import` of generated JSON lines into a new database and
// `zoomwatch export` of them back out, end to end: process start to exit.
func (r *runner) importExport(ctx context.Context) (imp, exp Throughput, err error) {
	n := r.sz.importN
	file := filepath.Join(r.work, "import.jsonl")
	db := filepath.Join(r.work, "import.db")
	defer os.Remove(file)
	defer os.Remove(db)
	if err := writeEvents(file, history(n, importSeed), n); err != nil {
		return imp, exp, err
	}
	log := filepath.Join(r.work, "import.log")
	el, stderr, err := r.runChild(ctx, io.Discard, "import", file, "--db", db, "--log", log)
	if err != nil {
		return imp, exp, err
	}
	imp = throughput(n, el)

	// The export's lines count what the import stored (its report is for people).
	var lines lineCounter
	el, _, err = r.runChild(ctx, &lines, "export", "--db", db, "--log", log)
	if err != nil {
		return imp, exp, err
	}
	if lines.n != n {
		return imp, exp, fmt.Errorf("export wrote %d lines of the %d events imported; the import said:\n%s", lines.n, n, stderr)
	}
	return imp, throughput(n, el), nil
}

func writeEvents(path string, g *sim.Generator, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for range n {
		b, _ := g.Next()
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lineCounter counts the lines written to it.
type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			c.n++
		}
	}
	return len(p), nil
}

// pages times 50-row pages at random points of the store at path, unfiltered and filtered
// by a busy meeting, by a rare type, and by both. A point is a cursor with a full page of
// matches behind it (when the filter has that many), anywhere up to the newest match. It
// also reports the file's size and how much of it holds data.
func (r *runner) pages(path string) ([]PageFigure, int64, int64, error) {
	// Read the file once first, so that pages measure the store's work rather than whatever
	// of the file the page cache kept since the last run (a first page from a cold disk
	// here takes tens of milliseconds).
	if err := readAll(path); err != nil {
		return nil, 0, 0, err
	}
	// Nor the writeback of the half a gigabyte the steps before wrote and fsynced.
	syscall.Sync()
	st, err := store.Open(store.Options{Path: path, ReadOnly: true})
	if err != nil {
		return nil, 0, 0, err
	}
	defer st.Close()
	file, used := st.Size()
	meeting, err := busiestMeeting(st)
	if err != nil {
		return nil, 0, 0, err
	}
	filters := []struct {
		name string
		f    store.Filter
	}{
		{"unfiltered", store.Filter{}},
		{"meeting", store.Filter{Meeting: meeting}},
		{"type", store.Filter{Types: []string{"recording.completed"}}},
		{"meeting+type", store.Filter{Meeting: meeting, Types: []string{"meeting.participant_joined"}}},
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var out []PageFigure
	for _, f := range filters {
		lo, hi, err := pageSpan(st, f.f)
		if err != nil {
			return nil, 0, 0, err
		}
		times := make([]time.Duration, r.sz.pageSamples)
		rows := 0
		for i := range times {
			cursor := lo + 1 + rng.Uint64N(hi-lo)
			start := time.Now()
			p, err := st.Page(store.Query{Filter: f.f, Cursor: cursor, Limit: pageRows})
			if err != nil {
				return nil, 0, 0, err
			}
			for j := range p.Records {
				p.Records[j].Decode() // a page is read to be shown
			}
			times[i] = time.Since(start)
			rows += len(p.Records)
		}
		out = append(out, PageFigure{Filter: f.name, Latency: summarize(times), Rows: float64(rows) / float64(len(times))})
	}
	return out, file, used, nil
}

// pageSpan is where a newest-first page of f can start with a full page behind it: cursors
// in (lo, hi], lo being the 50th oldest match and hi just past the newest.
func pageSpan(st *store.Store, f store.Filter) (lo, hi uint64, err error) {
	const everything = 1 << 40
	oldest, err := st.Page(store.Query{Filter: f, Oldest: true, Limit: pageRows, MaxScan: everything})
	if err != nil {
		return 0, 0, err
	}
	newest, err := st.Page(store.Query{Filter: f, Limit: 1, MaxScan: everything})
	if err != nil {
		return 0, 0, err
	}
	if len(oldest.Records) == 0 || len(newest.Records) == 0 {
		return 0, 0, fmt.Errorf("no events match %+v", f)
	}
	lo, hi = oldest.Records[len(oldest.Records)-1].Seq, newest.Records[0].Seq+1
	if lo >= hi {
		lo = hi - 1
	}
	return lo, hi, nil
}

// busiestMeeting is the meeting number with the most events among thousands in the middle
// of the history.
func busiestMeeting(st *store.Store) (string, error) {
	p, err := st.Page(store.Query{Cursor: st.LastSeq() / 2, Limit: 5000})
	if err != nil {
		return "", err
	}
	count := map[string]int{}
	best := ""
	for i := range p.Records {
		ev := p.Records[i].Decode()
		if !ev.IsMeetingLike() || ev.Payload.Object.ID == "" {
			continue
		}
		id := string(ev.Payload.Object.ID)
		count[id]++
		if count[id] > count[best] {
			best = id
		}
	}
	if best == "" {
		return "", errors.New("no meeting in the middle of the history")
	}
	return best, nil
}

// openTimes opens a copy of the store read-write (as the collector does) and waits for its
// live state, several times. The page cache is warm: the figure is the work, not the disk.
func (r *runner) openTimes(path string) (Latency, error) {
	cp := filepath.Join(r.work, "open.db")
	if err := copyFile(path, cp); err != nil {
		return Latency{}, err
	}
	defer os.Remove(cp)
	times := make([]time.Duration, r.sz.opens)
	for i := range times {
		start := time.Now()
		st, err := store.Open(store.Options{Path: cp})
		if err != nil {
			return Latency{}, err
		}
		_ = st.Live()
		times[i] = time.Since(start)
		if err := st.Close(); err != nil {
			return Latency{}, err
		}
	}
	return summarize(times), nil
}

func readAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// Written back now, so that the first open's fsync does not pay for the copy.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (rep *StoreReport) writeTable(w io.Writer) {
	built := ""
	if rep.BuildSeconds > 0 {
		built = fmt.Sprintf(" (built into the cache in %.0f s)", rep.BuildSeconds)
	}
	fmt.Fprintf(w, "store       %s events of generated history%s\n", numfmt.Thousands(int64(rep.Events)), built)
	in := rep.DurableIngest
	rounds := ""
	if n := len(in.Rounds); n > 1 {
		rounds = fmt.Sprintf(", median of %d rounds (%s to %s)", n, perSecond(in.Rounds[0]), perSecond(in.Rounds[n-1]))
	}
	fmt.Fprintf(w, "  durable ingest  %-13s %s events through the writer, fsync on%s %s\n", perSecond(in.PerSecond),
		numfmt.Thousands(int64(in.Events)), rounds, goal("≥ "+perSecond(ingestGoal), in.PerSecond >= ingestGoal))
	fmt.Fprintf(w, "  import          %-13s %s events, a zoomwatch import process end to end %s\n", perSecond(rep.Import.PerSecond),
		numfmt.Thousands(int64(rep.Import.Events)), goal("≥ "+perSecond(importGoal), rep.Import.PerSecond >= importGoal))
	fmt.Fprintf(w, "  export          %-13s the same events, a zoomwatch export process end to end %s\n", perSecond(rep.Export.PerSecond),
		goal("faster than import", rep.Export.PerSecond > rep.Import.PerSecond))
	worst := 0.0
	for _, p := range rep.Pages {
		worst = max(worst, p.Latency.P99)
	}
	fmt.Fprintf(w, "  page of 50      p50 / p99 at random points, page cache warm %s\n", goal("≤ "+fmtMs(ms(pageGoal))+" at p99", worst <= ms(pageGoal)))
	for _, p := range rep.Pages {
		fmt.Fprintf(w, "    %-13s %-21s %.0f rows on average\n", p.Filter, p.Latency, p.Rows)
	}
	fmt.Fprintf(w, "  open            %-13s to live state ready, median of %d (max %s; page cache warm) %s\n", fmtMs(rep.Open.P50),
		rep.Open.N, fmtMs(rep.Open.Max), goal("≤ "+fmtMs(ms(openGoal)), rep.Open.P50 <= ms(openGoal)))
	fmt.Fprintf(w, "  resident        %-13s a collecting zoomwatch tail with this store open (heap %s, mapped file %s) %s\n",
		mib(rep.RSS.RSS), mib(rep.RSS.Anon), mib(rep.RSS.File), goal("≤ "+mib(rssGoal), rep.RSS.RSS <= rssGoal))
	fmt.Fprintf(w, "  disk            %.2f bytes per byte of raw JSON (file %s, data %s, raw %s)\n", rep.DiskPerRaw,
		mib(float64(rep.FileBytes)), mib(float64(rep.UsedBytes)), mib(float64(rep.RawBytes)))
}
