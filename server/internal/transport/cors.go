package transport

import (
	"encoding/json"
	"net/http"
	"strings"
)

// CORS applies the cross-origin policy of the HTTP transports (HTTP-streaming,
// SSE, POST /emulation) to a request, with allowed the origin check
// (OriginChecker). It reports whether the handler should go on:
//   - an Origin not allowed gets HTTP 403 and no CORS headers;
//   - an allowed Origin gets Access-Control-Allow-Origin (that origin) and
//     Access-Control-Allow-Credentials, so clients that send cookies work
//     too, though no transport needs one;
//   - a preflight (OPTIONS) is answered 204 here with the methods given.
//
// A request without Origin (not from a browser) goes on with no CORS headers.
func CORS(w http.ResponseWriter, r *http.Request, allowed func(*http.Request) bool, methods string) bool {
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin != "" {
		if allowed != nil && !allowed(r) {
			Error(w, http.StatusForbidden, "origin not allowed")
			return false
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions {
		return true
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return false
}

// Error answers with the server's HTTP error body
// {"error": {"code": <status>, "message": msg}}.
func Error(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": msg}})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// FrameAncestors returns a Content-Security-Policy frame-ancestors value
// allowing the same origins as OriginChecker(allowed), for pages the server
// serves to be framed by the client's page (SockJS's iframe); "" when any
// origin may frame them.
func FrameAncestors(allowed []string) string {
	parts := []string{"'self'"}
	for _, a := range allowed {
		a = strings.TrimSuffix(strings.TrimSpace(a), "/")
		if a == "*" {
			return ""
		}
		if a != "" {
			parts = append(parts, a)
		}
	}
	return "frame-ancestors " + strings.Join(parts, " ")
}
