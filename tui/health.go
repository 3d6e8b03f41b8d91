package tui

import (
	"slices"
	"time"

	"charm.land/lipgloss/v2"

	"zoomwatch/feed"
	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
)

// quietAfter is how long without events before the connection pane says so and tells
// whether the link itself is still answering.
const quietAfter = 2 * time.Minute

func (d *dashboard) connPane(m *Model, r rect, focused bool) string {
	st, now, s := &m.styles, m.data.clock, m.data.stats
	inner, rows := r.w-2, r.h-2
	// Short labels when narrow, so that the values keep the room.
	narrow := inner < 60
	lw := 11
	if narrow {
		lw = 7
	}
	text := inner - lw
	type line struct {
		keep int // lines with the lowest keep survive when the pane is short
		text string
	}
	var lines []line
	add := func(keep int, label, value string) {
		lines = append(lines, line{keep, st.Dim.Render(fit(label, lw)) + value})
	}
	c := m.conn()

	state := c.style.Render(c.word)
	if c.live {
		state += " since " + stamp(c.since, now) + " (" + human(now.Sub(c.since)) + ")"
	} else if c.reason != "" {
		state += " · " + c.reason
	}
	add(1, "state", state)
	link, ls := m.linkLine(narrow)
	add(2, "link", ls.Render(trunc(link, text)))
	if s != nil {
		lag := st.Dim.Render("no events yet")
		if s.LagSamples > 0 {
			lag = joinSegments([]segment{{"last " + latency(s.LagLast), 2}, {"median " + latency(s.LagMedian), 0}, {"worst " + latency(s.LagMax), 1}}, " · ", text)
		}
		add(6, "lag", lag)
		bad := numfmt.Plural(s.BadFrames, "bad frame")
		if s.BadFrames > 0 {
			bad = st.Warn.Render(bad)
		}
		segs := []segment{{numfmt.Plural(s.Reconnects, "reconnect"), 0}, {bad, 1}}
		if !s.TokenExpiry.IsZero() {
			if now.Before(s.TokenExpiry) {
				segs = append(segs, segment{"token " + human(s.TokenExpiry.Sub(now)), 2})
			} else {
				segs = append(segs, segment{st.Warn.Render("token expired"), 0})
			}
		}
		add(7, "counts", joinSegments(segs, " · ", text))
		period := s.Heartbeat
		if period <= 0 {
			period = 30 * time.Second
		}
		hbLabel := "heartbeat"
		if narrow {
			hbLabel = "hb"
		}
		add(8, hbLabel, joinSegments([]segment{{"every " + human(period), 2}, {numfmt.Thousands(s.HeartbeatsSent) + " sent", 1},
			{numfmt.Thousands(s.HeartbeatsAcked) + " answered", 0}}, " · ", text))
		add(9, "frames", joinSegments([]segment{{numfmt.Thousands(s.Frames), 1}, {numfmt.Thousands(s.Events) + " events since start", 0},
			{"last frame " + ago(now, s.LastFrame), 2}}, " · ", text))
	}
	// The current minute is still filling: the line shows complete minutes, the figure the
	// last complete one, or what the current one has so far while that was empty (a fresh
	// start would otherwise say 0 for a minute). A minute only partly received says part of
	// it was missed: the first after a start would otherwise pass for a quiet one.
	vals := m.data.rates.last(now, rateMinutes)
	figure := numfmt.Thousands(vals[len(vals)-2])
	if cur := vals[len(vals)-1]; vals[len(vals)-2] == 0 && cur > 0 {
		figure = numfmt.Thousands(cur) + " so far"
	} else if m.partlyReceived(now.Truncate(time.Minute).Add(-time.Minute), now) {
		figure += " (part missed)" // not "partial", which reads as "still counting"
	}
	// Room for a 7-cell figure, so that the line does not shift as the number changes.
	spark := min(max(text-max(width(figure), 7)-1, 4), len(vals)-1)
	full := vals[len(vals)-1-spark : len(vals)-1]
	label := "events/min"
	if narrow {
		label = "ev/min"
	}
	lost := make([]bool, len(full))
	for i := range full {
		_, lost[i] = m.missed(now.Truncate(time.Minute).Add(-time.Duration(len(full)-i)*time.Minute), now)
	}
	add(5, label, st.Spark.Render(sparkline(full, lost))+" "+figure)

	gapLines := m.gapLines(text)
	add(3, "gaps", trunc(gapLines[0], text))
	for i, g := range gapLines[1:] {
		add(20+i, "", g)
	}
	add(4, "store", trunc(m.storeLine(narrow), text))
	label = "recent"
	for i, e := range m.data.recent {
		add(30+i, label, m.logLine(e, text))
		label = ""
	}

	if len(lines) > rows {
		keeps := make([]int, len(lines))
		for i, l := range lines {
			keeps[i] = l.keep
		}
		slices.Sort(keeps)
		cut := keeps[max(rows-1, 0)]
		kept := lines[:0]
		for _, l := range lines {
			if l.keep <= cut && len(kept) < rows {
				kept = append(kept, l)
			}
		}
		lines = kept
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.text
	}
	return st.box(paneNames[paneConn], "", "", out, r.w, r.h, focused)
}

