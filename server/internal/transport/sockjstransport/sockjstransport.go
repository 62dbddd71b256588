// Package sockjstransport serves the client protocol over SockJS
// (igm/sockjs-go): websocket, xhr-streaming, xhr-polling, eventsource,
// iframe-htmlfile, jsonp-polling and the other sockjs-client transports. One
// SockJS message carries one protocol frame each way: one or more JSON
// commands (or replies) joined by '\n', as centrifuge-js's sockjs transport
// sends them.
//
// A session of the HTTP transports spans several requests, all of which must
// reach the node holding it: behind a load balancer SockJS needs sticky
// sessions (deploy/nginx.conf).
package sockjstransport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/igm/sockjs-go/v3/sockjs"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// Defaults of Options.
const (
	DefaultMaxMessageSize = 256 << 10
	DefaultWriteTimeout   = 10 * time.Second
)

// closeGrace delays closing a session of an HTTP transport after its
// disconnect push, so a polling client fetches the frames still buffered for
// it: sockjs-go sends only the close frame to a poll that comes after Close.
const closeGrace = time.Second

// Options of the handler; zero values mean sockjs-go's defaults.
type Options struct {
	// HeartbeatDelay is the interval of heartbeat frames on idle sessions.
	HeartbeatDelay time.Duration
	// DisconnectDelay closes a session with no receiving request for this long.
	DisconnectDelay time.Duration
	// ClientURL is the sockjs-client script of the iframe page.
	ClientURL string
	// MaxMessageSize caps the body of one send request (xhr_send,
	// jsonp_send; HTTP 413 beyond) and one WebSocket message (the connection
	// is closed beyond), in bytes.
	MaxMessageSize int
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// DisableWebSocket turns SockJS's websocket transport off (the info
	// request says so, and clients use the HTTP transports).
	DisableWebSocket bool
	// CheckOrigin validates the Origin header (nil: allow all): requests
	// from other origins get HTTP 403; allowed ones get CORS headers.
	CheckOrigin func(r *http.Request) bool
	// FrameAncestors is the Content-Security-Policy of the iframe page
	// (transport.FrameAncestors): which pages may frame it ("" any).
	FrameAncestors string
	// Stats counts connections (nil: not counted).
	Stats *transport.Stats
}

// Handler serves SockJS for a node, every project.
type Handler struct {
	node     *node.Node
	opts     Options
	sockjs   *sockjs.Handler
	sessions transport.Sessions
}

type projectKey struct{}

// New returns a SockJS handler for node.
func New(node *node.Node, opts Options) *Handler {
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	check := opts.CheckOrigin
	if check == nil {
		check = func(*http.Request) bool { return true }
	}
	so := sockjs.DefaultOptions
	so.Websocket = !opts.DisableWebSocket
	so.JSessionID = nil // no cookie: sticky sessions come from the load balancer
	so.CheckOrigin = check
	so.WebsocketUpgrader = &websocket.Upgrader{CheckOrigin: check, WriteBufferPool: &sync.Pool{}}
	so.WebsocketWriteTimeout = opts.WriteTimeout
	if opts.HeartbeatDelay > 0 {
		so.HeartbeatDelay = opts.HeartbeatDelay
	}
	if opts.DisconnectDelay > 0 {
		so.DisconnectDelay = opts.DisconnectDelay
	}
	if opts.ClientURL != "" {
		so.SockJSURL = opts.ClientURL
	}
	opts.CheckOrigin = check
	h := &Handler{node: node, opts: opts}
	h.sockjs = sockjs.NewHandler("", so, h.session)
	return h
}

var (
	iframePath = regexp.MustCompile(`^/iframe[0-9-.a-z_]*\.html$`)
	// sessionPath is a session request: /<server>/<session>/<transport>.
	sessionPath = regexp.MustCompile(`^/([^/]*)/([^/]*)/([a-z_]+)$`)
)

