package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"zoomwatch/feed"
	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
	"zoomwatch/store/live"
)

// quits reports whether a command (or a batch) asks the program to quit.
func quits(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	switch msg := cmd().(type) {
	case tea.QuitMsg:
		return true
	case tea.BatchMsg:
		for _, c := range msg {
			if quits(c) {
				return true
			}
		}
	}
	return false
}

func press(m *Model, k string) tea.Cmd {
	_, cmd := m.Update(keyMsg(k))
	return cmd
}

func TestQuitKeys(t *testing.T) {
	f := newFixture(t, ModeLive, 80, 24)
	if !quits(press(f.m, "q")) {
		t.Error("q does not quit the live screen")
	}
	f.key("/")
	if !f.m.typing() {
		t.Fatal("/ did not open the filter")
	}
	if quits(press(f.m, "q")) {
		t.Error("q quit while typing a filter")
	}
	if !strings.Contains(ansi.Strip(f.screen()), " filter: q") {
		t.Errorf("q was not typed into the filter:\n%s", ansi.Strip(f.screen()))
	}
	if !quits(press(f.m, "ctrl+c")) {
		t.Error("ctrl+c does not quit while typing")
	}

	h := newFixture(t, ModeHistory, 80, 24)
	h.key("/")
	if quits(press(h.m, "q")) {
		t.Error("q quit while typing a history filter")
	}
	h.key("esc")
	if !quits(press(h.m, "q")) {
		t.Error("q does not quit history after the filter closed")
	}
}

// TestQuitAsksWhileSSHViewersWatch: the lead's q would end every viewer's session too, so
// with viewers it asks for a second q; the header says who is watching.
func TestQuitAsksWhileSSHViewersWatch(t *testing.T) {
	f := newFixture(t, ModeLive, 120, 30)
	viewers := 2
	f.m.d.Serving = func() (string, int) { return "127.0.0.1:2299", viewers }
	f.send(readHealth(&f.m.d, fixedNow))
	if s := ansi.Strip(f.screen()); !strings.Contains(strings.Split(s, "\n")[0], "ssh :2299 · 2 viewers") {
		t.Errorf("the header does not say it serves 2 viewers:\n%s", s)
	}
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	if s := ansi.Strip(f.screen()); !strings.Contains(strings.Split(s, "\n")[0], "2 SSH viewers") {
		t.Errorf("at 80 columns the header does not say 2 viewers watch:\n%s", s)
	}
	f.send(tea.WindowSizeMsg{Width: 120, Height: 30})
	if quits(press(f.m, "q")) {
		t.Fatal("q quit at once with 2 SSH viewers watching")
	}
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "2 viewers watching over SSH: q again quits") {
		t.Errorf("q did not say why it waits:\n%s", s)
	}
	if !quits(press(f.m, "q")) {
		t.Error("a second q did not quit")
	}
	f.key("esc")
	f.send(tea.WindowSizeMsg{Width: 32, Height: 12})
	press(f.m, "q")
	if s := ansi.Strip(f.screen()); !strings.Contains(lastLines(s, 1), "2 viewers: q again quits") {
		t.Errorf("at 32 columns the question is cut:\n%s", lastLines(s, 2))
	}
	f.key("esc")
	f.send(tea.WindowSizeMsg{Width: 120, Height: 30})
	// Any other key takes the question back; esc says so and does nothing else.
	f.key("enter", "esc") // a meeting's page, and back
	press(f.m, "q")
	f.key("esc")
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "not quitting") {
		t.Errorf("esc did not take the question back:\n%s", lastLines(s, 2))
	}
	if quits(press(f.m, "q")) {
		t.Error("q after esc quit without asking again")
	}
	press(f.m, "j")
	if quits(press(f.m, "q")) {
		t.Error("q after another key quit without asking again")
	}
	viewers = 0
	g := newFixture(t, ModeLive, 120, 30)
	g.m.d.Serving = f.m.d.Serving
	if !quits(press(g.m, "q")) {
		t.Error("q did not quit at once with no viewers")
	}
}

func TestRemappedKeys(t *testing.T) {
	st := openStore(t)
	m, err := New(Deps{Store: st, Mode: ModeHistory, Keys: map[string][]string{"quit": {"x"}, "help": {"f1"}}, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	mm := m.(*Model)
	mm.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	if quits(press(mm, "q")) {
		t.Error("q still quits after quit was remapped to x")
	}
	if !quits(press(mm, "x")) {
		t.Error("x does not quit")
	}
	mm.Update(tea.KeyPressMsg{Code: tea.KeyF1})
	help := ansi.Strip(mm.View().Content)
	for _, want := range []string{"x       quit", "f1      help", "ctrl+c  quit"} {
		if !strings.Contains(help, want) {
			t.Errorf("help does not list %q:\n%s", want, help)
		}
	}
}

func TestValidateKeys(t *testing.T) {
	for _, tc := range []struct {
		keys map[string][]string
		err  string
	}{
		{map[string][]string{"quit": {"x"}, "pagedown": {"pgdown", "space", "ctrl+f"}}, ""},
		{map[string][]string{"quit": {"q", "ctrl+c"}}, ""},
		{map[string][]string{"follow": {"F"}, "history": {"f"}}, ""}, // f moves from follow to history
		{map[string][]string{"launch": {"l"}}, `unknown action "launch"`},
		{map[string][]string{"quit": {}}, "no keys"},
		{map[string][]string{"help": {"ctrl+c"}}, "ctrl+c always quits"},
		{map[string][]string{"help": {"j"}}, `"j" is bound to both`},
		{map[string][]string{"help": {"hyper+x"}}, "unknown modifier"},
		{map[string][]string{"help": {"pageup"}}, "not a key name"},
	} {
		err := ValidateKeys(tc.keys)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%v: %v", tc.keys, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: error %v, want %q", tc.keys, err, tc.err)
		}
	}
	if _, err := New(Deps{Store: openStore(t), Keys: map[string][]string{"nope": {"n"}}}); err == nil {
		t.Error("New accepted an unknown action")
	}
}

// TestKeysRouteToFocusedPane: movement keys act on the focused pane only.
func TestKeysRouteToFocusedPane(t *testing.T) {
	f := newFixture(t, ModeLive, 160, 45)
	d := f.m.dash
	firstMeeting := d.meetKey
	f.key("j")
	if d.meetKey == firstMeeting {
		t.Fatal("j did not move the meetings selection")
	}
	selected := d.meetKey
	f.key("tab")
	if d.focus != paneJoins {
		t.Fatalf("tab focused pane %d", d.focus)
	}
	f.key("k")
	if d.meetKey != selected {
		t.Error("k in the joins pane moved the meetings selection")
	}
	if d.follow {
		t.Error("scrolling up in the joins pane did not pause it")
	}
	f.key("shift+tab")
	if d.focus != paneMeetings {
		t.Errorf("shift+tab focused pane %d", d.focus)
	}
	// enter on a meeting opens it; esc comes back.
	f.key("enter")
	if _, ok := f.m.top().(*meetingPage); !ok {
		t.Fatalf("enter opened %T", f.m.top())
	}
	f.key("esc")
	if f.m.top() != page(d) {
		t.Fatalf("esc left %T on top", f.m.top())
	}
}

