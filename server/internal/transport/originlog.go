package transport

import (
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// LogRefused wraps an origin check so that refused requests are logged (at
// warn, with the origin and path), at most one line per interval: a page
// hammering the server from a wrong origin cannot flood the log; the line
// says how many refusals it stands for.
func LogRefused(check func(*http.Request) bool, log *slog.Logger, interval time.Duration) func(*http.Request) bool {
	var (
		mu         sync.Mutex
		last       time.Time
		suppressed int
	)
	return func(r *http.Request) bool {
		if check(r) {
			return true
		}
		mu.Lock()
		now := time.Now()
		if now.Sub(last) < interval {
			suppressed++
			mu.Unlock()
			return false
		}
		n := suppressed
		last, suppressed = now, 0
		mu.Unlock()
		origin := r.Header.Get("Origin")
		if len(origin) > 200 {
			origin = origin[:200]
		}
		log.Warn("origin refused: not in http.allowed_origins", "origin", origin, "path", r.URL.Path, "suppressed_before", n)
		return false
	}
}
