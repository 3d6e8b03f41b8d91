package tui

import (
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"zoomwatch/store/live"
)

type paneID int

const (
	paneMeetings paneID = iota
	paneJoins
	paneRecordings
	paneConn
	paneCount
)

var (
	paneNames      = [paneCount]string{"Active meetings", "Joins & leaves", "Recordings", "Connection"}
	paneShortNames = [paneCount]string{"Meetings", "Joins", "Recs", "Conn"}
)

// meetingSort orders the active meetings pane. The default keeps rows where they are as
// people come and go, which matters on a wall screen.
type meetingSort int

const (
	sortRunning meetingSort = iota // longest-running first
	sortPeople                     // most participants first
	sortTopic
	sortCount
)

var sortNames = [sortCount]string{"by running time", "by participants", "by topic"}

// dashboard is the live screen: four panes in a 2×2 grid, or one at a time when small.
type dashboard struct {
	focus   paneID
	offsets [paneCount]int // first visible list row per pane
	meetKey string         // selected meeting
	recKey  string         // selected recording
	joinSel uint64         // selected join row's seq while paused
	follow  bool           // the joins pane shows the newest
	unseen  int            // joins that arrived while paused
	recSeen int64          // the newest LastTS of the recordings rows shown (see recordingsShown)
	sortBy  meetingSort

	editing bool // typing into the filter
	line    lineInput
	filter  paneFilter
	lineErr string // why the line typed is not a filter (the last one that was stays)
}

func newDashboard() *dashboard {
	return &dashboard{follow: true}
}

// rect is a pane's place on the screen (body coordinates).
type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool { return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h }

// dashLayout places the panes in a w×h body. Below 80 columns or 18 rows there is no room
// for four readable panes: one is shown, with a tab strip to say which.
func dashLayout(w, h int, focus paneID) (rects [paneCount]rect, single bool) {
	if w < 80 || h < 18 {
		rects[focus] = rect{0, 1, w, h - 1}
		return rects, true
	}
	lw, rw := w/2, w-w/2
	bottom := max(9, h*2/5)
	top := h - bottom
	rects[paneMeetings] = rect{0, 0, lw, top}
	rects[paneJoins] = rect{lw, 0, rw, top}
	rects[paneRecordings] = rect{0, top, lw, bottom}
	rects[paneConn] = rect{lw, top, rw, bottom}
	return rects, false
}

// listRows is how many list rows a pane shows (inside the border, under its column header).
func listRows(id paneID, r rect) int {
	n := r.h - 2
	if id == paneMeetings || id == paneRecordings {
		n--
	}
	return max(n, 0)
}

func (d *dashboard) view(m *Model, w, h int) string {
	rects, single := dashLayout(w, h, d.focus)
	if single {
		// Short names when the full ones do not fit: the focused tab must show.
		names := paneNames
		if width(" "+strings.Join(names[:], "  ")+" ") > w {
			names = paneShortNames
		}
		var tabs []string
		for i, name := range names {
			if paneID(i) == d.focus {
				tabs = append(tabs, m.styles.TitleFocused.Render(" "+name+" "))
			} else {
				tabs = append(tabs, m.styles.Dim.Render(" "+name+" "))
			}
		}
		r := rects[d.focus]
		return fit(strings.Join(tabs, ""), w) + "\n" + d.pane(m, d.focus, r, true)
	}
	grid := make([]string, h)
	for id := range paneCount {
		r := rects[id]
		for i, line := range strings.Split(d.pane(m, id, r, id == d.focus), "\n") {
			if r.y+i < h {
				grid[r.y+i] += line
			}
		}
	}
	return strings.Join(grid, "\n")
}

func (d *dashboard) pane(m *Model, id paneID, r rect, focused bool) string {
	switch id {
	case paneMeetings:
		return d.meetingsPane(m, r, focused)
	case paneJoins:
		return d.joinsPane(m, r, focused)
	case paneRecordings:
		return d.recordingsPane(m, r, focused)
	}
	return d.connPane(m, r, focused)
}