// TestFollowAndPause: the joins log follows the newest while at the bottom, pauses with an
// indicator when scrolled up, counts what arrives meanwhile, and f resumes.
func TestFollowAndPause(t *testing.T) {
	f := newFixture(t, ModeLive, 160, 45)
	screen := func() string { return ansi.Strip(f.screen()) }
	if !strings.Contains(screen(), "● following") {
		t.Fatalf("not following at start:\n%s", screen())
	}
	f.key("tab", "k", "k")
	if !strings.Contains(screen(), "⏸ paused · f follow") {
		t.Fatalf("no pause indicator:\n%s", screen())
	}
	f.feed(joinItem(meetings[1], 8, fixedNow), joinItem(meetings[1], 9, fixedNow.Add(time.Second)))
	if !strings.Contains(screen(), "⏸ paused · 2 new · f follow") {
		t.Errorf("new rows not counted while paused:\n%s", screen())
	}
	if strings.Contains(lastLines(screen(), 25), "Nguyễn Thị Minh Khai   → Daily standup") {
		t.Error("the paused pane scrolled to the new row")
	}
	f.key("f")
	if !strings.Contains(screen(), "● following") || !strings.Contains(screen(), "Nguyễn Thị Minh Khai    → Daily standup") {
		t.Errorf("f did not resume following:\n%s", screen())
	}
	// j back down to the bottom resumes too.
	f.key("k", "j")
	if !f.m.dash.follow {
		t.Error("moving to the newest row did not resume following")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// feed stores items and delivers the resulting notices the way the program would.
func (f *fixture) feed(items ...feed.Item) {
	submit(f.tb, f.st, items...)
	f.send(f.waitFeed(time.Time{})())
}

func TestFilterLiveAndEscClears(t *testing.T) {
	f := newFixture(t, ModeLive, 160, 45)
	all := len(f.m.data.snap.Meetings)
	f.key("/")
	f.typeText("priya")
	f.key("enter")
	if f.m.typing() {
		t.Error("still typing after enter")
	}
	s := ansi.Strip(f.screen())
	if !strings.Contains(s, "filter: priya") {
		t.Fatalf("filter not shown:\n%s", s)
	}
	want := 0
	for _, mt := range f.m.data.snap.Meetings {
		text := mt.Topic + " " + mt.HostName
		for _, p := range mt.Participants {
			text += " " + p.Name + " " + p.Email
		}
		if strings.Contains(strings.ToLower(text), "priya") {
			want++
		}
	}
	if want == 0 || want == all || !strings.Contains(s, fmt.Sprintf("Active meetings (%d)", want)) {
		t.Errorf("want %d of %d meetings shown:\n%s", want, all, s)
	}
	for _, r := range f.m.dash.joinList(f.m) {
		if !strings.Contains(strings.ToLower(r.name+r.email+r.meeting), "priya") {
			t.Errorf("join row for %q shown under the filter", r.name)
		}
	}
	f.key("esc")
	s = ansi.Strip(f.screen())
	if !strings.Contains(s, fmt.Sprintf("Active meetings (%d)", all)) || strings.Contains(s, "filter:") {
		t.Errorf("esc did not clear the filter:\n%s", s)
	}
}

// The dashboard's filter reads history's grammar: each qualifier narrows what each pane
// shows, h takes the filter to history, and a line that is not a filter says why.
func TestDashboardFilterQualifiers(t *testing.T) {
	f := newFixture(t, ModeLive, 160, 45)
	d := f.m.dash
	snap := f.m.data.snap
	apply := func(line string) string {
		t.Helper()
		f.key("/")
		f.key("ctrl+u")
		f.typeText(line)
		f.key("enter")
		if f.m.typing() {
			t.Fatalf("%q: still typing after enter:\n%s", line, ansi.Strip(f.screen()))
		}
		return ansi.Strip(f.screen())
	}
	all := f.m.data.joins

	// who: a person present in one meeting, by part of their email.
	var who string
	var withWho int
	for _, mt := range snap.Meetings {
		for _, p := range mt.Participants {
			if who == "" && p.Email != "" {
				who = strings.ToLower(strings.SplitN(p.Email, "@", 2)[0])
			}
		}
	}
	if who == "" {
		t.Fatal("no participant with an email in the fixture")
	}
	for _, mt := range snap.Meetings {
		for _, p := range mt.Participants {
			if strings.Contains(strings.ToLower(p.Email), who) || strings.Contains(strings.ToLower(p.Name), who) {
				withWho++
				break
			}
		}
	}
	s := apply("who:" + who)
	if withWho == 0 || !strings.Contains(s, fmt.Sprintf("Active meetings (%d)", withWho)) || !strings.Contains(s, "Recordings (0)") {
		t.Errorf("who:%s: want %d meetings and no recordings:\n%s", who, withWho, s)
	}
	rows := d.joinList(f.m)
	if len(rows) == 0 {
		t.Errorf("who:%s: no joins or leaves", who)
	}
	for _, r := range rows {
		if !strings.Contains(strings.ToLower(r.name+" "+r.email), who) {
			t.Errorf("who:%s shows %q <%s>", who, r.name, r.email)
		}
	}

	// type: narrows joins and leaves alone.
	s = apply("type:meeting.participant_left")
	leaves := 0
	for _, r := range all {
		if !r.join {
			leaves++
		}
	}
	if rows := d.joinList(f.m); leaves == 0 || len(rows) != leaves || slices.ContainsFunc(rows, func(r joinRow) bool { return r.join }) {
		t.Errorf("type:…_left: %d rows, want the %d leaves", len(rows), leaves)
	}
	if !strings.Contains(s, fmt.Sprintf("Active meetings (%d)", len(snap.Meetings))) {
		t.Errorf("type: narrowed the meetings:\n%s", s)
	}
	if n := strings.Count(s, "filter: type:meeting.participant_left"); n != 1 {
		t.Errorf("type: is shown as the filter of %d panes, want the joins & leaves alone:\n%s", n, s)
	}

	// meeting: one meeting by number, in every pane.
	mt := snap.Meetings[0]
	s = apply("meeting:" + mt.ID)
	if !strings.Contains(s, "Active meetings (1)") {
		t.Errorf("meeting:%s: want one meeting:\n%s", mt.ID, s)
	}
	for _, r := range d.joinList(f.m) {
		if r.meetingID != mt.ID && r.meetingUUID != mt.ID {
			t.Errorf("meeting:%s shows a row of %s", mt.ID, r.meetingID)
		}
	}
	for _, r := range d.recList(f.m) {
		if r.MeetingID != mt.ID {
			t.Errorf("meeting:%s shows a recording of %s", mt.ID, r.MeetingID)
		}
	}

	// since: joins and leaves from a time on.
	since := f.m.data.clock.Add(-10 * time.Second)
	apply("since:" + since.Format("15:04:05"))
	rows = d.joinList(f.m)
	if len(rows) == 0 || len(rows) == len(all) {
		t.Errorf("since: %d of %d rows; the test wants some, not all", len(rows), len(all))
	}
	for _, r := range rows {
		if r.at.Before(since.Truncate(time.Second)) {
			t.Errorf("since:%s shows a row at %s", since.Format("15:04:05"), r.at.Format("15:04:05"))
		}
	}

	// h opens history with the filter.
	apply("who:" + who)
	f.key("h")
	h, ok := f.m.top().(*historyPage)
	if !ok || h.filterLine != "who:"+who || h.filter.Participant != who {
		t.Fatalf("h did not take the filter to history: %T %q", f.m.top(), h.filterLine)
	}
	f.key("esc", "esc") // history's filter, then history
	if f.m.top() != f.m.dash {
		t.Fatalf("two esc did not come back from history: %T", f.m.top())
	}

	// Not a filter: the reason shows, enter keeps the line open, and the last line that was
	// a filter stays applied (typed a key at a time: "since", free text).
	f.key("/")
	f.key("ctrl+u")
	f.typeText("since:nonsense")
	f.key("enter")
	s = ansi.Strip(f.screen())
	if !f.m.typing() || !strings.Contains(s, `since: "nonsense" is not a time`) {
		t.Errorf("a bad filter was not reported:\n%s", s)
	}
	if d.filter.line != "since" {
		t.Errorf("the filter under the bad line: %q, want since", d.filter.line)
	}
	f.key("esc")
	if s := ansi.Strip(f.screen()); f.m.typing() || strings.Contains(s, "filter:") {
		t.Errorf("esc did not clear the filter:\n%s", s)
	}
}

func TestHistoryFilterJumpAndEnds(t *testing.T) {
	f := newFixture(t, ModeHistory, 160, 45)
	h := f.m.top().(*historyPage)
	f.key("/")
	f.typeText(`who:ada type:meeting.participant_*`)
	f.key("enter")
	want, _ := f.st.Page(store.Query{Filter: store.Filter{Participant: "ada", Types: []string{"meeting.participant_*"}}, Limit: 1000})
	if n := countEvents(h.rows); n == 0 || n != min(len(want.Records), h.pageSize(f.m)) {
		t.Errorf("%d rows for ada, the store has %d", n, len(want.Records))
	}
	for _, r := range h.rows {
		if r.seq > 0 && (!strings.Contains(strings.ToLower(r.who), "ada") || !strings.HasPrefix(r.typ, "meeting.participant_")) {
			t.Errorf("filtered row: %s %q", r.typ, r.who)
		}
	}
	f.key("esc")
	if h.filterLine != "" || h.rows[len(h.rows)-1].seq != f.st.LastSeq() {
		t.Errorf("esc left filter %q", h.filterLine)
	}

	f.send(tea.WindowSizeMsg{Width: 80, Height: 24}) // where the error and the input share a tight line
	f.key("/")
	f.typeText("since:nonsense")
	f.key("enter")
	if !f.m.typing() || !strings.Contains(ansi.Strip(f.screen()), "since: \"nonsense\" is not a time") {
		t.Errorf("a bad filter was not reported:\n%s", ansi.Strip(f.screen()))
	}
	if !strings.Contains(ansi.Strip(f.screen()), "filter: since:nonsense") {
		t.Errorf("the error hid what was typed:\n%s", ansi.Strip(f.screen()))
	}
	f.key("esc")

	f.key("t")
	f.typeText("13:30")
	f.key("enter")
	r := h.selected()
	if r == nil || r.seq == 0 || r.at.Before(fixedNow.Add(-34*time.Minute)) || r.at.After(fixedNow.Add(-33*time.Minute)) {
		t.Fatalf("jump to 13:30 selected %+v", r)
	}
	if s := ansi.Strip(f.screen()); !strings.Contains(s, fmt.Sprintf("13:30:00: #%d, the first stored from that time on", r.seq)) {
		t.Errorf("the jump did not say where it landed:\n%s", lastLines(s, 2))
	}
	f.key("t")
	f.typeText("2099-01-01 10:00")
	f.key("enter")
	if r := h.selected(); r == nil || r.seq != f.st.LastSeq() {
		t.Errorf("a jump past the newest event selected %+v, want the newest", r)
	} else if s := ansi.Strip(f.screen()); !strings.Contains(s, fmt.Sprintf("nothing stored from 2099-01-01 10:00:00 on: at the newest, #%d", r.seq)) {
		t.Errorf("a jump past the newest event did not say so:\n%s", lastLines(s, 2))
	}
	f.key("/")
	f.typeText("who:ada")
	f.key("enter")
	if s := ansi.Strip(f.screen()); strings.Contains(s, "nothing stored from") {
		t.Errorf("the jump's note stayed over a new filter:\n%s", lastLines(s, 2))
	}
	f.key("esc")
	f.key("g")
	if h.cursor != 0 || !h.atOldest {
		t.Errorf("g: cursor %d atOldest %v", h.cursor, h.atOldest)
	}
	f.key("G")
	if h.cursor != len(h.rows)-1 || !h.follow {
		t.Errorf("G: cursor %d of %d, follow %v", h.cursor, len(h.rows), h.follow)
	}
}

func countEvents(rows []hrow) int {
	n := 0
	for _, r := range rows {
		if r.seq > 0 {
			n++
		}
	}
	return n
}

// TestHistoryPaging walks a long history from the newest event to the oldest and back with
// a window much smaller than it: every event and every log entry shows exactly once and in
// order, and the window stays bounded.
func TestHistoryPaging(t *testing.T) {
	st := openStore(t)
	var items []feed.Item
	base := fixedNow.Add(-5 * time.Hour)
	for i := range 3000 {
		when := base.Add(time.Duration(i) * 5 * time.Second)
		items = append(items, joinItem(meetings[i%len(meetings)], i%len(people), when))
		if i%500 == 250 {
			items = append(items,
				feed.Item{Received: when.Add(time.Second), Transition: &feed.Transition{State: feed.StateBackoff, At: when.Add(time.Second), Reason: fmt.Sprintf("drop %d", i)}},
				feed.Item{Received: when.Add(2 * time.Second), Transition: &feed.Transition{State: feed.StateLive, At: when.Add(2 * time.Second)}})
		}
	}
	submit(t, st, items...)
	f := &fixture{st: st, tb: t}
	mdl, _ := New(Deps{Store: st, Mode: ModeHistory, Now: func() time.Time { return fixedNow }})
	f.m = mdl.(*Model)
	f.send(tea.WindowSizeMsg{Width: 120, Height: 30})
	h := f.m.pages[0].(*historyPage)
	f.run(h.reload(f.m))

	walk := func(key string) (seqs []uint64, markers int) {
		last := -1
		for range 10_000 {
			if r := h.selected(); r != nil {
				if r.seq > 0 {
					seqs = append(seqs, r.seq)
				} else if r.marker != nil && r.marker.Transition != nil {
					markers++
				}
			}
			if len(h.rows) > h.maxRows(f.m)+h.pageSize(f.m) {
				t.Fatalf("window grew to %d rows", len(h.rows))
			}
			f.key(key)
			if h.cursor == last && !h.olderBusy && !h.newerBusy {
				// Did not move: at the end (wait for any fetch the key started).
				if (key == "k" && h.atOldest) || (key == "j" && h.atNewest) {
					break
				}
			}
			last = h.cursor
		}
		return seqs, markers
	}
	down, markers := walk("k")
	if len(down) != 3000 {
		t.Fatalf("walked %d events newest to oldest, want 3000", len(down))
	}
	for i, s := range down {
		if s != uint64(3000-i) {
			t.Fatalf("event %d of the walk is #%d, want #%d", i, s, 3000-i)
		}
	}
	// 6 outages × 2 transitions, plus none before (no initial transition in this store).
	if markers != 12 {
		t.Errorf("%d transition markers on the way down, want 12", markers)
	}
	up, _ := walk("j")
	if len(up) != 3000 || up[0] != 1 || up[len(up)-1] != 3000 {
		t.Errorf("walked %d events back up (%d…%d)", len(up), up[0], up[len(up)-1])
	}
}

// TestEnterOnAConnectionLogRowSaysSo: enter on a state change opens nothing, and says why,
// rather than doing nothing (history just after start-up is mostly such rows).
func TestEnterOnAConnectionLogRowSaysSo(t *testing.T) {
	at := fixedNow.Add(-time.Minute)
	f := newFixtureOf(t, ModeHistory, 100, 30, []feed.Item{
		{Received: at, Transition: &feed.Transition{State: feed.StateConnecting, At: at, Attempt: 1}},
		{Received: at, Transition: &feed.Transition{State: feed.StateLive, At: at}},
		joinItem(meetings[0], 0, at.Add(2*time.Second))})
	h := f.m.pages[0].(*historyPage)
	f.key("k", "enter") // from the one event up to LIVE
	if r := h.selected(); r == nil || r.seq != 0 || f.m.top() != page(h) {
		t.Fatalf("enter on a marker left %T on top (selected %+v)", f.m.top(), r)
	}
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "enter opens an event: select an event row") {
		t.Errorf("enter on a connection log row said nothing:\n%s", s)
	}
	f.key("j", "enter")
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "Event #1") {
		t.Errorf("enter on the event did not open it:\n%s", s)
	}

	empty := newFixtureOf(t, ModeHistory, 100, 30, nil)
	empty.key("enter")
	if s := ansi.Strip(empty.screen()); strings.Contains(s, "enter opens an event") || !strings.Contains(s, "no events stored yet") {
		t.Errorf("enter in an empty history:\n%s", s)
	}
}

