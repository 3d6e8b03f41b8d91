package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedenceDefaultsFileEnv(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	os.WriteFile(path, []byte(`
heartbeat = "20s"
retain = "30d"
max_db_size = "2GB"
[zoom]
account_id = "file-account"
client_id = "file-client"
subscription_id = "SUB1"
[keys]
quit = ["x"]
`), 0o600)
	c, err := Load(path, env(map[string]string{"ZOOM_CLIENT_ID": "env-client", "ZOOM_CLIENT_SECRET": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Zoom.AccountID != "file-account" || c.Zoom.ClientID != "env-client" || c.Zoom.ClientSecret != "s3cret" {
		t.Fatalf("zoom = %+v", c.Zoom)
	}
	if time.Duration(c.Heartbeat) != 20*time.Second || time.Duration(c.Retain) != 30*24*time.Hour || c.MaxDBSize != 2e9 {
		t.Fatalf("heartbeat %v retain %v size %d", c.Heartbeat, c.Retain, c.MaxDBSize)
	}
	if c.WSURL() != "wss://ws.zoom.us/ws?subscriptionId=SUB1" || c.Zoom.OAuthURL != DefaultOAuthURL {
		t.Fatalf("urls %s %s", c.WSURL(), c.Zoom.OAuthURL)
	}
	if c.Keys["quit"][0] != "x" || c.File != path {
		t.Fatalf("keys %v file %q", c.Keys, c.File)
	}
	if err := c.CheckZoom(); err != nil {
		t.Fatal(err)
	}
}

// The environment names the subscription over the file, whichever way each names it; two
// different subscriptions, or a #fragment the token would land in, are refused.
func TestTheEnvironmentsSubscriptionWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("[zoom]\nws_url = \"wss://ws.zoom.us/ws?subscriptionId=FILE\"\n"), 0o600)
	base := map[string]string{"ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "b", "ZOOM_CLIENT_SECRET": "c"}
	with := func(k, v string) func(string) string {
		m := map[string]string{k: v}
		for k, v := range base {
			m[k] = v
		}
		return env(m)
	}
	c, err := Load(path, with("ZOOM_SUBSCRIPTION_ID", "ENV"))
	if err != nil || c.WSURL() != "wss://ws.zoom.us/ws?subscriptionId=ENV" || c.CheckZoom() != nil {
		t.Errorf("ZOOM_SUBSCRIPTION_ID over the file's ws_url: %s, %v, %v", c.WSURL(), err, c.CheckZoom())
	}
	c.Zoom.WSURL = "wss://ws.zoom.us/ws?subscriptionId=OTHER"
	if err := c.CheckZoom(); err == nil || !strings.Contains(err.Error(), "set only one of them") {
		t.Errorf("two subscriptions: %v", err)
	}
	// A setting is named as the file names it when it came from there.
	os.WriteFile(path, []byte("[zoom]\nws_url = \"https://ws.zoom.us/ws?subscriptionId=FILE\"\n"), 0o600)
	c, _ = Load(path, env(base))
	if err := c.CheckZoom(); err == nil || !strings.HasPrefix(err.Error(), "ws_url in "+path+" ") || c.Name("ZOOM_CLIENT_ID") != "ZOOM_CLIENT_ID" {
		t.Errorf("a file's bad ws_url: %v; client id named %q", err, c.Name("ZOOM_CLIENT_ID"))
	}
	c, _ = Load(path, with("ZOOM_WS_URL", "wss://ws.zoom.us/ws?subscriptionId=X#frag"))
	if err := c.CheckZoom(); err == nil || !strings.Contains(err.Error(), "#fragment") {
		t.Errorf("a fragment: %v", err)
	}
}

func TestMissingSettingsNameTheVariable(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "absent.toml"), env(nil))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("explicit missing config file: %v", err)
	}
	c, err = Load("", env(map[string]string{"XDG_CONFIG_HOME": t.TempDir(), "ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckZoom()
	if !errors.As(err, &ce) {
		t.Fatalf("CheckZoom = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"ZOOM_CLIENT_SECRET is not set", "App Credentials", "ZOOM_WS_URL is not set", "ZOOM_SUBSCRIPTION_ID", "zoomwatch demo"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "ZOOM_ACCOUNT_ID is not set") {
		t.Errorf("names a variable that is set:\n%s", msg)
	}
	c.Zoom.ClientSecret, c.Zoom.WSURL = "s", "wss://ws.zoom.us/ws?subscriptionId=X&access_token=abc"
	if err := c.CheckZoom(); err == nil || !strings.Contains(err.Error(), "access_token") {
		t.Fatalf("token in URL: %v", err)
	}
	c.Zoom.WSURL = "https://example.com/"
	if err := c.CheckZoom(); err == nil || !strings.Contains(err.Error(), "not a WebSocket URL") {
		t.Fatalf("bad URL: %v", err)
	}
	// Unencrypted only to this machine (a simulator).
	for ws, oauth := range map[string]string{"ws://zoom.example/ws?subscriptionId=X": DefaultOAuthURL, "wss://ws.zoom.us/ws?subscriptionId=X": "http://zoom.example/oauth/token"} {
		c.Zoom.WSURL, c.Zoom.OAuthURL = ws, oauth
		if err := c.CheckZoom(); err == nil || !strings.Contains(err.Error(), "unencrypted") {
			t.Errorf("%s, %s: %v", ws, oauth, err)
		}
	}
	c.Zoom.WSURL, c.Zoom.OAuthURL = "ws://127.0.0.1:9000/ws?subscriptionId=X", "http://localhost:9000/oauth/token"
	if err := c.CheckZoom(); err != nil {
		t.Errorf("a local simulator: %v", err)
	}
	// A simulator on this machine's own LAN address is this machine too.
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			c.Zoom.WSURL = "ws://" + n.IP.String() + ":9000/ws?subscriptionId=X"
			if err := c.CheckZoom(); err != nil {
				t.Errorf("a simulator on %s: %v", n.IP, err)
			}
			break
		}
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"syntax":                "heartbeat = \n",
		"unknown key":           "[zoom]\nacount_id = \"x\"\n",
		"bad duration":          "heartbeat = \"soon\"\n",
		"bad size":              "max_db_size = \"big\"\n",
		"wrong type":            "ssh = 3\n",
		"world-readable secret": "[zoom]\nclient_secret = \"s\"\n",
	}
	// A secret the parser cannot read must not be quoted back: unquoted, a number, or the
	// file written as environment variables.
	for name, body := range map[string]string{
		"unquoted secret": "[zoom]\nclient_secret = AbCdEfGhIjKlMnOpQrStUvWxYz0123\n",
		"numeric secret":  "[zoom]\nclient_secret = 12345678901234567890123\n",
		"dotenv":          "ZOOM_ACCOUNT_ID=\"a\"\nZOOM_CLIENT_SECRET=AbCdEfGhIjKlMnOpQrStUvWxYz0123\n",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".toml")
		os.WriteFile(path, []byte(body), 0o600)
		_, err := Load(path, env(nil))
		if err == nil || strings.Contains(err.Error(), "AbCdEf") || strings.Contains(err.Error(), "12345678901234567890123") {
			t.Errorf("%s: %v, want an error without the secret", name, err)
		}
	}
	for name, body := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".toml")
		os.WriteFile(path, []byte(body), 0o644)
		_, err := Load(path, env(nil))
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if strings.Contains(err.Error(), `"s"`) {
			t.Errorf("%s: error shows the secret: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// An unknown setting says what it may have meant: the same name in another section, or a
// setting a typo away.
func TestUnknownSettingsSuggest(t *testing.T) {
	for body, want := range map[string]string{
		"heartbeet = \"30s\"\n":              "unknown setting heartbeet (did you mean heartbeat?)",
		"[zoom]\nheartbeat = \"30s\"\n":      "unknown setting zoom.heartbeat (heartbeat belongs at the top of the file, before any [section])",
		"[ssh]\naccount_id = \"x\"\n":        "unknown setting ssh.account_id (account_id belongs under [zoom])",
		"[zoom]\nacount_id = \"x\"\n":        "unknown setting zoom.acount_id (did you mean zoom.account_id?)",
		"[zoom]\nfavourite_colour = \"x\"\n": "unknown setting zoom.favourite_colour (see README",
		// Type errors in the file's terms, not Go's.
		"[ssh]\nmax_sessions = \"many\"\n": "c.toml:2: ssh.max_sessions wants a number, not a quoted string",
		"ssh = 3\n":                        "c.toml:1: ssh is a section: write [ssh] and its settings on the lines under it, not a number",
	} {
		if _, err := Parse("c.toml", []byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}

func TestParseSizeAndDuration(t *testing.T) {
	for in, want := range map[string]int64{"500MB": 500e6, "2GiB": 2 << 30, "1048576": 1 << 20, "1.5G": 3 << 29} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-1MB", "lots", "1e30TB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	if n, err := ParseSize("1MB"); n != 1e6 || err != nil { // the least the message asks for
		t.Errorf("ParseSize(\"1MB\") = %d, %v", n, err)
	}
	// A unit left out would prune every event as it is stored.
	for _, small := range []string{"1", "2048", "0.5MB", "1KB"} {
		if _, err := ParseSize(small); err == nil || !strings.Contains(err.Error(), "less than a store needs") {
			t.Errorf("ParseSize(%q): %v, want it refused as too small", small, err)
		}
	}
	if n, err := ParseSize("0"); n != 0 || err != nil {
		t.Errorf("ParseSize(\"0\") (no limit) = %d, %v", n, err)
	}
	if d, err := ParseDuration("1.5d"); err != nil || d != 36*time.Hour {
		t.Errorf("1.5d = %v %v", d, err)
	}
}

// TestParseDurationRefusesWhatOverflows: 999999d used to wrap around time.Duration into a
// time in the future (or, for a setting, a negative duration).
func TestParseDurationRefusesWhatOverflows(t *testing.T) {
	for _, s := range []string{"999999d", "106752d", "50000w", "100000000h", "36501d", "36500d1s", strings.Repeat("9", 400) + "h"} {
		_, err := ParseDuration(s)
		if want := fmt.Sprintf("%q is too long: at most 100 years, 36500d", s); !errors.Is(err, ErrTooLong) || err.Error() != want {
			t.Errorf("ParseDuration(%q): %v, want %q", s, err, want)
		}
	}
	for in, want := range map[string]time.Duration{
		"36500d": MaxDuration, "1w": 7 * 24 * time.Hour, "1.5d": 36 * time.Hour, "1d12h": 36 * time.Hour,
		"1h30m": 90 * time.Minute, "1.5h": 90 * time.Minute, "90s": 90 * time.Second, "500ms": 500 * time.Millisecond,
		"0": 0, "0s": 0, " 30s ": 30 * time.Second, "+2h": 2 * time.Hour, "1.1s": 1100 * time.Millisecond, "3µs": 3 * time.Microsecond,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-5s", "5", "1x", "d", "1h30", "14:03", "2026-11-22", "1e3s", "1..5h", "1hm"} {
		if _, err := ParseDuration(bad); err == nil || errors.Is(err, ErrTooLong) {
			t.Errorf("ParseDuration(%q): %v, want a bad duration", bad, err)
		}
	}
}

// TestKeysTakeOneKeyAndTheHelpScreensNames: quit = "q" used to fail with "incompatible
// types: TOML value has type string; destination has type slice", and pgdn (as the help
// screen shows pgdown) was not a key name.
func TestKeysTakeOneKeyAndTheHelpScreensNames(t *testing.T) {
	c, err := Parse("config.toml", []byte("[keys]\nquit = \"x\"\npagedown = [\"pgdn\", \"shift+pgdn\"]\nup = [\"↑\", \"k\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Keys{"quit": {"x"}, "pagedown": {"pgdown", "shift+pgdown"}, "up": {"up", "k"}}
	if !reflect.DeepEqual(c.Keys, want) {
		t.Errorf("keys %q, want %q", c.Keys, want)
	}
	for in, msg := range map[string]string{
		"[keys]\nquit = 5\n":   `keys: quit: want a key or a list of keys in quotes, e.g. quit = "q" or quit = ["q", "x"]`,
		"[keys]\nquit = [5]\n": `keys: quit: 5 is not a key name in quotes, e.g. quit = ["q"]`,
	} {
		_, err := Parse("config.toml", []byte(in))
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", in, err, msg)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("heartbeat = \"30s\"\n[zoom]\naccount_id = \"a\"\n[keys]\nquit = [\"q\"]\n"))
	f.Add([]byte("[ssh]\nlisten = \":2222\"\nmax_sessions = 4\nidle_timeout = \"1h\"\n"))
	f.Add([]byte("max_db_size = \"2GB\"\nretain = \"30d\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		_ = c.CheckZoom()
		_ = c.WSURL()
	})
}
