package tui

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/text/unicode/norm"

	"zoomwatch/feed"
	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
	"zoomwatch/store/live"
)

// textView is the scrolling shared by the detail pages: a list of lines in a box.
type textView struct {
	off int
	// As last drawn: the offset that shows the last line at the bottom (scrolling past it
	// left up keys undoing the excess with nothing moving), and the first line shown.
	maxOff int
	drawn  bool
	anchor string
}

// scroll applies movement keys and the wheel; it reports whether msg was one.
func (t *textView) scroll(m *Model, msg tea.Msg) bool {
	h := max(m.bodyHeight()-2, 1)
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		km := &m.keys
		switch {
		case key.Matches(msg, km.Up):
			t.off--
		case key.Matches(msg, km.Down):
			t.off++
		case key.Matches(msg, km.PageUp):
			t.off -= h - 1
		case key.Matches(msg, km.PageDown):
			t.off += h - 1
		case key.Matches(msg, km.Top):
			t.off = 0
		case key.Matches(msg, km.Bottom):
			t.off = 1 << 30
		default:
			return false
		}
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			t.off -= 3
		case tea.MouseWheelDown:
			t.off += 3
		}
	default:
		return false
	}
	if t.drawn {
		t.off = min(t.off, t.maxOff)
	}
	t.off, t.anchor = max(t.off, 0), ""
	return true
}

// Detail pages have no text input.
func (t *textView) typing() bool             { return false }
func (t *textView) input(*Model, int) string { return "" }

// render draws lines from the offset. Scrolled down, the view stays on the line it showed
// first when lines come in above it (a meeting's newest joins, the newest log entries).
func (t *textView) render(m *Model, title, info string, lines []string, w, h int) string {
	rows := h - 2
	t.maxOff = max(len(lines)-rows, 0)
	off := min(t.off, t.maxOff)
	if off > 0 && t.anchor != "" && lines[off] != t.anchor {
		if i := nearest(lines, t.anchor, off); i >= 0 {
			off = min(i, t.maxOff)
		}
	}
	t.off, t.drawn = off, true
	if off < len(lines) {
		t.anchor = lines[off]
	}
	return m.styles.box(title, info, position(off, rows, len(lines)), lines[off:], w, h, true)
}

// nearest is the index of the line equal to s closest to i, or -1.
func nearest(lines []string, s string, i int) int {
	for d := 0; d < len(lines); d++ {
		if j := i - d; j >= 0 && j < len(lines) && lines[j] == s {
			return j
		}
		if j := i + d; j < len(lines) && lines[j] == s {
			return j
		}
		if i-d < 0 && i+d >= len(lines) {
			break
		}
	}
	return -1
}

func textHelp(m *Model, extra ...key.Binding) []key.Binding {
	km := &m.keys
	return append(append([]key.Binding{km.Back, km.Up, km.PageDown}, extra...), km.Help, km.Quit)
}

// meetingPage shows one active meeting: who is in it and its join/leave timeline. The
// timeline is not in the live snapshot (see live.Snapshot): the page fetches its meeting
// whole when it opens and after each change to the live state.
type meetingPage struct {
	textView
	key string
	// last is the newest copy: with its sessions once fetched, kept on screen after the
	// meeting ends.
	last            *live.Meeting
	ended           time.Time // its meeting.ended's event_ts, once it ended (zero if unknown)
	fetching, again bool
}

// meetingMsg is a meeting fetched whole (mt nil: it is no longer active; ended is when it
// ended, when known).
type meetingMsg struct {
	key   string
	mt    *live.Meeting
	ended time.Time
}

func openMeeting(m *Model, key string) tea.Cmd {
	p := &meetingPage{key: key}
	m.push(p)
	return p.fetch(m)
}

func (p *meetingPage) fetch(m *Model) tea.Cmd {
	if p.fetching {
		p.again = true
		return nil
	}
	p.fetching = true
	st, key := m.d.Store, p.key
	return func() tea.Msg {
		msg := meetingMsg{key: key, mt: st.LiveMeeting(key)}
		if msg.mt == nil {
			msg.ended, _ = st.MeetingEnded(key)
		}
		return msg
	}
}

