// Package httpstream serves the HTTP fallbacks of centrifuge-js: HTTP-streaming
// (POST /connection/http_stream: the connect command in the body, replies as
// newline-delimited JSON in the response) and SSE (GET /connection/sse with
// the connect command in the cf_connect query parameter, replies as `data:`
// events). The client sends its later commands with POST /emulation
// {session, node, data}, which may reach any node: node.Node.Emulate routes it.
package httpstream

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// Defaults of Options.
const (
	DefaultMaxConnectSize       = 64 << 10
	DefaultMaxEmulationBodySize = 256 << 10
	DefaultWriteTimeout         = 10 * time.Second
)

// ConnectParam is the SSE query parameter carrying the connect command.
const ConnectParam = "cf_connect"

// Options of the handler; zero values mean defaults.
type Options struct {
	// MaxConnectSize caps the connect frame that opens a stream (the POST
	// body, or cf_connect), in bytes; larger ones get HTTP 413.
	MaxConnectSize int
	// MaxEmulationBodySize caps a POST /emulation body, in bytes; larger ones
	// get HTTP 413.
	MaxEmulationBodySize int
	// WriteTimeout bounds one write to a stream.
	WriteTimeout time.Duration
	// CheckOrigin validates the Origin header (nil: allow all); see
	// transport.CORS.
	CheckOrigin func(r *http.Request) bool
	// Stats counts connections per transport (nil: not counted).
	Stats *transport.Stats
}

// Handler serves HTTP-streaming, SSE and the emulation endpoint for a node.
type Handler struct {
	node     *node.Node
	opts     Options
	sessions transport.Sessions
}

// New returns a handler for node.
func New(node *node.Node, opts Options) *Handler {
	if opts.MaxConnectSize <= 0 {
		opts.MaxConnectSize = DefaultMaxConnectSize
	}
	if opts.MaxEmulationBodySize <= 0 {
		opts.MaxEmulationBodySize = DefaultMaxEmulationBodySize
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	return &Handler{node: node, opts: opts}
}

// ServeStream handles POST /connection/http_stream for project ("" = default).
func (h *Handler) ServeStream(w http.ResponseWriter, r *http.Request, project string) {
	if !transport.CORS(w, r, h.opts.CheckOrigin, "POST, OPTIONS") {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		transport.Error(w, http.StatusMethodNotAllowed, "HTTP-streaming starts with POST")
		return
	}
	connect, ok := h.readBody(w, r, h.opts.MaxConnectSize, "connect command")
	if !ok {
		return
	}
	h.serve(w, r, project, transport.NameHTTPStream, connect, "application/x-ndjson", func(dst, frame []byte) []byte {
		dst = append(dst, frame...)
		return append(dst, '\n')
	})
}

// ServeSSE handles GET /connection/sse?cf_connect=... (or POST with the
// connect command in the body) for project ("" = default).
func (h *Handler) ServeSSE(w http.ResponseWriter, r *http.Request, project string) {
	if !transport.CORS(w, r, h.opts.CheckOrigin, "GET, POST, OPTIONS") {
		return
	}
	var connect []byte
	switch r.Method {
	case http.MethodGet:
		connect = []byte(r.URL.Query().Get(ConnectParam))
		if len(connect) > h.opts.MaxConnectSize {
			transport.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("connect command larger than %d bytes", h.opts.MaxConnectSize))
			return
		}
	case http.MethodPost:
		var ok bool
		if connect, ok = h.readBody(w, r, h.opts.MaxConnectSize, "connect command"); !ok {
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		transport.Error(w, http.StatusMethodNotAllowed, "SSE starts with GET (or POST)")
		return
	}
	h.serve(w, r, project, transport.NameSSE, connect, "text/event-stream; charset=utf-8", func(dst, frame []byte) []byte {
		// encoding/json never writes a raw newline, so one data line per frame.
		dst = append(dst, "data: "...)
		dst = append(dst, frame...)
		return append(dst, '\n', '\n')
	})
}

// readBody reads at most limit bytes of the body; it answers 413 (or 400)
// itself and returns false when the body is too large (or unreadable).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, limit int, what string) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		transport.Error(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return nil, false
	}
	if len(body) > limit {
		transport.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s larger than %d bytes", what, limit))
		return nil, false
	}
	return body, true
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, project, name string, connect []byte, contentType string, enc func(dst, frame []byte) []byte) {
	if len(strings.TrimSpace(string(connect))) == 0 {
		transport.Error(w, http.StatusBadRequest, "no connect command: send it in the POST body (http_stream) or the "+ConnectParam+" query parameter (sse)")
		return
	}
	proj, ok := h.project(w, project)
	if !ok {
		return
	}
	s := &stream{
		name:         name,
		w:            w,
		rc:           http.NewResponseController(w),
		enc:          enc,
		writeTimeout: h.opts.WriteTimeout,
		closing:      make(chan struct{}),
		session:      rand.Text(),
		header:       r.Header.Clone(),
	}
	c, err := client.New(h.node, s, project)
	if err != nil {
		transport.Error(w, http.StatusInternalServerError, "internal server error")
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Cache-Control", "private, no-cache, no-store, must-revalidate, max-age=0")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Expires", "0")
	hdr.Set("X-Accel-Buffering", "no") // nginx: pass each write on at once
	s.mu.Lock()
	w.WriteHeader(http.StatusOK)
	err = s.rc.Flush()
	s.mu.Unlock()
	if err != nil {
		c.Closed()
		s.finish(true)
		<-c.Done()
		return
	}

	h.opts.Stats.Connect(name)
	defer h.opts.Stats.Disconnect(name)
	// The session is bound to its project and this connection: emulation
	// requests reach it only through the project's endpoint, and only while
	// the stream lives.
	key := transport.SessionKey(proj, s.session)
	removeSink := h.node.AddSession(key, func(data []byte) { c.HandleFrame(data) })
	defer removeSink()
	if remove, ok := h.sessions.Add(key, c); ok { // a fresh random id: always
		defer remove()
	}

	c.HandleFrame(connect)
	peerGone := false
	select {
	case <-s.closing:
	case <-r.Context().Done():
		peerGone = true
		c.Closed()
	}
	s.finish(peerGone || r.Context().Err() != nil)
	<-c.Done()
}

