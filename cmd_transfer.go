package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"zoomwatch/internal/numfmt"
	"zoomwatch/store"
	"zoomwatch/tui/sshserve"
)

func (a *app) exportCmd() *cobra.Command {
	var ef sshserve.ExportFlags // the same flags as `ssh HOST export`
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write stored events to stdout (jsonl or csv)",
		Long: `export streams the stored events in constant memory. --format jsonl (the default) prints each
event exactly as delivered, one per line: the same lines as tail --json, and what import reads.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, f, err := ef.Result(time.Now())
			if err != nil {
				return usageErr(err)
			}
			st, err := a.openStore("events.db", true, store.Owner{})
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.Export(cmd.Context(), a.stdout, format, f)
			if err == nil && n == 0 {
				fmt.Fprintln(a.stderr, "zoomwatch:", sshserve.NothingExported(f))
			}
			return quietPipe(err)
		},
	}
	ef.AddFlags(cmd.Flags())
	return cmd
}

// quietPipe treats a closed stdout (export | head) as a normal end.
func quietPipe(err error) error {
	if errors.Is(err, os.ErrClosed) || errors.Is(err, errBrokenPipe) {
		return nil
	}
	return err
}

func (a *app) importCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE...",
		Short: "Add events from JSON lines files (an export, webhook bodies, or WebSocket frames); - reads stdin",
		Long: `import adds events from files of JSON lines: one event object per line (an export, or an archive
of webhook bodies) or one WebSocket frame carrying an event. Events already stored are counted
as duplicates; lines that are not events are listed with their numbers and skipped.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("import needs at least one FILE (- reads stdin)"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.openStore("events.db", false, store.Owner{})
			if err != nil {
				return err
			}
			defer st.Close()
			var total store.ImportReport
			failed := false
			var noEvents []string // files read to the end that held no event
			var noEventsErr error // why, for the last of them
			for _, name := range args {
				rep, err := a.importFile(cmd.Context(), st, name)
				total.Lines += rep.Lines
				total.Added += rep.Added
				total.Duplicates += rep.Duplicates
				total.Rejected += rep.Rejected
				if errors.Is(err, errNoEvents) {
					if len(args) > 1 { // one file's is said once, at the end
						fmt.Fprintf(a.stderr, "zoomwatch: %s: %v\n", name, err)
					}
					noEvents, noEventsErr = append(noEvents, name), err
				} else if err != nil {
					fmt.Fprintf(a.stderr, "zoomwatch: %s: %v\n", name, err)
					failed = true
					if cmd.Context().Err() != nil {
						break
					}
				}
			}
			if len(args) > 1 {
				fmt.Fprintf(a.stderr, "total: %s added, %s, %s\n", numfmt.Thousands(total.Added), numfmt.Plural(total.Duplicates, "duplicate"), numfmt.Plural(total.Rejected, "rejected line"))
			}
			// Both are failures (exit 1), but only the first one is about reading.
			switch {
			case failed && len(noEvents) > 0:
				return &exitError{1, fmt.Errorf("some files could not be read completely, and no event was found in %s", strings.Join(noEvents, ", "))}
			case failed:
				return &exitError{1, errors.New("some files could not be read completely")}
			case len(args) == 1 && len(noEvents) == 1:
				return &exitError{1, fmt.Errorf("%s: %w", args[0], noEventsErr)}
			case len(noEvents) > 0:
				return &exitError{1, fmt.Errorf("no event was found in %s (every line was rejected)", strings.Join(noEvents, ", "))}
			}
			return nil
		},
	}
}

func (a *app) importFile(ctx context.Context, st *store.Store, name string) (store.ImportReport, error) {
	var r io.Reader
	var size int64
	if name == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return store.ImportReport{}, errors.Unwrap(err) // the caller names the file
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			if fi.IsDir() {
				return store.ImportReport{}, errors.New("is a directory, not a file of events")
			}
			size = fi.Size()
		}
		r = f
	}
	start := time.Now()
	var progress func(store.ImportProgress)
	// A progress line rewritten in place with \r is for a person watching, not a log.
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(f.Fd()) {
		progress = func(p store.ImportProgress) {
			if size > 0 {
				fmt.Fprintf(a.stderr, "\r%s: %d lines, %.0f%%", name, p.Lines, 100*float64(p.Bytes)/float64(size))
			} else {
				fmt.Fprintf(a.stderr, "\r%s: %d lines", name, p.Lines)
			}
		}
	}
	rep, err := st.Import(ctx, r, name, progress)
	el := time.Since(start)
	erase := ""
	if progress != nil {
		erase = "\r\x1b[K"
	}
	fmt.Fprintf(a.stderr, erase+"%s: %s added, %s, %s (%s in %s, %.0f lines/s)\n",
		name, numfmt.Thousands(rep.Added), numfmt.Plural(rep.Duplicates, "duplicate"), numfmt.Plural(rep.Rejected, "rejected line"),
		numfmt.Plural(rep.Lines, "line"), el.Round(time.Millisecond), float64(rep.Lines)/el.Seconds())
	shown := rep.Errors
	if rep.Rejected == rep.Lines && len(shown) > 3 {
		// Nothing was an event: the file's format is the problem (often a pretty-printed
		// document), which a few lines show; the hint at the end says what to do.
		shown = shown[:3]
	}
	for _, e := range shown {
		fmt.Fprintf(a.stderr, "  %s\n", e)
	}
	if rep.Rejected > len(shown) {
		fmt.Fprintf(a.stderr, "  … and %s more\n", numfmt.Plural(rep.Rejected-len(shown), "rejected line"))
	}
	if lost := rep.Lines - rep.Rejected - rep.Added - rep.Duplicates; err != nil && lost > 0 {
		fmt.Fprintf(a.stderr, "  %d events read from it were not stored: run the import again once the database takes writes (what was stored then counts as duplicates)\n", lost)
	} else if rep.Dropped > 0 {
		fmt.Fprintf(a.stderr, "  %d events could not be stored (the disk refused writes); run the import again\n", rep.Dropped)
	}
	if err == nil && rep.Lines > 0 && rep.Rejected == rep.Lines {
		err = errNoEvents
		if rep.NotJSON > 0 {
			// Often one pretty-printed document, such as a webhook body saved from a browser.
			err = fmt.Errorf("%w: import reads one JSON object per line (for a pretty-printed file: jq -c . FILE | zoomwatch import -)", errNoEvents)
		}
	}
	return rep, err
}

// errNoEvents: a file was read to the end, and none of its lines was an event.
var errNoEvents = errors.New("no line is an event")

var errBrokenPipe = syscall.EPIPE
