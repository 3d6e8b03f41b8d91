package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/creack/pty"
	gossh "golang.org/x/crypto/ssh"
)

// viewerKeys is a client key pair: the private half where ssh -i reads it, the public half
// in an authorized_keys file.
type viewerKeys struct {
	private, authorized string
}

func newViewerKeys(dir string) (viewerKeys, error) {
	k := viewerKeys{private: filepath.Join(dir, "viewer_key"), authorized: filepath.Join(dir, "authorized_keys")}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return k, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "zoomwatch bench viewer")
	if err != nil {
		return k, err
	}
	if err := os.WriteFile(k.private, pem.EncodeToMemory(block), 0o600); err != nil {
		return k, err
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return k, err
	}
	return k, os.WriteFile(k.authorized, gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o600)
}

// sshViewer is a real ssh client in its own 120×40 terminal, counting the screen updates it
// receives.
type sshViewer struct {
	cmd   *exec.Cmd
	term  *os.File
	bytes atomic.Int64
	last  atomic.Int64 // unix nanoseconds of the latest output
	done  chan struct{}
}

func startSSHViewer(ctx context.Context, keyFile, port string) (*sshViewer, error) {
	cmd := exec.CommandContext(ctx, "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", keyFile, "-p", port, "viewer@127.0.0.1")
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	term, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 120, Rows: 40})
	if err != nil {
		return nil, err
	}
	v := &sshViewer{cmd: cmd, term: term, done: make(chan struct{})}
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

func (v *sshViewer) close() {
	v.cmd.Process.Kill()
	v.cmd.Wait()
	v.term.Close()
	<-v.done
}

// viewerScreen is how much output means a viewer has its monitor on screen.
const viewerScreen = 4096

// waitViewers waits until every viewer shows a screen.
func waitViewers(ctx context.Context, vs []*sshViewer, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(50 * time.Millisecond) // polling byte counters: nothing to wait on
	defer tick.Stop()
	for {
		ready := 0
		for _, v := range vs {
			if v.bytes.Load() >= viewerScreen {
				ready++
			}
		}
		if ready == len(vs) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d SSH viewers got a screen in %v", ready, len(vs), limit)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
