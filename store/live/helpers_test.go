package live

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zoomwatch/feed"
)

// Events in these tests are built from the real-shaped samples in feed/testdata/samples
// (PROTOCOL.md §4.4): a sample is loaded with its field shapes intact (meeting id a string in
// meeting.* and a number in recording.*, participant fields, recording_files, download_token),
// the fields a test cares about are changed, and the result goes through feed.DecodeEvent.

// t0 is start_time in the samples; test times are seconds after it.
var t0 = time.Date(2021, 7, 13, 21, 44, 51, 0, time.UTC)

func tsAt(sec int) int64        { return timeAt(sec).UnixMilli() }
func timeAt(sec int) time.Time  { return t0.Add(time.Duration(sec) * time.Second) }
func secOf(t time.Time) float64 { return t.Sub(t0).Seconds() }

var sampleCache sync.Map // sample name → []byte

func loadSample(tb testing.TB, name string) map[string]any {
	tb.Helper()
	b, ok := sampleCache.Load(name)
	if !ok {
		raw, err := os.ReadFile(filepath.Join("..", "..", "feed", "testdata", "samples", name+".json"))
		if err != nil {
			tb.Fatal(err)
		}
		b, _ = sampleCache.LoadOrStore(name, raw)
	}
	d := json.NewDecoder(bytes.NewReader(b.([]byte)))
	d.UseNumber() // keep the id's string-or-number shape
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		tb.Fatalf("sample %s: %v", name, err)
	}
	return m
}

func object(root map[string]any) map[string]any {
	return root["payload"].(map[string]any)["object"].(map[string]any)
}

// base returns the sample an event type is built from.
func base(tb testing.TB, typ string) map[string]any {
	tb.Helper()
	switch typ {
	case "meeting.started":
		m := loadSample(tb, typ)
		// ZoomNet's sample has a number; Zoom sends a string here (PROTOCOL.md §4.2).
		object(m)["id"] = "1234567890"
		return m
	case "recording.started", "recording.paused", "recording.resumed", "recording.stopped":
		// No sample: these carry the recording.completed object without its results.
		m := loadSample(tb, "recording.completed")
		m["event"] = typ
		delete(m, "download_token")
		o := object(m)
		for _, k := range []string{"recording_files", "participant_audio_files", "total_size", "recording_count",
			"share_url", "password", "recording_play_passcode", "auto_delete", "auto_delete_date", "on_prem"} {
			delete(o, k)
		}
		o["recording_file"] = map[string]any{"recording_start": "", "recording_end": ""}
		return m
	case "user.updated":
		m := loadSample(tb, "user.created") // no sample; same object, only the changed fields
		m["event"] = typ
		return m
	}
	return loadSample(tb, typ)
}

// mod changes a sample: root is the whole event, o is payload.object.
type mod func(root, o map[string]any)

// build makes an event of type typ stamped sec seconds after t0. Participant join_time /
// leave_time and recording_start follow the event time unless a mod says otherwise.
func build(tb testing.TB, typ string, sec int, mods ...mod) *feed.Event {
	tb.Helper()
	root := base(tb, typ)
	root["event_ts"] = json.Number(strconv.FormatInt(tsAt(sec), 10))
	o := object(root)
	stamp := timeAt(sec).Format(time.RFC3339)
	if p, ok := o["participant"].(map[string]any); ok {
		for _, k := range []string{"join_time", "leave_time"} {
			if _, ok := p[k]; ok {
				p[k] = stamp
			}
		}
	}
	if rf, ok := o["recording_file"].(map[string]any); ok {
		rf["recording_start"] = stamp
	}
	for _, m := range mods {
		m(root, o)
	}
	raw, err := json.Marshal(root)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := feed.DecodeEvent(raw)
	if err != nil {
		tb.Fatalf("%s: %v", raw, err)
	}
	return e
}

// mref is a meeting occurrence: uuid and number, plus the topic and host its events carry
// (empty: the sample's).
type mref struct{ uuid, id, topic, host string }

var (
	// mDocs is the meeting of Zoom's documentation samples.
	mDocs = mref{uuid: "4444AAAiAAAAAiAiAiiAii==", id: "1234567890"}
	// mReal is the meeting of the real [KANCL] capture: an instant meeting hosted by Jan.
	mReal = mref{uuid: "hwkAADUySwyG3GyUkqc0vA==", id: "86431910364", topic: "Jan Šimonek's Zoom Meeting", host: "tUo7WohjTs6ELvl9WR3JAA"}
	// mUpd is the meeting of the real meeting.updated capture (numeric id only there).
	mUpd = mref{uuid: "5yDZGNlQSV6qOjg4NxajHQ==", id: "94890226305", topic: "ZoomNet Unit Testing: scheduled meeting", host: "8lzIwvZTSOqjndWPbPqzuA"}
)

