package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/app"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// webApp is the web application behind the site, as the proxies and the
// connection check see it: a real HTTP server whose endpoints the test sets.
type webApp struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	handlers map[string]func(w http.ResponseWriter, r *appRequest)
	requests map[string][]*appRequest
}

// appRequest is one request the server made to the app.
type appRequest struct {
	Header http.Header
	Body   map[string]any
	Raw    []byte
	req    *http.Request
}

func newWebApp(t *testing.T) *webApp {
	a := &webApp{t: t, handlers: map[string]func(http.ResponseWriter, *appRequest){}, requests: map[string][]*appRequest{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *webApp) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := &appRequest{Header: r.Header.Clone(), Raw: raw, req: r}
	_ = json.Unmarshal(raw, &req.Body)
	a.mu.Lock()
	a.requests[r.URL.Path] = append(a.requests[r.URL.Path], req)
	h := a.handlers[r.URL.Path]
	a.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, req)
}

// handle sets the handler of path.
func (a *webApp) handle(path string, h func(w http.ResponseWriter, r *appRequest)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.handlers[path] = h
}

// reply sets path to answer body with 200.
func (a *webApp) reply(path, body string) {
	a.handle(path, func(w http.ResponseWriter, _ *appRequest) { io.WriteString(w, body) })
}

// seen returns the requests made to path so far.
func (a *webApp) seen(path string) []*appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*appRequest(nil), a.requests[path]...)
}

func (a *webApp) url(path string) string { return a.srv.URL + path }

func (a *webApp) proxy(path string) *structure.Proxy {
	return &structure.Proxy{URL: a.url(path), Timeout: dur(300 * time.Millisecond)}
}

// stall waits, without answering, until the server gives up on the request.
func stall(w http.ResponseWriter, r *appRequest) {
	select {
	case <-r.req.Context().Done():
	case <-time.After(3 * time.Second):
	}
}

// hangUp closes the connection without an answer (a network failure).
func hangUp(w http.ResponseWriter, _ *appRequest) {
	if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
		conn.Close()
	}
}

// syncBuffer collects log output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLog waits until the log has a line containing every one of parts.
func (b *syncBuffer) waitLog(t *testing.T, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		for _, line := range strings.Split(b.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", parts, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func logTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startServerLog is startServer with the server's log written to w.
func startServerLog(t *testing.T, w io.Writer, mutate ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := testConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := app.New(cfg, logTo(w))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &testServer{t: t, srv: srv, addr: addr}
}

// onEngines runs f on one memory node (n0 == n1) and on two nodes sharing a
// Redis, each with its own log.
func onEngines(t *testing.T, mutate func(*config.Config), f func(t *testing.T, logs *syncBuffer, n0, n1 *testServer)) {
	t.Run("memory", func(t *testing.T) {
		logs := &syncBuffer{}
		s := startServerLog(t, logs, mutate)
		f(t, logs, s, s)
	})
	t.Run("redis", func(t *testing.T) {
		r := redistest.Start(t)
		logs := &syncBuffer{}
		prefix := fmt.Sprintf("p%d", time.Now().UnixNano())
		var nodes [2]*testServer
		for i := range nodes {
			nodes[i] = startServerLog(t, logs, func(c *config.Config) {
				c.Name = fmt.Sprintf("node-%d", i)
				c.Engine.Type = config.EngineRedis
				c.Engine.RedisURL = r.URL
				c.Engine.RedisPrefix = prefix
				mutate(c)
			})
		}
		f(t, logs, nodes[0], nodes[1])
	})
}

// resetRequests forgets the requests seen so far.
func (a *webApp) resetRequests() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = map[string][]*appRequest{}
}
