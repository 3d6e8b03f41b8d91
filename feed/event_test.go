package feed

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sample reads a file of testdata/samples (pretty-printed, as Zoom documents them).
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samples", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compact(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stringFrame wraps an event as Zoom does: a message frame whose content is a JSON string.
func stringFrame(event []byte) []byte {
	content, _ := json.Marshal(string(event))
	return []byte(`{"module":"message","success":true,"content":` + string(content) + `,"header":{}}`)
}

func TestDecodeSamples(t *testing.T) {
	type files struct{ ids, types string }
	cases := []struct {
		name        string
		ts          Millis
		meetingKey  string
		id          ID
		participant string // ParticipantKey
		who         string
		files       files
		downloadTok bool
	}{
		{name: "meeting.created", ts: 1617628462392, meetingKey: "4444AAAiAAAAAiAiAiiAii==", id: "1234567890", who: "someone@example.com"},
		{name: "meeting.deleted", ts: 1617628462764, meetingKey: "5yDZGNlQSV6qOjg4NxajHQ==", id: "98884753832", who: "someone@example.com"},
		{name: "meeting.ended", ts: 1626230691572, meetingKey: "4444AAAiAAAAAiAiAiiAii==", id: "1234567890"},
		{name: "meeting.started", ts: 1619016544371, meetingKey: "4444AAAiAAAAAiAiAiiAii==", id: "1234567890"},
		{name: "meeting.updated", ts: 1617628464664, meetingKey: "94890226305", id: "94890226305", who: "someone@example.com"},
		{name: "meeting.participant_joined", ts: 1626230691572, meetingKey: "4444AAAiAAAAAiAiAiiAii==", id: "1234567890",
			participant: "55555AAAiAAAAAiAiAiiAii", who: "Jill Chill"},
		{name: "meeting.participant_left", ts: 1626230691572, meetingKey: "4444AAAiAAAAAiAiAiiAii==", id: "1234567890",
			participant: "55555AAAiAAAAAiAiAiiAii", who: "Jill Chill"},
		{name: "recording.completed", ts: 1626230691572, meetingKey: "4444AAAiAAAAAiAiAiiAii==", id: "1234567890",
			files:       files{"ed6c2f27-2ae7-42f4-b3d0-835b493e4fa8,388ffb46-1541-460d-8447-4624451a1db7,", "M4A,MP4,"},
			downloadTok: true},
		{name: "recording.transcript_completed", ts: 1626230691572, meetingKey: "4444AAAiAAAAAiAiAiiAii==", id: "1234567890",
			files: files{"bd5b3ea6-7dd6-484d-9125-b297e0a2f80a,", "TRANSCRIPT,"}, downloadTok: true},
		{name: "user.created", ts: 1626230691572, id: "abcD3ojfdbjfg", who: "Jill Chill"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := sample(t, tc.name)
			check := func(how string, ev *Event, err error, wantRaw []byte) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				var fileIDs, fileTypes strings.Builder
				for _, f := range ev.Payload.Object.RecordingFiles {
					fileIDs.WriteString(f.ID + ",")
					fileTypes.WriteString(f.FileType + ",")
				}
				got := files{fileIDs.String(), fileTypes.String()}
				switch {
				case ev.Type != tc.name, ev.TS != tc.ts, ev.MeetingKey() != tc.meetingKey, ev.Payload.Object.ID != tc.id,
					ev.ParticipantKey() != tc.participant, tc.who != "" && ev.Who() != tc.who, got != tc.files,
					(ev.DownloadToken != "") != tc.downloadTok:
					t.Errorf("%s: type %s ts %d meeting %q id %q participant %q who %q files %v download token %v",
						how, ev.Type, ev.TS, ev.MeetingKey(), ev.Payload.Object.ID, ev.ParticipantKey(), ev.Who(), got, ev.DownloadToken != "")
				}
				if !bytes.Equal(ev.Raw, wantRaw) {
					t.Errorf("%s: Raw is not the bytes delivered", how)
				}
				if ev.Time().UnixMilli() != int64(tc.ts) {
					t.Errorf("%s: Time %v", how, ev.Time())
				}
			}
			ev, err := DecodeEvent(raw)
			check("as is", ev, err, raw)

			// In a frame, with content as a string (as Zoom sends it) and as an object.
			line := compact(t, raw)
			for how, frame := range map[string][]byte{
				"string content": stringFrame(raw),
				"object content": []byte(`{"module":"message","success":true,"content":` + string(line) + `,"header":{}}`),
			} {
				f, err := DecodeFrame(frame)
				if err != nil || f.Module != ModuleMessage || !f.Success || f.Failed {
					t.Fatalf("%s: frame %+v, %v", how, f, err)
				}
				want := raw
				if how == "object content" {
					want = line
				}
				ev, err := DecodeEvent(f.Content)
				check(how, ev, err, want)
			}
		})
	}
}

