package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"zoomwatch/feed"
	"zoomwatch/internal/jsonw"
)

var testStart = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func TestGeneratorDeterministic(t *testing.T) {
	a := NewGenerator(42, testStart, 50)
	b := NewGenerator(42, testStart, 50)
	c := NewGenerator(43, testStart, 50)
	differs := false
	for i := range 5000 {
		ra, ta := a.Next()
		rb, tb := b.Next()
		rc, _ := c.Next()
		if !bytes.Equal(ra, rb) || !ta.Equal(tb) {
			t.Fatalf("event %d differs for the same seed:\n%s\n%s", i, ra, rb)
		}
		differs = differs || !bytes.Equal(ra, rc)
	}
	if !differs {
		t.Error("seeds 42 and 43 produced the same activity")
	}
}

// idKinds says whether payload.object.id is a JSON string or number, per PROTOCOL.md §4.2.
var idKinds = map[string]byte{
	"meeting.started": '"', "meeting.ended": '"', "meeting.participant_joined": '"', "meeting.participant_left": '"',
	"meeting.created": '1', "meeting.updated": '1', "meeting.deleted": '1',
	"recording.started": '1', "recording.stopped": '1', "recording.completed": '1', "recording.transcript_completed": '1',
	"user.created": '"',
}

// checkEvent verifies one generated event against the shapes zoomwatch relies on.
func checkEvent(t *testing.T, raw []byte) *feed.Event {
	t.Helper()
	if !json.Valid(raw) || bytes.ContainsAny(raw, "\n\r\t") {
		t.Fatalf("not compact valid JSON: %s", raw)
	}
	ev, err := feed.DecodeEvent(raw)
	if err != nil {
		t.Fatalf("feed.DecodeEvent: %v\n%s", err, raw)
	}
	var shape struct {
		DownloadToken *string `json:"download_token"`
		Payload       struct {
			Object struct {
				ID json.RawMessage `json:"id"`
			} `json:"object"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatal(err)
	}
	want, ok := idKinds[ev.Type]
	if !ok {
		t.Fatalf("unexpected event type %q", ev.Type)
	}
	id := shape.Payload.Object.ID
	if len(id) == 0 || (want == '"') != (id[0] == '"') {
		t.Fatalf("%s: object.id %s has the wrong JSON type\n%s", ev.Type, id, raw)
	}
	recordingReady := ev.Type == "recording.completed" || ev.Type == "recording.transcript_completed"
	if recordingReady != (shape.DownloadToken != nil) {
		t.Fatalf("%s: download_token presence wrong\n%s", ev.Type, raw)
	}
	if ev.Payload.AccountID != defaultAccountID {
		t.Fatalf("account_id %q", ev.Payload.AccountID)
	}
	if p := ev.Payload.Object.Participant; p != nil {
		tm := p.JoinTime
		if ev.Type == "meeting.participant_left" {
			tm = p.LeaveTime
			if !strings.Contains(p.LeaveReason, " left the meeting.<br>Reason: ") {
				t.Fatalf("leave_reason %q", p.LeaveReason)
			}
		}
		if _, err := time.Parse("2006-01-02T15:04:05Z", tm); err != nil {
			t.Fatalf("participant time %q: %v", tm, err)
		}
		if p.UserID == "" || p.UserName == "" || p.ParticipantUUID == "" {
			t.Fatalf("participant lacks ids: %s", raw)
		}
	}
	if recordingReady {
		if len(ev.Payload.Object.RecordingFiles) == 0 {
			t.Fatalf("no recording_files: %s", raw)
		}
		for _, f := range ev.Payload.Object.RecordingFiles {
			if f.ID == "" || f.FileType == "" || f.FileExtension == "" || f.Status != "completed" || f.RecordingType == "" {
				t.Fatalf("incomplete recording file %+v", f)
			}
		}
	}
	return ev
}

// TestGeneratorActivity runs an hour of a 5 events/s account and checks that what happens
// is consistent (people leave before a meeting ends, recordings follow meetings) and
// realistic (a handful of meetings, non-ASCII names, rejoins, every event type).
func TestGeneratorActivity(t *testing.T) {
	g := NewGenerator(7, testStart, 5)
	type meetingState struct {
		present map[string]bool
		ended   time.Time
		host    string
	}
	meetings := map[string]*meetingState{}
	seen := map[string]int{}
	joinedBefore := map[string]bool{}
	var rejoins, hostJoins, nonASCII, samples, activeSum, peopleSum int
	last := time.Time{}
	for i := range 18000 {
		raw, at := g.Next()
		ev := checkEvent(t, raw)
		if at.Before(last) || ev.TS != feed.Millis(at.UnixMilli()) {
			t.Fatalf("event %d: time %v after %v, event_ts %d", i, at, last, ev.TS)
		}
		last = at
		seen[ev.Type]++
		o := &ev.Payload.Object
		m := meetings[o.UUID]
		switch ev.Type {
		case "meeting.started":
			meetings[o.UUID] = &meetingState{present: map[string]bool{}, host: o.HostID}
		case "meeting.participant_joined":
			k := ev.ParticipantKey()
			if m == nil || !m.ended.IsZero() || m.present[k] {
				t.Fatalf("join to an unknown or ended meeting, or twice: %s", raw)
			}
			m.present[k] = true
			if joinedBefore[o.UUID+k] {
				rejoins++
			}
			joinedBefore[o.UUID+k] = true
			if o.Participant.ID == m.host {
				hostJoins++
			}
			if !isASCII(o.Participant.UserName) {
				nonASCII++
			}
		case "meeting.participant_left":
			if m == nil || !m.present[ev.ParticipantKey()] {
				t.Fatalf("leave of someone not present: %s", raw)
			}
			delete(m.present, ev.ParticipantKey())
		case "meeting.ended":
			if len(m.present) != 0 {
				t.Fatalf("meeting ended with %d still present", len(m.present))
			}
			m.ended = at
		case "recording.completed":
			// 1–3 minutes after the end was decided; meeting.ended itself follows the leaves.
			if m == nil || m.ended.IsZero() || at.Sub(m.ended) < 45*time.Second || at.Sub(m.ended) > 3*time.Minute+15*time.Second {
				t.Fatalf("recording.completed %v after its meeting ended", at.Sub(m.ended))
			}
		}
		if i >= 3000 && i%100 == 0 { // after the first 10 virtual minutes
			samples++
			for _, m := range meetings {
				if m.ended.IsZero() {
					activeSum++
					peopleSum += len(m.present)
				}
			}
		}
	}
	for typ := range idKinds {
		if seen[typ] == 0 {
			t.Errorf("no %s in an hour", typ)
		}
	}
	if rejoins == 0 || hostJoins == 0 || nonASCII == 0 {
		t.Errorf("rejoins %d, host joins %d, non-ASCII names %d: want all > 0", rejoins, hostJoins, nonASCII)
	}
	active := float64(activeSum) / float64(samples)
	perMeeting := float64(peopleSum) / float64(activeSum)
	t.Logf("events by type: %v", seen)
	t.Logf("active meetings %.1f on average, %.1f people each", active, perMeeting)
	if active < 3 || active > 9 || perMeeting < 2 || perMeeting > 15 {
		t.Errorf("at 5 events/s: %.1f active meetings with %.1f people each; want ~3–8 with 2–15", active, perMeeting)
	}
}

func isASCII(s string) bool { return utf8.RuneCountInString(s) == len(s) }

// TestGeneratorFastRate checks that a fast account spreads over many meetings instead of
// churning a few, and that every event still decodes.
func TestGeneratorFastRate(t *testing.T) {
	g := NewGenerator(1, testStart, 5000)
	started, joins := 0, 0
	for i := range 30_000 {
		raw, _ := g.Next()
		if i%50 == 0 {
			checkEvent(t, raw)
		}
		switch {
		case bytes.HasPrefix(raw, []byte(`{"event":"meeting.started"`)):
			started++
		case bytes.HasPrefix(raw, []byte(`{"event":"meeting.participant_joined"`)):
			joins++
		}
	}
	// Six seconds of virtual time: no meeting has ended yet, so started is the number live.
	if started < 1000 || joins/started > 15 {
		t.Errorf("at 5000 events/s: %d meetings started, %d joins; want thousands of meetings", started, joins)
	}
}

func TestOversizeEvent(t *testing.T) {
	g := NewGenerator(1, testStart, 5)
	raw := oversizeEvent(g.rng, defaultAccountID, testStart, oversizeBytes)
	if len(raw) < oversizeBytes || len(raw) > oversizeBytes+4096 {
		t.Fatalf("oversize event is %d bytes", len(raw))
	}
	ev := checkEvent(t, raw)
	if ev.Type != "recording.completed" || len(ev.Payload.Object.RecordingFiles) < 500 {
		t.Fatalf("%s with %d files", ev.Type, len(ev.Payload.Object.RecordingFiles))
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain", `"quoted" \ back`, "tab\tnew\nline\x01", "芳 Zoë 🚀", "bad \xff utf8", "<br>&"} {
		var got string
		if err := json.Unmarshal(jsonw.String(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); got != want {
			t.Errorf("round trip %q → %q", s, got)
		}
	}
	raw := []byte(`{"a":"x \"y\" \\ 芳"}`)
	var content string
	if err := json.Unmarshal(jsonw.JSONText(nil, raw), &content); err != nil || content != string(raw) {
		t.Errorf("appendJSONText round trip: %q, %v", content, err)
	}
}

func BenchmarkGenerator(b *testing.B) {
	g := NewGenerator(1, testStart, 50000)
	var bytes int
	b.ReportAllocs()
	for b.Loop() {
		raw, _ := g.Next()
		bytes += len(raw)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/event")
}
