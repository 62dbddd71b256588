package protocol_test

import (
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// Hot paths of the codec: every client frame is decoded by DecodeFrame, every
// publication is encoded once by EncodePush before fan-out. Compare runs with
// benchstat (go test -run=^$ -bench=. -count=10 ./internal/protocol).

var benchData = protocol.Raw(`{"ts":1700000000000000000,"seq":12345,"p":"` + strings.Repeat("x", 64) + `"}`)

func BenchmarkDecodeFrame(b *testing.B) {
	token := strings.Repeat("t", 180) // about the size of an HS256 token with a few claims
	for _, bc := range []struct {
		name  string
		frame string
	}{
		{"pong", `{}`},
		{"connect", `{"id":1,"connect":{"token":"` + token + `","name":"js","version":"5.8.0"}}`},
		{"subscribe", `{"id":2,"subscribe":{"channel":"chat:room#42","recover":true,"epoch":"abcd","offset":1234}}`},
		{"publish", `{"id":3,"publish":{"channel":"chat:room","data":` + string(benchData) + `}}`},
		{"connect+2subscribes", `{"id":1,"connect":{"token":"` + token + `"}}` + "\n" +
			`{"id":2,"subscribe":{"channel":"news"}}` + "\n" + `{"id":3,"subscribe":{"channel":"chat:room"}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			frame := []byte(bc.frame)
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				cmds, err := protocol.DecodeFrame(frame)
				if err != nil || len(cmds) == 0 {
					b.Fatal(cmds, err)
				}
				if _, err := cmds[0].Method(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodePush(b *testing.B) {
	for _, bc := range []struct {
		name string
		push *protocol.Push
	}{
		{"publication", &protocol.Push{Channel: "news", Pub: &protocol.Publication{Data: benchData}}},
		{"publication+offset", &protocol.Push{Channel: "chat:room", Pub: &protocol.Publication{Data: benchData, Offset: 123456}}},
		{"publication+info+tags", &protocol.Push{Channel: "chat:room", Pub: &protocol.Publication{
			Data: benchData, Offset: 123456,
			Info: &protocol.ClientInfo{User: "42", Client: "7f1c9a52-5a0e-4c53-9d57-0e0b5e1a7c11", ConnInfo: protocol.Raw(`{"name":"Alice"}`)},
			Tags: map[string]string{"kind": "message"},
		}}},
		{"join", &protocol.Push{Channel: "chat:room", Join: &protocol.Join{Info: protocol.ClientInfo{User: "42", Client: "7f1c9a52-5a0e-4c53-9d57-0e0b5e1a7c11"}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				out, err := protocol.EncodePush(bc.push)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.SetBytes(int64(n))
		})
		if bc.push.Pub == nil {
			continue
		}
		// What the fan-out path uses for publications.
		b.Run(bc.name+"/append", func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				out, err := protocol.AppendPublicationPush(nil, bc.push.Channel, bc.push.Pub)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.SetBytes(int64(n))
		})
	}
}

func BenchmarkEncodeReply(b *testing.B) {
	for _, bc := range []struct {
		name  string
		reply *protocol.Reply
	}{
		{"subscribe", &protocol.Reply{ID: 2, Subscribe: &protocol.SubscribeResult{Recoverable: true, Epoch: "abcd", Offset: 1234}}},
		{"connect", &protocol.Reply{ID: 1, Connect: &protocol.ConnectResult{
			Client: "7f1c9a52-5a0e-4c53-9d57-0e0b5e1a7c11", Version: "0.1.0", Ping: 25, Pong: true, Node: "node-1",
		}}},
		{"error", &protocol.Reply{ID: 3, Error: protocol.ErrPermissionDenied}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := protocol.Encode(bc.reply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
