package loadgen

import (
	"bytes"
	"strconv"
)

// The hot path reads every push a server sends, so it looks only for what it
// needs: a line that is a publication push and the send timestamp inside its
// data. It never decodes the whole JSON.

var (
	pushPrefix   = []byte(`{"push":`)
	pubKey       = []byte(`"pub":`)
	tsKey        = []byte(`"ts":`)
	unsubKey     = []byte(`"unsubscribe":`)
	disconnKey   = []byte(`"disconnect":`)
	pingLine     = []byte(`{}`)
	pongFrame    = []byte(`{}`)
	newline      = []byte{'\n'}
	maxLatencyUS = int64(600_000_000) // 10 minutes: the histogram's upper bound
)

// lineKind classifies one line of a server message.
type lineKind uint8

const (
	lineOther lineKind = iota
	linePing
	linePub
	lineUnsubscribe
	lineDisconnect
)

// classify tells what one line (a JSON object) is and, for a publication, the
// send timestamp (unix nanoseconds) found in its data, 0 when there is none.
func classify(line []byte) (lineKind, int64) {
	if len(line) == 2 && line[0] == '{' && line[1] == '}' {
		return linePing, 0
	}
	if !bytes.HasPrefix(line, pushPrefix) {
		return lineOther, 0
	}
	i := bytes.Index(line, pubKey)
	if i < 0 {
		switch {
		case bytes.Contains(line, unsubKey):
			return lineUnsubscribe, 0
		case bytes.Contains(line, disconnKey):
			return lineDisconnect, 0
		}
		return lineOther, 0
	}
	rest := line[i+len(pubKey):]
	j := bytes.Index(rest, tsKey)
	if j < 0 {
		return linePub, 0
	}
	return linePub, parseUint(rest[j+len(tsKey):])
}

// parseUint reads the decimal digits at the start of b (0 if none).
func parseUint(b []byte) int64 {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// nextLine splits msg at its first '\n': the line (spaces and '\r' trimmed)
// and the rest.
func nextLine(msg []byte) (line, rest []byte) {
	if i := bytes.IndexByte(msg, '\n'); i >= 0 {
		line, rest = msg[:i], msg[i+1:]
	} else {
		line, rest = msg, nil
	}
	for len(line) > 0 && (line[len(line)-1] == '\r' || line[len(line)-1] == ' ') {
		line = line[:len(line)-1]
	}
	for len(line) > 0 && line[0] == ' ' {
		line = line[1:]
	}
	return line, rest
}

// appendData appends the publication data the load generator sends:
// {"ts":<unix ns>,"seq":<n>,"p":"xx..."}, with pad bytes of padding.
func appendData(b []byte, ts int64, seq uint64, pad int) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"p":"`...)
	for range pad {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}
