package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/hub"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// errClosed stops an operation on a connection that closed meanwhile.
var errClosed = errors.New("connection closed")

func (c *Client) verifier() (*auth.Verifier, error) {
	v, err := c.node.Verifier(c.proj())
	if err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	return v, nil
}

func (c *Client) handleConnect(ctx context.Context, req *protocol.ConnectRequest) (*protocol.Reply, func(), error) {
	var (
		cr  credentials
		err error
	)
	switch {
	case req.Token != "":
		cr, err = c.connectByToken(ctx, req.Token)
	case c.proj().ConnectProxy != nil:
		cr, err = c.connectByProxy(ctx, req)
	default:
		err = protocol.ErrUnauthorized.WithMessage("connection token required")
	}
	if err != nil {
		return nil, nil, err
	}
	cfg := c.node.ClientConfig()
	if cfg.MaxSubscriptions > 0 && len(cr.channels) > cfg.MaxSubscriptions {
		c.node.Stats().SubscriptionLimit.Add(1)
		return nil, nil, errSubLimit
	}
	c.mu.Lock()
	c.user = cr.user
	c.mu.Unlock()
	if !c.node.AddConnLimited(c, cfg.MaxConnectionsPerUser) {
		c.log.Info("connection limit reached", "user", cr.user, "limit", cfg.MaxConnectionsPerUser)
		return nil, nil, protocol.DisconnectConnectionLimit
	}
	c.mu.Lock()
	if c.status == statusClosed {
		// Closed meanwhile: close() did not see a connected client to remove.
		c.mu.Unlock()
		c.node.RemoveConn(c)
		return nil, nil, protocol.DisconnectNormal
	}
	if c.connectTimer != nil {
		c.connectTimer.Stop()
	}
	c.info = cr.info
	c.status = statusConnected
	c.checkedAt = time.Now()
	c.serverRefresh = c.proj().RefreshProxy != nil
	if cr.token != "" {
		c.tokens = map[string]int64{hub.TokenFingerprint(cr.token): cr.expireAt}
	}
	c.setExpireLocked(cr.expireAt)
	serverRefresh := c.serverRefresh
	c.mu.Unlock()

	res := &protocol.ConnectResult{Client: c.id, Version: c.node.Version(), Node: c.node.ID(), Data: cr.data}
	if e, ok := c.t.(Emulated); ok {
		res.Session = e.Session()
	}
	if !serverRefresh {
		res.Expires, res.TTL = expiry(cr.expireAt)
	}
	if pi := cfg.PingInterval.D(); pi > 0 {
		res.Ping = uint32(pi / time.Second)
		res.Pong = true
	}
	var subs []*sub
	for _, ch := range cr.channels {
		name, opts, err := c.node.ResolveChannel(c.proj(), ch)
		if err != nil {
			c.log.Warn("server-side channel refused", "channel", ch, "err", err)
			continue
		}
		sreq := req.Subs[ch]
		if sreq == nil {
			sreq = &protocol.SubscribeRequest{}
		}
		s, sr, err := c.prepareSub(ctx, subParams{ch: ch, name: name, opts: opts, serverSide: true, req: sreq})
		if err != nil {
			if errors.Is(err, errClosed) {
				return nil, nil, protocol.DisconnectNormal
			}
			c.log.Warn("server-side subscription failed", "channel", ch, "err", err)
			continue
		}
		if res.Subs == nil {
			res.Subs = map[string]*protocol.SubscribeResult{}
		}
		res.Subs[ch] = sr
		subs = append(subs, s)
	}
	c.startPings()
	return &protocol.Reply{Connect: res}, func() {
		for _, s := range subs {
			c.activateLocked(s)
		}
	}, nil
}

