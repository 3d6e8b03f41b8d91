package tui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"zoomwatch/feed"
	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
)

// historyPage browses the stored log through a bounded window of rows: pages are read from
// the store on demand as the cursor nears either end, and the far end is dropped, so memory
// and rendering cost do not grow with the history. Connection-log entries (gaps,
// transitions, anomalies, notes) sit among the events where they were written.
//
// The window covers the event sequence numbers [covLo, covHi]: every matching event in that
// range is in rows, and so is every log entry whose AfterSeq is in it.
type historyPage struct {
	filterLine string
	filter     store.Filter
	prompt     inputKind // what is being typed, if anything
	line       lineInput
	inputErr   string
	jumpAt     time.Time // the time last asked for (t, :)

	rows               []hrow
	covLo, covHi       uint64
	atOldest, atNewest bool
	maxLogSeq          uint64 // newest log entry in rows: later fetches skip up to it
	cursor, offset     int
	follow             bool
	unseen             int

	gen                  int             // bumped by every reload; replies of older generations are dropped
	ctx                  context.Context // the current generation's reads; cancelled by the next reload
	cancel               context.CancelFunc
	loading              bool
	olderBusy, newerBusy bool
	newerAgain           bool // events arrived while a newer fetch was running
	err                  error
}

type inputKind int

const (
	inputNone inputKind = iota
	inputFilter
	inputJump
)

// hrow is one history line: an event (seq > 0) or a connection-log marker.
type hrow struct {
	seq                       uint64
	at                        time.Time
	typ, meeting, who, detail string
	marker                    *store.LogEntry
	hidden                    []store.LogEntry // a summary row standing for these entries
}

func newHistory(f store.Filter, line string) *historyPage {
	return &historyPage{filter: f, filterLine: line, follow: true}
}

// pageSize is how many events one fetch asks for; the window holds a few pages.
func (p *historyPage) pageSize(m *Model) int { return max(100, 2*m.bodyHeight()) }

func (p *historyPage) maxRows(m *Model) int { return 5 * p.pageSize(m) }

// listRows is how many rows are visible at the current size.
func (p *historyPage) listRows(m *Model) int { return max(m.bodyHeight()-3, 1) }

type histKind int

const (
	histNewest histKind = iota // reload at the newest end
	histOldest                 // reload at the oldest end
	histAround                 // reload around a point in time
	histOlder                  // extend the window backwards
	histNewer                  // extend the window forwards
)

type histMsg struct {
	to       *historyPage
	gen      int
	kind     histKind
	from     uint64 // covLo (older) or covHi (newer) when asked, to drop replies to a window that moved
	rows     []hrow
	covLo    uint64
	covHi    uint64
	atOldest bool
	atNewest bool
	anchor   uint64 // histAround: the cursor goes to the first event at or after it
	err      error
}

// reload starts over at the newest end (the filter changed, or G).
func (p *historyPage) reload(m *Model) tea.Cmd { return p.start(m, histNewest, time.Time{}) }

func (p *historyPage) start(m *Model, kind histKind, at time.Time) tea.Cmd {
	p.stop()
	p.ctx, p.cancel = context.WithCancel(context.Background())
	ctx := p.ctx
	p.gen++
	p.loading, p.olderBusy, p.newerBusy, p.newerAgain, p.err = true, false, false, false, nil
	st, f, limit, gen := m.d.Store, p.filter, p.pageSize(m), p.gen
	return func() tea.Msg {
		var msg histMsg
		switch kind {
		case histOldest:
			msg = fetchOldest(ctx, st, f, limit)
		case histAround:
			msg = fetchAround(ctx, st, f, limit, st.SeqAt(at))
		default:
			msg = fetchNewest(ctx, st, f, limit)
		}
		msg.to, msg.gen, msg.kind = p, gen, kind
		return msg
	}
}

// stop abandons the reads in flight (a new load, or the page is closed).
func (p *historyPage) stop() {
	if p.cancel != nil {
		p.cancel()
	}
}

