// Package tui is zoomwatch's terminal interface: the live screen (active meetings, joins and
// leaves, recordings, connection health) and the history browser, as one Bubble Tea model.
//
// A model is built per viewer (the local terminal, each SSH session) from Deps and keeps no
// global state: styles come from what that viewer's terminal reports, data from the shared
// store, read in tea.Cmds and delivered as messages. The TUI never writes to the store.
package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"zoomwatch/feed"
	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
	"zoomwatch/store/live"
)

// Mode says what the model is watching.
type Mode int

const (
	// ModeLive watches the configured account.
	ModeLive Mode = iota
	// ModeDemo watches the built-in simulator; the header says so.
	ModeDemo
	// ModeHistory browses stored history with no feed: history is the whole UI.
	ModeHistory
)

// Deps is what a viewer's model is built from.
type Deps struct {
	Store *store.Store
	// Sub delivers committed batches; created and closed by the caller, one per viewer.
	// nil in ModeHistory.
	Sub *store.Subscription
	// Status reads the connection's counters; nil when offline.
	Status  func() feed.Stats
	Account string
	Mode    Mode
	// Keys remaps actions (from the config file): action name → keys.
	Keys map[string][]string
	// Viewer names a remote viewer ("ssh alice@10.0.0.5"); "" locally.
	Viewer string
	// Now is the clock; nil is time.Now. Times show in the zone of the times it returns.
	Now func() time.Time
	// ExportDir is where history exports are written; "" is the current directory.
	ExportDir string
	// AllowExport enables the export key (the lead may turn it off for SSH viewers).
	AllowExport bool
	// Serving reports the SSH address this process serves the monitor on and how many
	// viewers watch it now; nil when it serves none (and for the viewers themselves).
	Serving func() (addr string, viewers int)
}

// page is one full-body screen: the dashboard, a meeting, the history, an event… The root
// keeps a stack of them; esc pops.
type page interface {
	update(m *Model, msg tea.Msg) tea.Cmd
	view(m *Model, w, h int) string
	// shortHelp lists the bindings the footer shows for this page.
	shortHelp(m *Model) []key.Binding
	// typing reports whether keys go to a text input (filter, jump): q is then a letter.
	typing() bool
	// input draws that text input for the footer.
	input(m *Model, w int) string
}

// Model is the root model.
type Model struct {
	d    Deps
	now  func() time.Time
	keys KeyMap

	styles        Styles
	stylesGen     int // counts restyles: what pages render ahead of time is stale after one
	dark          bool
	asciiProfile  bool // the terminal (or NO_COLOR=1) allows no colour
	noColorEnv    bool // NO_COLOR set to any value (no-color.org), which colorprofile misses for e.g. "yes"
	help          help.Model
	showHelp      bool
	helpOffset    int // the help's first line shown, when it does not fit (clamped as drawn)
	width, height int
	// resizes counts window changes; resizeSettle is how long after the last one the screen
	// is repainted whole (0: never).
	resizes      int
	resizeSettle time.Duration

	pages []page
	dash  *dashboard // nil in ModeHistory
	data  liveData

	flash      string
	flashUntil time.Time
	// quitArmed: q was pressed while SSH viewers watched; another q before then quits.
	quitArmed time.Time

	frame      string // the last rendered frame; reused until something changes
	frameValid bool
}

// liveData is what the live panes show, kept current whatever page is on top.
type liveData struct {
	loaded   bool
	snap     *live.Snapshot
	joins    []joinRow // oldest first, bounded
	lastSeq  uint64    // newest event seq accounted for (joins and rates)
	rates    rateRing
	clock    time.Time
	stats    *feed.Stats
	health   store.Health
	gaps     []store.Gap
	gapCount int
	recent   []store.LogEntry // newest connection-log entries the pane lists (see readHealth), newest first
	closed   bool             // the subscription ended (the store is closing)
	err      error
}

