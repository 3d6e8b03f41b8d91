package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"zoomwatch/feed"
	"zoomwatch/internal/numfmt"
)

// ImportReport says what an import did.
type ImportReport struct {
	Lines      int // non-empty lines read
	Added      int
	Duplicates int
	Rejected   int
	NotJSON    int         // of the rejected lines, those that were not JSON at all
	Dropped    int         // accepted but lost to a failing disk
	Errors     []LineError // the first MaxLineErrors rejected lines
}

// LineError is one rejected line.
type LineError struct {
	Name string
	Line int
	Err  string
}

func (e LineError) String() string { return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Err) }

// MaxLineErrors bounds the rejected lines an import report lists.
const MaxLineErrors = 50

// ImportProgress is reported about once a second during a large import.
type ImportProgress struct {
	Name  string
	Bytes int64
	Lines int
}

// maxLine bounds one line of an import: far beyond any real event, small enough that a
// file without newlines cannot exhaust memory.
const maxLine = 64 << 20

// Import adds events from JSON lines: each line an event object (an export, or an archive of
// webhook bodies) or a WebSocket frame carrying one. Events already stored are counted as
// duplicates; bad lines are reported with their numbers and never stop the good ones. A
// database that refuses writes for a few seconds stops it with a *NotStoringError; the
// report then counts what was stored.
func (s *Store) Import(ctx context.Context, r io.Reader, name string, progress func(ImportProgress)) (ImportReport, error) {
	var rep ImportReport
	tally := &Tally{}
	br := bufio.NewReaderSize(r, 1<<20)
	var read int64
	lastProgress := time.Now()
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		read += int64(len(line)) + 1
		if len(bytes.TrimSpace(line)) > 0 {
			rep.Lines++
			ev, perr := parseImportLine(line)
			if perr == nil {
				perr = ev.CheckNames()
			}
			if perr != nil {
				rep.Rejected++
				if errors.Is(perr, feed.ErrNotJSON) {
					rep.NotJSON++
				}
				if len(rep.Errors) < MaxLineErrors {
					rep.Errors = append(rep.Errors, LineError{name, lineNo, perr.Error()})
				}
			} else {
				in := input{item: feed.Item{Event: ev, Received: s.now()}, src: SourceImport, id: ev.Identity(), tally: tally}
				if serr := s.submit(ctx, in); serr != nil {
					return rep, serr
				}
			}
			if rep.Lines%1024 == 0 {
				if serr := s.notStoring(); serr != nil {
					rep.fill(tally)
					return rep, fmt.Errorf("stopped at line %d: %w", lineNo, serr) // the caller names the file
				}
			}
		}
		if progress != nil && time.Since(lastProgress) >= time.Second {
			lastProgress = time.Now()
			progress(ImportProgress{Name: name, Bytes: read, Lines: lineNo})
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				rep.Lines++
				rep.Rejected++
				if len(rep.Errors) < MaxLineErrors {
					rep.Errors = append(rep.Errors, LineError{name, lineNo, err.Error()})
				}
				continue
			}
			s.FlushOrGiveUp(ctx)
			rep.fill(tally)
			return rep, fmt.Errorf("line %d: %w", lineNo, err)
		}
	}
	err := s.FlushOrGiveUp(ctx)
	rep.fill(tally)
	return rep, err
}

func (rep *ImportReport) fill(t *Tally) {
	rep.Added, rep.Duplicates, rep.Dropped = int(t.Added.Load()), int(t.Duplicates.Load()), int(t.Dropped.Load())
}

var errLineTooLong = fmt.Errorf("line longer than %d MiB", maxLine>>20)

// readLine returns the next line without its newline; a line over maxLine is skipped
// (consumed) and reported as errLineTooLong.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > maxLine {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		return line, err
	}
}

// parseImportLine accepts an event object, or a WebSocket message frame carrying one. An
// object with an "event" is an event whatever else it holds (frames have none), so that an
// event with "module" and "content" fields of its own reads back from an export as itself.
func parseImportLine(line []byte) (*feed.Event, error) {
	line = bytes.TrimSpace(line)
	ev, err := feed.DecodeEvent(line) // readLine returns a fresh slice: the event may keep it
	if err == nil || !bytes.Contains(line, []byte(`"module"`)) {
		return ev, err
	}
	f, ferr := feed.DecodeFrame(line)
	if ferr != nil {
		return nil, err
	}
	if f.Module != feed.ModuleMessage {
		return nil, fmt.Errorf("a %q frame, not an event", f.Module)
	}
	return feed.DecodeEvent(f.Content)
}

// ExportFormats are the formats Export writes.
var ExportFormats = []string{"jsonl", "csv"}

// Export writes the matching events to w: "jsonl" (each event exactly as delivered, one per
// line, the same lines as `tail --json`) or "csv" (one summary row per event). It streams in
// constant memory and returns the number of events written.
func (s *Store) Export(ctx context.Context, w io.Writer, format string, f Filter) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	n := 0
	var err error
	switch format {
	case "", "jsonl":
		err = s.Scan(ctx, f, func(r *Record) error {
			n++
			bw.Write(feed.OneLine(r.Raw))
			return bw.WriteByte('\n')
		})
	case "csv":
		cw := csv.NewWriter(bw)
		cw.Write(CSVHeader)
		err = s.Scan(ctx, f, func(r *Record) error {
			n++
			return cw.Write(CSVRow(r))
		})
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
	default:
		return 0, fmt.Errorf("unknown export format %q (use jsonl or csv)", format)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

// CSVHeader names the CSV export's columns.
var CSVHeader = []string{"seq", "received", "event_ts", "event", "meeting_id", "meeting_uuid", "topic",
	"participant", "email", "detail", "source"}

// CSVRow is one event as a CSV row.
func CSVRow(r *Record) []string {
	ev := r.Decode()
	o := &ev.Payload.Object
	var who, email, detail string
	if p := o.Participant; p != nil {
		who, email = p.UserName, p.Email
		detail = feed.CleanReason(p.LeaveReason)
	} else if ev.Type == "user.created" || ev.Type == "user.updated" {
		who, email = o.UserName(), o.Email
	}
	if len(o.RecordingFiles) > 0 {
		detail = numfmt.Plural(len(o.RecordingFiles), "file")
	}
	ts := ""
	if t := ev.Time(); !t.IsZero() {
		ts = t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	var id, uuid string
	if ev.IsMeetingLike() {
		id, uuid = string(o.ID), o.UUID
	}
	return []string{strconv.FormatUint(r.Seq, 10), r.Received.UTC().Format("2006-01-02T15:04:05.000000Z"), ts,
		ev.Type, id, uuid, inert(o.Topic), inert(who), inert(email), inert(detail), r.Source.String()}
}

// inert keeps text that anyone in a meeting can choose (a topic, a display name) from being
// run as a formula by the spreadsheet the CSV is opened in: a leading =, +, -, @, tab or CR
// gets a ' before it, as OWASP advises, also behind spaces and line breaks, which
// spreadsheets skip before they look for a formula. The JSON lines export is the exact one.
func inert(s string) string {
	if t := strings.TrimLeft(s, " \n"); t != "" && strings.ContainsRune("=+-@\t\r", rune(t[0])) {
		return "'" + s
	}
	return s
}
