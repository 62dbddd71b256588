package wstransport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gorilla/websocket"
)

// clientFrame is a frame as a client sends it: masked with key, the payload
// length in the shortest form (or the 64-bit form with long64).
func clientFrame(fin bool, op byte, payload []byte, key [4]byte) []byte {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	n := len(payload)
	switch {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

var key = [4]byte{0x12, 0x34, 0x56, 0x78}

func text(payload string) []byte {
	return clientFrame(true, websocket.TextMessage, []byte(payload), key)
}

// recorder is a frameSink that keeps what it gets.
type recorder struct {
	msgs   []string
	pings  []string
	closes []string
	// stopAfter: message returns false from the stopAfter-th message on.
	stopAfter int
}

func (r *recorder) message(data []byte) bool {
	r.msgs = append(r.msgs, string(data))
	return r.stopAfter == 0 || len(r.msgs) < r.stopAfter
}
func (r *recorder) ping(p []byte) { r.pings = append(r.pings, string(p)) }
func (r *recorder) closeFrame(code int, reason string) {
	r.closes = append(r.closes, fmt.Sprintf("%d %s", code, reason))
}

// feed gives stream to p in reads of at most chunk bytes (and at most what
// the parser's buffer has room for), as the poller's reader does.
func feed(p *frameParser, s frameSink, stream []byte, chunk int) (bool, *closeError) {
	for len(stream) > 0 {
		buf := p.buffer()
		room := buf[len(buf):cap(buf)]
		n := copy(room, stream[:min(chunk, len(stream))])
		stream = stream[n:]
		if stop, err := p.read(n, s); stop || err != nil {
			return stop, err
		}
	}
	return false, nil
}

// Frames of every length form arrive whole however the reads cut them, and
// several frames in one read are all handled, in order. Between messages
// the parser holds no buffer.
func TestParserReads(t *testing.T) {
	var stream []byte
	var want []string
	for _, n := range []int{0, 1, 5, 125, 126, 300, 4096, 0xffff, 0x10000, 70000} {
		m := bytes.Repeat([]byte{byte('a' + n%26)}, n)
		want = append(want, string(m))
		stream = append(stream, text(string(m))...)
	}
	// One 64-bit length form for a short payload (allowed, if not minimal).
	long := []byte{0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 3}
	long = append(long, key[:]...)
	for i, c := range []byte("abc") {
		long = append(long, c^key[i&3])
	}
	stream = append(stream, long...)
	want = append(want, "abc")
	for _, chunk := range []int{1, 2, 3, 7, 100, 4096, len(stream)} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			var p frameParser
			var r recorder
			if stop, err := feed(&p, &r, stream, chunk); stop || err != nil {
				t.Fatalf("stop %v err %v", stop, err)
			}
			if len(r.msgs) != len(want) {
				t.Fatalf("%d messages, want %d", len(r.msgs), len(want))
			}
			for i := range want {
				if r.msgs[i] != want[i] {
					t.Fatalf("message %d: %d bytes, want %d", i, len(r.msgs[i]), len(want[i]))
				}
			}
			if p.in != nil || p.msg != nil || p.need != 0 {
				t.Fatalf("idle parser holds in %d/%d msg %d need %d", len(p.in), cap(p.in), cap(p.msg), p.need)
			}
		})
	}
}

// A partial frame keeps only its bytes; the buffer grows to the frame's
// size when the header says it is larger than a pooled buffer.
func TestParserPartialFrame(t *testing.T) {
	var p frameParser
	var r recorder
	f := text(string(bytes.Repeat([]byte{'x'}, 10000)))
	if _, err := feed(&p, &r, f[:6000], 6000); err != nil {
		t.Fatal(err)
	}
	if len(r.msgs) != 0 || len(p.in) != 6000 || cap(p.in) < len(f) || p.need != len(f) {
		t.Fatalf("after 6000 bytes: %d messages, in %d/%d, need %d", len(r.msgs), len(p.in), cap(p.in), p.need)
	}
	if _, err := feed(&p, &r, f[6000:], 100000); err != nil {
		t.Fatal(err)
	}
	if len(r.msgs) != 1 || len(r.msgs[0]) != 10000 || p.in != nil {
		t.Fatalf("%d messages, in %v", len(r.msgs), p.in != nil)
	}
}

// Fragments make one message; control frames between them are handled at
// once; a message after them is separate.
func TestParserFragments(t *testing.T) {
	var stream []byte
	stream = append(stream, clientFrame(false, websocket.TextMessage, []byte(`{"id":1,`), key)...)
	stream = append(stream, clientFrame(true, websocket.PingMessage, []byte("p1"), key)...)
	stream = append(stream, clientFrame(false, 0, []byte(`"connect":`), key)...)
	stream = append(stream, clientFrame(true, websocket.PongMessage, []byte("ignored"), key)...)
	stream = append(stream, clientFrame(false, 0, nil, key)...)
	stream = append(stream, clientFrame(true, 0, []byte(`{}}`), key)...)
	stream = append(stream, text("next")...)
	for _, chunk := range []int{1, 5, len(stream)} {
		var p frameParser
		var r recorder
		if stop, err := feed(&p, &r, stream, chunk); stop || err != nil {
			t.Fatalf("chunk %d: stop %v err %v", chunk, stop, err)
		}
		if fmt.Sprint(r.msgs) != `[{"id":1,"connect":{}} next]` || fmt.Sprint(r.pings) != "[p1]" {
			t.Fatalf("chunk %d: messages %q pings %q", chunk, r.msgs, r.pings)
		}
		if p.in != nil || p.msg != nil || p.fragmented {
			t.Fatal("the parser holds buffers after the message")
		}
	}
}

