// Package config loads zoomwatch's settings: defaults < config file < environment < flags
// (flags are applied by the command line). It knows where things live (XDG directories) and
// how to tell a user exactly which setting is missing and where to get it.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"zoomwatch/internal/numfmt"
	"zoomwatch/internal/suggest"
)

// Config is every setting.
type Config struct {
	Zoom      Zoom     `toml:"zoom"`
	DB        string   `toml:"db"`
	Log       string   `toml:"log"`
	Heartbeat Duration `toml:"heartbeat"`
	Retain    Duration `toml:"retain"`
	MaxDBSize Size     `toml:"max_db_size"`
	SSH       SSH      `toml:"ssh"`
	Keys      Keys     `toml:"keys"` // action → keys, e.g. quit = ["q", "ctrl+c"]

	// File is the config file that was read ("" when none).
	File string `toml:"-"`
	// fromFile: the Zoom settings (by variable name) that the file gave.
	fromFile map[string]bool
}

// Zoom is the Server-to-Server OAuth app and its event subscription.
type Zoom struct {
	AccountID      string `toml:"account_id"`
	ClientID       string `toml:"client_id"`
	ClientSecret   string `toml:"client_secret"`
	WSURL          string `toml:"ws_url"`
	SubscriptionID string `toml:"subscription_id"`
	OAuthURL       string `toml:"oauth_url"`
}

// SSH configures serving the monitor over SSH.
type SSH struct {
	Listen         string   `toml:"listen"`
	AuthorizedKeys string   `toml:"authorized_keys"`
	HostKey        string   `toml:"host_key"`
	IdleTimeout    Duration `toml:"idle_timeout"`
	MaxSessions    int      `toml:"max_sessions"`
}

const (
	DefaultOAuthURL  = "https://zoom.us/oauth/token"
	DefaultWSBase    = "wss://ws.zoom.us/ws"
	DefaultHeartbeat = 30 * time.Second
)

// Defaults returns the settings before any file, environment or flag.
func Defaults() Config {
	return Config{
		Zoom:      Zoom{OAuthURL: DefaultOAuthURL},
		Heartbeat: Duration(DefaultHeartbeat),
		SSH:       SSH{IdleTimeout: Duration(30 * time.Minute), MaxSessions: 32},
	}
}

// EnvVar is an environment variable that sets a Zoom setting.
type EnvVar struct {
	Name, Key string // the variable, and the file's name for the setting
	Field     func(c *Config) *string
}

// Env maps environment variables to settings; the names are the command-line contract.
var Env = []EnvVar{
	{"ZOOM_ACCOUNT_ID", "account_id", func(c *Config) *string { return &c.Zoom.AccountID }},
	{"ZOOM_CLIENT_ID", "client_id", func(c *Config) *string { return &c.Zoom.ClientID }},
	{"ZOOM_CLIENT_SECRET", "client_secret", func(c *Config) *string { return &c.Zoom.ClientSecret }},
	{"ZOOM_WS_URL", "ws_url", func(c *Config) *string { return &c.Zoom.WSURL }},
	{"ZOOM_SUBSCRIPTION_ID", "subscription_id", func(c *Config) *string { return &c.Zoom.SubscriptionID }},
	{"ZOOM_OAUTH_URL", "oauth_url", func(c *Config) *string { return &c.Zoom.OAuthURL }},
}

// Name is how messages call the Zoom setting whose variable is env: as the config file
// names it when the value came from there ("ws_url in /home/ada/.config/zoomwatch/config.toml").
func (c Config) Name(env string) string {
	for _, e := range Env {
		if e.Name == env && c.fromFile[env] {
			return e.Key + " in " + c.File
		}
	}
	return env
}

