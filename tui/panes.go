package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"zoomwatch/internal/numfmt"
	"zoomwatch/store/live"
)

var meetingCols = []column{
	{min: 1, max: 1},                         // recording / uncertain mark
	{min: 14, weight: 4},                     // topic: the meeting number makes room for it
	{min: 7, max: 24, weight: 2, drop: 2},    // host
	{min: 11, max: 13, drop: 5},              // meeting number
	{min: 8, max: 8, drop: 4},                // started
	{min: 6, max: 7, weight: 1, right: true}, // running: "≥2m59s" whole
	{min: 6, max: 7, weight: 1, right: true}, // now/peak
}

func (d *dashboard) meetingsPane(m *Model, r rect, focused bool) string {
	st, now := &m.styles, m.data.clock
	list := d.meetingList(m)
	inner, rows := r.w-2, listRows(paneMeetings, r)
	widths := colWidths(meetingCols, inner)
	running := "Running"
	if widths[5] < len(running) {
		running = "Up"
	}
	lines := []string{st.Dim.Render(row(meetingCols, widths,
		cell{text: ""}, cell{text: "Topic"}, cell{text: "Host"}, cell{text: "Meeting"}, cell{text: "Started"},
		cell{text: running}, cell{text: "Now/Pk"}))}
	s := scroller{offset: d.offsets[paneMeetings], cursor: indexOf(len(list), func(i int) bool { return list[i].Key == d.meetKey })}
	s.clamp(len(list), rows)
	uncertain := false
	_, deaf := m.deaf()
	for i := s.offset; i < len(list) && i < s.offset+rows; i++ {
		mt := list[i]
		mark := cell{text: " "}
		switch { // not knowing whether it still runs matters more than its recording
		case mt.Uncertain != "" || deaf:
			mark = cell{text: "?", style: &st.Warn}
			uncertain = true
		case mt.Recording:
			mark = cell{text: "●", style: &st.Rec}
		}
		host := cell{text: clean(mt.HostName)}
		if mt.HostName == "" {
			host = cell{text: clean(mt.HostID), style: &st.Dim} // the name comes with the host's join
		}
		topic := mt.Topic
		if topic == "" {
			topic = "(meeting " + mt.ID + ")"
		}
		// Without its meeting.started (joined mid-meeting, or lost in a gap) the start is
		// only a bound: it began at the latest then, and has run at least this long.
		started, running := clock(mt.Start, now), human(now.Sub(mt.Start))
		if !mt.StartSeen {
			started, running = "≤"+started[:5], "≥"+running
		}
		line := row(meetingCols, widths, mark, cell{text: clean(topic)}, host,
			cell{text: mt.ID}, cell{text: started}, cell{text: running},
			cell{text: fmt.Sprintf("%d/%d", len(mt.Participants), mt.Peak)})
		if focused && i == s.cursor {
			line = st.Selected.Render(fit(ansiStrip(line), inner))
		}
		lines = append(lines, line)
	}
	if len(list) == 0 {
		lines = append(lines, st.Dim.Render(d.emptyText(m, "No active meetings", d.filter.narrowsLists())))
	}
	title := fmt.Sprintf("%s (%d)", paneNames[paneMeetings], len(list))
	info := ""
	if d.sortBy != sortRunning {
		info = st.Dim.Render(sortNames[d.sortBy])
	}
	if d.filter.narrowsLists() {
		info = st.Warn.Render("filter: " + clean(d.filter.line))
	}
	return st.box(title, info, m.unsureFoot(position(s.offset, rows, len(list)), uncertain), lines, r.w, r.h, focused)
}

// emptyText says why a list is empty: still loading, filtered out, or really nothing.
func (d *dashboard) emptyText(m *Model, nothing string, filtered bool) string {
	switch {
	case !m.data.loaded:
		return " loading…"
	case filtered:
		return " nothing matches the filter"
	}
	return " " + nothing
}

var joinCols = []column{
	{min: 8, max: 8},              // time
	{min: 1, max: 1},              // + / −
	{min: 8, max: 32, weight: 3},  // name
	{min: 8, weight: 3},           // → meeting
	{min: 10, weight: 2, drop: 2}, // leave reason
}

