package store

import (
	"bytes"
	"testing"
)

func TestTextMatchesValuesNotKeysOrSyntax(t *testing.T) {
	raw := []byte(`{"event":"meeting.started","event_ts":1700000000000,"payload":{"object":{"id":81234567890,"topic":"Caf\u00e9 Zo\u00eb <b> say \"hi\"","host":"ADA Lovelace","ok":true}}}`)
	for q, want := range map[string]bool{
		"café":           true, // sent escaped
		"CAFÉ ZOË":       true,
		`say "hi"`:       true,
		"ada lovelace":   true,
		"81234567890":    true, // a number
		"meeting.start":  true,
		"event_ts":       false, // a key
		`":"`:            false, // syntax
		"topic":          false,
		"lovelace\",":    false,
		"1700000000000":  true,
		"true":           true,
		"nobody at all!": false,
	} {
		if got := valuesContain(raw, bytes.ToLower([]byte(q))); got != want {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
}
