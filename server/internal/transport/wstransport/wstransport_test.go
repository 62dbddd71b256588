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

	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/nodetest"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// pair returns the server side of a real WebSocket connection (as a
// wsTransport) and the client side (a gorilla client).
func pair(t *testing.T, writeTimeout time.Duration) (*wsTransport, *websocket.Conn) {
	t.Helper()
	got := make(chan *wsTransport, 1)
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		got <- newWSTransport(conn, writeTimeout, r.Header.Clone())
	}))
	t.Cleanup(srv.Close)
	cc, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	select {
	case st := <-got:
		t.Cleanup(func() { _ = st.conn.Close() })
		return st, cc
	case <-time.After(5 * time.Second):
		t.Fatal("no server connection")
		return nil, nil
	}
}

// Write sends frames as one text message, frames joined by '\n', with the
// 7-bit, 16-bit and 64-bit payload lengths of RFC 6455 read back by gorilla.
func TestWriteFramesOneMessage(t *testing.T) {
	st, cc := pair(t, 5*time.Second)
	for _, size := range []int{1, 125, 126, 300, 0xffff, 0x10000, 200000} {
		a := bytes.Repeat([]byte{'a'}, size)
		frames := [][]byte{a, []byte(`{"id":1}`), []byte(`{}`)}
		if err := st.Write(frames); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		_ = cc.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, msg, err := cc.ReadMessage()
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		want := bytes.Join(frames, []byte{'\n'})
		if typ != websocket.TextMessage || !bytes.Equal(msg, want) {
			t.Fatalf("size %d: type %d, %d bytes, want text of %d bytes", size, typ, len(msg), len(want))
		}
	}
}

// AppendMessage's header: FIN + text opcode, then the payload length in the
// shortest form RFC 6455 allows, unmasked (server to client).
func TestAppendMessageHeader(t *testing.T) {
	var st wsTransport
	for _, tc := range []struct {
		n      int
		header []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{0xffff, []byte{0x81, 126, 0xff, 0xff}},
		{0x10000, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		// Two frames of n-1 bytes joined by '\n' make n bytes (one frame for n = 0).
		frames := [][]byte{make([]byte, 0)}
		if tc.n > 0 {
			frames = [][]byte{make([]byte, tc.n-1), {}}
		}
		msg := st.AppendMessage([]byte("prefix"), frames)
		if !bytes.HasPrefix(msg, []byte("prefix")) {
			t.Fatal("AppendMessage must append to dst")
		}
		msg = msg[len("prefix"):]
		if !bytes.Equal(msg[:len(tc.header)], tc.header) || len(msg) != len(tc.header)+tc.n {
			t.Fatalf("n=%d: header % x, length %d", tc.n, msg[:len(tc.header)], len(msg))
		}
	}
}

// Close sends a close frame with the disconnect's code and reason; writes
// after it fail.
func TestCloseSendsCode(t *testing.T) {
	st, cc := pair(t, 5*time.Second)
	d := protocol.DisconnectSlow
	if err := st.Close(d); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(d); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
	_ = cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := cc.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != int(d.Code) || ce.Text != d.Reason {
		t.Fatalf("read %v, want close %d %q", err, d.Code, d.Reason)
	}
	if err := st.Write([][]byte{[]byte(`{}`)}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// A peer that does not read fills the socket; Close interrupts the blocked
// writer instead of waiting for the write timeout.
func TestCloseInterruptsBlockedWrite(t *testing.T) {
	st, _ := pair(t, time.Minute)
	big := [][]byte{bytes.Repeat([]byte{'x'}, 8<<20)}
	done := make(chan error, 1)
	go func() {
		for {
			if err := st.Write(big); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the socket buffers fill, Write blocks
	start := time.Now()
	if err := st.Close(protocol.DisconnectSlow); err != nil && !errors.Is(err, errClosed) {
		t.Logf("close: %v", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked Write was not interrupted by Close")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("close took %v", d)
	}
}

// The peer's close code is echoed and pings are answered while the
// connection is read.
func TestControlFrames(t *testing.T) {
	st, cc := pair(t, 5*time.Second)
	go func() {
		for {
			if _, _, err := st.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	pong := make(chan string, 1)
	cc.SetPongHandler(func(data string) error { pong <- data; return nil })
	if err := cc.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { _, _, _ = cc.ReadMessage() }() // gorilla calls the pong handler while reading
	select {
	case p := <-pong:
		if p != "hi" {
			t.Fatalf("pong %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
}

func newNode(t *testing.T) *node.Node {
	return nodetest.New(t, nodetest.Options{Channels: structure.ChannelOptions{AllowSubscribeForClient: true}})
}

// Serve runs the client protocol over the connection, and refuses what it
// must with HTTP errors before upgrading.
func TestServe(t *testing.T) {
	n := newNode(t)
	serve := func(opts Options, project string) *httptest.Server {
		h := New(n, opts)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Serve(w, r, project) }))
		t.Cleanup(srv.Close)
		return srv
	}
	wsURL := func(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") }

	srv := serve(Options{ReadLimit: 4096}, "")
	cc, _, err := websocket.DefaultDialer.Dial(wsURL(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	tok := nodetest.Token(t, "42")
	// Two commands in one message, as centrifuge-js batches them.
	msg := `{"id":1,"connect":{"token":"` + tok + `"}}` + "\n" + `{"id":2,"subscribe":{"channel":"news"}}`
	if err := cc.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	var replies []protocol.Reply
	_ = cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(replies) < 2 {
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
	if replies[0].ID != 1 || replies[0].Connect == nil || replies[0].Connect.Client == "" || replies[1].ID != 2 || replies[1].Subscribe == nil {
		t.Fatalf("replies %+v", replies)
	}
	// A message over ReadLimit closes the connection with 1009.
	if err := cc.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte{' '}, 5000)); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err = cc.ReadMessage(); err != nil {
			break
		}
	}
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("after a message over the limit: %v, want close 1009", err)
	}

	for _, tc := range []struct {
		name   string
		opts   Options
		proj   string
		header http.Header
		status int
	}{
		{"unknown project", Options{}, "nope", nil, http.StatusNotFound},
		{"origin refused", Options{CheckOrigin: func(*http.Request) bool { return false }}, "", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"disabled", Options{Disabled: true}, "", nil, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := websocket.DefaultDialer.Dial(wsURL(serve(tc.opts, tc.proj)), tc.header)
			if err == nil {
				t.Fatal("upgrade accepted")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("response %v, want %d", resp, tc.status)
			}
		})
	}
}