// TestCoalescing: batches committed while the UI was busy arrive as one message.
func TestCoalescing(t *testing.T) {
	f := newFixture(t, ModeLive, 80, 24)
	for i := range 3 {
		submit(t, f.st, joinItem(meetings[0], i, fixedNow.Add(time.Duration(i)*time.Second)))
	}
	msg := f.waitFeed(time.Time{})().(feedMsg)
	if len(msg.joins) != 3 || msg.reload != nil {
		t.Errorf("one message carried %d joins (reload %v), want 3", len(msg.joins), msg.reload != nil)
	}
}

// The joins & leaves log keeps the newest rows, in order, however many arrive: it is
// trimmed in place from half as many again as it keeps.
func TestJoinsLogKeepsTheNewestRows(t *testing.T) {
	f := newFixture(t, ModeLive, 80, 24)
	const n = maxJoinRows*2 + 300
	for i := 0; i < n; i += 500 {
		var items []feed.Item
		for j := i; j < min(i+500, n); j++ {
			items = append(items, joinItem(meetings[j%len(meetings)], j%len(people), fixedNow.Add(time.Duration(j)*time.Millisecond)))
		}
		f.feed(items...)
		if got := len(f.m.data.joins); got > maxJoinRows*3/2 {
			t.Fatalf("%d rows kept, at most %d", got, maxJoinRows*3/2)
		}
	}
	rows := f.m.data.joins
	if len(rows) < maxJoinRows || rows[len(rows)-1].seq != f.st.LastSeq() {
		t.Fatalf("%d rows kept, the newest seq %d; want at least %d, the newest %d", len(rows), rows[len(rows)-1].seq, maxJoinRows, f.st.LastSeq())
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].seq != rows[i-1].seq+1 {
			t.Fatalf("row %d has seq %d after %d: rows lost or repeated by a trim", i, rows[i].seq, rows[i-1].seq)
		}
	}
}

// TestFeedIsPaced: a batch that comes sooner than feedPace after the previous message
// waits, and what is committed meanwhile joins it, so a busy feed costs a viewer at most
// one snapshot and redraw per pace.
func TestFeedIsPaced(t *testing.T) {
	f := newFixture(t, ModeLive, 80, 24)
	submit(t, f.st, joinItem(meetings[0], 0, fixedNow))
	notBefore := time.Now().Add(time.Second)
	got := make(chan feedMsg, 1)
	go func() {
		got <- f.waitFeed(notBefore)().(feedMsg)
	}()
	for i := 1; i < 3; i++ {
		submit(t, f.st, joinItem(meetings[0], i, fixedNow.Add(time.Duration(i)*time.Second)))
	}
	committed := time.Now()
	msg := <-got
	if time.Now().Before(notBefore) {
		t.Fatal("the message came before its pace allowed")
	}
	if committed.Before(notBefore) && len(msg.joins) != 3 {
		t.Errorf("the paced message carried %d joins, want the 3 committed before it", len(msg.joins))
	}
}

