package transport

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// BodyDeadline wraps h so that reading a request body has timeout: a read
// deadline is set on the connection for every request that has a body, and
// cleared once the body has been read to its end (a streaming response, as
// HTTP-streaming's, must not be cut later by it). A client that sends its
// body slowly, or never, gets a read error in the handler (or in net/http's
// read of the unread rest after it) and its connection is closed, instead of
// holding a descriptor forever. WebSocket upgrades carry no body and are not
// touched. timeout <= 0 returns h.
func BodyDeadline(h http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
			h.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			h.ServeHTTP(w, r)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody clears the read deadline once the body hit its end.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(func() { _ = b.rc.SetReadDeadline(time.Time{}) })
	}
	return n, err
}

// WriteDeadline wraps h so that writing the response of a request for which
// streaming returns false has timeout, counted from the response's first
// write (the handler may take its time to compute it): a peer that stops
// reading cannot hold the handler (and its buffers) longer. Streaming
// responses (client transports) bound each of their writes themselves.
// timeout <= 0 returns h.
func WriteDeadline(h http.Handler, timeout time.Duration, streaming func(*http.Request) bool) http.Handler {
	if timeout <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if streaming(r) {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}, r)
	})
}

// deadlineWriter sets the write deadline when the response starts.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	started bool
}

func (w *deadlineWriter) start() {
	if !w.started {
		w.started = true
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

func (w *deadlineWriter) WriteHeader(code int) {
	w.start()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the connection's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
