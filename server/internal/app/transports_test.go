package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// streamClient reads an HTTP-streaming, SSE or SockJS xhr_streaming response
// line by line, as frames.
type streamClient struct {
	t      *testing.T
	resp   *http.Response
	cancel context.CancelFunc
	lines  chan string
	kind   string   // "http_stream", "sse" or "sockjs"
	queued []string // frames of a SockJS message not returned yet
}

func openStream(t *testing.T, kind string, req *http.Request) *streamClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req = req.WithContext(ctx)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("%s %s: HTTP %d %s", req.Method, req.URL, resp.StatusCode, body)
	}
	s := &streamClient{t: t, resp: resp, cancel: cancel, lines: make(chan string, 1024), kind: kind}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *streamClient) close() {
	s.cancel()
	s.resp.Body.Close()
}

// line returns the next meaningful line: a JSON frame (http_stream, sse) or a
// SockJS frame; "" when the stream has ended.
func (s *streamClient) line(timeout time.Duration) string {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return ""
			}
			switch {
			case s.kind == "sse" && strings.HasPrefix(l, "data: "):
				return strings.TrimPrefix(l, "data: ")
			case s.kind == "sse":
				continue // blank lines between events
			case s.kind == "sockjs" && strings.Trim(l, "h") == "" && len(l) > 1:
				continue // the xhr_streaming prelude
			}
			return l
		case <-deadline:
			s.t.Fatalf("%s: no frame within %s", s.kind, timeout)
		}
	}
}

// reply returns the next protocol frame (SockJS: of the next message).
func (s *streamClient) reply() *protocol.Reply {
	s.t.Helper()
	for {
		var l string
		if len(s.queued) > 0 {
			l, s.queued = s.queued[0], s.queued[1:]
		} else if l = s.line(waitTimeout); l == "" {
			s.t.Fatalf("%s: stream ended while waiting for a frame", s.kind)
		} else if s.kind == "sockjs" {
			if l[0] != 'a' {
				continue // o, h
			}
			var msgs []string
			if err := json.Unmarshal([]byte(l[1:]), &msgs); err != nil {
				s.t.Fatalf("bad sockjs frame %q: %v", l, err)
			}
			for _, m := range msgs {
				s.queued = append(s.queued, strings.Split(m, "\n")...)
			}
			continue
		}
		var r protocol.Reply
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			s.t.Fatalf("bad frame %q: %v", l, err)
		}
		return &r
	}
}

// until skips frames (pings included) until one passes pred.
func (s *streamClient) until(what string, pred func(*protocol.Reply) bool) *protocol.Reply {
	s.t.Helper()
	for i := 0; i < 100; i++ {
		if r := s.reply(); pred(r) {
			return r
		}
	}
	s.t.Fatalf("%s: %s never came", s.kind, what)
	return nil
}

// ended waits for the end of the stream, returning the frames still read.
func (s *streamClient) ended(timeout time.Duration) []string {
	s.t.Helper()
	var rest []string
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return rest
			}
			rest = append(rest, l)
		case <-deadline:
			s.t.Fatalf("%s: stream still open after %s (read %q)", s.kind, timeout, rest)
		}
	}
}

func connectFrame(t *testing.T, user string) string {
	b, _ := json.Marshal(map[string]any{"id": 1, "connect": map[string]any{"token": token(t, user, time.Hour)}})
	return string(b)
}

// httpStream opens POST /connection/http_stream with a connect command and
// returns the stream with the connect result.
func (s *testServer) httpStream(t *testing.T, user string) (*streamClient, *protocol.ConnectResult) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/connection/http_stream", strings.NewReader(connectFrame(t, user)))
	req.Header.Set("Content-Type", "application/json")
	st := openStream(t, "http_stream", req)
	r := st.reply()
	if r.Connect == nil || r.Connect.Session == "" || r.Connect.Node == "" {
		t.Fatalf("connect reply %+v", r)
	}
	return st, r.Connect
}

