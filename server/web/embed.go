// Package web serves the admin single-page app: dist/ is built from src/ by
// build.mjs (esbuild; `make web`), committed, and embedded in the binary, so a
// plain `go build` or `go install` needs no Node. check-generated rebuilds it
// and fails when the committed files differ.
package web

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed dist
var dist embed.FS

// Paths are the URL patterns (Echo syntax) the UI answers: its pages, which
// all get index.html (the app routes in the browser), and its assets.
var Paths = []string{"/", "/login", "/projects", "/projects/*", "/assets/*"}

// ContentSecurityPolicy of every response: only our own script, style and
// connections (the admin API and the live view's WebSocket, same origin).
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type file struct {
	body, gz    []byte
	contentType string
}

// Handler serves the UI; see Paths.
type Handler struct {
	once   sync.Once
	index  *file
	assets map[string]*file
}

// New returns the UI's handler.
func New() *Handler { return &Handler{} }

func load(name string) *file {
	body, err := fs.ReadFile(dist, name)
	if err != nil {
		// dist is embedded at build time: a missing file is a broken build.
		panic("web: " + err.Error())
	}
	f := &file{body: body, contentType: mime.TypeByExtension(path.Ext(name))}
	if f.contentType == "" {
		f.contentType = "application/octet-stream"
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	if buf.Len() < len(body) {
		f.gz = buf.Bytes()
	}
	return f
}

func (h *Handler) init() {
	h.index = load("dist/index.html")
	h.index.contentType = "text/html; charset=utf-8"
	h.assets = map[string]*file{}
	entries, err := fs.ReadDir(dist, "dist/assets")
	if err != nil {
		panic("web: " + err.Error())
	}
	for _, e := range entries {
		h.assets[e.Name()] = load("dist/assets/" + e.Name())
	}
}

// ServeHTTP answers GET and HEAD: /assets/<name> with the asset (cached for a
// year: names carry a content hash), any other path with index.html (never
// cached, so a new version is picked up at once).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	hd := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	f := h.index
	if name, ok := strings.CutPrefix(r.URL.Path, "/assets/"); ok {
		if f = h.assets[name]; f == nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-store")
	}
	hd.Set("Content-Type", f.contentType)
	hd.Add("Vary", "Accept-Encoding")
	body := f.body
	if f.gz != nil && acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}
