package sim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
)

// tokenScope is what Zoom grants a WebSocket-subscription app (PROTOCOL.md §2.2).
const tokenScope = "marketplace:delete:event_subscription marketplace:read:list_event_subscriptions " +
	"marketplace:update:event_subscription marketplace:write:event_subscription marketplace:write:websocket_connection"

// maxTokens is how many issued tokens are kept before expired ones are forgotten.
const maxTokens = 1024

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	APIURL      string `json:"api_url"`
}

type oauthError struct {
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

// handleToken is POST /oauth/token (PROTOCOL.md §2): Basic auth; grant_type and account_id
// in the form body or the query string. account_credentials is what S2S clients send;
// client_credentials without an account_id is what Zoom's WebSocket sample sends.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.rejectToken(w, http.StatusMethodNotAllowed, "Method Not Allowed", "invalid_request")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.rejectToken(w, http.StatusBadRequest, "Invalid request body", "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	s.mu.Lock()
	wantID, wantSecret := s.clientID, s.clientSecret
	s.mu.Unlock()
	if !ok || !sameString(id, wantID) || !sameString(secret, wantSecret) {
		s.rejectToken(w, http.StatusBadRequest, "Invalid client_id or client_secret", "invalid_client")
		return
	}
	account := r.Form.Get("account_id")
	switch r.Form.Get("grant_type") {
	case "account_credentials":
		if account == "" {
			s.rejectToken(w, http.StatusBadRequest, "Missing account_id", "invalid_request")
			return
		}
	case "client_credentials":
		if account == "" {
			account = s.opts.AccountID
		}
	case "":
		s.rejectToken(w, http.StatusBadRequest, "Missing grant type", "invalid_request")
		return
	default:
		s.rejectToken(w, http.StatusBadRequest, "unsupported grant type", "unsupported_grant_type")
		return
	}
	if account != s.opts.AccountID {
		s.rejectToken(w, http.StatusBadRequest, "Invalid account_id", "invalid_request")
		return
	}

	ttl := s.opts.TokenTTL
	now := time.Now()
	token := newAccessToken(id, account, now, ttl)
	s.mu.Lock()
	if len(s.tokens) >= maxTokens {
		for t, exp := range s.tokens {
			if !now.Before(exp) {
				delete(s.tokens, t)
			}
		}
	}
	s.tokens[token] = now.Add(ttl)
	s.mu.Unlock()
	s.stats.tokensIssued.Add(1)
	s.log.Info("sim: token issued", "ttl", ttl)
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: token,
		TokenType:   "bearer",
		// Whole seconds, rounded up so that a sub-second TTL (a fault) is not reported as 0.
		ExpiresIn: int64((ttl + time.Second - 1) / time.Second),
		Scope:     tokenScope,
		APIURL:    "https://api.zoom.us",
	})
}

func (s *Server) rejectToken(w http.ResponseWriter, status int, reason, code string) {
	s.stats.tokenRejects.Add(1)
	s.log.Info("sim: token refused", "status", status, "error", code, "reason", reason)
	writeJSON(w, status, oauthError{Reason: reason, Error: code})
}

func sameString(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// newAccessToken is opaque and random but shaped like Zoom's (a JWT: "eyJ…"), so that
// clients which peek at it or log its prefix behave as they would against Zoom.
func newAccessToken(clientID, account string, now time.Time, ttl time.Duration) string {
	enc := base64.RawURLEncoding
	var jti, sig [32]byte
	rand.Read(jti[:])
	rand.Read(sig[:])
	claims, _ := json.Marshal(struct {
		Aud string `json:"aud"`
		Iss string `json:"iss"`
		Aid string `json:"aid"`
		Jti string `json:"jti"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}{"https://oauth.zoom.us", "zm:cid:" + clientID, account, enc.EncodeToString(jti[:]), now.Unix(), now.Add(ttl).Unix()})
	return enc.EncodeToString([]byte(`{"alg":"HS512","v":"2.0","kid":"sim"}`)) + "." +
		enc.EncodeToString(claims) + "." + enc.EncodeToString(sig[:])
}