// projectSep joins a project and a session id in the session ids sockjs-go
// sees: no project name (structure.NameRe) nor valid id contains it.
const projectSep = "~"

// Serve handles one request to the SockJS endpoint of project ("" =
// default); path is what follows ".../sockjs" in the URL ("", "/info",
// "/<server>/<session>/xhr_streaming", ...).
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, project, path string) {
	if r.Header.Get("Origin") != "" && !h.opts.CheckOrigin(r) {
		transport.Error(w, http.StatusForbidden, "origin not allowed")
		return
	}
	p, err := h.node.Projects().Get(project)
	if err != nil {
		if errors.Is(err, structure.ErrUnknownProject) {
			transport.Error(w, http.StatusNotFound, "unknown project")
			return
		}
		transport.Error(w, http.StatusInternalServerError, "internal server error")
		return
	}
	send, receiver := false, ""
	if m := sessionPath.FindStringSubmatch(path); m != nil {
		// The client chooses the ids: bound and validated, and the session
		// is its project's (the same id in another project is another
		// session).
		if !transport.ValidSessionID(m[1]) || !transport.ValidSessionID(m[2]) {
			transport.Error(w, http.StatusNotFound, "malformed SockJS server or session id")
			return
		}
		if m[3] == "jsonp" && r.URL.Query().Get("c") == "" {
			transport.Error(w, http.StatusBadRequest, `"callback" parameter required`)
			return
		}
		send = m[3] == "xhr_send" || m[3] == "jsonp_send"
		receiver = m[3]
		path = "/" + m[1] + "/" + p.Name + projectSep + m[2] + "/" + m[3]
	} else if len(path) > 256 {
		transport.Error(w, http.StatusNotFound, "not found")
		return
	}
	if r.Method == http.MethodPost && r.Body != nil {
		// sockjs-go reads send bodies whole, without a limit, and would
		// accept a truncated one: read them here.
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(h.opts.MaxMessageSize)+1))
		if err != nil {
			transport.Error(w, http.StatusBadRequest, "reading the request body: "+err.Error())
			return
		}
		if len(body) > h.opts.MaxMessageSize {
			transport.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", h.opts.MaxMessageSize))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if path == "" {
		path = "/"
	}
	if h.opts.FrameAncestors != "" && iframePath.MatchString(path) {
		w.Header().Set("Content-Security-Policy", h.opts.FrameAncestors)
	}
	r2 := r.WithContext(context.WithValue(r.Context(), projectKey{}, project))
	u := *r.URL
	u.Path, u.RawPath = path, ""
	r2.URL = &u
	rw := &responseWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: h.opts.WriteTimeout, maxMessage: int64(h.opts.MaxMessageSize)}
	if send {
		// sockjs-go answers 500 to a send to a session that is closing: it
		// is the client's stale session, not a server error.
		h.sockjs.ServeHTTP(&sendWriter{responseWriter: rw}, r2)
		return
	}
	if preamble, ok := receiverPreamble[receiver]; ok {
		h.serveReceiver(rw, r2, preamble)
		return
	}
	h.sockjs.ServeHTTP(rw, r2)
}

// receiverPreamble is, for each SockJS transport whose requests receive a
// session's frames over HTTP, how many writes its handler in sockjs-go makes
// before the first frame (xhr_streaming's prelude, eventsource's blank line,
// htmlfile's page).
var receiverPreamble = map[string]int{"xhr": 0, "jsonp": 0, "xhr_streaming": 1, "eventsource": 1, "htmlfile": 1}

// anotherConnection is the reason of the close frame sockjs-go answers a
// receiving request with while the session still has a receiver.
var anotherConnection = []byte("Another connection still open")

// attachRetryFor bounds how long a receiving request waits for the
// session's previous receiver to be detached.
const attachRetryFor = 2 * time.Second

// maxHold bounds how long a streaming request's preamble is held back
// waiting for its first frame: a request that got its session may have
// nothing to send until the next heartbeat, while a refusal follows the
// preamble at once.
const maxHold = 100 * time.Millisecond