// emulate posts commands to /emulation; it returns the status and body.
func (s *testServer) emulate(t *testing.T, session, node string, commands ...string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"session": session, "node": node, "data": strings.Join(commands, "\n")})
	return s.post(t, "/emulation", "application/json", body)
}

func (s *testServer) post(t *testing.T, path, contentType string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+s.addr+path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func cmd(id int, method string, params any) string {
	b, _ := json.Marshal(map[string]any{"id": id, method: params})
	return string(b)
}

func TestHTTPStreamWithEmulation(t *testing.T) {
	s := startServer(t)
	st, res := s.httpStream(t, "42")
	if res.Session == "" || res.Session == res.Client || res.Node != s.srv.Node().ID() {
		t.Fatalf("session %q client %q node %q (this node %q)", res.Session, res.Client, res.Node, s.srv.Node().ID())
	}
	// The client id, which presence shows to others, does not open the session.
	if code, _ := s.emulate(t, res.Client, res.Node, "{}"); code != http.StatusNotFound {
		t.Fatalf("emulation with the client id answered %d", code)
	}
	// Two commands in one emulation request, answered on the stream in order.
	code, body := s.emulate(t, res.Session, res.Node,
		cmd(2, "subscribe", map[string]any{"channel": "chat:a"}),
		cmd(3, "presence_stats", map[string]any{"channel": "chat:a"}))
	if code != http.StatusNoContent {
		t.Fatalf("emulation: %d %s", code, body)
	}
	if r := st.until("subscribe reply", func(r *protocol.Reply) bool { return r.ID == 2 }); r.Subscribe == nil || r.Error != nil {
		t.Fatalf("subscribe reply %+v", r)
	}
	if r := st.until("presence_stats reply", func(r *protocol.Reply) bool { return r.ID == 3 }); r.PresenceStats == nil || r.PresenceStats.NumClients != 1 {
		t.Fatalf("presence_stats reply %+v", r)
	}
	s.publish("chat:a", `{"text":"hi"}`)
	p := st.until("publication", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Pub != nil })
	jsonEq(t, p.Push.Pub.Data, `{"text":"hi"}`)

	// A server disconnect ends the stream with a disconnect push.
	s.api("disconnect", map[string]any{"user": "42"})
	p = st.until("disconnect push", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Disconnect != nil })
	if p.Push.Disconnect.Code != protocol.DisconnectForceNoReconnect.Code {
		t.Fatalf("disconnect %+v", p.Push.Disconnect)
	}
	st.ended(waitTimeout)
	// The session is gone with its stream.
	if code, body := s.emulate(t, res.Session, res.Node, "{}"); code != http.StatusNotFound || !strings.Contains(body, "unknown session") {
		t.Fatalf("emulation after the end: %d %s", code, body)
	}
}

func TestSSE(t *testing.T) {
	s := startServer(t)
	u := "http://" + s.addr + "/connection/sse?" + url.Values{"cf_connect": {connectFrame(t, "7")}}.Encode()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	st := openStream(t, "sse", req)
	if ct := st.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	r := st.reply()
	if r.Connect == nil || r.Connect.Session == "" {
		t.Fatalf("connect %+v", r)
	}
	if code, body := s.emulate(t, r.Connect.Session, r.Connect.Node, cmd(2, "subscribe", map[string]any{"channel": "news"})); code != http.StatusNoContent {
		t.Fatalf("emulation %d %s", code, body)
	}
	st.until("subscribe reply", func(r *protocol.Reply) bool { return r.ID == 2 && r.Subscribe != nil })
	s.publish("news", `{"n":1}`)
	st.until("publication", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Pub != nil })
	// A bad token: the error frame, then the disconnect push, then the end.
	u = "http://" + s.addr + "/connection/sse?" + url.Values{"cf_connect": {`{"id":1,"connect":{"token":"x.y.z"}}`}}.Encode()
	req, _ = http.NewRequest(http.MethodGet, u, nil)
	bad := openStream(t, "sse", req)
	p := bad.until("disconnect push", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Disconnect != nil })
	if p.Push.Disconnect.Code != protocol.DisconnectInvalidToken.Code {
		t.Fatalf("disconnect %+v", p.Push.Disconnect)
	}
	bad.ended(waitTimeout)
}

