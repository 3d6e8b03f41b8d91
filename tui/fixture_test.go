package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"zoomwatch/feed"
	"zoomwatch/feed/sim"
	"zoomwatch/store"
)

// fixedNow is the clock of every deterministic test.
var fixedNow = time.Date(2026, 11, 22, 14, 3, 22, 0, time.UTC)

func at(d time.Duration) time.Time { return fixedNow.Add(-d) }

// people and meetings are for tests that add their own joins to the scenario: names that
// are long, CJK, emoji, accented.
var people = []string{
	"Ada Lovelace", "Grace Hopper", "李小龍", "Zoë Ångström-Lefèvre", "👩‍💻 Priya Raman",
	"José María Fernández de Córdoba y Salazar", "山田 太郎", "Ólafur Arnalds 🎹", "Nguyễn Thị Minh Khai",
	"Linus Torvalds", "Małgorzata Wiśniewska", "김민준", "Σωκράτης Παπαδόπουλος", "Chloé Dubois",
	"Dr. Bartholomew Montgomery-Fitzwilliam III (Guest, via phone)", "Ken Thompson",
}

type meetingSpec struct {
	id, topic string
	start     time.Duration // ago
}

var meetings = []meetingSpec{
	{"86431910364", "Incident review — payments outage", 41 * time.Minute},
	{"81234567890", "Daily standup", 9 * time.Minute},
	{"89876543210", "Board sync 取締役会", 80 * time.Minute},
	{"85550001111", "Customer call: Müller GmbH ✈️ quarterly business review and renewal planning", 125 * time.Minute},
	{"84440002222", "1:1 Grace / Linus", 25 * time.Minute},
	{"83330003333", "Design critique 🎨", 3 * time.Minute},
}

// joinItem is meeting.participant_joined as Zoom sends it (PROTOCOL.md shapes), received
// 100 ms after it happened.
func joinItem(m meetingSpec, who int, when time.Time) feed.Item {
	ev := map[string]any{"event": "meeting.participant_joined", "event_ts": when.UnixMilli(), "payload": map[string]any{
		"account_id": "AAAAAABBBB",
		"object": map[string]any{
			"id": m.id, "uuid": "u" + m.id + "==", "host_id": "host-" + m.id, "topic": m.topic, "type": 2,
			"start_time": at(m.start).UTC().Format(time.RFC3339), "timezone": "Europe/Berlin", "duration": 60,
			"participant": map[string]any{
				"user_id": fmt.Sprintf("1677%04d", who), "user_name": people[who], "id": fmt.Sprintf("pid-%d", who),
				"participant_uuid": fmt.Sprintf("p-%s-%d", m.id, who), "email": fmt.Sprintf("person%d@example.com", who),
				"join_time": when.UTC().Format(time.RFC3339),
			},
		},
	}}
	return decodedItem(ev, when)
}

// recordingItem is recording.completed of meeting 9000000000+n, at when.
func recordingItem(n int, when time.Time) feed.Item {
	id := fmt.Sprintf("9%09d", n)
	ev := map[string]any{"event": "recording.completed", "event_ts": when.UnixMilli(), "payload": map[string]any{
		"account_id": "AAAAAABBBB",
		"object": map[string]any{
			"id": id, "uuid": "r" + id + "==", "host_id": "host-" + id, "topic": fmt.Sprintf("Recorded %d", n), "type": 2,
			"start_time": when.Add(-time.Hour).UTC().Format(time.RFC3339), "duration": 60, "total_size": 1 << 20,
			"recording_files": []any{map[string]any{"id": "f" + id, "file_type": "MP4", "file_size": 1 << 20, "status": "completed",
				"recording_start": when.Add(-time.Hour).UTC().Format(time.RFC3339), "recording_end": when.Add(-time.Minute).UTC().Format(time.RFC3339)}},
		},
	}}
	return decodedItem(ev, when)
}

// decodedItem is the event ev as the feed hands it over, received 100 ms after when.
func decodedItem(ev map[string]any, when time.Time) feed.Item {
	raw, _ := json.Marshal(ev)
	e, err := feed.DecodeEvent(raw)
	if err != nil {
		panic(err)
	}
	return feed.Item{Event: e, Received: when.Add(100 * time.Millisecond)}
}

// scenario is 45 minutes of an account from the simulator (seeded, so the same every run),
// as zoomwatch would have stored it: received 150 ms after event_ts, a 1m45s gap in
// reception 20 minutes ago whose events never arrived, and a bad frame.
func scenario() []feed.Item {
	var items []feed.Item
	trans := func(st feed.State, when time.Time, reason string) {
		items = append(items, feed.Item{Received: when, Transition: &feed.Transition{State: st, At: when, Reason: reason}})
	}
	start := at(45 * time.Minute)
	trans(feed.StateConnecting, start.Add(-time.Second), "")
	trans(feed.StateLive, start, "")
	gapFrom, gapTo := at(20*time.Minute), at(20*time.Minute-105*time.Second)
	g := sim.NewGenerator(7, start, 1)
	for {
		raw, when := g.Next()
		if when.After(fixedNow) {
			break
		}
		if !when.Before(gapFrom) && when.Before(gapTo) {
			continue // sent while the link was down: Zoom does not redeliver
		}
		e, err := feed.DecodeEvent(raw)
		if err != nil {
			panic(err)
		}
		items = append(items, feed.Item{Event: e, Received: when.Add(150 * time.Millisecond)})
	}
	trans(feed.StateBackoff, gapFrom, "read: unexpected EOF")
	trans(feed.StateConnecting, gapFrom.Add(time.Second), "")
	trans(feed.StateLive, gapTo, "")
	items = append(items, feed.Item{Received: at(10 * time.Minute),
		Anomaly: feed.NewAnomaly(feed.AnomalyBadFrame, errors.New("frame: not valid JSON"), []byte(`{"module":"message","content":`))})
	sort.SliceStable(items, func(i, j int) bool { return items[i].Received.Before(items[j].Received) })
	return items
}

