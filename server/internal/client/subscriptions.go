package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// The subscription lifecycle: a subscription is prepared (registered,
// positioned, recovered, presence and join), activated after its reply,
// expired, and removed; the server may subscribe and unsubscribe too.

type subParams struct {
	ch         string
	opts       channelOptions
	chanInfo   []byte
	expireAt   int64
	serverSide bool
	req        *protocol.SubscribeRequest
	// proxied: the subscribe proxy allowed it; data goes in the reply, and at
	// expireAt the client is unsubscribed to resubscribe (asking again).
	proxied bool
	data    []byte
}

// prepareSub registers a subscription in the subscribing state (deliveries are
// buffered), reads the stream position and recovers missed publications, adds
// presence and publishes the join. The caller queues the reply and then calls
// activateLocked, so buffered deliveries follow the reply.
func (c *Client) prepareSub(ctx context.Context, p subParams) (*sub, *protocol.SubscribeResult, error) {
	cfg := c.node.ClientConfig()
	eng := c.node.Engine()
	opts := p.opts
	s := &sub{
		ch:          p.ch,
		opts:        opts,
		chanInfo:    p.chanInfo,
		joinLeave:   opts.JoinLeave && (p.req.JoinLeave || opts.ForcePushJoinLeave),
		recoverable: opts.HistoryEnabled() && (opts.ForceRecovery || p.req.Recoverable),
		serverSide:  p.serverSide,
		expireAt:    p.expireAt,
		proxied:     p.proxied,
		subscribing: true,
	}
	c.mu.Lock()
	for done := c.removing[p.ch]; done != nil; done = c.removing[p.ch] {
		// The previous subscription to the channel is still being removed
		// (insufficientLocked): the hub must forget it first.
		c.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		c.mu.Lock()
	}
	switch {
	case c.status == statusClosed:
		c.mu.Unlock()
		return nil, nil, errClosed
	case c.subs.get(p.ch) != nil:
		c.mu.Unlock()
		return nil, nil, protocol.ErrAlreadySubscribed
	case cfg.MaxSubscriptions > 0 && c.subs.len() >= cfg.MaxSubscriptions:
		c.mu.Unlock()
		c.node.Stats().SubscriptionLimit.Add(1)
		return nil, nil, errSubLimit
	}
	c.subs.add(s)
	s.live = true
	c.mu.Unlock()

	undo := func() {
		c.mu.Lock()
		c.dropSubLocked(s)
		c.mu.Unlock()
		c.removeSub(context.Background(), s)
	}
	if err := c.node.AddSub(c.project.Name, p.ch, subConn{c, s}); err != nil {
		undo()
		return nil, nil, fmt.Errorf("broker subscribe: %w", err)
	}
	res := &protocol.SubscribeResult{Recoverable: s.recoverable, Data: p.data}
	if err := c.readPosition(ctx, p, s, res); err != nil {
		undo()
		return nil, nil, err
	}
	s.epoch, s.offset = res.Epoch, res.Offset
	if opts.Presence {
		if err := eng.AddPresence(ctx, c.project.Name, p.ch, c.id, c.clientInfo(s), c.presenceTTL()); err != nil {
			undo()
			return nil, nil, fmt.Errorf("add presence: %w", err)
		}
	}
	if opts.JoinLeave {
		if err := eng.PublishJoin(ctx, c.project.Name, p.ch, c.clientInfo(s)); err != nil {
			c.log().Warn("publish join", "channel", p.ch, "err", err)
		}
	}
	if !p.proxied {
		res.Expires, res.TTL = expiry(p.expireAt)
	}
	if c.isClosed() {
		// close() may have run before AddSub: make sure nothing is left behind.
		c.removeSub(context.Background(), s)
		return nil, nil, errClosed
	}
	c.mu.Lock()
	c.setSubExpireLocked(s, p.expireAt)
	c.mu.Unlock()
	return s, res, nil
}

// activateLocked (c.mu held, after the subscribe reply was queued) flushes the
// deliveries buffered while subscribing, skipping publications the reply
// already carried, and switches the subscription to live delivery.
func (c *Client) activateLocked(s *sub) {
	if !s.subscribing {
		return
	}
	s.subscribing = false
	buf := s.buffer
	s.buffer = nil
	for _, b := range buf {
		c.deliverLocked(s, b.frame, b.pos, b.kind)
	}
}

// dropSubLocked (c.mu held) removes s from c.subs if it is there; it
// reports whether it was.
func (c *Client) dropSubLocked(s *sub) bool {
	if c.subs.get(s.ch) != s {
		return false
	}
	s.live = false
	c.subs.remove(s.ch)
	return true
}

// removeSub undoes a subscription in the hub, presence, and publishes the leave.
// It runs once per subscription.
func (c *Client) removeSub(ctx context.Context, s *sub) {
	if !s.removed.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	if s.expireTimer != nil {
		s.expireTimer.Stop()
	}
	c.mu.Unlock()
	c.node.RemoveSub(c.project.Name, s.ch, c)
	eng := c.node.Engine()
	if s.opts.Presence {
		if err := eng.RemovePresence(ctx, c.project.Name, s.ch, c.id, c.User()); err != nil {
			c.log().Warn("remove presence", "channel", s.ch, "err", err)
		}
	}
	if s.opts.JoinLeave {
		if err := eng.PublishLeave(ctx, c.project.Name, s.ch, c.clientInfo(s)); err != nil {
			c.log().Warn("publish leave", "channel", s.ch, "err", err)
		}
	}
}

