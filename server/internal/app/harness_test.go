package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/centrifugehq/centrifuge/server/internal/app"
	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

const (
	secret      = "test-secret-0123456789abcdef"
	apiKey      = "test-api-key-0123456789abcdef"
	otherSecret = "other-secret-0123456789abcdef"
	otherKey    = "other-api-key-0123456789abcdef"
	waitTimeout = 5 * time.Second
)

func dur(d time.Duration) duration.Duration { return duration.Duration(d) }

// testConfig is a config with two projects and a range of channel options.
func testConfig() config.Config {
	cfg := config.Default()
	cfg.HTTP.Port = 0
	cfg.Log.Level = "error"
	cfg.Client.ConnectTimeout = dur(2 * time.Second)
	cfg.Client.ExpiredCloseDelay = dur(time.Second)
	cfg.Client.ExpiredSubCloseDelay = dur(time.Second)
	cfg.Client.MaxSubscriptions = 5
	cfg.Client.MaxChannelLength = 64
	cfg.Client.MaxFrameSize = 16 << 10
	cfg.Client.HistoryMaxLimit = 50
	full := structure.ChannelOptions{
		Presence: true, JoinLeave: true, HistorySize: 10, HistoryTTL: dur(time.Minute),
		AllowSubscribeForClient: true, AllowPublishForClient: true, AllowUserLimitedChannels: true,
	}
	small := full
	small.HistorySize = 2
	small.ForceRecovery = true
	cfg.Projects = []structure.Project{
		{
			Name: "default", Secret: secret, APIKey: apiKey,
			Options: full,
			Namespaces: []structure.Namespace{
				{Name: "chat", Options: func() structure.ChannelOptions {
					o := full
					o.ForceRecovery = true
					o.ForcePushJoinLeave = true
					return o
				}()},
				{Name: "small", Options: small},
				{Name: "bare", Options: structure.ChannelOptions{AllowSubscribeForClient: true}},
				{Name: "closed", Options: structure.ChannelOptions{Presence: true, HistorySize: 5, HistoryTTL: dur(time.Minute)}},
				{Name: "anon", Options: structure.ChannelOptions{AllowSubscribeForClient: true, AllowAnonymous: true}},
			},
		},
		{Name: "other", Secret: otherSecret, APIKey: otherKey, Options: full},
	}
	return cfg
}

type testServer struct {
	t    *testing.T
	srv  *app.Server
	addr string
}

func startServer(t *testing.T, mutate ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := testConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := app.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, srv: srv, addr: addr}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ts
}

func (s *testServer) wsURL(project string) string {
	if project == "" {
		return "ws://" + s.addr + "/connection/websocket"
	}
	return "ws://" + s.addr + "/connection/" + project + "/websocket"
}

// api calls the server API and decodes the JSON answer into a generic map.
func (s *testServer) api(method string, body any) (int, map[string]any) {
	return s.apiWith("", apiKey, method, body)
}

