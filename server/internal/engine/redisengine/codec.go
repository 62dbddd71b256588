package redisengine

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

// Wire format of PUB/SUB messages in a channel's PUB/SUB channel:
//
//	publication: 'p' <offset> ' ' <epoch> ' ' <header> <pub>
//	publication: 'q' <origin> <header> <pub>   (not saved to history)
//	join:        'j' <header> <info>
//	leave:       'l' <header> <info>
//	broadcast:   'm' <origin> <project> <pub> <count> <channel>...  (not saved to history)
//
// <offset> is decimal and <epoch> is not empty: the publish script writes
// them, as only it knows them. A publication not saved to history is a 'q'
// message: <origin> (originLen bytes) names the engine that published it,
// which has already handed it to its own node and skips it when Redis sends
// it back.
// A broadcast ('m') carries one publication for many channels of a project
// (<count> is a uvarint, each <channel> a string) and travels in the
// broadcast PUB/SUB channel of the shard that holds those channels (see
// broadcastChannel), which every node subscribes to; its <origin> is that of
// a 'q' message.
// <header> is the project and channel (each a string: uvarint length, then
// bytes). <pub> is what the history stream stores as a publication: data
// (bytes), then <info>, then the number of tags (uvarint) and each tag's key
// and value (strings). <info> is a byte 0 for none, or 1 followed by user,
// client, conn info and chan info. Control messages are sent as they are, in
// the control channel.
const (
	kindPublication = 'p'
	kindLocalPub    = 'q'
	kindJoin        = 'j'
	kindLeave       = 'l'
	kindMany        = 'm'
)

var errMalformed = errors.New("redisengine: malformed message")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// originLen is the length of an engine's origin in 'q' messages.
const originLen = 16

// appendHeader appends the project and channel.
func appendHeader(b []byte, project, channel string) []byte {
	return appendString(appendString(b, project), channel)
}

func appendInfo(b []byte, info *engine.ClientInfo) []byte {
	if info == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, info.User)
	b = appendString(b, info.Client)
	b = appendBytes(b, info.ConnInfo)
	return appendBytes(b, info.ChanInfo)
}

// appendPub appends a publication's data, info and tags.
func appendPub(b, data []byte, info *engine.ClientInfo, tags map[string]string) []byte {
	b = appendBytes(b, data)
	b = appendInfo(b, info)
	b = binary.AppendUvarint(b, uint64(len(tags)))
	for k, v := range tags {
		b = appendString(appendString(b, k), v)
	}
	return b
}

// decoder reads the encoding above from a buffer it owns. The slices it
// returns share that buffer but are capped, so appending to one never
// overwrites another.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errMalformed
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errMalformed
		return nil
	}
	if n == 0 {
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errMalformed
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) info() *engine.ClientInfo {
	switch d.byte() {
	case 0:
		return nil
	case 1:
		return &engine.ClientInfo{
			User:     d.string(),
			Client:   d.string(),
			ConnInfo: d.bytes(),
			ChanInfo: d.bytes(),
		}
	default:
		d.err = errMalformed
		return nil
	}
}

func (d *decoder) pub() *engine.Publication {
	p := &engine.Publication{Data: d.bytes(), Info: d.info()}
	n := d.uvarint()
	if n > uint64(len(d.b)) { // every tag takes at least two bytes
		d.err = errMalformed
	}
	if d.err != nil || n == 0 {
		return p
	}
	p.Tags = make(map[string]string, n)
	for range n {
		k := d.string()
		p.Tags[k] = d.string()
	}
	return p
}

// decodePub decodes a publication stored in history.
func decodePub(s string) (*engine.Publication, error) {
	d := decoder{b: []byte(s)}
	p := d.pub()
	if d.err == nil && len(d.b) != 0 {
		d.err = errMalformed
	}
	return p, d.err
}

// message is a decoded PUB/SUB message of a channel.
type message struct {
	kind             byte
	project, channel string
	pub              *engine.Publication // kindPublication
	sp               engine.StreamPosition
	info             *engine.ClientInfo // kindJoin, kindLeave
}

// decodeMessage decodes a PUB/SUB message of a channel.
func decodeMessage(s string) (message, error) {
	var m message
	if s == "" {
		return m, errMalformed
	}
	m.kind = s[0]
	s = s[1:]
	switch m.kind {
	case kindPublication:
		offset, rest, ok := strings.Cut(s, " ")
		if !ok {
			return m, errMalformed
		}
		epoch, rest, ok := strings.Cut(rest, " ")
		if !ok {
			return m, errMalformed
		}
		o, err := strconv.ParseUint(offset, 10, 64)
		if err != nil {
			return m, errMalformed
		}
		m.sp = engine.StreamPosition{Offset: o, Epoch: epoch}
		s = rest
	case kindLocalPub:
		if len(s) < originLen {
			return m, errMalformed
		}
		m.kind = kindPublication
		s = s[originLen:]
	case kindJoin, kindLeave:
	default:
		return m, errMalformed
	}
	d := decoder{b: []byte(s)}
	m.project = d.string()
	m.channel = d.string()
	if m.kind == kindPublication {
		m.pub = d.pub()
		m.pub.Offset = m.sp.Offset
	} else {
		m.info = d.info()
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errMalformed
	}
	return m, d.err
}

// parsePosition parses "<offset> <epoch>" as the scripts return it.
func parsePosition(s string) (engine.StreamPosition, error) {
	offset, epoch, ok := strings.Cut(s, " ")
	if !ok {
		return engine.StreamPosition{}, errMalformed
	}
	o, err := strconv.ParseUint(offset, 10, 64)
	if err != nil {
		return engine.StreamPosition{}, errMalformed
	}
	return engine.StreamPosition{Offset: o, Epoch: epoch}, nil
}

// appendManyHead appends a broadcast's kind, origin, project, publication and
// channel count; the channels follow (appendString each).
func appendManyHead(b []byte, origin, project string, data []byte, info *engine.ClientInfo, tags map[string]string, count int) []byte {
	b = append(b, kindMany)
	b = append(b, origin...)
	b = appendPub(appendString(b, project), data, info, tags)
	return binary.AppendUvarint(b, uint64(count))
}

// manyMessage is a decoded broadcast: one publication for many channels.
type manyMessage struct {
	project string
	pub     *engine.Publication
	// channels holds the channel names, each a string of the encoding;
	// decodeMany has checked that they are count well-formed strings and
	// nothing else.
	channels []byte
	count    int
}

// decodeMany decodes a broadcast ('m') message.
func decodeMany(s string) (*manyMessage, error) {
	if len(s) < 1+originLen || s[0] != kindMany {
		return nil, errMalformed
	}
	d := decoder{b: []byte(s[1+originLen:])}
	m := &manyMessage{project: d.string()}
	m.pub = d.pub()
	n := d.uvarint()
	if d.err != nil {
		return nil, d.err
	}
	if n > uint64(len(d.b)) { // every channel takes at least a byte
		return nil, errMalformed
	}
	m.channels, m.count = d.b, int(n)
	for range n {
		_ = d.bytes()
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errMalformed
	}
	return m, nil
}

// eachChannel calls f with each channel name of m, in order; the slice is
// only valid during the call.
func (m *manyMessage) eachChannel(f func(ch []byte)) {
	b := m.channels
	for range m.count {
		n, k := binary.Uvarint(b)
		f(b[k : k+int(n)])
		b = b[k+int(n):]
	}
}