func (p *meetingPage) meeting(m *Model) (*live.Meeting, bool) {
	if m.data.snap == nil || m.data.snap.Meeting(p.key) == nil {
		return p.last, false
	}
	return p.last, true
}

func (p *meetingPage) update(m *Model, msg tea.Msg) tea.Cmd {
	if m.data.snap != nil && p.last == nil {
		p.last = m.data.snap.Meeting(p.key) // until the whole copy arrives
	}
	switch msg := msg.(type) {
	case meetingMsg:
		if msg.key != p.key {
			return nil
		}
		p.fetching = false
		if msg.mt != nil {
			p.last = msg.mt
		}
		p.ended = msg.ended
		if p.again {
			p.again = false
			return p.fetch(m)
		}
		return nil
	case feedMsg:
		if msg.snap != nil {
			return p.fetch(m)
		}
		return nil
	}
	k, isKey := msg.(tea.KeyPressMsg)
	if p.scroll(m, msg) || !isKey {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Back):
		m.pop()
	case key.Matches(k, m.keys.History):
		mt, _ := p.meeting(m)
		if mt == nil {
			return nil
		}
		h := newHistory(store.Filter{Meeting: mt.Key}, "meeting:"+mt.Key)
		m.push(h)
		return h.reload(m)
	}
	return nil
}

func (p *meetingPage) view(m *Model, w, h int) string {
	st, now := &m.styles, m.data.clock
	mt, active := p.meeting(m)
	if mt == nil {
		return st.box("Meeting", "", "", []string{st.Dim.Render(" this meeting is no longer active")}, w, h, true)
	}
	inner := w - 2
	topic := clean(mt.Topic)
	if topic == "" {
		topic = "(no topic)"
	}
	host := clean(mt.HostName)
	if host == "" {
		host = mt.HostID
	}
	started := "started " + stamp(mt.Start, now) + " (" + human(now.Sub(mt.Start)) + ")"
	if !mt.StartSeen {
		started = "running since at least " + stamp(mt.Start, now) + " (start not seen)"
	}
	switch {
	case active:
	case !p.ended.IsZero() && mt.StartSeen:
		started = "started " + stamp(mt.Start, now) + " · ended " + stamp(p.ended, now) + " (lasted " + human(p.ended.Sub(mt.Start)) + ")"
	case !p.ended.IsZero():
		started = "running since at least " + stamp(mt.Start, now) + " · ended " + stamp(p.ended, now) + " (lasted at least " + human(p.ended.Sub(mt.Start)) + ")"
	default:
		started = "started " + stamp(mt.Start, now)
	}
	lines := []string{
		" " + st.Bold.Render(topic),
		" meeting " + mt.ID + " · uuid " + clean(mt.UUID) + " · host " + clean(host),
		" " + started,
	}
	status := fmt.Sprintf(" %d present · peak %d · %d joins", len(mt.Participants), mt.Peak, mt.Joins)
	if mt.Recording {
		status += " · " + st.Rec.Render("● recording")
	}
	if !active {
		status += " · " + st.Warn.Render("no longer active (ended)")
	}
	lines = append(lines, status)
	if mt.Uncertain != "" {
		lines = append(lines, " "+st.Warn.Render("? may be incomplete: "+clean(mt.Uncertain)))
	}
	// After the end, who was still there then, for how long until it.
	until, people := now, "Participants"
	if !active && !p.ended.IsZero() {
		until, people = p.ended, "Present when it ended"
	}
	lines = append(lines, "", " "+st.Bold.Render(fmt.Sprintf("%s (%d)", people, len(mt.Participants))))
	// Names (with their numbers) before emails: at 50 columns both were cut to 10 cells.
	cols := []column{{min: 16, max: 40, weight: 3}, {min: 10, max: 40, weight: 2, drop: 2}, {min: 8, max: 8}, {min: 6, max: 6, right: true}, {min: 7, max: 10, drop: 3}}
	widths := colWidths(cols, inner-2)
	lines = append(lines, "  "+st.Dim.Render(row(cols, widths, cell{text: "Name"}, cell{text: "Email"}, cell{text: "Joined"}, cell{text: "For"}, cell{text: "Rejoins"})))
	present := mt.People()
	names := namesakesOf(mt.Sessions, present)
	for _, pp := range present {
		var name string
		if pp.Uncertain {
			name = "? " + names.label(pp.Key, pp.Name, widths[0]-2)
		} else {
			name = names.label(pp.Key, pp.Name, widths[0])
		}
		rejoins := ""
		if pp.Rejoins > 0 {
			rejoins = fmt.Sprint(pp.Rejoins)
		}
		lines = append(lines, "  "+row(cols, widths, cell{text: name}, cell{text: clean(pp.Email)},
			cell{text: clock(pp.Joined, now)}, cell{text: human(until.Sub(pp.Joined))}, cell{text: rejoins}))
	}
	lines = append(lines, "", " "+st.Bold.Render("Timeline")+st.Dim.Render(" · newest first"))
	entries := timeline(mt.Sessions)
	for _, e := range entries {
		// The line's start, the name and what happened fit; the reason and stay may be cut.
		at := clock(e.at, now)
		sign, what := st.Join.Render("+"), " joined"
		if !e.join {
			sign, what = st.Leave.Render("−"), " left"
		}
		text := names.label(e.key, e.name, inner-5-width(at)-len(what)) + what
		if !e.join {
			if e.reason != "" {
				text += st.Dim.Render(" · " + clean(e.reason))
			}
			if e.stay > 0 {
				text += st.Dim.Render(" · stayed " + human(e.stay))
			}
		}
		lines = append(lines, "  "+st.Dim.Render(at)+" "+sign+" "+text)
	}
	if joins := countJoins(entries); mt.Joins > joins {
		lines = append(lines, "  "+st.Dim.Render(fmt.Sprintf("… %s earlier joins are not kept: a meeting keeps its newest %s stays",
			numfmt.Thousands(mt.Joins-joins), numfmt.Thousands(live.MaxSessions))))
	}
	return p.render(m, "Meeting", st.Dim.Render(firstKey(m.keys.History)+" history of this meeting"), lines, w, h)
}