func TestEmulationErrors(t *testing.T) {
	s := startServer(t)
	_, res := s.httpStream(t, "1")
	cases := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"unknown session", `{"session":"no-such-session","node":"` + res.Node + `","data":"{}"}`, 404, "unknown session"},
		{"unknown session, no node", `{"session":"no-such-session","data":"{}"}`, 404, "unknown session"},
		{"unknown node", `{"session":"no-such-session","node":"no-such-node","data":"{}"}`, 404, ""},
		{"no session", `{"node":"` + res.Node + `","data":"{}"}`, 400, "without session"},
		{"data not a string", `{"session":"` + res.Session + `","data":{"id":1}}`, 400, "JSON string"},
		{"not JSON", `{"session":`, 400, "malformed emulation request"},
	}
	for _, c := range cases {
		code, body := s.post(t, "/emulation", "application/json", []byte(c.body))
		if code != c.code || !strings.Contains(body, c.msg) || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.code, c.msg)
		}
	}
	resp, err := http.Get("http://" + s.addr + "/emulation")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /emulation: %d", resp.StatusCode)
	}
}

func TestOversizedPayloads(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.HTTP.EmulationMaxBodySize = 4096
		c.Client.MaxFrameSize = 2048
	})
	st, res := s.httpStream(t, "1")
	big := strings.Repeat("x", 5000)
	// Emulation body over http.emulation_max_body_size: 413, the session lives on.
	code, body := s.emulate(t, res.Session, res.Node, cmd(2, "publish", map[string]any{"channel": "news", "data": big}))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 4096 bytes") {
		t.Fatalf("big emulation body: %d %s", code, body)
	}
	// Within the body limit but over client.max_frame_size: the frame closes the session (3501).
	code, _ = s.emulate(t, res.Session, res.Node, cmd(2, "publish", map[string]any{"channel": "news", "data": strings.Repeat("y", 3000)}))
	if code != http.StatusNoContent {
		t.Fatalf("frame over max_frame_size: %d", code)
	}
	p := st.until("disconnect", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Disconnect != nil })
	if p.Push.Disconnect.Code != protocol.DisconnectBadRequest.Code {
		t.Fatalf("disconnect %+v", p.Push.Disconnect)
	}
	// A stream's connect over client.max_frame_size: 413 before any stream.
	bigConnect := `{"id":1,"connect":{"token":"` + big + `"}}`
	if code, body := s.post(t, "/connection/http_stream", "application/json", []byte(bigConnect)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("big http_stream connect: %d %s", code, body)
	}
	resp, err := http.Get("http://" + s.addr + "/connection/sse?" + url.Values{"cf_connect": {bigConnect}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("big sse connect: %d", resp.StatusCode)
	}
	// SockJS: a send body over the limit is 413, the session lives on; a
	// websocket message over it closes the connection.
	sj := s.sockjs(t, "2")
	msg, _ := json.Marshal([]string{big})
	if code, body := s.post(t, sj.base+"/xhr_send", "text/plain", msg); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("big xhr_send: %d %s", code, body)
	}
	sj.send(cmd(2, "subscribe", map[string]any{"channel": "news"}))
	sj.st.until("subscribe reply", func(r *protocol.Reply) bool { return r.ID == 2 })

	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/connection/sockjs/000/wsbig/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, open, err := conn.ReadMessage(); err != nil || string(open) != "o" {
		t.Fatalf("open frame %q %v", open, err)
	}
	huge, _ := json.Marshal([]string{strings.Repeat("z", 100<<10)})
	_ = conn.WriteMessage(websocket.TextMessage, huge)
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			break // closed by the server
		}
	}
}

