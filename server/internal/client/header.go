package client

import (
	"encoding/binary"
	"net/http"
)

// packedHeader holds the headers of the request that opened the connection
// in one string: each value as its header's name and the value, both
// prefixed with their length (uvarint). The proxies read a few of them, and
// rarely; net/http's map of them (a map, a slice per name, a string per
// value) costs each connection about three times as much, for its whole life.
type packedHeader string

// packHeader packs h; the values of one name keep their order.
func packHeader(h http.Header) packedHeader {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 2*binary.MaxVarintLen64
		}
	}
	if n == 0 {
		return ""
	}
	b := make([]byte, 0, n)
	for k, vs := range h {
		for _, v := range vs {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return packedHeader(b) // a copy of the packed length only

}

// Values returns the values of the header name, as http.Header.Values does
// (the name is canonicalized; nil when there are none).
func (p packedHeader) Values(name string) []string {
	name = http.CanonicalHeaderKey(name)
	var out []string
	for s := string(p); s != ""; {
		var k, v string
		k, s = nextString(s)
		v, s = nextString(s)
		if k == name {
			out = append(out, v)
		}
	}
	return out
}

// nextString cuts a length-prefixed string off the front of s (as packed by
// packHeader).
func nextString(s string) (string, string) {
	var n, shift uint
	i := 0
	for ; i < len(s); i++ {
		n |= uint(s[i]&0x7f) << shift
		shift += 7
		if s[i] < 0x80 {
			i++
			break
		}
	}
	s = s[i:]
	return s[:n], s[n:]
}