type timelineEntry struct {
	at     time.Time
	join   bool
	key    string // the participant's
	name   string
	reason string
	stay   time.Duration
}

// timeline turns join/leave sessions into events, newest first.
func timeline(sessions []live.Session) []timelineEntry {
	var out []timelineEntry
	for _, s := range sessions {
		if !s.Join.IsZero() {
			out = append(out, timelineEntry{at: s.Join, join: true, key: s.Key, name: s.Name})
		}
		if !s.Leave.IsZero() {
			e := timelineEntry{at: s.Leave, key: s.Key, name: s.Name, reason: s.Reason}
			if !s.Join.IsZero() {
				e.stay = s.Leave.Sub(s.Join)
			}
			out = append(out, e)
		}
	}
	// Times are whole seconds: in a tie, what came later in the sessions happened later
	// (a stay's leave after its join, a rejoin after the leave before it), so it goes first.
	slices.Reverse(out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.After(out[j].at) })
	return out
}

func countJoins(entries []timelineEntry) int {
	n := 0
	for _, e := range entries {
		if e.join {
			n++
		}
	}
	return n
}

// namesakes numbers, for each name, the different people of a meeting who went by it, in
// the order they were first seen: two guests called "iPhone" must not read as one person.
// Busy meetings keep only their newest sessions, so "first seen" is the earliest time still
// known of each (a present person's join, their oldest kept session): a present person
// whose first sessions were dropped keeps their place ahead of later namesakes.
type namesakes map[nameOf]string // → the number shown after the name, " #2"

