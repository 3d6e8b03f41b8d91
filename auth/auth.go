// Package auth gets Server-to-Server OAuth access tokens from Zoom's token endpoint
// (PROTOCOL.md §2): one POST with Basic auth and grant_type=account_credentials, a cached
// token refreshed when fewer than 60 seconds remain or when the WebSocket server calls it
// invalid, and typed errors that tell rejected credentials from an unreachable endpoint. The
// client secret and the tokens never appear in errors, logs or String output.
package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultURL is Zoom's token endpoint.
const DefaultURL = "https://zoom.us/oauth/token"

// refreshBefore is how early a cached token is replaced (Zoom's own SDK uses 60 s).
const refreshBefore = 60 * time.Second

// Config is the Server-to-Server OAuth app.
type Config struct {
	URL                               string // "" = DefaultURL
	AccountID, ClientID, ClientSecret string
	HTTPClient                        *http.Client     // nil = a client with a 15 s timeout
	Now                               func() time.Time // nil = time.Now
}

// String shows the app without its secret (nor the URL's user info and query, in case one
// was pasted there), should a Config ever be printed.
func (c Config) String() string {
	secret, u := "(none)", c.URL
	if c.ClientSecret != "" {
		secret = "[redacted]"
	}
	if u != "" {
		u = endpoint(u)
	}
	return fmt.Sprintf("auth.Config{URL: %q, AccountID: %q, ClientID: %q, ClientSecret: %s}", u, c.AccountID, c.ClientID, secret)
}

// GoString and LogValue: the same for %#v and structured logs.
func (c Config) GoString() string     { return c.String() }
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Token is an access token. Its String and LogValue never show the value.
type Token struct {
	Value  string
	Expiry time.Time
	Scope  []string
}

func (t Token) String() string {
	if t.Value == "" {
		return "token(none)"
	}
	return "token(expires " + t.Expiry.Format("15:04:05") + ")"
}

// GoString and LogValue: the same for %#v and structured logs.
func (t Token) GoString() string     { return t.String() }
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// RejectedError: the token endpoint refused the credentials (HTTP 4xx). Retrying quickly
// will not help.
type RejectedError struct {
	Status int
	Code   string // Zoom's "error", e.g. invalid_client
	Reason string // Zoom's "reason", e.g. Invalid client_id or client_secret
	// NoEndpoint: the URL answered that it has no such page (404, 405): the token URL is
	// wrong, not the credentials.
	NoEndpoint bool
}

