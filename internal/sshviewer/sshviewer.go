// Package sshviewer runs a real ssh client, in its own terminal, against a zoomwatch SSH
// server and counts what it receives: the SSH load test and `zoomwatch bench memory` measure
// viewers this way.
package sshviewer

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/creack/pty"
	gossh "golang.org/x/crypto/ssh"
)

// NewKey writes a new private key at path, where ssh -i reads it, and returns its public
// half for an authorized_keys file.
func NewKey(path, comment string) (gossh.PublicKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	return signer.PublicKey(), nil
}

// ScreenBytes is how much output means a viewer has its monitor on screen.
const ScreenBytes = 4096

// Viewer is ssh in a 120×40 terminal, logged in as a viewer.
type Viewer struct {
	cmd   *exec.Cmd
	term  *os.File
	bytes atomic.Int64
	last  atomic.Int64 // unix nanoseconds of the latest output
	done  chan struct{}
}

// Start logs in to 127.0.0.1:port with the private key at keyFile.
func Start(ctx context.Context, keyFile, port string) (*Viewer, error) {
	cmd := exec.CommandContext(ctx, "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", keyFile, "-p", port, "viewer@127.0.0.1")
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	term, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 120, Rows: 40})
	if err != nil {
		return nil, err
	}
	v := &Viewer{cmd: cmd, term: term, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := term.Read(buf)
			v.bytes.Add(int64(n))
			v.last.Store(time.Now().UnixNano())
			if err != nil {
				return
			}
		}
	}()
	return v, nil
}

// Bytes is how much output the viewer has received.
func (v *Viewer) Bytes() int64 { return v.bytes.Load() }

// ShowsScreen reports whether the viewer has had a screen's worth of output.
func (v *Viewer) ShowsScreen() bool { return v.Bytes() >= ScreenBytes }

// Last is when the latest output arrived.
func (v *Viewer) Last() time.Time { return time.Unix(0, v.last.Load()) }

// Close ends ssh and waits for its output to be read.
func (v *Viewer) Close() {
	v.cmd.Process.Kill()
	v.cmd.Wait()
	v.term.Close()
	<-v.done
}