// Shutdown disconnects every stream of the handler with d. Streaming responses
// are not hijacked: http.Server.Shutdown waits for them, so it is called
// when the server starts shutting down (http.Server.RegisterOnShutdown).
func (h *Handler) Shutdown(d protocol.Disconnect) { h.sessions.Shutdown(d) }

// project resolves a project of the URL ("" = default) to its name; it
// answers 404 itself for an unknown one.
func (h *Handler) project(w http.ResponseWriter, project string) (string, bool) {
	p, err := h.node.Projects().Get(project)
	if err != nil {
		if errors.Is(err, structure.ErrUnknownProject) {
			transport.Error(w, http.StatusNotFound, "unknown project")
			return "", false
		}
		transport.Error(w, http.StatusInternalServerError, "internal server error")
		return "", false
	}
	return p.Name, true
}

// emulationRequest is the body of POST /emulation (JSON protocol): data is
// the client's frame (commands joined by '\n') as a JSON string.
type emulationRequest struct {
	Session string          `json:"session"`
	Node    string          `json:"node"`
	Data    json.RawMessage `json:"data"`
}

// ServeEmulation handles POST /emulation (project "": the default one) and
// POST /emulation/<project>: it hands the commands to the
// session, on whichever node holds it, and answers 204 once they are handled.
// An unknown session or node is a 404 (the client then reconnects), a
// malformed request a 400, a body over the limit a 413.
func (h *Handler) ServeEmulation(w http.ResponseWriter, r *http.Request, project string) {
	if !transport.CORS(w, r, h.opts.CheckOrigin, "POST, OPTIONS") {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		transport.Error(w, http.StatusMethodNotAllowed, "emulation requests are POST")
		return
	}
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		transport.Error(w, http.StatusBadRequest, "only the JSON protocol is supported")
		return
	}
	proj, ok := h.project(w, project)
	if !ok {
		return
	}
	body, ok := h.readBody(w, r, h.opts.MaxEmulationBodySize, "emulation request")
	if !ok {
		return
	}
	req, data, msg := parseEmulation(body)
	if msg != "" {
		transport.Error(w, http.StatusBadRequest, msg)
		return
	}
	err := h.node.Emulate(r.Context(), req.Node, transport.SessionKey(proj, req.Session), data)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, node.ErrUnknownSession):
		transport.Error(w, http.StatusNotFound, "unknown session: its stream has ended, or it never was (reconnect)")
	case errors.Is(err, node.ErrUnknownNode):
		transport.Error(w, http.StatusNotFound, "unknown node: the session's node is gone (reconnect)")
	case errors.Is(err, node.ErrEmulationTimeout):
		transport.Error(w, http.StatusGatewayTimeout, "the session's node did not answer in time")
	default:
		h.node.Log().Error("emulation request failed", "err", err)
		transport.Error(w, http.StatusBadGateway, "emulation failed: the session's node could not be reached")
	}
}

// parseEmulation decodes a POST /emulation body; msg says what is wrong
// with a malformed one (HTTP 400).
func parseEmulation(body []byte) (req emulationRequest, data []byte, msg string) {
	if err := json.Unmarshal(body, &req); err != nil {
		return req, nil, "malformed emulation request: " + err.Error()
	}
	if req.Session == "" {
		return req, nil, "emulation request without session"
	}
	if !transport.ValidSessionID(req.Session) || len(req.Node) > 128 {
		return req, nil, "malformed session or node id"
	}
	var s string
	if err := json.Unmarshal(req.Data, &s); err != nil || s == "" {
		return req, nil, "emulation request data must be the commands as a non-empty JSON string"
	}
	return req, []byte(s), ""
}
