package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/centrifugehq/centrifuge/server/internal/config"
)

// A client that stops reading fills its socket: the rest of a message and
// everything queued after it wait for the client, which then gets every
// publication, whole and in order, while another subscriber is served at once.
func TestBackpressuredClientGetsEverythingInOrder(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.Client.MaxQueueSize = 256 << 20 })
	slow, _ := s.connect(t, "slow")
	fast, _ := s.connect(t, "fast")
	slow.mustCall("subscribe", map[string]any{"channel": "firehose"})
	fast.mustCall("subscribe", map[string]any{"channel": "firehose"})
	resume := slow.pause()
	slow.sendRaw("{}") // wake the read loop so it parks

	// 3,000 publications of 8 KB (24 MB, more than the sockets buffer) and one
	// of 100 KB, whose frame needs the 64-bit length.
	const n = 3001
	payload := func(i int) string {
		size := 8 << 10
		if i == n-1 {
			size = 100 << 10
		}
		return fmt.Sprintf("%06d", i) + strings.Repeat("x", size)
	}
	fastGot := make(chan error, 1)
	go func() { fastGot <- receiveInOrder(fast, n, payload, 20*time.Second) }()
	for i := range n {
		data, _ := json.Marshal(payload(i))
		s.publish("firehose", string(data))
	}
	if err := <-fastGot; err != nil {
		t.Fatalf("fast client: %v", err)
	}
	if v := s.srv.Node().Metrics().Counter("client.write_blocked", "").Value(); v == 0 {
		t.Fatal("the slow client's socket never filled: the test did not exercise blocked writes")
	}
	resume()
	if err := receiveInOrder(slow, n, payload, 30*time.Second); err != nil {
		t.Fatalf("slow client: %v", err)
	}
	// The connection is still usable afterwards.
	s.publish("firehose", `"after"`)
	if p := slow.pub("firehose"); string(p.Data) != `"after"` {
		t.Fatalf("after: %s", p.Data)
	}
}

// receiveInOrder reads n publications and checks each against payload(i).
func receiveInOrder(c *wsClient, n int, payload func(int) string, timeout time.Duration) error {
	deadline := time.After(timeout)
	for i := 0; i < n; {
		select {
		case r := <-c.in:
			if r.Push == nil || r.Push.Pub == nil {
				continue
			}
			var got string
			if err := json.Unmarshal(r.Push.Pub.Data, &got); err != nil {
				return fmt.Errorf("publication %d: %w", i, err)
			}
			if want := payload(i); got != want {
				return fmt.Errorf("publication %d: got %.20q (%d bytes), want %.20q (%d bytes)", i, got, len(got), want, len(want))
			}
			i++
		case <-deadline:
			return fmt.Errorf("got %d of %d publications", i, n)
		}
	}
	return nil
}

// Frames of every length encoding (7-bit, 16-bit, 64-bit) reach the client
// intact, several pushes per message included.
func TestFrameLengths(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "u")
	c.mustCall("subscribe", map[string]any{"channel": "sizes"})
	for _, size := range []int{0, 1, 60, 125, 126, 200, 65535, 65536, 70000} {
		data, _ := json.Marshal(strings.Repeat("y", size))
		s.publish("sizes", string(data))
		p := c.pub("sizes")
		if string(p.Data) != string(data) {
			t.Fatalf("size %d: got %d bytes", size, len(p.Data))
		}
	}
}

// The server answers WebSocket pings with pongs and echoes a client's close
// code, through the same writer as the data.
func TestWebSocketPingAndClose(t *testing.T) {
	s := startServer(t)
	conn, _, err := dialRaw(s.wsURL(""), http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pong := make(chan string, 1)
	conn.SetPongHandler(func(data string) error { pong <- data; return nil })
	go func() {
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	if err := conn.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-pong:
		if got != "hello" {
			t.Fatalf("pong %q", got)
		}
	case <-time.After(waitTimeout):
		t.Fatal("no pong")
	}

	conn2, _, err := dialRaw(s.wsURL(""), http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if err := conn2.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4321, "bye"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	_ = conn2.SetReadDeadline(time.Now().Add(waitTimeout))
	_, _, err = conn2.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4321 {
		t.Fatalf("close echo: %v", err)
	}
}

// debug.address serves the profiler on a listener of its own; the public
// port does not.
func TestDebugListener(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.Debug.Address = "127.0.0.1:0" })
	addr := s.srv.DebugAddr()
	if addr == "" {
		t.Fatal("no debug listener")
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("debug: %d %.100s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + s.addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("public port serves the profiler: %d", resp.StatusCode)
	}
}

// A connection that never sends a request (browsers open spare ones) does not
// hold a graceful shutdown back: net/http alone would wait 5 s for it.
func TestShutdownNotHeldBySpareConnection(t *testing.T) {
	s := startServer(t)
	spare, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	c, _ := s.connect(t, "u")
	time.Sleep(100 * time.Millisecond) // both accepted
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	start := time.Now()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v", d.Round(time.Millisecond))
	}
	c.expectClose(3001)
}
