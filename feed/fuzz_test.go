package feed

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"

	fastjson "github.com/segmentio/encoding/json"
)

// sameAsEncodingJSON checks the fast decoder that unmarshal tries first against
// encoding/json: where it succeeds, encoding/json must too, with the same result. (Where it
// fails, unmarshal uses encoding/json itself.)
func sameAsEncodingJSON[T any](t *testing.T, data []byte) {
	t.Helper()
	var fast, std T
	if fastjson.Unmarshal(data, &fast) != nil {
		return
	}
	if err := json.Unmarshal(data, &std); err != nil {
		t.Fatalf("%T: the fast decoder accepted what encoding/json rejects (%v)", fast, err)
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("%T: the fast decoder read\n%+v\nencoding/json\n%+v", fast, fast, std)
	}
}

// samples returns every file of testdata/samples.
func samples(f *testing.F) [][]byte {
	names, err := filepath.Glob(filepath.Join("testdata", "samples", "*.json"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no samples: %v", err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecodeFrame: any bytes as a frame never panic, and what DecodeFrame keeps is its own
// copy; any valid UTF-8 text as a message's string content comes back byte for byte, and as
// an event's Raw too.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range samples(f) {
		f.Add(stringFrame(s))
		f.Add(stringFrame(compact(f, s)))
	}
	for _, s := range []string{
		`{"module":"build_connection","success":false,"content":"Invalid Token","header":{}}`,
		`{"module":"heartbeat","success":true,"content":"live","header":{}}`,
		`{"module":"message","content":{"event":"x","event_ts":1}}`,
		`{"module":"message","success":true,"content":"{\"event\":\"a\\u00e9\\ud83d\\ude00\"}","header":{"sim_sent_ns":1}}`,
		`[1]`, `null`, `"x"`, `{"module":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsEncodingJSON[wireFrame](t, data)
		sameAsEncodingJSON[wireStringFrame](t, data)
		sameAsEncodingJSON[string](t, data)
		// An ID reads a string as encoding/json does, by its short path or not.
		var id ID
		var str string
		if json.Unmarshal(data, &str) == nil && (id.UnmarshalJSON(data) != nil || string(id) != str) {
			t.Fatalf("ID read %q as %q, encoding/json as %q", data, id, str)
		}
		if fast, err := DecodeFrame(data); err == nil {
			if slow, err := decodeFrame(data); err != nil || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("DecodeFrame read %+v; the general decoder %+v, %v", fast, slow, err)
			}
		}
		in := bytes.Clone(data)
		fr, err := DecodeFrame(in)
		if err == nil {
			if fr.Module == "" {
				t.Fatal("a frame without a module")
			}
			if fr.Success && fr.Failed {
				t.Fatal("both success and failed")
			}
			content, header := bytes.Clone(fr.Content), bytes.Clone(fr.Header)
			for i := range in {
				in[i] = 'X' // the caller reuses its read buffer
			}
			if !bytes.Equal(fr.Content, content) || !bytes.Equal(fr.Header, header) {
				t.Fatal("Content or Header aliases the input")
			}
			if fr.Module == ModuleMessage {
				if ev, err := DecodeEvent(fr.Content); err == nil && !bytes.Equal(ev.Raw, content) {
					t.Fatal("Raw differs from the content")
				}
			}
		}

		// The same bytes as the content of a message frame, as Zoom wraps events.
		if !utf8.Valid(data) {
			return // JSON strings cannot carry them unchanged
		}
		quoted, _ := json.Marshal(string(data))
		frame := append(append([]byte(`{"module":"message","success":true,"content":`), quoted...), `,"header":{}}`...)
		fr, err = DecodeFrame(frame)
		if err != nil || !fr.ContentIsString || !bytes.Equal(fr.Content, data) {
			t.Fatalf("wrapped content came back as %q, %v", fr.Content, err)
		}
		if ev, err := DecodeEvent(fr.Content); err == nil && !bytes.Equal(ev.Raw, data) {
			t.Fatal("Raw differs from the content")
		}
	})
}

// FuzzDecodeEvent: any bytes never panic; a decoded event keeps its bytes exactly, and its
// identity does not depend on formatting.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range samples(f) {
		f.Add(s)
		f.Add(compact(f, s))
	}
	for _, s := range []string{
		`{"event":"phone.call","event_ts":"1","payload":{"x":[1,{"y":null}]}}`,
		`{"event":"meeting.started","event_ts":1e3,"payload":{"object":{"id":{"a":1},"participant":null}}}`,
		`{"event":"x","event":"y"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsEncodingJSON[Event](t, data)
		in := bytes.Clone(data)
		ev, err := DecodeEvent(in)
		if err != nil {
			return
		}
		if !bytes.Equal(ev.Raw, data) || ev.Type == "" {
			t.Fatalf("Raw %q, type %q", ev.Raw, ev.Type)
		}
		id := ev.Identity()
		_, _, _, _ = ev.Summary(), ev.MeetingKey(), ev.Line(), ev.Time()
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			t.Fatalf("decoded, yet not valid JSON: %v", err)
		}
		again, err := DecodeEvent(buf.Bytes())
		if err != nil {
			t.Fatalf("compacted, it no longer decodes: %v", err)
		}
		if again.Identity() != id {
			t.Fatal("the identity depends on formatting")
		}
		if !json.Valid(ev.Line()) || bytes.ContainsAny(ev.Line(), "\r\n") {
			t.Fatalf("Line %q is not one line of JSON", ev.Line())
		}
	})
}