func (s *testServer) apiWith(project, key, method string, body any) (int, map[string]any) {
	s.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	url := "http://" + s.addr + "/api/" + method
	if project != "" {
		url = "http://" + s.addr + "/api/" + project + "/" + method
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		s.t.Fatalf("%s: non-JSON answer %d: %s", method, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

func (s *testServer) publish(ch string, data string) map[string]any {
	s.t.Helper()
	code, out := s.api("publish", map[string]any{"channel": ch, "data": json.RawMessage(data)})
	if code != 200 || out["error"] != nil {
		s.t.Fatalf("publish: %d %v", code, out)
	}
	return out["result"].(map[string]any)
}

func token(t *testing.T, user string, ttl time.Duration, channels ...string) string {
	t.Helper()
	tok, err := auth.NewConnectToken(secret, user, ttl, json.RawMessage(`{"name":"`+user+`"}`), channels)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func subToken(t *testing.T, user, ch string, ttl time.Duration) string {
	t.Helper()
	tok, err := auth.NewSubscribeToken(secret, user, ch, ttl, json.RawMessage(`{"role":"member"}`))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// wsClient is a raw protocol client: it sends commands and collects replies
// and pushes in order.
type wsClient struct {
	t       *testing.T
	conn    *websocket.Conn
	mu      sync.Mutex
	nextID  uint32
	in      chan *protocol.Reply
	raw     chan []byte
	closed  chan struct{}
	close   *websocket.CloseError
	err     error
	pauseMu sync.Mutex
	paused  chan struct{}
	// pending holds frames read but not yet consumed (test goroutine only).
	pending []*protocol.Reply
}

// pause stops the read loop after the frame it is reading; the returned
// function resumes it.
func (c *wsClient) pause() func() {
	ch := make(chan struct{})
	c.pauseMu.Lock()
	c.paused = ch
	c.pauseMu.Unlock()
	return func() {
		c.pauseMu.Lock()
		c.paused = nil
		c.pauseMu.Unlock()
		close(ch)
	}
}

func (c *wsClient) pauseCh() chan struct{} {
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	return c.paused
}

func dial(t *testing.T, url string, header http.Header) *wsClient {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	c := &wsClient{t: t, conn: conn, in: make(chan *protocol.Reply, 10000), raw: make(chan []byte, 10000), closed: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *wsClient) readLoop() {
	defer close(c.closed)
	for {
		if p := c.pauseCh(); p != nil {
			<-p
		}
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.close = ce
			}
			c.err = err
			return
		}
		select {
		case c.raw <- data:
		default:
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			var r protocol.Reply
			if err := json.Unmarshal(line, &r); err != nil {
				c.err = fmt.Errorf("bad frame from server %q: %w", line, err)
				return
			}
			c.in <- &r
		}
	}
}

func (c *wsClient) sendRaw(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send sends one command and returns its id.
func (c *wsClient) send(method string, params any) uint32 {
	c.t.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.mu.Unlock()
	b, err := json.Marshal(map[string]any{"id": id, method: params})
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
	return id
}

// next returns the next reply or push, failing after waitTimeout.
func (c *wsClient) next() *protocol.Reply {
	c.t.Helper()
	if len(c.pending) > 0 {
		r := c.pending[0]
		c.pending = c.pending[1:]
		return r
	}
	return c.recv()
}

// call sends a command and waits for its reply; frames seen meanwhile stay
// pending, in order, for later reads.
func (c *wsClient) call(method string, params any) *protocol.Reply {
	c.t.Helper()
	id := c.send(method, params)
	for i, r := range c.pending {
		if r.ID == id {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return r
		}
	}
	for {
		r := c.recv()
		if r.ID == id {
			return r
		}
		c.pending = append(c.pending, r)
	}
}

// recv waits for a new frame from the read loop, failing after waitTimeout.
func (c *wsClient) recv() *protocol.Reply {
	c.t.Helper()
	select {
	case r := <-c.in:
		return r
	case <-c.closed:
		select {
		case r := <-c.in:
			return r
		default:
		}
		c.t.Fatalf("connection closed while waiting: %v", c.err)
	case <-time.After(waitTimeout):
		c.t.Fatal("timeout waiting for a frame")
	}
	return nil
}

// mustCall is call that fails the test on an error reply.
func (c *wsClient) mustCall(method string, params any) *protocol.Reply {
	c.t.Helper()
	r := c.call(method, params)
	if r.Error != nil {
		c.t.Fatalf("%s: error %d %s", method, r.Error.Code, r.Error.Message)
	}
	return r
}

func (c *wsClient) callErr(method string, params any, code uint32) {
	c.t.Helper()
	r := c.call(method, params)
	if r.Error == nil || r.Error.Code != code {
		c.t.Fatalf("%s: got %+v, want error %d", method, r.Error, code)
	}
}

// push returns the first push that matches pred, pending or new; others stay pending.
func (c *wsClient) push(pred func(*protocol.Push) bool) *protocol.Push {
	c.t.Helper()
	for i, r := range c.pending {
		if r.Push != nil && pred(r.Push) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return r.Push
		}
	}
	for {
		r := c.recv()
		if r.Push != nil && pred(r.Push) {
			return r.Push
		}
		c.pending = append(c.pending, r)
	}
}

func (c *wsClient) pub(ch string) *protocol.Publication {
	c.t.Helper()
	return c.push(func(p *protocol.Push) bool { return p.Channel == ch && p.Pub != nil }).Pub
}

// noPush asserts nothing but pings arrives for d.
func (c *wsClient) noPush(d time.Duration) {
	c.t.Helper()
	for _, r := range c.pending {
		if r.Push != nil {
			c.t.Fatalf("unexpected push %+v", r.Push)
		}
	}
	deadline := time.After(d)
	for {
		select {
		case r := <-c.in:
			if r.Push != nil {
				c.t.Fatalf("unexpected push %+v", r.Push)
			}
		case <-deadline:
			return
		}
	}
}

// waitClose waits for the server to close the connection and returns the close code.
func (c *wsClient) waitClose() int {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(waitTimeout):
		c.t.Fatal("timeout waiting for close")
	}
	if c.close == nil {
		c.t.Fatalf("closed without a close frame: %v", c.err)
	}
	return c.close.Code
}

func (c *wsClient) expectClose(code int) {
	c.t.Helper()
	if got := c.waitClose(); got != code {
		c.t.Fatalf("close code %d (%s), want %d", got, c.close.Text, code)
	}
}

// connect dials and connects as user.
func (s *testServer) connect(t *testing.T, user string, channels ...string) (*wsClient, *protocol.ConnectResult) {
	t.Helper()
	c := dial(t, s.wsURL(""), nil)
	r := c.mustCall("connect", map[string]any{"token": token(t, user, time.Hour, channels...)})
	return c, r.Connect
}

func jsonEq(t *testing.T, got []byte, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("bad JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	if string(ab) != string(bb) {
		t.Fatalf("JSON = %s, want %s", ab, bb)
	}
}

var _ = strings.Contains

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func dialRaw(url string, h http.Header) (*websocket.Conn, *http.Response, error) {
	return websocket.DefaultDialer.Dial(url, h)
}

// expiredToken signs claims with an exp a minute ago.
func expiredToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	claims["exp"] = time.Now().Add(-time.Minute).Unix()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