// Load reads the config file (path, or the default location if path is "") over the
// defaults, then the environment (getenv; nil means os.Getenv) over that.
func Load(path string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Defaults()
	explicit := path != ""
	if !explicit {
		path = DefaultFile(getenv)
	}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := c.parse(path, data); err != nil {
				return c, err
			}
			if err := checkSecretPerms(path, c); err != nil {
				return c, err
			}
			c.File = path
		case explicit || !errors.Is(err, fs.ErrNotExist):
			return c, &Error{Msg: fmt.Sprintf("config file: %v", err)}
		}
	}
	// ZOOM_WS_URL and ZOOM_SUBSCRIPTION_ID name the subscription two ways: either in the
	// environment overrides the file's, whichever way the file names it.
	if strings.TrimSpace(getenv("ZOOM_WS_URL")+getenv("ZOOM_SUBSCRIPTION_ID")) != "" {
		c.Zoom.WSURL, c.Zoom.SubscriptionID = "", ""
	}
	c.fromFile = map[string]bool{}
	def := Defaults()
	for _, e := range Env {
		if v := strings.TrimSpace(getenv(e.Name)); v != "" {
			*e.Field(&c) = v
		} else {
			c.fromFile[e.Name] = c.File != "" && *e.Field(&c) != *e.Field(&def)
		}
	}
	return c, nil
}

// Parse reads a config file's contents over the defaults (the fuzz target).
func Parse(path string, data []byte) (Config, error) {
	c := Defaults()
	err := c.parse(path, data)
	return c, err
}

func (c *Config) parse(path string, data []byte) error {
	md, err := toml.Decode(string(data), c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// The parser quotes what it found, which on the secret's line is the secret.
			if lines := strings.Split(string(data), "\n"); pe.Position.Line >= 1 && pe.Position.Line <= len(lines) &&
				strings.Contains(strings.ToLower(lines[pe.Position.Line-1]), "secret") {
				return &Error{Msg: fmt.Sprintf(`%s:%d: the client secret's line is not TOML: write it as client_secret = "…", quoted, under [zoom] (the file is TOML, not a list of environment variables)`, path, pe.Position.Line)}
			}
			return &Error{Msg: fmt.Sprintf("%s:%d: %s", path, pe.Position.Line, pe.Message)}
		}
		return &Error{Msg: path + plainTypeError(err.Error())}
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String() + suggestKey(k.String())
		}
		return &Error{Msg: fmt.Sprintf("%s: unknown setting %s (see README for the settings)", path, strings.Join(keys, ", "))}
	}
	return nil
}

var typeErrorRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]+)"\): (?:incompatible types: TOML value has type (\S+); destination has type (\S+)|type mismatch for \S+: expected table but found (\S+))$`)

// plainTypeError says a TOML decoder's type error in the file's terms, to follow the file's
// name: ":2: ssh.max_sessions wants a number, not a quoted string" rather than Go's types.
func plainTypeError(msg string) string {
	m := typeErrorRE.FindStringSubmatch(msg)
	if m == nil {
		return ": " + msg
	}
	kind := func(t string) string {
		switch {
		case t == "string":
			return "a quoted string"
		case t == "integer" || strings.HasPrefix(t, "int") || strings.HasPrefix(t, "float"):
			return "a number"
		case t == "bool":
			return "true or false"
		case strings.HasPrefix(t, "[]"):
			return "a list"
		}
		return "a [section]"
	}
	if m[5] != "" {
		return fmt.Sprintf(":%s: %s is a section: write [%s] and its settings on the lines under it, not %s", m[1], m[2], m[2], kind(m[5]))
	}
	return fmt.Sprintf(":%s: %s wants %s, not %s", m[1], m[2], kind(m[4]), kind(m[3]))
}