// partlyReceived reports whether the minute from from was not all received: the link went
// live during it or later, or reception missed some of it.
func (m *Model) partlyReceived(from, now time.Time) bool {
	if s := m.data.stats; s != nil && s.Current.State == feed.StateLive && s.LiveSince.After(from) {
		return true
	}
	some, _ := m.missed(from, now)
	return some
}

// missed reports whether reception missed some of the minute from from, and whether it
// missed all of it: gaps, and the time before the store's first reception, which nobody
// listened to either.
func (m *Model) missed(from, now time.Time) (some, whole bool) {
	to := from.Add(time.Minute)
	if first := m.data.health.Listening; first.After(from) {
		if !first.Before(to) {
			return true, true
		}
		some = true
	}
	for _, g := range m.data.gaps {
		end := g.From.Add(g.Duration(now))
		if !g.From.After(from) && !end.Before(to) {
			return true, true
		}
		some = some || g.From.Before(to) && end.After(from)
	}
	return some, false
}

// logLine is one recent connection-log entry for the connection pane.
func (m *Model) logLine(e store.LogEntry, w int) string {
	text, style := markerText(m, e)
	return style.Render(trunc(clock(e.At, m.data.clock)+" "+text, w))
}

// linkLine says whether the connection can be trusted right now: events flowing, quiet but
// answering heartbeats, silent, or not receiving at all.
func (m *Model) linkLine(short bool) (string, lipgloss.Style) {
	st, now, s := &m.styles, m.data.clock, m.data.stats
	if s == nil || s.Current.State != feed.StateLive {
		if g, ok := m.openGap(); ok {
			return "not receiving since " + stamp(g.From, now) + " (" + human(now.Sub(g.From)) + ") · events in this window are lost", st.Err
		}
		if s == nil {
			return "no connection: showing stored events", st.Dim
		}
		return "not receiving", st.Err
	}
	if silent, d := heartbeatSilent(s, now); silent {
		return "SILENT: no heartbeat reply for " + human(d), st.Err
	}
	hb := "no heartbeat sent yet"
	if !s.LastHeartbeatAck.IsZero() {
		hb = "heartbeat answered " + ago(now, s.LastHeartbeatAck)
		if short {
			hb = "hb ok " + ago(now, s.LastHeartbeatAck)
		}
	}
	last := s.LastEvent
	if last.IsZero() || last.Before(s.LiveSince) {
		last = s.LiveSince
	}
	if quiet := now.Sub(last); quiet > quietAfter {
		what := "no events for " + human(quiet)
		if s.LastEvent.IsZero() {
			what = "no events since connecting " + human(quiet) + " ago"
		}
		return what + " · link healthy: " + hb, st.OK
	}
	if short {
		return "event " + ago(now, s.LastEvent) + " · " + hb, lipgloss.NewStyle()
	}
	return "last event " + ago(now, s.LastEvent) + " · " + hb, lipgloss.NewStyle()
}

// gapLines describes the recorded blind spots: a summary first, then one per gap.
func (m *Model) gapLines(w int) []string {
	st, now := &m.styles, m.data.clock
	gaps := m.data.gaps
	if len(gaps) == 0 {
		return []string{st.OK.Render("none recorded")}
	}
	n := m.data.gapCount
	if _, ok := m.openGap(); ok {
		n++ // GapCount counts the closed ones
	}
	out := []string{st.Warn.Render(numfmt.Thousands(n)) + " · " + gapText(gaps[0], now)}
	for _, g := range gaps[1:] {
		out = append(out, st.Dim.Render(trunc(gapText(g, now), w)))
	}
	return out
}

// gapText is one gap: "14:02:10–14:03:55 (1m45s) read: unexpected EOF".
func gapText(g store.Gap, now time.Time) string {
	var s string
	if g.Open() {
		s = "since " + stamp(g.From, now) + " (" + human(now.Sub(g.From)) + ", ongoing)"
	} else {
		s = stamp(g.From, now) + "–" + clock(g.To, now) + " (" + exact(g.Duration(now)) + ")"
	}
	if g.Reason != "" {
		s += " " + clean(g.Reason)
	}
	if g.Dropped > 0 {
		s += " · " + numfmt.Thousands(g.Dropped) + " dropped"
	}
	return s
}

func (m *Model) storeLine(short bool) string {
	st, now, h := &m.styles, m.data.clock, m.data.health
	if !h.Storing && !m.d.Store.ReadOnly() {
		return st.Err.Render("NOT STORING: " + clean(h.Err) + " · backlog " + numfmt.Thousands(h.Backlog))
	}
	s, commit := numfmt.Thousands(h.Counts.Stored())+" events stored", " · last commit "
	if short {
		s, commit = numfmt.Thousands(h.Counts.Stored())+" stored", " · commit "
	}
	if h.Counts.Pruned > 0 { // by --retain or --max-db-size
		s += " · " + numfmt.Thousands(h.Counts.Pruned) + " pruned"
	}
	if !h.LastCommit.IsZero() {
		s += commit + ago(now, h.LastCommit)
	}
	return s
}