// connectByToken verifies a connection token, and refuses one the app
// revoked by naming its user inactive (error 109: centrifuge-js asks its
// getToken for a new token, which the app gives only to a welcome user).
func (c *Client) connectByToken(ctx context.Context, token string) (credentials, error) {
	v, err := c.verifier()
	if err != nil {
		return credentials{}, err
	}
	claims, err := v.VerifyConnect(token)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return credentials{}, protocol.ErrTokenExpired
	case err != nil:
		c.log.Debug("invalid connection token", "err", err)
		return credentials{}, protocol.DisconnectInvalidToken
	}
	if claims.ExpireAt > 0 && claims.ExpireAt <= time.Now().Unix() {
		return credentials{}, protocol.ErrTokenExpired
	}
	if c.node.TokenRevoked(ctx, c.proj(), claims.User, hub.TokenFingerprint(token), claims.IssuedAt) {
		c.node.Stats().RevokedConnects.Add(1)
		c.log.Info("connect refused: the app named the user inactive", "user", claims.User)
		return credentials{}, protocol.ErrTokenExpired.WithMessage("token revoked: the user was named inactive")
	}
	return credentials{user: claims.User, info: claims.Info, expireAt: claims.ExpireAt, channels: claims.Channels, token: token}, nil
}

type subParams struct {
	ch         string
	name       channelName
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
		name:        p.name,
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
	switch {
	case c.status == statusClosed:
		c.mu.Unlock()
		return nil, nil, errClosed
	case c.subs[p.ch] != nil:
		c.mu.Unlock()
		return nil, nil, protocol.ErrAlreadySubscribed
	case cfg.MaxSubscriptions > 0 && len(c.subs) >= cfg.MaxSubscriptions:
		c.mu.Unlock()
		c.node.Stats().SubscriptionLimit.Add(1)
		return nil, nil, errSubLimit
	}
	c.subs[p.ch] = s
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
	positioned := opts.HistoryEnabled() && p.req.Positioned
	if s.recoverable || positioned {
		res.Positioned = positioned
		hopts := engine.HistoryOptions{Limit: 0}
		recovering := s.recoverable && p.req.Recover
		maxPubs := cfg.HistoryMaxLimit
		if recovering {
			hopts.Since = &engine.StreamPosition{Offset: p.req.Offset, Epoch: p.req.Epoch}
			hopts.Limit = -1
			if maxPubs > 0 {
				hopts.Limit = maxPubs + 1
			}
		}
		hr, err := eng.History(ctx, c.project.Name, p.ch, hopts)
		if err != nil {
			undo()
			return nil, nil, fmt.Errorf("history: %w", err)
		}
		res.Epoch, res.Offset = hr.Position.Epoch, hr.Position.Offset
		if recovering {
			res.WasRecovering = true
			res.Recovered, res.Publications = recover(p.req, hr, maxPubs)
			if p.req.Epoch != "" && p.req.Epoch != hr.Position.Epoch && hr.Position.Offset > 0 {
				// The stream was lost (e.g. Redis restarted empty): the client's
				// position cannot be recovered, but everything the new stream
				// holds can still be delivered, when it is complete from its start.
				hopts.Since = &engine.StreamPosition{Offset: 0, Epoch: hr.Position.Epoch}
				fresh, err := eng.History(ctx, c.project.Name, p.ch, hopts)
				if err != nil {
					undo()
					return nil, nil, fmt.Errorf("history: %w", err)
				}
				_, res.Publications = recover(&protocol.SubscribeRequest{Epoch: fresh.Position.Epoch}, fresh, maxPubs)
				res.Epoch, res.Offset = fresh.Position.Epoch, fresh.Position.Offset
			}
		}
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
			c.log.Warn("publish join", "channel", p.ch, "err", err)
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

// recover decides whether every publication after the client's position is
// available; if not, no publications are returned and recovered is false, so the
// client knows to reload state: never a silent gap.
func recover(req *protocol.SubscribeRequest, hr engine.HistoryResult, maxPubs int) (bool, []*protocol.Publication) {
	top := hr.Position
	if req.Epoch != "" && req.Epoch != top.Epoch {
		return false, nil
	}
	if req.Offset > top.Offset {
		return false, nil
	}
	missed := top.Offset - req.Offset
	if maxPubs > 0 && missed > uint64(maxPubs) {
		return false, nil
	}
	if uint64(len(hr.Publications)) != missed {
		return false, nil
	}
	pubs := make([]*protocol.Publication, len(hr.Publications))
	for i, pub := range hr.Publications {
		if pub.Offset != req.Offset+uint64(i)+1 {
			return false, nil
		}
		pubs[i] = hub.ProtoPublication(pub)
	}
	return true, pubs
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

// Deliver queues a push frame for a subscribed channel.
func (c *Client) Deliver(ch string, frame []byte, pos engine.StreamPosition, kind hub.Kind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.subs[ch]; s != nil {
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
func (r subConn) Deliver(_ string, frame []byte, pos engine.StreamPosition, kind hub.Kind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliverToLocked(r.s, frame, pos, kind)
}

// deliverToLocked (c.mu held) queues a frame for s, buffers it while s is
// subscribing, and drops it once s has ended or the connection closed.
func (c *Client) deliverToLocked(s *sub, frame []byte, pos engine.StreamPosition, kind hub.Kind) {
	if !s.live || c.status == statusClosed {
		return
	}
	if s.subscribing {
		s.buffer = append(s.buffer, buffered{frame: frame, pos: pos, kind: kind})
		return
	}
	c.deliverLocked(s, frame, pos, kind)
}

// dropSubLocked (c.mu held) removes s from c.subs if it is there; it
// reports whether it was.
func (c *Client) dropSubLocked(s *sub) bool {
	if c.subs[s.ch] != s {
		return false
	}
	s.live = false
	delete(c.subs, s.ch)
	return true
}

// deliverLocked (c.mu held) queues a frame for a live subscription. For a
// recoverable subscription it keeps the stream position: a publication
// already covered is dropped, and a gap or a new epoch (publications lost
// between nodes) makes the client resubscribe and recover.
func (c *Client) deliverLocked(s *sub, frame []byte, pos engine.StreamPosition, kind hub.Kind) {
	if kind != hub.KindPublication {
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
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		c.removeSub(ctx, s)
	}()
}

// InsufficientState makes every recoverable subscription resubscribe and recover.
func (c *Client) InsufficientState() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.subs {
		if s.recoverable && !s.subscribing {
			c.insufficientLocked(s)
		}
	}
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
			c.log.Warn("remove presence", "channel", s.ch, "err", err)
		}
	}
	if s.opts.JoinLeave {
		if err := eng.PublishLeave(ctx, c.project.Name, s.ch, c.clientInfo(s)); err != nil {
			c.log.Warn("publish leave", "channel", s.ch, "err", err)
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
		current := c.subs[s.ch] == s
		c.mu.Unlock()
		if current && exp > 0 && exp <= time.Now().Unix() {
			c.close(protocol.DisconnectSubExpired, true)
		}
	})
}

func (c *Client) handleSubscribe(ctx context.Context, req *protocol.SubscribeRequest) (*protocol.Reply, func(), error) {
	if req.Channel == "" {
		return nil, nil, protocol.ErrBadRequest.WithMessage("channel required")
	}
	name, opts, err := c.node.ResolveChannel(c.proj(), req.Channel)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	user, numSubs, already := c.user, len(c.subs), c.subs[req.Channel] != nil
	c.mu.Unlock()
	switch max := c.node.ClientConfig().MaxSubscriptions; {
	case already:
		return nil, nil, protocol.ErrAlreadySubscribed
	case max > 0 && numSubs >= max:
		c.node.Stats().SubscriptionLimit.Add(1)
		c.log.Info("subscription limit reached", "limit", max)
		return nil, nil, errSubLimit
	}
	p := subParams{ch: req.Channel, name: name, opts: opts, req: req}
	switch {
	case req.Token != "":
		v, err := c.verifier()
		if err != nil {
			return nil, nil, err
		}
		claims, err := v.VerifySubscribe(req.Token)
		switch {
		case errors.Is(err, auth.ErrTokenExpired):
			return nil, nil, protocol.ErrTokenExpired
		case err != nil:
			c.log.Debug("invalid subscription token", "err", err)
			return nil, nil, protocol.DisconnectInvalidToken
		}
		if claims.Channel != req.Channel || claims.User != user {
			return nil, nil, protocol.DisconnectInvalidToken
		}
		p.chanInfo, p.expireAt = claims.Info, claims.ExpireAt
	case opts.SubscribeProxy != nil && (name.Private || opts.ProxySubscribe):
		if opts.AllowUserLimitedChannels && !name.UserAllowed(user) {
			return nil, nil, protocol.ErrPermissionDenied
		}
		r, err := c.subscribeByProxy(ctx, opts.SubscribeProxy, req)
		if err != nil {
			return nil, nil, err
		}
		p.proxied, p.chanInfo, p.data, p.expireAt = true, raw(r.Info), raw(r.Data), r.ExpireAt
	default:
		switch {
		case name.Private:
			return nil, nil, protocol.ErrPermissionDenied.WithMessage("private channel needs a subscription token")
		case !opts.AllowSubscribeForClient:
			return nil, nil, protocol.ErrPermissionDenied
		case user == "" && !opts.AllowAnonymous:
			return nil, nil, protocol.ErrPermissionDenied.WithMessage("anonymous subscriptions are not allowed")
		case opts.AllowUserLimitedChannels && !name.UserAllowed(user):
			return nil, nil, protocol.ErrPermissionDenied
		}
	}
	s, res, err := c.prepareSub(ctx, p)
	if err != nil {
		if errors.Is(err, errClosed) {
			return nil, nil, protocol.DisconnectNormal
		}
		return nil, nil, err
	}
	return &protocol.Reply{Subscribe: res}, func() { c.activateLocked(s) }, nil
}

// expireSub ends a subscription the subscribe proxy granted until its
// expire_at, with unsubscribe code 2501: the client resubscribes.
func (c *Client) expireSub(s *sub) {
	c.mu.Lock()
	exp := s.expireAt
	current := c.subs[s.ch] == s
	c.mu.Unlock()
	if current && exp > 0 && exp <= time.Now().Unix() {
		c.ServerUnsubscribe(s.ch, protocol.UnsubscribeCodeExpired, "subscription expired")
	}
}

// ServerSubscribe subscribes the connection on the server's initiative (server
// API subscribe) and tells the client with a subscribe push.
func (c *Client) ServerSubscribe(ch string) {
	go func() {
		c.opMu.Lock()
		defer c.opMu.Unlock()
		name, opts, err := c.node.ResolveChannel(c.proj(), ch)
		if err != nil {
			c.log.Warn("server subscribe", "channel", ch, "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		s, res, err := c.prepareSub(ctx, subParams{ch: ch, name: name, opts: opts, serverSide: true, req: &protocol.SubscribeRequest{}})
		if err != nil {
			if errors.Is(err, errSubLimit) {
				c.log.Warn("server subscribe refused: subscription limit reached", "channel", ch)
				return
			}
			if !errors.Is(err, errClosed) && !errors.Is(err, protocol.ErrAlreadySubscribed) {
				c.log.Warn("server subscribe", "channel", ch, "err", err)
			}
			return
		}
		frame, err := protocol.EncodePush(&protocol.Push{Channel: ch, Subscribe: &protocol.Subscribe{
			Recoverable: res.Recoverable, Epoch: res.Epoch, Offset: res.Offset, Positioned: res.Positioned,
		}})
		if err != nil {
			c.log.Error("encode subscribe push", "err", err)
			return
		}
		c.mu.Lock()
		c.enqueue(frame)
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
		s := c.subs[ch]
		if s == nil || c.status == statusClosed {
			c.mu.Unlock()
			return
		}
		c.dropSubLocked(s)
		frame, err := protocol.EncodePush(&protocol.Push{Channel: ch, Unsubscribe: &protocol.Unsubscribe{Code: code, Reason: reason}})
		if err == nil {
			c.enqueue(frame)
		}
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		c.removeSub(ctx, s)
	}()
}

func (c *Client) handleUnsubscribe(ctx context.Context, req *protocol.UnsubscribeRequest) (*protocol.Reply, error) {
	if req.Channel == "" {
		return nil, protocol.ErrBadRequest.WithMessage("channel required")
	}
	c.mu.Lock()
	s := c.subs[req.Channel]
	if s != nil {
		c.dropSubLocked(s)
	}
	c.mu.Unlock()
	if s != nil {
		c.removeSub(ctx, s)
	}
	return &protocol.Reply{Unsubscribe: &protocol.UnsubscribeResult{}}, nil
}

func (c *Client) subscribed(ch string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.subs[ch]
	return s != nil && !s.subscribing
}

func (c *Client) handlePublish(ctx context.Context, req *protocol.PublishRequest) (*protocol.Reply, error) {
	if req.Channel == "" {
		return nil, protocol.ErrBadRequest.WithMessage("channel required")
	}
	if len(req.Data) == 0 {
		return nil, protocol.ErrBadRequest.WithMessage("data required")
	}
	if err := c.dataAllowed(req.Data); err != nil {
		return nil, err
	}
	name, opts, err := c.node.ResolveChannel(c.proj(), req.Channel)
	if err != nil {
		return nil, err
	}
	user := c.User()
	proxied := opts.PublishProxy != nil
	switch {
	case !proxied && !opts.AllowPublishForClient:
		return nil, protocol.ErrPermissionDenied
	case !proxied && user == "" && !opts.AllowAnonymous:
		return nil, protocol.ErrPermissionDenied
	case name.Private && !c.subscribed(req.Channel):
		return nil, protocol.ErrPermissionDenied
	case opts.AllowUserLimitedChannels && !name.UserAllowed(user):
		return nil, protocol.ErrPermissionDenied
	}
	po := hub.PublishOptionsFor(opts)
	data := []byte(req.Data)
	if proxied {
		var r publishProxyResult
		err := c.askProxy(ctx, "publish", opts.PublishProxy, channelProxyRequest{
			Client: c.id, Transport: c.t.Name(), User: user, Channel: req.Channel, Data: req.Data,
		}, &r, true)
		if err != nil {
			return nil, err
		}
		if d := raw(r.Data); d != nil {
			if err := c.dataAllowed(d); err != nil {
				c.log.Warn("publish proxy: rewritten data too large", "channel", req.Channel, "size", len(d))
				return nil, err
			}
			data = d
		}
		if r.SkipHistory {
			po = hub.PublishOptionsFor(channelOptions{})
		}
	}
	po.ClientInfo = c.clientInfo(nil)
	if _, _, err := c.node.Engine().Publish(ctx, c.project.Name, req.Channel, data, po); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	return &protocol.Reply{Publish: &protocol.PublishResult{}}, nil
}

// readAllowed checks that presence or history of a channel may be read: by
// a subscriber, or, with allow_*_for_client, by a client that could
// subscribe without a token or a proxy's word.
func (c *Client) readAllowed(ch string, enabled, allowForClient bool) error {
	if !enabled {
		return protocol.ErrNotAvailable
	}
	if c.subscribed(ch) {
		return nil
	}
	if !allowForClient {
		return protocol.ErrPermissionDenied
	}
	name, opts, err := c.node.ResolveChannel(c.proj(), ch)
	if err != nil {
		return err
	}
	return mayReadUnsubscribed(name, opts, c.User())
}

// presenceAllowed checks a presence or presence_stats request.
func (c *Client) presenceAllowed(ch string) error {
	if ch == "" {
		return protocol.ErrBadRequest.WithMessage("channel required")
	}
	_, opts, err := c.node.ResolveChannel(c.proj(), ch)
	if err != nil {
		return err
	}
	return c.readAllowed(ch, opts.Presence, opts.AllowPresenceForClient)
}

func (c *Client) handlePresence(ctx context.Context, req *protocol.PresenceRequest) (*protocol.Reply, error) {
	if err := c.presenceAllowed(req.Channel); err != nil {
		return nil, err
	}
	p, err := c.node.Engine().Presence(ctx, c.project.Name, req.Channel)
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	out := make(map[string]*protocol.ClientInfo, len(p))
	for id, info := range p {
		out[id] = hub.ProtoClientInfo(info)
	}
	return &protocol.Reply{Presence: &protocol.PresenceResult{Presence: out}}, nil
}

func (c *Client) handlePresenceStats(ctx context.Context, req *protocol.PresenceStatsRequest) (*protocol.Reply, error) {
	if err := c.presenceAllowed(req.Channel); err != nil {
		return nil, err
	}
	st, err := c.node.Engine().PresenceStats(ctx, c.project.Name, req.Channel)
	if err != nil {
		return nil, fmt.Errorf("presence stats: %w", err)
	}
	return &protocol.Reply{PresenceStats: &protocol.PresenceStatsResult{
		NumClients: uint32(st.NumClients), NumUsers: uint32(st.NumUsers),
	}}, nil
}

func (c *Client) handleHistory(ctx context.Context, req *protocol.HistoryRequest) (*protocol.Reply, error) {
	if req.Channel == "" {
		return nil, protocol.ErrBadRequest.WithMessage("channel required")
	}
	_, opts, err := c.node.ResolveChannel(c.proj(), req.Channel)
	if err != nil {
		return nil, err
	}
	if err := c.readAllowed(req.Channel, opts.HistoryEnabled(), opts.AllowHistoryForClient); err != nil {
		return nil, err
	}
	hopts := engine.HistoryOptions{Limit: int(req.Limit), Reverse: req.Reverse}
	if req.Since != nil {
		hopts.Since = &engine.StreamPosition{Offset: req.Since.Offset, Epoch: req.Since.Epoch}
	}
	hr, err := c.node.History(ctx, c.project.Name, req.Channel, hopts)
	if err != nil {
		return nil, err
	}
	pubs := make([]*protocol.Publication, len(hr.Publications))
	for i, p := range hr.Publications {
		pubs[i] = hub.ProtoPublication(p)
	}
	return &protocol.Reply{History: &protocol.HistoryResult{
		Publications: pubs, Epoch: hr.Position.Epoch, Offset: hr.Position.Offset,
	}}, nil
}

func (c *Client) handleRefresh(req *protocol.RefreshRequest) (*protocol.Reply, error) {
	if req.Token == "" {
		return nil, protocol.ErrBadRequest.WithMessage("token required")
	}
	v, err := c.verifier()
	if err != nil {
		return nil, err
	}
	claims, err := v.VerifyConnect(req.Token)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return nil, protocol.ErrTokenExpired
	case err != nil:
		return nil, protocol.DisconnectInvalidToken
	}
	c.mu.Lock()
	if claims.User != c.user {
		c.mu.Unlock()
		return nil, protocol.DisconnectInvalidToken
	}
	if claims.Info != nil {
		c.info = claims.Info
	}
	if c.tokens == nil {
		c.tokens = map[string]int64{}
	}
	c.tokens[hub.TokenFingerprint(req.Token)] = claims.ExpireAt
	c.setExpireLocked(claims.ExpireAt)
	c.mu.Unlock()
	res := &protocol.RefreshResult{Client: c.id, Version: c.node.Version()}
	res.Expires, res.TTL = expiry(claims.ExpireAt)
	return &protocol.Reply{Refresh: res}, nil
}

func (c *Client) handleSubRefresh(req *protocol.SubRefreshRequest) (*protocol.Reply, error) {
	if req.Channel == "" || req.Token == "" {
		return nil, protocol.ErrBadRequest.WithMessage("channel and token required")
	}
	v, err := c.verifier()
	if err != nil {
		return nil, err
	}
	claims, err := v.VerifySubscribe(req.Token)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return nil, protocol.ErrTokenExpired
	case err != nil:
		return nil, protocol.DisconnectInvalidToken
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.subs[req.Channel]
	if s == nil {
		return nil, protocol.ErrPermissionDenied.WithMessage("not subscribed")
	}
	if claims.Channel != req.Channel || claims.User != c.user {
		return nil, protocol.DisconnectInvalidToken
	}
	c.setSubExpireLocked(s, claims.ExpireAt)
	res := &protocol.SubRefreshResult{}
	res.Expires, res.TTL = expiry(claims.ExpireAt)
	return &protocol.Reply{SubRefresh: res}, nil
}