func (d *dashboard) typing() bool { return d.editing }

func (d *dashboard) input(m *Model, w int) string {
	if !d.editing {
		return ""
	}
	return inputLine(m, d.line, d.lineErr, w)
}

func (d *dashboard) shortHelp(m *Model) []key.Binding {
	km := &m.keys
	bs := []key.Binding{km.NextPane, km.Up, km.Open, km.Filter, km.History}
	if d.focus == paneJoins || !d.follow {
		bs = append(bs, km.Follow)
	}
	if d.focus == paneMeetings {
		bs = append(bs, km.Sort)
	}
	return append(bs, km.Help, km.Quit)
}

func (d *dashboard) update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if d.editing {
			d.typeKey(m, msg)
			return nil
		}
		return d.key(m, msg)
	case tea.PasteMsg:
		if d.editing {
			d.line.paste(msg.Content)
			d.setQuery(m)
		}
	case tea.MouseWheelMsg:
		mouse := msg.Mouse()
		if id, ok := d.paneAt(m, mouse.X, mouse.Y); ok {
			switch mouse.Button {
			case tea.MouseWheelUp:
				d.moveIn(m, id, -3)
			case tea.MouseWheelDown:
				d.moveIn(m, id, 3)
			}
		}
	case tea.MouseClickMsg:
		mouse := msg.Mouse()
		if id, ok := d.paneAt(m, mouse.X, mouse.Y); ok && mouse.Button == tea.MouseLeft {
			d.focus = id
		}
	}
	return nil
}

// paneAt finds the pane under a screen position.
func (d *dashboard) paneAt(m *Model, x, y int) (paneID, bool) {
	top := 1 + len(m.banners(m.width))
	rects, _ := dashLayout(m.width, m.bodyHeight(), d.focus)
	for id, r := range rects {
		if r.w > 0 && r.contains(x, y-top) {
			return paneID(id), true
		}
	}
	return 0, false
}

// typeKey edits the live filter, which applies as it is typed; enter keeps it, esc drops it.
func (d *dashboard) typeKey(m *Model, msg tea.KeyPressMsg) {
	switch msg.String() {
	case "enter":
		d.editing = d.lineErr != ""
	case "esc":
		d.editing = false
		d.line = newLineInput("", "")
		d.setQuery(m)
	default:
		if d.line.update(msg) {
			d.setQuery(m)
		}
	}
}

// setQuery applies the line as it is typed; a line that is not a filter yet (since: half
// typed) leaves the last one in place and says why.
func (d *dashboard) setQuery(m *Model) {
	f, err := newPaneFilter(d.line.Value(), m.data.clock)
	if d.lineErr = ""; err != nil {
		d.lineErr = err.Error()
		return
	}
	d.filter = f
	d.afterFilter(m)
}

// afterFilter keeps the selections valid for the filtered lists.
func (d *dashboard) afterFilter(m *Model) {
	d.offsets = [paneCount]int{}
	if d.follow {
		d.joinSel = 0
	}
	for id := range paneCount {
		d.moveIn(m, id, 0)
	}
}