func TestDecodeSampleDetails(t *testing.T) {
	ev, err := DecodeEvent(sample(t, "meeting.participant_left"))
	if err != nil {
		t.Fatal(err)
	}
	p := ev.Payload.Object.Participant
	if p.UserName != "Jill Chill" || p.LeaveTime != "2021-07-13T21:44:51Z" || p.Email != "jchill@example.com" ||
		CleanReason(p.LeaveReason) != "Host ended the meeting" || ev.Payload.Object.Topic != "My Meeting" || ev.Payload.Object.Type != "8" {
		t.Errorf("participant %+v, topic %q", p, ev.Payload.Object.Topic)
	}
	ev, err = DecodeEvent(sample(t, "recording.completed"))
	if err != nil {
		t.Fatal(err)
	}
	o := ev.Payload.Object
	if o.TotalSize != "3328371" || len(o.RecordingFiles) != 2 || o.RecordingFiles[1].FileSize != "282825" ||
		o.RecordingFiles[1].RecordingType != "shared_screen_with_speaker_view" || o.RecordingFiles[1].Status != "completed" {
		t.Errorf("recording %+v", o)
	}
	ev, err = DecodeEvent(sample(t, "user.created"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.MeetingKey() != "" || ev.IsMeetingLike() || ev.Payload.Object.Email != "jchill@example.com" {
		t.Errorf("user event %+v", ev.Payload.Object)
	}
}

func TestDecodeFrameModules(t *testing.T) {
	for _, tc := range []struct {
		frame           string
		module          string
		success, failed bool
		content         string
	}{
		{`{"module":"build_connection","success":true,"content":"ok","header":{}}`, ModuleBuildConnection, true, false, "ok"},
		{`{"module":"build_connection","success":false,"content":"token is empty","header":{}}`, ModuleBuildConnection, false, true, "token is empty"},
		{`{"module":"heartbeat","success":true,"content":"live","header":{}}`, ModuleHeartbeat, true, false, "live"},
		{`{"module":"message","content":"{}"}`, ModuleMessage, false, false, "{}"}, // no success key: neither
		{`{"module":"notification","success":true,"content":null}`, "notification", true, false, ""},
		{` {"module":"message","content": {"event":"x"} } `, ModuleMessage, false, false, `{"event":"x"}`},
	} {
		f, err := DecodeFrame([]byte(tc.frame))
		if err != nil || f.Module != tc.module || f.Success != tc.success || f.Failed != tc.failed || string(f.Content) != tc.content {
			t.Errorf("%s: %+v (content %q), %v", tc.frame, f, f.Content, err)
		}
	}
}

// Frames as Zoom sends them take scanFrame's short path, and read exactly as the general
// decoder reads them; what it does not handle it leaves to that decoder, which still reads
// it. (FuzzDecodeFrame compares the two on any input.)
func TestScanFrameReadsZoomsFrames(t *testing.T) {
	frames := []string{
		`{"module":"heartbeat","success":true,"content":"live","header":{}}`,
		"{ \"module\" : \"message\",\n\t\"content\":\"tab\\there \\u00e9 \\\\ \\/\" , \"success\":false }",
		`{"module":"message","content":"é 李 👩‍💻","header":{"a":["}",{"b":"\\\""}]}}`,
	}
	for _, name := range []string{"meeting.participant_joined", "recording.completed", "meeting.started"} {
		frames = append(frames, string(stringFrame(sample(t, name))), string(stringFrame(compact(t, sample(t, name)))))
	}
	for _, fr := range frames {
		fast, ok := scanFrame([]byte(fr))
		slow, err := decodeFrame([]byte(fr))
		if !ok || err != nil || !reflect.DeepEqual(fast, slow) {
			t.Errorf("%.60s: short path %v %+v, general %v %+v", fr, ok, fast, err, slow)
		}
	}
	for _, fr := range []string{
		`{"module":"message","content":"\ud83d\ude00"}`,          // a surrogate pair
		"{\"module\":\"message\",\"content\":\"bad \xff byte\"}", // invalid UTF-8
		`{"module":"message","content":"x","Content":"y"}`,       // encoding/json matches keys in any case
		`{"module":"message","content":"x","content":"y"}`,       // the last wins
		`{"module":"message","content":{"event":"x"}}`,           // an object
		`{"module":"message","content":null}`,
		`{"module":"message","content":"x","header":7}`,
		`{"module":"message","content":"x"} trailing`,
	} {
		if f, ok := scanFrame([]byte(fr)); ok {
			t.Errorf("%s: the short path read %+v", fr, f)
		}
		fast, err1 := DecodeFrame([]byte(fr))
		slow, err2 := decodeFrame([]byte(fr))
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: %+v %v, general %+v %v", fr, fast, err1, slow, err2)
		}
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	for _, tc := range []struct {
		frame   string
		notJSON bool
	}{
		{"<html>502 Bad Gateway</html>", true},
		{"", true},
		{`{"module":"message"`, true},
		{`[1,2]`, false},
		{`"heartbeat"`, false},
		{`null`, false},
		{`{}`, false},
		{`{"module":5}`, false},
		{`{"module":""}`, false},
	} {
		_, err := DecodeFrame([]byte(tc.frame))
		if err == nil || errors.Is(err, ErrNotJSON) != tc.notJSON {
			t.Errorf("%q: %v, want an error (not JSON: %v)", tc.frame, err, tc.notJSON)
		}
	}
}

// A frame or event nested millions of levels deep (4 MB, well inside the read limit) is an
// error, not a stack overflow that ends the process; nesting encoding/json takes still
// decodes.
func TestDeepNestingIsRefused(t *testing.T) {
	nested := func(prefix string, depth int) []byte {
		var b bytes.Buffer
		b.WriteString(prefix)
		b.Write(bytes.Repeat([]byte("["), depth))
		b.Write(bytes.Repeat([]byte("]"), depth))
		b.WriteString(`}`)
		return b.Bytes()
	}
	if _, err := DecodeFrame(nested(`{"module":"message","content":"{}","header":`, 2_000_000)); err == nil {
		t.Error("a frame 2,000,000 levels deep decoded")
	}
	if _, err := DecodeEvent(nested(`{"event":"meeting.started","event_ts":1,"x":`, 2_000_000)); err == nil {
		t.Error("an event 2,000,000 levels deep decoded")
	}
	// Brackets inside strings are not nesting.
	quoted := `{"event":"meeting.started","event_ts":1,"x":"` + strings.Repeat("[", 30_000) + `\"` + `"}`
	if _, err := DecodeEvent([]byte(quoted)); err != nil {
		t.Errorf("brackets in a string: %v", err)
	}
	if _, err := DecodeEvent(nested(`{"event":"meeting.started","event_ts":1,"x":`, 9_000)); err != nil {
		t.Errorf("9,000 levels: %v", err)
	}
}

// An event the store could not file (a name over bbolt's key limit once stopped every commit
// behind it, for good) is refused with a reason, as a bad frame; names of Zoom's sizes pass.
func TestEventsWithUnfileableNamesAreRefused(t *testing.T) {
	long := strings.Repeat("u", 40_000)
	for name, raw := range map[string]string{
		"type":             `{"event":"meeting.` + long + `","event_ts":1}`,
		"meeting uuid":     `{"event":"meeting.started","event_ts":1,"payload":{"object":{"uuid":"` + long + `"}}}`,
		"meeting id":       `{"event":"meeting.started","event_ts":1,"payload":{"object":{"id":"` + long + `"}}}`,
		"host":             `{"event":"meeting.started","event_ts":1,"payload":{"object":{"id":1,"host_id":"` + long + `"}}}`,
		"participant":      `{"event":"meeting.participant_joined","event_ts":1,"payload":{"object":{"id":1,"participant":{"user_name":"` + long + `"}}}}`,
		"participant user": `{"event":"meeting.participant_joined","event_ts":1,"payload":{"object":{"id":1,"participant":{"id":"p","user_id":"` + long + `"}}}}`,
		"NUL in the uuid":  `{"event":"meeting.started","event_ts":1,"payload":{"object":{"uuid":"a\u0000b"}}}`,
		"NUL in the id":    `{"event":"meeting.started","event_ts":1,"payload":{"object":{"uuid":"u==","id":"12\u0000345"}}}`,
	} {
		ev, err := DecodeEvent([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err) // it decodes: a stored one is still read
		}
		if err := ev.CheckNames(); err == nil || !strings.Contains(err.Error(), "not an event zoomwatch can file") {
			t.Errorf("%s: %v, want it refused", name, err)
		}
	}
	name := strings.Repeat("Ada ", MaxNameLen/4)
	ok := `{"event":"meeting.participant_joined","event_ts":1,"payload":{"object":{"id":1,"uuid":"` + strings.Repeat("u", MaxNameLen) +
		`","participant":{"user_name":"` + name + `"}}}}`
	ev, err := DecodeEvent([]byte(ok))
	if err == nil {
		err = ev.CheckNames()
	}
	if err != nil {
		t.Errorf("names of %d bytes: %v", MaxNameLen, err)
	}
}

func TestDecodeEventEdges(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		ok      bool
		notJSON bool
	}{
		{`{"event":"phone.callee_ringing","event_ts":1700000000000,"payload":{"object":{"callee":{"n":1}}}}`, true, false}, // unknown type: kept
		{`{"event":"meeting.started","payload":{"object":{"topic":5,"id":{"a":1},"participant":"x"}}}`, true, false},       // odd field types: kept
		{`{"event":"meeting.started","event_ts":"1626230691572"}`, true, false},
		{``, false, true},
		{`not json`, false, true},
		{`{"event":"x",`, false, true},
		{`[]`, false, false},
		{`{"payload":{}}`, false, false},
		{`{"event":1}`, false, false},
	} {
		ev, err := DecodeEvent([]byte(tc.raw))
		if (err == nil) != tc.ok || (err != nil && errors.Is(err, ErrNotJSON) != tc.notJSON) {
			t.Errorf("%s: %v", tc.raw, err)
		}
		if err == nil && string(ev.Raw) != tc.raw {
			t.Errorf("%s: Raw %s", tc.raw, ev.Raw)
		}
	}
}

func TestMillis(t *testing.T) {
	for in, want := range map[string]Millis{
		`1626230691572`:   1626230691572,
		`"1626230691572"`: 1626230691572,
		`1626230691.572`:  1626230691572, // seconds
		`1626230691572.9`: 1626230691572,
		`-5`:              0,
		`"NaN"`:           0,
		`"Inf"`:           0,
		`1e300`:           0,
		`true`:            0,
		`null`:            0,
	} {
		var m Millis
		if err := json.Unmarshal([]byte(in), &m); err != nil || m != want {
			t.Errorf("%s: %d, %v; want %d", in, m, err, want)
		}
	}
}

func TestIdentity(t *testing.T) {
	identity := func(raw []byte) Identity {
		t.Helper()
		ev, err := DecodeEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Identity()
	}
	// reformat decodes and re-encodes: other whitespace, other key order.
	reformat := func(raw []byte) []byte {
		var v any
		json.Unmarshal(raw, &v)
		b, _ := json.MarshalIndent(v, "", "\t")
		return b
	}
	edit := func(raw []byte, old, new string) []byte {
		t.Helper()
		if !bytes.Contains(raw, []byte(old)) {
			t.Fatalf("%q not in the sample", old)
		}
		return bytes.Replace(raw, []byte(old), []byte(new), 1)
	}
	for _, name := range []string{"meeting.participant_joined", "recording.completed", "user.created", "meeting.updated"} {
		raw := sample(t, name)
		id := identity(raw)
		if identity(bytes.Clone(raw)) != id || identity(compact(t, raw)) != id || identity(reformat(raw)) != id {
			t.Errorf("%s: a redelivery has another identity", name)
		}
		if ev, _ := DecodeEvent(raw); binary.BigEndian.Uint64(id[:8]) != uint64(ev.TS) {
			t.Errorf("%s: identity does not start with event_ts", name)
		}
		if identity(edit(raw, `"event_ts": 16`, `"event_ts": 26`)) == id {
			t.Errorf("%s: same identity at another event_ts", name)
		}
	}
	joined := sample(t, "meeting.participant_joined")
	id := identity(joined)
	for what, other := range map[string][]byte{
		"another participant": edit(edit(joined, `"participant_uuid": "55555`, `"participant_uuid": "66666`), `"user_id": "55555`, `"user_id": "66666`),
		"another meeting":     edit(joined, `"uuid": "4444`, `"uuid": "7777`),
		"another join time":   edit(joined, `"join_time": "2021-07-13T21:44:51Z"`, `"join_time": "2021-07-13T22:00:00Z"`),
		"another type":        edit(joined, `meeting.participant_joined`, `meeting.participant_left`),
	} {
		if identity(other) == id {
			t.Errorf("%s: same identity", what)
		}
	}
	if identity(edit(joined, `"id": "1234567890"`, `"id": 1234567890`)) != id {
		t.Error("a meeting id as a number instead of a string changes the identity")
	}
	rec := sample(t, "recording.completed")
	if identity(edit(rec, "ed6c2f27", "aaaaaaaa")) == identity(rec) {
		t.Error("another recording file: same identity")
	}
	// Unknown shapes: identified by their whole payload.
	a := []byte(`{"event":"phone.call","event_ts":1,"payload":{"call":{"n":1}}}`)
	b := []byte(`{"event":"phone.call","event_ts":1,"payload":{"call":{"n":2}}}`)
	if identity(a) == identity(b) || identity(a) != identity(reformat(a)) {
		t.Error("unknown events: identity does not follow the payload")
	}
	// No usable event_ts: identified by the whole event, however formatted.
	updated := sample(t, "meeting.updated")
	for what, pair := range map[string][2][]byte{
		"two values of event_ts no sender writes": {
			edit(updated, `"event_ts": 1617628464664`, `"event_ts": "soon"`),
			edit(updated, `"event_ts": 1617628464664`, `"event_ts": "later"`)},
		"two updates of one meeting without event_ts": {
			edit(updated, `"event_ts": 1617628464664,`, ``),
			edit(edit(updated, `"event_ts": 1617628464664,`, ``), `"topic": "ZoomNet Unit Testing: UPDATED scheduled meeting"`, `"topic": "Board sync"`)},
	} {
		if identity(pair[0]) == identity(pair[1]) {
			t.Errorf("%s: same identity", what)
		}
		if identity(pair[0]) != identity(reformat(pair[0])) {
			t.Errorf("%s: a redelivery, formatted otherwise, has another identity", what)
		}
	}
}

// BenchmarkDecodeFrame decodes a typical participant_joined message frame: the envelope,
// then the event in its content.
func BenchmarkDecodeFrame(b *testing.B) {
	frame := stringFrame(compact(b, sample(b, "meeting.participant_joined")))
	b.Run("envelope", func(b *testing.B) {
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeFrame(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("envelope+event", func(b *testing.B) {
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			f, err := DecodeFrame(frame)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := DecodeEvent(f.Content); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Sanitize: what reaches a terminal from a payload cannot steer it.
func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"Ada Lovelace":              "Ada Lovelace",
		"李小龍 👩‍💻":                   "李小龍 👩‍💻",
		"evil\x1b[2Jname":           "evil\uFFFD[2Jname",
		"a\tb\nc\rd":                "a b c\uFFFDd",
		"bad\xffbyte":               "bad\uFFFDbyte",
		"c1\u009bcontrol":           "c1\uFFFDcontrol",
		"Bob\u202Egnp.exe":          "Bobgnp.exe",
		"x\u2066isolate\u2069y":     "xisolatey",
		"عربي\u200Fmark":            "عربي\u200Fmark",
		"\u202Aembedded\u202C tail": "embedded tail",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}