// setSubExpireLocked schedules disconnect 3006 a grace delay after a
// subscription token expires without sub_refresh.
func (c *Client) setSubExpireLocked(s *sub, expireAt int64) {
	s.expireAt = expireAt
	if s.expireTimer != nil {
		s.expireTimer.Stop()
		s.expireTimer = nil
	}
	if expireAt <= 0 {
		return
	}
	if s.proxied {
		// The client cannot refresh it: it resubscribes, and the proxy is asked again.
		s.expireTimer = time.AfterFunc(time.Until(time.Unix(expireAt, 0)), func() {
			c.expireSub(s)
		})
		return
	}
	delay := time.Until(time.Unix(expireAt, 0)) + c.node.ClientConfig().ExpiredSubCloseDelay.D()
	s.expireTimer = time.AfterFunc(delay, func() {
		c.mu.Lock()
		exp := s.expireAt
		current := c.subs.get(s.ch) == s
		c.mu.Unlock()
		if current && exp > 0 && exp <= time.Now().Unix() {
			c.close(protocol.DisconnectSubExpired, true)
		}
	})
}

// expireSub ends a subscription the subscribe proxy granted until its
// expire_at, with unsubscribe code 2501: the client resubscribes.
func (c *Client) expireSub(s *sub) {
	c.mu.Lock()
	exp := s.expireAt
	current := c.subs.get(s.ch) == s
	c.mu.Unlock()
	if current && exp > 0 && exp <= time.Now().Unix() {
		c.ServerUnsubscribe(s.ch, protocol.UnsubscribeCodeExpired, "subscription expired")
	}
}

// ServerSubscribe subscribes the connection on the server's initiative (server
// API subscribe) and tells the client with a subscribe push.
func (c *Client) ServerSubscribe(ch string, ss node.ServerSubscription) {
	go func() {
		c.opMu.Lock()
		defer c.opMu.Unlock()
		_, opts, err := c.resolveChannel(ch)
		if err != nil {
			c.log().Warn("server subscribe", "channel", ch, "err", err)
			return
		}
		opts = node.OverrideOptions(opts, ss.Override)
		req := &protocol.SubscribeRequest{
			JoinLeave:  ss.Override.JoinLeave != nil && *ss.Override.JoinLeave,
			Positioned: ss.Override.ForcePositioning != nil && *ss.Override.ForcePositioning,
		}
		if sp := ss.RecoverSince; sp != nil {
			req.Recover, req.Recoverable, req.Epoch, req.Offset = true, true, sp.Epoch, sp.Offset
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		s, res, err := c.prepareSub(ctx, subParams{ch: ch, opts: opts, chanInfo: ss.Info, serverSide: true, req: req})
		if err != nil {
			if errors.Is(err, errSubLimit) {
				c.log().Warn("server subscribe refused: subscription limit reached", "channel", ch)
				return
			}
			if !errors.Is(err, errClosed) && !errors.Is(err, protocol.ErrAlreadySubscribed) {
				c.log().Warn("server subscribe", "channel", ch, "err", err)
			}
			return
		}
		frame, err := protocol.EncodePush(&protocol.Push{Channel: ch, Subscribe: &protocol.Subscribe{
			Recoverable: res.Recoverable, Epoch: res.Epoch, Offset: res.Offset, Positioned: res.Positioned, Data: ss.Data,
		}})
		if err != nil {
			c.log().Error("encode subscribe push", "err", err)
			return
		}
		// Recovered publications (recover_since) follow the subscribe push.
		frames := [][]byte{frame}
		for _, pub := range res.Publications {
			f, err := protocol.AppendPublicationPush(nil, ch, pub)
			if err != nil {
				c.log().Error("encode recovered publication", "err", err)
				return
			}
			frames = append(frames, f)
		}
		c.mu.Lock()
		for _, f := range frames {
			c.enqueue(f)
		}
		c.activateLocked(s)
		c.mu.Unlock()
	}()
}

// ServerUnsubscribe removes a subscription and tells the client.
func (c *Client) ServerUnsubscribe(ch string, code uint32, reason string) {
	go func() {
		c.opMu.Lock()
		defer c.opMu.Unlock()
		c.mu.Lock()
		s := c.subs.get(ch)
		if s == nil || c.status == statusClosed {
			c.mu.Unlock()
			return
		}
		c.dropSubLocked(s)
		c.mu.Unlock()
		// Presence and the leave go first: once told, the client is no longer
		// in the channel's presence (the server API's presence agrees).
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		c.removeSub(ctx, s)
		frame, err := protocol.EncodePush(&protocol.Push{Channel: ch, Unsubscribe: &protocol.Unsubscribe{Code: code, Reason: reason}})
		if err != nil {
			return
		}
		c.mu.Lock()
		if c.status != statusClosed {
			c.enqueue(frame)
		}
		c.mu.Unlock()
	}()
}
