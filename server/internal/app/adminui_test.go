package app_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/web"
)

// The admin UI is served next to the admin API, and not at all with
// admin.enabled false; the server's other routes keep their answers.
func TestAdminUIMountedWithTheAdminAPI(t *testing.T) {
	on := startServer(t)
	off := startServer(t, func(c *config.Config) { c.Admin.Enabled = false })
	get := func(s *testServer, path string) (int, http.Header, string) {
		t.Helper()
		res, err := http.Get("http://" + s.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(body)
	}
	code, hdr, index := get(on, "/")
	if code != http.StatusOK || hdr.Get("Content-Security-Policy") != web.ContentSecurityPolicy || !strings.Contains(index, `<div id="app">`) {
		t.Fatalf("GET / with the admin enabled: %d %v %q", code, hdr, index)
	}
	asset := regexp.MustCompile(`/assets/app-[A-Z0-9]+\.js`).FindString(index)
	paths := []string{"/", "/login", "/projects", "/projects/default/live", asset}
	for _, p := range paths {
		if code, _, _ := get(on, p); code != http.StatusOK {
			t.Fatalf("GET %s with the admin enabled: %d", p, code)
		}
		if code, _, body := get(off, p); code != http.StatusNotFound || strings.Contains(body, "<script") {
			t.Fatalf("GET %s with admin.enabled false: %d %q", p, code, body)
		}
	}
	for _, s := range []*testServer{on, off} {
		if code, _, _ := get(s, "/health/live"); code != http.StatusOK {
			t.Fatalf("GET /health/live: %d", code)
		}
		if code, _, _ := get(s, "/nothing-here"); code != http.StatusNotFound {
			t.Fatalf("GET /nothing-here: %d", code)
		}
	}
}