// collect reads pages until limit records match or the history ends. Each Page call scans
// a bounded number of events, so a cancelled search stops promptly.
func collect(ctx context.Context, st *store.Store, q store.Query) ([]store.Record, uint64, bool, error) {
	var recs []store.Record
	for {
		if err := ctx.Err(); err != nil {
			return recs, q.Cursor, false, err
		}
		q.MaxScan = 50_000
		q.Limit -= len(recs)
		p, err := st.Page(q)
		q.Limit += len(recs)
		if err != nil {
			return recs, q.Cursor, false, err
		}
		recs = append(recs, p.Records...)
		if p.Done {
			return recs, 0, true, nil
		}
		q.Cursor = p.Next
		if len(recs) >= q.Limit {
			return recs, p.Next, false, nil
		}
	}
}

func fetchNewest(ctx context.Context, st *store.Store, f store.Filter, limit int) histMsg {
	last := st.LastSeq()
	recs, next, done, err := collect(ctx, st, store.Query{Filter: f, Cursor: last + 1, Limit: limit})
	slices.Reverse(recs)
	msg := histMsg{covHi: last, atNewest: true, atOldest: done, covLo: next, err: err}
	msg.rows, msg.err = withMarkers(st, f, recs, msg.covLo, msg.covHi, 0, msg.err)
	return msg
}

func fetchOldest(ctx context.Context, st *store.Store, f store.Filter, limit int) histMsg {
	last := st.LastSeq()
	recs, next, done, err := collect(ctx, st, store.Query{Filter: f, Oldest: true, Limit: limit})
	msg := histMsg{atOldest: true, covHi: next, atNewest: done, err: err}
	if done {
		msg.covHi = max(last, lastSeq(recs))
	}
	msg.rows, msg.err = withMarkers(st, f, recs, 0, msg.covHi, 0, msg.err)
	return msg
}

// fetchAround reads a page on each side of seq.
func fetchAround(ctx context.Context, st *store.Store, f store.Filter, limit int, seq uint64) histMsg {
	if seq == 0 {
		return fetchNewest(ctx, st, f, limit)
	}
	last := st.LastSeq()
	older, oNext, oDone, err := collect(ctx, st, store.Query{Filter: f, Cursor: seq, Limit: limit / 2})
	slices.Reverse(older)
	newer, nNext, nDone, err2 := collect(ctx, st, store.Query{Filter: f, Cursor: seq - 1, Oldest: true, Limit: limit})
	if err == nil {
		err = err2
	}
	msg := histMsg{covLo: oNext, atOldest: oDone, covHi: nNext, atNewest: nDone, anchor: seq}
	if nDone {
		msg.covHi = max(last, lastSeq(newer))
	}
	msg.rows, msg.err = withMarkers(st, f, append(older, newer...), msg.covLo, msg.covHi, 0, err)
	return msg
}

// extend reads the next page beyond one end of the window.
func (p *historyPage) extend(m *Model, kind histKind) tea.Cmd {
	st, f, limit, gen, ctx := m.d.Store, p.filter, p.pageSize(m), p.gen, p.ctx
	from, skipLog, follow := p.covLo, uint64(0), p.follow
	if kind == histNewer {
		from, skipLog = p.covHi, p.maxLogSeq
		p.newerBusy = true
	} else {
		p.olderBusy = true
	}
	return func() tea.Msg {
		msg := histMsg{to: p, gen: gen, kind: kind, from: from}
		if kind == histOlder {
			recs, next, done, err := collect(ctx, st, store.Query{Filter: f, Cursor: from, Limit: limit})
			slices.Reverse(recs)
			msg.covLo, msg.atOldest = next, done
			msg.rows, msg.err = withMarkers(st, f, recs, next, from-1, 0, err)
			return msg
		}
		last := st.LastSeq()
		recs, next, done, err := collect(ctx, st, store.Query{Filter: f, Cursor: from, Oldest: true, Limit: limit})
		if !done && follow {
			// More arrived than a page while following: jump to the newest page instead
			// of walking through everything in between.
			nm := fetchNewest(ctx, st, f, limit)
			nm.to, nm.gen, nm.kind = p, gen, histNewest
			return nm
		}
		msg.covHi, msg.atNewest = next, done
		if done {
			msg.covHi = max(last, lastSeq(recs), from)
		}
		msg.rows, msg.err = withMarkers(st, f, recs, from, msg.covHi, skipLog, err)
		return msg
	}
}

