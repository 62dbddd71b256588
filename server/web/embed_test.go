package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/web"
)

func serve(t *testing.T, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	web.New().ServeHTTP(rec, req)
	return rec
}

// assets are the files index.html loads, from the committed build.
func assets(t *testing.T) []string {
	t.Helper()
	html, err := os.ReadFile("dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	found := regexp.MustCompile(`/assets/app-[A-Z0-9]+\.(js|css)`).FindAllString(string(html), -1)
	if len(found) != 2 {
		t.Fatalf("index.html loads %v, want one script and one stylesheet", found)
	}
	return found
}

func TestPagesServeIndexWithoutCaching(t *testing.T) {
	want, err := os.ReadFile("dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/login", "/projects", "/projects/blog/live"} {
		rec := serve(t, http.MethodGet, path, nil)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) {
			t.Fatalf("GET %s: %d %q", path, rec.Code, rec.Body.String())
		}
		h := rec.Header()
		if h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET %s headers: %v", path, h)
		}
		if h.Get("Content-Security-Policy") != web.ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("GET %s security headers: %v", path, h)
		}
	}
	if csp := web.ContentSecurityPolicy; strings.Contains(csp, "unsafe") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP not strict: %s", csp)
	}
}

func TestAssetsAreCachedAndCompressed(t *testing.T) {
	for _, path := range assets(t) {
		plain := serve(t, http.MethodGet, path, nil)
		if plain.Code != http.StatusOK || plain.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("GET %s: %d %v", path, plain.Code, plain.Header())
		}
		wantType := "text/javascript; charset=utf-8"
		if strings.HasSuffix(path, ".css") {
			wantType = "text/css; charset=utf-8"
		}
		if ct := plain.Header().Get("Content-Type"); ct != wantType {
			t.Fatalf("GET %s: Content-Type %q, want %q", path, ct, wantType)
		}
		gz := serve(t, http.MethodGet, path, map[string]string{"Accept-Encoding": "br, gzip"})
		if gz.Header().Get("Content-Encoding") != "gzip" || gz.Body.Len() >= plain.Body.Len() {
			t.Fatalf("GET %s with gzip: %v, %d bytes (plain %d)", path, gz.Header(), gz.Body.Len(), plain.Body.Len())
		}
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(body, plain.Body.Bytes()) {
			t.Fatalf("GET %s: gzip body differs from the plain one (%v)", path, err)
		}
		if refused := serve(t, http.MethodGet, path, map[string]string{"Accept-Encoding": "gzip;q=0"}); refused.Header().Get("Content-Encoding") != "" {
			t.Fatalf("GET %s: gzip sent though refused with q=0", path)
		}
	}
}

func TestHeadUnknownAssetAndMethods(t *testing.T) {
	path := assets(t)[0]
	head := serve(t, http.MethodHead, path, nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Length") == "" {
		t.Fatalf("HEAD %s: %d, %d bytes, %v", path, head.Code, head.Body.Len(), head.Header())
	}
	for _, p := range []string{"/assets/app-NOPE.js", "/assets/", "/assets/../index.html"} {
		if rec := serve(t, http.MethodGet, p, nil); rec.Code != http.StatusNotFound {
			t.Fatalf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	if rec := serve(t, http.MethodPost, "/", nil); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /: %d %v", rec.Code, rec.Header())
	}
}

// The bundle stays small: the UI is loaded on every visit of the admin.
func TestBundleSize(t *testing.T) {
	for _, path := range assets(t) {
		gz := serve(t, http.MethodGet, path, map[string]string{"Accept-Encoding": "gzip"})
		limit := 64 << 10
		if gz.Body.Len() > limit {
			t.Fatalf("%s is %d bytes gzipped, over %d", path, gz.Body.Len(), limit)
		}
		t.Logf("%s: %d bytes gzipped", path, gz.Body.Len())
	}
}
