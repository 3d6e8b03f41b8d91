package sshserve

import (
	"fmt"
	"net"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	bm "charm.land/wish/v2/bubbletea"

	"zoomwatch/tui"
)

// viewerBuffer is how many committed batches may queue for one viewer before it is treated
// as slow (it then reloads from the store; the writer never waits for it).
const viewerBuffer = 256

// viewerFPS caps how often a viewer's screen is sent.
const viewerFPS = 20

// watch runs the live monitor until the client quits, the session ends, it idles out or the
// server shuts down; then it releases the viewer's subscription, which also ends the
// program's pending wait on it.
func (s *Server) watch(vs *session) {
	sub := s.cfg.Store.Subscribe(viewerBuffer)
	defer sub.Close()
	vs.sub = sub
	s.viewer(vs)
}

// program builds the session's Bubble Tea program, for wish's bubbletea middleware.
func (s *Server) program(sess ssh.Session) *tea.Program {
	vs := sess.(*session)
	m, err := tui.New(tui.Deps{
		Store: s.cfg.Store, Sub: vs.sub, Status: s.cfg.Status, Account: s.cfg.Account, Mode: s.cfg.Mode,
		Keys: s.cfg.Keys, Viewer: "ssh " + vs.user + "@" + host(vs.addr),
		// A viewer must not write files on the server.
		AllowExport: false,
	})
	if err != nil { // New checked the key remaps, the only thing that can fail here
		s.log.Error("ssh: cannot build the monitor", "err", err)
		fmt.Fprintf(vs.Stderr(), "zoomwatch: cannot show the monitor: %v\n", err)
		return nil
	}
	// MakeOptions wires the session's input and output (vs, so that input counts as
	// activity), the client's window size and $TERM, and the colour profile from the
	// client's environment, not the server's. The server's signals are not the viewer's.
	// 20 frames a second is plenty over a network and, at 200 events/s, saves about a
	// quarter of a viewer's CPU and a third of its bandwidth against the default 60.
	// No tea.WithContext: the middleware quits the program when the session's context
	// ends, which gives the client its terminal back, where a cancelled program context
	// would kill it (and make wish log an error on the server's stderr).
	opts := append(bm.MakeOptions(vs), tea.WithoutSignalHandler(), tea.WithFPS(viewerFPS))
	return tea.NewProgram(m, opts...)
}

func host(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