func lastSeq(recs []store.Record) uint64 {
	if len(recs) == 0 {
		return 0
	}
	return recs[len(recs)-1].Seq
}

// withMarkers reads the log entries for [lo, hi] (skipping entries up to skipLog, already
// shown, and those outside f's time bounds) and merges them among the events (ascending).
func withMarkers(st *store.Store, f store.Filter, recs []store.Record, lo, hi, skipLog uint64, err error) ([]hrow, error) {
	if hi < lo {
		hi = lo
	}
	entries, lerr := st.LogRange(lo, hi)
	if err == nil {
		err = lerr
	}
	rows := make([]hrow, 0, len(recs)+len(entries))
	j := 0
	emit := func(e store.LogEntry) {
		if e.Seq > skipLog && logInWindow(e, f) {
			rows = append(rows, hrow{marker: &e, at: e.At})
		}
	}
	for i := range recs {
		for j < len(entries) && entries[j].AfterSeq < recs[i].Seq {
			emit(entries[j])
			j++
		}
		rows = append(rows, eventRow(&recs[i]))
	}
	for ; j < len(entries); j++ {
		emit(entries[j])
	}
	return collapseMarkers(rows), err
}

// sayPruned tells, at the oldest end of history, that retention removed what was older.
func sayPruned(m *Model) {
	if n := m.data.health.Counts.Pruned; n > 0 {
		m.say("the oldest stored: " + numfmt.Plural(n, "older event") + " pruned by --retain or --max-db-size")
	}
}

// logInWindow reports whether a log entry belongs to a history bounded by since/until: a gap
// that overlaps the window, anything else written in it. (Entries are placed by the
// events around them, which a time-bounded window may not reach.)
func logInWindow(e store.LogEntry, f store.Filter) bool {
	from, to := e.At, e.At
	if e.Kind == store.LogGap && e.Gap != nil {
		from, to = e.Gap.From, e.Gap.To
		if e.Gap.Open() {
			to = e.At
		}
	}
	return (f.Since.IsZero() || !to.Before(f.Since)) && (f.Until.IsZero() || from.Before(f.Until))
}

// collapseMarkers shortens long runs of transitions and anomalies (a day-long outage logs
// thousands of retries) to their ends and a summary; gaps always show.
func collapseMarkers(rows []hrow) []hrow {
	const keep = 4
	out := rows[:0:0]
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].marker != nil && rows[j].marker.Kind != store.LogGap {
			j++
		}
		if j-i > 3*keep {
			out = append(out, rows[i:i+keep]...)
			hidden := make([]store.LogEntry, 0, j-i-2*keep)
			for _, r := range rows[i+keep : j-keep] {
				hidden = append(hidden, *r.marker)
			}
			out = append(out, hrow{at: hidden[0].At, hidden: hidden})
			out = append(out, rows[j-keep:j]...)
			i = j
			continue
		}
		if j == i {
			j++
		}
		out = append(out, rows[i:j]...)
		i = j
	}
	return out
}

func eventRow(r *store.Record) hrow {
	ev := r.Decode()
	at := ev.Time()
	if at.IsZero() {
		at = r.Received
	}
	o := &ev.Payload.Object
	mt := ""
	if ev.IsMeetingLike() {
		mt = o.Topic
		if mt == "" {
			mt = string(o.ID)
		}
	}
	return hrow{seq: r.Seq, at: at, typ: clean(ev.Type), meeting: clean(mt), who: clean(ev.Who()), detail: clean(eventDetail(ev))}
}

// eventDetail is the most telling extra of an event for its history line.
func eventDetail(ev *feed.Event) string {
	o := &ev.Payload.Object
	switch {
	case o.Participant != nil && o.Participant.LeaveReason != "" && strings.HasSuffix(ev.Type, "_left"):
		return feed.CleanReason(o.Participant.LeaveReason)
	case o.Participant != nil:
		return o.Participant.Email
	case len(o.RecordingFiles) > 0:
		var size int64
		for _, f := range o.RecordingFiles {
			var n int64
			fmt.Sscan(string(f.FileSize), &n)
			size += n
		}
		return numfmt.Plural(len(o.RecordingFiles), "file") + " · " + numfmt.Bytes(size)
	case strings.HasPrefix(ev.Type, "user."):
		return o.Email
	case ev.IsMeetingLike() && o.ID != "":
		return "id " + string(o.ID)
	}
	return ""
}

