package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Conn is one client connection speaking protocol v2 JSON over WebSocket.
// After Open, Run reads until the connection ends: it answers the server's
// pings and counts the publications it receives, recording their latency.
type Conn struct {
	ws  *websocket.Conn
	buf []byte

	// Received counts publications; LastRecv is the unix nanoseconds of the
	// last one. Both are written by Run only and may be read at any time.
	Received atomic.Int64
	LastRecv atomic.Int64
	// Messages counts the WebSocket messages that carried publications (a
	// server that coalesces writes packs several into one).
	Messages atomic.Int64
	// Unsubscribed counts unsubscribe pushes (the server ended a subscription).
	Unsubscribed atomic.Int64

	closedByUs atomic.Bool
	// Err is why Run returned when the connection was not closed by Close:
	// a close frame from the server (websocket.CloseError) or a network error.
	Err error
}

// Dialer opens connections to one server.
type Dialer struct {
	URL string
	ws  websocket.Dialer
}

// NewDialer returns a dialer for the server's WebSocket URL
// (ws://127.0.0.1:8000/connection/websocket).
func NewDialer(url string, timeout time.Duration) *Dialer {
	nd := &net.Dialer{Timeout: timeout}
	return &Dialer{
		URL: url,
		ws: websocket.Dialer{
			NetDialContext:   nd.DialContext,
			HandshakeTimeout: timeout,
			// Pushes are read through an 8 KB buffer: a burst of small
			// messages costs one read system call.
			ReadBufferSize:  8 << 10,
			WriteBufferSize: 512,
		},
	}
}

// ReplyError is a command's error reply.
type ReplyError struct {
	Method  string
	Code    uint32 `json:"code"`
	Message string `json:"message"`
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("%s: error %d %s", e.Method, e.Code, e.Message)
}

// Open dials, connects with token and, when channel is set, subscribes to it,
// in one WebSocket message. It returns when both replies have arrived.
func (d *Dialer) Open(ctx context.Context, token, channel string) (*Conn, error) {
	ws, resp, err := d.ws.DialContext(ctx, d.URL, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	c := &Conn{ws: ws}
	if err := c.handshake(ctx, token, channel); err != nil {
		ws.Close()
		return nil, err
	}
	return c, nil
}

func (c *Conn) handshake(ctx context.Context, token, channel string) error {
	tok, _ := json.Marshal(token)
	msg := make([]byte, 0, 128+len(tok))
	msg = append(msg, `{"id":1,"connect":{"token":`...)
	msg = append(msg, tok...)
	msg = append(msg, `}}`...)
	want := 1
	if channel != "" {
		ch, _ := json.Marshal(channel)
		msg = append(msg, "\n"+`{"id":2,"subscribe":{"channel":`...)
		msg = append(msg, ch...)
		msg = append(msg, `}}`...)
		want = 2
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	_ = c.ws.SetWriteDeadline(deadline)
	if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
		return fmt.Errorf("write connect: %w", err)
	}
	_ = c.ws.SetReadDeadline(deadline)
	got := 0
	for got < want {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("read connect reply: %w", err)
		}
		for rest := data; len(rest) > 0; {
			var line []byte
			line, rest = nextLine(rest)
			if len(line) == 0 {
				continue
			}
			if bytes.Equal(line, pingLine) {
				if err := c.ws.WriteMessage(websocket.TextMessage, pongFrame); err != nil {
					return fmt.Errorf("write pong: %w", err)
				}
				continue
			}
			var r struct {
				ID    uint32      `json:"id"`
				Error *ReplyError `json:"error"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return fmt.Errorf("bad reply %q: %w", line, err)
			}
			if r.ID == 0 {
				continue // a push before the replies
			}
			if r.Error != nil {
				r.Error.Method = map[uint32]string{1: "connect", 2: "subscribe"}[r.ID]
				return r.Error
			}
			got++
		}
	}
	_ = c.ws.SetReadDeadline(time.Time{})
	_ = c.ws.SetWriteDeadline(time.Time{})
	return nil
}

// Run reads until the connection ends, recording each publication's latency
// into b (flushed before Run returns). It must be called once.
func (c *Conn) Run(b *Batch) {
	defer b.Flush()
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			if !c.closedByUs.Load() {
				c.Err = err
			}
			return
		}
		c.buf, err = readAll(r, c.buf[:0])
		if err != nil {
			if !c.closedByUs.Load() {
				c.Err = err
			}
			return
		}
		now := time.Now().UnixNano()
		pubs := 0
		for rest := c.buf; len(rest) > 0; {
			var line []byte
			line, rest = nextLine(rest)
			kind, ts := classify(line)
			switch kind {
			case linePub:
				pubs++
				if ts > 0 {
					b.Add(now - ts)
				}
			case linePing:
				_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if err := c.ws.WriteMessage(websocket.TextMessage, pongFrame); err != nil && !c.closedByUs.Load() {
					c.Err = fmt.Errorf("write pong: %w", err)
				}
			case lineUnsubscribe:
				c.Unsubscribed.Add(1)
			}
		}
		if pubs > 0 {
			c.Messages.Add(1)
			c.Received.Add(int64(pubs))
			c.LastRecv.Store(now)
		}
	}
}

// Close closes the connection at once (no close handshake); Run then returns
// without an error.
func (c *Conn) Close() {
	c.closedByUs.Store(true)
	_ = c.ws.Close()
}

// CloseCode is the close code the server sent, 0 when there was none.
func CloseCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// DescribeErr names an end of connection for the results: "close 3008", or
// the error text.
func DescribeErr(err error) string {
	if code := CloseCode(err); code != 0 {
		return "close " + strconv.Itoa(code)
	}
	return err.Error()
}

// readAll appends everything r yields to buf, growing it as needed.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
