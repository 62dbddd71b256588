// Package client is one connection's protocol state machine, independent of the
// transport that carries its frames (WebSocket now; SockJS, HTTP-streaming and
// SSE use the same machine).
package client

import (
	"net/http"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// Transport carries frames to one client.
type Transport interface {
	// Name is the transport's name ("websocket").
	Name() string
	// Write sends frames, in order, as one transport message where it can.
	// It may block up to the transport's write timeout.
	Write(frames [][]byte) error
	// Close ends the connection telling the client d (a WebSocket close frame,
	// or a disconnect push). It must be safe to call more than once.
	Close(d protocol.Disconnect) error
}

// Emulated is implemented by transports whose client sends commands through
// separate HTTP requests (POST /emulation: HTTP-streaming, SSE): the connect
// reply then carries the session and node those requests name. The session is
// a secret of the connection (never the client id, which presence and
// join/leave show to other users): whoever knows it can send its commands.
type Emulated interface {
	Session() string
}

// HTTPRequest is implemented by transports opened by an HTTP request: the
// proxies forward the headers they name (Cookie, Authorization...) from it to
// the web app, and the connect proxy authenticates a connection without a
// token by them.
type HTTPRequest interface {
	// RequestHeader returns the headers of the request that opened the
	// connection. New reads them once and keeps a compact copy; the client
	// does not modify them.
	RequestHeader() http.Header
}