// fixtureStats is the connection as the feed would report it: live for an hour since the
// gap, healthy.
func fixtureStats() feed.Stats {
	return feed.Stats{
		Current: feed.Transition{State: feed.StateLive, At: at(62*time.Minute - 105*time.Second)},
		Frames:  2345, Events: 310, BadFrames: 1, HeartbeatsSent: 360, HeartbeatsAcked: 360, Reconnects: 1,
		LastFrame: at(time.Second), LastEvent: at(5 * time.Second), LastHeartbeatAck: at(4 * time.Second),
		LiveSince: at(20*time.Minute - 105*time.Second), TokenExpiry: fixedNow.Add(52 * time.Minute),
		LagLast: 180 * time.Millisecond, LagMedian: 150 * time.Millisecond, LagMax: 2100 * time.Millisecond,
		LagSamples: 310, Heartbeat: 30 * time.Second,
	}
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "events.db"), Now: func() time.Time { return fixedNow }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func submit(t testing.TB, st *store.Store, items ...feed.Item) {
	t.Helper()
	ctx := context.Background()
	for _, it := range items {
		if err := st.Submit(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// fixture is a store with the scenario and a model watching it, sized and loaded.
type fixture struct {
	tb  testing.TB
	st  *store.Store
	sub *store.Subscription
	m   *Model
}

func newFixture(t testing.TB, mode Mode, w, h int) *fixture {
	t.Helper()
	return newFixtureOf(t, mode, w, h, scenario())
}

// newFixtureOf is a fixture whose store holds items.
func newFixtureOf(t testing.TB, mode Mode, w, h int, items []feed.Item) *fixture {
	t.Helper()
	st := openStore(t)
	submit(t, st, items...)
	f := &fixture{st: st, tb: t}
	d := Deps{Store: st, Account: "AbC Corp", Mode: mode, Now: func() time.Time { return fixedNow }, AllowExport: true, ExportDir: t.TempDir()}
	if mode != ModeHistory {
		f.sub = st.Subscribe(64)
		t.Cleanup(f.sub.Close)
		d.Sub = f.sub
		d.Status = fixtureStats
	}
	mdl, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	f.m = mdl.(*Model)
	f.m.resizeSettle = 0 // TestResizeRepaintsOnceSettled covers it
	// Tests deliver the subscription's notices themselves (feed), so that no command ever
	// waits on it.
	f.m.d.Sub = nil
	f.send(tea.WindowSizeMsg{Width: w, Height: h})
	f.send(readHealth(&f.m.d, fixedNow))
	if mode == ModeHistory {
		f.run(f.m.pages[0].(*historyPage).reload(f.m))
	} else {
		f.send(loadInitial(st, fixedNow))
	}
	return f
}

// send delivers a message and runs the commands it returns (see run).
// waitFeed is the model's feed command over the fixture's subscription, on the fixed clock.
func (f *fixture) waitFeed(notBefore time.Time) tea.Cmd {
	return waitFeed(f.st, f.sub, func() time.Time { return fixedNow }, notBefore)
}

func (f *fixture) send(msg tea.Msg) {
	_, cmd := f.m.Update(msg)
	f.run(cmd)
}

// run executes a command and feeds its messages back, like the program would. Tests never
// start the clock or the feed watcher (they send those messages themselves), so every
// command returns.
func (f *fixture) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	select {
	case msg := <-done:
		switch msg := msg.(type) {
		case tea.BatchMsg:
			for _, c := range msg {
				f.run(c)
			}
		case nil:
		default:
			if isProgramMsg(msg) {
				return
			}
			f.send(msg)
		}
	case <-time.After(20 * time.Second):
		f.tb.Fatal("a command blocked")
	}
}

// isProgramMsg reports Bubble Tea's own requests (quit, clipboard, colour queries), which
// only the program acts on.
func isProgramMsg(msg tea.Msg) bool {
	switch msg.(type) {
	case tea.QuitMsg:
		return true
	}
	t := fmt.Sprintf("%T", msg)
	return len(t) > 4 && t[:4] == "tea."
}

func (f *fixture) key(keys ...string) {
	for _, k := range keys {
		f.send(keyMsg(k))
	}
}

func (f *fixture) screen() string { return f.m.View().Content }

// keyMsg builds the key press Bubble Tea delivers for a key name.
func keyMsg(s string) tea.KeyPressMsg {
	named := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "tab": tea.KeyTab, "up": tea.KeyUp, "down": tea.KeyDown,
		"pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "home": tea.KeyHome, "end": tea.KeyEnd,
		"backspace": tea.KeyBackspace, "left": tea.KeyLeft, "right": tea.KeyRight,
	}
	switch s {
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	if c, ok := named[s]; ok {
		return tea.KeyPressMsg{Code: c}
	}
	return tea.KeyPressMsg{Code: []rune(s)[0], Text: s}
}

// typeText types text into whatever has the focus, one key at a time.
func (f *fixture) typeText(s string) {
	for _, r := range s {
		if r == ' ' {
			f.send(keyMsg("space"))
			continue
		}
		f.send(keyMsg(string(r)))
	}
}
