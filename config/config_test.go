package config

import (
	"errors"
	"os"
	"path/filepath"
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
	if d, err := ParseDuration("1.5d"); err != nil || d != 36*time.Hour {
		t.Errorf("1.5d = %v %v", d, err)
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