// genMeeting is the i-th generated meeting; its uuid has the base64 '/' and '+' Zoom uses.
func genMeeting(i int) mref {
	return mref{
		uuid:  fmt.Sprintf("q%03dKmT/Wd+ZnA9Ek2rXy==", i),
		id:    strconv.Itoa(81000000000 + i),
		topic: fmt.Sprintf("Weekly sync %d", i),
		host:  fmt.Sprintf("hostUserId%04dAAAA", i%7),
	}
}

// in puts the event in meeting m, keeping the sample's shape of id (string or number) and
// leaving out uuid where the sample has none (meeting.updated).
func in(m mref) mod {
	return func(_, o map[string]any) {
		if _, ok := o["uuid"]; ok {
			o["uuid"] = m.uuid
		}
		if _, num := o["id"].(json.Number); num {
			o["id"] = json.Number(m.id)
		} else {
			o["id"] = m.id
		}
		if m.topic != "" {
			o["topic"] = m.topic
		}
		if m.host != "" && o["host_id"] != nil {
			o["host_id"] = m.host
		}
		if m == mReal { // the capture's instant-meeting shape
			o["type"] = json.Number("1")
			o["duration"] = json.Number("0")
			o["timezone"] = ""
			o["start_time"] = t0.Format(time.RFC3339)
		}
	}
}

// person is a participant as join/leave events describe them.
type person struct {
	uuid   string // participant_uuid; the real capture has none
	userID string // user_id: the per-meeting participant id
	zid    string // id / participant_user_id: the Zoom user id of a signed-in participant
	name   string
	email  string
}

var (
	jill  = person{uuid: "55555AAAiAAAAAiAiAiiAii", userID: "55555AAAiAAAAAiAiAiiAii", zid: "iFxeBPYun6SAiWUzBcEkX", name: "Jill Chill", email: "jchill@example.com"}
	jan   = person{userID: "16778240", zid: "tUo7WohjTs6ELvl9WR3JAA", name: "Jan Šimonek", email: "jan.simonek@gmail.com"}
	guest = person{userID: "16779264", name: "iPhone (guest)"} // not signed in: no id, no email
)

// key is the participant key feed derives for p.
func (p person) key() string {
	if p.uuid != "" {
		return p.uuid
	}
	return p.userID
}

func genPerson(i int) person {
	return person{
		uuid:   fmt.Sprintf("pp%04dAAiAAAAAiAiAiiA", i),
		userID: strconv.Itoa(16778240 + i*1024),
		zid:    fmt.Sprintf("zoomUser%04dXyZ", i),
		name:   fmt.Sprintf("Person %d", i),
		email:  fmt.Sprintf("p%d@example.com", i),
	}
}

func by(p person) mod {
	return func(_, o map[string]any) {
		pp := o["participant"].(map[string]any)
		set := func(k, v string) {
			if v == "" {
				delete(pp, k)
			} else {
				pp[k] = v
			}
		}
		pp["user_id"] = p.userID
		pp["user_name"] = p.name
		pp["email"] = p.email
		set("participant_uuid", p.uuid)
		set("id", p.zid)
		set("participant_user_id", p.zid)
		if _, ok := pp["leave_reason"]; ok {
			pp["leave_reason"] = p.name + " left the meeting.<br>Reason: left the meeting."
		}
	}
}

func reason(r string) mod {
	return func(_, o map[string]any) { o["participant"].(map[string]any)["leave_reason"] = r }
}

// joinTime sets join_time apart from the event time (a redelivery or a lagging event).
func joinTime(sec int) mod {
	return func(_, o map[string]any) {
		o["participant"].(map[string]any)["join_time"] = timeAt(sec).Format(time.RFC3339)
	}
}

func topic(t string) mod { return func(_, o map[string]any) { o["topic"] = t } }

func hostID(id string) mod { return func(_, o map[string]any) { o["host_id"] = id } }

// without deletes payload.object fields.
func without(keys ...string) mod {
	return func(_, o map[string]any) {
		for _, k := range keys {
			delete(o, k)
		}
	}
}

func noToken() mod { return func(root, _ map[string]any) { delete(root, "download_token") } }

// eventTS sets event_ts to a raw value (bypassing the seconds-after-t0 stamp).
func eventTS(v any) mod { return func(root, _ map[string]any) { root["event_ts"] = v } }

func recFile(id, fileType, ext, recType string, size int) map[string]any {
	return map[string]any{
		"id": id, "meeting_id": "098765ABCD",
		"recording_start": "2021-03-23T22:14:57Z", "recording_end": "2021-03-23T23:15:41Z",
		"recording_type": recType, "file_type": fileType, "file_size": json.Number(strconv.Itoa(size)),
		"file_extension": ext, "status": "completed",
		"play_url":     "https://example.com/recording/play/" + id,
		"download_url": "https://example.com/recording/download/" + id,
	}
}

