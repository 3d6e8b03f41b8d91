package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"zoomwatch/feed"
)

// clean makes untrusted text safe and predictable to lay out: feed.Sanitize removes control
// characters, and the code points on which terminals disagree about width (zero-width
// joiners, variation selectors, skin-tone modifiers) are dropped, so that grapheme-width and
// wcwidth terminals both keep columns aligned. "👩‍💻" shows as "👩💻": the same people, the
// same width everywhere.
func clean(s string) string {
	s = feed.Sanitize(s)
	if !needsWidthFix(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !widthUnstable(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsWidthFix(s string) bool {
	for _, r := range s {
		if widthUnstable(r) {
			return true
		}
	}
	return false
}

func widthUnstable(r rune) bool {
	return r == 0x200D || (r >= 0xFE00 && r <= 0xFE0F) || (r >= 0x1F3FB && r <= 0x1F3FF) ||
		(r >= 0xE0020 && r <= 0xE007F)
}

// ansiStrip removes styling, so that a selected row can be drawn in one style.
func ansiStrip(s string) string { return ansi.Strip(s) }

// width is the display width in cells (ANSI sequences ignored).
func width(s string) int {
	if n, ok := simpleWidth(s); ok {
		return n
	}
	return ansi.StringWidth(s)
}

// simpleWidth is the width of text made of printable ASCII, Latin letters, box drawing and
// the few symbols the frame uses, styled with CSI sequences: what nearly all of a frame is.
// It skips ansi.StringWidth's grapheme segmentation, which was a third of a viewer's CPU.
// None of these runes joins its neighbours into a cluster, and any other rune (a combining
// mark, an emoji, CJK) makes it report false.
func simpleWidth(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			n++
			i++
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			// CSI: parameter and intermediate bytes, then one final byte.
			i += 2
			for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
				if s[i] < 0x20 || s[i] >= 0x7f {
					return 0, false
				}
				i++
			}
			if i == len(s) {
				return 0, false
			}
			i++
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !simpleRune(r) {
				return 0, false
			}
			n++
			i += size
		default:
			return 0, false
		}
	}
	return n, true
}

// simpleRune: one cell wide everywhere, and never part of a longer grapheme cluster.
func simpleRune(r rune) bool {
	switch {
	case r >= 0xa1 && r <= 0x24f && r != 0xad: // Latin-1 and Latin Extended-A/B (not the soft hyphen)
		return true
	case r >= 0x2500 && r <= 0x259f: // box drawing, block elements
		return true
	}
	switch r {
	case '…', '•', '·', '●', '○', '←', '→', '↑', '↓', '–', '—', '✓', '✗', '×':
		return true
	}
	return false
}

// trunc cuts s to at most w cells, marking the cut with "…".
func trunc(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// fit returns s cut or padded with spaces to exactly w cells.
func fit(s string, w int) string {
	s = trunc(s, w)
	if n := width(s); n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// fitLeft is fit aligned right.
func fitLeft(s string, w int) string {
	s = trunc(s, w)
	if n := width(s); n < w {
		s = strings.Repeat(" ", w-n) + s
	}
	return s
}

// human formats an elapsed time compactly: 0s, 45s, 12m, 2h13m, 3d4h.
func human(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 || m >= 10 {
			return strconv.Itoa(m) + "m"
		}
		return fmt.Sprintf("%dm%02ds", m, s)
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	return fmt.Sprintf("%dd%dh", days, h)
}

// exact is a duration for gap lengths: seconds precision, "1m45s".
func exact(d time.Duration) string {
	if d < time.Second {
		return latency(d)
	}
	return d.Truncate(time.Second).String()
}

// latency formats a lag: 180ms, 2.1s, 3m.
func latency(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + latency(-d)
	case d < time.Second:
		return strconv.Itoa(int(d/time.Millisecond)) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return human(d)
}

// ago says how long ago t was, relative to now; "never" for the zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	return human(d) + " ago"
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// sparkline draws values scaled to their maximum; zero is the lowest bar, so an idle minute
// still shows as a baseline. Minutes nothing was received in (lost, when given) are blank:
// a quiet minute and one nobody listened to must not look alike.
func sparkline(vals []int, lost []bool) string {
	peak := 0
	for _, v := range vals {
		peak = max(peak, v)
	}
	rs := make([]rune, len(vals))
	for i, v := range vals {
		idx := 0
		if peak > 0 && v > 0 {
			idx = 1 + v*(len(sparkRunes)-2)/peak
		}
		rs[i] = sparkRunes[idx]
		if i < len(lost) && lost[i] && v == 0 {
			rs[i] = ' '
		}
	}
	return string(rs)
}

// clock formats t in the viewer's zone (the zone of now).
func clock(t, now time.Time) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.In(now.Location()).Format("15:04:05")
}

// stamp formats t with its date when it is not today.
func stamp(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t = t.In(now.Location())
	if sameDay(t, now) {
		return t.Format("15:04:05")
	}
	return t.Format("Jan 02 15:04")
}

func sameDay(a, b time.Time) bool {
	y1, m1, d1 := a.Date()
	y2, m2, d2 := b.Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// rule draws a label centred on a line of ─ exactly w cells wide.
func rule(label string, w int) string {
	label = trunc(label, max(w-4, 1))
	n := w - width(label) - 2
	if n < 2 {
		return fit(label, w)
	}
	return strings.Repeat("─", 2) + " " + label + " " + strings.Repeat("─", max(n-2, 0))
}