// TestNewRecordingsAboveAScrolledPaneAreCounted: recordings that come (or change) while the
// recordings pane is scrolled down sort above its rows, out of sight; its border counts them
// until the pane is back at the top.
func TestNewRecordingsAboveAScrolledPaneAreCounted(t *testing.T) {
	var items []feed.Item
	for i := range 12 {
		items = append(items, recordingItem(i, fixedNow.Add(-time.Duration(30-i)*time.Minute)))
	}
	f := newFixtureOf(t, ModeLive, 80, 24, items)
	f.key("tab", "tab", "end") // the recordings pane, its oldest row
	if s := f.screen(); !strings.Contains(s, "Recorded 0") || strings.Contains(s, "Recorded 11") || strings.Contains(s, " new") {
		t.Fatalf("scrolled to the oldest recording, the pane shows:\n%s", s)
	}
	submit(t, f.st, recordingItem(20, fixedNow.Add(-time.Minute)), recordingItem(21, fixedNow.Add(-30*time.Second)))
	f.send(f.waitFeed(time.Time{})())
	if s := f.screen(); !strings.Contains(s, "▲ 2 new") {
		t.Fatalf("two recordings came above the rows shown, and the border does not count them:\n%s", s)
	}
	f.key("home")
	if s := f.screen(); !strings.Contains(s, "Recorded 21") || strings.Contains(s, " new") {
		t.Fatalf("back at the top, the pane shows:\n%s", s)
	}
	f.key("end")
	if s := f.screen(); strings.Contains(s, " new") {
		t.Fatalf("recordings seen at the top are counted as new again after scrolling down:\n%s", s)
	}
}

// TestMissedNoticesReload: a viewer too slow for the feed reloads from the store.
func TestMissedNoticesReload(t *testing.T) {
	f := newFixture(t, ModeLive, 80, 24)
	f.sub.Close()
	f.sub = f.st.Subscribe(1)
	for i := range 4 {
		submit(t, f.st, joinItem(meetings[0], i, fixedNow.Add(time.Duration(i)*time.Second)))
	}
	// The first notice was queued; the three after it were dropped and are counted in the
	// next one delivered.
	f.send(f.waitFeed(time.Time{})())
	submit(t, f.st, joinItem(meetings[0], 4, fixedNow.Add(4*time.Second)))
	msg := f.waitFeed(time.Time{})().(feedMsg)
	if msg.reload == nil {
		t.Fatal("missed notices did not reload")
	}
	f.m.dash.follow = true
	f.send(msg)
	joins := f.m.data.joins
	if last := joins[len(joins)-1]; last.seq != f.st.LastSeq() {
		t.Errorf("after the reload the newest join is #%d, want #%d", last.seq, f.st.LastSeq())
	}
}

// TestResize: no size breaks the frame, from tiny to very large.
func TestResize(t *testing.T) {
	f := newFixture(t, ModeLive, 80, 24)
	views := []func(){
		func() {},
		func() { f.key("enter") },                // meeting
		func() { f.key("esc", "h") },             // history from live
		func() { f.key("enter") },                // event
		func() { f.key("esc", "esc", "?") },      // help
		func() { f.key("esc", "tab", "tab") },    // recordings focused
		func() { f.key("/"); f.typeText("ada") }, // typing
	}
	for _, v := range views {
		v()
		for _, sz := range [][2]int{{80, 24}, {160, 45}, {40, 12}, {250, 70}, {20, 5}, {1, 1}, {79, 17}, {300, 3}} {
			f.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			assertFits(t, f.screen(), sz[0], sz[1])
		}
	}
}

// TestResizeRepaintsOnceSettled: after a burst of resizes the whole screen is repainted once
// the size holds, and ctrl+l repaints on demand.
func TestResizeRepaintsOnceSettled(t *testing.T) {
	f := newFixture(t, ModeLive, 80, 24)
	f.m.resizeSettle = time.Millisecond
	_, first := f.m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	_, last := f.m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	if _, cmd := f.m.Update(first()); cmd != nil {
		t.Error("a resize followed by another repainted the screen")
	}
	_, cmd := f.m.Update(last())
	if cmd == nil || fmt.Sprintf("%T", cmd()) != "tea.clearScreenMsg" {
		t.Error("the last resize of a burst did not repaint the screen")
	}
	_, cmd = f.m.Update(tea.KeyPressMsg{Code: 'l', Mod: tea.ModCtrl})
	if cmd == nil || fmt.Sprintf("%T", cmd()) != "tea.clearScreenMsg" {
		t.Error("ctrl+l did not repaint the screen")
	}
}

// TestHistoryKeepsItsCursorInViewWhenTheWindowShrinks: at the newest row, a smaller window
// still shows the newest row, highlighted.
func TestHistoryKeepsItsCursorInViewWhenTheWindowShrinks(t *testing.T) {
	f := newFixture(t, ModeHistory, 120, 40)
	h := f.m.pages[0].(*historyPage)
	newest := h.rows[len(h.rows)-1].at.In(fixedNow.Location()).Format("15:04:05") + " m" // its row (then its type), not the footer's time
	if h.cursor != len(h.rows)-1 || !strings.Contains(ansi.Strip(f.screen()), newest) {
		t.Fatalf("history does not open at its newest row (%s):\n%s", newest, ansi.Strip(f.screen()))
	}
	for _, sz := range [][2]int{{40, 12}, {100, 14}, {80, 16}} {
		f.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		if s := ansi.Strip(f.screen()); !strings.Contains(s, newest) {
			t.Errorf("at %dx%d the newest row (%s) is out of view:\n%s", sz[0], sz[1], newest, s)
		}
	}
}

// TestNarrowTabStripShowsEveryPane: in a window too small for four panes, the tab strip
// names every pane, the focused one included, whichever it is.
func TestNarrowTabStripShowsEveryPane(t *testing.T) {
	f := newFixture(t, ModeLive, 40, 12)
	for i := range paneCount {
		strip := strings.SplitN(ansi.Strip(f.screen()), "\n", 3)[1]
		for _, name := range paneShortNames {
			if !strings.Contains(strip, " "+name+" ") {
				t.Errorf("focus on pane %d: the strip %q lacks %s", i, strip, name)
			}
		}
		f.key("tab")
	}
}

// TestNoColor: NO_COLOR (any value) and an ASCII terminal give frames without colour.
func TestNoColor(t *testing.T) {
	hasColor := func(s string) bool {
		return strings.Contains(s, "[38;") || strings.Contains(s, "[48;") || strings.Contains(s, ";38;") || strings.Contains(s, ";48;")
	}
	f := newFixture(t, ModeLive, 160, 45)
	if !hasColor(f.screen()) {
		t.Fatal("no colour even by default: the check is broken")
	}
	f.send(tea.EnvMsg{"TERM=xterm-256color", "NO_COLOR=yes"})
	if s := f.screen(); hasColor(s) {
		t.Errorf("NO_COLOR=yes still shows colour: %q", s[:200])
	}
	g := newFixture(t, ModeLive, 160, 45)
	g.send(tea.ColorProfileMsg{Profile: colorprofile.ASCII})
	if s := g.screen(); hasColor(s) {
		t.Error("the ASCII profile still shows colour")
	}
	// Focus must still show without colour.
	if !regexp.MustCompile(`\x1b\[1;7m Active meetings \(\d+\) `).MatchString(g.screen()) {
		t.Error("the focused pane's title is not marked without colour")
	}
}

func TestLightBackground(t *testing.T) {
	f := newFixture(t, ModeLive, 80, 24)
	dark := f.screen()
	f.send(tea.BackgroundColorMsg{Color: color.White})
	if f.screen() == dark {
		t.Error("a light background did not change the styles")
	}
}

// TestAHugeEventIsShownCutAndCopiedWhole: a value of megabytes shows its first part and
// says how much more there is; y still copies the whole event.
func TestAHugeEventIsShownCutAndCopiedWhole(t *testing.T) {
	big := strings.Repeat("Y", 3<<20)
	raw, _ := json.Marshal(map[string]any{"event": "user.created", "event_ts": fixedNow.Add(-time.Minute).UnixMilli(),
		"payload": map[string]any{"account_id": "AAAAAABBBB", "object": map[string]any{"id": "u1", "first_name": big}}})
	ev, err := feed.DecodeEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureOf(t, ModeHistory, 100, 30, []feed.Item{{Event: ev, Received: fixedNow.Add(-time.Minute)}})
	f.key("enter")
	s := ansi.Strip(f.screen())
	if !strings.Contains(s, "Event #1") || !strings.Contains(s, "YYYY") {
		t.Fatalf("the event did not open:\n%s", s)
	}
	f.key("G")
	if s := ansi.Strip(f.screen()); !strings.Contains(strings.ReplaceAll(s, "\n", ""), "more: y copies the whole event)") {
		t.Errorf("the cut is not said:\n%s", s)
	}
	if p := f.m.top().(*eventPage); len(p.body) > 2*maxShownLine/90 {
		t.Errorf("%d lines drawn for a value cut at %d bytes", len(p.body), maxShownLine)
	}
	_, cmd := f.m.Update(keyMsg("y"))
	if msg := cmd().(clipboardMsg); len(msg.text) < len(big) {
		t.Errorf("copied %d bytes of an event of %d", len(msg.text), len(raw))
	}
}