type nameOf struct{ name, key string }

func namesakesOf(sessions []live.Session, people []*live.Participant) namesakes {
	first := map[nameOf]time.Time{}
	see := func(key, name string, at time.Time) {
		k := nameOf{sameName(name), key}
		if t, ok := first[k]; !ok || at.Before(t) {
			first[k] = at
		}
	}
	for _, s := range sessions {
		see(s.Key, s.Name, cmp.Or(s.Join, s.Leave))
	}
	for _, p := range people {
		see(p.Key, p.Name, p.Joined)
	}
	byName := map[string][]nameOf{}
	for k := range first {
		byName[k.name] = append(byName[k.name], k)
	}
	n := namesakes{}
	for name, ks := range byName {
		if len(ks) < 2 {
			continue
		}
		sort.Slice(ks, func(i, j int) bool {
			if a, b := first[ks[i]], first[ks[j]]; !a.Equal(b) {
				return a.Before(b)
			}
			return ks[i].key < ks[j].key
		})
		// A number that would read as someone's own name ("Ada #2" is a guest's name) is
		// skipped.
		num := 0
		for _, k := range ks {
			for {
				num++
				if byName[fmt.Sprintf("%s #%d", name, num)] == nil {
					break
				}
			}
			n[k] = fmt.Sprintf(" #%d", num)
		}
	}
	return n
}

// sameName is what names that look the same have in common: "Zoë" typed with a combining
// diaeresis, or with a trailing space, is the same name on screen.
func sameName(name string) string {
	return norm.NFC.String(strings.TrimSpace(clean(name)))
}

// label is the name as shown, cut to w cells: numbered ("Ada #2") when different people
// share it, the number kept whatever is cut.
func (n namesakes) label(key, name string, w int) string {
	num := n[nameOf{sameName(name), key}]
	name = strings.TrimSpace(clean(name))
	if room := w - width(num); room >= 4 {
		return trunc(name, room) + num
	}
	return trunc(name+num, w)
}

func (p *meetingPage) shortHelp(m *Model) []key.Binding { return textHelp(m, m.keys.History) }

// recordingPage shows one recording: its files, sizes, transcript and download window.
type recordingPage struct {
	textView
	key  string
	last *live.Recording
}

func (p *recordingPage) recording(m *Model) *live.Recording {
	if m.data.snap != nil {
		for _, r := range m.data.snap.Recordings {
			if r.Key == p.key {
				return r
			}
		}
	}
	return p.last
}

func (p *recordingPage) update(m *Model, msg tea.Msg) tea.Cmd {
	p.last = p.recording(m)
	if k, ok := msg.(tea.KeyPressMsg); !p.scroll(m, msg) && ok && key.Matches(k, m.keys.Back) {
		m.pop()
	}
	return nil
}