func (e *RejectedError) Error() string {
	if e.NoEndpoint {
		return fmt.Sprintf("the token URL is not Zoom's token endpoint: HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	var b strings.Builder
	b.WriteString("Zoom rejected the credentials: ")
	switch {
	case e.Code != "" && e.Reason != "":
		b.WriteString(e.Code + ": " + e.Reason)
	case e.Code != "" || e.Reason != "":
		b.WriteString(e.Code + e.Reason)
	default:
		b.WriteString(http.StatusText(e.Status))
	}
	fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	return b.String()
}

// UnavailableError: the token endpoint could not be reached or failed (network, timeout,
// 5xx, garbage). Worth retrying.
type UnavailableError struct {
	Status int // 0 when no HTTP response
	Err    error
}

func (e *UnavailableError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("token endpoint failed (HTTP %d): %v", e.Status, e.Err)
	}
	return "token endpoint unreachable: " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Source hands out access tokens, fetching a new one only when needed.
type Source struct {
	cfg  Config
	mu   sync.Mutex
	tok  Token
	wait chan struct{} // non-nil while a fetch is in flight; closed when it ends
	err  error         // the in-flight fetch's result, for its waiters
}

// New returns a token source for the app.
func New(cfg Config) *Source {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Source{cfg: cfg}
}

// String, GoString and LogValue show the source without its secret or token (fmt would
// otherwise print unexported fields raw).
func (s *Source) String() string {
	return "auth.Source" + strings.TrimPrefix(s.cfg.String(), "auth.Config")
}
func (s *Source) GoString() string     { return s.String() }
func (s *Source) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Token returns a valid token, from the cache while more than 60 seconds of it remain.
// Concurrent callers share one request.
func (s *Source) Token(ctx context.Context) (Token, error) {
	for {
		s.mu.Lock()
		if s.tok.Value != "" && s.cfg.Now().Add(refreshBefore).Before(s.tok.Expiry) {
			t := s.tok
			s.mu.Unlock()
			return t, nil
		}
		if w := s.wait; w != nil {
			s.mu.Unlock()
			select {
			case <-w:
			case <-ctx.Done():
				return Token{}, ctx.Err()
			}
			s.mu.Lock()
			err := s.err
			s.mu.Unlock()
			// The shared fetch ending because its caller gave up says nothing about this
			// caller, who goes round again (and may fetch itself).
			if err != nil && err != context.Canceled && err != context.DeadlineExceeded {
				return Token{}, err
			}
			continue
		}
		w := make(chan struct{})
		s.wait = w
		s.mu.Unlock()

		t, err := s.fetch(ctx)

		s.mu.Lock()
		if err == nil {
			s.tok = t
		}
		s.err, s.wait = err, nil
		close(w)
		s.mu.Unlock()
		return t, err
	}
}

// Invalidate drops the cached token: the WebSocket server said it is invalid.
func (s *Source) Invalidate() {
	s.mu.Lock()
	s.tok = Token{}
	s.mu.Unlock()
}

type tokenResponse struct {
	AccessToken string      `json:"access_token"`
	ExpiresIn   json.Number `json:"expires_in"`
	Scope       string      `json:"scope"`
	// Zoom's error body: {"reason":"Invalid client_id or client_secret","error":"invalid_client"}.
	Reason string          `json:"reason"`
	Error  json.RawMessage `json:"error"` // a string from Zoom; anything else is ignored
}

func (s *Source) fetch(ctx context.Context) (Token, error) {
	form := url.Values{"grant_type": {"account_credentials"}, "account_id": {s.cfg.AccountID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, strings.NewReader(form.Encode()))
	if err != nil {
		// Not err: it quotes the URL, which is configuration the user may have pasted a
		// secret into.
		return Token{}, &UnavailableError{Err: errors.New("bad token endpoint URL")}
	}
	req.SetBasicAuth(s.cfg.ClientID, s.cfg.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := s.cfg.Now()
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Token{}, ctx.Err()
		}
		return Token{}, &UnavailableError{Err: scrub(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return Token{}, ctx.Err()
		}
		return Token{}, &UnavailableError{Status: resp.StatusCode, Err: scrub(err)}
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	code, reason := s.redact(errorCode(tr.Error)), s.redact(tr.Reason)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		// 4xx, but about the moment, not the credentials.
		return Token{}, &UnavailableError{Status: resp.StatusCode, Err: statusErr(resp.StatusCode, code, reason)}
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return Token{}, &RejectedError{Status: resp.StatusCode, NoEndpoint: true}
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return Token{}, &RejectedError{Status: resp.StatusCode, Code: code, Reason: reason}
	case resp.StatusCode != http.StatusOK:
		return Token{}, &UnavailableError{Status: resp.StatusCode, Err: statusErr(resp.StatusCode, code, reason)}
	case jsonErr == nil && tr.AccessToken == "" && (code != "" || reason != ""):
		// An OAuth error in a 200: a refusal all the same.
		return Token{}, &RejectedError{Status: resp.StatusCode, Code: code, Reason: reason}
	case jsonErr != nil || tr.AccessToken == "":
		return Token{}, &UnavailableError{Status: resp.StatusCode, Err: fmt.Errorf(
			"the response (%s, %d bytes) carries no access_token: is %s the token endpoint?",
			contentType(resp), len(body), endpoint(s.cfg.URL))}
	}
	secs, err := tr.ExpiresIn.Float64()
	if err != nil || secs <= 0 {
		secs = 3600 // Zoom's documented lifetime
	}
	// Counted from before the request, so the cached expiry is never later than Zoom's.
	t := Token{Value: tr.AccessToken, Expiry: start.Add(time.Duration(secs * float64(time.Second)))}
	if tr.Scope != "" {
		t.Scope = strings.Fields(tr.Scope)
	}
	return t, nil
}

// statusErr describes a failed response by Zoom's error fields, else by its status.
func statusErr(status int, code, reason string) error {
	switch {
	case code != "" && reason != "":
		return errors.New(code + ": " + reason)
	case code != "" || reason != "":
		return errors.New(code + reason)
	}
	return errors.New(http.StatusText(status))
}

// errorCode reads Zoom's "error" field, a string (an OAuth code); anything else is ignored.
func errorCode(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

func contentType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return strconv.Quote(ct)
	}
	return "no content type"
}

// redact removes the secret from text the endpoint sent back, in case it echoes requests,
// and bounds its length: it ends up in error messages and on screen.
func (s *Source) redact(text string) string {
	basic := base64.StdEncoding.EncodeToString([]byte(s.cfg.ClientID + ":" + s.cfg.ClientSecret))
	for _, secret := range []string{s.cfg.ClientSecret, basic} {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "[redacted]")
		}
	}
	if len(text) > 300 {
		text = strings.ToValidUTF8(text[:300], "") + "…"
	}
	return text
}

// scrub keeps transport errors useful without the request URL's query string or user info
// (Zoom's endpoint carries neither, but a configured one might).
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", strings.ToLower(ue.Op), endpoint(ue.URL), ue.Err)
	}
	return err
}

// endpoint is a URL without user info, query or fragment.
func endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the token endpoint"
	}
	return u.Scheme + "://" + u.Host + u.Path
}