// TestHelpScrollsWhenItDoesNotFit: in a small window every line of the help can be read.
func TestHelpScrollsWhenItDoesNotFit(t *testing.T) {
	f := newFixture(t, ModeLive, 60, 14)
	f.key("?")
	s := ansi.Strip(f.screen())
	if !strings.Contains(s, "Global") || strings.Contains(s, "Remap") || !strings.Contains(s, "j/k scroll") {
		t.Fatalf("the help's first screen:\n%s", s)
	}
	for range 40 {
		f.key("j")
	}
	s = ansi.Strip(f.screen())
	if !strings.Contains(s, "Remap") || !strings.Contains(s, "? or esc closes this help") || strings.Contains(s, "Global") {
		t.Fatalf("scrolled to the end:\n%s", s)
	}
	f.key("k") // one line back from the end, however far j went past it
	if s2 := ansi.Strip(f.screen()); !strings.Contains(s2, "Remap") || strings.Contains(s2, "? or esc closes this help") {
		t.Errorf("k at the end did not move up a line:\n%s", s2)
	}
	f.key("g")
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "Global") {
		t.Errorf("g did not go back to the top:\n%s", s)
	}
	f.key("esc")
	if f.m.showHelp {
		t.Error("esc did not close the help")
	}
}

// TestCopyAndExport: y puts the event on the clipboard (OSC 52 via Bubble Tea), e writes
// the current filter's events to a file.
func TestCopyAndExport(t *testing.T) {
	f := newFixture(t, ModeHistory, 100, 30)
	f.key("k")
	_, cmd := f.m.Update(keyMsg("y"))
	msg := cmd().(clipboardMsg)
	if !strings.HasPrefix(msg.text, `{"event":`) || strings.Contains(msg.text, "\n") {
		t.Errorf("copied %q", msg.text)
	}
	_, cmd = f.m.Update(msg)
	if got := fmt.Sprintf("%T", cmd()); got != "tea.setClipboardMsg" {
		t.Errorf("copy produced %s, want Bubble Tea's OSC 52 clipboard message", got)
	}
	if !strings.Contains(ansi.Strip(f.screen()), "copied event #") {
		t.Error("no confirmation of the copy")
	}

	f.key("/")
	f.typeText("type:meeting.started")
	f.key("enter", "e")
	started, _ := f.st.Page(store.Query{Filter: store.Filter{Types: []string{"meeting.started"}}, Limit: 1000})
	report := fmt.Sprintf("exported %d events to ", len(started.Records))
	s := ansi.Strip(f.screen())
	i := strings.Index(s, report)
	if i < 0 {
		t.Fatalf("no %q:\n%s", report, s)
	}
	path := strings.TrimSpace(strings.SplitN(s[i+len(report):], "\n", 2)[0])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != len(started.Records) || !strings.HasPrefix(filepath.Base(path), "zoomwatch-export-20261122-140322") {
		t.Errorf("%s has %d lines", path, n)
	}
	f.key("e") // in the same second
	s = ansi.Strip(f.screen())
	if i = strings.Index(s, report); i < 0 {
		t.Fatalf("a second export in the same second: no %q:\n%s", report, lastLines(s, 2))
	}
	again := strings.TrimSpace(strings.SplitN(s[i+len(report):], "\n", 2)[0])
	if again == path || filepath.Base(again) != "zoomwatch-export-20261122-140322-2.jsonl" {
		t.Errorf("the second export went to %s (the first to %s)", again, path)
	}

	g := newFixture(t, ModeHistory, 100, 30)
	g.m.d.AllowExport = false
	g.m.keys.Export.SetEnabled(false)
	g.key("e")
	if strings.Contains(ansi.Strip(g.screen()), "exported") {
		t.Error("export ran with AllowExport off")
	}
}

// TestHealthHonesty: a quiet feed says whether the link is healthy or silent; offline says
// since when nothing is received.
func TestHealthHonesty(t *testing.T) {
	f := newFixture(t, ModeLive, 160, 45)
	quiet := fixtureStats()
	quiet.LastEvent = fixedNow.Add(-14 * time.Minute)
	quiet.LastHeartbeatAck = fixedNow.Add(-3 * time.Second)
	f.m.d.Status = func() feed.Stats { return quiet }
	f.send(readHealth(&f.m.d, fixedNow))
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "no events for 14m · link healthy: heartbeat answered 3s ago") {
		t.Errorf("quiet but healthy not said:\n%s", s)
	}
	quiet.LastHeartbeatAck = fixedNow.Add(-65 * time.Second)
	f.send(readHealth(&f.m.d, fixedNow))
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "SILENT: no heartbeat reply for 1m05s") {
		t.Errorf("silence not said:\n%s", s)
	}
	backoff := fixtureStats()
	backoff.Current = feed.Transition{State: feed.StateBackoff, At: fixedNow.Add(-3 * time.Second), Reason: "read: unexpected EOF", NextRetry: fixedNow.Add(12 * time.Second)}
	f.m.d.Status = func() feed.Stats { return backoff }
	f.send(readHealth(&f.m.d, fixedNow))
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "● BACKOFF · retry in 12s") {
		t.Errorf("backoff countdown missing:\n%s", s)
	}

	f.m.d.Status = nil
	h := readHealth(&f.m.d, fixedNow)
	h.gaps = append([]store.Gap{{From: fixedNow.Add(-3 * time.Minute), Reason: "zoomwatch is not running"}}, h.gaps...)
	f.send(h)
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "● OFFLINE") || !strings.Contains(s, "not receiving since 14:00:22 (3m)") {
		t.Errorf("offline not said:\n%s", s)
	}
}

func TestNotStoringBanner(t *testing.T) {
	f := newFixture(t, ModeLive, 100, 30)
	h := readHealth(&f.m.d, fixedNow)
	h.health.Storing, h.health.Err, h.health.Backlog = false, "write /data/events.db: no space left on device", 1234
	f.send(h)
	lines := strings.Split(ansi.Strip(f.screen()), "\n")
	if !strings.HasPrefix(lines[1], " NOT STORING: write /data/events.db: no space left on device · backlog 1,234") {
		t.Errorf("no banner under the header:\n%s", strings.Join(lines, "\n"))
	}
	assertFits(t, f.screen(), 100, 30)
}

// TestClosedSubscription: when the store closes, the screen says nothing new will come.
func TestClosedSubscription(t *testing.T) {
	f := newFixture(t, ModeLive, 80, 24)
	f.sub.Close()
	f.send(f.waitFeed(time.Time{})())
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "The store was closed: nothing new will show") {
		t.Errorf("no notice of the closed store:\n%s", s)
	}
}

func TestHeaderModeAndViewer(t *testing.T) {
	f := newFixture(t, ModeDemo, 160, 45)
	f.m.d.Viewer = "ssh alice@10.0.0.5"
	f.m.frameValid = false
	head := strings.Split(ansi.Strip(f.screen()), "\n")[0]
	for _, want := range []string{"zoomwatch  DEMO  simulator", "● LIVE 18m", "account AbC Corp", "ssh alice@10.0.0.5", "14:03:22"} {
		if !strings.Contains(head, want) {
			t.Errorf("header lacks %q: %q", want, head)
		}
	}
}

// TestSmallTerminalShowsOnePane: below 80x18 one pane fills the body and tab changes which.
func TestSmallTerminalShowsOnePane(t *testing.T) {
	f := newFixture(t, ModeLive, 60, 16)
	s := ansi.Strip(f.screen())
	if !strings.Contains(s, "╭─ Active meetings") || strings.Contains(s, "╭─ Joins & leaves") {
		t.Fatalf("not one pane:\n%s", s)
	}
	f.key("tab")
	s = ansi.Strip(f.screen())
	if !strings.Contains(s, "╭─ Joins & leaves") || strings.Contains(s, "╭─ Active meetings") {
		t.Errorf("tab did not switch the pane:\n%s", s)
	}
	// Below the smallest useful size: the state and what size is needed, not fragments.
	f.send(tea.WindowSizeMsg{Width: 20, Height: 5})
	if s = ansi.Strip(f.screen()); !strings.Contains(s, "● LIVE") || !strings.Contains(s, "needs 30×8") {
		t.Errorf("at 20×5:\n%s", s)
	}
	// The header keeps the state when the window is narrow.
	d := newFixture(t, ModeDemo, 40, 12)
	if s = ansi.Strip(d.screen()); !strings.Contains(strings.Split(s, "\n")[0], "● LIVE") {
		t.Errorf("the demo's header at 40 columns lost the state:\n%s", s)
	}
}

// TestBoxFits: a box is exactly its size whatever its title, info and foot.
func TestBoxFits(t *testing.T) {
	st := NewStyles(true, false)
	long := "History · filter: who:株式会社サンプル 代表取締役社長 山田太郎 👩‍💻 type:meeting.*"
	for w := 4; w <= 40; w++ {
		box := st.box(long, long, long, []string{long, "x"}, w, 4, w%2 == 0)
		assertFits(t, box, w, 4)
		if got := ansi.StringWidth(strings.Split(box, "\n")[0]); got != w {
			t.Errorf("width %d: top edge is %d cells", w, got)
		}
	}
}

