package sshserve

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"zoomwatch/store"
	"zoomwatch/tui"
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
	fs.StringVar(&e.format, "format", "jsonl", "jsonl (each event exactly as delivered) or csv (for spreadsheets: text that would run as a formula starts with ')")
	fs.StringSliceVar(&e.types, "type", nil, "event types or globs, e.g. meeting.* (repeatable, comma-separated)")
	fs.StringVar(&e.meeting, "meeting", "", "a meeting number or uuid")
	fs.StringVar(&e.participant, "participant", "", "participant name, email or id")
	fs.StringVar(&e.text, "text", "", "text in any value of the event (not its keys), any case")
	fs.StringVar(&e.since, "since", "", "events at or after: a time (14:03, 2026-11-22 14:03, RFC 3339), a date, or a duration ago (2h, 7d, 1w)")
	fs.StringVar(&e.until, "until", "", "events before: the same forms as --since")
}

// Result checks the parsed flags and returns the format and filter they ask for; relative
// times count back from now. Every error is a usage error.
func (e *ExportFlags) Result(now time.Time) (format string, f store.Filter, err error) {
	e.format = strings.ToLower(e.format)
	if !slices.Contains(store.ExportFormats, e.format) {
		return "", f, fmt.Errorf("--format %q: use jsonl or csv", e.format)
	}
	f = store.Filter{Types: e.types, Meeting: e.meeting, Participant: e.participant, Text: e.text}
	for _, t := range f.Types {
		if err := store.CheckTypePattern(t); err != nil {
			return "", f, fmt.Errorf("--type %w", err)
		}
	}
	when := func(flag, v string, to *time.Time) error {
		if v == "" {
			return nil
		}
		t, err := tui.ParseWhen(v, now)
		if err != nil {
			return fmt.Errorf("--%s: %w", flag, err)
		}
		*to = t
		return nil
	}
	if err := when("since", e.since, &f.Since); err != nil {
		return "", f, err
	}
	if err := when("until", e.until, &f.Until); err != nil {
		return "", f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return "", f, fmt.Errorf("--since (%s) is not before --until (%s): no event could match", f.Since.Format(time.DateTime), f.Until.Format(time.DateTime))
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

// NothingExported says, on stderr, why an export wrote nothing: an empty output would
// otherwise look like a failure, or a filter with a typo like a quiet account.
func NothingExported(f store.Filter) string {
	if f.IsZero() {
		return "no event is stored yet"
	}
	return "no stored event matches"
}
