package wstransport

import (
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// frameParser reads the client's WebSocket frames (RFC 6455, no extensions)
// from the bytes the poller reads off the socket, with the checks gorilla
// makes on a server connection: masked frames only, no reserved bits,
// control frames final and at most 125 bytes, fragments in order, a valid
// close code and UTF-8 close reason, and the read limit on each message as
// soon as a frame header says it would be passed. Text messages are not
// checked for UTF-8 (gorilla does not; the protocol's JSON decoder refuses
// what it cannot read).
//
// Between reads it holds only what is unparsed: in is nil when the last
// read ended on a frame boundary, and msg is nil unless a fragmented message
// is in flight. Buffers come from inPool and go back to it.
type frameParser struct {
	limit int64 // largest message (bytes); 0: no limit
	// in holds bytes read and not yet parsed, from its start.
	in []byte
	// need is how many bytes in must hold for the frame at its start to be
	// complete (0: unknown yet, the header is short).
	need int
	// msg is the payload of a fragmented message so far; fragmented says
	// one is in flight (its first frame had no FIN).
	msg        []byte
	fragmented bool
}

// frameSink receives what the parser finds.
type frameSink interface {
	// message is a complete data message (text or binary). data is valid
	// only during the call. It returns false to stop reading.
	message(data []byte) bool
	// ping is a ping frame's payload, to be echoed in a pong.
	ping(payload []byte)
	// closeFrame is the peer's close frame: its code (1005 when it had none)
	// and reason. Reading stops after it.
	closeFrame(code int, reason string)
}

// closeError is a frame the parser refuses: the connection closes with
// code and text.
type closeError struct {
	code int
	text string
}

func (e *closeError) Error() string {
	return "websocket: close " + strconv.Itoa(e.code) + " " + e.text
}

// errTooBig: a message over the read limit (gorilla's ErrReadLimit, 1009).
var errTooBig = &closeError{code: websocket.CloseMessageTooBig}

func protocolError(msg string) *closeError {
	return &closeError{code: websocket.CloseProtocolError, text: msg}
}

// inBufSize is the size of the pooled read buffers: a read takes at most
// this much; a frame larger than it gets a buffer of its own size.
const inBufSize = 4096

// maxAhead bounds how far beyond the bytes read a buffer is made for a
// frame's announced size; past it the buffer grows as the bytes come.
const maxAhead = 1 << 20

var inPool = sync.Pool{New: func() any { b := make([]byte, 0, inBufSize); return &b }}

// buffer returns in with room for at least one more byte (and for the
// whole frame in flight when its size is known), from the pool when the
// parser holds nothing.
func (p *frameParser) buffer() []byte {
	if p.in == nil {
		p.in = (*inPool.Get().(*[]byte))[:0]
	}
	want := len(p.in) + 1
	if p.need > want {
		// Room for the whole frame at once, but no more ahead of the bytes
		// than maxAhead: a header may announce far more than will come (the
		// read limit refuses it only when there is one).
		want = min(p.need, len(p.in)+maxAhead)
	}
	if cap(p.in) < want {
		n := max(want, 2*cap(p.in))
		if p.limit > 0 {
			// A frame header is at most 14 bytes; the limit is checked on it.
			n = min(n, max(want, int(p.limit)+14))
		}
		b := make([]byte, len(p.in), n)
		copy(b, p.in)
		p.release()
		p.in = b
	}
	return p.in
}

// release gives in back to the pool (if it is a pool-sized buffer).
func (p *frameParser) release() {
	if p.in != nil && cap(p.in) == inBufSize {
		b := p.in[:0]
		inPool.Put(&b)
	}
	p.in = nil
}

// read is called after n more bytes were read into the buffer buffer
// returned (after its length). It hands every complete frame to s and
// keeps the rest. stop is true when s.message returned false or a close
// frame came; err is a frame refused.
func (p *frameParser) read(n int, s frameSink) (stop bool, err *closeError) {
	p.in = p.in[:len(p.in)+n]
	b := p.in
	for !stop {
		var size int
		size, p.need, err = p.header(b)
		if err != nil || size == 0 {
			break
		}
		if stop, err = p.frame(b[:size], s); err != nil {
			break
		}
		b = b[size:]
	}
	if err != nil || stop {
		p.reset()
		return stop, err
	}
	// Keep the unparsed rest at the start of in; give in back when empty.
	if len(b) == 0 {
		p.release()
		p.need = 0
		return false, nil
	}
	if len(b) < len(p.in) {
		p.in = p.in[:copy(p.in, b)]
	}
	return false, nil
}

// reset drops every buffer (the connection is ending).
func (p *frameParser) reset() {
	p.release()
	p.need = 0
	p.msg = nil
	p.fragmented = false
}

// header parses the frame at the start of b. It returns the frame's whole
// size when b holds all of it (0 if not), how many bytes the frame needs
// when that is known, or the reason the frame is refused. It changes no
// state: it runs again on the same frame after each read until the frame
// is complete.
func (p *frameParser) header(b []byte) (size, need int, err *closeError) {
	if len(b) < 2 {
		return 0, 0, nil
	}
	final := b[0]&0x80 != 0
	op := int(b[0] & 0x0f)
	masked := b[1]&0x80 != 0
	length := uint64(b[1] & 0x7f)
	var errs []string
	if b[0]&0x40 != 0 {
		errs = append(errs, "RSV1 set")
	}
	if b[0]&0x20 != 0 {
		errs = append(errs, "RSV2 set")
	}
	if b[0]&0x10 != 0 {
		errs = append(errs, "RSV3 set")
	}
	switch op {
	case websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
		if length > 125 {
			errs = append(errs, "len > 125 for control")
		}
		if !final {
			errs = append(errs, "FIN not set on control")
		}
	case websocket.TextMessage, websocket.BinaryMessage:
		if p.fragmented {
			errs = append(errs, "data before FIN")
		}
	case 0: // continuation
		if !p.fragmented {
			errs = append(errs, "continuation after FIN")
		}
	default:
		errs = append(errs, "bad opcode "+strconv.Itoa(op))
	}
	if !masked {
		errs = append(errs, "bad MASK")
	}
	if len(errs) > 0 {
		return 0, 0, protocolError(strings.Join(errs, ", "))
	}
	hdr := 2
	switch length {
	case 126:
		if len(b) < 4 {
			return 0, 0, nil
		}
		length, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, 0, nil
		}
		length, hdr = binary.BigEndian.Uint64(b[2:]), 10
		if length>>63 != 0 {
			return 0, 0, errTooBig
		}
	}
	hdr += 4 // the mask key
	if op <= websocket.BinaryMessage {
		total := length + uint64(len(p.msg))
		if (p.limit > 0 && total > uint64(p.limit)) || total > 1<<40 {
			return 0, 0, errTooBig
		}
	}
	need = hdr + int(length)
	if len(b) < need {
		return 0, need, nil
	}
	return need, need, nil
}

