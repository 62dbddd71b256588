// Package wstransport serves the client protocol over WebSocket
// (gorilla/websocket): one or more JSON frames per message, joined by '\n'.
package wstransport

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/hub"
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
	node     *hub.Node
	opts     Options
	upgrader websocket.Upgrader
	wg       sync.WaitGroup
}

// New returns a WebSocket handler for node.
func New(node *hub.Node, opts Options) *Handler {
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
	t := &wsTransport{conn: conn, writeTimeout: h.opts.WriteTimeout, header: r.Header.Clone()}
	c, err := client.New(h.node, t, project)
	if err != nil {
		_ = t.Close(protocol.DisconnectServerError)
		return
	}
	h.opts.Stats.Connect(transport.NameWebSocket)
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
	writeTimeout time.Duration
	closeOnce    sync.Once
	header       http.Header
}

func (t *wsTransport) Name() string { return transport.NameWebSocket }

// RequestHeader returns the upgrade request's headers (client.HTTPRequest):
// the proxies forward cookies and other headers from it to the web app.
func (t *wsTransport) RequestHeader() http.Header { return t.header }

// Write sends frames as one text message, joined by '\n'. Only the client's
// writer goroutine calls it.
func (t *wsTransport) Write(frames [][]byte) error {
	if err := t.conn.SetWriteDeadline(time.Now().Add(t.writeTimeout)); err != nil {
		return err
	}
	w, err := t.conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	for i, f := range frames {
		if i > 0 {
			if _, err := w.Write([]byte{'\n'}); err != nil {
				return err
			}
		}
		if _, err := w.Write(f); err != nil {
			return err
		}
	}
	return w.Close()
}

// Close sends a close frame with d and closes the connection.
func (t *wsTransport) Close(d protocol.Disconnect) error {
	var err error
	t.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(int(d.Code), d.Reason)
		_ = t.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		err = t.conn.Close()
	})
	return err
}
