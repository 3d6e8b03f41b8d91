package tui

import (
	"math/rand/v2"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// TestWidthAgreesWithANSI: the ASCII fast path gives ansi.StringWidth's answer for styled
// text, and everything else still goes to it.
func TestWidthAgreesWithANSI(t *testing.T) {
	styles := []lipgloss.Style{
		lipgloss.NewStyle(),
		lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#ff8800")),
		lipgloss.NewStyle().Reverse(true).Underline(true).Background(lipgloss.Color("12")),
	}
	texts := []string{"", "Quarterly business review", "Søren Kierkegaard", "芳", "Łukasz Raman 🚀",
		"a\tb", "bell\x07", "del\x7f", "\x1b]8;;https://example.com\x07link\x1b]8;;\x07", "\x1b[", "\x1b[31", "x\x1b[1;2", "\x1bc", "…"}
	var corpus []string
	for _, s := range texts {
		for _, st := range styles {
			corpus = append(corpus, st.Render(s), s+st.Render(s)+s)
		}
	}
	// Random strings over the bytes that matter to the parser.
	alphabet := []string{"a", "Z", " ", "\x1b", "[", "]", "0", "1", ";", "m", "K", "?", "\x07", "\t", "é", "芳", "🚀", "\x7f", "~", "@",
		"│", "╭", "▁", "…", "●", "Ł", "\u0301", "\u200d", "\ufe0f", "\u00ad", "ø"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		corpus = append(corpus, b.String())
	}
	// Every rune the fast path takes, alone and before each kind of joiner.
	for r := rune(0x80); r < 0x30000; r++ {
		if simpleRune(r) {
			for _, next := range []string{"", "a", "\u0301", "\u200d", "\ufe0f", "\U0001F3FB"} {
				corpus = append(corpus, string(r)+next)
			}
		}
	}
	fast := 0
	for _, s := range corpus {
		if got, want := width(s), ansi.StringWidth(s); got != want {
			t.Fatalf("width(%q) = %d, ansi.StringWidth says %d", s, got, want)
		}
		if _, ok := simpleWidth(s); ok {
			fast++
		}
	}
	if fast < len(corpus)/10 {
		t.Errorf("only %d of %d strings took the fast path", fast, len(corpus))
	}
}