func (p *historyPage) update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case histMsg:
		if msg.to != p || msg.gen != p.gen {
			return nil
		}
		return p.apply(m, msg)
	case feedMsg:
		if p.atNewest && (len(msg.arrived) > 0 || len(msg.log) > 0 || msg.reload != nil) {
			if p.newerBusy || p.loading {
				p.newerAgain = true
				return nil
			}
			return p.extend(m, histNewer)
		}
	case tea.KeyPressMsg:
		if p.prompt != inputNone {
			return p.typeKey(m, msg)
		}
		return p.key(m, msg)
	case tea.PasteMsg:
		if p.prompt != inputNone {
			p.line.paste(msg.Content)
		}
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			return p.move(m, -3)
		case tea.MouseWheelDown:
			return p.move(m, 3)
		}
	}
	return nil
}

func (p *historyPage) apply(m *Model, msg histMsg) tea.Cmd {
	p.err = msg.err
	switch msg.kind {
	case histOlder:
		p.olderBusy = false
		if msg.from != p.covLo {
			return nil
		}
		p.rows = append(msg.rows, p.rows...)
		p.cursor += len(msg.rows)
		p.offset += len(msg.rows)
		p.covLo, p.atOldest = msg.covLo, msg.atOldest
		if len(p.rows) > p.maxRows(m) {
			p.trimNewer(m)
		}
	case histNewer:
		p.newerBusy = false
		if msg.from != p.covHi {
			return nil
		}
		events := 0
		for _, r := range msg.rows {
			if r.seq > 0 {
				events++
			}
		}
		// Rows after a window that already reached the newest arrived since; otherwise
		// they are older history coming into view (after a jump, say).
		arrived := p.atNewest
		p.rows = append(p.rows, msg.rows...)
		p.covHi, p.atNewest = msg.covHi, msg.atNewest
		p.noteLogSeqs(msg.rows)
		if p.follow {
			p.cursor = len(p.rows) - 1
		} else if arrived {
			p.unseen += events
		}
		if len(p.rows) > p.maxRows(m) {
			p.trimOlder(m)
		}
		if p.newerAgain && p.atNewest {
			p.newerAgain = false
			return p.extend(m, histNewer)
		}
	default:
		p.loading, p.newerBusy = false, false
		p.rows = msg.rows
		p.covLo, p.covHi, p.atOldest, p.atNewest = msg.covLo, msg.covHi, msg.atOldest, msg.atNewest
		p.maxLogSeq = 0
		p.noteLogSeqs(p.rows)
		p.unseen = 0
		switch msg.kind {
		case histNewest:
			p.cursor, p.follow = len(p.rows)-1, true
		case histOldest:
			p.cursor, p.follow = 0, false
			sayPruned(m)
		case histAround:
			p.cursor = slices.IndexFunc(p.rows, func(r hrow) bool { return r.seq >= msg.anchor })
			if p.cursor < 0 {
				p.cursor = len(p.rows) - 1
			}
			p.follow = false
			p.offset = p.cursor - p.listRows(m)/3
			// Rows are in the order events were stored, which imports (with their own event
			// times) break: say where the jump landed.
			at := p.jumpAt.In(m.data.clock.Location()).Format("2006-01-02 15:04:05")
			r := p.selected()
			switch {
			case r != nil && r.seq > 0 && r.at.Before(p.jumpAt):
				// SeqAt lands on the newest event when none is that recent.
				m.say(fmt.Sprintf("nothing stored from %s on: at the newest, #%d of %s", at, r.seq,
					r.at.In(m.data.clock.Location()).Format("2006-01-02 15:04:05")))
			case r != nil && r.seq > 0:
				m.say(fmt.Sprintf("jumped to %s: #%d, the first stored from that time on", at, r.seq))
			default:
				m.say("jumped to " + at)
			}
		}
		if p.newerAgain && p.atNewest {
			// Events committed while this load ran.
			p.newerAgain = false
			p.clamp(m)
			return tea.Batch(p.extend(m, histNewer), p.prefetch(m))
		}
	}
	p.clamp(m)
	return p.prefetch(m)
}

