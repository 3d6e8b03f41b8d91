package sshserve

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/spf13/pflag"
)

// Exit statuses of commands, as the local command line uses them.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// command runs a session without the monitor: `ssh HOST export …`, status, help. Output
// goes to the session (through the client's terminal when it asked for one, ssh -t).
func (s *Server) command(vs *session) int {
	args := vs.Command()
	if len(args) == 0 {
		fmt.Fprintf(vs.Stderr(), "zoomwatch: the monitor needs a terminal (ssh -t), or run a command.\n\n%s", s.help())
		return exitUsage
	}
	switch args[0] {
	case "export":
		return s.export(vs, args[1:])
	case "status":
		if len(args) > 1 {
			fmt.Fprintln(vs.Stderr(), "zoomwatch: status takes no arguments")
			return exitUsage
		}
		enc := json.NewEncoder(vs)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s.status()); err != nil {
			return exitFail
		}
		return exitOK
	case "help", "--help", "-h":
		fmt.Fprint(vs, s.help())
		return exitOK
	}
	fmt.Fprintf(vs.Stderr(), "zoomwatch: unknown command %q; try: export, status, help\n", args[0])
	return exitUsage
}

// answersAtOnce: the command prints what it has and ends, costing next to nothing (not the
// monitor, not an export).
func answersAtOnce(args []string) bool {
	return len(args) > 0 && (args[0] == "status" || args[0] == "help" || args[0] == "--help" || args[0] == "-h")
}

// export streams the stored events to the session, in constant memory: the store reads in
// short transactions and the writes wait for the client.
func (s *Server) export(vs *session, args []string) int {
	format, f, err := ParseExportArgs(args, time.Now())
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(vs, "usage: ssh -p %s HOST export [flags]\n\n%s", port(s.Addr()), exportUsage())
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(vs.Stderr(), "zoomwatch export: %v\n", err)
		return exitUsage
	}
	n, err := s.cfg.Store.Export(vs.ctx, vs, format, f)
	if err == nil {
		if n == 0 {
			fmt.Fprintf(vs.Stderr(), "zoomwatch export: %s\n", NothingExported(f))
		}
		return exitOK
	}
	if msg := vs.endMessage(); msg != "" {
		err = errors.New(msg) // rather than "context canceled"
	}
	fmt.Fprintf(vs.Stderr(), "zoomwatch export: %v\n", err)
	return exitFail
}

func (s *Server) help() string {
	p := port(s.Addr())
	return fmt.Sprintf(`zoomwatch over SSH (read-only):
  ssh -p %[1]s HOST                  the live monitor and its history (needs a terminal)
  ssh -p %[1]s HOST export [flags]   stored events: JSON lines as delivered (--format csv for CSV)
  ssh -p %[1]s HOST status           connection and store health as one JSON object
  ssh -p %[1]s HOST help             this text

export flags:
%[2]s`, p, exportUsage())
}

func port(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "PORT"
	}
	return p
}
