package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testAccount = "acct 42" // the space checks the form encoding
	testClient  = "client-id-7"
	testSecret  = "s3cr3t-VALUE-xyz"
	testToken   = "eyJhbGciOi.test-token.sig"
)

// clock is a settable fake time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 14, 2, 22, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// tokenServer answers every request with a fresh token and counts the requests.
func tokenServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"%s-%d","token_type":"bearer","expires_in":3600,"scope":"a:read b:write","api_url":"https://api.zoom.us"}`, testToken, i)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func newSource(url string, now func() time.Time) *Source {
	return New(Config{URL: url, AccountID: testAccount, ClientID: testClient, ClientSecret: testSecret, Now: now})
}

// unreachable returns a URL on which nothing listens: connection refused.
func unreachable(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestRequestShape(t *testing.T) {
	type seen struct {
		method, path, rawQuery, auth, contentType, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3599,"scope":"meeting:read:admin user:read:admin"}`, testToken)
	}))
	defer srv.Close()
	clk := newClock()
	tok, err := newSource(srv.URL+"/oauth/token", clk.Now).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := <-got
	want := seen{
		method:      "POST",
		path:        "/oauth/token",
		auth:        "Basic " + base64.StdEncoding.EncodeToString([]byte(testClient+":"+testSecret)),
		contentType: "application/x-www-form-urlencoded",
		body:        "account_id=acct+42&grant_type=account_credentials",
	}
	if r != want {
		t.Errorf("request\n got %+v\nwant %+v", r, want)
	}
	if tok.Value != testToken || !tok.Expiry.Equal(clk.Now().Add(3599*time.Second)) {
		t.Errorf("token %q expiring %v, want %q at now+3599s", tok.Value, tok.Expiry, testToken)
	}
	if strings.Join(tok.Scope, ",") != "meeting:read:admin,user:read:admin" {
		t.Errorf("scope %q", tok.Scope)
	}
}

func TestCachedUntilSixtySecondsRemain(t *testing.T) {
	srv, n := tokenServer(t)
	clk := newClock()
	s := newSource(srv.URL, clk.Now)
	ctx := context.Background()
	first, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour - 61*time.Second) // 61 s left: still good
	if tok, _ := s.Token(ctx); tok.Value != first.Value || n.Load() != 1 {
		t.Fatalf("with 61 s left: token %q after %d fetches, want the cached one after 1", tok.Value, n.Load())
	}
	clk.Advance(2 * time.Second) // 59 s left: replaced
	second, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.Value == first.Value || n.Load() != 2 {
		t.Fatalf("with 59 s left: token %q after %d fetches, want a new one after 2", second.Value, n.Load())
	}
	if tok, _ := s.Token(ctx); tok.Value != second.Value || n.Load() != 2 {
		t.Fatalf("the new token is not cached")
	}
}

func TestInvalidate(t *testing.T) {
	srv, n := tokenServer(t)
	s := newSource(srv.URL, newClock().Now)
	ctx := context.Background()
	first, _ := s.Token(ctx)
	s.Invalidate()
	second, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.Value == first.Value || n.Load() != 2 {
		t.Fatalf("after Invalidate: token %q after %d fetches, want a new one", second.Value, n.Load())
	}
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-release
		fmt.Fprintf(w, `{"access_token":%q,"expires_in":3600}`, testToken)
	}))
	defer srv.Close()
	s := newSource(srv.URL, nil)
	const callers = 20
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			tok, err := s.Token(context.Background())
			if err == nil && tok.Value != testToken {
				err = fmt.Errorf("token %q", tok.Value)
			}
			errs <- err
		})
	}
	// Callers arriving after the release find the token cached: one fetch either way.
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d fetches for %d concurrent callers, want 1", n.Load(), callers)
	}
}

// A caller waiting on another's fetch is not failed by that other caller giving up.
func TestWaiterOutlivesCancelledFetch(t *testing.T) {
	first := make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // the server notices a client going away only once the body is read
		if n.Add(1) == 1 {
			close(first)
			<-r.Context().Done() // hold the first fetch until its caller cancels
			return
		}
		fmt.Fprintf(w, `{"access_token":%q,"expires_in":3600}`, testToken)
	}))
	defer srv.Close()
	s := newSource(srv.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() { _, err := s.Token(ctx); leader <- err }()
	<-first
	waiter := make(chan error, 1)
	go func() {
		tok, err := s.Token(context.Background())
		if err == nil && tok.Value != testToken {
			err = fmt.Errorf("token %q", tok.Value)
		}
		waiter <- err
	}()
	cancel()
	if err := <-leader; err != context.Canceled {
		t.Errorf("cancelled caller: %v, want context.Canceled", err)
	}
	if err := <-waiter; err != nil {
		t.Errorf("other caller: %v", err)
	}
}

