package tui

import (
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"zoomwatch/feed"
	"zoomwatch/store"
	"zoomwatch/store/live"
)

// joinTypes are the events the joins & leaves pane shows.
var joinTypes = []string{
	"meeting.participant_joined", "meeting.participant_left",
	"webinar.participant_joined", "webinar.participant_left",
}

// maxJoinRows bounds the joins & leaves log kept in memory.
const maxJoinRows = 2000

// rateMinutes is how many minutes of events/minute history the sparkline keeps.
const rateMinutes = 180

// joinRow is one line of the joins & leaves log, with its text already made safe.
type joinRow struct {
	seq     uint64
	at      time.Time
	join    bool
	name    string
	email   string
	meeting string
	reason  string
	// For the filter (paneFilter.join): the event's type, its meeting's number and uuid,
	// and the participant's ids (user id, participant id, participant uuid).
	typ, meetingID, meetingUUID string
	ids                         [3]string
}

// toJoinRow takes the record by value: batches are shared by every viewer, and Decode
// (a no-op for published records, which come decoded) must never write to a shared one.
func toJoinRow(r store.Record) (joinRow, bool) {
	ev := r.Decode()
	p := ev.Payload.Object.Participant
	if p == nil || !isJoinType(ev.Type) {
		return joinRow{}, false
	}
	at := ev.Time()
	if at.IsZero() {
		at = r.Received
	}
	o := &ev.Payload.Object
	mt := o.Topic
	if mt == "" {
		mt = string(o.ID)
	}
	row := joinRow{
		seq: r.Seq, at: at, join: strings.HasSuffix(ev.Type, "_joined"),
		name: clean(ev.Who()), email: clean(p.Email), meeting: clean(mt),
		typ: ev.Type, meetingID: string(o.ID), meetingUUID: o.UUID, ids: [3]string{string(p.UserID), p.ID, p.ParticipantUUID},
	}
	if !row.join && p.LeaveReason != "" {
		row.reason = clean(feed.CleanReason(p.LeaveReason))
	}
	return row, true
}

func isJoinType(t string) bool { return slices.Contains(joinTypes, t) }

// feedMsg is everything committed since the previous one, coalesced: one message per
// wake-up of the UI, however fast the feed.
type feedMsg struct {
	joins   []joinRow
	arrived []arrivals // per receive minute, for the rate ring
	log     []store.LogEntry
	snap    *live.Snapshot // set when the live state changed
	// reload is set when notices were dropped (this viewer was slow): the joins pane and
	// rates are rebuilt from the store instead.
	reload *initialMsg
	closed bool
}

// arrivals counts the events received in one minute; lastSeq lets Update skip what the
// initial load already counted.
type arrivals struct {
	minute  time.Time
	n       int
	lastSeq uint64
}

func countArrival(a []arrivals, r *store.Record) []arrivals {
	m := r.Received.Truncate(time.Minute)
	if k := len(a) - 1; k >= 0 && a[k].minute.Equal(m) {
		a[k].n++
		a[k].lastSeq = max(a[k].lastSeq, r.Seq)
		return a
	}
	return append(a, arrivals{m, 1, r.Seq})
}

// feedPace is the shortest time between two feed messages: ten updates a second are plenty
// for people watching a wall screen. Every message costs a snapshot of the live state and a
// redraw (milliseconds on a busy account), and the store commits hundreds of times a second
// under load: unpaced, the monitor at 1,000 ev/s spent half a core redrawing, and each SSH
// viewer at 200 ev/s 7 % of one.
const feedPace = 100 * time.Millisecond