func (p *historyPage) noteLogSeqs(rows []hrow) {
	for _, r := range rows {
		if r.marker != nil {
			p.maxLogSeq = max(p.maxLogSeq, r.marker.Seq)
		}
		for _, h := range r.hidden {
			p.maxLogSeq = max(p.maxLogSeq, h.Seq)
		}
	}
}

// trimNewer drops rows beyond the window's size from the newer end, cutting just before an
// event so that the markers that belong before it stay.
func (p *historyPage) trimNewer(m *Model) {
	limit := p.maxRows(m)
	cut := -1
	for i := len(p.rows) - 1; i >= limit*4/5 && i > p.cursor+p.listRows(m); i-- {
		if p.rows[i].seq > 0 {
			cut = i
		}
	}
	if cut < 0 {
		return
	}
	p.covHi = p.rows[cut].seq - 1
	p.rows = p.rows[:cut:cut]
	p.atNewest, p.follow = false, false
	p.maxLogSeq = 0
	p.noteLogSeqs(p.rows)
}

// trimOlder drops rows from the older end, cutting just after an event.
func (p *historyPage) trimOlder(m *Model) {
	excess := len(p.rows) - p.maxRows(m)*4/5
	cut := -1
	for i := 0; i < excess && i < p.cursor-p.listRows(m); i++ {
		if p.rows[i].seq > 0 {
			cut = i
		}
	}
	if cut < 0 {
		return
	}
	// Markers after the last dropped event belong to the window only if their AfterSeq is
	// inside it: the new covLo is the next event, so they go too.
	next := cut + 1
	for next < len(p.rows) && p.rows[next].seq == 0 {
		next++
	}
	if next >= len(p.rows) {
		return
	}
	p.covLo = p.rows[next].seq
	p.rows = append([]hrow(nil), p.rows[next:]...)
	p.cursor -= next
	p.offset -= next
	p.atOldest = false
}

func (p *historyPage) clamp(m *Model) {
	s := scroller{cursor: p.cursor, offset: p.offset}
	s.clamp(len(p.rows), p.listRows(m))
	p.cursor, p.offset = s.cursor, s.offset
	if p.follow && len(p.rows) > 0 && p.cursor != len(p.rows)-1 {
		p.follow = false
	}
}

// prefetch extends the window when the cursor nears an end that is not the history's.
func (p *historyPage) prefetch(m *Model) tea.Cmd {
	if p.loading {
		return nil
	}
	h := p.listRows(m)
	var cmds []tea.Cmd
	if !p.atOldest && !p.olderBusy && p.cursor < 2*h && p.covLo > 0 {
		cmds = append(cmds, p.extend(m, histOlder))
	}
	if !p.atNewest && !p.newerBusy && len(p.rows)-p.cursor < 2*h {
		cmds = append(cmds, p.extend(m, histNewer))
	}
	return tea.Batch(cmds...)
}

func (p *historyPage) move(m *Model, delta int) tea.Cmd {
	p.cursor += delta
	p.clamp(m)
	if p.atNewest && p.cursor == len(p.rows)-1 && delta > 0 {
		p.follow, p.unseen = true, 0
	}
	return p.prefetch(m)
}

