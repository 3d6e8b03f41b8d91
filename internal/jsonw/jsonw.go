// Package jsonw writes JSON by appending bytes, for the hot paths where encoding/json's
// reflection costs too much: the simulator's event generator (50,000 events/s) and the
// store's live-state records. Fields are written as `"key":value`, with a comma unless they
// open an object or array.
package jsonw

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Key writes `"k":`, after a comma unless it opens an object or array. k is written as is:
// keys are the caller's constants.
func Key(b []byte, k string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

// StrField, IntField and BoolField write one member.
func StrField(b []byte, k, v string) []byte { return String(Key(b, k), v) }

func IntField(b []byte, k string, v int64) []byte { return strconv.AppendInt(Key(b, k), v, 10) }

func BoolField(b []byte, k string, v bool) []byte { return strconv.AppendBool(Key(b, k), v) }

// TimeField writes an ISO-8601 UTC time the way Zoom does: seconds, "Z".
func TimeField(b []byte, k string, t time.Time) []byte {
	b = append(Key(b, k), '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	return append(b, '"')
}

// TimeNanoField writes a time exactly (RFC 3339 with nanoseconds, as encoding/json does),
// so that it reads back equal.
func TimeNanoField(b []byte, k string, t time.Time) []byte {
	b = append(Key(b, k), '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// String writes s as a JSON string. Non-ASCII text stays as UTF-8, as Zoom sends it;
// quotes, backslashes, control characters and invalid UTF-8 are escaped.
func String(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c >= utf8.RuneSelf {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// JSONText writes JSON text (an event) as a JSON string: the "content" of a message
// frame. Valid JSON is valid UTF-8 with no control characters inside its strings, so only
// quotes, backslashes and stray whitespace need escaping.
func JSONText(b, text []byte) []byte {
	b = append(b, '"')
	start := 0
	for i, c := range text {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, text[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', '0'+c>>4, "0123456789abcdef"[c&0xf])
		}
		start = i + 1
	}
	b = append(b, text[start:]...)
	return append(b, '"')
}