func (p *recordingPage) view(m *Model, w, h int) string {
	st, now := &m.styles, m.data.clock
	rc := p.recording(m)
	if rc == nil {
		return st.box("Recording", "", "", []string{st.Dim.Render(" no longer listed")}, w, h, true)
	}
	glyph, state := recState(rc, now)
	lines := []string{
		" " + st.Bold.Render(clean(rc.Topic)),
		" meeting " + clean(rc.MeetingID) + " · " + glyph + " " + string(rc.Status) + " · " + state,
	}
	var when []string
	if !rc.Started.IsZero() {
		when = append(when, "started "+stamp(rc.Started, now))
	}
	if !rc.Stopped.IsZero() {
		when = append(when, "stopped "+stamp(rc.Stopped, now))
	}
	if !rc.Completed.IsZero() {
		when = append(when, "completed "+stamp(rc.Completed, now))
	}
	if l := recLength(rc, now); l != "" {
		when = append(when, "recorded "+l)
	}
	if len(when) > 0 {
		lines = append(lines, " "+strings.Join(when, " · "))
	}
	if rc.Transcript.IsZero() {
		lines = append(lines, " transcript: "+st.Dim.Render("not yet"))
	} else {
		lines = append(lines, " transcript: "+st.OK.Render("ready")+" since "+stamp(rc.Transcript, now))
	}
	switch {
	case rc.DownloadExpires.IsZero():
		lines = append(lines, " download token: "+st.Dim.Render("none delivered yet"))
	case now.Before(rc.DownloadExpires):
		lines = append(lines, " download token: valid until "+stamp(rc.DownloadExpires, now)+" ("+human(rc.DownloadExpires.Sub(now))+" left)")
	default:
		lines = append(lines, " download token: "+st.Warn.Render("expired "+stamp(rc.DownloadExpires, now)))
	}
	lines = append(lines, "", " "+st.Bold.Render(fmt.Sprintf("Files (%d)", len(rc.Files))))
	if len(rc.Files) == 0 {
		lines = append(lines, "  "+st.Dim.Render("none listed yet: Zoom lists them when the recording completes"))
		return p.render(m, "Recording", "", lines, w, h)
	}
	cols := []column{{min: 10, max: 18, weight: 1}, {min: 12, max: 36, weight: 2, drop: 2}, {min: 9, max: 10, right: true}, {min: 17, max: 17, drop: 3}}
	widths := colWidths(cols, w-4)
	lines = append(lines, "  "+st.Dim.Render(row(cols, widths, cell{text: "Type"}, cell{text: "Recording type"}, cell{text: "Size"}, cell{text: "Recorded"})))
	var total int64
	for _, f := range rc.Files {
		total += f.Size
		span := ""
		if !f.Start.IsZero() {
			span = clock(f.Start, now) + "–" + clock(f.End, now)
		}
		lines = append(lines, "  "+row(cols, widths, cell{text: fileType(f.FileType, f.Extension)},
			cell{text: clean(f.RecordingType)}, cell{text: numfmt.Bytes(f.Size)}, cell{text: span}))
	}
	if len(rc.Files) > 1 {
		lines = append(lines, "  "+st.Dim.Render(row(cols, widths, cell{text: "total"}, cell{}, cell{text: numfmt.Bytes(total)}, cell{})))
	}
	return p.render(m, "Recording", "", lines, w, h)
}

// fileType is a recording file's type, with its extension when that says something more
// ("TRANSCRIPT · VTT"; mostly the two are the same, "MP4").
func fileType(typ, ext string) string {
	typ, ext = clean(typ), clean(ext)
	if ext == "" || strings.EqualFold(typ, ext) {
		return typ
	}
	if typ == "" {
		return ext
	}
	return typ + " · " + ext
}

func (p *recordingPage) shortHelp(m *Model) []key.Binding { return textHelp(m) }

// connLogPage lists the connection log (transitions, gaps, anomalies, notes), newest first.
type connLogPage struct {
	textView
	entries []store.LogEntry
	gaps    []store.Gap
	err     error
	loaded  bool
}

type connLogMsg struct {
	to      *connLogPage
	entries []store.LogEntry
	gaps    []store.Gap
	err     error
}

func (p *connLogPage) load(m *Model) tea.Cmd {
	st := m.d.Store
	return func() tea.Msg {
		e, err := st.RecentLog(500)
		g, gerr := st.Gaps(100)
		if err == nil {
			err = gerr
		}
		return connLogMsg{p, e, g, err}
	}
}

func (p *connLogPage) update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case connLogMsg:
		if msg.to == p {
			p.entries, p.gaps, p.err, p.loaded = msg.entries, msg.gaps, msg.err, true
		}
	case feedMsg:
		if len(msg.log) > 0 {
			return p.load(m)
		}
	case tea.KeyPressMsg:
		if !p.scroll(m, msg) && key.Matches(msg, m.keys.Back) {
			m.pop()
		}
	default:
		p.scroll(m, msg)
	}
	return nil
}

