package transport_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

func TestOriginChecker(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed []string
		host    string // the request's Host
		origin  string // "" sends none
		want    bool
	}{
		{"no Origin: not a browser", nil, "srv.example", "", true},
		{"empty list: own origin", nil, "srv.example:8000", "http://srv.example:8000", true},
		{"empty list: own host, any scheme", nil, "srv.example", "https://srv.example", true},
		{"empty list: own host, any case", nil, "srv.example", "https://SRV.Example", true},
		{"empty list: another origin", nil, "srv.example", "https://app.example", false},
		{"empty list: own name, another port", nil, "srv.example:8000", "http://srv.example:9000", false},
		{"listed", []string{"https://app.example"}, "srv.example", "https://app.example", true},
		{"listed with a trailing slash and spaces", []string{"  https://app.example/ "}, "srv.example", "https://app.example", true},
		{"listed, case differs", []string{"https://App.Example"}, "srv.example", "HTTPS://app.EXAMPLE", true},
		{"listed: other scheme", []string{"https://app.example"}, "srv.example", "http://app.example", false},
		{"listed: other port", []string{"https://app.example"}, "srv.example", "https://app.example:8443", false},
		{"listed: a suffix is not enough", []string{"https://app.example"}, "srv.example", "https://app.example.evil", false},
		{"listed: own host still allowed", []string{"https://app.example"}, "srv.example", "http://srv.example", true},
		{"star", []string{"*"}, "srv.example", "https://anything.example", true},
		{"star among others", []string{"https://app.example", "*"}, "srv.example", "null", true},
		{"wildcard subdomain", []string{"https://*.example.com"}, "srv.example", "https://a.example.com", true},
		{"wildcard: deeper subdomain", []string{"https://*.example.com"}, "srv.example", "https://a.b.example.com", true},
		{"wildcard: not the bare domain", []string{"https://*.example.com"}, "srv.example", "https://example.com", false},
		{"wildcard: not another domain", []string{"https://*.example.com"}, "srv.example", "https://example.com.evil", false},
		{"wildcard: no port", []string{"https://*.example.com"}, "srv.example", "https://a.example.com:8443", false},
		{"wildcard: not across a slash", []string{"https://*.example.com"}, "srv.example", "https://evil/x.example.com", false},
		{"wildcard port", []string{"http://localhost:*"}, "srv.example", "http://localhost:3000", true},
		{"null origin refused", []string{"https://app.example"}, "srv.example", "null", false},
		{"unparsable origin refused", []string{"https://app.example"}, "srv.example", "://%zz", false},
		{"malformed pattern matches nothing", []string{"https://[app.example"}, "srv.example", "https://[app.example", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://"+tc.host+"/connection/websocket", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if got := transport.OriginChecker(tc.allowed)(r); got != tc.want {
				t.Fatalf("Origin %q, allowed %q, Host %q: %v, want %v", tc.origin, tc.allowed, tc.host, got, tc.want)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	check := transport.OriginChecker([]string{"https://app.example"})
	for _, tc := range []struct {
		name, method, origin, reqHeaders string
		allowed                          func(*http.Request) bool
		goOn                             bool
		status                           int // of the recorder: 200 when nothing was written
		allowOrigin                      string
		allowHeaders                     string
	}{
		{name: "no Origin", method: "POST", allowed: check, goOn: true, status: 200},
		{name: "allowed Origin", method: "POST", origin: "https://app.example", allowed: check, goOn: true, status: 200, allowOrigin: "https://app.example"},
		{name: "refused Origin", method: "POST", origin: "https://evil.example", allowed: check, status: 403},
		{name: "nil check allows any", method: "GET", origin: "https://evil.example", goOn: true, status: 200, allowOrigin: "https://evil.example"},
		{name: "preflight", method: "OPTIONS", origin: "https://app.example", reqHeaders: "Content-Type, X-Custom", allowed: check, status: 204, allowOrigin: "https://app.example", allowHeaders: "Content-Type, X-Custom"},
		{name: "preflight without requested headers", method: "OPTIONS", origin: "https://app.example", allowed: check, status: 204, allowOrigin: "https://app.example"},
		{name: "preflight from a refused Origin", method: "OPTIONS", origin: "https://evil.example", allowed: check, status: 403},
		{name: "OPTIONS without Origin", method: "OPTIONS", allowed: check, status: 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://srv.example/emulation", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.reqHeaders != "" {
				r.Header.Set("Access-Control-Request-Headers", tc.reqHeaders)
			}
			w := httptest.NewRecorder()
			if got := transport.CORS(w, r, tc.allowed, "POST, OPTIONS"); got != tc.goOn {
				t.Fatalf("go on: %v, want %v", got, tc.goOn)
			}
			h := w.Result().Header
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if h.Get("Vary") != "Origin" {
				t.Fatalf("Vary %q, want Origin", h.Get("Vary"))
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.allowOrigin {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, tc.allowOrigin)
			}
			wantCred := ""
			if tc.allowOrigin != "" {
				wantCred = "true"
			}
			if got := h.Get("Access-Control-Allow-Credentials"); got != wantCred {
				t.Fatalf("Access-Control-Allow-Credentials %q, want %q", got, wantCred)
			}
			if got := h.Get("Access-Control-Allow-Headers"); got != tc.allowHeaders {
				t.Fatalf("Access-Control-Allow-Headers %q, want %q", got, tc.allowHeaders)
			}
			switch tc.status {
			case 204:
				if h.Get("Access-Control-Allow-Methods") != "POST, OPTIONS" || h.Get("Access-Control-Max-Age") != "600" {
					t.Fatalf("preflight headers %v", h)
				}
			case 403:
				var body struct {
					Error struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
					} `json:"error"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != 403 || body.Error.Message != "origin not allowed" {
					t.Fatalf("body %q (%v)", w.Body.String(), err)
				}
			default:
				if h.Get("Access-Control-Allow-Methods") != "" || w.Body.Len() != 0 {
					t.Fatalf("a request that goes on got preflight headers or a body: %v %q", h, w.Body.String())
				}
			}
		})
	}
}

func TestError(t *testing.T) {
	w := httptest.NewRecorder()
	transport.Error(w, http.StatusNotFound, `no "such" session`)
	if w.Code != 404 || w.Header().Get("Content-Type") != "application/json; charset=UTF-8" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v", w.Code, w.Header())
	}
	if got, want := w.Body.String(), `{"error":{"code":404,"message":"no \"such\" session"}}`+"\n"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
}

func TestFrameAncestors(t *testing.T) {
	for _, tc := range []struct {
		allowed []string
		want    string
	}{
		{nil, "frame-ancestors 'self'"},
		{[]string{"https://app.example/", " https://*.example.com ", ""}, "frame-ancestors 'self' https://app.example https://*.example.com"},
		{[]string{"https://app.example", "*"}, ""},
	} {
		if got := transport.FrameAncestors(tc.allowed); got != tc.want {
			t.Errorf("FrameAncestors(%q) = %q, want %q", tc.allowed, got, tc.want)
		}
	}
}

func TestStats(t *testing.T) {
	var none *transport.Stats
	none.Connect(transport.NameSockJS)
	none.Disconnect(transport.NameSockJS)
	if got := none.Snapshot(); len(got) != 0 {
		t.Fatalf("nil Stats counted %v", got)
	}
	s := transport.NewStats()
	s.Connect(transport.NameSockJS)
	s.Connect(transport.NameSockJS)
	s.Disconnect(transport.NameSockJS)
	s.Connect(transport.NameSSE)
	snap := s.Snapshot()
	if snap[transport.NameSockJS] != (transport.Counts{Connects: 2, Disconnects: 1}) || snap[transport.NameSSE] != (transport.Counts{Connects: 1}) || len(snap) != 2 {
		t.Fatalf("snapshot %v", snap)
	}
	s.Connect(transport.NameSSE)
	if snap[transport.NameSSE].Connects != 1 {
		t.Fatal("a snapshot changed after it was taken")
	}
}
