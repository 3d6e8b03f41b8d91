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

const secret = "s3cr3t-Xyz-0987"

// tokenServer answers like Zoom's token endpoint and records what it was sent.
type tokenServer struct {
	*httptest.Server
	calls   atomic.Int32
	mu      sync.Mutex
	last    *http.Request
	body    string
	status  int
	reply   string
	release chan struct{} // when set, requests wait for it
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{status: 200, reply: `{"access_token":"eyJtok%d","token_type":"bearer","expires_in":3600,"scope":"a b c","api_url":"https://api.zoom.us"}`}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		ts.mu.Lock()
		ts.last, ts.body = r, string(b)
		status, reply, release := ts.status, ts.reply, ts.release
		ts.mu.Unlock()
		if release != nil {
			<-release
		}
		w.WriteHeader(status)
		if strings.Contains(reply, "%d") {
			reply = fmt.Sprintf(reply, n)
		}
		io.WriteString(w, reply)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) set(status int, reply string) {
	ts.mu.Lock()
	ts.status, ts.reply = status, reply
	ts.mu.Unlock()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newSource(ts *tokenServer, clk *clock) *Source {
	return New(Config{URL: ts.URL + "/oauth/token", AccountID: "acct 1", ClientID: "client", ClientSecret: secret, Now: clk.now})
}

func TestRequestShape(t *testing.T) {
	ts := newTokenServer(t)
	clk := &clock{t: time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)}
	tok, err := newSource(ts, clk).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := ts.last
	if r.Method != http.MethodPost || r.URL.Path != "/oauth/token" || r.URL.RawQuery != "" {
		t.Fatalf("%s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
	}
	if got, want := r.Header.Get("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte("client:"+secret)); got != want {
		t.Fatalf("Authorization %q", got)
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	if ts.body != "account_id=acct+1&grant_type=account_credentials" {
		t.Fatalf("body %q", ts.body)
	}
	if tok.Value != "eyJtok1" || !tok.Expiry.Equal(clk.now().Add(time.Hour)) || strings.Join(tok.Scope, ",") != "a,b,c" {
		t.Fatalf("token %+v", tok)
	}
}

func TestCachedUntilSixtySecondsRemain(t *testing.T) {
	ts := newTokenServer(t)
	clk := &clock{t: time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)}
	s := newSource(ts, clk)
	ctx := context.Background()
	first, _ := s.Token(ctx)
	clk.add(58 * time.Minute)
	if tok, _ := s.Token(ctx); tok.Value != first.Value || ts.calls.Load() != 1 {
		t.Fatalf("refetched with 2 minutes left (%d calls)", ts.calls.Load())
	}
	clk.add(61 * time.Second) // 59 s left
	if tok, _ := s.Token(ctx); tok.Value == first.Value || ts.calls.Load() != 2 {
		t.Fatalf("kept a token with 59 s left (%d calls)", ts.calls.Load())
	}
	s.Invalidate()
	if tok, _ := s.Token(ctx); tok.Value != "eyJtok3" {
		t.Fatalf("after Invalidate: %v", tok.Value)
	}
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	ts := newTokenServer(t)
	ts.release = make(chan struct{})
	s := newSource(ts, &clock{t: time.Now()})
	var wg sync.WaitGroup
	vals := make([]string, 8)
	for i := range vals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := s.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			vals[i] = tok.Value
		}()
	}
	for ts.calls.Load() == 0 {
		time.Sleep(time.Millisecond) // wait for the first request to arrive
	}
	close(ts.release)
	wg.Wait()
	if ts.calls.Load() != 1 {
		t.Fatalf("%d requests for 8 concurrent callers", ts.calls.Load())
	}
	for _, v := range vals {
		if v != "eyJtok1" {
			t.Fatalf("values %v", vals)
		}
	}
}

func TestErrorsAreTypedAndSecretFree(t *testing.T) {
	ts := newTokenServer(t)
	s := newSource(ts, &clock{t: time.Now()})
	ctx := context.Background()

	ts.set(400, `{"reason":"Invalid client_id or client_secret","error":"invalid_client"}`)
	_, err := s.Token(ctx)
	var rej *RejectedError
	if !errors.As(err, &rej) || rej.Status != 400 || rej.Code != "invalid_client" {
		t.Fatalf("400: %v", err)
	}
	if want := "Zoom rejected the credentials: invalid_client: Invalid client_id or client_secret (HTTP 400)"; err.Error() != want {
		t.Fatalf("message %q", err.Error())
	}
	// An endpoint that echoes the request must not make us repeat the secret.
	ts.set(401, `{"reason":"bad auth Basic `+base64.StdEncoding.EncodeToString([]byte("client:"+secret))+` for `+secret+`","error":"invalid_request"}`)
	_, err = s.Token(ctx)
	if !errors.As(err, &rej) || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString([]byte("client:"+secret))) {
		t.Fatalf("echoing endpoint: %v", err)
	}

	var un *UnavailableError
	ts.set(503, `upstream down`)
	if _, err = s.Token(ctx); !errors.As(err, &un) || un.Status != 503 {
		t.Fatalf("503: %v", err)
	}
	ts.set(200, `<html>captive portal</html>`)
	if _, err = s.Token(ctx); !errors.As(err, &un) {
		t.Fatalf("200 without a token: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	s2 := New(Config{URL: "http://" + addr + "/oauth/token?x=" + secret, ClientID: "client", ClientSecret: secret})
	if _, err = s2.Token(ctx); !errors.As(err, &un) || strings.Contains(err.Error(), secret) {
		t.Fatalf("refused: %v", err)
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	tok := Token{Value: "eyJsecret.token.value", Expiry: time.Date(2026, 1, 1, 14, 3, 22, 0, time.UTC)}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("got", "token", tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %s", tok, tok, tok), buf.String()} {
		if strings.Contains(s, "eyJsecret") {
			t.Fatalf("token value printed: %s", s)
		}
	}
}