func (p *historyPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	km := &m.keys
	page := max(p.listRows(m)-1, 1)
	switch {
	case key.Matches(msg, km.Up):
		return p.move(m, -1)
	case key.Matches(msg, km.Down):
		return p.move(m, 1)
	case key.Matches(msg, km.PageUp):
		return p.move(m, -page)
	case key.Matches(msg, km.PageDown):
		return p.move(m, page)
	case key.Matches(msg, km.Top):
		if p.atOldest {
			p.cursor, p.follow = 0, false
			p.clamp(m)
			sayPruned(m)
			return nil
		}
		return p.start(m, histOldest, time.Time{})
	case key.Matches(msg, km.Bottom, km.Follow):
		return p.reload(m)
	case key.Matches(msg, km.Filter):
		p.prompt, p.inputErr = inputFilter, ""
		p.line = newLineInput("filter: ", p.filterLine)
	case key.Matches(msg, km.Jump):
		p.askJump()
	case key.Matches(msg, km.Sort):
		m.say("history is in time order (s sorts the dashboard's active meetings)")
	case key.Matches(msg, km.Back):
		if p.filterLine != "" {
			p.filterLine, p.filter = "", store.Filter{}
			return p.reload(m)
		}
		if len(m.pages) > 1 {
			p.stop()
			m.pop()
		}
	case key.Matches(msg, km.Open):
		r := p.selected()
		if r != nil && r.seq > 0 {
			e := newEventPage(r.seq)
			m.push(e)
			return e.load(m)
		}
		if r != nil {
			m.say("enter opens an event: select an event row (this one is the connection log)")
		}
	case key.Matches(msg, km.Copy):
		if r := p.selected(); r != nil && r.seq > 0 {
			return copyStored(m, r.seq)
		}
		m.say("y copies an event's JSON: select an event row")
	case key.Matches(msg, km.Export):
		return p.export(m)
	}
	return nil
}

// askJump opens the jump-to-time prompt.
func (p *historyPage) askJump() {
	p.prompt, p.inputErr = inputJump, ""
	p.line = newLineInput("jump to (14:03 · 2026-11-22 14:03 · 2h ago): ", "")
}

func (p *historyPage) selected() *hrow {
	if p.cursor >= 0 && p.cursor < len(p.rows) {
		return &p.rows[p.cursor]
	}
	return nil
}

func (p *historyPage) typeKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		kind := p.prompt
		p.prompt, p.inputErr = inputNone, ""
		if kind == inputFilter && p.filterLine != "" {
			p.filterLine, p.filter = "", store.Filter{}
			return p.reload(m)
		}
	case "enter":
		text := strings.TrimSpace(p.line.Value())
		if p.prompt == inputJump {
			at, err := ParseWhen(text, m.data.clock)
			if err != nil {
				p.inputErr = err.Error()
				return nil
			}
			p.prompt, p.jumpAt = inputNone, at
			return p.start(m, histAround, at)
		}
		f, err := parseFilter(text, m.data.clock)
		if err != nil {
			p.inputErr = err.Error()
			return nil
		}
		p.prompt, p.filter, p.filterLine = inputNone, f, text
		m.flash = "" // about the rows before (a jump's landing), not these
		return p.reload(m)
	default:
		if p.line.update(msg) {
			p.inputErr = ""
		}
	}
	return nil
}

// export writes the current filter's events to a file in ExportDir, off the UI goroutine.
func (p *historyPage) export(m *Model) tea.Cmd {
	if !m.d.AllowExport {
		m.say("export is not available in this session")
		return nil
	}
	st, f, dir := m.d.Store, p.filter, m.d.ExportDir
	base := "zoomwatch-export-" + m.data.clock.Format("20060102-150405")
	m.say("exporting…")
	return func() tea.Msg {
		// A second export in the same second gets the next free name, never another's file.
		var path string
		var file *os.File
		var err error
		for i := 1; ; i++ {
			name := base + ".jsonl"
			if i > 1 {
				name = fmt.Sprintf("%s-%d.jsonl", base, i)
			}
			path = filepath.Join(dir, name)
			if abs, aerr := filepath.Abs(path); aerr == nil {
				path = abs
			}
			file, err = os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if !errors.Is(err, fs.ErrExist) || i == 100 {
				break
			}
		}
		if err != nil {
			return flashMsg("export failed: " + err.Error())
		}
		n, err := st.Export(context.Background(), file, "jsonl", f)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return flashMsg("export failed after " + numfmt.Thousands(n) + " events: " + err.Error())
		}
		return flashMsg("exported " + numfmt.Thousands(n) + " events to " + path)
	}
}

func (p *historyPage) typing() bool { return p.prompt != inputNone }

func (p *historyPage) input(m *Model, w int) string {
	if p.prompt == inputNone {
		return ""
	}
	return inputLine(m, p.line, p.inputErr, w)
}