func (d *dashboard) joinsPane(m *Model, r rect, focused bool) string {
	st, now := &m.styles, m.data.clock
	rows := d.joinList(m)
	inner, h := r.w-2, listRows(paneJoins, r)
	widths := colWidths(joinCols, inner)
	// A row with no leave reason (every join) lets its meeting run on into that column.
	spanned := slices.Clone(widths)
	if spanned[4] > 0 {
		spanned[3], spanned[4] = spanned[3]+1+spanned[4], 0
	}
	sel := d.joinIndex(rows)
	s := scroller{offset: d.offsets[paneJoins], cursor: sel}
	if d.follow {
		s.offset = len(rows) - h
	}
	s.clamp(len(rows), h)
	var lines []string
	for i := s.offset; i < len(rows) && i < s.offset+h; i++ {
		jr := &rows[i]
		sign, arrow := cell{text: "+", style: &st.Join}, "→ "
		if !jr.join {
			sign, arrow = cell{text: "−", style: &st.Leave}, "← "
		}
		ws := widths
		if jr.reason == "" {
			ws = spanned
		}
		line := row(joinCols, ws, cell{text: clock(jr.at, now), style: &st.Dim}, sign,
			cell{text: jr.name}, cell{text: arrow + jr.meeting}, cell{text: jr.reason, style: &st.Dim})
		if focused && i == s.cursor && !d.follow {
			line = st.Selected.Render(fit(ansiStrip(line), inner))
		}
		lines = append(lines, line)
	}
	if len(rows) == 0 {
		lines = append(lines, st.Dim.Render(d.emptyText(m, "No joins or leaves yet", !d.filter.empty())))
	}
	info := st.OK.Render("● following")
	if !d.follow {
		// The longest wording that fits the top edge: the count and the way back matter most.
		room := inner - width(paneNames[paneJoins]) - 7
		newRows, resume := "", firstKey(m.keys.Follow)+" follow"
		if d.unseen > 0 {
			newRows = numfmt.Thousands(d.unseen) + " new · "
		}
		for _, v := range []string{"⏸ paused · " + newRows + resume, "⏸ " + newRows + resume, "⏸ " + strings.TrimSuffix(newRows, " · "), "⏸"} {
			if width(v) <= room || v == "⏸" {
				info = st.Warn.Render(strings.TrimSpace(v))
				break
			}
		}
	}
	if !d.filter.empty() {
		info = st.Warn.Render("filter: "+clean(d.filter.line)) + " " + info
	}
	return st.box(paneNames[paneJoins], info, position(s.offset, h, len(rows)), lines, r.w, r.h, focused)
}

var recCols = []column{
	{min: 1, max: 1},                                   // status glyph
	{min: 10, weight: 3},                               // topic
	{min: 10, max: 12},                                 // state: REC 12m / paused / processing / size
	{min: 6, max: 6, right: true, drop: 4},             // length
	{min: 10, max: 30, weight: 2, drop: 5},             // files
	{min: 2, max: 2},                                   // transcript ready: ✓
	{min: 7, max: 11, weight: 1, right: true, drop: 2}, // download token
}

func (d *dashboard) recordingsPane(m *Model, r rect, focused bool) string {
	st, now := &m.styles, m.data.clock
	inner, rows := r.w-2, listRows(paneRecordings, r)
	list, s := d.recViewport(m, rows)
	widths := colWidths(recCols, inner)
	lines := []string{st.Dim.Render(row(recCols, widths, cell{text: ""}, cell{text: "Topic"},
		cell{text: "State"}, cell{text: "Length"}, cell{text: "Files"}, cell{text: "Tx"}, cell{text: "Download"}))}
	var unsure map[string]bool // keys of the uncertain meetings, once a row needs them
	uncertain := false
	_, deaf := m.deaf()
	for i := s.offset; i < len(list) && i < s.offset+rows; i++ {
		rc := list[i]
		glyph, state := recState(rc, now)
		gs := &st.OK
		switch rc.Status {
		case live.RecInProgress:
			gs = &st.Rec
		case live.RecPaused, live.RecProcessing:
			gs = &st.Warn
		}
		// A recording under way in a meeting that may have ended unseen may have stopped
		// unseen too.
		if rc.Status == live.RecInProgress || rc.Status == live.RecPaused {
			if unsure == nil {
				unsure = uncertainMeetings(m.data.snap)
			}
			if unsure[rc.Key] || deaf {
				glyph, gs, uncertain = "?", &st.Warn, true
			}
		}
		tx := ""
		if !rc.Transcript.IsZero() {
			tx = "✓"
		}
		topic := rc.Topic
		if topic == "" {
			topic = "(meeting " + rc.MeetingID + ")"
		}
		line := row(recCols, widths, cell{text: glyph, style: gs}, cell{text: clean(topic)},
			cell{text: state}, cell{text: recLength(rc, now)}, cell{text: fileTypes(rc.Files)},
			cell{text: tx, style: &st.OK}, cell{text: downloadLeft(rc, now, widths[6] >= 11)})
		if focused && i == s.cursor {
			line = st.Selected.Render(fit(ansiStrip(line), inner))
		}
		lines = append(lines, line)
	}
	if len(list) == 0 {
		lines = append(lines, st.Dim.Render(d.emptyText(m, "No recordings in the last 48h", d.filter.narrowsLists())))
	}
	info, above := "", 0
	for _, rc := range list[:s.offset] {
		if rc.LastTS > d.recSeen {
			above++
		}
	}
	if above > 0 {
		info = st.Warn.Render("▲ " + numfmt.Thousands(above) + " new")
	}
	title := fmt.Sprintf("%s (%d)", paneNames[paneRecordings], len(list))
	return st.box(title, info, m.unsureFoot(position(s.offset, rows, len(list)), uncertain), lines, r.w, r.h, focused)
}

