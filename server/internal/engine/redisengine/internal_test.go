package redisengine

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

func TestHashSlot(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	for key, want := range map[string]int{
		"123456789":            12739,
		"foo":                  12182,
		"{user1000}.following": 3443,
		"{user1000}.followers": 3443,
		"foo{}{bar}":           8363, // empty tag: the whole key
		"foo{{bar}}zap":        4015, // tag "{bar"
		"foo{bar}{zap}":        5061, // first tag only: "bar"
	} {
		if got := hashSlot(key); got != want {
			t.Errorf("hashSlot(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestJumpHash(t *testing.T) {
	// Growing from n to n+1 shards moves channels only to the new shard.
	for n := 1; n < 8; n++ {
		moved := 0
		for i := range 1000 {
			key := uint64(i) * 0x9E3779B97F4A7C15
			a, b := jumpHash(key, n), jumpHash(key, n+1)
			if a < 0 || a >= n {
				t.Fatalf("jumpHash(%d, %d) = %d", key, n, a)
			}
			if a != b {
				if b != n {
					t.Fatalf("key %d moved from shard %d to %d growing to %d shards", key, a, b, n+1)
				}
				moved++
			}
		}
		if want := 1000 / (n + 1); moved < want/2 || moved > want*2 {
			t.Errorf("growing to %d shards moved %d of 1000 keys, want about %d", n+1, moved, want)
		}
	}
}

func TestNames(t *testing.T) {
	e := &Engine{prefix: escape("app.x")}
	n := e.names("proj", "news.sport")
	if n.pubsub != "app%2Ex.proj.news%2Esport" || n.stream != n.pubsub+".stream" || n.result("k.1") != n.pubsub+".result.k%2E1" {
		t.Fatalf("names %+v", n)
	}
	e.clustered = true
	n = e.names("proj", "a{b}c")
	if n.pubsub != "{app%2Ex.proj.a%7Bb%7Dc}" {
		t.Fatalf("cluster channel %q", n.pubsub)
	}
	for _, k := range []string{n.stream, n.meta, n.presence, n.presenceExpiry, n.result("x}y")} {
		if hashSlot(k) != hashSlot(n.pubsub) {
			t.Fatalf("key %q is not in the slot of %q", k, n.pubsub)
		}
	}
	if got := controlChannel("p", true); got != "{p.control}" {
		t.Fatalf("control %q", got)
	}
}

func TestMessageRoundTrip(t *testing.T) {
	info := &engine.ClientInfo{User: "u", Client: "c", ConnInfo: []byte(`{"a":1}`), ChanInfo: []byte(`{"b":2}`)}
	tags := map[string]string{"k": "v", "": "empty key"}
	header := appendHeader(nil, "proj", "chan")
	pub := appendPub(nil, []byte("data\x00 with bytes"), info, tags)

	msg := append([]byte("p42 epoch1 "), header...)
	msg = append(msg, pub...)
	m, err := decodeMessage(string(msg))
	if err != nil {
		t.Fatal(err)
	}
	if m.kind != kindPublication || m.project != "proj" || m.channel != "chan" ||
		m.sp != (engine.StreamPosition{Offset: 42, Epoch: "epoch1"}) || m.pub.Offset != 42 ||
		string(m.pub.Data) != "data\x00 with bytes" || !maps.Equal(m.pub.Tags, tags) ||
		m.pub.Info.User != "u" || !bytes.Equal(m.pub.Info.ChanInfo, info.ChanInfo) {
		t.Fatalf("decoded %+v pub %+v", m, m.pub)
	}
	// Decoded slices share a buffer but appending to one leaves the others.
	_ = append(m.pub.Info.ConnInfo, "XXXXXXXX"...)
	if string(m.pub.Info.ChanInfo) != `{"b":2}` {
		t.Fatalf("append to ConnInfo changed ChanInfo: %s", m.pub.Info.ChanInfo)
	}

	m, err = decodeMessage(string(appendInfo(appendHeader([]byte{kindLeave}, "p", "c"), nil)))
	if err != nil || m.kind != kindLeave || m.info != nil || m.channel != "c" {
		t.Fatalf("leave without info: %+v %v", m, err)
	}
	p, err := decodePub(string(appendPub(nil, nil, nil, nil)))
	if err != nil || p.Data != nil || p.Info != nil || p.Tags != nil {
		t.Fatalf("empty publication: %+v %v", p, err)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add("p0  " + string(appendHeader(nil, "p", "c")) + string(appendPub(nil, []byte("x"), nil, map[string]string{"a": "b"})))
	f.Add("j" + string(appendInfo(appendHeader(nil, "p", "c"), &engine.ClientInfo{User: "u"})))
	f.Add("p18446744073709551615 e ")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := decodeMessage(s)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same message.
		var b []byte
		switch m.kind {
		case kindPublication:
			return // tag order is not kept; the fields decoded are enough
		case kindJoin, kindLeave:
			b = appendInfo(appendHeader([]byte{m.kind}, m.project, m.channel), m.info)
		}
		if m2, err := decodeMessage(string(b)); err != nil || m2.project != m.project || m2.channel != m.channel {
			t.Fatalf("re-encoded %q: %+v %v", b, m2, err)
		}
	})
}

// A 'q' message (published without history, tagged with its origin) decodes
// as a publication at offset 0; a cut one, or garbage, is an error.
func TestLocalPubMessage(t *testing.T) {
	e := &Engine{origin: "0123456789abcdef"}
	msg := e.localPubMessage("proj", "chan", []byte(`{"x":1}`), engine.PublishOptions{Tags: map[string]string{"k": "v"}})
	if !e.ownMessage(string(msg)) || (&Engine{origin: "fedcba9876543210"}).ownMessage(string(msg)) {
		t.Fatal("origin check")
	}
	m, err := decodeMessage(string(msg))
	if err != nil || m.kind != kindPublication || m.project != "proj" || m.channel != "chan" ||
		string(m.pub.Data) != `{"x":1}` || m.pub.Tags["k"] != "v" || m.sp != (engine.StreamPosition{}) {
		t.Fatalf("decoded %+v %v", m, err)
	}
	for _, bad := range []string{"q", "q0123", string(msg[:len(msg)-3]), string(msg) + "x", "z" + string(msg[1:])} {
		if _, err := decodeMessage(bad); err == nil {
			t.Fatalf("%q decoded", bad)
		}
	}
}

// A broadcast ('m') message decodes to its project, publication and
// channels; the origin check skips this engine's own; cut or padded ones are
// errors.
func TestManyMessage(t *testing.T) {
	e := &Engine{origin: "0123456789abcdef"}
	info := &engine.ClientInfo{User: "u", Client: "c"}
	channels := []string{"user#1", "a.b{c}", "x"}
	msg := appendManyHead(nil, e.origin, "proj", []byte(`{"x":1}`), info, map[string]string{"k": "v"}, len(channels))
	for _, ch := range channels {
		msg = appendString(msg, ch)
	}
	if !e.ownMessage(string(msg)) || (&Engine{origin: "fedcba9876543210"}).ownMessage(string(msg)) {
		t.Fatal("origin check")
	}
	m, err := decodeMany(string(msg))
	if err != nil || m.project != "proj" || string(m.pub.Data) != `{"x":1}` || m.pub.Tags["k"] != "v" ||
		m.pub.Info.User != "u" || m.count != len(channels) {
		t.Fatalf("decoded %+v %v", m, err)
	}
	var got []string
	m.eachChannel(func(ch []byte) { got = append(got, string(ch)) })
	if !slices.Equal(got, channels) {
		t.Fatalf("channels %q, want %q", got, channels)
	}
	for _, bad := range []string{"m", "m0123456789abcdef", string(msg[:len(msg)-1]), string(msg) + "x", "q" + string(msg[1:])} {
		if _, err := decodeMany(bad); err == nil {
			t.Fatalf("%q decoded", bad)
		}
	}
}

func FuzzDecodeMany(f *testing.F) {
	msg := appendManyHead(nil, "0123456789abcdef", "p", []byte("x"), nil, nil, 2)
	f.Add(string(appendString(appendString(msg, "a"), "b")))
	f.Add("m0123456789abcdef\x01p\x00\x00\x00\xff\xff\x03")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := decodeMany(s)
		if err != nil {
			return
		}
		// What decodes re-encodes to a message with the same channels.
		var chs []string
		m.eachChannel(func(ch []byte) { chs = append(chs, string(ch)) })
		if len(chs) != m.count {
			t.Fatalf("%d channels of %d", len(chs), m.count)
		}
		b := appendManyHead(nil, "0123456789abcdef", m.project, m.pub.Data, m.pub.Info, m.pub.Tags, len(chs))
		for _, ch := range chs {
			b = appendString(b, ch)
		}
		m2, err := decodeMany(string(b))
		if err != nil || m2.project != m.project || m2.count != m.count || !bytes.Equal(m2.pub.Data, m.pub.Data) {
			t.Fatalf("re-encoded %q: %+v %v", b, m2, err)
		}
	})
}

// appendPubsubName writes what pubsubChannel returns, escapes included.
func TestAppendPubsubName(t *testing.T) {
	e := &Engine{prefix: escape("pre.fix")}
	for _, c := range [][2]string{{"p", "c"}, {"a.b", "{c}%d"}, {"", ""}, {"%2E", "user#1.2"}, {"é", "ü}{"}} {
		want := e.pubsubChannel(c[0], c[1])
		if got := string(appendPubsubName(nil, e.prefix, escape(c[0]), c[1])); got != want {
			t.Fatalf("%q: %q, want %q", c, got, want)
		}
		if got := string(appendPubsubName([]byte("junk"), e.prefix, escape(c[0]), []byte(c[1]))); got != "junk"+want {
			t.Fatalf("%q: %q, want junk%q", c, got, want)
		}
	}
}