// suggestKey says what an unknown setting may have meant: a setting of that name in another
// section (heartbeat written under [zoom]), or one a typo away.
func suggestKey(unknown string) string {
	known := settingNames(reflect.TypeFor[Config](), "")
	_, last, _ := strings.Cut(unknown, ".")
	if last == "" {
		last = unknown
	}
	for _, k := range known {
		if k == last || strings.HasSuffix(k, "."+last) { // unknown where it is: known elsewhere
			if table, _, ok := strings.Cut(k, "."); ok {
				return fmt.Sprintf(" (%s belongs under [%s])", last, table)
			}
			return fmt.Sprintf(" (%s belongs at the top of the file, before any [section])", last)
		}
	}
	if near := suggest.Nearest(unknown, known); len(near) > 0 {
		return " (did you mean " + near[0] + "?)"
	}
	return ""
}

// settingNames lists the dotted names of t's settings, from their toml tags.
func settingNames(t reflect.Type, prefix string) []string {
	var names []string
	for f := range t.Fields() {
		tag := f.Tag.Get("toml")
		switch {
		case tag == "" || tag == "-":
		case f.Type.Kind() == reflect.Struct:
			names = append(names, settingNames(f.Type, prefix+tag+".")...)
		default:
			names = append(names, prefix+tag)
		}
	}
	return names
}

// checkSecretPerms refuses a config file holding the client secret that others can read.
func checkSecretPerms(path string, c Config) error {
	if c.Zoom.ClientSecret == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return &Error{Msg: fmt.Sprintf("%s holds the client secret but others can read it (mode %04o): run chmod 600 %s", path, fi.Mode().Perm(), path)}
	}
	return nil
}

// Error is a configuration problem: the command line reports it and exits 2.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// how tells where each Zoom setting comes from in the Marketplace.
var how = map[string]string{
	"ZOOM_ACCOUNT_ID":    "the Account ID of your Server-to-Server OAuth app (Zoom App Marketplace → Manage → your app → App Credentials)",
	"ZOOM_CLIENT_ID":     "the Client ID of your Server-to-Server OAuth app (Zoom App Marketplace → Manage → your app → App Credentials)",
	"ZOOM_CLIENT_SECRET": "the Client Secret of your Server-to-Server OAuth app (Zoom App Marketplace → Manage → your app → App Credentials); keep it in the environment or a chmod 600 config file, never on the command line",
	"ZOOM_WS_URL":        "the Endpoint URL of your WebSocket event subscription, wss://ws.zoom.us/ws?subscriptionId=… (your app → Features → Event Subscriptions, method WebSocket); or set ZOOM_SUBSCRIPTION_ID to the id alone",
}

