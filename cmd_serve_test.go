package main

import (
	"crypto/ed25519"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	gossh "golang.org/x/crypto/ssh"

	"zoomwatch/feed/sim"
)

// TestServeStopsWhileTheDiskRefusesWrites: serve (and the monitor) waited on their last
// flush until the disk took writes again, so a stop signal did nothing (and further ones were
// swallowed) while it refused them. Now, as tail does, they give up after a few seconds and
// say how many events were not stored.
func TestServeStopsWhileTheDiskRefusesWrites(t *testing.T) {
	dir := isolate(t)
	// A store whose dedupe index is garbage: every commit that adds an event fails.
	var lines strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&lines, `{"event":"meeting.participant_joined","event_ts":%d,"payload":{"object":{"id":%d,"uuid":"m%d==","participant":{"user_name":"P%d","participant_uuid":"p%d"}}}}`+"\n",
			1700000000000+int64(i)*1000, 86000000000+i%300, i%300, i, i)
	}
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(lines.String()), 0o600)
	if code, _, errOut := runOnce(t, dir, "import", events); code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	dbPath := filepath.Join(dir, "events.db")
	db, err := bolt.Open(dbPath, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var root uint64
	db.View(func(tx *bolt.Tx) error { root = uint64(tx.Bucket([]byte("dedupe")).Root()); return nil })
	db.Close()
	if root == 0 {
		t.Fatal("the dedupe index fits in its bucket: nothing to damage")
	}
	data, _ := os.ReadFile(dbPath)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := root * 4096; i < (root+1)*4096; i++ {
		data[i] = byte(rng.Uint32())
	}
	os.WriteFile(dbPath, data, 0o600)

	keys := authorizedKeys(t, dir)
	simFor(t, sim.Options{Seed: 3, Rate: 50})
	c := start(t, dir, "serve", "--ssh", "127.0.0.1:0", "--authorized-keys", keys)
	eventually(t, 30*time.Second, "a commit to fail", func() bool {
		log, _ := os.ReadFile(filepath.Join(dir, "zoomwatch.log"))
		return strings.Contains(string(log), "commit failed")
	})
	// Like tail, serve tells the store's trouble on stderr (and the connection's story, as far
	// as it is stored: here the transitions may wait in memory with the events).
	eventually(t, 10*time.Second, "serve to say it is not storing", func() bool { return strings.Contains(c.stderr.String(), "zoomwatch: NOT STORING since") })
	c.cancel() // the stop signal
	if code := c.wait(); code != 1 || !strings.Contains(c.stderr.String(), "stopping with events not stored: the database has refused writes since") {
		t.Errorf("exit %d, want 1 saying events were not stored; stderr:\n%s", code, c.stderr.String())
	}
}

// authorizedKeys writes an authorized_keys file with a fresh key, for serve's --authorized-keys.
func authorizedKeys(t *testing.T, dir string) string {
	_, priv, _ := ed25519.GenerateKey(crand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	return keys
}

// serve says on stderr how the connection goes, as tail does: it said nothing after
// "serving on", even while retrying a wrong URL for ever.
func TestServeTellsTheConnectionsStory(t *testing.T) {
	dir := isolate(t)
	simFor(t, sim.Options{Seed: 3, Rate: 20})
	c := start(t, dir, "serve", "--ssh", "127.0.0.1:0", "--authorized-keys", authorizedKeys(t, dir))
	live := regexp.MustCompile(`(?m)^zoomwatch: \d\d:\d\d:\d\d live$`)
	eventually(t, 30*time.Second, "serve to say the link is live", func() bool { return live.MatchString(c.stderr.String()) })
	c.cancel()
	if code := c.wait(); code != 0 || !strings.Contains(c.stderr.String(), "stopped") {
		t.Errorf("exit %d; stderr:\n%s", code, c.stderr.String())
	}
}
