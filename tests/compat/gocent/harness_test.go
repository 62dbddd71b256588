// Package gocent_test runs gocent, the official Go backend library of
// Centrifugo, unchanged against the real server binary (CENTRIFUGE_BIN, built
// from the same commit by `make test-compat`), as a Centrifugo user would.
//
// COMPAT_ENGINE=redis runs the server on the Redis engine, with a
// redis-server of its own (`make test-compat` runs both engines).
//
// This module is outside go.work on purpose: it resolves gocent (and its
// dependencies) from its own go.mod, as a user's module does, and its tests
// need the server binary, which `make test-go` does not build.
package gocent_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centrifugal/gocent/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

const (
	secret = "compat-secret-0123456789abcdef0123456789"
	apiKey = "compat-api-key-0123456789abcdef"
	wait   = 5 * time.Second
)

// addr is the server's host:port.
var addr string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	bin := os.Getenv("CENTRIFUGE_BIN")
	if bin == "" {
		fmt.Fprintln(os.Stderr, "CENTRIFUGE_BIN is not set: run `make test-compat`")
		return 1
	}
	dir, err := os.MkdirTemp("", "compat-gocent-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	engine := ""
	if os.Getenv("COMPAT_ENGINE") == "redis" {
		url, stop, err := startRedis(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer stop()
		engine = fmt.Sprintf("engine: {type: redis, redis_url: %q}\n", url)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(engine+config), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	found := make(chan string, 1)
	var log strings.Builder
	var logMu sync.Mutex
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case addr = <-found:
	case <-time.After(10 * time.Second):
		logMu.Lock()
		fmt.Fprintf(os.Stderr, "server did not listen within 10 s:\n%s", log.String())
		logMu.Unlock()
		return 1
	}
	code := m.Run()
	if code != 0 {
		logMu.Lock()
		fmt.Fprintf(os.Stderr, "--- server log ---\n%s", log.String())
		logMu.Unlock()
	}
	return code
}

// startRedis runs a redis-server of its own (no persistence) on a free port.
func startRedis(dir string) (url string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("redis-server (make deps installs it): %w", err)
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			_ = c.Close()
			return fmt.Sprintf("redis://127.0.0.1:%d", port), stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("redis-server did not listen on %d within 5 s", port)
}

const config = `http: {address: "127.0.0.1", port: 0}
log: {level: debug}
projects:
  - name: default
    secret: "` + secret + `"
    api_key: "` + apiKey + `"
    options: {presence: true, join_leave: true, allow_subscribe_for_client: true}
    namespaces:
      - {name: hist, options: {history_size: 100, history_ttl: 300s, presence: true, join_leave: true, allow_subscribe_for_client: true}}
`

// client is gocent configured as its README says: the /api address and the key.
func client(key string) *gocent.Client {
	return gocent.New(gocent.Config{Addr: "http://" + addr + "/api", Key: key})
}

// uniq returns a name no other test uses.
func uniq(prefix string) string {
	return prefix + "_" + strings.ToLower(rand.Text()[:8])
}

// wsConn is a raw client-protocol connection.
type wsConn struct {
	t      *testing.T
	c      *websocket.Conn
	id     uint32
	client string
	frames chan map[string]json.RawMessage
	closed chan *websocket.CloseError
}

// connect opens a WebSocket and connects as user.
func connect(t *testing.T, user string) *wsConn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/connection/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &wsConn{t: t, c: c, frames: make(chan map[string]json.RawMessage, 100), closed: make(chan *websocket.CloseError, 1)}
	t.Cleanup(func() { _ = c.Close() })
	go w.read()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	reply := w.call("connect", map[string]any{"token": tok})
	var res struct {
		Client string `json:"client"`
	}
	if err := json.Unmarshal(reply["connect"], &res); err != nil || res.Client == "" {
		t.Fatalf("connect reply %s: %v", reply["connect"], err)
	}
	w.client = res.Client
	return w
}

func (w *wsConn) read() {
	for {
		_, msg, err := w.c.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				w.closed <- ce
			}
			close(w.frames)
			return
		}
		for _, line := range strings.Split(strings.TrimSpace(string(msg)), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var f map[string]json.RawMessage
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				w.t.Errorf("frame %q is not JSON: %v", line, err)
				continue
			}
			if len(f) == 0 { // ping
				_ = w.c.WriteMessage(websocket.TextMessage, []byte("{}"))
				continue
			}
			w.frames <- f
		}
	}
}

// call sends a command and returns its reply, failing on an error reply.
func (w *wsConn) call(method string, params any) map[string]json.RawMessage {
	w.t.Helper()
	w.id++
	cmd, _ := json.Marshal(map[string]any{"id": w.id, method: params})
	if err := w.c.WriteMessage(websocket.TextMessage, cmd); err != nil {
		w.t.Fatal(err)
	}
	f := w.next(func(f map[string]json.RawMessage) bool { return string(f["id"]) == fmt.Sprint(w.id) })
	if e, ok := f["error"]; ok {
		w.t.Fatalf("%s: error reply %s", method, e)
	}
	return f
}

// next returns the first frame that match accepts, within wait.
func (w *wsConn) next(match func(map[string]json.RawMessage) bool) map[string]json.RawMessage {
	w.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				w.t.Fatal("connection closed while waiting for a frame")
			}
			if match(f) {
				return f
			}
		case <-timeout:
			w.t.Fatalf("no expected frame within %s", wait)
		}
	}
}

// push waits for a push of kind ("pub", "subscribe", ...) in channel and returns its body.
func (w *wsConn) push(kind, channel string) json.RawMessage {
	w.t.Helper()
	var body json.RawMessage
	w.next(func(f map[string]json.RawMessage) bool {
		var p map[string]json.RawMessage
		if json.Unmarshal(f["push"], &p) != nil || p[kind] == nil {
			return false
		}
		var ch string
		_ = json.Unmarshal(p["channel"], &ch)
		if ch != channel {
			return false
		}
		body = p[kind]
		return true
	})
	return body
}

// waitClose returns the close code the server sent.
func (w *wsConn) waitClose() int {
	w.t.Helper()
	for {
		select {
		case ce := <-w.closed:
			return ce.Code
		case _, ok := <-w.frames:
			if !ok {
				select {
				case ce := <-w.closed:
					return ce.Code
				case <-time.After(wait):
					w.t.Fatal("closed without a close frame")
				}
			}
		case <-time.After(wait):
			w.t.Fatal("not closed")
		}
	}
}

// expectOpen checks that no close arrives for a while.
func (w *wsConn) expectOpen(d time.Duration) {
	w.t.Helper()
	select {
	case ce := <-w.closed:
		w.t.Fatalf("closed with %d %q, want it kept open", ce.Code, ce.Text)
	case <-time.After(d):
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}