// CheckZoom reports the first missing or malformed Zoom setting, saying what it is and how
// to get it.
func (c Config) CheckZoom() error {
	var missing []string
	for _, m := range []struct{ name, v string }{
		{"ZOOM_ACCOUNT_ID", c.Zoom.AccountID},
		{"ZOOM_CLIENT_ID", c.Zoom.ClientID},
		{"ZOOM_CLIENT_SECRET", c.Zoom.ClientSecret},
		{"ZOOM_WS_URL", c.Zoom.WSURL + c.Zoom.SubscriptionID},
	} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		var b strings.Builder
		for _, m := range missing {
			fmt.Fprintf(&b, "%s is not set: it is %s.\n", m, how[m])
		}
		b.WriteString("Set them in the environment or in " + c.fileHint() + ". No Zoom account at hand? Try `zoomwatch demo`.")
		return &Error{Msg: b.String()}
	}
	u, err := url.Parse(c.WSURL())
	if err != nil || (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" {
		return &Error{Msg: fmt.Sprintf("%s %q is not a WebSocket URL: it should look like wss://ws.zoom.us/ws?subscriptionId=…", c.Name("ZOOM_WS_URL"), c.Zoom.WSURL)}
	}
	if u.Query().Get("subscriptionId") == "" {
		return &Error{Msg: fmt.Sprintf("%s %q has no subscriptionId: copy the whole Endpoint URL from your app's Event Subscriptions page", c.Name("ZOOM_WS_URL"), c.Zoom.WSURL)}
	}
	if u.Fragment != "" || strings.Contains(c.Zoom.WSURL, "#") {
		// The token is appended to the query: after a #, it is never sent.
		return &Error{Msg: fmt.Sprintf("%s %q has a #fragment: remove it (from the #)", c.Name("ZOOM_WS_URL"), c.Zoom.WSURL)}
	}
	if id := u.Query().Get("subscriptionId"); c.Zoom.WSURL != "" && c.Zoom.SubscriptionID != "" && id != c.Zoom.SubscriptionID {
		return &Error{Msg: fmt.Sprintf("%s names subscription %q and %s %q: set only one of them", c.Name("ZOOM_WS_URL"), id, c.Name("ZOOM_SUBSCRIPTION_ID"), c.Zoom.SubscriptionID)}
	}
	if u.Query().Has("access_token") {
		return &Error{Msg: c.Name("ZOOM_WS_URL") + " must not contain an access_token: zoomwatch fetches and appends a fresh one itself"}
	}
	o, err := url.Parse(c.Zoom.OAuthURL)
	if err != nil || (o.Scheme != "https" && o.Scheme != "http") || o.Host == "" {
		return &Error{Msg: fmt.Sprintf("%s %q is not an http(s) URL", c.Name("ZOOM_OAUTH_URL"), c.Zoom.OAuthURL)}
	}
	// Unencrypted schemes are for a simulator on this machine: elsewhere they would send
	// the client secret and the tokens in the clear.
	if u.Scheme == "ws" && !loopback(u.Hostname()) {
		return &Error{Msg: fmt.Sprintf("%s %q is plain ws://, which would send the access token unencrypted: use wss:// (ws:// is for a simulator on this machine)", c.Name("ZOOM_WS_URL"), c.Zoom.WSURL)}
	}
	if o.Scheme == "http" && !loopback(o.Hostname()) {
		return &Error{Msg: fmt.Sprintf("%s %q is plain http://, which would send the client secret unencrypted: use https:// (http:// is for a simulator on this machine)", c.Name("ZOOM_OAUTH_URL"), c.Zoom.OAuthURL)}
	}
	return nil
}

// loopback reports whether host names this machine: localhost, a loopback address, or one of
// its interfaces' addresses (a simulator listening on the machine's LAN address).
func loopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

func (c Config) fileHint() string {
	if c.File != "" {
		return c.File
	}
	if f := DefaultFile(os.Getenv); f != "" {
		return f + " (chmod 600)"
	}
	return "the config file (chmod 600)"
}

// WSURL is the subscription endpoint without a token: ZOOM_WS_URL as given, or built from
// ZOOM_SUBSCRIPTION_ID on Zoom's default host.
func (c Config) WSURL() string {
	if c.Zoom.WSURL != "" {
		return c.Zoom.WSURL
	}
	return DefaultWSBase + "?subscriptionId=" + url.QueryEscape(c.Zoom.SubscriptionID)
}

// StateDir is where the database and log live: $XDG_STATE_HOME/zoomwatch, by default
// ~/.local/state/zoomwatch.
func StateDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "zoomwatch"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a home directory for the database (set --db): %w", err)
	}
	return filepath.Join(home, ".local", "state", "zoomwatch"), nil
}

// DefaultFile is $XDG_CONFIG_HOME/zoomwatch/config.toml (by default under ~/.config).
func DefaultFile(getenv func(string) string) string {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "zoomwatch", "config.toml")
}

// Duration is a time.Duration written as "30s", "12h", "30d" in the config file.
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	*d = Duration(v)
	return err
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// MaxDuration is the longest duration zoomwatch takes: 100 years. time.Duration ends at
// about 292 years, and past that a duration wraps around (999999d ago was read as a time in
// the future).
const MaxDuration = 36500 * 24 * time.Hour

// ErrTooLong is wrapped by ParseDuration's error for a duration longer than MaxDuration.
var ErrTooLong = errors.New("at most 100 years, 36500d")

