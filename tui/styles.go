package tui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles is every style the TUI uses, built per model from what the terminal reported
// (background colour, colour profile, NO_COLOR), so that SSH viewers each get their own.
type Styles struct {
	Header, HeaderDim, Viewer lipgloss.Style
	Demo                      lipgloss.Style

	// Connection states, as a word.
	Live, Connecting, Backoff, Bad, Offline lipgloss.Style

	// Banner is the loud line for "not storing" and "silent".
	Banner lipgloss.Style

	Border, BorderFocused lipgloss.Style
	Title, TitleFocused   lipgloss.Style

	Dim, Bold, Selected, Warn, Err, OK lipgloss.Style
	Cursor                             lipgloss.Style
	Join, Leave, Rec                   lipgloss.Style
	Marker, GapMarker                  lipgloss.Style
	Spark                              lipgloss.Style

	JSONKey, JSONString, JSONNumber, JSONBool, JSONNull, JSONPunct lipgloss.Style

	Help help.Styles
}

// NewStyles builds the styles for a dark or light background; noColor keeps only text
// attributes (bold, reverse, faint), which NO_COLOR allows, so that focus and state still
// show without colour.
func NewStyles(isDark, noColor bool) Styles {
	s := lipgloss.NewStyle
	if noColor {
		return Styles{
			Header: s().Bold(true), HeaderDim: s(), Viewer: s().Faint(true), Demo: s().Bold(true).Reverse(true),
			Live: s().Bold(true), Connecting: s().Bold(true), Backoff: s().Bold(true).Reverse(true),
			Bad: s().Bold(true).Reverse(true), Offline: s().Bold(true).Reverse(true),
			Banner: s().Bold(true).Reverse(true),
			Border: s(), BorderFocused: s().Bold(true),
			Title: s(), TitleFocused: s().Bold(true).Reverse(true),
			Dim: s().Faint(true), Bold: s().Bold(true), Selected: s().Reverse(true), Cursor: s().Reverse(true),
			Warn: s().Bold(true), Err: s().Bold(true).Reverse(true), OK: s(),
			Join: s(), Leave: s(), Rec: s().Bold(true),
			Marker: s().Faint(true), GapMarker: s().Bold(true), Spark: s(),
			JSONKey: s().Bold(true), JSONString: s(), JSONNumber: s(), JSONBool: s(), JSONNull: s().Faint(true), JSONPunct: s().Faint(true),
			Help: help.Styles{
				ShortKey: s().Bold(true), ShortDesc: s(), ShortSeparator: s().Faint(true), Ellipsis: s().Faint(true),
				FullKey: s().Bold(true), FullDesc: s(), FullSeparator: s().Faint(true),
			},
		}
	}
	ld := lipgloss.LightDark(isDark)
	c := func(light, dark string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(dark)) }
	var (
		fg      = c("#1F2328", "#E6EDF3")
		dim     = c("#6E7781", "#8B949E")
		faint   = c("#AFB8C1", "#484F58")
		accent  = c("#0969DA", "#58A6FF")
		green   = c("#1A7F37", "#3FB950")
		yellow  = c("#9A6700", "#D29922")
		red     = c("#CF222E", "#F85149")
		magenta = c("#8250DF", "#BC8CFF")
		cyan    = c("#1B7C83", "#39C5CF")
		selBg   = c("#DDF4FF", "#1F3A5F")
		white   = lipgloss.Color("#FFFFFF")
	)
	return Styles{
		Header: s().Bold(true).Foreground(fg), HeaderDim: s().Foreground(dim), Viewer: s().Foreground(dim).Italic(true),
		Demo: s().Bold(true).Foreground(white).Background(magenta),
		Live: s().Bold(true).Foreground(green), Connecting: s().Bold(true).Foreground(yellow),
		Backoff: s().Bold(true).Foreground(yellow), Bad: s().Bold(true).Foreground(white).Background(red),
		Offline: s().Bold(true).Foreground(red),
		Banner:  s().Bold(true).Foreground(white).Background(red),
		Border:  s().Foreground(faint), BorderFocused: s().Foreground(accent),
		Title: s().Foreground(dim), TitleFocused: s().Bold(true).Foreground(accent),
		Dim: s().Foreground(dim), Bold: s().Bold(true), Selected: s().Background(selBg).Foreground(fg).Bold(true),
		Cursor: s().Reverse(true),
		Warn:   s().Foreground(yellow), Err: s().Bold(true).Foreground(red), OK: s().Foreground(green),
		Join: s().Foreground(green), Leave: s().Foreground(red), Rec: s().Bold(true).Foreground(red),
		Marker: s().Foreground(dim), GapMarker: s().Bold(true).Foreground(yellow), Spark: s().Foreground(cyan),
		JSONKey: s().Foreground(accent), JSONString: s().Foreground(green), JSONNumber: s().Foreground(cyan),
		JSONBool: s().Foreground(magenta), JSONNull: s().Foreground(dim), JSONPunct: s().Foreground(dim),
		Help: help.DefaultStyles(isDark),
	}
}
