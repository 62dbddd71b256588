package sockjstransport

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// FuzzLimitConn: the WebSocket frame scanner of SockJS's websocket transport
// never panics, and never lets a data message over its limit through.
func FuzzLimitConn(f *testing.F) {
	frame := func(op byte, n int, masked bool) []byte {
		b := []byte{0x80 | op}
		m := byte(0)
		if masked {
			m = 0x80
		}
		switch {
		case n < 126:
			b = append(b, m|byte(n))
		case n < 1<<16:
			b = append(b, m|126, byte(n>>8), byte(n))
		default:
			b = append(b, m|127)
			b = binary.BigEndian.AppendUint64(b, uint64(n))
		}
		if masked {
			b = append(b, 1, 2, 3, 4)
		}
		return append(b, bytes.Repeat([]byte("x"), min(n, 300))...)
	}
	f.Add(frame(1, 5, true), 3)
	f.Add(frame(1, 200, true), 3)
	f.Add(append(frame(1, 100, false), frame(0, 100, true)...), 50)
	f.Add(frame(2, 70000, true)[:20], 7)
	f.Add([]byte{0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1)
	f.Fuzz(func(t *testing.T, stream []byte, split int) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		const limit = 256
		lc := &limitConn{Conn: a, limit: limit}
		if split <= 0 || split > len(stream) {
			split = len(stream)
		}
		// Scan in two chunks, as reads would come.
		err1 := lc.scan(stream[:split])
		var err2 error
		if err1 == nil {
			err2 = lc.scan(stream[split:])
		}
		if err1 == nil && err2 == nil && lc.msg > limit {
			t.Fatalf("message of %d bytes passed limit %d", lc.msg, limit)
		}
	})
}

// FuzzSessionPath: session requests are split and their ids validated;
// nothing sockjs-go would read as another session id gets through.
func FuzzSessionPath(f *testing.F) {
	for _, s := range []string{"/000/abc/xhr", "/000/abc/xhr_send", "/a/b/c", "//x/xhr", "/000/a.b/xhr", "/000/a~b/xhr", "/info", "/iframe.html"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		m := sessionPath.FindStringSubmatch(path)
		if m == nil {
			return
		}
		if transport.ValidSessionID(m[1]) && transport.ValidSessionID(m[2]) {
			for _, id := range m[1:3] {
				if bytes.ContainsAny([]byte(id), "./~%\x00") {
					t.Fatalf("id %q accepted", id)
				}
			}
		}
	})
}