// TestMeetingPageFollowsItsMeeting: a meeting's page shows its timeline (which the live
// snapshot leaves out) and keeps it current while it is open.
func TestMeetingPageFollowsItsMeeting(t *testing.T) {
	f := newFixture(t, ModeLive, 160, 45)
	open := meetings[1]
	f.feed(joinItem(open, 9, fixedNow.Add(-time.Minute)))
	f.run(openMeeting(f.m, "u"+open.id+"=="))
	screen := func() string { return ansi.Strip(f.screen()) }
	if !strings.Contains(screen(), "Linus Torvalds joined") {
		t.Fatalf("no timeline on the meeting page:\n%s", screen())
	}
	if strings.Contains(screen(), "Montgomery") {
		t.Fatalf("a newcomer is on the page before joining:\n%s", screen())
	}
	f.feed(joinItem(open, 14, fixedNow))
	if !strings.Contains(screen(), "Montgomery-Fitzwilliam III (Guest, via phone) joined") {
		t.Errorf("the join did not reach the open meeting's timeline:\n%s", screen())
	}
}

// TestEndedMeetingPageStopsTheClock: once its meeting ends, the page says when and how long
// it lasted, instead of a running time that keeps growing.
func TestEndedMeetingPageStopsTheClock(t *testing.T) {
	f := newFixture(t, ModeLive, 160, 45)
	open := meetings[1] // started 9 minutes ago
	f.feed(joinItem(open, 9, fixedNow.Add(-time.Minute)))
	f.run(openMeeting(f.m, "u"+open.id+"=="))
	endedAt := fixedNow.Add(-30 * time.Second)
	raw, _ := json.Marshal(map[string]any{"event": "meeting.ended", "event_ts": endedAt.UnixMilli(), "payload": map[string]any{
		"account_id": "AAAAAABBBB", "object": map[string]any{"id": open.id, "uuid": "u" + open.id + "==", "host_id": "host-" + open.id,
			"topic": open.topic, "type": 2, "start_time": at(open.start).UTC().Format(time.RFC3339), "end_time": endedAt.UTC().Format(time.RFC3339)}}})
	ev, err := feed.DecodeEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	f.feed(feed.Item{Event: ev, Received: endedAt.Add(100 * time.Millisecond)})
	screen := ansi.Strip(f.screen())
	want := "ended " + endedAt.Format("15:04:05") + " (lasted at least 8m30s)" // its start_time, but not its meeting.started, was seen
	if !strings.Contains(screen, want) || !strings.Contains(screen, "no longer active") {
		t.Errorf("the ended meeting's page lacks %q:\n%s", want, screen)
	}
	// Linus joined a minute before now, 30 s before the end: he stayed 30 s, not a minute.
	if !strings.Contains(screen, "Present when it ended (1)") || !regexp.MustCompile(`Linus Torvalds .* 30s`).MatchString(screen) {
		t.Errorf("the ended meeting's participants are not as at its end:\n%s", screen)
	}
}

// TestEnterOpensTheHighlightedRowAtOnce: the first row is highlighted from the start, even
// when the meetings arrived after the screen opened on an empty store, and enter opens it
// without a move first.
func TestEnterOpensTheHighlightedRowAtOnce(t *testing.T) {
	f := newFixtureOf(t, ModeLive, 160, 45, nil)
	f.feed(joinItem(meetings[2], 1, fixedNow.Add(-time.Minute)), joinItem(meetings[1], 2, fixedNow))
	first := f.m.data.snap.Meetings[0]
	f.key("enter")
	if p, ok := f.m.top().(*meetingPage); !ok || p.key != first.Key {
		t.Fatalf("enter on the dashboard opened %T, want the first meeting's page", f.m.top())
	}
}

// TestKeysSayWhatTheyDoWhereTheyDoNothing: an action key pressed where it has nothing to act
// on says where it works, rather than doing nothing.
func TestKeysSayWhatTheyDoWhereTheyDoNothing(t *testing.T) {
	f := newFixture(t, ModeLive, 120, 40)
	says := func(want string) {
		t.Helper()
		if s := ansi.Strip(f.screen()); !strings.Contains(s, want) {
			t.Errorf("no %q on the screen:\n%s", want, s)
		}
	}
	f.key("e")
	says("e exports what history shows")
	f.key("y") // the meetings pane has no event to copy
	says("y copies an event's JSON")
	f.key("tab") // joins & leaves: y copies the highlighted event
	_, cmd := f.m.Update(keyMsg("y"))
	if msg, ok := cmd().(clipboardMsg); !ok || !strings.HasPrefix(msg.text, `{"event":"meeting.participant_`) {
		t.Errorf("y in Joins & leaves gave %#v, want the highlighted join or leave", msg)
	}
	f.key("t") // history, asking for the time
	says("jump to (14:03")
	f.key("esc", "s")
	says("history is in time order")

	ssh := newFixture(t, ModeLive, 120, 40)
	ssh.m.keys.Export.SetEnabled(false) // as for an SSH viewer (AllowExport false)
	ssh.key("h", "e")
	if s := ansi.Strip(ssh.screen()); !strings.Contains(s, "export is not available here") {
		t.Errorf("e over SSH said nothing:\n%s", s)
	}
}

