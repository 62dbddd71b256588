package httpstream

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

var errStreamEnded = errors.New("stream ended")

// stream is the client.Transport of one streaming response. The client's
// writer goroutine writes frames; Close only marks the stream closing, and
// the request's goroutine, which owns the response, ends it with a disconnect
// push (there is no close frame) unless the peer has gone already.
type stream struct {
	name         string
	w            http.ResponseWriter
	rc           *http.ResponseController
	enc          func(dst, frame []byte) []byte
	writeTimeout time.Duration

	// mu serializes writes to w; finished is set once the response is over.
	mu       sync.Mutex
	finished bool

	// session is the unguessable id emulation requests must name.
	session string
	// header is the opening request's, for the proxies.
	header http.Header

	closeOnce sync.Once
	closing   chan struct{}
	d         protocol.Disconnect // set before closing is closed
}

var (
	_ client.Transport   = (*stream)(nil)
	_ client.Emulated    = (*stream)(nil)
	_ client.HTTPRequest = (*stream)(nil)
)

// RequestHeader returns the headers of the request that opened the stream.
func (s *stream) RequestHeader() http.Header { return s.header }

func (s *stream) Name() string { return s.name }

// Session names the stream in POST /emulation: a random secret.
func (s *stream) Session() string { return s.session }

// Write sends frames, each framed by the transport's encoding, and flushes.
func (s *stream) Write(frames [][]byte) error {
	var buf []byte
	for _, f := range frames {
		buf = s.enc(buf, f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return errStreamEnded
	}
	return s.writeLocked(buf)
}

func (s *stream) writeLocked(buf []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	defer func() { _ = s.rc.SetWriteDeadline(time.Time{}) }()
	if _, err := s.w.Write(buf); err != nil {
		return err
	}
	return s.rc.Flush()
}

// Close marks the stream closing with d; the request's goroutine ends it.
func (s *stream) Close(d protocol.Disconnect) error {
	s.closeOnce.Do(func() {
		s.d = d
		close(s.closing)
	})
	return nil
}

// finish ends the response: the disconnect push first unless peerGone. After
// it no write touches the response, so the handler may return.
func (s *stream) finish(peerGone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return
	}
	s.finished = true
	if peerGone {
		return
	}
	select {
	case <-s.closing:
	default:
		return
	}
	d := s.d
	frame, err := protocol.EncodePush(&protocol.Push{Disconnect: &d})
	if err != nil {
		return
	}
	_ = s.writeLocked(s.enc(nil, frame))
}