func (d *dashboard) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	km := &m.keys
	page := max(d.rows(m, d.focus)-1, 1)
	switch {
	case key.Matches(msg, km.Filter):
		d.editing = true
		d.line = newLineInput("filter: ", d.filter.line)
	case key.Matches(msg, km.Back):
		if !d.filter.empty() {
			d.filter = paneFilter{}
			d.afterFilter(m)
		}
	case key.Matches(msg, km.NextPane):
		d.focus = (d.focus + 1) % paneCount
	case key.Matches(msg, km.PrevPane):
		d.focus = (d.focus + paneCount - 1) % paneCount
	case key.Matches(msg, km.Up):
		d.moveIn(m, d.focus, -1)
	case key.Matches(msg, km.Down):
		d.moveIn(m, d.focus, 1)
	case key.Matches(msg, km.PageUp):
		d.moveIn(m, d.focus, -page)
	case key.Matches(msg, km.PageDown):
		d.moveIn(m, d.focus, page)
	case key.Matches(msg, km.Top):
		d.moveIn(m, d.focus, -1<<30)
	case key.Matches(msg, km.Bottom):
		d.moveIn(m, d.focus, 1<<30)
	case key.Matches(msg, km.Follow):
		d.follow, d.unseen, d.joinSel = true, 0, 0
		d.moveIn(m, paneJoins, 0)
		if d.focus != paneJoins { // its only sign would be in another pane
			m.say("joins & leaves follow the newest")
		}
	case key.Matches(msg, km.Sort):
		d.sortBy = (d.sortBy + 1) % sortCount
		m.say("meetings sorted " + sortNames[d.sortBy])
		d.moveIn(m, paneMeetings, 0)
	case key.Matches(msg, km.History, km.Jump):
		h := newHistory(d.filter.f, d.filter.line) // the same filter, over everything stored
		if key.Matches(msg, km.Jump) {
			h.askJump()
		}
		m.push(h)
		return h.reload(m)
	case key.Matches(msg, km.Open):
		return d.open(m)
	case key.Matches(msg, km.Copy):
		if d.focus == paneJoins {
			rows := d.joinList(m)
			if i := d.joinIndex(rows); i >= 0 {
				return copyStored(m, rows[i].seq)
			}
		}
		m.say("y copies an event's JSON: select one in Joins & leaves or in history (h)")
	case key.Matches(msg, km.Export):
		m.say("e exports what history shows: open history (h), filter it (/), then e")
	}
	return nil
}

func (d *dashboard) open(m *Model) tea.Cmd {
	if d.focus == paneMeetings || d.focus == paneRecordings {
		d.moveIn(m, d.focus, 0) // the highlighted row, before any move chose one
	}
	switch d.focus {
	case paneMeetings:
		if d.meetKey != "" {
			return openMeeting(m, d.meetKey)
		}
	case paneJoins:
		rows := d.joinList(m)
		if i := d.joinIndex(rows); i >= 0 {
			e := newEventPage(rows[i].seq)
			m.push(e)
			return e.load(m)
		}
	case paneRecordings:
		if d.recKey != "" {
			m.push(&recordingPage{key: d.recKey})
		}
	case paneConn:
		c := &connLogPage{}
		m.push(c)
		return c.load(m)
	}
	return nil
}

// rows is how many list rows the pane shows at the current size.
func (d *dashboard) rows(m *Model, id paneID) int {
	rects, _ := dashLayout(m.width, m.bodyHeight(), d.focus)
	return listRows(id, rects[id])
}

// moveIn moves a pane's selection by delta rows (0 revalidates it) and scrolls to keep it
// visible. Selections are held by key (meeting, recording, event seq), so rows arriving or
// being trimmed never move what the user chose.
func (d *dashboard) moveIn(m *Model, id paneID, delta int) {
	h := d.rows(m, id)
	s := scroller{offset: d.offsets[id]}
	switch id {
	case paneMeetings:
		list := d.meetingList(m)
		s.cursor = indexOf(len(list), func(i int) bool { return list[i].Key == d.meetKey })
		s.move(delta, len(list), h)
		if len(list) > 0 {
			d.meetKey = list[s.cursor].Key
		}
	case paneRecordings:
		list := d.recList(m)
		s.cursor = indexOf(len(list), func(i int) bool { return list[i].Key == d.recKey })
		s.move(delta, len(list), h)
		if len(list) > 0 {
			d.recKey = list[s.cursor].Key
		}
	case paneJoins:
		rows := d.joinList(m)
		s.cursor = d.joinIndex(rows)
		s.move(delta, len(rows), h)
		d.follow = len(rows) == 0 || s.cursor == len(rows)-1
		if d.follow {
			d.joinSel, d.unseen = 0, 0
		} else {
			d.joinSel = rows[s.cursor].seq
		}
	case paneConn:
		return
	}
	d.offsets[id] = s.offset
}