// uncertainMeetings are the keys of the active meetings marked uncertain.
func uncertainMeetings(snap *live.Snapshot) map[string]bool {
	keys := map[string]bool{}
	if snap != nil {
		for _, mt := range snap.Meetings {
			if mt.Uncertain != "" {
				keys[mt.Key] = true
			}
		}
	}
	return keys
}

// unsureFoot adds the "?" legend to a pane's foot when a row shows it.
func (m *Model) unsureFoot(foot string, uncertain bool) string {
	if since, deaf := m.deaf(); deaf && uncertain {
		return strings.TrimPrefix(foot+" · ? = unsure: nothing received since "+clock(since, m.data.clock), " · ")
	}
	if !uncertain {
		return foot
	}
	return strings.TrimPrefix(foot+" · ? = unsure after a gap", " · ")
}

// deaf reports a gap open long enough that what was live at its start may have ended
// unseen: the store marks such meetings once the gap closes, the panes while it lasts.
func (m *Model) deaf() (since time.Time, ok bool) {
	g, open := m.openGap()
	return g.From, open && g.Duration(m.data.clock) >= live.UncertainAfter
}

// recState is a recording's status glyph and its short state: "REC 12m", "paused",
// "processing", or the size once completed.
func recState(rc *live.Recording, now time.Time) (glyph, state string) {
	switch rc.Status {
	case live.RecInProgress:
		s := "REC"
		if !rc.Started.IsZero() {
			s += " " + human(now.Sub(rc.Started))
		}
		return "●", s
	case live.RecPaused:
		return "‖", "paused"
	case live.RecProcessing:
		return "…", "processing"
	}
	return "✓", numfmt.Bytes(recSize(rc))
}

// recSize is the sum of the recording's files (its files table adds up to it), else Zoom's
// total_size: that is the files of recording.completed, without a transcript that comes later.
func recSize(rc *live.Recording) int64 {
	var size int64
	for _, f := range rc.Files {
		size += f.Size
	}
	if size == 0 {
		size = rc.TotalSize
	}
	return size
}

// recLength is how long was recorded: the span of its files, else from start to stop (to
// now while recording); "" when unknown. Not the payload's duration, which is the meeting's
// (scheduled) length.
func recLength(rc *live.Recording, now time.Time) string {
	var from, to time.Time
	for _, f := range rc.Files {
		if !f.Start.IsZero() && (from.IsZero() || f.Start.Before(from)) {
			from = f.Start
		}
		if f.End.After(to) {
			to = f.End
		}
	}
	switch {
	case !from.IsZero() && to.After(from):
	case rc.Started.IsZero():
		return ""
	case rc.Status == live.RecInProgress:
		from, to = rc.Started, now
	case rc.Stopped.After(rc.Started):
		from, to = rc.Started, rc.Stopped
	default:
		return ""
	}
	return human(to.Sub(from))
}

// fileTypes lists the distinct file types: "MP4 M4A TRANSCRIPT".
func fileTypes(files []live.File) string {
	var types []string
	for _, f := range files {
		t := f.FileType
		if t == "" {
			t = f.Extension
		}
		if t = clean(strings.ToUpper(t)); t != "" && !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	return strings.Join(types, " ")
}

// downloadLeft is the time left on the 24 h download token.
func downloadLeft(rc *live.Recording, now time.Time, long bool) string {
	switch {
	case rc.DownloadExpires.IsZero():
		return ""
	case !now.Before(rc.DownloadExpires):
		return "expired"
	case long:
		return human(rc.DownloadExpires.Sub(now)) + " left"
	}
	return human(rc.DownloadExpires.Sub(now))
}

func firstKey(b interface{ Keys() []string }) string {
	if ks := b.Keys(); len(ks) > 0 {
		return ks[0]
	}
	return ""
}
