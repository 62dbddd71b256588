package sockjstransport

import (
	"encoding/binary"
	"fmt"
	"net"
)

// limitConn reads client-to-server WebSocket frames (RFC 6455 section 5.2)
// as they pass, and fails the read that brings a data message (a frame and
// its continuations) over limit bytes of payload, before the bytes are
// buffered by the reader above it.
type limitConn struct {
	net.Conn
	limit int64

	hdr       [14]byte
	hdrLen    int
	hdrNeed   int
	remaining int64 // payload bytes left in the current frame
	msg       int64 // payload bytes of the current data message
	err       error
}

func (c *limitConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	if e := c.scan(p[:n]); e != nil {
		c.err = e
		return 0, e
	}
	return n, err
}

func (c *limitConn) scan(b []byte) error {
	for len(b) > 0 {
		if c.remaining > 0 {
			k := int64(len(b))
			if k > c.remaining {
				k = c.remaining
			}
			c.remaining -= k
			b = b[k:]
			continue
		}
		c.hdr[c.hdrLen] = b[0]
		c.hdrLen++
		b = b[1:]
		if c.hdrLen == 2 {
			c.hdrNeed = 2
			switch c.hdr[1] & 0x7f {
			case 126:
				c.hdrNeed += 2
			case 127:
				c.hdrNeed += 8
			}
			if c.hdr[1]&0x80 != 0 {
				c.hdrNeed += 4 // masking key
			}
		}
		if c.hdrLen < 2 || c.hdrLen < c.hdrNeed {
			continue
		}
		var size int64
		switch l := c.hdr[1] & 0x7f; l {
		case 126:
			size = int64(binary.BigEndian.Uint16(c.hdr[2:4]))
		case 127:
			u := binary.BigEndian.Uint64(c.hdr[2:10])
			if u > 1<<62 {
				return fmt.Errorf("websocket frame of %d bytes", u)
			}
			size = int64(u)
		default:
			size = int64(l)
		}
		if opcode := c.hdr[0] & 0x0f; opcode < 8 { // data or continuation
			if opcode != 0 {
				c.msg = 0
			}
			c.msg += size
			if c.msg > c.limit {
				return fmt.Errorf("websocket message larger than %d bytes", c.limit)
			}
		}
		c.remaining = size
		c.hdrLen, c.hdrNeed = 0, 0
	}
	return nil
}
