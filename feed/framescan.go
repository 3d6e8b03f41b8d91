package feed

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"unicode/utf8"
)

// scanFrame reads a frame as Zoom sends them, {"module":"…","success":…,"content":"…",
// "header":{…}}, without a general decoder: unquoting the content is most of the work of a
// frame, and segmentio/encoding checks its UTF-8 a rune at a time. It reports false for
// anything else (unknown or repeated keys, null, surrogate escapes, invalid UTF-8 or JSON, an
// empty module, no content), which DecodeFrame's general path then decodes as encoding/json
// does; FuzzDecodeFrame holds the two to the same result.
func scanFrame(b []byte) (f Frame, ok bool) {
	s := frameScanner{b: b}
	if !s.skip('{') {
		return Frame{}, false
	}
	var seen uint8
	for {
		key, ok := s.plainString()
		if !ok || !s.skip(':') {
			return Frame{}, false
		}
		s.space()
		var bit uint8
		switch string(key) {
		case "module":
			bit = 1
			m, ok := s.plainString()
			if !ok || len(m) == 0 {
				return Frame{}, false
			}
			f.Module = moduleName(m)
		case "success":
			bit = 2
			switch {
			case s.literal("true"):
				f.Success = true
			case s.literal("false"):
				f.Failed = true
			default:
				return Frame{}, false
			}
		case "content":
			bit = 4
			if f.Content, ok = s.unquote(); !ok {
				return Frame{}, false
			}
			f.ContentIsString = true
		case "header":
			bit = 8
			if f.Header, ok = s.container(); !ok {
				return Frame{}, false
			}
		default:
			return Frame{}, false
		}
		if seen&bit != 0 {
			return Frame{}, false
		}
		seen |= bit
		if s.skip(',') {
			continue
		}
		if !s.skip('}') {
			return Frame{}, false
		}
		break
	}
	s.space()
	return f, s.i == len(b) && seen&(1|4) == 1|4
}

// moduleName returns Zoom's module names without allocating them again for every frame.
func moduleName(m []byte) string {
	switch string(m) {
	case ModuleMessage:
		return ModuleMessage
	case ModuleHeartbeat:
		return ModuleHeartbeat
	case ModuleBuildConnection:
		return ModuleBuildConnection
	}
	return string(m)
}

type frameScanner struct {
	b []byte
	i int
}

func (s *frameScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// skip passes c and the white space around it.
func (s *frameScanner) skip(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		s.space()
		return true
	}
	return false
}

func (s *frameScanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// plainString reads a key or a module's name: a string of printable ASCII without escapes.
func (s *frameScanner) plainString() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			key := s.b[s.i+1 : j]
			s.i = j + 1
			return key, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// plainByte marks the bytes a JSON string holds as they are: not the quote, the backslash
// or a control character.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unquote reads a string into a new slice, as encoding/json would, and reports false where
// this simple reader defers to it (surrogate escapes, invalid UTF-8, bad input).
func (s *frameScanner) unquote() ([]byte, bool) {
	b := s.b
	if s.i >= len(b) || b[s.i] != '"' {
		return nil, false
	}
	// The text never outgrows the input it came from (an escape is longer than what it
	// stands for), so eight bytes can always be written at out[n:].
	out := make([]byte, len(b)-s.i)
	n := 0
	var high uint64 // any byte of a multi-byte character, to check UTF-8 only when there are some
	for j := s.i + 1; j < len(b); j++ {
		// Eight bytes at a time up to the next special one.
		for j+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[j:])
			binary.LittleEndian.PutUint64(out[n:], w)
			m := special(w)
			if m == 0 {
				high |= w
				j, n = j+8, n+8
				continue
			}
			k := bits.TrailingZeros64(m) / 8
			high |= w & (1<<(8*k) - 1)
			j, n = j+k, n+k
			break
		}
		if j >= len(b) {
			break
		}
		c := b[j]
		if plainByte[c] {
			out[n] = c
			n++
			high |= uint64(c)
			continue
		}
		switch {
		case c == '"':
			out = out[:n]
			if high&highBits != 0 && !utf8.Valid(out) {
				return nil, false
			}
			s.i = j + 1
			return out, true
		case c != '\\' || j+1 >= len(b):
			return nil, false // a control character, or the end
		}
		j++
		var e byte
		switch e = b[j]; e {
		case '"', '\\', '/':
		case 'b':
			e = '\b'
		case 'f':
			e = '\f'
		case 'n':
			e = '\n'
		case 'r':
			e = '\r'
		case 't':
			e = '\t'
		case 'u':
			r, ok := hex4(b[j+1:])
			if !ok || utf8.RuneLen(r) < 0 { // a surrogate: encoding/json pairs them
				return nil, false
			}
			n += utf8.EncodeRune(out[n:], r)
			j += 4
			continue
		default:
			return nil, false
		}
		out[n] = e
		n++
	}
	return nil, false
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// special marks, with its high bit, the first byte of w (little-endian) that is a quote, a
// backslash or a control character: the classic SWAR zero-byte test, three times. Bytes after
// the first may be marked wrongly; only the first mark is used.
func special(w uint64) uint64 {
	quote := w ^ ('"' * lowBits)
	backslash := w ^ ('\\' * lowBits)
	return ((quote-lowBits)&^quote | (backslash-lowBits)&^backslash | (w-0x20*lowBits)&^w) & highBits
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// container reads an object or array, copied as it stands, as json.RawMessage keeps it.
func (s *frameScanner) container() ([]byte, bool) {
	b := s.b
	if s.i >= len(b) || (b[s.i] != '{' && b[s.i] != '[') {
		return nil, false
	}
	depth, inString := 0, false
	for j := s.i; j < len(b); j++ {
		c := b[j]
		switch {
		case inString:
			switch c {
			case '\\':
				j++
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				v := b[s.i : j+1]
				if !json.Valid(v) {
					return nil, false
				}
				s.i = j + 1
				return append([]byte(nil), v...), true
			}
		}
	}
	return nil, false
}
