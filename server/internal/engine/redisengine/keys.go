package redisengine

import (
	"hash/fnv"
	"strings"
)

// Key and channel naming.
//
// Every name starts with the escaped prefix, then the escaped project and
// channel, separated by dots:
//
//	<prefix>.<project>.<channel>                 PUB/SUB channel of the channel
//	<prefix>.<project>.<channel>.stream          history stream (XADD, ID <offset>-0)
//	<prefix>.<project>.<channel>.meta            hash: o = top offset, e = epoch
//	<prefix>.<project>.<channel>.presence        hash: client id -> ClientInfo JSON
//	<prefix>.<project>.<channel>.presence.expiry zset: client id -> expiry (Unix ms)
//	<prefix>.<project>.<channel>.result.<key>    idempotent result "<offset> <epoch>"
//	<prefix>.control                             PUB/SUB channel of control messages
//	<prefix>.broadcast                           PUB/SUB channel of broadcasts (not in a cluster)
//
// In cluster mode the part before the suffix is a hash tag,
// {<prefix>.<project>.<channel>}.stream and so on, so all keys of a channel
// and its sharded PUB/SUB channel live in one slot; control is
// {<prefix>.control}.
//
// Escaping replaces '%', '.', '{' and '}' with %XX, so the dots between parts
// are the only dots of a name's head: two different (prefix, project,
// channel) never share a name, and a hash tag is never cut short by a brace
// in a channel name. Names made only of other characters stay as they are.
var escaper = strings.NewReplacer("%", "%25", ".", "%2E", "{", "%7B", "}", "%7D")

func escape(s string) string { return escaper.Replace(s) }

// appendEscaped appends escape(s) to b.
func appendEscaped[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%', '.', '{', '}':
			b = append(b, '%', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}

// chanNames are the Redis names of one (project, channel).
type chanNames struct {
	// pubsub is the PUB/SUB channel; it is also the head of every key.
	pubsub string
	stream string
	meta   string
	// presence and presenceExpiry hold the channel's presence entries.
	presence       string
	presenceExpiry string
}

func (e *Engine) names(project, channel string) chanNames {
	head := e.pubsubChannel(project, channel)
	return chanNames{
		pubsub:         head,
		stream:         head + ".stream",
		meta:           head + ".meta",
		presence:       head + ".presence",
		presenceExpiry: head + ".presence.expiry",
	}
}

// pubsubChannel is names(project, channel).pubsub, without the other names.
func (e *Engine) pubsubChannel(project, channel string) string {
	head := e.prefix + "." + escape(project) + "." + escape(channel)
	if e.clustered {
		head = "{" + head + "}"
	}
	return head
}

// result is the key of the idempotent result of a publication with key.
func (n chanNames) result(key string) string { return n.pubsub + ".result." + escape(key) }

// appendPubsubName appends the PUB/SUB channel of channel ch of a project
// whose escaped name is escProject, outside a cluster, under the escaped
// prefix: what pubsubChannel returns, without allocating.
func appendPubsubName[T string | []byte](b []byte, prefix, escProject string, ch T) []byte {
	b = append(b, prefix...)
	b = append(b, '.')
	b = append(b, escProject...)
	b = append(b, '.')
	return appendEscaped(b, ch)
}

// broadcastChannel is the PUB/SUB channel of broadcasts ('m' messages) of
// each shard outside a cluster.
func broadcastChannel(prefix string) string { return prefix + ".broadcast" }

// controlChannel is the PUB/SUB channel of control messages.
func controlChannel(prefix string, clustered bool) string {
	if clustered {
		return "{" + prefix + ".control}"
	}
	return prefix + ".control"
}

// shardIndex picks one of n shards for a channel by jump consistent hashing
// (Lamping and Veach) of FNV-1a over project and channel: every node computes
// the same shard, and adding a shard moves only 1/n of the channels.
func shardIndex(project, channel string, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(project))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(channel))
	return jumpHash(h.Sum64(), n)
}

func jumpHash(key uint64, buckets int) int {
	var b, j int64 = -1, 0
	for j < int64(buckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}

// clusterSlots is the number of hash slots of Redis Cluster.
const clusterSlots = 16384

// hashSlot is the cluster slot of a key or sharded channel: CRC16 (XMODEM)
// of its hash tag (the part between the first '{' and the next '}', if not
// empty) or of the whole name, modulo 16384.
func hashSlot(key string) int {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if n := strings.IndexByte(key[open+1:], '}'); n > 0 {
			key = key[open+1 : open+1+n]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^key[i]]
	}
	return int(crc) % clusterSlots
}

var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()
