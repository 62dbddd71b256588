// Package wstransport serves the client protocol over WebSocket
// (gorilla/websocket): one or more JSON frames per message, joined by '\n'.
package wstransport

import (
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// Options of the WebSocket handler.
type Options struct {
	// ReadLimit is the largest message accepted (bytes); larger ones close the
	// connection with 1009.
	ReadLimit int64
	// WriteTimeout bounds one write to a client (default 10s).
	WriteTimeout time.Duration
	// CheckOrigin validates the Origin header (nil: allow all).
	CheckOrigin func(r *http.Request) bool
	// Disabled refuses every upgrade with HTTP 404, as a proxy stripping
	// WebSocket would, so that clients fall back to other transports.
	Disabled bool
	// Stats counts connections (nil: not counted).
	Stats *transport.Stats
}

// Handler upgrades HTTP requests to WebSocket connections.
type Handler struct {
	node     *node.Node
	opts     Options
	upgrader websocket.Upgrader
}

// New returns a WebSocket handler for node.
func New(node *node.Node, opts Options) *Handler {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	h := &Handler{node: node, opts: opts}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		CheckOrigin:     opts.CheckOrigin,
		// Buffers are shared between connections while writing.
		WriteBufferPool: &sync.Pool{},
	}
	if h.upgrader.CheckOrigin == nil {
		h.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	}
	return h
}

// Serve handles one connection to project ("" = default) until it closes.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, project string) {
	if _, err := h.node.Projects().Get(project); err != nil {
		if errors.Is(err, structure.ErrUnknownProject) {
			http.Error(w, "unknown project", http.StatusNotFound)
			return
		}
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	if !h.upgrader.CheckOrigin(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	if h.opts.Disabled {
		http.Error(w, "websocket transport disabled on this server", http.StatusNotFound)
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	if h.opts.ReadLimit > 0 {
		conn.SetReadLimit(h.opts.ReadLimit)
	}
	// The request's headers are handed to the client as they are: it packs
	// them (client.New reads RequestHeader once).
	t := newWSTransport(conn, h.opts.WriteTimeout, r.Header)
	c, err := client.New(h.node, clientTransport(t), project)
	if err != nil {
		_ = t.Close(protocol.DisconnectServerError)
		return
	}
	// The client keeps a packed copy of the headers: the map is dropped.
	t.header = nil
	h.opts.Stats.Connect(transport.NameWebSocket)
	// The HTTP handler returns: net/http then frees what it holds for the
	// request (its buffers, the request, the handler's deep stack) for the
	// connection's whole life. On Linux a poller reads the connection
	// (poller_linux.go) and gorilla's connection, its read buffer included,
	// is dropped; otherwise a goroutine of its own reads it with gorilla.
	t.conn = nil
	if h.pollRead(t, c) {
		return
	}
	t.conn = conn
	go h.read(conn, c)
}

// read feeds the client's frames to c until the connection ends.
func (h *Handler) read(conn *websocket.Conn, c *client.Client) {
	defer h.opts.Stats.Disconnect(transport.NameWebSocket)
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			c.Closed()
			break
		}
		if !c.HandleFrame(data) {
			break
		}
	}
	<-c.Done()
}

type wsTransport struct {
	conn         *websocket.Conn
	nc           net.Conn
	writeTimeout time.Duration
	header       http.Header

	wmu sync.Mutex
	// partial: a message was cut short by a full socket; until WriteRest ends
	// it nothing else may be written.
	partial   bool
	closeSent bool
	closeOnce sync.Once
	// onClose, if set, runs once when the transport closes, before the
	// socket is closed (a poller's reader unregisters there).
	onClose func()
}

var errClosed = errors.New("websocket: close frame sent")

// bufPool holds message buffers for blocking writes.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func newWSTransport(conn *websocket.Conn, writeTimeout time.Duration, header http.Header) *wsTransport {
	t := &wsTransport{conn: conn, nc: conn.NetConn(), writeTimeout: writeTimeout, header: header}
	conn.SetPingHandler(func(data string) error {
		_ = t.writeControl(websocket.PongMessage, []byte(data))
		return nil
	})
	conn.SetCloseHandler(func(code int, _ string) error {
		// Echo the peer's close code, as RFC 6455 asks.
		_ = t.writeControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""))
		return nil
	})
	return t
}

func (t *wsTransport) Name() string { return transport.NameWebSocket }

// RequestHeader returns the upgrade request's headers (client.HTTPRequest):
// the proxies forward cookies and other headers from it to the web app.
// nil once the client is made: it keeps its own copy.
func (t *wsTransport) RequestHeader() http.Header { return t.header }

// AppendMessage appends frames, joined by '\n', as one text message.
func (t *wsTransport) AppendMessage(dst []byte, frames [][]byte) []byte {
	n := len(frames) - 1
	for _, f := range frames {
		n += len(f)
	}
	dst = append(dst, 0x80|websocket.TextMessage) // FIN, text
	switch {
	case n <= 125:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	for i, f := range frames {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = append(dst, f...)
	}
	return dst
}

// Write sends frames as one text message, blocking up to the write timeout.
func (t *wsTransport) Write(frames [][]byte) error {
	bp := bufPool.Get().(*[]byte)
	*bp = t.AppendMessage((*bp)[:0], frames)
	err := t.writeBlocking(*bp, false)
	if cap(*bp) <= 1<<20 {
		bufPool.Put(bp)
	}
	return err
}

// writeBlocking writes b with the write timeout; rest continues a message
// TryWrite left partial.
func (t *wsTransport) writeBlocking(b []byte, rest bool) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.closeSent || t.partial != rest {
		return errClosed
	}
	if err := t.nc.SetWriteDeadline(time.Now().Add(t.writeTimeout)); err != nil {
		return err
	}
	n, err := t.nc.Write(b)
	if err != nil {
		t.partial = t.partial || n > 0
		return err
	}
	t.partial = false
	// TryWrite's raw writes fail once a deadline has passed: clear it.
	return t.nc.SetWriteDeadline(time.Time{})
}

// writeControl writes a control frame (payload at most 125 bytes).
func (t *wsTransport) writeControl(op int, payload []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	return t.writeControlLocked(op, payload)
}

func (t *wsTransport) writeControlLocked(op int, payload []byte) error {
	if t.closeSent || t.partial {
		return errClosed
	}
	b := make([]byte, 0, 2+len(payload))
	b = append(b, 0x80|byte(op), byte(len(payload)))
	b = append(b, payload...)
	if err := t.nc.SetWriteDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if op == websocket.CloseMessage {
		t.closeSent = true
	}
	if _, err := t.nc.Write(b); err != nil {
		return err
	}
	return t.nc.SetWriteDeadline(time.Time{})
}

// Close sends a close frame with d and closes the connection. A writer
// blocked on a slow peer is interrupted first.
func (t *wsTransport) Close(d protocol.Disconnect) error {
	var err error
	t.closeOnce.Do(func() {
		if !t.wmu.TryLock() {
			_ = t.nc.SetWriteDeadline(time.Now())
			t.wmu.Lock()
		}
		_ = t.writeControlLocked(websocket.CloseMessage, websocket.FormatCloseMessage(int(d.Code), d.Reason))
		t.closeSent = true
		t.wmu.Unlock()
		if t.onClose != nil {
			t.onClose()
		}
		err = t.nc.Close()
	})
	return err
}