// New builds the root model for one viewer.
func New(d Deps) (tea.Model, error) {
	if d.Store == nil {
		return nil, errors.New("tui: no store")
	}
	km, err := NewKeyMap(d.Keys)
	if err != nil {
		return nil, err
	}
	if !d.AllowExport {
		km.Export.SetEnabled(false)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	m := &Model{d: d, now: d.Now, keys: km, dark: true, help: help.New(), resizeSettle: defaultResizeSettle}
	m.data.clock = d.Now()
	m.restyle()
	if d.Mode == ModeHistory {
		m.pages = []page{newHistory(store.Filter{}, "")}
	} else {
		m.dash = newDashboard()
		m.pages = []page{m.dash}
	}
	return m, nil
}

// Init asks the terminal for its background colour and starts the loads, the feed watcher
// and the clock.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor, tick(&m.d, m.now), m.loadHealth()}
	if m.d.Mode == ModeHistory {
		cmds = append(cmds, m.pages[0].(*historyPage).reload(m))
	} else {
		st, now := m.d.Store, m.now
		cmds = append(cmds, func() tea.Msg { return loadInitial(st, now()) })
		if m.d.Sub != nil {
			cmds = append(cmds, waitFeed(m.d.Store, m.d.Sub, m.now, time.Time{}))
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) loadHealth() tea.Cmd {
	d, now := &m.d, m.now
	return func() tea.Msg { return readHealth(d, now()) }
}

func (m *Model) restyle() {
	m.styles = NewStyles(m.dark, m.asciiProfile || m.noColorEnv)
	m.stylesGen++
	m.help.Styles = m.styles.Help
	m.frameValid = false
}

func (m *Model) top() page { return m.pages[len(m.pages)-1] }

func (m *Model) push(p page) { m.pages = append(m.pages, p) }

// pop leaves the top page; the base page stays.
func (m *Model) pop() {
	if len(m.pages) > 1 {
		m.pages = m.pages[:len(m.pages)-1]
	}
}

func (m *Model) typing() bool { return m.top().typing() }

// quit ends the program, but asks first while SSH viewers are watching: quitting ends their
// sessions too (ctrl+c does not ask).
func (m *Model) quit() tea.Cmd {
	if m.d.Serving == nil || m.data.clock.Before(m.quitArmed) {
		return tea.Quit
	}
	_, n := m.d.Serving()
	if n == 0 {
		return tea.Quit
	}
	m.quitArmed = m.data.clock.Add(5 * time.Second)
	viewers, q := numfmt.Plural(n, "viewer"), m.keys.Quit.Help().Key
	// The longest wording that fits: "again quits" must not be cut off.
	for _, s := range []string{viewers + " watching over SSH: " + q + " again quits and disconnects them",
		viewers + " watching: " + q + " again quits", viewers + ": " + q + " again quits", q + " again quits"} {
		if m.say(s); width(s)+1 <= m.width {
			break
		}
	}
	return nil
}

// resizeSettledMsg says that resize number n was the last for resizeSettle.
type resizeSettledMsg int

// defaultResizeSettle: a terminal resized several times in quick succession (a tiling window
// manager, tmux) could leave fragments of the frames drawn at the sizes in between, which
// only another resize cleared.
const defaultResizeSettle = 300 * time.Millisecond

// settleResize repaints the whole screen once the window has kept its size for a moment.
func (m *Model) settleResize() tea.Cmd {
	m.resizes++
	if m.resizeSettle <= 0 {
		return nil
	}
	n := m.resizes
	return tea.Tick(m.resizeSettle, func(time.Time) tea.Msg { return resizeSettledMsg(n) })
}

// say shows a short message in the footer for a few seconds.
func (m *Model) say(s string) {
	m.flash, m.flashUntil = s, m.data.clock.Add(5*time.Second)
}

// Update handles a message (update), then notes what the dashboard, if on screen, now shows.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	mdl, cmd := m.update(msg)
	if m.dash != nil && m.top() == page(m.dash) {
		m.dash.recordingsShown(m)
	}
	return mdl, cmd
}

// update routes messages: globals first, data to whoever owns it, keys and mouse to the page
// on top.
func (m *Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		m.frameValid = false
		return m, m.settleResize()
	case resizeSettledMsg:
		if int(msg) == m.resizes {
			return m, tea.ClearScreen
		}
		return m, nil
	case tea.BackgroundColorMsg:
		m.dark = msg.IsDark()
		m.restyle()
	case tea.ColorProfileMsg:
		m.asciiProfile = msg.Profile == colorprofile.ASCII || msg.Profile == colorprofile.NoTTY
		m.restyle()
	case tea.EnvMsg:
		m.noColorEnv = msg.Getenv("NO_COLOR") != ""
		m.restyle()
	case tickMsg:
		m.applyHealth(msg)
		m.frameValid = false
		cmd := m.routeAll(msg)
		if msg.periodic {
			cmd = tea.Batch(cmd, tick(&m.d, m.now))
		}
		return m, cmd
	case initialMsg:
		m.applyInitial(msg)
	case feedMsg:
		cmds := []tea.Cmd{m.applyFeed(msg), m.routeAll(msg)}
		if !msg.closed && m.d.Sub != nil {
			cmds = append(cmds, waitFeed(m.d.Store, m.d.Sub, m.now, time.Now().Add(feedPace)))
		}
		m.frameValid = false
		return m, tea.Batch(cmds...)
	case tea.KeyPressMsg:
		m.frameValid = false
		return m, m.key(msg)
	case tea.MouseWheelMsg, tea.MouseClickMsg, tea.PasteMsg:
		m.frameValid = false
		return m, m.top().update(m, msg)
	case tea.MouseMotionMsg, tea.MouseReleaseMsg, tea.KeyReleaseMsg:
		return m, nil
	case clipboardMsg:
		m.say(msg.note)
		m.frameValid = false
		return m, tea.SetClipboard(msg.text)
	case flashMsg:
		m.say(string(msg))
	default:
		m.frameValid = false
		return m, m.routeAll(msg)
	}
	m.frameValid = false
	return m, nil
}

