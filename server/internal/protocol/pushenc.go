package protocol

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// AppendPublicationPush appends the push frame of publication p in channel ch
// to dst: the same JSON as EncodePush(&Push{Channel: ch, Pub: p}), written
// without reflection because every publication is encoded this way (once per
// channel and node, on the fan-out path).
//
// Binary data travels base64 in B64Data (Data nil, written as null).
// The embedded JSON (data, conn_info, chan_info) must be valid: every source
// of it decodes it as JSON first (the server API's and a client's request,
// a proxy's reply, a node's own publication through the engine). Embedded
// JSON holding a line break is compacted (and then checked), so a frame never
// holds a newline, the frame separator; otherwise it is copied as it is.
func AppendPublicationPush(dst []byte, ch string, p *Publication) ([]byte, error) {
	if dst == nil {
		dst = make([]byte, 0, 64+len(ch)+len(p.Data))
	}
	dst = append(dst, `{"push":{`...)
	if ch != "" {
		dst = append(dst, `"channel":`...)
		dst = appendString(dst, ch)
		dst = append(dst, ',')
	}
	dst = append(dst, `"pub":{"data":`...)
	var err error
	if dst, err = appendRaw(dst, p.Data); err != nil {
		return nil, err
	}
	if p.B64Data != "" {
		dst = append(dst, `,"b64data":`...)
		dst = appendString(dst, p.B64Data)
	}
	if p.Info != nil {
		dst = append(dst, `,"info":`...)
		if dst, err = appendClientInfo(dst, p.Info); err != nil {
			return nil, err
		}
	}
	if p.Offset != 0 {
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendUint(dst, p.Offset, 10)
	}
	if len(p.Tags) > 0 {
		dst = append(dst, `,"tags":{`...)
		for i, k := range slices.Sorted(maps.Keys(p.Tags)) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, p.Tags[k])
		}
		dst = append(dst, '}')
	}
	return append(dst, "}}}"...), nil
}

func appendClientInfo(dst []byte, ci *ClientInfo) ([]byte, error) {
	dst = append(dst, `{"user":`...)
	dst = appendString(dst, ci.User)
	dst = append(dst, `,"client":`...)
	dst = appendString(dst, ci.Client)
	var err error
	if len(ci.ConnInfo) > 0 {
		dst = append(dst, `,"conn_info":`...)
		if dst, err = appendRaw(dst, ci.ConnInfo); err != nil {
			return nil, err
		}
	}
	if len(ci.ChanInfo) > 0 {
		dst = append(dst, `,"chan_info":`...)
		if dst, err = appendRaw(dst, ci.ChanInfo); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendRaw appends embedded JSON (null when empty), compacted when it holds
// a line break.
func appendRaw(dst []byte, raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return append(dst, "null"...), nil
	}
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return append(dst, raw...), nil
	}
	b := bytes.NewBuffer(dst)
	if err := json.Compact(b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// appendString appends s as a JSON string, escaped as encoding/json does.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // rare: let encoding/json escape it
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