// files replaces recording_files (and drops participant_audio_files).
func files(fs ...map[string]any) mod {
	return func(_, o map[string]any) {
		list := make([]any, len(fs))
		for i, f := range fs {
			list[i] = f
		}
		o["recording_files"] = list
		delete(o, "participant_audio_files")
	}
}

func userObj(id, first, last, display, email string) mod {
	return func(_, o map[string]any) {
		clear(o)
		o["id"] = id
		for k, v := range map[string]string{"first_name": first, "last_name": last, "display_name": display, "email": email} {
			if v != "" {
				o[k] = v
			}
		}
		o["type"] = json.Number("1")
	}
}

// b builds events for one test.
type b struct{ tb testing.TB }

func (b b) start(m mref, sec int, mods ...mod) *feed.Event {
	return build(b.tb, "meeting.started", sec, append([]mod{in(m)}, mods...)...)
}

func (b b) end(m mref, sec int, mods ...mod) *feed.Event {
	return build(b.tb, "meeting.ended", sec, append([]mod{in(m)}, mods...)...)
}

func (b b) join(m mref, p person, sec int, mods ...mod) *feed.Event {
	return build(b.tb, "meeting.participant_joined", sec, append([]mod{in(m), by(p)}, mods...)...)
}

func (b b) leave(m mref, p person, sec int, mods ...mod) *feed.Event {
	return build(b.tb, "meeting.participant_left", sec, append([]mod{in(m), by(p)}, mods...)...)
}

func (b b) rec(typ string, m mref, sec int, mods ...mod) *feed.Event {
	return build(b.tb, typ, sec, append([]mod{in(m)}, mods...)...)
}

func (b b) updated(m mref, sec int, newTopic string) *feed.Event {
	return build(b.tb, "meeting.updated", sec, in(m), topic(newTopic))
}

func (b b) user(typ string, sec int, id, first, last, display, email string) *feed.Event {
	return build(b.tb, typ, sec, userObj(id, first, last, display, email))
}

func applyAll(s *State, evs ...*feed.Event) {
	for _, e := range evs {
		s.Apply(e)
	}
}

// dump is the whole derived state as deterministic JSON (maps marshal sorted), for
// comparing states and showing differences.
func dump(tb testing.TB, s *State) string {
	tb.Helper()
	out, err := json.MarshalIndent(struct {
		Meetings   map[string]*Meeting
		Ended      map[string]int64
		Recordings map[string]*Recording
		Users      map[string]string
		NewestTS   int64
	}{s.Meetings, s.Ended, s.Recordings, s.Users, s.NewestTS}, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(out)
}

// sessions renders a meeting's sessions as "name join-leave reason" in seconds after t0;
// "?" is a join never seen, an empty leave a stay still open.
func sessions(m *Meeting) []string {
	var out []string
	for _, se := range m.Sessions {
		j, l := "?", ""
		if !se.Join.IsZero() {
			j = strconv.FormatFloat(secOf(se.Join), 'f', -1, 64)
		}
		if !se.Leave.IsZero() {
			l = strconv.FormatFloat(secOf(se.Leave), 'f', -1, 64)
		}
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s-%s %s", se.Name, j, l, se.Reason)))
	}
	return out
}

func presentKeys(m *Meeting) []string {
	var ks []string
	for k := range m.Participants {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func keys(ps ...person) []string {
	var ks []string
	for _, p := range ps {
		ks = append(ks, p.key())
	}
	slices.Sort(ks)
	return ks
}

// snapHost is the host name viewers see for a meeting.
func snapHost(t *testing.T, s *State, m mref) string {
	t.Helper()
	got := s.Snapshot().Meeting(m.uuid)
	if got == nil {
		t.Fatalf("meeting %s not in the snapshot", m.uuid)
	}
	return got.HostName
}

func mustMeeting(t *testing.T, s *State, m mref) *Meeting {
	t.Helper()
	got := s.Meetings[m.uuid]
	if got == nil {
		t.Fatalf("meeting %s not active; state:\n%s", m.uuid, dump(t, s))
	}
	return got
}

func noMeeting(t *testing.T, s *State, m mref) {
	t.Helper()
	if got := s.Meetings[m.uuid]; got != nil {
		t.Fatalf("meeting %s active, want gone:\n%s", m.uuid, dump(t, s))
	}
}

func isClean(d Dirty) bool {
	return len(d.Meetings)+len(d.Recordings)+len(d.Users)+len(d.Ended)+len(d.Gone)+len(d.People) == 0
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func eqSlice[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func dumpSnap(tb testing.TB, s *Snapshot) string {
	tb.Helper()
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(out)
}