func TestRejected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"reason":"Invalid client_id or client_secret","error":"invalid_client"}`)
	}))
	defer srv.Close()
	_, err := newSource(srv.URL, nil).Token(context.Background())
	var rej *RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("got %T %v, want *RejectedError", err, err)
	}
	want := "Zoom rejected the credentials: invalid_client: Invalid client_id or client_secret (HTTP 400)"
	if err.Error() != want || rej.Status != 400 || rej.Code != "invalid_client" {
		t.Errorf("got %q (%+v)\nwant %q", err, rej, want)
	}
}

func TestFailuresClassified(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		reject  bool   // else unavailable
		message string // part of the error text
	}{
		{"5xx", 503, `upstream down`, false, "token endpoint failed (HTTP 503): Service Unavailable"},
		{"5xx with Zoom's reason", 500, `{"reason":"Internal Error","error":"server_error"}`, false, "server_error: Internal Error"},
		{"rate limited", 429, `{"reason":"Too many requests","error":"rate_limit"}`, false, "HTTP 429"},
		{"4xx without body", 401, ``, true, "Zoom rejected the credentials: Unauthorized (HTTP 401)"},
		// A wrong token URL, not wrong credentials.
		{"404", 404, `404 page not found`, true, "the token URL is not Zoom's token endpoint: HTTP 404 Not Found"},
		{"200 without token", 200, `<html>captive portal</html>`, false, "carries no access_token"},
		{"200 with empty token", 200, `{"access_token":"","expires_in":3600}`, false, "carries no access_token"},
		{"200 with an OAuth error", 200, `{"reason":"Invalid account_id","error":"invalid_request"}`, true, "invalid_request: Invalid account_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			_, err := newSource(srv.URL, nil).Token(context.Background())
			var rej *RejectedError
			var un *UnavailableError
			switch {
			case tc.reject && !errors.As(err, &rej), !tc.reject && !errors.As(err, &un):
				t.Fatalf("got %T %v, want reject=%v", err, err, tc.reject)
			case un != nil && un.Status != tc.status:
				t.Errorf("Status %d, want %d", un.Status, tc.status)
			case !strings.Contains(err.Error(), tc.message):
				t.Errorf("error %q does not say %q", err, tc.message)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	addr := unreachable(t)
	_, err := newSource("http://"+addr+"/oauth/token", nil).Token(context.Background())
	var un *UnavailableError
	if !errors.As(err, &un) || un.Status != 0 {
		t.Fatalf("got %T %v, want *UnavailableError without status", err, err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("%v: the transport error is not unwrappable", err)
	}
	if !strings.HasPrefix(err.Error(), "token endpoint unreachable: post http://"+addr+"/oauth/token: ") {
		t.Errorf("error %q", err)
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		<-r.Context().Done()
	}))
	defer srv.Close()
	s := New(Config{URL: srv.URL, ClientSecret: testSecret, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
	_, err := s.Token(context.Background())
	var un *UnavailableError
	if !errors.As(err, &un) {
		t.Fatalf("got %T %v, want *UnavailableError", err, err)
	}
}

// Secrets stay out of every error, String and log line, even from an endpoint that echoes
// the request back and from a configured URL that carries secrets itself.
func TestSecretsNeverShown(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(testClient + ":" + testSecret))
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"reason":%q,"error":%q}`, r.Header.Get("Authorization")+" "+string(b)+" "+testSecret, testSecret)
		}
	}
	var outputs []string
	for _, status := range []int{400, 500} {
		srv := httptest.NewServer(echo(status))
		_, err := newSource(srv.URL, nil).Token(context.Background())
		srv.Close()
		if err == nil {
			t.Fatalf("HTTP %d: no error", status)
		}
		outputs = append(outputs, err.Error(), fmt.Sprintf("%+v", err))
	}

	// A URL with the secret in its user info and query, on a port nobody listens on, and
	// one that does not parse.
	cfg := Config{URL: "http://user:" + testSecret + "@" + unreachable(t) + "/oauth/token?client_secret=" + testSecret,
		AccountID: testAccount, ClientID: testClient, ClientSecret: testSecret}
	for _, c := range []Config{cfg, {URL: "http://bad host/" + testSecret, ClientSecret: testSecret}} {
		_, err := New(c).Token(context.Background())
		if err == nil {
			t.Fatalf("%s: no error", c.URL)
		}
		outputs = append(outputs, err.Error())
	}

	srv, _ := tokenServer(t)
	ok := newSource(srv.URL, nil)
	tok, err := ok.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("state", "token", tok, "config", cfg, "source", ok)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("state", "token", tok, "config", cfg, "source", ok)
	outputs = append(outputs, logs.String(), tok.String(),
		fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok),
		fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v %s", ok, ok, ok, ok))

	for _, out := range outputs {
		for _, secret := range []string{testSecret, basic, tok.Value} {
			if strings.Contains(out, secret) {
				t.Errorf("output shows a secret %q:\n%s", secret, out)
			}
		}
	}
	if want := "token(expires " + tok.Expiry.Format("15:04:05") + ")"; tok.String() != want {
		t.Errorf("Token.String() = %q, want %q", tok, want)
	}
}
