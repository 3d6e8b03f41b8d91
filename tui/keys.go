package tui

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
)

// KeyMap holds every binding. Defaults avoid ctrl chords that terminals and multiplexers
// take for themselves (ctrl+a, ctrl+b, ctrl+s, ctrl+q, ctrl+z…); ctrl+c is the one
// exception, because in raw mode it arrives as a key and must always quit.
type KeyMap struct {
	Quit, Help, Filter, Back      key.Binding
	Up, Down, Top, Bottom         key.Binding
	PageUp, PageDown              key.Binding
	NextPane, PrevPane, Open      key.Binding
	Follow, History, Jump, Export key.Binding
	Copy, Sort                    key.Binding
	ForceQuit                     key.Binding // ctrl+c: not remappable
	Repaint                       key.Binding // ctrl+l: not remappable
}

// keyActions are the names of the remappable actions in the config file.
var keyActions = []string{
	"quit", "help", "filter", "back", "up", "down", "top", "bottom", "pageup", "pagedown",
	"nextpane", "prevpane", "open", "follow", "history", "jump", "export", "copy", "sort",
}

// DefaultKeyMap returns the default bindings.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, help, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	km := KeyMap{
		Quit:      b([]string{"q"}, "q", "quit"),
		Help:      b([]string{"?"}, "?", "help"),
		Filter:    b([]string{"/"}, "/", "filter"),
		Back:      b([]string{"esc"}, "esc", "back/clear"),
		Up:        b([]string{"k", "up"}, "↑/k", "up"),
		Down:      b([]string{"j", "down"}, "↓/j", "down"),
		Top:       b([]string{"g", "home"}, "g/home", "oldest/top"),
		Bottom:    b([]string{"G", "end"}, "G/end", "newest/bottom"),
		PageUp:    b([]string{"pgup", "b"}, "pgup/b", "page up"),
		PageDown:  b([]string{"pgdown", "space"}, "pgdn/space", "page down"),
		NextPane:  b([]string{"tab"}, "tab", "next pane"),
		PrevPane:  b([]string{"shift+tab"}, "shift+tab", "prev pane"),
		Open:      b([]string{"enter"}, "enter", "open"),
		Follow:    b([]string{"f"}, "f", "follow"),
		History:   b([]string{"h"}, "h", "history"),
		Jump:      b([]string{"t", ":"}, "t/:", "jump to time"),
		Export:    b([]string{"e"}, "e", "export"),
		Copy:      b([]string{"y"}, "y", "copy JSON"),
		Sort:      b([]string{"s"}, "s", "sort"),
		ForceQuit: b([]string{"ctrl+c"}, "ctrl+c", "quit"),
		Repaint:   b([]string{"ctrl+l"}, "ctrl+l", "repaint"),
	}
	return km
}

// action finds a remappable binding by its name in the config file.
func (km *KeyMap) action(name string) *key.Binding {
	return map[string]*key.Binding{
		"quit": &km.Quit, "help": &km.Help, "filter": &km.Filter, "back": &km.Back,
		"up": &km.Up, "down": &km.Down, "top": &km.Top, "bottom": &km.Bottom,
		"pageup": &km.PageUp, "pagedown": &km.PageDown, "nextpane": &km.NextPane,
		"prevpane": &km.PrevPane, "open": &km.Open, "follow": &km.Follow, "history": &km.History,
		"jump": &km.Jump, "export": &km.Export, "copy": &km.Copy, "sort": &km.Sort,
	}[name]
}

// NewKeyMap applies remaps from the config file (action → keys) to the defaults. A remap
// replaces all of an action's keys.
func NewKeyMap(remaps map[string][]string) (KeyMap, error) {
	km := DefaultKeyMap()
	if err := ValidateKeys(remaps); err != nil {
		return km, err
	}
	for action, keys := range remaps {
		b := km.action(normAction(action))
		desc := b.Help().Desc
		b.SetKeys(keys...)
		b.SetHelp(helpKeys(keys), desc)
	}
	return km, nil
}

