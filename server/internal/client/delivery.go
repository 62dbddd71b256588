package client

import (
	"context"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// Delivery: the hub hands a subscription its frames; while subscribing they
// are buffered, then queued in stream order, and a gap in a recoverable
// stream ends the subscription (2500) so that the client recovers.

// Deliver queues a push frame for a subscribed channel.
func (c *Client) Deliver(ch string, frame []byte, pos engine.StreamPosition, kind node.Kind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.subs.get(ch); s != nil {
		c.deliverToLocked(s, frame, pos, kind)
	}
}

// subConn is how a subscription is registered in the hub: the connection,
// and the subscription a delivery is for, so that delivering needs no lookup
// by channel name.
type subConn struct {
	*Client
	s *sub
}

// Deliver queues a frame for the subscription, unless it has ended.
func (r subConn) Deliver(_ string, frame []byte, pos engine.StreamPosition, kind node.Kind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliverToLocked(r.s, frame, pos, kind)
}

// deliverToLocked (c.mu held) queues a frame for s, buffers it while s is
// subscribing, and drops it once s has ended or the connection closed.
func (c *Client) deliverToLocked(s *sub, frame []byte, pos engine.StreamPosition, kind node.Kind) {
	if !s.live || c.status == statusClosed {
		return
	}
	if s.subscribing {
		s.buffer = append(s.buffer, buffered{frame: frame, pos: pos, kind: kind})
		return
	}
	c.deliverLocked(s, frame, pos, kind)
}

// deliverLocked (c.mu held) queues a frame for a live subscription. For a
// recoverable subscription it keeps the stream position: a publication
// already covered is dropped, and a gap or a new epoch (publications lost
// between nodes) makes the client resubscribe and recover.
func (c *Client) deliverLocked(s *sub, frame []byte, pos engine.StreamPosition, kind node.Kind) {
	if kind != node.KindPublication {
		if s.joinLeave {
			c.enqueue(frame)
		}
		return
	}
	if s.recoverable && pos.Offset != 0 {
		switch {
		case pos.Epoch != s.epoch || pos.Offset > s.offset+1:
			c.insufficientLocked(s)
			return
		case pos.Offset <= s.offset:
			return // the subscribe reply already carried it
		}
		s.offset = pos.Offset
	}
	c.enqueue(frame)
}

// insufficientLocked (c.mu held) ends a subscription whose stream has a gap
// with unsubscribe code 2500: the client resubscribes and recovers.
func (c *Client) insufficientLocked(s *sub) {
	if !c.dropSubLocked(s) {
		return
	}
	frame, err := protocol.EncodePush(&protocol.Push{Channel: s.ch, Unsubscribe: &protocol.Unsubscribe{
		Code: protocol.UnsubscribeCodeInsufficient, Reason: "insufficient state",
	}})
	if err == nil {
		c.enqueue(frame)
	}
	// The removal runs apart (c.mu is held, and so may be the hub's fan-out
	// lock); until it has run, a new subscription to the channel waits
	// (prepareSub), or this removal would take its hub entry and presence.
	done := make(chan struct{})
	if c.removing == nil {
		c.removing = map[string]chan struct{}{}
	}
	c.removing[s.ch] = done
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		c.removeSub(ctx, s)
		c.mu.Lock()
		if c.removing[s.ch] == done {
			delete(c.removing, s.ch)
		}
		c.mu.Unlock()
		close(done)
	}()
}

// InsufficientState makes every recoverable subscription resubscribe and recover.
func (c *Client) InsufficientState() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.subs.list() {
		if s.recoverable && !s.subscribing {
			c.insufficientLocked(s)
		}
	}
}
