package tui

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"zoomwatch/internal/testbin"
)

// tmuxSession drives a terminal in a private tmux server.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func (s *tmuxSession) cmd(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.cmd("capture-pane", "-p", "-t", "e2e") }

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		s.cmd("send-keys", "-t", "e2e", k)
		// A lone ESC followed at once by a key reads as alt+key: give each key its own read.
		time.Sleep(150 * time.Millisecond)
	}
}

// exited matches what the shell prints after zoomwatch ends (the command line itself shows
// "ZW-EXIT=$?", without a digit).
var exited = regexp.MustCompile(`ZW-EXIT=\d+`)

// waitFor polls the screen until ok holds, failing with the last screen at the deadline.
func (s *tmuxSession) waitFor(what string, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second) // generous: CI machines are shared
	for {
		sc := s.screen()
		if ok(sc) {
			return sc
		}
		if exited.MatchString(sc) {
			s.t.Fatalf("zoomwatch exited while waiting for %s:\n%s", what, sc)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; the screen:\n%s", what, sc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *tmuxSession) waitText(texts ...string) string {
	s.t.Helper()
	return s.waitFor(strings.Join(texts, " and "), func(sc string) bool {
		for _, t := range texts {
			if !strings.Contains(sc, t) {
				return false
			}
		}
		return true
	})
}

// TestEndToEndTmux runs the real binary's demo in tmux at 80x24, uses it like a person
// would, resizes the terminal and quits, checking that the terminal is given back.
func TestEndToEndTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "zoomwatch")
	testbin.Build(t, bin)
	if out, err := exec.Command(bin, "demo", "--help").CombinedOutput(); err != nil {
		t.Skipf("zoomwatch demo is not available: %v\n%s", err, out)
	}

	s := &tmuxSession{t: t, socket: "zoomwatch-e2e-" + filepath.Base(dir)}
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	home := filepath.Join(dir, "home")
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "XDG_STATE_HOME=" + filepath.Join(home, ".state"),
		"TERM=xterm-256color", "PS1=PROMPT$ ", "PATH=" + os.Getenv("PATH")}
	s.cmd(append([]string{"new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", "env", "-i"}, append(env, "sh")...)...)
	s.waitText("PROMPT$")
	s.cmd("send-keys", "-t", "e2e", bin+" demo --db "+filepath.Join(dir, "demo.db")+" --log "+filepath.Join(dir, "log")+"; echo ZW-EXIT=$?", "Enter")

	// The simulator's meetings and joins show up.
	joinRow := regexp.MustCompile(`\d\d:\d\d:\d\d [+−] `)
	sc := s.waitFor("active meetings and joins", func(sc string) bool {
		return regexp.MustCompile(`Active meetings \([1-9]`).MatchString(sc) && joinRow.MatchString(sc)
	})
	if !strings.Contains(sc, "DEMO") {
		t.Errorf("the header does not say DEMO:\n%s", sc)
	}
	checkWidths(t, sc, 80)

	s.keys("?")
	s.waitText("Keys", "jump to time")
	s.keys("?")
	s.waitText("Active meetings", "Connection")

	// History, an event's JSON, back. Keys wait for the rows: a page still loading has none.
	historyRow := regexp.MustCompile(`\d\d:\d\d:\d\d (meeting|m|recording|r|user|u)\.`)
	loaded := func(sc string) bool { return historyRow.MatchString(sc) && !strings.Contains(sc, "loading…") }
	// Two events at least: k from the newest then lands on one (just after start-up, the row
	// above the first event is the LIVE marker, which opens nothing).
	s.keys("h")
	s.waitFor("two history rows", func(sc string) bool {
		return loaded(sc) && len(historyRow.FindAllString(sc, 2)) == 2
	})
	s.keys("k", "Enter")
	s.waitText("Event #", `"event":`)
	s.keys("Escape")
	s.waitText("History", "Detail")

	// q types into the filter instead of quitting; esc clears it.
	s.keys("/")
	s.waitText("filter:")
	s.keys("q")
	s.waitText("filter: q")
	s.keys("BSpace")
	for _, r := range "type:meeting.participant_joined" {
		s.cmd("send-keys", "-t", "e2e", "-l", string(r))
	}
	s.keys("Enter")
	sc = s.waitFor("the filtered history", func(sc string) bool {
		return strings.Contains(sc, "History · filter: type:meeting.participant_joined") && loaded(sc)
	})
	if strings.Contains(sc, "participant_left") {
		t.Errorf("the filtered history shows leaves:\n%s", sc)
	}
	s.keys("Escape")
	s.waitFor("the filter to clear", func(sc string) bool { return !strings.Contains(sc, "filter:") })
	s.keys("Escape")
	s.waitText("Active meetings", "Joins & leaves")

	// Resize: the panes use the new size.
	s.cmd("resize-window", "-t", "e2e", "-x", "160", "-y", "45")
	sc = s.waitFor("a 160x45 frame", func(sc string) bool {
		lines := strings.Split(strings.TrimRight(sc, "\n"), "\n")
		return len(lines) >= 44 && ansi.StringWidth(strings.TrimRight(lines[1], " ")) == 160 && strings.HasPrefix(lines[1], "╭")
	})
	checkWidths(t, sc, 160)

	// A clean quit gives the terminal back: main screen, mouse off, the shell's prompt.
	s.keys("q")
	sc = s.waitFor("the shell's prompt", func(sc string) bool { return exited.MatchString(sc) })
	if !strings.Contains(sc, "ZW-EXIT=0\nPROMPT$") {
		t.Errorf("zoomwatch did not exit cleanly back to the prompt:\n%s", sc)
	}
	flags := strings.Fields(s.cmd("display-message", "-p", "-t", "e2e", "#{alternate_on} #{mouse_any_flag} #{cursor_flag}"))
	if len(flags) != 3 || flags[0] != "0" || flags[1] != "0" || flags[2] != "1" {
		t.Errorf("terminal not restored (alternate_on, mouse_any_flag, cursor_flag) = %v", flags)
	}
}

func checkWidths(t *testing.T, screen string, w int) {
	t.Helper()
	for i, l := range strings.Split(screen, "\n") {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide in a %d-column terminal: %q", i+1, n, w, l)
		}
	}
}