// inputLine is a prompt's line w wide, with why what was typed is refused, if it is.
func inputLine(m *Model, l lineInput, err string, w int) string {
	if err == "" {
		return " " + l.view(w-1, m.styles.Cursor)
	}
	// What was typed keeps at least half the line; the error gets the rest.
	line := l.view(max(w/2, w-width(err)-4), m.styles.Cursor)
	return " " + line + "  " + m.styles.Err.Render(trunc(err, max(w-width(line)-3, 0)))
}

func (p *historyPage) shortHelp(m *Model) []key.Binding {
	km := &m.keys
	bs := []key.Binding{km.Filter, km.Jump, km.Top, km.Bottom, km.Open, km.Copy}
	if km.Export.Enabled() {
		bs = append(bs, km.Export)
	}
	if len(m.pages) > 1 || p.filterLine != "" {
		bs = append(bs, km.Back)
	}
	return append(bs, km.Help, km.Quit)
}

var histCols = []column{
	{min: 6, max: 6, drop: 3},     // date
	{min: 8, max: 8},              // time
	{min: 20, max: 30, weight: 2}, // type
	{min: 10, max: 40, weight: 3}, // meeting
	{min: 8, max: 30, weight: 2},  // who
	{min: 10, weight: 2, drop: 2}, // detail
}

func (p *historyPage) view(m *Model, w, h int) string {
	st, now := &m.styles, m.data.clock
	inner, rows := w-2, p.listRows(m)
	// The cursor stays in view whatever the window did since the last move.
	sc := scroller{cursor: p.cursor, offset: p.offset}
	sc.clamp(len(p.rows), rows)
	off := sc.offset
	// Dates carry the year when a row shown is from another year (imported history).
	cols, dayFormat := histCols, "Jan 02"
	for i := off; i < len(p.rows) && i < off+rows; i++ {
		if p.rows[i].at.In(now.Location()).Year() != now.Year() {
			cols, dayFormat = slices.Clone(histCols), "2006-01-02"
			cols[0].min, cols[0].max = 10, 10
			break
		}
	}
	widths := colWidths(cols, inner)
	lines := []string{st.Dim.Render(row(cols, widths, cell{text: "Date"}, cell{text: "Time"}, cell{text: "Type"},
		cell{text: "Meeting"}, cell{text: "Who"}, cell{text: "Detail"}))}
	prevDay := ""
	for i := off; i < len(p.rows) && i < off+rows; i++ {
		r := &p.rows[i]
		day := r.at.In(now.Location()).Format(dayFormat)
		showDay := day
		if day == prevDay {
			showDay = ""
		}
		prevDay = day
		var line string
		if r.seq == 0 {
			// Markers start under the time column and run across the rest.
			lead := row(cols, widths[:2], cell{text: showDay, style: &st.Dim}, cell{text: clock(r.at, now), style: &st.Dim})
			line = lead + " " + p.markerLine(m, r, inner-width(lead)-1)
		} else {
			line = row(cols, widths, cell{text: showDay, style: &st.Dim}, cell{text: clock(r.at, now), style: &st.Dim},
				cell{text: abbrevType(r.typ, widths[2])}, cell{text: r.meeting}, cell{text: r.who}, cell{text: r.detail, style: &st.Dim})
		}
		if i == p.cursor {
			line = st.Selected.Render(fit(ansiStrip(line), inner))
		}
		lines = append(lines, line)
	}
	if p.atNewest && off+rows >= len(p.rows) {
		if g, ok := m.openGap(); ok && len(lines) <= rows {
			lines = append(lines, st.GapMarker.Render(rule("not receiving since "+stamp(g.From, now)+" ("+human(now.Sub(g.From))+") · events now are not being delivered", inner)))
		}
	}
	switch {
	case p.err != nil:
		lines = append(lines, st.Err.Render(" "+p.err.Error()))
	case len(p.rows) == 0 && !p.loading && p.filterLine != "":
		lines = append(lines, st.Dim.Render(" no stored events match the filter"))
	case len(p.rows) == 0 && !p.loading:
		lines = append(lines, st.Dim.Render(" no events stored yet"))
	}

	title := "History"
	if p.filterLine != "" {
		title += " · " + st.Warn.Render("filter: "+clean(p.filterLine))
	}
	info := ""
	switch {
	case p.loading:
		info = st.Dim.Render("loading…")
	case p.follow:
		info = st.OK.Render("● newest")
	case p.unseen > 0:
		info = st.Warn.Render("▼ " + numfmt.Thousands(p.unseen) + " new · " + firstKey(m.keys.Bottom) + " newest")
	case !p.atNewest:
		info = st.Dim.Render("▼ " + firstKey(m.keys.Bottom) + " newest")
	}
	foot := ""
	if r := p.selected(); r != nil {
		foot = r.at.In(now.Location()).Format("Mon 2006-01-02 15:04:05")
		if r.seq > 0 {
			foot += fmt.Sprintf(" · #%d", r.seq)
		}
	}
	return st.box(title, info, foot, lines, w, h, true)
}

