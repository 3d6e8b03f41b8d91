package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"zoomwatch/config"
	"zoomwatch/store"
	"zoomwatch/store/live"
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
					if err := store.CheckTypePattern(p); err != nil {
						return f, fmt.Errorf("type: %w", err)
					}
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

// splitQuoted splits on spaces, keeping "quoted parts" (also after key:) together. Inside
// quotes, \" is a quote and \\ a backslash: text:"say \"hi\"".
func splitQuoted(s string) ([]token, error) {
	var out []token
	var cur strings.Builder
	inQuote, started, wholeQuoted, escaped := false, false, false, false
	for _, r := range s {
		switch {
		case escaped:
			if r != '"' && r != '\\' {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && inQuote:
			escaped = true
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
	// One reader of durations for the whole program: it refuses what would overflow
	// time.Duration (999999d used to wrap around into a time in the future).
	if d, err := config.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	} else if errors.Is(err, config.ErrTooLong) {
		return time.Time{}, fmt.Errorf("%s is too far back (%w)", s, config.ErrTooLong)
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

// paneFilter is a filter line as the live panes apply it: the history's grammar, each part
// on what a pane shows. Words match what the panes show (topics, hosts, names, emails,
// meeting numbers and uuids); meeting and who as in history; type narrows the joins and
// leaves alone (meetings and recordings are not events); since and until bound joins' and
// leaves' times, meetings' starts and recordings' starts.
type paneFilter struct {
	line      string // as typed; "" matches everything
	f         store.Filter
	text, who string // lower case
}

func newPaneFilter(line string, now time.Time) (paneFilter, error) {
	line = strings.TrimSpace(line)
	f, err := parseFilter(line, now)
	if err != nil {
		return paneFilter{}, err
	}
	return paneFilter{line: line, f: f, text: strings.ToLower(f.Text), who: strings.ToLower(f.Participant)}, nil
}

func (pf *paneFilter) empty() bool { return pf.line == "" }

// narrowsLists reports whether the filter applies to the meetings and recordings panes:
// type narrows only the joins and leaves.
func (pf *paneFilter) narrowsLists() bool {
	f := pf.f
	f.Types = nil
	return !f.IsZero()
}

// within reports whether t is inside since and until; a zero t (never seen) is not, when
// either is set.
func (pf *paneFilter) within(t time.Time) bool {
	if pf.f.Since.IsZero() && pf.f.Until.IsZero() {
		return true
	}
	return !t.IsZero() && !t.Before(pf.f.Since) && (pf.f.Until.IsZero() || t.Before(pf.f.Until))
}

// person reports whether who names this person: a part of the name or email, or the id.
func (pf *paneFilter) person(name, email string, ids ...string) bool {
	return containsFold(name, pf.who) || containsFold(email, pf.who) || slices.Contains(ids, pf.f.Participant)
}

func (pf *paneFilter) meeting(mt *live.Meeting) bool {
	if pf.f.Meeting != "" && mt.ID != pf.f.Meeting && mt.UUID != pf.f.Meeting || !pf.within(mt.Start) {
		return false
	}
	if pf.who != "" && !anyParticipant(mt, func(p *live.Participant) bool { return pf.person(p.Name, p.Email, p.Key, p.UserID) }) {
		return false
	}
	return pf.text == "" || containsFold(mt.Topic, pf.text) || containsFold(mt.HostName, pf.text) ||
		strings.Contains(mt.ID, pf.text) || containsFold(mt.UUID, pf.text) ||
		anyParticipant(mt, func(p *live.Participant) bool { return containsFold(p.Name, pf.text) || containsFold(p.Email, pf.text) })
}

func anyParticipant(mt *live.Meeting, f func(*live.Participant) bool) bool {
	for _, p := range mt.Participants {
		if f(p) {
			return true
		}
	}
	return false
}

func (pf *paneFilter) join(r *joinRow) bool {
	return (pf.f.Meeting == "" || r.meetingID == pf.f.Meeting || r.meetingUUID == pf.f.Meeting) &&
		(len(pf.f.Types) == 0 || store.MatchType(pf.f.Types, r.typ)) &&
		(pf.who == "" || pf.person(r.name, r.email, r.ids[:]...)) &&
		pf.within(r.at) &&
		(pf.text == "" || containsFold(r.name, pf.text) || containsFold(r.email, pf.text) || containsFold(r.meeting, pf.text))
}

// recording: a recording has no participants, so no recording matches who.
func (pf *paneFilter) recording(r *live.Recording) bool {
	started := r.Started
	if started.IsZero() {
		started = r.Completed
	}
	return (pf.f.Meeting == "" || r.MeetingID == pf.f.Meeting || r.Key == pf.f.Meeting) && pf.who == "" && pf.within(started) &&
		(pf.text == "" || containsFold(r.Topic, pf.text) || strings.Contains(r.MeetingID, pf.text))
}

func containsFold(s, lowerQ string) bool { return strings.Contains(strings.ToLower(s), lowerQ) }