func (p *connLogPage) view(m *Model, w, h int) string {
	st, now := &m.styles, m.data.clock
	var lines []string
	switch {
	case p.err != nil:
		lines = append(lines, st.Err.Render(" "+p.err.Error()))
	case !p.loaded:
		lines = append(lines, st.Dim.Render(" loading…"))
	}
	lines = append(lines, " "+st.Bold.Render(fmt.Sprintf("Gaps (%d)", len(p.gaps)))+st.Dim.Render(" · newest first · events in these windows were never delivered"))
	for _, g := range p.gaps {
		lines = append(lines, "  "+st.GapMarker.Render(gapText(g, now)))
	}
	if len(p.gaps) == 0 && p.loaded {
		lines = append(lines, "  "+st.OK.Render("none recorded"))
	}
	lines = append(lines, "", " "+st.Bold.Render("Connection log")+st.Dim.Render(" · newest first"))
	for _, e := range p.entries {
		text, style := markerText(m, e)
		lines = append(lines, "  "+st.Dim.Render(stamp(e.At, now))+" "+style.Render(text))
	}
	return p.render(m, "Connection", "", lines, w, h)
}

func (p *connLogPage) shortHelp(m *Model) []key.Binding { return textHelp(m) }

// eventPage shows one stored event as pretty, coloured JSON.
type eventPage struct {
	textView
	seq    uint64
	rec    *store.Record
	err    error
	pretty []string // indented JSON lines, made safe
	// body is pretty coloured and wrapped for a width and styles: kept between frames, as
	// a large event took more than a core to wrap again every second.
	body       []string
	bodyW      int
	bodyStyles int
}

type eventMsg struct {
	to  *eventPage
	rec store.Record
	ok  bool
	err error
}

func newEventPage(seq uint64) *eventPage { return &eventPage{seq: seq} }

func (p *eventPage) load(m *Model) tea.Cmd {
	st, seq := m.d.Store, p.seq
	return func() tea.Msg {
		rec, ok, err := st.Get(seq)
		return eventMsg{p, rec, ok, err}
	}
}

func (p *eventPage) update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case eventMsg:
		if msg.to != p {
			return nil
		}
		switch {
		case msg.err != nil:
			p.err = msg.err
		case !msg.ok:
			p.err = fmt.Errorf("event #%d is no longer stored (pruned by retention?)", p.seq)
		default:
			p.rec = &msg.rec
			p.pretty, p.body = prettyJSON(msg.rec.Raw), nil
		}
	case tea.KeyPressMsg:
		if p.scroll(m, msg) {
			return nil
		}
		switch {
		case key.Matches(msg, m.keys.Back):
			m.pop()
		case key.Matches(msg, m.keys.Copy):
			if p.rec != nil {
				return copyEvent(p.rec)
			}
		}
	default:
		p.scroll(m, msg)
	}
	return nil
}

// copyEvent puts the event, exactly as delivered, on the clipboard with OSC 52: the
// terminal (local or at the far end of SSH) does the copying.
func copyEvent(rec *store.Record) tea.Cmd {
	return func() tea.Msg { return clipboardEvent(rec) }
}

// copyStored is copyEvent for stored event seq, read off the UI goroutine.
func copyStored(m *Model, seq uint64) tea.Cmd {
	st := m.d.Store
	return func() tea.Msg {
		rec, ok, err := st.Get(seq)
		if err != nil || !ok {
			return flashMsg(fmt.Sprintf("could not read event #%d: %v", seq, err))
		}
		return clipboardEvent(&rec)
	}
}

func clipboardEvent(rec *store.Record) clipboardMsg {
	line := feed.OneLine(rec.Raw)
	return clipboardMsg{text: string(line), note: fmt.Sprintf("copied event #%d (%s of JSON) to the clipboard", rec.Seq, numfmt.Bytes(int64(len(line))))}
}