// sockjsClient is a SockJS session over raw xhr_streaming + xhr_send.
type sockjsClient struct {
	t    *testing.T
	s    *testServer
	base string // path of the session: /connection/sockjs/<server>/<session>
	st   *streamClient
}

func (s *testServer) sockjsSession(t *testing.T) *sockjsClient {
	t.Helper()
	base := fmt.Sprintf("/connection/sockjs/000/s%d", time.Now().UnixNano())
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+base+"/xhr_streaming", nil)
	c := &sockjsClient{t: t, s: s, base: base, st: openStream(t, "sockjs", req)}
	if l := c.st.line(waitTimeout); l != "o" {
		t.Fatalf("open frame %q", l)
	}
	return c
}

// sockjs opens a session and connects it as user.
func (s *testServer) sockjs(t *testing.T, user string) *sockjsClient {
	t.Helper()
	c := s.sockjsSession(t)
	c.send(connectFrame(t, user))
	if r := c.st.reply(); r.Connect == nil || r.Connect.Session != "" {
		t.Fatalf("connect %+v", r)
	}
	return c
}

func (c *sockjsClient) send(frames ...string) {
	c.t.Helper()
	b, _ := json.Marshal(frames)
	if code, body := c.s.post(c.t, c.base+"/xhr_send", "text/plain", b); code != http.StatusNoContent {
		c.t.Fatalf("xhr_send: %d %s", code, body)
	}
}

func TestSockJSHeartbeatsKeepIdleSessionAlive(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.SockJS.HeartbeatDelay = dur(100 * time.Millisecond)
		c.SockJS.DisconnectDelay = dur(300 * time.Millisecond)
	})
	c := s.sockjs(t, "1")
	// Idle for 1 s: a heartbeat at least every 300 ms (a proxy with such a read
	// timeout would keep the request), and the session still works.
	beats := 0
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		if l := c.st.line(300 * time.Millisecond); l == "h" {
			beats++
		} else {
			t.Fatalf("unexpected frame %q while idle", l)
		}
	}
	if beats < 5 {
		t.Fatalf("%d heartbeats in 1 s", beats)
	}
	c.send(cmd(2, "subscribe", map[string]any{"channel": "news"}))
	c.st.until("subscribe reply", func(r *protocol.Reply) bool { return r.ID == 2 && r.Subscribe != nil })
	s.publish("news", `{"after":"idle"}`)
	c.st.until("publication", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Pub != nil })
}

func TestStreamPingsKeepIdleSessionAlive(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.Client.PingInterval = dur(300 * time.Millisecond)
		c.Client.PongTimeout = dur(200 * time.Millisecond)
	})
	// A client answering each ping through /emulation stays connected.
	alive, res := s.httpStream(t, "1")
	for i := 0; i < 4; i++ {
		alive.until("ping", func(r *protocol.Reply) bool { return r.ID == 0 && r.Push == nil && r.Connect == nil })
		if code, body := s.emulate(t, res.Session, res.Node, "{}"); code != http.StatusNoContent {
			t.Fatalf("pong: %d %s", code, body)
		}
	}
	if code, body := s.emulate(t, res.Session, res.Node, cmd(9, "subscribe", map[string]any{"channel": "news"})); code != http.StatusNoContent {
		t.Fatalf("after pings: %d %s", code, body)
	}
	alive.until("subscribe reply", func(r *protocol.Reply) bool { return r.ID == 9 })
	alive.close()
	// One that does not answer gets disconnect 3012.
	silent, _ := s.httpStream(t, "2")
	p := silent.until("disconnect", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Disconnect != nil })
	if p.Push.Disconnect.Code != protocol.DisconnectNoPong.Code {
		t.Fatalf("disconnect %+v", p.Push.Disconnect)
	}
	silent.ended(waitTimeout)
}

