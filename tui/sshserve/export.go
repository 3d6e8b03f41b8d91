package sshserve

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"zoomwatch/store"
)

// ExportFlags are export's options: the format and the history filters. The local
// `zoomwatch export` and `ssh HOST export` register the same flags, so they take the same
// arguments.
type ExportFlags struct {
	format      string
	types       []string
	meeting     string
	participant string
	text        string
	since       string
	until       string
}

// AddFlags registers export's flags on fs.
func (e *ExportFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&e.format, "format", "jsonl", "jsonl or csv")
	fs.StringSliceVar(&e.types, "type", nil, "event types or globs, e.g. meeting.* (repeatable, comma-separated)")
	fs.StringVar(&e.meeting, "meeting", "", "a meeting number or uuid")
	fs.StringVar(&e.participant, "participant", "", "participant name, email or id")
	fs.StringVar(&e.text, "text", "", "text anywhere in the event")
	fs.StringVar(&e.since, "since", "", "events at or after: RFC 3339 time, date, or a duration ago (2h, 7d)")
	fs.StringVar(&e.until, "until", "", "events before: RFC 3339 time, date, or a duration ago")
}

// Result checks the parsed flags and returns the format and filter they ask for; relative
// times count back from now. Every error is a usage error.
func (e *ExportFlags) Result(now time.Time) (format string, f store.Filter, err error) {
	if !slices.Contains(store.ExportFormats, e.format) {
		return "", f, fmt.Errorf("--format %q: use jsonl or csv", e.format)
	}
	f = store.Filter{Types: e.types, Meeting: e.meeting, Participant: e.participant, Text: e.text}
	if f.Since, err = parseWhen(e.since, now); err != nil {
		return "", f, fmt.Errorf("--since: %w", err)
	}
	if f.Until, err = parseWhen(e.until, now); err != nil {
		return "", f, fmt.Errorf("--until: %w", err)
	}
	return e.format, f, nil
}

// ParseExportArgs parses export's arguments (for example the words after `ssh HOST export`).
// --help returns pflag.ErrHelp; any other error is a usage error.
func ParseExportArgs(args []string, now time.Time) (format string, f store.Filter, err error) {
	var e ExportFlags
	fs := exportFlagSet(&e)
	if err := fs.Parse(args); err != nil {
		return "", f, err
	}
	if fs.NArg() > 0 {
		return "", f, fmt.Errorf("unexpected argument %q (filters are flags: see export --help)", fs.Arg(0))
	}
	return e.Result(now)
}

func exportFlagSet(e *ExportFlags) *pflag.FlagSet {
	fs := pflag.NewFlagSet("export", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, and reported by the caller
	fs.Usage = func() {}
	e.AddFlags(fs)
	return fs
}

// exportUsage describes export's flags.
func exportUsage() string {
	return exportFlagSet(&ExportFlags{}).FlagUsages()
}

// parseWhen reads a point in time: RFC 3339, a date (local midnight), a local date and time,
// or a duration ago ("90m", "2h", "7d").
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := parseAgo(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use 2026-11-22T14:03:00Z, 2026-11-22, or a duration ago like 2h or 7d", s)
}

func parseAgo(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days float64
		if _, err := fmt.Sscanf(n, "%g", &days); err != nil || days < 0 {
			return 0, errors.New("bad days")
		}
		return time.Duration(days * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		err = errors.New("negative")
	}
	return d, err
}