// frame handles one complete frame f (header checked by header).
func (p *frameParser) frame(f []byte, s frameSink) (stop bool, err *closeError) {
	final := f[0]&0x80 != 0
	op := int(f[0] & 0x0f)
	hdr := 2
	switch f[1] & 0x7f {
	case 126:
		hdr = 4
	case 127:
		hdr = 10
	}
	key := f[hdr : hdr+4]
	payload := f[hdr+4:]
	maskBytes(key, payload)
	switch op {
	case websocket.TextMessage, websocket.BinaryMessage:
		if final {
			return !s.message(payload), nil
		}
		p.msg = append(make([]byte, 0, len(payload)), payload...)
		p.fragmented = true
	case 0:
		p.msg = append(p.msg, payload...)
		if final {
			msg := p.msg
			p.msg, p.fragmented = nil, false
			return !s.message(msg), nil
		}
	case websocket.PingMessage:
		s.ping(payload)
	case websocket.PongMessage:
	case websocket.CloseMessage:
		code, reason := websocket.CloseNoStatusReceived, ""
		if len(payload) >= 2 {
			code = int(binary.BigEndian.Uint16(payload))
			if !validCloseCode(code) {
				return false, protocolError("bad close code " + strconv.Itoa(code))
			}
			reason = string(payload[2:])
			if !utf8.ValidString(reason) {
				return false, protocolError("invalid utf8 payload in close frame")
			}
		}
		s.closeFrame(code, reason)
		return true, nil
	}
	return false, nil
}

// validCloseCode: the codes a peer may send (RFC 6455 7.4, IANA registry),
// as gorilla checks them.
func validCloseCode(code int) bool {
	switch code {
	case 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013:
		return true
	}
	return code >= 3000 && code <= 4999
}

// maskBytes unmasks b in place with key (4 bytes), eight bytes at a time.
func maskBytes(key, b []byte) {
	k := binary.LittleEndian.Uint32(key)
	k8 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k8)
	}
	for ; i < len(b); i++ {
		b[i] ^= key[i&3]
	}
}
