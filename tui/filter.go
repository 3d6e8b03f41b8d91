package tui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"zoomwatch/store"
)

// parseFilter reads the history filter line:
//
//	type:meeting.* meeting:86431910364 who:ada text:"board sync" since:2h until:14:00 words…
//
// type takes globs, comma-separated; bare words are free text. Times are read in now's zone.
func parseFilter(line string, now time.Time) (store.Filter, error) {
	var f store.Filter
	toks, err := splitQuoted(line)
	if err != nil {
		return f, err
	}
	var text []string
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		k, v, ok := strings.Cut(t.text, ":")
		if !ok || t.quotedKey {
			text = append(text, t.text)
			continue
		}
		key := strings.ToLower(k)
		switch key {
		case "type", "types":
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					f.Types = append(f.Types, p)
				}
			}
		case "meeting", "m":
			f.Meeting = v
		case "who", "participant", "p":
			f.Participant = v
		case "text":
			text = append(text, v)
		case "since", "from", "until", "to":
			// "since:2026-11-22 14:03" arrives as two tokens: rejoin a date and a time.
			if len(v) == 10 && i+1 < len(toks) && isClock(toks[i+1].text) {
				v += " " + toks[i+1].text
				i++
			}
			at, err := ParseWhen(v, now)
			if err != nil {
				return f, fmt.Errorf("%s: %w", key, err)
			}
			if key == "since" || key == "from" {
				f.Since = at
			} else {
				f.Until = at
			}
		default:
			if unicode.IsDigit(rune(k[0])) {
				// A time like 14:03 typed as free text.
				text = append(text, t.text)
				continue
			}
			return f, fmt.Errorf("unknown filter %q (type, meeting, who, text, since, until)", k+":")
		}
	}
	f.Text = strings.Join(text, " ")
	return f, nil
}

type token struct {
	text      string
	quotedKey bool // the whole token was quoted: never a key:value
}

// splitQuoted splits on spaces, keeping "quoted parts" (also after key:) together.
func splitQuoted(s string) ([]token, error) {
	var out []token
	var cur strings.Builder
	inQuote, started, wholeQuoted := false, false, false
	for _, r := range s {
		switch {
		case r == '"':
			if !started {
				wholeQuoted = true
			}
			inQuote, started = !inQuote, true
		case unicode.IsSpace(r) && !inQuote:
			if started {
				out = append(out, token{cur.String(), wholeQuoted})
				cur.Reset()
				started, wholeQuoted = false, false
			}
		default:
			cur.WriteRune(r)
			started = true
		}
	}
	if inQuote {
		return nil, errors.New("unclosed quote")
	}
	if started {
		out = append(out, token{cur.String(), wholeQuoted})
	}
	return out, nil
}

// ParseWhen reads a point in time, for history's filters and jumps and for export's
// --since and --until: a duration ago (90s, 15m, 2h, 1h30m, 1.5h, 3d, 1w), a time of day
// (14:03, 14:03:20: the latest such moment not in the future), a date (2026-11-22, local
// midnight) or a date and time (2026-11-22 14:03, 2026-11-22T14:03:20, RFC 3339).
func ParseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if d, ok := strings.CutSuffix(s, " ago"); ok { // "2h ago", as the jump prompt says
		s = strings.TrimSpace(d)
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for unit, d := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} { // 1.5d
		if n, ok := strings.CutSuffix(s, unit); ok {
			if f, err := strconv.ParseFloat(n, 64); err == nil && f >= 0 && f < 1e5 {
				return now.Add(-time.Duration(f * float64(d))), nil
			}
		}
	}
	loc := now.Location()
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			y, mo, d := now.Date()
			at := time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, loc)
			if at.After(now) {
				at = at.AddDate(0, 0, -1)
			}
			return at, nil
		}
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (try 14:03, 2026-11-22 14:03, or 2h, 7d ago)", s)
}

// isClock reports whether s looks like a time of day (14:03 or 14:03:20).
func isClock(s string) bool {
	_, err1 := time.Parse("15:04", s)
	_, err2 := time.Parse("15:04:05", s)
	return err1 == nil || err2 == nil
}

// parseAgo reads 90s, 15m, 2h, 1h30m, 3d, 1w.
func parseAgo(s string) (time.Duration, bool) {
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, false
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, false
		}
		var unit time.Duration
		switch s[i] {
		case 's':
			unit = time.Second
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'w':
			unit = 7 * 24 * time.Hour
		default:
			return 0, false
		}
		total += time.Duration(n) * unit
		s = s[i+1:]
	}
	return total, true
}
