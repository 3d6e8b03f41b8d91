package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"zoomwatch/internal/sshviewer"
)

// viewerKeys is a client key pair: the private half where ssh -i reads it, the public half
// in an authorized_keys file.
type viewerKeys struct {
	private, authorized string
}

func newViewerKeys(dir string) (viewerKeys, error) {
	k := viewerKeys{private: filepath.Join(dir, "viewer_key"), authorized: filepath.Join(dir, "authorized_keys")}
	pub, err := sshviewer.NewKey(k.private, "zoomwatch bench viewer")
	if err != nil {
		return k, err
	}
	return k, os.WriteFile(k.authorized, gossh.MarshalAuthorizedKey(pub), 0o600)
}

// waitViewers waits until every viewer shows a screen.
func waitViewers(ctx context.Context, vs []*sshviewer.Viewer, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(50 * time.Millisecond) // polling byte counters: nothing to wait on
	defer tick.Stop()
	for {
		ready := 0
		for _, v := range vs {
			if v.ShowsScreen() {
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