func TestSockJSSessionClosedMidSend(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.SockJS.DisconnectDelay = dur(200 * time.Millisecond) })
	waitClients := func(n int) {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for {
			_, out := s.api("info", map[string]any{})
			nodes := out["result"].(map[string]any)["nodes"].([]any)
			if got := int(nodes[0].(map[string]any)["num_clients"].(float64)); got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("clients never became %d: %v", n, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	burst := func(ch string, stop chan struct{}) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b, _ := json.Marshal(map[string]any{"channel": ch, "data": map[string]any{"i": i, "pad": strings.Repeat("p", 512)}})
				req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/publish", bytes.NewReader(b))
				req.Header.Set("X-API-Key", apiKey)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
		return done
	}

	// The peer goes away while publications stream to it.
	c := s.sockjs(t, "1")
	c.send(cmd(2, "subscribe", map[string]any{"channel": "news"}))
	c.st.until("subscribe reply", func(r *protocol.Reply) bool { return r.ID == 2 })
	stop := make(chan struct{})
	done := burst("news", stop)
	c.st.until("publication", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Pub != nil })
	c.st.close() // the receiving request dies: the session closes after disconnect_delay
	waitClients(0)

	// The server closes the session while publications stream to it: the
	// disconnect push, then the close frame with the code.
	c2 := s.sockjs(t, "2")
	c2.send(cmd(2, "subscribe", map[string]any{"channel": "news"}))
	c2.st.until("subscribe reply", func(r *protocol.Reply) bool { return r.ID == 2 })
	c2.st.until("publication", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Pub != nil })
	s.api("disconnect", map[string]any{"user": "2"})
	var sawPush, sawClose bool
	for !sawClose {
		l := c2.st.line(waitTimeout)
		switch {
		case l == "":
			t.Fatalf("stream ended before the close frame (push seen: %v)", sawPush)
		case strings.HasPrefix(l, "a") && strings.Contains(l, `disconnect`):
			sawPush = true
		case strings.HasPrefix(l, "c"):
			if l != `c[3503,"force disconnect"]` {
				t.Fatalf("close frame %q", l)
			}
			sawClose = true
		}
	}
	if !sawPush {
		t.Fatal("no disconnect push before the close frame")
	}
	close(stop)
	<-done
	waitClients(0)
	snap := s.srv.TransportStats().Snapshot()[transport.NameSockJS]
	if snap.Connects != 2 || snap.Disconnects != 2 {
		t.Fatalf("sockjs counters %+v", snap)
	}
}

func TestTransportOrigins(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.HTTP.AllowedOrigins = []string{"https://app.example.com"} })
	do := func(method, path, origin string, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/connection/http_stream", "/connection/sse", "/emulation", "/connection/sockjs/000/x/xhr_send"} {
		if resp := do(http.MethodOptions, path, "https://app.example.com", ""); resp.StatusCode != http.StatusNoContent ||
			resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "content-type") {
			t.Errorf("preflight %s: %d %v", path, resp.StatusCode, resp.Header)
		}
		for _, m := range []string{http.MethodOptions, http.MethodPost} {
			if resp := do(m, path, "https://evil.example.com", "{}"); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s %s from another origin: %d %v", m, path, resp.StatusCode, resp.Header)
			}
		}
	}
	if resp := do(http.MethodGet, "/connection/sockjs/info", "https://evil.example.com", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sockjs info from another origin: %d", resp.StatusCode)
	}
	if resp := do(http.MethodGet, "/connection/sockjs/info", "https://app.example.com", ""); resp.StatusCode != 200 ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("sockjs info: %d %v", resp.StatusCode, resp.Header)
	}
	// The SockJS iframe may be framed only by the allowed origins.
	if resp := do(http.MethodGet, "/connection/sockjs/iframe.html", "", ""); resp.Header.Get("Content-Security-Policy") != "frame-ancestors 'self' https://app.example.com" {
		t.Errorf("iframe CSP %q", resp.Header.Get("Content-Security-Policy"))
	}
	// An allowed origin streams (with CORS headers), without any cookie.
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/connection/http_stream", strings.NewReader(connectFrame(t, "1")))
	req.Header.Set("Origin", "https://app.example.com")
	st := openStream(t, "http_stream", req)
	if st.resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || st.reply().Connect == nil {
		t.Fatalf("stream from an allowed origin: %v", st.resp.Header)
	}
}