// markerLine draws a connection-log entry across the row.
func (p *historyPage) markerLine(m *Model, r *hrow, w int) string {
	st, now := &m.styles, m.data.clock
	if r.hidden != nil {
		counts := map[string]int{}
		var kinds []string
		for _, e := range r.hidden {
			k := e.Kind
			if e.Transition != nil {
				k = strings.ToLower(stateWord(e.Transition.State))
			}
			if counts[k] == 0 {
				kinds = append(kinds, k)
			}
			counts[k]++
		}
		var parts []string
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s ×%s", k, numfmt.Thousands(counts[k])))
		}
		return st.Marker.Render(fit(fmt.Sprintf("·· … %s more connection-log entries until %s (%s) …",
			numfmt.Thousands(len(r.hidden)), stamp(r.hidden[len(r.hidden)-1].At, now), strings.Join(parts, ", ")), w))
	}
	e := r.marker
	if e.Kind == store.LogGap && e.Gap != nil {
		g := e.Gap
		label := "gap " + clock(g.From, now) + "–" + clock(g.To, now) + " (" + exact(g.Duration(now)) + ")"
		if g.Reason != "" {
			label += " " + clean(g.Reason)
		}
		return st.GapMarker.Render(rule(label+" · events in this window were never delivered", w))
	}
	text, style := markerText(m, *e)
	return style.Render(fit(text, w))
}

// markerText describes a connection-log entry in one line.
func markerText(m *Model, e store.LogEntry) (string, lipgloss.Style) {
	st, now := &m.styles, m.data.clock
	switch {
	case e.Transition != nil:
		t := e.Transition
		s := "·· " + stateWord(t.State)
		if t.Reason != "" {
			s += " · " + clean(t.Reason)
		}
		if t.Attempt > 1 {
			s += fmt.Sprintf(" · attempt %d", t.Attempt)
		}
		if !t.NextRetry.IsZero() {
			s += " · retry at " + clock(t.NextRetry, now)
		}
		style := st.Marker
		if t.State == feed.StateReplaced || t.State == feed.StateAuthFailed {
			style = st.Warn
		}
		return s, style
	case e.Gap != nil:
		return "gap " + gapText(*e.Gap, now), st.GapMarker
	case e.Anomaly != nil:
		a := e.Anomaly
		s := "⚠ " + clean(a.Kind)
		if a.Error != "" {
			s += ": " + clean(a.Error)
		}
		return s + " (" + numfmt.Bytes(int64(a.Size)) + ")", st.Warn
	case e.Note != "":
		return "✎ " + clean(e.Note), st.Marker
	}
	return "·· " + clean(e.Kind), st.Marker
}

func stateWord(s feed.State) string {
	switch s {
	case feed.StateAuthFailed:
		return "AUTH FAILED"
	case "":
		return "?"
	}
	return strings.ToUpper(string(s))
}

// abbrevType shortens an event type to fit: "meeting.participant_joined" becomes
// "m.participant_joined" before it is cut.
func abbrevType(t string, w int) string {
	if width(t) <= w {
		return t
	}
	if mod, rest, ok := strings.Cut(t, "."); ok && mod != "" {
		t = mod[:1] + "." + rest
	}
	return t
}
