package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

var update = flag.Bool("update", false, "rewrite the golden screens in testdata/")

// checkGolden compares a screen (ANSI stripped) with testdata/<name>.golden.
func checkGolden(t *testing.T, name, screen string) {
	t.Helper()
	got := ansi.Strip(screen) + "\n"
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -run TestGolden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test ./tui -run TestGolden -update rewrites it):\n%s", name, path, lineDiff(string(want), got))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestGolden renders every view at 80x24 and 160x45 from the deterministic scenario.
func TestGolden(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 45}} {
		suffix := fmt.Sprintf("_%dx%d", sz[0], sz[1])
		t.Run("live"+suffix, func(t *testing.T) {
			f := newFixture(t, ModeLive, sz[0], sz[1])
			shot := func(name string) {
				t.Helper()
				assertFits(t, f.screen(), sz[0], sz[1])
				checkGolden(t, name+suffix, f.screen())
			}
			shot("live")
			f.key("down", "down", "enter")
			shot("meeting")
			f.key("esc", "tab", "tab", "down", "enter")
			shot("recording")
			f.key("esc", "tab", "enter")
			shot("connection")
			f.key("esc", "?")
			shot("help")
		})
		t.Run("history"+suffix, func(t *testing.T) {
			f := newFixture(t, ModeHistory, sz[0], sz[1])
			shot := func(name string) {
				t.Helper()
				assertFits(t, f.screen(), sz[0], sz[1])
				checkGolden(t, name+suffix, f.screen())
			}
			shot("history")
			f.key("/")
			f.typeText("type:meeting.participant_* who:priya")
			shot("history_typing")
			f.key("enter")
			shot("history_filtered")
			f.key("esc", "t")
			f.typeText("13:44") // inside the gap: the first event after it, the gap just above
			f.key("enter")
			shot("history_gap")
			f.key("G", "k", "k", "enter")
			shot("event")
		})
	}
}

// assertFits checks the frame is exactly h lines, none wider than w cells.
func assertFits(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide (terminal %d): %q", i+1, n, w, ansi.Strip(l))
		}
	}
}