func TestDisableWebSocket(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.HTTP.DisableWebSocket = true })
	_, resp, err := websocket.DefaultDialer.Dial(s.wsURL(""), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("websocket upgrade: %v %v", resp, err)
	}
	r, err := http.Get("http://" + s.addr + "/connection/sockjs/info")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Websocket bool `json:"websocket"`
	}
	_ = json.NewDecoder(r.Body).Decode(&info)
	r.Body.Close()
	if info.Websocket {
		t.Fatal("sockjs info offers websocket")
	}
	// The other transports work.
	s.httpStream(t, "1")
	if snap := s.srv.TransportStats().Snapshot(); snap[transport.NameHTTPStream].Connects != 1 || snap[transport.NameWebSocket].Connects != 0 {
		t.Fatalf("counters %+v", snap)
	}
}

func TestShutdownEndsStreams(t *testing.T) {
	s := startServer(t)
	st, _ := s.httpStream(t, "1")
	sj := s.sockjs(t, "2")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %s with streams open", d)
	}
	if p := st.until("disconnect", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Disconnect != nil }); p.Push.Disconnect.Code != protocol.DisconnectShutdown.Code {
		t.Fatalf("http_stream disconnect %+v", p.Push.Disconnect)
	}
	if p := sj.st.until("disconnect", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Disconnect != nil }); p.Push.Disconnect.Code != protocol.DisconnectShutdown.Code {
		t.Fatalf("sockjs disconnect %+v", p.Push.Disconnect)
	}
}

// TestEmulationAcrossRedisNodes: a stream on node A, its commands posted to
// node B, which forwards them through the control channel.
func TestEmulationAcrossRedisNodes(t *testing.T) {
	r := redistest.Start(t)
	nodes := redisNodes(t, 2, func(c *config.Config) { c.Engine.RedisURL = r.URL })
	a, b := nodes[0], nodes[1]
	st, res := a.httpStream(t, "1")
	if code, body := b.emulate(t, res.Session, res.Node, cmd(2, "subscribe", map[string]any{"channel": "chat:x"})); code != http.StatusNoContent {
		t.Fatalf("emulation through B: %d %s", code, body)
	}
	st.until("subscribe reply", func(r *protocol.Reply) bool { return r.ID == 2 && r.Subscribe != nil })
	b.publish("chat:x", `{"via":"b"}`)
	st.until("publication", func(r *protocol.Reply) bool { return r.Push != nil && r.Push.Pub != nil })
	// A's node asked about a session it does not have: 404 through B.
	if code, body := b.emulate(t, "no-such-session", res.Node, "{}"); code != http.StatusNotFound || !strings.Contains(body, "unknown session") {
		t.Fatalf("unknown session through B: %d %s", code, body)
	}
	// Pongs through B keep the session (a round trip each).
	for i := 0; i < 3; i++ {
		if code, body := b.emulate(t, res.Session, res.Node, "{}"); code != http.StatusNoContent {
			t.Fatalf("pong through B: %d %s", code, body)
		}
	}
	// After A's heartbeats are known to B and A goes away, B says unknown node.
	deadline := time.Now().Add(8 * time.Second)
	for {
		_, out := b.api("info", map[string]any{})
		if len(out["result"].(map[string]any)["nodes"].([]any)) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B never saw A: %v", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.srv.Shutdown(ctx)
	// A's leave reaches B through Redis a moment after A's Shutdown returns.
	deadline = time.Now().Add(8 * time.Second)
	for {
		_, out := b.api("info", map[string]any{})
		if len(out["result"].(map[string]any)["nodes"].([]any)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B never saw A leave: %v", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := b.emulate(t, res.Session, res.Node, "{}"); code != http.StatusNotFound || !strings.Contains(body, "unknown node") {
		t.Fatalf("emulation for a node gone: %d %s", code, body)
	}
}