// The read limit applies to each message, fragments summed, and is checked
// on the frame header, before the payload is read.
func TestParserLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream []byte
		ok     bool
	}{
		{"at the limit", text(string(bytes.Repeat([]byte{'x'}, 100))), true},
		{"over", text(string(bytes.Repeat([]byte{'x'}, 101))), false},
		{"fragments over", append(clientFrame(false, websocket.TextMessage, make([]byte, 60), key),
			clientFrame(true, 0, make([]byte, 41), key)...), false},
		{"header only", clientFrame(true, websocket.BinaryMessage, make([]byte, 1<<20), key)[:14], false},
		{"64-bit length with the top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := frameParser{limit: 100}
			var r recorder
			_, err := feed(&p, &r, tc.stream, 3)
			if tc.ok != (err == nil) || (err != nil && err.code != websocket.CloseMessageTooBig) {
				t.Fatalf("err %v, want ok=%v or 1009", err, tc.ok)
			}
			if !tc.ok && (p.in != nil || p.msg != nil) {
				t.Fatal("buffers kept after the error")
			}
		})
	}
}

// Without a read limit, a header announcing a huge frame does not make the
// parser allocate it ahead: the buffer grows as the bytes come.
func TestParserNoLimitHugeHeader(t *testing.T) {
	var p frameParser
	var r recorder
	hdr := []byte{0x82, 0x80 | 127, 0, 0, 0x10, 0, 0, 0, 0, 0} // 2^44 bytes: over 1<<40
	if _, err := feed(&p, &r, append(hdr, key[:]...), 100); err != errTooBig {
		t.Fatalf("2^44 bytes: %v, want 1009", err)
	}
	p = frameParser{}
	hdr = []byte{0x82, 0x80 | 127, 0, 0, 0, 0x10, 0, 0, 0, 0} // 2^36 bytes, allowed without a limit
	if _, err := feed(&p, &r, append(hdr, key[:]...), 100); err != nil {
		t.Fatal(err)
	}
	if p.buffer(); cap(p.in) > 2*maxAhead {
		t.Fatalf("buffer of %d bytes for a frame barely begun", cap(p.in))
	}
}

// Frames gorilla refuses are refused with 1002 and its reasons.
func TestParserProtocolErrors(t *testing.T) {
	unmasked := []byte{0x81, 2, 'h', 'i'}
	rsv1 := text("x")
	rsv1[0] |= 0x40
	closeWith := func(code int, reason string) []byte {
		payload := binary.BigEndian.AppendUint16(nil, uint16(code))
		return clientFrame(true, websocket.CloseMessage, append(payload, reason...), key)
	}
	for _, tc := range []struct {
		name, stream, reason string
	}{
		{"unmasked", string(unmasked), "bad MASK"},
		{"rsv1", string(rsv1), "RSV1 set"},
		{"bad opcode", string(clientFrame(true, 3, nil, key)), "bad opcode 3"},
		{"long control", string(clientFrame(true, websocket.PingMessage, make([]byte, 126), key)), "len > 125 for control"},
		{"fragmented control", string(clientFrame(false, websocket.PingMessage, nil, key)), "FIN not set on control"},
		{"continuation first", string(clientFrame(true, 0, []byte("x"), key)), "continuation after FIN"},
		{"data inside a fragmented message", string(clientFrame(false, websocket.TextMessage, []byte("a"), key)) + string(text("b")), "data before FIN"},
		{"close code 1005", string(closeWith(1005, "")), "bad close code 1005"},
		{"close code 999", string(closeWith(999, "")), "bad close code 999"},
		{"close reason not UTF-8", string(closeWith(1000, "\xff\xfe")), "invalid utf8 payload in close frame"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p frameParser
			var r recorder
			_, err := feed(&p, &r, []byte(tc.stream), 1)
			if err == nil || err.code != websocket.CloseProtocolError || err.text != tc.reason {
				t.Fatalf("err %v, want 1002 %q", err, tc.reason)
			}
			if len(r.msgs) != 0 || len(r.closes) != 0 {
				t.Fatalf("messages %q closes %q", r.msgs, r.closes)
			}
		})
	}
}

// A close frame ends reading (1005 when it has no code); a message the sink
// refuses does too, and nothing after either is handled.
func TestParserStops(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream []byte
		want   string
	}{
		{"close with code", clientFrame(true, websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye"), key), "4000 bye"},
		{"close without code", clientFrame(true, websocket.CloseMessage, nil, key), "1005 "},
	} {
		var p frameParser
		var r recorder
		stop, err := feed(&p, &r, append(tc.stream, text("after")...), 1000)
		if !stop || err != nil || fmt.Sprint(r.closes) != "["+tc.want+"]" || len(r.msgs) != 0 {
			t.Fatalf("%s: stop %v err %v closes %q messages %q", tc.name, stop, err, r.closes, r.msgs)
		}
	}
	var p frameParser
	r := recorder{stopAfter: 2}
	stop, err := feed(&p, &r, append(append(text("1"), text("2")...), text("3")...), 1000)
	if !stop || err != nil || fmt.Sprint(r.msgs) != "[1 2]" {
		t.Fatalf("stop %v err %v messages %q", stop, err, r.msgs)
	}
}

// maskBytes is the XOR with the key, whatever the length and alignment.
func TestMaskBytes(t *testing.T) {
	for n := 0; n < 40; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		want := make([]byte, n)
		for i := range b {
			want[i] = b[i] ^ key[i&3]
		}
		maskBytes(key[:], b)
		if !bytes.Equal(b, want) {
			t.Fatalf("n=%d: % x, want % x", n, b, want)
		}
	}
}
