package store

import (
	"bytes"
	"encoding/json"
	"strings"
)

// valuesContain reports whether a value of the JSON object raw (a string, unescaped, or a
// number or literal) contains lowerNeedle, ignoring case. Keys and the JSON around values
// never match: "event_ts" or a quote must not find every event, and "Café" must find a topic
// sent as "Caf\u00e9".
func valuesContain(raw, lowerNeedle []byte) bool {
	lower := bytes.ToLower(raw)
	escaped := bytes.IndexByte(raw, '\\') >= 0
	if !escaped && !bytes.Contains(lower, lowerNeedle) {
		return false // every value is in raw as written
	}
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '"':
			end, esc := stringEnd(raw, i)
			j := end
			for j < len(raw) && isSpace(raw[j]) {
				j++
			}
			if j < len(raw) && raw[j] == ':' { // a key
				i = j + 1
				continue
			}
			v := lower[i+1 : end-1]
			if esc {
				var s string
				if json.Unmarshal(raw[i:end], &s) != nil {
					i = end
					continue
				}
				v = bytes.ToLower([]byte(s))
			}
			if bytes.Contains(v, lowerNeedle) {
				return true
			}
			i = end
		case isSyntax(c):
			i++
		default: // a number, true, false or null
			j := i
			for j < len(raw) && !isSyntax(raw[j]) && raw[j] != '"' {
				j++
			}
			if bytes.Contains(lower[i:j], lowerNeedle) {
				return true
			}
			i = j
		}
	}
	return false
}

// stringEnd returns the index just past the JSON string that starts at raw[i] (a quote), and
// whether it holds escapes.
func stringEnd(raw []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return len(raw), escaped
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isSyntax: white space or JSON punctuation, never part of a value.
func isSyntax(c byte) bool { return isSpace(c) || strings.IndexByte("{}[],:", c) >= 0 }
