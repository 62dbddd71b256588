package client

import (
	"bytes"
	"container/heap"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// The queue keeps a heap by deadline and each client's index in it through
// set (new and moved deadlines) and cancel.
func TestDeadlineQueueKeepsOrder(t *testing.T) {
	q := &deadlineQueue{index: func(c *Client) *int32 { return &c.expireIdx }}
	defer func() {
		if q.timer != nil {
			q.timer.Stop()
		}
	}()
	clients := make([]*Client, 200)
	for i := range clients {
		clients[i] = &Client{}
		q.set(clients[i], time.Hour+time.Duration(rand.IntN(1000))*time.Second, uint8(expiryCheck))
	}
	for i := 0; i < len(clients); i += 3 {
		q.cancel(clients[i])
		q.cancel(clients[i]) // twice: no-op
	}
	for i := 1; i < len(clients); i += 3 {
		q.set(clients[i], time.Hour+time.Duration(rand.IntN(1000))*time.Second, uint8(expiryRefresh)) // moved
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, it := range q.items {
		if int(it.c.expireIdx) != i+1 {
			t.Fatalf("item %d: expireIdx %d", i, it.c.expireIdx)
		}
	}
	for i, c := range clients {
		if i%3 == 0 && c.expireIdx != 0 {
			t.Fatalf("cancelled client %d still queued at %d", i, c.expireIdx)
		}
		if i%3 == 1 && q.items[c.expireIdx-1].kind != uint8(expiryRefresh) {
			t.Fatalf("client %d: kind not updated", i)
		}
	}
	if want := len(clients) - (len(clients)+2)/3; len(q.items) != want {
		t.Fatalf("%d queued, want %d", len(q.items), want)
	}
	if q.timerAt == 0 || q.timerAt > q.items[0].at {
		t.Fatalf("timer at %d, after the earliest deadline %d", q.timerAt, q.items[0].at)
	}
	last := int64(0)
	for q.Len() > 0 {
		it := heap.Pop(q).(deadline)
		if it.at < last || it.c.expireIdx != 0 {
			t.Fatalf("popped %d after %d (expireIdx %d)", it.at, last, it.c.expireIdx)
		}
		last = it.at
	}
}

// A connection whose expiry has passed is disconnected with 3005; one whose
// expiry was moved later is not; a closed one leaves the queue.
func TestExpiryDisconnects(t *testing.T) {
	n := newTestNode(t, func(cc *config.Client) { cc.ExpiredCloseDelay = duration.Duration(50 * time.Millisecond) })
	trExpired, expired := newTransport(false)
	trMoved, _ := newTransport(false)
	trClosed, _ := newTransport(false)
	ce := connect(t, n, trExpired, "1")
	cm := connect(t, n, trMoved, "2")
	cc := connect(t, n, trClosed, "3")
	now := time.Now().Unix()
	for _, c := range []*Client{ce, cm, cc} {
		c.mu.Lock()
		c.setExpireLocked(now)
		c.mu.Unlock()
	}
	cm.mu.Lock()
	cm.setExpireLocked(now + 3600)
	cm.mu.Unlock()
	cc.Closed()
	expiries.mu.Lock()
	idx := cc.expireIdx
	expiries.mu.Unlock()
	if idx != 0 {
		t.Fatalf("closed client still queued at %d", idx)
	}
	expired.expectClose(t, protocol.DisconnectExpired)
	time.Sleep(200 * time.Millisecond)
	if cm.isClosed() {
		t.Fatal("a connection whose expiry moved an hour later was closed")
	}
}

// Pings go every ping_interval; a connection that answers stays, one that
// does not is disconnected with 3012 after pong_timeout, and a closed one
// leaves the queue.
func TestPingsFromOneQueue(t *testing.T) {
	n := newTestNode(t, func(cc *config.Client) {
		cc.PingInterval = duration.Duration(100 * time.Millisecond)
		cc.PongTimeout = duration.Duration(50 * time.Millisecond)
	})
	trGood, good := newTransport(false)
	trBad, bad := newTransport(false)
	cg := connect(t, n, trGood, "1")
	connect(t, n, trBad, "2")
	pingsSeen := 0
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && !cg.isClosed() {
		frames := good.frames()
		seen := 0
		for _, f := range frames {
			if bytes.Equal(f, protocol.PingFrame) {
				seen++
			}
		}
		for ; pingsSeen < seen; pingsSeen++ {
			cg.HandleFrame([]byte("{}")) // the pong
		}
		time.Sleep(5 * time.Millisecond)
	}
	if pingsSeen < 5 {
		t.Fatalf("%d pings in 1 s at a 100 ms interval", pingsSeen)
	}
	if cg.isClosed() {
		t.Fatal("the connection that answered every ping was closed")
	}
	bad.expectClose(t, protocol.DisconnectNoPong)
	cg.Closed()
	pings.mu.Lock()
	idx := cg.pingIdx
	pings.mu.Unlock()
	if idx != 0 {
		t.Fatalf("closed connection still in the ping queue at %d", idx)
	}
}