var durationUnits = map[string]float64{
	"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
	"d": 24 * 3600e9, "w": 7 * 24 * 3600e9,
}

// ParseDuration reads what time.ParseDuration does plus days and weeks ("30d", "1.5d",
// "1w", "1d12h"); negative durations and ones longer than MaxDuration are errors. It is
// the one reader of durations, settings and "2h ago" alike, so that none of them can
// overflow.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("bad duration %q: use e.g. 30s, 12h, 30d or 1w", s)
	if s == "0" {
		return 0, nil
	}
	// Summed in float64 nanoseconds, which cannot overflow; exact to the nanosecond up to
	// 104 days, and to a microsecond beyond.
	var ns float64
	for rest := strings.TrimPrefix(s, "+"); ; {
		num := len(rest) - len(strings.TrimLeft(rest, "0123456789."))
		unit := num + len(rest[num:]) - len(strings.TrimLeft(rest[num:], "nuµμsmhdw"))
		n, err := strconv.ParseFloat(rest[:num], 64)
		mult, ok := durationUnits[rest[num:unit]]
		if err != nil && !errors.Is(err, strconv.ErrRange) || !ok {
			return 0, bad
		}
		ns += n * mult
		if rest = rest[unit:]; rest == "" {
			break
		}
	}
	if ns > float64(MaxDuration) {
		return 0, fmt.Errorf("%q is too long: %w", s, ErrTooLong)
	}
	return time.Duration(math.Round(ns)), nil
}

// Keys is the [keys] table: action → keys. An action takes one key as a string too
// (quit = "q"), and the names the help screen shows for keys (pgdn, ↑, ↓) as well as the
// key names Bubble Tea reports (pgdown, up, down); validating them is the TUI's job.
type Keys map[string][]string

// keyAliases maps the help screen's names for keys to Bubble Tea's.
var keyAliases = map[string]string{"pgdn": "pgdown", "↑": "up", "↓": "down"}

func (k *Keys) UnmarshalTOML(v any) error {
	table, ok := v.(map[string]any)
	if !ok {
		return errors.New("keys: want a table of action = [\"key\", …]")
	}
	*k = Keys{}
	for action, val := range table {
		var keys []string
		switch val := val.(type) {
		case string:
			keys = []string{val}
		case []any:
			for _, e := range val {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("keys: %s: %v is not a key name in quotes, e.g. %s = [\"q\"]", action, e, action)
				}
				keys = append(keys, s)
			}
		default:
			return fmt.Errorf("keys: %s: want a key or a list of keys in quotes, e.g. %s = \"q\" or %s = [\"q\", \"x\"]", action, action, action)
		}
		for i, key := range keys {
			// The alias is the key itself or follows modifiers: "shift+pgdn".
			mods, base := "", key
			if j := strings.LastIndex(key, "+"); j > 0 && j < len(key)-1 {
				mods, base = key[:j+1], key[j+1:]
			}
			if name, ok := keyAliases[base]; ok {
				keys[i] = mods + name
			}
		}
		(*k)[action] = keys
	}
	return nil
}

// Size is a byte count written as "500MB", "2GB" or plain bytes.
type Size int64

func (z *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	*z = Size(v)
	return err
}

func (z Size) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(z), 10)), nil }

// ParseSize reads "2GB", "500MiB", "1048576".
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("bad size %q: use e.g. 500MB or 2GB", s)
	}
	n := int64(f * float64(mult))
	if n > 0 && n < MinSize {
		// Most likely a unit left out ("1" for 1GB): a limit this small would prune every
		// event as soon as it is stored.
		return 0, fmt.Errorf("size %q is %s, less than a store needs (at least 1MB): use e.g. 500MB or 2GB, or 0 for no limit", s, numfmt.Plural(n, "byte"))
	}
	return n, nil
}

// MinSize is the smallest size limit taken.
const MinSize = 1_000_000
