package store

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"zoomwatch/feed"
)

// FuzzImportLine: no line makes import panic, and what export writes for an imported event
// imports again as the same event (export → import round trips).
func FuzzImportLine(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("..", "feed", "testdata", "samples", "*.json"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no samples: %v", err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		var line bytes.Buffer
		if err := json.Compact(&line, b); err != nil {
			f.Fatal(err)
		}
		f.Add(line.Bytes()) // an export line, a webhook body
		content, _ := json.Marshal(line.String())
		f.Add(append(append([]byte(`{"module":"message","success":true,"content":`), content...), `,"header":{}}`...)) // a frame
	}
	for _, s := range []string{
		`{"module":"heartbeat","success":true,"content":"live","header":{}}`,
		`{"module":"message","content":{"event":"meeting.started","event_ts":1}}`,
		`{"event":"x","module":"message","content":"{\"event\":\"y\"}"}`,
		// A frame carrying an event that has module and content fields of its own: its export
		// line used to be read back as a frame, and so as another event.
		`{"module":"message","content":"{\"event\":\"y\",\"module\":\"message\",\"content\":\"{\\\"event\\\":\\\"z\\\"}\"}"}`,
		"\ufeff{\"event\":\"x\"}\r",
		`{"event":""}`, `[]`, `null`, `<html>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := parseImportLine(bytes.Clone(line))
		if err != nil {
			return
		}
		if ev.Type == "" {
			t.Fatal("an event without a type")
		}
		out := feed.OneLine(ev.Raw)
		if bytes.ContainsAny(out, "\r\n") {
			t.Fatalf("export line %q spans lines", out)
		}
		again, err := parseImportLine(bytes.Clone(out))
		if err != nil {
			t.Fatalf("the export line %q of an imported event does not import: %v", out, err)
		}
		if again.Type != ev.Type || again.Identity() != ev.Identity() {
			t.Fatalf("imported %q as %s, its export line %q as %s", line, ev.Type, out, again.Type)
		}
	})
}