func (p *eventPage) view(m *Model, w, h int) string {
	st, now := &m.styles, m.data.clock
	title := fmt.Sprintf("Event #%d", p.seq)
	var lines []string
	switch {
	case p.err != nil:
		lines = []string{st.Err.Render(" " + p.err.Error())}
	case p.rec == nil:
		lines = []string{st.Dim.Render(" loading…")}
	default:
		ev := p.rec.Decode()
		title += " · " + clean(ev.Type)
		meta := "received " + p.rec.Received.In(now.Location()).Format("2006-01-02 15:04:05.000") + " via " + p.rec.Source.String()
		if t := ev.Time(); !t.IsZero() {
			layout := "15:04:05.000"
			if !sameDay(t.In(now.Location()), p.rec.Received.In(now.Location())) {
				layout = "2006-01-02 15:04:05.000" // an import of old history
			}
			meta += " · event time " + t.In(now.Location()).Format(layout)
			if p.rec.Source == store.SourceWebSocket { // an import's receive time is the import's
				meta += " · lag " + latency(p.rec.Received.Sub(t))
			}
		}
		lines = append(lines, " "+st.Dim.Render(meta), "")
		if p.body == nil || p.bodyW != w || p.bodyStyles != m.stylesGen {
			p.body, p.bodyW, p.bodyStyles = wrapJSON(st, p.pretty, w), w, m.stylesGen
		}
		lines = append(lines, p.body...)
	}
	return p.render(m, title, st.Dim.Render(firstKey(m.keys.Copy)+" copy"), lines, w, h)
}

func (p *eventPage) shortHelp(m *Model) []key.Binding { return textHelp(m, m.keys.Copy) }

// wrapJSON colours pretty's lines and wraps them for a page w wide: long values wrap under
// their key, at spaces where possible.
func wrapJSON(st *Styles, pretty []string, w int) []string {
	var lines []string
	for _, l := range pretty {
		indent := strings.Repeat(" ", len(l)-len(strings.TrimLeft(l, " "))+2)
		wrapped := strings.Split(ansi.Wrap(colorJSON(st, l), max(w-3-len(indent), 10), ""), "\n")
		lines = append(lines, " "+wrapped[0])
		for _, wl := range wrapped[1:] {
			lines = append(lines, " "+indent+wl)
		}
	}
	return lines
}

// maxShownLine bounds a line of the event page: a value of megabytes would be thousands of
// screens, and y copies the whole event.
const maxShownLine = 16 << 10

// prettyJSON indents raw JSON (as delivered; on failure the raw text) into safe lines.
func prettyJSON(raw []byte) []string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	lines := strings.Split(buf.String(), "\n")
	for i, l := range lines {
		if len(l) > maxShownLine {
			cut := maxShownLine
			for cut > 0 && !utf8.RuneStart(l[cut]) {
				cut--
			}
			l = l[:cut] + fmt.Sprintf("… (%s more: y copies the whole event)", numfmt.Bytes(int64(len(l)-cut)))
		}
		lines[i] = feed.Sanitize(l)
	}
	return lines
}

// colorJSON colours one line of indented JSON: keys, strings, numbers, literals.
func colorJSON(st *Styles, line string) string {
	var b strings.Builder
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(line))
			s := line[i:j]
			rest := strings.TrimLeft(line[j:], " ")
			if strings.HasPrefix(rest, ":") {
				b.WriteString(st.JSONKey.Render(s))
			} else {
				b.WriteString(st.JSONString.Render(s))
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(line) && strings.IndexByte("+-0123456789.eE", line[j]) >= 0 {
				j++
			}
			b.WriteString(st.JSONNumber.Render(line[i:j]))
			i = j
		case strings.HasPrefix(line[i:], "true") || strings.HasPrefix(line[i:], "false"):
			n := 4
			if c == 'f' {
				n = 5
			}
			b.WriteString(st.JSONBool.Render(line[i : i+n]))
			i += n
		case strings.HasPrefix(line[i:], "null"):
			b.WriteString(st.JSONNull.Render("null"))
			i += 4
		case strings.IndexByte("{}[]:,", c) >= 0:
			b.WriteString(st.JSONPunct.Render(string(c)))
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
