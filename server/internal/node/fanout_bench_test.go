package node_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/nodetest"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Fan-out benchmarks: one publication to N local subscribers of a channel.
// BenchmarkFanout goes the whole way a publication goes in the server, minus
// the network: Node.Publish (memory engine) → encode once → each client's
// Deliver → its write queue → its writer goroutine → the transport, here a
// test transport that counts the frames written. BenchmarkHandlePublication
// is the hub's part alone (encode + one Deliver per subscriber).

var benchData = []byte(`{"ts":1700000000000000000,"seq":12345,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)

func benchNode(b *testing.B) *node.Node {
	return nodetest.New(b, nodetest.Options{
		Channels: structure.ChannelOptions{AllowSubscribeForClient: true},
		// Measure fan-out, not the slow-consumer limit.
		Client: func(cc *config.Client) { cc.MaxQueueSize = 1 << 30 },
	})
}

// countTransport is a test transport that counts the frames written to it
// (into its own counter and a shared total) instead of sending them.
type countTransport struct {
	frames atomic.Int64
	total  *atomic.Int64
}

func (t *countTransport) Name() string { return "test" }

func (t *countTransport) Write(frames [][]byte) error {
	t.frames.Add(int64(len(frames)))
	t.total.Add(int64(len(frames)))
	return nil
}

func (t *countTransport) Close(protocol.Disconnect) error { return nil }

func token(b *testing.B, user string) string { return nodetest.Token(b, user) }

// subscribeClients connects n clients over counting transports and subscribes
// them to channel; it returns once every client has its two replies.
func subscribeClients(b *testing.B, nd *node.Node, n int, channel string, total *atomic.Int64) {
	b.Helper()
	ts := make([]*countTransport, n)
	for i := range ts {
		ts[i] = &countTransport{total: total}
		c, err := client.New(nd, ts[i], "")
		if err != nil {
			b.Fatal(err)
		}
		frame := fmt.Sprintf("{\"id\":1,\"connect\":{\"token\":%q}}\n{\"id\":2,\"subscribe\":{\"channel\":%q}}", token(b, strconv.Itoa(i)), channel)
		if !c.HandleFrame([]byte(frame)) {
			b.Fatal("client closed on connect")
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, t := range ts {
		for t.frames.Load() < 2 {
			if time.Now().After(deadline) {
				b.Fatal("replies not written within 30s")
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// waitTotal waits until total reaches want.
func waitTotal(b *testing.B, total *atomic.Int64, want int64) {
	deadline := time.Now().Add(2 * time.Minute)
	for total.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d frames written after 2 minutes", total.Load(), want)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

var subscriberCounts = []int{1, 100, 1000, 10000}

// BenchmarkFanout publishes b.N publications flat-out and waits until every
// subscriber's transport has written all of them; deliveries/s is the rate.
func BenchmarkFanout(b *testing.B) {
	for _, subs := range subscriberCounts {
		b.Run("subs="+strconv.Itoa(subs), func(b *testing.B) {
			nd := benchNode(b)
			var total atomic.Int64
			subscribeClients(b, nd, subs, "bench", &total)
			ctx := context.Background()
			base := total.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := nd.Publish(ctx, "default", "bench", benchData, node.PublishOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			waitTotal(b, &total, base+int64(b.N)*int64(subs))
			b.StopTimer()
			b.ReportMetric(float64(b.N)*float64(subs)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// countConn is a node.Conn that counts deliveries.
type countConn struct {
	id string
	n  atomic.Int64
}

func (c *countConn) ID() string      { return c.id }
func (c *countConn) User() string    { return c.id }
func (c *countConn) Project() string { return "default" }
func (c *countConn) Deliver(string, []byte, engine.StreamPosition, node.Kind) {
	c.n.Add(1)
}
func (c *countConn) ServerSubscribe(string, node.ServerSubscription) {}
func (c *countConn) ServerUnsubscribe(string, uint32, string)        {}
func (c *countConn) Disconnect(protocol.Disconnect)                  {}
func (c *countConn) ServerRefresh(node.RefreshOptions)               {}
func (c *countConn) InsufficientState()                              {}

// BenchmarkHandlePublication is the hub's fan-out alone: encode the push
// once, then one Deliver call per local subscriber.
func BenchmarkHandlePublication(b *testing.B) {
	for _, subs := range subscriberCounts {
		b.Run("subs="+strconv.Itoa(subs), func(b *testing.B) {
			nd := benchNode(b)
			for i := range subs {
				if err := nd.AddSub("default", "bench", &countConn{id: strconv.Itoa(i)}); err != nil {
					b.Fatal(err)
				}
			}
			pub := &engine.Publication{Data: benchData}
			b.ReportAllocs()
			for b.Loop() {
				nd.HandlePublication("default", "bench", pub, engine.StreamPosition{})
			}
			b.ReportMetric(float64(b.N)*float64(subs)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
