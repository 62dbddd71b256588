package wstransport

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/centrifugehq/centrifuge/server/internal/nodetest"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// polled is how many connections the pollers read now.
func polled() int {
	pollers.once.Do(startPollers)
	n := 0
	for _, p := range pollers.list {
		p.mu.Lock()
		n += len(p.conns)
		p.mu.Unlock()
	}
	return n
}

// polledServer serves WebSocket connections on a real node; it returns the
// client side of one connection and the handler's counts.
func polledServer(t *testing.T, opts Options) (*websocket.Conn, *transport.Stats) {
	t.Helper()
	opts.Stats = transport.NewStats()
	h := New(newNode(t), opts)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Serve(w, r, "") }))
	t.Cleanup(srv.Close)
	before := polled()
	cc, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	waitFor(t, "the connection read by a poller", func() bool { return polled() == before+1 })
	return cc, opts.Stats
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeRaw writes bytes on the client's socket as they are, in pieces with
// pauses, so that the server reads them in several reads.
func writeRaw(t *testing.T, cc *websocket.Conn, pieces ...[]byte) {
	t.Helper()
	for _, p := range pieces {
		if _, err := cc.NetConn().Write(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readReplies reads replies until n have come.
func readReplies(t *testing.T, cc *websocket.Conn, n int) []protocol.Reply {
	t.Helper()
	var replies []protocol.Reply
	_ = cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(replies) < n {
		_, data, err := cc.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			var r protocol.Reply
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("reply %q: %v", line, err)
			}
			replies = append(replies, r)
		}
	}
	return replies
}

// readClose reads until the server's close frame.
func readClose(t *testing.T, cc *websocket.Conn) *websocket.CloseError {
	t.Helper()
	_ = cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := cc.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("read %v, want a close frame", err)
		}
		return ce
	}
}

// The poller reads commands whatever the reads cut: a frame across three
// reads, two frames in one read, a fragmented message with a ping between
// its fragments (answered at once). When the peer goes away without a close
// frame, the connection ends and leaves its poller.
func TestPollerReadsCommands(t *testing.T) {
	cc, stats := polledServer(t, Options{})
	before := polled()
	connect := clientFrame(true, websocket.TextMessage, []byte(`{"id":1,"connect":{"token":"`+nodetest.Token(t, "42")+`"}}`), key)
	writeRaw(t, cc, connect[:1], connect[1:20], connect[20:])
	if r := readReplies(t, cc, 1); r[0].ID != 1 || r[0].Connect == nil {
		t.Fatalf("connect reply %+v", r[0])
	}
	two := append(text(`{"id":2,"subscribe":{"channel":"a"}}`), text(`{"id":3,"subscribe":{"channel":"b"}}`)...)
	writeRaw(t, cc, two)
	if r := readReplies(t, cc, 2); r[0].ID != 2 || r[0].Subscribe == nil || r[1].ID != 3 || r[1].Subscribe == nil {
		t.Fatalf("subscribe replies %+v", r)
	}
	pong := make(chan string, 1)
	cc.SetPongHandler(func(p string) error { pong <- p; return nil })
	writeRaw(t, cc,
		clientFrame(false, websocket.TextMessage, []byte(`{"id":4,"subscribe":`), key),
		clientFrame(true, websocket.PingMessage, []byte("between"), key),
		clientFrame(true, 0, []byte(`{"channel":"c"}}`), key))
	if r := readReplies(t, cc, 1); r[0].ID != 4 || r[0].Subscribe == nil {
		t.Fatalf("subscribe reply %+v", r[0])
	}
	select {
	case p := <-pong:
		if p != "between" {
			t.Fatalf("pong %q", p)
		}
	default:
		t.Fatal("no pong before the reply")
	}
	if err := cc.NetConn().Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the disconnect", func() bool {
		c := stats.Snapshot()[transport.NameWebSocket]
		return c.Connects == 1 && c.Disconnects == 1
	})
	waitFor(t, "the connection to leave its poller", func() bool { return polled() == before-1 })
}

// The peer's close frame is echoed with its code and ends the connection.
func TestPollerCloseHandshake(t *testing.T) {
	cc, stats := polledServer(t, Options{})
	if err := cc.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if ce := readClose(t, cc); ce.Code != 4000 {
		t.Fatalf("close %d, want the peer's 4000 echoed", ce.Code)
	}
	waitFor(t, "the disconnect", func() bool { return stats.Snapshot()[transport.NameWebSocket].Disconnects == 1 })
}

// Frames refused close the connection as gorilla does: a protocol error
// with 1002 and its reason, a message over the read limit with 1009, a
// command over the limits of the protocol with its code (3501).
func TestPollerRefusedFrames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frame  []byte
		code   int
		reason string
	}{
		{"unmasked", []byte{0x81, 2, '{', '}'}, websocket.CloseProtocolError, "bad MASK"},
		{"over the read limit", clientFrame(true, websocket.TextMessage, make([]byte, 5000), key)[:14], websocket.CloseMessageTooBig, ""},
		{"malformed command", text(`not json`), int(protocol.DisconnectBadRequest.Code), protocol.DisconnectBadRequest.Reason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, stats := polledServer(t, Options{ReadLimit: 4096})
			writeRaw(t, cc, tc.frame)
			if ce := readClose(t, cc); ce.Code != tc.code || ce.Text != tc.reason {
				t.Fatalf("close %d %q, want %d %q", ce.Code, ce.Text, tc.code, tc.reason)
			}
			waitFor(t, "the disconnect", func() bool { return stats.Snapshot()[transport.NameWebSocket].Disconnects == 1 })
		})
	}
}