// recViewport is the recordings pane's list, and where it stands at h rows: the first row
// shown and the selection.
func (d *dashboard) recViewport(m *Model, h int) ([]*live.Recording, scroller) {
	list := d.recList(m)
	s := scroller{offset: d.offsets[paneRecordings], cursor: indexOf(len(list), func(i int) bool { return list[i].Key == d.recKey })}
	s.clamp(len(list), h)
	s.offset = min(s.offset, len(list)) // clamp leaves it as it is at h 0, and the list may have shrunk
	return list, s
}

// recordingsShown notes the newest recording the pane shows, after every update while the
// dashboard is on screen. Recordings sort newest change first, so what arrives while the
// pane is scrolled down lands above its rows: newer than any shown, it is counted as new.
func (d *dashboard) recordingsShown(m *Model) {
	h := d.rows(m, paneRecordings) // 0 when another pane has the screen to itself
	list, s := d.recViewport(m, h)
	for _, r := range list[s.offset:min(len(list), s.offset+h)] {
		d.recSeen = max(d.recSeen, r.LastTS)
	}
}

func indexOf(n int, match func(int) bool) int {
	for i := range n {
		if match(i) {
			return i
		}
	}
	return 0
}

// joinsAdded keeps the joins pane on the newest rows while following, and counts what the
// user has not seen while paused.
func (d *dashboard) joinsAdded(m *Model, added int) {
	if added == 0 {
		return
	}
	if d.follow {
		d.moveIn(m, paneJoins, 0)
		return
	}
	d.unseen += added
	if len(m.data.joins) > 0 && d.joinSel < m.data.joins[0].seq {
		// The selected row was trimmed away: hold on to the oldest kept.
		d.joinSel = m.data.joins[0].seq
	}
}

func (d *dashboard) joinsReloaded(m *Model) {
	for id := range paneCount {
		d.moveIn(m, id, 0)
	}
}

// meetingList is the active meetings, filtered and sorted.
func (d *dashboard) meetingList(m *Model) []*live.Meeting {
	if m.data.snap == nil {
		return nil
	}
	src := m.data.snap.Meetings
	if d.filter.empty() && d.sortBy == sortRunning {
		return src
	}
	list := make([]*live.Meeting, 0, len(src))
	for _, mt := range src {
		if d.filter.meeting(mt) {
			list = append(list, mt)
		}
	}
	switch d.sortBy {
	case sortPeople:
		sort.SliceStable(list, func(i, j int) bool { return len(list[i].Participants) > len(list[j].Participants) })
	case sortTopic:
		sort.SliceStable(list, func(i, j int) bool { return strings.ToLower(list[i].Topic) < strings.ToLower(list[j].Topic) })
	}
	return list
}

// recList is the recordings, filtered.
func (d *dashboard) recList(m *Model) []*live.Recording {
	if m.data.snap == nil {
		return nil
	}
	if d.filter.empty() {
		return m.data.snap.Recordings
	}
	var list []*live.Recording
	for _, r := range m.data.snap.Recordings {
		if d.filter.recording(r) {
			list = append(list, r)
		}
	}
	return list
}

// joinList is the joins & leaves log, filtered; oldest first.
func (d *dashboard) joinList(m *Model) []joinRow {
	if d.filter.empty() {
		return m.data.joins
	}
	var rows []joinRow
	for i := range m.data.joins {
		if r := &m.data.joins[i]; d.filter.join(r) {
			rows = append(rows, *r)
		}
	}
	return rows
}

// joinIndex is the selected row: the newest while following, else the row with the
// selected seq (or the nearest newer one).
func (d *dashboard) joinIndex(rows []joinRow) int {
	if len(rows) == 0 {
		return -1
	}
	if d.follow || d.joinSel == 0 {
		return len(rows) - 1
	}
	i := sort.Search(len(rows), func(i int) bool { return rows[i].seq >= d.joinSel })
	return min(i, len(rows)-1)
}