// routeAll offers a message to every page in the stack (replies find their requester;
// pages below the top keep their data current).
func (m *Model) routeAll(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, p := range m.pages {
		if c := p.update(m, msg); c != nil {
			cmds = append(cmds, c)
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	km := &m.keys
	if key.Matches(msg, km.ForceQuit) {
		return tea.Quit
	}
	if key.Matches(msg, km.Repaint) {
		return tea.ClearScreen
	}
	// A quit that asked first is taken back by any other key; esc only takes it back.
	if !m.quitArmed.IsZero() && !key.Matches(msg, km.Quit) {
		armed := m.data.clock.Before(m.quitArmed)
		m.quitArmed = time.Time{}
		if armed && key.Matches(msg, km.Back) {
			m.say("not quitting")
			return nil
		}
		if armed {
			m.flash = ""
		}
	}
	if m.showHelp {
		switch {
		case key.Matches(msg, km.Quit):
			return m.quit()
		case key.Matches(msg, km.Help, km.Back):
			m.showHelp = false
		case key.Matches(msg, km.Down):
			m.helpOffset++
		case key.Matches(msg, km.Up):
			m.helpOffset--
		case key.Matches(msg, km.PageDown):
			m.helpOffset += 10
		case key.Matches(msg, km.PageUp):
			m.helpOffset -= 10
		case key.Matches(msg, km.Top):
			m.helpOffset = 0
		case key.Matches(msg, km.Bottom):
			m.helpOffset = 1 << 30
		}
		return nil
	}
	if !m.typing() {
		switch {
		case key.Matches(msg, km.Quit):
			return m.quit()
		case key.Matches(msg, km.Help):
			m.showHelp, m.helpOffset = true, 0
			return nil
		case !km.Export.Enabled() && slices.Contains(km.Export.Keys(), msg.String()):
			m.say("export is not available here: over SSH, run `ssh … export` (see `ssh … help`)")
			return nil
		}
	}
	return m.top().update(m, msg)
}

func (m *Model) applyInitial(msg initialMsg) {
	d := &m.data
	d.loaded = true
	d.err = msg.err
	if msg.snap != nil && (d.snap == nil || msg.snap.NewestTS >= d.snap.NewestTS) {
		d.snap = msg.snap
	}
	// Batches delivered before this load's reply (the two race) are newer than what it
	// read: keep them after it.
	joins := msg.joins
	for _, r := range d.joins {
		if r.seq > msg.lastSeq {
			joins = append(joins, r)
		}
	}
	d.joins = joins
	d.lastSeq = max(d.lastSeq, msg.lastSeq)
	d.rates = msg.rates
	if m.dash != nil {
		m.dash.joinsReloaded(m)
	}
}

func (m *Model) applyFeed(msg feedMsg) tea.Cmd {
	d := &m.data
	if msg.closed {
		d.closed = true
	}
	if msg.reload != nil {
		m.applyInitial(*msg.reload)
	} else {
		for _, a := range msg.arrived {
			if a.lastSeq > d.lastSeq {
				d.rates.add(a.minute, a.n)
			}
		}
		added := 0
		for _, r := range msg.joins {
			if r.seq > d.lastSeq {
				d.joins = append(d.joins, r)
				added++
			}
		}
		if len(msg.arrived) > 0 {
			d.lastSeq = max(d.lastSeq, msg.arrived[len(msg.arrived)-1].lastSeq)
		}
		if len(d.joins) > maxJoinRows*3/2 {
			// Trim in steps rather than per row, so that appending stays amortised O(1), and
			// in place: nothing holds the rows past an Update.
			d.joins = append(d.joins[:0], d.joins[len(d.joins)-maxJoinRows:]...)
		}
		if m.dash != nil {
			m.dash.joinsAdded(m, added)
		}
	}
	if msg.snap != nil {
		d.snap = msg.snap
	}
	if len(msg.log) > 0 {
		return m.loadHealth()
	}
	return nil
}

func (m *Model) applyHealth(t tickMsg) {
	d := &m.data
	d.clock = t.now
	d.stats = t.stats
	d.health = t.health
	d.gaps = t.gaps
	d.gapCount = t.gapCount
	d.recent = t.recent
	if m.flash != "" && !t.now.Before(m.flashUntil) {
		m.flash = ""
	}
}

// View renders the frame: header, banners, the page on top (or help), footer.
func (m *Model) View() tea.View {
	if !m.frameValid {
		m.frame = m.render()
		m.frameValid = true
	}
	v := tea.NewView(m.frame)
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "zoomwatch"
	return v
}

func (m *Model) render() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		return ""
	}
	if w < minWidth || h < minHeight {
		// Fragments of panes say nothing; the connection's state and a hint do.
		c := m.conn()
		lines := []string{c.style.Render("● " + c.word), fmt.Sprintf("window %d×%d:", w, h), fmt.Sprintf("needs %d×%d", minWidth, minHeight)}
		for i := range lines {
			lines[i] = fit(" "+lines[i], w)
		}
		return padLines(strings.Join(lines[:min(len(lines), h)], "\n"), w, h)
	}
	head := []string{m.header(w)}
	head = append(head, m.banners(w)...)
	foot := m.footer(w)
	bodyH := h - len(head) - 1
	if bodyH < 1 {
		// Too small for anything but the header: still never wider or taller than the screen.
		return strings.Join(head[:min(len(head), h)], "\n")
	}
	var body string
	if m.showHelp {
		body = m.helpView(w, bodyH)
	} else {
		body = m.top().view(m, w, bodyH)
	}
	return strings.Join(head, "\n") + "\n" + padLines(body, w, bodyH) + "\n" + foot
}

// The smallest window the monitor draws its panes in.
const minWidth, minHeight = 30, 8

// bodyHeight is the height pages get at the current size and state.
func (m *Model) bodyHeight() int {
	return max(m.height-2-len(m.banners(m.width)), 1)
}

// padLines makes s exactly h lines of at most w cells.
func padLines(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if width(l) > w {
			lines[i] = trunc(l, w)
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func (m *Model) footer(w int) string {
	if m.typing() && !m.showHelp {
		return fit(m.top().input(m, w), w)
	}
	if m.flash != "" {
		return fit(" "+m.styles.Bold.Render(m.flash), w)
	}
	m.help.SetWidth(w - 1)
	bindings := m.top().shortHelp(m)
	if m.showHelp {
		closeHelp := key.NewBinding(key.WithKeys(m.keys.Help.Keys()...), key.WithHelp(m.keys.Help.Help().Key+"/"+m.keys.Back.Help().Key, "close help"))
		bindings = []key.Binding{closeHelp, m.keys.Quit}
	}
	return fit(" "+m.help.ShortHelpView(bindings), w)
}

type flashMsg string

type clipboardMsg struct {
	text, note string
}
