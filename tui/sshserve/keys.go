package sshserve

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
)

// authorizedKeys is the authorized_keys file. It is read at every check (a small file,
// checked once or twice per connection), so an edit takes effect at the next login without a
// restart or a file watcher; it is parsed again only when its bytes changed.
type authorizedKeys struct {
	path string
	log  *slog.Logger

	mu   sync.Mutex
	data []byte            // the file as last read
	keys map[string]string // marshalled public key → the line's comment
	bad  bool              // the last read failed: refuse everyone until it succeeds
}

// parseAuthorizedKeys reads authorized_keys lines. Lines with options (from=, command=, …)
// are rejected rather than honoured partly: ignoring a from= restriction would let in
// more than the file says.
func parseAuthorizedKeys(data []byte) (keys map[string]string, problems []string) {
	keys = map[string]string{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		key, comment, options, _, err := gossh.ParseAuthorizedKey(line)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("line %d is not a public key (%v)", i+1, err))
		case len(options) > 0:
			problems = append(problems, fmt.Sprintf("line %d has options (%s), which zoomwatch does not support: the key is ignored", i+1, strings.Join(options, ",")))
		default:
			keys[string(key.Marshal())] = comment
		}
	}
	return keys, problems
}

// loadAuthorizedKeys reads the file for New: every problem is an error, since the person
// starting the server is there to fix it.
func loadAuthorizedKeys(path string, log *slog.Logger) (*authorizedKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the authorized keys file %s: %w", path, unwrapPath(err))
	}
	keys, problems := parseAuthorizedKeys(data)
	if len(problems) > 0 {
		return nil, fmt.Errorf("authorized keys file %s: %s", path, strings.Join(problems, "; "))
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("authorized keys file %s has no public keys: add the viewers' keys, one per line as in ~/.ssh/authorized_keys", path)
	}
	return &authorizedKeys{path: path, log: log, data: data, keys: keys}, nil
}

// lookup reports whether key is in the file now, with its comment. While the file cannot be
// read, nobody is let in: deleting it revokes every key.
func (a *authorizedKeys) lookup(key gossh.PublicKey) (comment string, ok bool) {
	data, err := os.ReadFile(a.path)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case err != nil:
		if !a.bad {
			a.log.Error("ssh: cannot read the authorized keys file: refusing every key until it is readable", "path", a.path, "err", err)
		}
		a.bad, a.data, a.keys = true, nil, nil
		return "", false
	case a.bad || !bytes.Equal(data, a.data):
		keys, problems := parseAuthorizedKeys(data)
		for _, p := range problems {
			a.log.Warn("ssh: authorized keys file: "+p, "path", a.path)
		}
		a.log.Info("ssh: authorized keys reloaded", "path", a.path, "keys", len(keys))
		a.bad, a.data, a.keys = false, data, keys
	}
	comment, ok = a.keys[string(key.Marshal())]
	return comment, ok
}

// loadHostKey reads the server's private key, generating an ed25519 key (mode 0600) if the
// file does not exist, so that clients see the same host key after every restart.
func loadHostKey(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = createHostKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the SSH host key %s: %w", path, unwrapPath(err))
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the SSH host key %s can be read by other users (mode %04o): run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	signer, err := gossh.ParsePrivateKey(data)
	var missing *gossh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("the SSH host key %s is protected by a passphrase, which zoomwatch cannot enter: use a key without one", path)
	}
	if err != nil {
		return nil, fmt.Errorf("the SSH host key %s is not a private key zoomwatch can use: %w", path, err)
	}
	return signer, nil
}

func createHostKey(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "zoomwatch host key")
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(block)
	// No directory is made for it: a mistyped --host-key would leave one behind.
	// O_EXCL: if another process created the key meanwhile, use its key rather than
	// replacing it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, err
	}
	return data, nil
}

// unwrapPath drops the *PathError wrapper: the messages name the file themselves.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
