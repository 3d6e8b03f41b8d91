package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"zoomwatch/config"
	"zoomwatch/feed"
	"zoomwatch/store"
)

func (a *app) tailCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Connect, store and print each event (headless)",
		Long: `tail connects to the subscription, stores each event and then prints it: with --json the event
object exactly as Zoom delivered it, one per line; otherwise one readable line per event.
Connection state changes, gaps and bad frames go to stderr. Ctrl-C stops cleanly.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.cfg.CheckZoom(); err != nil {
				return err
			}
			return a.tail(cmd.Context(), "events.db", a.cfg.Zoom, a.cfg.WSURL(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each event exactly as delivered, one JSON object per line")
	return cmd
}

// tail runs the collector and prints what the store commits: store, then print.
func (a *app) tail(ctx context.Context, dbName string, z config.Zoom, wsURL string, asJSON bool) error {
	st, err := a.openStore(dbName, false, store.Owner{})
	if err != nil {
		return err
	}
	defer st.Close()
	sub := st.Subscribe(1024)
	defer sub.Close()
	p := &printer{st: st, out: bufio.NewWriter(a.stdout), errw: a.stderr, json: asJSON, last: st.LastSeq()}
	// A closed stdout (tail | head) stops the feed cleanly, so that the next run does not
	// report this one as a crash: with SIGPIPE caught, the write fails with EPIPE instead of
	// the runtime ending the process.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)
	feedCtx, stopFeed := context.WithCancelCause(ctx)
	defer stopFeed(nil)
	col := a.startCollector(feedCtx, st, z, wsURL)
	var printErr error
	show := func(n store.Notice) {
		if printErr != nil {
			return
		}
		if printErr = p.notice(n); printErr != nil {
			stopFeed(fmt.Errorf("output closed: %w", printErr))
		}
	}
	// Nothing is printed before it is stored: a disk that refuses writes must be said, or
	// it would look like a quiet account.
	health := time.NewTicker(time.Second)
	defer health.Stop()
	var runErr error
	for running := true; running; {
		select {
		case n := <-sub.C:
			show(n)
		case <-health.C:
			p.health(st.Health())
		case runErr = <-col.done:
			running = false
		}
	}
	// Everything the feed handed over is submitted; print what is committed, then stop.
	if err := finalFlush(st); err != nil {
		return err
	}
	drainNotices(sub, show)
	if printErr == nil {
		printErr = p.catchUp(^uint64(0))
	}
	if printErr != nil {
		return quietPipe(printErr)
	}
	return a.startupErr(runErr)
}

// finalFlush stores what a stopping command submitted, but not for ever on a disk that
// refuses writes, where the stop signal would do nothing: then it says what was not stored.
func finalFlush(st *store.Store) error {
	if err := st.FlushOrGiveUp(context.Background()); err != nil {
		return fmt.Errorf("stopping with events not stored: %w", err)
	}
	return nil
}

// drainNotices hands show the notices already queued on sub, without waiting for more.
func drainNotices(sub *store.Subscription, show func(store.Notice)) {
	for {
		select {
		case n := <-sub.C:
			show(n)
		default:
			return
		}
	}
}

// hms is a time as the stderr lines give it: 11:29:14, local.
func hms(t time.Time) string { return t.Local().Format("15:04:05") }

// printer writes committed events to stdout and the connection's story to stderr.
type printer struct {
	st   *store.Store
	out  *bufio.Writer
	errw io.Writer
	json bool
	last uint64 // newest event sequence printed
	// refused is the write error last reported on stderr ("" while storing).
	refused string
}

// health reports on stderr when the database starts and stops refusing writes.
func (p *printer) health(h store.Health) {
	switch {
	case !h.Storing && h.Err != p.refused:
		p.refused = h.Err
		p.out.Flush()
		fmt.Fprintf(p.errw, "zoomwatch: NOT STORING since %s: %s; %d events wait in memory (retrying; nothing is printed until it is stored)\n",
			hms(h.Since), h.Err, h.Backlog)
	case h.Storing && p.refused != "":
		p.refused = ""
		fmt.Fprintf(p.errw, "zoomwatch: %s storing again\n", hms(h.LastCommit))
	}
}

func (p *printer) notice(n store.Notice) error {
	if n.Batch == nil {
		return nil
	}
	if n.Missed > 0 || (len(n.Records) > 0 && n.Records[0].Seq > p.last+1) {
		// We fell behind and notices were dropped: read what we missed from the store.
		upto := ^uint64(0)
		if len(n.Records) > 0 {
			upto = n.Records[0].Seq
		}
		if err := p.catchUp(upto); err != nil {
			return err
		}
	}
	for i := range n.Records {
		p.event(&n.Records[i])
	}
	for _, e := range n.Log {
		p.logEntry(e)
	}
	return p.out.Flush()
}

// catchUp prints the stored events after the last printed one and before upto.
func (p *printer) catchUp(upto uint64) error {
	for {
		recs, err := p.st.After(p.last, 1000)
		if err != nil {
			return err
		}
		n := 0
		for i := range recs {
			if recs[i].Seq >= upto {
				break
			}
			p.event(&recs[i])
			n++
		}
		if n < 1000 {
			return p.out.Flush()
		}
	}
}

func (p *printer) event(r *store.Record) {
	if r.Seq <= p.last {
		return
	}
	p.last = r.Seq
	if p.json {
		p.out.Write(feed.OneLine(r.Raw))
		p.out.WriteByte('\n')
		return
	}
	ev := r.Decode()
	t := ev.Time()
	if t.IsZero() {
		t = r.Received
	}
	fmt.Fprintf(p.out, "%s  %s\n", t.Local().Format("2006-01-02 15:04:05.000"), feed.Sanitize(ev.Summary()))
}

func (p *printer) logEntry(e store.LogEntry) {
	p.out.Flush() // keep stdout and stderr in order on a shared terminal
	switch e.Kind {
	case store.LogTransition:
		if t := e.Transition; t.State == feed.StateAuthFailed && t.NextRetry.IsZero() {
			return // refused at start-up: tail exits saying why and what to check
		}
		// Each line says when: stderr is often a file (2>tail.err) with no times of its own.
		fmt.Fprintln(p.errw, "zoomwatch:", hms(e.At), describeTransition(*e.Transition))
	case store.LogGap:
		g := e.Gap
		length := "under 1s"
		if d := g.To.Sub(g.From); d >= time.Second {
			length = d.Round(time.Second).String()
		}
		fmt.Fprintf(p.errw, "zoomwatch: gap %s – %s (%s): %s; Zoom does not redeliver events from this window\n",
			hms(g.From), hms(g.To), length, g.Reason)
	case store.LogAnomaly:
		an := e.Anomaly
		fmt.Fprintf(p.errw, "zoomwatch: %s kept a frame for inspection (%s, %d bytes): %s\n", hms(e.At), an.Kind, an.Size, an.Error)
	case store.LogNote:
		fmt.Fprintln(p.errw, "zoomwatch:", hms(e.At), e.Note)
	}
}

func describeTransition(t feed.Transition) string {
	s := string(t.State)
	if t.Reason != "" {
		s += ": " + t.Reason
	}
	if !t.NextRetry.IsZero() {
		s += fmt.Sprintf(" (retry in %s)", time.Until(t.NextRetry).Round(100*time.Millisecond))
	}
	if t.Attempt > 1 {
		s += fmt.Sprintf(" [attempt %d]", t.Attempt)
	}
	return s
}
