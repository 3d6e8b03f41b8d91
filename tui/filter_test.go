package tui

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"zoomwatch/store"
)

// TestParseWhen: every form the jump prompt, history's filters and export's --since and
// --until promise.
func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 3, 20, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2h":                   now.Add(-2 * time.Hour),
		"2h ago":               now.Add(-2 * time.Hour), // as the jump prompt shows it
		"1h30m":                now.Add(-90 * time.Minute),
		"1.5h":                 now.Add(-90 * time.Minute),
		"1.5d":                 now.Add(-36 * time.Hour),
		"1w":                   now.Add(-7 * 24 * time.Hour),
		"90s ago":              now.Add(-90 * time.Second),
		"14:03":                time.Date(2026, 11, 22, 14, 3, 0, 0, time.UTC),
		"14:05":                time.Date(2026, 11, 21, 14, 5, 0, 0, time.UTC), // not in the future
		"2026-11-20":           time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"2026-11-20 09:30":     time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC),
		"2026-11-20T09:30:05Z": time.Date(2026, 11, 20, 9, 30, 5, 0, time.UTC),
	} {
		got, err := ParseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ago", "yesterday", "-2h", "2x"} {
		if _, err := ParseWhen(bad, now); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

// TestParseWhenRefusesWhatIsTooFarBack: 100000000h used to wrap around time.Duration (the
// jump said "jumped to 2310-01-22"), and since:999999d matched nothing.
func TestParseWhenRefusesWhatIsTooFarBack(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 3, 20, 0, time.UTC)
	for _, in := range []string{"100000000h", "999999d", "106752d ago", "50000w", "36501d"} {
		_, err := ParseWhen(in, now)
		want := strings.TrimSuffix(in, " ago") + " is too far back (at most 100 years, 36500d)"
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	if _, err := parseFilter("since:999999d", now); err == nil || err.Error() != "since: 999999d is too far back (at most 100 years, 36500d)" {
		t.Errorf("filter since:999999d: %v", err)
	}
	if got, err := ParseWhen("36500d", now); err != nil || !got.Equal(now.Add(-36500*24*time.Hour)) {
		t.Errorf("36500d: %v, %v", got, err)
	}
}

// TestParseFilter: the filter line's grammar, shared by history and the live panes, and its
// errors.
func TestParseFilter(t *testing.T) {
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)
	f, err := parseFilter(`type:meeting.*,recording.completed meeting:86431910364 who:ada text:"board sync" since:2026-11-22 14:03 until:14:30 late`, now)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Filter{Types: []string{"meeting.*", "recording.completed"}, Meeting: "86431910364", Participant: "ada", Text: "board sync late",
		Since: time.Date(2026, 11, 22, 14, 3, 0, 0, time.UTC), Until: time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
	for line, wantErr := range map[string]string{
		"type:[":         `type: "[" is not a valid pattern`,
		"colour:red":     `unknown filter "colour:"`,
		"since:nonsense": `since: "nonsense" is not a time`,
	} {
		if _, err := parseFilter(line, now); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: %v, want %q", line, err, wantErr)
		}
	}
}

// A quoted filter value can hold a quote: \" inside quotes (and \\ for a backslash; a
// backslash before anything else stays as typed).
func TestFilterQuotesEscape(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 3, 20, 0, time.UTC)
	for line, want := range map[string]string{
		`text:"Budget, \"Q3\""`: `Budget, "Q3"`,
		`text:"\"Q3\""`:         `"Q3"`,
		`text:"a\\b"`:           `a\b`,
		`text:"C:\temp"`:        `C:\temp`,
	} {
		f, err := parseFilter(line, now)
		if err != nil || f.Text != want {
			t.Errorf("%s: text %q (%v), want %q", line, f.Text, err, want)
		}
	}
}