// ValidateKeys checks remaps: known actions, key names Bubble Tea produces, no key left
// on two actions, and ctrl+c only on quit.
func ValidateKeys(remaps map[string][]string) error {
	km := DefaultKeyMap()
	owner := map[string]string{}
	names := make([]string, 0, len(remaps))
	for a := range remaps {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		action := normAction(a)
		if km.action(action) == nil {
			return fmt.Errorf("keys: unknown action %q (actions: %s)", a, strings.Join(keyActions, ", "))
		}
		keys := remaps[a]
		if len(keys) == 0 {
			return fmt.Errorf("keys: %s has no keys", a)
		}
		for _, k := range keys {
			if err := checkKey(k); err != nil {
				return fmt.Errorf("keys: %s: %w", a, err)
			}
			if k == "ctrl+c" && action != "quit" {
				return fmt.Errorf("keys: %s: ctrl+c always quits and cannot be bound to anything else", a)
			}
			if k == "ctrl+l" {
				return fmt.Errorf("keys: %s: ctrl+l always repaints the screen and cannot be bound", a)
			}
		}
	}
	// Conflicts are checked on the resulting map, so that moving a key away from its default
	// action to another one is allowed.
	for _, action := range keyActions {
		keys := km.action(action).Keys()
		for a, ks := range remaps {
			if normAction(a) == action {
				keys = ks
			}
		}
		for _, k := range keys {
			if prev, ok := owner[k]; ok && prev != action {
				return fmt.Errorf("keys: %q is bound to both %s and %s", k, prev, action)
			}
			owner[k] = action
		}
	}
	return nil
}

func normAction(a string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(a)), "_", ""), "-", "")
}

var namedKeys = []string{
	"enter", "tab", "backspace", "esc", "space", "up", "down", "left", "right", "home", "end",
	"pgup", "pgdown", "insert", "delete", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9",
	"f10", "f11", "f12",
}

// checkKey accepts what tea.KeyPressMsg.String() can produce: one printable character
// ("x", "G", "?"), a named key, or modifiers and a key ("ctrl+x", "shift+tab", "alt+j").
func checkKey(k string) error {
	if utf8.RuneCountInString(k) == 1 && k != " " {
		return nil
	}
	parts := strings.Split(k, "+")
	base := parts[len(parts)-1]
	for _, mod := range parts[:len(parts)-1] {
		if mod != "ctrl" && mod != "alt" && mod != "shift" {
			return fmt.Errorf("%q: unknown modifier %q (ctrl, alt, shift)", k, mod)
		}
	}
	if base == "" || (utf8.RuneCountInString(base) != 1 && !slices.Contains(namedKeys, base)) {
		return fmt.Errorf("%q is not a key name (a character, or one of %s, with ctrl+/alt+/shift+)", k, strings.Join(namedKeys, ", "))
	}
	return nil
}

// helpKeys shows a remapped binding's keys the way the defaults do.
func helpKeys(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		switch k {
		case "up":
			k = "↑"
		case "down":
			k = "↓"
		case "pgdown":
			k = "pgdn"
		}
		out[i] = k
	}
	return strings.Join(out, "/")
}

// helpGroups lists every binding for the help overlay, grouped (disabled ones are skipped
// when shown).
func (km *KeyMap) helpGroups() []helpGroup {
	return []helpGroup{
		{"Global", []key.Binding{km.Help, km.Quit, km.ForceQuit, km.Back, km.Filter, km.History, km.Repaint}},
		{"Move", []key.Binding{km.Up, km.Down, km.PageUp, km.PageDown, km.Top, km.Bottom, km.NextPane, km.PrevPane}},
		{"Act", []key.Binding{km.Open, km.Follow, km.Sort, km.Jump, km.Copy, km.Export}},
	}
}

type helpGroup struct {
	name string
	keys []key.Binding
}
