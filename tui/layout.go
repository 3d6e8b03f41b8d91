package tui

import (
	"strings"

	"charm.land/lipgloss/v2"

	"zoomwatch/internal/numfmt"
)

// box draws lines inside a rounded border exactly w×h cells, with title on the top edge
// (left) and info on the top edge (right) and foot on the bottom edge (right). Lines are
// cut or padded to the inner width, so nothing inside can push the border out of place.
func (s *Styles) box(title, info, foot string, lines []string, w, h int, focused bool) string {
	if w < 4 || h < 2 {
		return ""
	}
	bs, ts := s.Border, s.Title
	if focused {
		bs, ts = s.BorderFocused, s.TitleFocused
	}
	inner := w - 2
	var b strings.Builder
	b.Grow((w + 2) * h * 2)

	// Top edge: ╭ title ─── info ╮ (info yields to the title).
	title = trunc(title, max(inner-3, 0))
	tw := width(title)
	top := bs.Render("╭")
	fill := inner
	if tw > 0 {
		top += bs.Render("─") + ts.Render(" "+title+" ")
		fill -= tw + 3
	}
	if info != "" && fill > 6 {
		info = trunc(info, fill-4)
		iw := width(info)
		top += bs.Render(strings.Repeat("─", fill-iw-3)) + " " + info + " " + bs.Render("─")
	} else {
		top += bs.Render(strings.Repeat("─", max(fill, 0)))
	}
	b.WriteString(top + bs.Render("╮") + "\n")

	side := bs.Render("│")
	for i := range h - 2 {
		line := ""
		if i < len(lines) {
			line = lines[i]
		}
		b.WriteString(side + fit(line, inner) + side + "\n")
	}

	bottom := bs.Render("╰")
	if foot != "" && inner > 8 {
		foot = trunc(foot, inner-4)
		fw := width(foot)
		bottom += bs.Render(strings.Repeat("─", inner-fw-3)) + " " + s.Dim.Render(foot) + " " + bs.Render("─")
	} else {
		bottom += bs.Render(strings.Repeat("─", inner))
	}
	b.WriteString(bottom + bs.Render("╯"))
	return b.String()
}

// column describes one column of a table; widths are decided once per render for all rows.
type column struct {
	min, max int // max 0: no limit
	weight   int // share of the spare width
	drop     int // columns with a higher drop are hidden first when space runs out; 0 never
	right    bool
}

// colWidths fits columns into w cells (one space between columns). Dropped columns get 0.
func colWidths(cols []column, w int) []int {
	out := make([]int, len(cols))
	shown := make([]bool, len(cols))
	for i := range cols {
		shown[i] = true
	}
	need := func() int {
		n, k := 0, 0
		for i, c := range cols {
			if shown[i] {
				n += c.min
				k++
			}
		}
		return n + max(k-1, 0)
	}
	for need() > w {
		worst := -1
		for i, c := range cols {
			if shown[i] && c.drop > 0 && (worst < 0 || c.drop > cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		shown[worst] = false
	}
	spare := w - need()
	totalWeight := 0
	for i, c := range cols {
		if shown[i] {
			out[i] = c.min
			totalWeight += c.weight
		}
	}
	// Hand out the spare width by weight, capped at max; what a capped column cannot take
	// goes round again.
	for spare > 0 && totalWeight > 0 {
		given := 0
		for i, c := range cols {
			if !shown[i] || c.weight == 0 || (c.max > 0 && out[i] >= c.max) {
				continue
			}
			add := max(spare*c.weight/totalWeight, 1)
			if c.max > 0 {
				add = min(add, c.max-out[i])
			}
			add = min(add, spare-given)
			out[i] += add
			given += add
			if given >= spare {
				break
			}
		}
		if given == 0 {
			break
		}
		spare -= given
	}
	return out
}

// cell is one table cell: plain text and the style to draw it in.
type cell struct {
	text  string
	style *lipgloss.Style
}

// row renders cells at the given widths (0 = hidden column).
func row(cols []column, widths []int, cells ...cell) string {
	var b strings.Builder
	first := true
	for i, c := range cells {
		if i >= len(widths) || widths[i] == 0 {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		var t string
		if cols[i].right {
			t = fitLeft(c.text, widths[i])
		} else {
			t = fit(c.text, widths[i])
		}
		if c.style != nil {
			t = c.style.Render(t)
		}
		b.WriteString(t)
	}
	return b.String()
}

// scroller keeps a cursor visible in a list shown h rows at a time.
type scroller struct {
	cursor, offset int
}

func (s *scroller) clamp(n, h int) {
	s.cursor = max(min(s.cursor, n-1), 0)
	if h <= 0 {
		return
	}
	if s.cursor < s.offset {
		s.offset = s.cursor
	}
	if s.cursor >= s.offset+h {
		s.offset = s.cursor - h + 1
	}
	s.offset = max(min(s.offset, n-h), 0)
}

func (s *scroller) move(delta, n, h int) {
	s.cursor += delta
	s.clamp(n, h)
}

// position describes the visible range for a pane's bottom edge: "12–31 of 340".
func position(offset, visible, n int) string {
	if n == 0 || visible <= 0 || visible >= n && offset == 0 {
		return ""
	}
	return numfmt.Thousands(offset+1) + "–" + numfmt.Thousands(min(offset+visible, n)) + " of " + numfmt.Thousands(n)
}
