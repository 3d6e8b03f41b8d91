package tui

import (
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// lineInput is a one-line text input for the filter and jump prompts. (bubbles/textinput
// would pull in a system-clipboard module this build does not carry; the prompts need only
// typing, editing and a cursor.)
type lineInput struct {
	prompt string
	value  []rune
	pos    int
}

func newLineInput(prompt, value string) lineInput {
	v := []rune(value)
	return lineInput{prompt: prompt, value: v, pos: len(v)}
}

func (in *lineInput) Value() string { return string(in.value) }

// update edits the line; it reports whether the key was an edit.
func (in *lineInput) update(msg tea.KeyPressMsg) bool {
	switch msg.String() {
	case "backspace", "ctrl+h":
		if in.pos > 0 {
			in.value = append(in.value[:in.pos-1], in.value[in.pos:]...)
			in.pos--
		}
	case "delete", "ctrl+d":
		if in.pos < len(in.value) {
			in.value = append(in.value[:in.pos], in.value[in.pos+1:]...)
		}
	case "left", "ctrl+left":
		in.pos = max(in.pos-1, 0)
	case "right", "ctrl+right":
		in.pos = min(in.pos+1, len(in.value))
	case "home":
		in.pos = 0
	case "end":
		in.pos = len(in.value)
	case "ctrl+u":
		in.value, in.pos = in.value[in.pos:], 0
	case "ctrl+k":
		in.value = in.value[:in.pos]
	case "ctrl+w", "alt+backspace":
		start := in.pos
		for start > 0 && in.value[start-1] == ' ' {
			start--
		}
		for start > 0 && in.value[start-1] != ' ' {
			start--
		}
		in.value = append(in.value[:start], in.value[in.pos:]...)
		in.pos = start
	default:
		text := msg.Text
		if msg.String() == "space" {
			text = " "
		}
		if text == "" || msg.Mod&(tea.ModCtrl|tea.ModAlt) != 0 {
			return false
		}
		rs := []rune(clean(text))
		in.value = append(in.value[:in.pos], append(rs, in.value[in.pos:]...)...)
		in.pos += len(rs)
	}
	return true
}

// paste inserts pasted text (newlines become spaces).
func (in *lineInput) paste(s string) {
	rs := []rune(clean(s))
	in.value = append(in.value[:in.pos], append(rs, in.value[in.pos:]...)...)
	in.pos += len(rs)
}

// view draws the prompt and the value with a block cursor, scrolled so that the cursor
// stays inside w cells.
func (in *lineInput) view(w int, cursor lipgloss.Style) string {
	before, after := string(in.value[:in.pos]), ""
	under := " "
	if in.pos < len(in.value) {
		under = string(in.value[in.pos])
		after = string(in.value[in.pos+1:])
	}
	room := w - width(in.prompt) - 1
	for width(before) > room-1 && before != "" {
		_, size := firstRune(before)
		before = before[size:]
	}
	return in.prompt + before + cursor.Render(under) + trunc(after, max(room-width(before)-width(under), 0))
}

func firstRune(s string) (rune, int) {
	for i, r := range s {
		if i > 0 {
			return r, i
		}
	}
	return 0, len(s)
}