// serveReceiver serves a request that receives a session's frames. A
// polling client sends its next request as soon as one ends, but sockjs-go
// detaches the ended request's receiver from the session in a goroutine of
// its own: a request that comes first is refused with the close frame 2010
// "Another connection still open", which ends the session for the client.
// Such a refusal is held back and the attach tried again until the previous
// receiver is gone; a request that still finds one after attachRetryFor
// (two receivers at once for real) gets the refusal.
func (h *Handler) serveReceiver(rw *responseWriter, r *http.Request, preamble int) {
	deadline := time.Now().Add(attachRetryFor)
	for {
		w := &attachWriter{w: rw, header: rw.Header().Clone(), preamble: preamble}
		if preamble > 0 {
			w.timer = time.AfterFunc(maxHold, w.release)
		}
		h.sockjs.ServeHTTP(w, r)
		if !w.end(time.Now().After(deadline) || r.Context().Err() != nil) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// attachWriter holds a receiving request's response back until its first
// frame shows that the request got the session: the refusal of a request
// whose session still has a receiver is kept aside (refusal), so that the
// request can try again.
type attachWriter struct {
	// mu: the hold timer's release runs beside the handler's writes.
	mu       sync.Mutex
	timer    *time.Timer
	w        *responseWriter
	header   http.Header
	status   int
	preamble int // writes still to come before the first frame
	held     []byte
	// committed: the response goes to w (headers, status and held written).
	committed bool
	refusal   []byte
}

func (w *attachWriter) Header() http.Header {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.committed {
		return w.w.Header()
	}
	return w.header
}

func (w *attachWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.committed {
		w.w.WriteHeader(code)
		return
	}
	w.status = code
}

func (w *attachWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.committed:
		return w.w.Write(p)
	case w.refusal != nil:
		return len(p), nil
	case w.preamble > 0:
		w.preamble--
		w.held = append(w.held, p...)
		return len(p), nil
	case bytes.Contains(p, anotherConnection):
		w.refusal = append([]byte(nil), p...)
		return len(p), nil
	}
	if err := w.commit(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

// Flush flushes a committed response; before, there is nothing to flush.
func (w *attachWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.committed {
		w.w.Flush()
	}
}

// release (the hold timer) sends a preamble held for maxHold: the request
// got its session and waits for frames.
func (w *attachWriter) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.committed || w.refusal != nil || w.preamble > 0 {
		return
	}
	if w.commit() == nil {
		w.w.Flush()
	}
}

// commit (w.mu held) sends the headers, the status and the held writes.
func (w *attachWriter) commit() error {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.committed = true
	dst := w.w.Header()
	for k, v := range w.header {
		dst[k] = v
	}
	if w.status != 0 {
		w.w.WriteHeader(w.status)
	}
	if len(w.held) > 0 {
		if _, err := w.w.Write(w.held); err != nil {
			return err
		}
		w.held = nil
	}
	return nil
}

// end is called when the handler has returned. It reports whether the
// request is to try again: it was refused and last is false. Otherwise it
// writes what is held back, the refusal included.
func (w *attachWriter) end(last bool) (again bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.refusal != nil && !w.committed && !last {
		return true
	}
	if !w.committed && w.commit() == nil && w.refusal != nil {
		_, _ = w.w.Write(w.refusal)
	}
	return false
}

// session runs one SockJS session: the client state machine fed with the
// session's messages.
func (h *Handler) session(s sockjs.Session) {
	project, _ := s.Request().Context().Value(projectKey{}).(string)
	t := &sessionTransport{sess: s}
	c, err := client.New(h.node, t, project)
	if err != nil {
		_ = t.Close(protocol.DisconnectServerError)
		return
	}
	h.opts.Stats.Connect(transport.NameSockJS)
	defer h.opts.Stats.Disconnect(transport.NameSockJS)
	// sockjs-go holds one session per id; its id is "<project>~<id>".
	proj, id, _ := strings.Cut(s.ID(), projectSep)
	if remove, ok := h.sessions.Add(transport.SessionKey(proj, id), c); ok {
		defer remove()
	}
	for {
		msg, err := s.Recv()
		if err != nil {
			c.Closed()
			break
		}
		if !c.HandleFrame([]byte(msg)) {
			break
		}
	}
	<-c.Done()
}

// Shutdown disconnects every SockJS client with d. Their HTTP requests are not
// hijacked: http.Server.Shutdown waits for them, so it is called when the
// server starts shutting down (http.Server.RegisterOnShutdown).
func (h *Handler) Shutdown(d protocol.Disconnect) { h.sessions.Shutdown(d) }

// sendWriter turns sockjs-go's 500 to a send request into 404: the session
// is closing (the client reconnects, as after any 404 to a send).
type sendWriter struct {
	*responseWriter
	swallow bool
}

func (w *sendWriter) WriteHeader(code int) {
	if code == http.StatusInternalServerError {
		w.swallow = true
		transport.Error(w.responseWriter, http.StatusNotFound, "session closed")
		return
	}
	w.responseWriter.WriteHeader(code)
}

func (w *sendWriter) Write(p []byte) (int, error) {
	if w.swallow {
		return len(p), nil
	}
	return w.responseWriter.Write(p)
}

// sessionTransport is the client.Transport of one SockJS session.
type sessionTransport struct {
	sess      sockjs.Session
	closeOnce sync.Once
}

var (
	_ client.Transport   = (*sessionTransport)(nil)
	_ client.HTTPRequest = (*sessionTransport)(nil)
)

func (t *sessionTransport) Name() string { return transport.NameSockJS }

// RequestHeader returns the headers of the request that opened the session
// (client.HTTPRequest), for the proxies.
func (t *sessionTransport) RequestHeader() http.Header {
	if r := t.sess.Request(); r != nil {
		return r.Header
	}
	return http.Header{}
}

// Write sends frames as one SockJS message, joined by '\n'. sockjs-go writes
// at once to an attached receiver (bounded by the write timeout) and buffers
// for the next poll otherwise.
func (t *sessionTransport) Write(frames [][]byte) error {
	return t.sess.Send(string(bytes.Join(frames, []byte{'\n'})))
}

// Close sends d as a disconnect push, then closes the session with d as its
// SockJS close frame (code and reason, as WebSocket's): at once on a
// websocket, after closeGrace on HTTP transports so that a polling client gets
// the frames buffered before. It never blocks.
func (t *sessionTransport) Close(d protocol.Disconnect) error {
	t.closeOnce.Do(func() {
		go func() {
			if frame, err := protocol.EncodePush(&protocol.Push{Disconnect: &d}); err == nil {
				_ = t.sess.Send(string(frame))
			}
			if t.sess.ReceiverType() != sockjs.ReceiverTypeWebsocket {
				select {
				case <-time.After(closeGrace):
				case <-t.sess.Context().Done():
				}
			}
			_ = t.sess.Close(d.Code, d.Reason)
		}()
	})
	return nil
}

// responseWriter gives sockjs-go's writes a deadline (it sets none on HTTP
// receivers, so a stalled peer would block the session), and limits the
// messages of its websocket transport (it sets no read limit).
type responseWriter struct {
	http.ResponseWriter
	rc         *http.ResponseController
	timeout    time.Duration
	maxMessage int64
}

func (w *responseWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.ResponseWriter.Write(p)
}

func (w *responseWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	_ = w.rc.Flush()
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the WebSocket upgrade a connection that fails reading a
// message larger than maxMessage.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := w.rc.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Reader.Buffered() > 0 {
		return conn, brw, nil // the upgrade refuses this: data before the handshake
	}
	lc := &limitConn{Conn: conn, limit: w.maxMessage}
	return lc, bufio.NewReadWriter(bufio.NewReader(lc), brw.Writer), nil
}