// waitFeed waits for the next committed batch, and if it comes before notBefore, until
// then; then it takes whatever else is queued without blocking and returns one message. It
// is re-armed once per message it returns.
func waitFeed(st *store.Store, sub *store.Subscription, now func() time.Time, notBefore time.Time) tea.Cmd {
	return func() tea.Msg {
		n, ok := <-sub.C
		if !ok {
			return feedMsg{closed: true}
		}
		if d := time.Until(notBefore); d > 0 {
			time.Sleep(d) // batches meanwhile queue in sub.C and join this message
		}
		var msg feedMsg
		missed, changed := 0, false
		for {
			missed += n.Missed
			changed = changed || n.LiveChanged
			msg.log = append(msg.log, n.Log...)
			for i := range n.Records {
				r := &n.Records[i]
				msg.arrived = countArrival(msg.arrived, r)
				if row, ok := toJoinRow(*r); ok {
					msg.joins = append(msg.joins, row)
				}
			}
			select {
			case n, ok = <-sub.C:
				if !ok {
					msg.closed = true
				}
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if missed > 0 {
			init := loadInitial(st, now())
			msg.reload = &init
			changed = true
		}
		if changed {
			msg.snap = st.Live()
		}
		return msg
	}
}

// initialMsg is the state the live screen starts from (and reloads after missed notices).
type initialMsg struct {
	joins   []joinRow // oldest first
	lastSeq uint64
	rates   rateRing
	snap    *live.Snapshot
	err     error
}

// loadInitial reads the newest joins and leaves and seeds the rate ring from the time
// index: one short read per minute, whatever the history's size.
func loadInitial(st *store.Store, now time.Time) initialMsg {
	out := initialMsg{lastSeq: st.LastSeq(), snap: st.Live()}
	p, err := st.Page(store.Query{Filter: store.Filter{Types: joinTypes}, Cursor: out.lastSeq + 1, Limit: maxJoinRows})
	if err != nil {
		out.err = err
	}
	for i := len(p.Records) - 1; i >= 0; i-- {
		if row, ok := toJoinRow(p.Records[i]); ok {
			out.joins = append(out.joins, row)
		}
	}
	out.rates = seedRates(st, now, out.lastSeq)
	return out
}

// rateRing counts events per minute (by minute since the epoch) for the sparkline.
type rateRing struct {
	counts [rateMinutes]int
	minute [rateMinutes]int64
}

func (r *rateRing) add(t time.Time, n int) {
	m := t.Unix() / 60
	i := m % rateMinutes
	if r.minute[i] != m {
		r.minute[i], r.counts[i] = m, 0
	}
	r.counts[i] += n
}

// last returns the counts of the n minutes up to and including now's, oldest first.
func (r *rateRing) last(now time.Time, n int) []int {
	n = min(n, rateMinutes)
	out := make([]int, n)
	m := now.Unix() / 60
	for k := range n {
		mm := m - int64(n-1-k)
		if i := mm % rateMinutes; r.minute[i] == mm {
			out[k] = r.counts[i]
		}
	}
	return out
}

// seedRates estimates past minutes from the time index: the sequence numbers at two
// minute boundaries differ by the events of that minute (arrival order follows event time
// closely enough for a sparkline). One short read per minute, whatever the history's size.
func seedRates(st *store.Store, now time.Time, lastSeq uint64) rateRing {
	var r rateRing
	if lastSeq == 0 {
		return r
	}
	newestTS := int64(-1)
	if rec, ok, _ := st.Get(lastSeq); ok {
		newestTS = int64(rec.TS)
	}
	// SeqAt answers the newest event when none is that recent: that is "after the end".
	at := func(t time.Time) uint64 {
		s := st.SeqAt(t)
		if s == lastSeq && newestTS < t.UnixMilli() {
			return lastSeq + 1
		}
		return s
	}
	end := now.Truncate(time.Minute).Add(time.Minute)
	upper := at(end)
	for k := 1; k <= rateMinutes && upper > 1; k++ {
		from := end.Add(-time.Duration(k) * time.Minute)
		lower := at(from)
		if upper > lower {
			r.add(from, int(upper-lower))
		}
		upper = min(upper, lower)
	}
	return r
}

// tickMsg drives clocks and ages once a second and brings the connection's and the store's
// health, read off the UI goroutine.
type tickMsg struct {
	periodic bool // from the clock (re-armed), not a one-off refresh
	now      time.Time
	stats    *feed.Stats
	health   store.Health
	gaps     []store.Gap
	gapCount int
	recent   []store.LogEntry
}

func readHealth(d *Deps, now time.Time) tickMsg {
	t := tickMsg{now: now, health: d.Store.Health(), gapCount: d.Store.GapCount()}
	if d.Status != nil {
		s := d.Status()
		t.stats = &s
	}
	t.gaps, _ = d.Store.Gaps(8)
	// The connection pane's recent entries are the feed's: SSH logins (notes) are left to
	// history, or a few viewers would push the transitions out. Of the newest 12 of those,
	// gaps are left out too: the pane's gaps line has them.
	recent, _ := d.Store.RecentLog(24)
	n := 0
	for _, e := range recent {
		if e.Kind == store.LogNote || n == 12 {
			continue
		}
		if n++; e.Kind != store.LogGap {
			t.recent = append(t.recent, e)
		}
	}
	return t
}

func tick(d *Deps, now func() time.Time) tea.Cmd {
	return tea.Every(time.Second, func(time.Time) tea.Msg {
		t := readHealth(d, now())
		t.periodic = true
		return t
	})
}
