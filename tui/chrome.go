package tui

import (
	"fmt"
	"net"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"zoomwatch/feed"
	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
)

// connView is the connection's state as the header and the connection pane say it.
type connView struct {
	word   string // LIVE, CONNECTING, BACKOFF · retry in 12s, REPLACED, AUTH FAILED, OFFLINE
	style  lipgloss.Style
	reason string
	since  time.Time // when this state began (live: when the live period began)
	live   bool
}

func (m *Model) conn() connView {
	st, now := &m.styles, m.data.clock
	s := m.data.stats
	if s == nil {
		v := connView{word: "OFFLINE", style: st.Offline}
		if g, ok := m.openGap(); ok {
			v.reason, v.since = "not receiving since "+stamp(g.From, now)+" ("+human(now.Sub(g.From))+")", g.From
			if g.Reason != "" {
				v.reason += ": " + clean(g.Reason)
			}
		}
		return v
	}
	c := s.Current
	v := connView{since: c.At, reason: clean(c.Reason)}
	switch c.State {
	case feed.StateLive:
		v.word, v.style, v.live = "LIVE", st.Live, true
		if !s.LiveSince.IsZero() {
			v.since = s.LiveSince
		}
	case feed.StateConnecting:
		v.word, v.style = "CONNECTING", st.Connecting
		if c.Attempt > 1 {
			v.reason = strings.TrimPrefix(v.reason+" · attempt "+fmt.Sprint(c.Attempt), " · ")
		}
	case feed.StateBackoff:
		// Time left, not time in the state as LIVE counts: said so.
		v.word, v.style = "BACKOFF · retry in "+countdown(c.NextRetry, now), st.Backoff
	case feed.StateReplaced:
		v.word, v.style = "REPLACED", st.Bad
		if v.reason == "" {
			v.reason = "another consumer took the subscription"
		}
	case feed.StateAuthFailed:
		v.word, v.style = "AUTH FAILED", st.Bad
	default:
		v.word, v.style = "OFFLINE", st.Offline
		if v.reason == "" {
			v.reason = string(c.State)
		}
	}
	return v
}

// countdown is the time left until t, rounded up to whole seconds ("12s", "4m").
func countdown(t, now time.Time) string {
	if t.IsZero() {
		return "…"
	}
	d := t.Sub(now)
	if d <= 0 {
		return "0s"
	}
	return human((d + time.Second - 1) / time.Second * time.Second)
}

// openGap is the blind spot going on now, if any.
func (m *Model) openGap() (store.Gap, bool) {
	for _, g := range m.data.gaps {
		if g.Open() {
			return g, true
		}
	}
	return store.Gap{}, false
}

// segment is a part of a one-line summary; when the line is too narrow, the segments with
// the highest drop go first.
type segment struct {
	text string
	drop int
}