// TestConnectionPaneLeavesSSHLoginsToHistory: viewers coming and going must not push the
// feed's transitions out of the connection pane.
func TestConnectionPaneLeavesSSHLoginsToHistory(t *testing.T) {
	f := newFixture(t, ModeLive, 200, 50)
	before := ansi.Strip(f.screen())
	if !strings.Contains(before, "recent") {
		t.Fatalf("no recent entries in the connection pane:\n%s", before)
	}
	for i := range 10 {
		if err := f.st.Note(context.Background(), fmt.Sprintf("ssh login viewer%d from 10.0.0.%d:5000 with key SHA256:x: monitor", i, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.send(readHealth(&f.m.d, fixedNow))
	after := ansi.Strip(f.screen())
	if strings.Contains(after, "ssh login") {
		t.Errorf("SSH logins in the connection pane:\n%s", after)
	}
	if before != after {
		t.Errorf("the screen changed with SSH logins only:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// TestEventsPerMinuteOnAFreshStart: before a complete minute with events, the figure is the
// current minute's count so far, not 0.
func TestEventsPerMinuteOnAFreshStart(t *testing.T) {
	m := meetings[0]
	f := newFixtureOf(t, ModeLive, 160, 45, []feed.Item{
		joinItem(m, 1, fixedNow.Add(-15*time.Second)), joinItem(m, 2, fixedNow.Add(-10*time.Second)), joinItem(m, 3, fixedNow.Add(-5*time.Second))})
	if s := ansi.Strip(f.screen()); !strings.Contains(s, " 3 so far") {
		t.Errorf("no '3 so far' on the events/min line:\n%s", s)
	}
}

// TestEventsPerMinuteSaysWhenAMinuteWasPartlyReceived: the first minute after the link went
// live held only its last seconds; its count is labelled, not passed off as a quiet minute.
func TestEventsPerMinuteSaysWhenAMinuteWasPartlyReceived(t *testing.T) {
	m := meetings[0]
	f := newFixtureOf(t, ModeLive, 160, 45, []feed.Item{
		joinItem(m, 1, fixedNow.Add(-35*time.Second)), joinItem(m, 2, fixedNow.Add(-30*time.Second)), joinItem(m, 3, fixedNow.Add(-10*time.Second))})
	line := func() string {
		for _, l := range strings.Split(ansi.Strip(f.screen()), "\n") {
			if strings.Contains(l, "events/min") {
				return l
			}
		}
		t.Fatalf("no events/min line:\n%s", ansi.Strip(f.screen()))
		return ""
	}
	if l := line(); !strings.Contains(l, " 2 ") || strings.Contains(l, "missed") {
		t.Errorf("live for an hour, the last minute is whole: %q", l)
	}
	f.m.d.Status = func() feed.Stats {
		s := fixtureStats()
		s.LiveSince = fixedNow.Add(-40 * time.Second) // 14:02:42, in the minute shown
		return s
	}
	f.send(readHealth(&f.m.d, fixedNow))
	if l := line(); !strings.Contains(l, " 2 (part missed)") {
		t.Errorf("live since 14:02:42, the 14:02 minute should say part of it was missed: %q", l)
	}
}

// TestHistoryAfterAJumpCountsNoNewArrivals: rows that come into view below a jump are
// history, not events that arrived: no "N new" count, only the way to the newest.
func TestHistoryAfterAJumpCountsNoNewArrivals(t *testing.T) {
	f := newFixture(t, ModeHistory, 100, 20)
	f.key("t")
	f.typeText("13:30")
	f.key("enter")
	for range 8 {
		f.key("pgdown")
	}
	s := ansi.Strip(f.screen())
	if strings.Contains(s, " new · ") || !strings.Contains(s, "▼ G newest") {
		t.Errorf("after a jump and paging down:\n%s", s)
	}
}

// TestUncertainOutranksRecordingInTheMeetingsPane: a recording meeting carried across a gap
// shows ? (it may have ended), not the recording dot; so does its recording, which may have
// stopped unseen.
func TestUncertainOutranksRecordingInTheMeetingsPane(t *testing.T) {
	m := meetings[1]
	start := fixedNow.Add(-5 * time.Minute)
	raw, _ := json.Marshal(map[string]any{"event": "recording.started", "event_ts": start.Add(time.Second).UnixMilli(), "payload": map[string]any{
		"account_id": "AAAAAABBBB", "object": map[string]any{"id": m.id, "uuid": "u" + m.id + "==", "host_id": "host-" + m.id, "topic": m.topic, "type": 2,
			"start_time": start.UTC().Format(time.RFC3339), "recording_file": map[string]any{"recording_start": start.UTC().Format(time.RFC3339)}}}})
	rec, err := feed.DecodeEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	tr := func(s feed.State, at time.Time) feed.Item {
		return feed.Item{Received: at, Transition: &feed.Transition{State: s, At: at}}
	}
	f := newFixtureOf(t, ModeLive, 160, 45, []feed.Item{tr(feed.StateLive, start.Add(-time.Second)), joinItem(m, 1, start),
		{Event: rec, Received: start.Add(time.Second)}, tr(feed.StateBackoff, start.Add(time.Minute)), tr(feed.StateLive, start.Add(2*time.Minute))})
	s := ansi.Strip(f.screen())
	if !regexp.MustCompile(`│\? ` + regexp.QuoteMeta(m.topic)).MatchString(s) {
		t.Errorf("the recording meeting across a gap is not marked ?:\n%s", s)
	}
	recs := regexp.MustCompile(`(?s)╭─ Recordings.*?╰[^╯]*╯`).FindString(s)
	if !regexp.MustCompile(`│\? `+regexp.QuoteMeta(m.topic[:8])+`.*REC`).MatchString(recs) || !strings.Contains(recs, "? = unsure after a gap") {
		t.Errorf("its recording is not marked ?:\n%s", recs)
	}
}

// TestMeetingPageTellsNamesakesApart: two different people with one name (two guests
// called "iPhone", two Ada Lovelaces) are numbered in the participants and the timeline.
// participantItem is meeting.participant_joined or _left (kind) of meetings[0], for a
// person of any name: joinItem's people each have their own name.
func participantItem(kind, name, uuid string, when time.Time) feed.Item {
	m := meetings[0]
	p := map[string]any{"user_name": name, "participant_uuid": uuid, "join_time": when.UTC().Format(time.RFC3339)}
	if kind == "left" {
		p["leave_time"], p["leave_reason"] = when.UTC().Format(time.RFC3339), "left the meeting"
	}
	return decodedItem(map[string]any{"event": "meeting.participant_" + kind, "event_ts": when.UnixMilli(), "payload": map[string]any{
		"account_id": "AAAAAABBBB",
		"object":     map[string]any{"id": m.id, "uuid": "u" + m.id + "==", "host_id": "host-" + m.id, "topic": m.topic, "type": 2, "participant": p},
	}}, when)
}

func TestMeetingPageTellsNamesakesApart(t *testing.T) {
	m := meetings[0]
	person := func(kind string, uuid string, when time.Time) feed.Item {
		return participantItem(kind, "Ada Lovelace", uuid, when)
	}
	f := newFixtureOf(t, ModeLive, 160, 45, []feed.Item{
		person("joined", "p-first", at(10*time.Minute)), person("joined", "p-second", at(8*time.Minute)),
		person("left", "p-second", at(5*time.Minute)), joinItem(m, 1, at(4*time.Minute))})
	f.key("enter")
	if _, ok := f.m.top().(*meetingPage); !ok {
		t.Fatalf("enter opened %T", f.m.top())
	}
	s := ansi.Strip(f.screen())
	for _, want := range []string{"+ Ada Lovelace #1 joined", "+ Ada Lovelace #2 joined", "− Ada Lovelace #2 left", "+ Grace Hopper joined"} {
		if !strings.Contains(s, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, s)
		}
	}
	if !regexp.MustCompile(`(?m)^│\s+Ada Lovelace #1\s`).MatchString(s) {
		t.Errorf("the participants table does not number the Ada still present:\n%s", s)
	}
}

// busyMeeting is meetings[0] with every one of people joining, a minute apart.
func busyMeeting() []feed.Item {
	var items []feed.Item
	for i := range people {
		items = append(items, joinItem(meetings[0], i, at(time.Duration(30-i)*time.Minute)))
	}
	return items
}

// shownRange is the "first–last of n" of the screen's bottom border.
func shownRange(t *testing.T, screen string) (first, last, n int) {
	t.Helper()
	mm := regexp.MustCompile(`(\d+)–(\d+) of (\d+)`).FindAllStringSubmatch(ansi.Strip(screen), -1)
	if len(mm) == 0 {
		t.Fatalf("no position shown:\n%s", ansi.Strip(screen))
	}
	g := mm[len(mm)-1]
	first, _ = strconv.Atoi(g[1])
	last, _ = strconv.Atoi(g[2])
	n, _ = strconv.Atoi(g[3])
	return first, last, n
}

// A detail page scrolled to its end (or past it) scrolls back from the end: each up key
// moves it.
func TestDetailPageScrollsBackFromTheEnd(t *testing.T) {
	f := newFixtureOf(t, ModeLive, 80, 16, busyMeeting())
	f.key("enter")
	if _, ok := f.m.top().(*meetingPage); !ok {
		t.Fatalf("enter opened %T", f.m.top())
	}
	f.key("G")
	first, last, n := shownRange(t, f.screen())
	if last != n {
		t.Fatalf("G shows %d–%d of %d, not the end", first, last, n)
	}
	f.key("k")
	if f2, _, _ := shownRange(t, f.screen()); f2 != first-1 {
		t.Errorf("k after G shows from line %d, want %d", f2, first-1)
	}
	f.key("G", "j", "j", "pgdown", "k")
	if f2, _, _ := shownRange(t, f.screen()); f2 != first-1 {
		t.Errorf("k after scrolling past the end shows from line %d, want %d", f2, first-1)
	}
}

// Scrolled down a meeting's page, the lines shown stay in place when new joins come in
// above them.
func TestMeetingPageKeepsItsPlaceAsJoinsArrive(t *testing.T) {
	f := newFixtureOf(t, ModeLive, 80, 14, busyMeeting()[:10])
	f.key("enter")
	f.key("G", "k")
	topLine := func() string {
		lines := strings.Split(ansi.Strip(f.screen()), "\n")
		for i, l := range lines {
			if strings.Contains(l, "Meeting") && i+1 < len(lines) {
				return lines[i+1]
			}
		}
		t.Fatalf("no meeting box:\n%s", ansi.Strip(f.screen()))
		return ""
	}
	before := topLine()
	if !strings.Contains(before, "joined") {
		t.Fatalf("not scrolled into the timeline: the first line shown is %q:\n%s", before, ansi.Strip(f.screen()))
	}
	f.feed(busyMeeting()[10:13]...)
	if _, _, n := shownRange(t, f.screen()); n < 10 {
		t.Fatalf("the page did not grow")
	}
	if after := topLine(); after != before {
		t.Errorf("new joins moved the page: its first line went from\n%q to\n%q", before, after)
	}
}

// openMeetingPage is a fixture of items (one meeting) with its page open.
func openMeetingPage(t *testing.T, w, h int, items []feed.Item) (*fixture, string) {
	t.Helper()
	f := newFixtureOf(t, ModeLive, w, h, items)
	f.key("enter")
	if _, ok := f.m.top().(*meetingPage); !ok {
		t.Fatalf("enter opened %T", f.m.top())
	}
	return f, ansi.Strip(f.screen())
}

// A guest whose own name is "Ada Lovelace #2" is not mistaken for the second of two Adas.
func TestNamesakeNumbersDoNotCollideWithNames(t *testing.T) {
	_, s := openMeetingPage(t, 160, 45, []feed.Item{
		participantItem("joined", "Ada Lovelace", "p-a1", at(10*time.Minute)),
		participantItem("joined", "Ada Lovelace #2", "p-literal", at(9*time.Minute)),
		participantItem("joined", "Ada Lovelace", "p-a2", at(8*time.Minute)),
	})
	for _, want := range []string{"+ Ada Lovelace #1 joined", "+ Ada Lovelace #2 joined", "+ Ada Lovelace #3 joined"} {
		if strings.Count(s, want) != 1 {
			t.Errorf("the timeline shows %q %d times, want once:\n%s", want, strings.Count(s, want), s)
		}
	}
}

// Zoom's times are whole seconds: a stay that began and ended in one second reads, newest
// first, as left above joined (not as someone who left and came back).
func TestTimelineOrdersASameSecondStay(t *testing.T) {
	when := at(time.Minute)
	_, s := openMeetingPage(t, 160, 45, []feed.Item{
		participantItem("joined", "Grace Hopper", "p-g", at(5*time.Minute)),
		participantItem("joined", "Ada Lovelace", "p-a", when),
		participantItem("left", "Ada Lovelace", "p-a", when),
	})
	left, joined := strings.Index(s, "− Ada Lovelace left"), strings.Index(s, "+ Ada Lovelace joined")
	if left < 0 || joined < 0 || left > joined {
		t.Errorf("newest first, the leave should be above its join:\n%s", s)
	}
}

// In a meeting busier than its kept sessions, a present namesake whose join was dropped
// keeps number 1, the page says that older joins are not shown, and at 50 columns the
// numbers survive the cut of long names.
func TestNamesakesInABusyMeeting(t *testing.T) {
	start := at(3 * time.Hour)
	items := []feed.Item{participantItem("joined", "Ada Lovelace Byron, Countess", "p-a1", start)}
	n := live.MaxSessions + live.MaxSessions/4 + 10
	for i := range n {
		when := start.Add(time.Duration(i+1) * 10 * time.Second)
		uuid := fmt.Sprintf("p-guest-%d", i)
		items = append(items, participantItem("joined", "Guest", uuid, when), participantItem("left", "Guest", uuid, when.Add(5*time.Second)))
	}
	items = append(items, participantItem("joined", "Ada Lovelace Byron, Countess", "p-a2", at(time.Minute)))
	f, s := openMeetingPage(t, 160, 45, items)
	if !regexp.MustCompile(`(?m)^│\s+Ada Lovelace Byron, Countess #1\s+11:03:22\s`).MatchString(s) {
		t.Errorf("the Ada present since the start is not #1:\n%s", s)
	}
	if !strings.Contains(s, "+ Ada Lovelace Byron, Countess #2 joined") {
		t.Errorf("the later Ada is not #2:\n%s", s)
	}
	f.key("G")
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "earlier joins are not kept") {
		t.Errorf("the end of the timeline does not say older joins were dropped:\n%s", s)
	}

	_, s = openMeetingPage(t, 50, 20, items)
	for _, want := range []string{"#1", "#2"} {
		if !regexp.MustCompile(`(?m)^│\s+Ada Lovelace[^│]*… ` + want + `\s`).MatchString(s) {
			t.Errorf("at 50 columns the participants table lost %s:\n%s", want, s)
		}
	}
}

// A history bounded by since/until shows the connection log of that window only: the
// start's CONNECTING and LIVE are not in a window an hour later, a gap that overlaps one is.
func TestTimeBoundedHistoryShowsOnlyItsWindowsLog(t *testing.T) {
	f := newFixture(t, ModeHistory, 160, 45)
	h := f.m.top().(*historyPage)
	markers := func(window string) (kinds []string) {
		f.key("/")
		f.typeText(window)
		f.key("enter")
		if f.m.typing() {
			t.Fatalf("filter %q not taken:\n%s", window, ansi.Strip(f.screen()))
		}
		for _, r := range h.rows {
			if r.marker != nil {
				kinds = append(kinds, r.marker.Kind)
			}
		}
		f.key("esc")
		return kinds
	}
	clk := func(d time.Duration) string { return at(d).Format("15:04:05") }
	if got := markers("since:" + clk(35*time.Minute) + " until:" + clk(25*time.Minute)); len(got) > 0 {
		t.Errorf("a window with no connection-log entries shows %v", got)
	}
	if got := markers("since:" + clk(20*time.Minute+30*time.Second) + " until:" + clk(18*time.Minute)); !slices.Contains(got, store.LogGap) {
		t.Errorf("a window around the gap shows %v, not the gap", got)
	}
}

// Names that look the same are namesakes: one typed with a combining diaeresis, one with a
// trailing space.
func TestNamesakesThatLookTheSame(t *testing.T) {
	_, s := openMeetingPage(t, 160, 45, []feed.Item{
		participantItem("joined", "Zo\u00eb Str\u00f6m", "p-z1", at(10*time.Minute)),
		participantItem("joined", "Zoe\u0308 Stro\u0308m", "p-z2", at(9*time.Minute)),
		participantItem("joined", "Grace Hopper", "p-g1", at(8*time.Minute)),
		participantItem("joined", "Grace Hopper ", "p-g2", at(7*time.Minute)),
	})
	for _, want := range []string{"Zo\u00eb Str\u00f6m #1 joined", "Zoe\u0308 Stro\u0308m #2 joined", "Grace Hopper #1 joined", "Grace Hopper #2 joined"} {
		if !strings.Contains(s, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, s)
		}
	}
}

// After retention pruned events, the connection pane says how many are stored now, and how
// many were pruned: not the total ever added.
func TestStoreLineCountsWhatIsStoredNow(t *testing.T) {
	f := newFixture(t, ModeLive, 160, 45)
	total := f.m.data.health.Counts.Events
	if total < 100 {
		t.Fatalf("the fixture stored %d events", total)
	}
	f.m.data.health.Counts.Pruned = 40
	s := ansi.Strip(f.screen())
	if want := fmt.Sprintf("%s events stored · 40 pruned", numfmt.Thousands(total-40)); !strings.Contains(s, want) {
		t.Errorf("the store line lacks %q:\n%s", want, s)
	}
}

// History's oldest end says that older events were pruned, when they were.
func TestHistorySaysOlderEventsWerePruned(t *testing.T) {
	f := newFixture(t, ModeHistory, 120, 30)
	f.key("g")
	if s := ansi.Strip(f.screen()); strings.Contains(s, "pruned") {
		t.Errorf("nothing was pruned, yet:\n%s", lastLines(s, 2))
	}
	f.m.data.health.Counts.Pruned = 1234
	f.key("G", "g")
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "the oldest stored: 1,234 older events pruned") {
		t.Errorf("g at the oldest end does not say events were pruned:\n%s", lastLines(s, 2))
	}
}

// While nothing has been received for a while, every active meeting may have ended unseen:
// the meetings pane marks them all, and says since when.
func TestMeetingsAreUnsureWhileNothingIsReceived(t *testing.T) {
	f := newFixture(t, ModeLive, 160, 45)
	rows := func() (marked, plain int) {
		for _, mt := range f.m.data.snap.Meetings {
			for _, l := range strings.Split(ansi.Strip(f.screen()), "\n") {
				if strings.Contains(l, mt.ID) {
					if strings.HasPrefix(l, "│?") {
						marked++
					} else {
						plain++
					}
				}
			}
		}
		return marked, plain
	}
	if _, plain := rows(); plain == 0 {
		t.Fatal("no meeting rows without a mark to start with")
	}
	f.m.data.gaps = append(f.m.data.gaps, store.Gap{From: fixedNow.Add(-2 * time.Minute), Reason: "replaced"})
	f.m.frameValid = false
	if marked, plain := rows(); marked == 0 || plain > 0 {
		t.Errorf("two minutes into a gap, %d meetings marked and %d not", marked, plain)
	}
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "? = unsure: nothing received since 14:01:22") {
		t.Errorf("the meetings pane does not say since when nothing is received:\n%s", s)
	}
}

// Imported history from another year shows its year: in history's date column and on the
// event's page.
func TestOldEventsShowTheirYear(t *testing.T) {
	old := joinItem(meetings[0], 1, time.Date(2021, 4, 21, 16, 58, 54, 0, time.UTC))
	old.Received = fixedNow.Add(-time.Minute) // imported today
	f := newFixtureOf(t, ModeHistory, 120, 30, []feed.Item{old})
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "2021-04-21 16:58:54") {
		t.Errorf("history does not show the year of a 2021 event:\n%s", s)
	}
	f.key("enter")
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "event time 2021-04-21 16:58:54.000") {
		t.Errorf("the event's page does not show its date:\n%s", s)
	}
}

// A recording still under way has no files yet: its page says so instead of an empty table,
// and a finished one lists each file's type once, with the extension only where it differs.
func TestRecordingPageFiles(t *testing.T) {
	f := newFixture(t, ModeLive, 100, 30)
	f.key("tab", "tab", "down", "down", "enter")
	if s := ansi.Strip(f.screen()); !strings.Contains(s, "REC") || !strings.Contains(s, "none listed yet") || strings.Contains(s, "Recording type") {
		t.Errorf("recording under way:\n%s", s)
	}
	f.key("esc", "up", "enter")
	s := ansi.Strip(f.screen())
	for _, want := range []string{"MP4  ", "TRANSCRIPT · VTT", "CHAT · TXT"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q on the finished recording's page:\n%s", want, s)
		}
	}
	if strings.Contains(s, "MP4 · MP4") || strings.Contains(s, "Ext") {
		t.Errorf("extension repeated:\n%s", s)
	}
}
