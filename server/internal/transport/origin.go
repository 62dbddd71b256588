// Package transport holds what every client transport shares (origin checks,
// CORS, connection counters); each transport lives in its own subpackage:
// wstransport, sockjstransport, httpstream (HTTP-streaming, SSE, emulation).
package transport

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// OriginChecker returns a check of the Origin header against allowed origins.
// A request without Origin (not from a browser) passes. An empty list allows
// only the server's own origin (same host); "*" allows any; entries may use
// path.Match wildcards, e.g. "https://*.example.com".
func OriginChecker(allowed []string) func(r *http.Request) bool {
	patterns := make([]string, 0, len(allowed))
	any := false
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(a), "/"))
		if a == "*" {
			any = true
		}
		patterns = append(patterns, a)
	}
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" || any {
			return true
		}
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" {
			return false
		}
		if strings.EqualFold(u.Host, r.Host) {
			return true
		}
		o := strings.ToLower(origin)
		for _, p := range patterns {
			if ok, _ := path.Match(p, o); ok {
				return true
			}
		}
		return false
	}
}