func joinSegments(segs []segment, sep string, w int) string {
	keep := make([]bool, len(segs))
	total := 0
	for i, s := range segs {
		keep[i] = s.text != ""
		if keep[i] {
			total += width(s.text) + width(sep)
		}
	}
	for total-width(sep) > w {
		worst := -1
		for i, s := range segs {
			if keep[i] && s.drop > 0 && (worst < 0 || s.drop > segs[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		keep[worst] = false
		total -= width(segs[worst].text) + width(sep)
	}
	var parts []string
	for i, s := range segs {
		if keep[i] {
			parts = append(parts, s.text)
		}
	}
	return trunc(strings.Join(parts, sep), w)
}

// header is the top line: who, what state, how fresh; the clock on the right.
func (m *Model) header(w int) string {
	st, now, s := &m.styles, m.data.clock, m.data.stats
	// In a narrow window the connection's state matters more than the name.
	name := st.Header.Render("zoomwatch")
	switch {
	case m.d.Mode == ModeDemo && w >= 70:
		name += " " + st.Demo.Render(" DEMO ") + st.HeaderDim.Render(" simulator")
	case m.d.Mode == ModeDemo && w >= 45:
		name += " " + st.Demo.Render(" DEMO ")
	case m.d.Mode == ModeDemo:
		name = st.Demo.Render(" DEMO ")
	case m.d.Mode == ModeHistory && w >= 45:
		name += st.HeaderDim.Render(" history")
	}
	c := m.conn()
	state := c.style.Render("● " + c.word)
	if c.live {
		state += " " + human(now.Sub(c.since))
	}
	segs := []segment{{name, 0}, {state, 0}}
	if m.d.Account != "" {
		segs = append(segs, segment{st.HeaderDim.Render("account ") + clean(m.d.Account), 3})
	}
	if s != nil {
		if c.live {
			segs = append(segs, segment{"last event " + agoShort(now, s.LastEvent), 2})
			segs = append(segs, segment{"hb " + ago(now, s.LastHeartbeatAck), 4})
			if s.LagSamples > 0 {
				segs = append(segs, segment{"lag " + latency(s.LagMedian), 5})
			}
		} else if c.reason != "" {
			segs = append(segs, segment{c.reason, 2})
		}
		segs = append(segs, segment{numfmt.Plural(s.Reconnects, "reconnect"), 6})
	} else if m.d.Mode == ModeHistory {
		segs = append(segs, segment{numfmt.Thousands(m.data.health.Counts.Stored()) + " events stored", 2})
	} else if c.reason != "" {
		segs = append(segs, segment{c.reason, 2})
	}
	right := clock(now, now)
	if m.d.Serving != nil && w < 100 {
		// Narrow: the count alone, dropped before the state and the last event. Whoever
		// quits must see that others are watching.
		if _, n := m.d.Serving(); n > 0 {
			segs = append(segs, segment{st.Viewer.Render(numfmt.Plural(n, "SSH viewer")), 3})
		}
	}
	if m.d.Viewer != "" && w >= 100 {
		right = st.Viewer.Render(clean(m.d.Viewer)) + "  " + right
	} else if m.d.Serving != nil && w >= 100 {
		addr, n := m.d.Serving()
		if _, port, err := net.SplitHostPort(addr); err == nil {
			addr = ":" + port
		}
		right = st.Viewer.Render("ssh "+addr+" · "+numfmt.Plural(n, "viewer")) + "  " + right
	}
	left := joinSegments(segs, st.HeaderDim.Render(" · "), w-width(right)-3)
	pad := w - 1 - width(left) - width(right) - 1
	if pad < 1 {
		return fit(" "+left, w)
	}
	return " " + left + strings.Repeat(" ", pad) + right + " "
}

// agoShort is ago without "ago", for the header: "1s", "14m", "none yet".
func agoShort(now, t time.Time) string {
	switch d := now.Sub(t); {
	case t.IsZero():
		return "none yet"
	case d < time.Second:
		return "<1s"
	default:
		return human(d)
	}
}

// banners are the loud lines under the header for things an operator must not miss.
func (m *Model) banners(w int) []string {
	var out []string
	st, now := &m.styles, m.data.clock
	if h := m.data.health; !h.Storing && !m.d.Store.ReadOnly() && m.d.Mode != ModeHistory {
		msg := "NOT STORING: " + clean(h.Err) + " · backlog " + numfmt.Thousands(h.Backlog)
		if h.Dropped > 0 {
			msg += " · " + numfmt.Thousands(h.Dropped) + " dropped"
		}
		if !h.Since.IsZero() {
			msg += " · since " + stamp(h.Since, now)
		}
		out = append(out, msg)
	}
	if s := m.data.stats; s != nil && s.Current.State == feed.StateLive {
		if silent, d := heartbeatSilent(s, now); silent {
			out = append(out, "SILENT: no heartbeat reply for "+human(d)+" · the link may be dead; zoomwatch will reconnect")
		}
	}
	if err := m.data.err; err != nil {
		out = append(out, "Could not read the store: "+clean(err.Error()))
	}
	if m.data.closed && m.d.Mode != ModeHistory {
		out = append(out, "The store was closed: nothing new will show")
	}
	for i, b := range out {
		out[i] = st.Banner.Render(fit(" "+b, w))
	}
	return out
}

func blockWidth(lines []string) int {
	w := 0
	for _, l := range lines {
		w = max(w, width(l))
	}
	return w
}

// heartbeatSilent reports whether heartbeats have gone unanswered for more than two
// periods (the feed replaces such a link), and for how long.
func heartbeatSilent(s *feed.Stats, now time.Time) (bool, time.Duration) {
	period := s.Heartbeat
	if period <= 0 {
		period = 30 * time.Second
	}
	last := s.LastHeartbeatAck
	if last.IsZero() || last.Before(s.LiveSince) {
		last = s.LiveSince
	}
	if last.IsZero() {
		return false, 0
	}
	d := now.Sub(last)
	return d > 2*period, d
}

// helpView lists every binding, as remapped, in columns.
func (m *Model) helpView(w, h int) string {
	st := &m.styles
	groups := m.keys.helpGroups()
	var cols [][]string
	for _, g := range groups {
		kw := 0
		for _, b := range g.keys {
			kw = max(kw, width(b.Help().Key))
		}
		lines := []string{st.Bold.Render(g.name), ""}
		for _, b := range g.keys {
			if !b.Enabled() {
				continue
			}
			lines = append(lines, st.Help.FullKey.Render(fit(b.Help().Key, kw))+"  "+st.Help.FullDesc.Render(b.Help().Desc))
		}
		cols = append(cols, lines)
	}
	notes := []string{
		"",
		st.Bold.Render("Filter") + st.Dim.Render("  type:meeting.* meeting:ID who:ada text:\"board sync\" since:2h until:14:00"),
		st.Bold.Render("      ") + st.Dim.Render("  bare words are free text · esc clears · h takes it to history"),
		st.Bold.Render("      ") + st.Dim.Render("  live panes: each takes what applies (type: joins & leaves only)"),
		st.Bold.Render("Open") + st.Dim.Render("    enter on a meeting, a recording, a join or leave, a history row, or the"),
		st.Bold.Render("    ") + st.Dim.Render("    Connection pane (its whole log: transitions, gaps, bad frames, SSH logins)"),
		st.Bold.Render("Jump") + st.Dim.Render("    14:03 · 2026-11-22 14:03 · 2h (ago)"),
		st.Bold.Render("Marks") + st.Dim.Render("   ● recording · ? unsure (a gap, or nothing received now) · ‖ paused · … processing · ✓ done · ≤/≥ start not seen"),
		st.Bold.Render("Mouse") + st.Dim.Render("   the wheel scrolls the pane under the pointer, a click focuses it"),
		st.Bold.Render("Remap") + st.Dim.Render("   keys are set in the config file: [keys] quit = [\"x\"]"),
	}
	var b strings.Builder
	b.WriteString(" " + st.TitleFocused.Render("Keys") + "\n\n")
	// Pack the groups side by side, each as wide as it needs, wrapping when out of room.
	for start := 0; start < len(cols); {
		end, used := start, 0
		for end < len(cols) && (end == start || used+blockWidth(cols[end])+3 <= w-1) {
			used += blockWidth(cols[end]) + 3
			end++
		}
		rows := 0
		for _, c := range cols[start:end] {
			rows = max(rows, len(c))
		}
		for r := range rows {
			line := " "
			for _, c := range cols[start:end] {
				cell := ""
				if r < len(c) {
					cell = c[r]
				}
				line += fit(cell, blockWidth(c)+3)
			}
			b.WriteString(line + "\n")
		}
		b.WriteString("\n")
		start = end
	}
	for _, n := range notes {
		b.WriteString(" " + n + "\n")
	}
	b.WriteString("\n " + st.Dim.Render("? or esc closes this help"))
	// Too tall for the window: it scrolls, and the last line says so.
	lines := strings.Split(b.String(), "\n")
	if len(lines) <= h || h < 2 {
		return padLines(b.String(), w, h)
	}
	m.helpOffset = max(min(m.helpOffset, len(lines)-(h-1)), 0)
	shown := lines[m.helpOffset : m.helpOffset+h-1]
	more := fmt.Sprintf(" lines %d–%d of %d · %s scroll", m.helpOffset+1, m.helpOffset+h-1, len(lines),
		firstKey(m.keys.Down)+"/"+firstKey(m.keys.Up))
	return padLines(strings.Join(append(shown, st.Dim.Render(more)), "\n"), w, h)
}
