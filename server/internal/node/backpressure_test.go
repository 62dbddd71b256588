package node_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/nodetest"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// quietConn is a subscriber that counts what it is given.
type quietConn struct {
	id  string
	mu  sync.Mutex
	got int
}

func (c *quietConn) ID() string      { return c.id }
func (c *quietConn) User() string    { return "" }
func (c *quietConn) Project() string { return "default" }
func (c *quietConn) Deliver(string, []byte, engine.StreamPosition, node.Kind) {
	c.mu.Lock()
	c.got++
	c.mu.Unlock()
}
func (c *quietConn) ServerSubscribe(string, node.ServerSubscription) {}
func (c *quietConn) ServerUnsubscribe(string, uint32, string)        {}
func (c *quietConn) Disconnect(protocol.Disconnect)                  {}
func (c *quietConn) ServerRefresh(node.RefreshOptions)               {}
func (c *quietConn) InsufficientState()                              {}

// The server API's publish and broadcast ask the writers before publishing,
// with the number of local deliveries they are about to queue, and the time
// they were held back is counted in api.publish_waits.
func TestPublishWaitsForWriters(t *testing.T) {
	var mu sync.Mutex
	var asked []int
	n := nodetest.New(t, nodetest.Options{WaitWriters: func(_ context.Context, deliveries int) time.Duration {
		mu.Lock()
		asked = append(asked, deliveries)
		mu.Unlock()
		return 3 * time.Millisecond
	}})
	for i := range 5 {
		c := &quietConn{id: fmt.Sprintf("c%d", i)}
		if err := n.AddSub("default", "room", c); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if err := n.AddSub("default", fmt.Sprintf("user%d", i), c); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	if _, err := n.Publish(ctx, "default", "room", []byte(`{}`), node.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range n.Broadcast(ctx, "default", []string{"user0", "user1", "nobody", "room"}, []byte(`{}`), node.PublishOptions{}) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	mu.Lock()
	got := fmt.Sprint(asked)
	mu.Unlock()
	if got != "[5 7]" {
		t.Fatalf("writers asked with %s deliveries, want [5 7] (publish to 5 subscribers, broadcast to 1+1+0+5)", got)
	}
	snap := n.Metrics().Snapshot()
	if c := snap["api.publish_waits.count"]; c != 2 {
		t.Fatalf("api.publish_waits.count = %v, want 2", c)
	}
}
