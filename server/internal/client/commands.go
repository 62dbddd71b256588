package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
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
		c.log().Info("connection limit reached", "user", cr.user, "limit", cfg.MaxConnectionsPerUser)
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
		c.connectTimer = nil
	}
	c.info = cr.info
	c.status = statusConnected
	c.checkedAt = time.Now().UnixNano()
	c.serverRefresh = c.proj().RefreshProxy != nil
	if cr.token != "" {
		c.addToken(cr.token, cr.expireAt)
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
		_, opts, err := c.resolveChannel(ch)
		if err != nil {
			c.log().Warn("server-side channel refused", "channel", ch, "err", err)
			continue
		}
		sreq := req.Subs[ch]
		if sreq == nil {
			sreq = &protocol.SubscribeRequest{}
		}
		s, sr, err := c.prepareSub(ctx, subParams{ch: ch, opts: opts, serverSide: true, req: sreq})
		if err != nil {
			if errors.Is(err, errClosed) {
				return nil, nil, protocol.DisconnectNormal
			}
			c.log().Warn("server-side subscription failed", "channel", ch, "err", err)
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
		c.log().Debug("invalid connection token", "err", err)
		return credentials{}, protocol.DisconnectInvalidToken
	}
	if claims.ExpireAt > 0 && claims.ExpireAt <= time.Now().Unix() {
		return credentials{}, protocol.ErrTokenExpired
	}
	if c.node.TokenRevoked(ctx, c.proj(), claims.User, node.TokenFingerprint(token), claims.IssuedAt) {
		c.node.Stats().RevokedConnects.Add(1)
		c.log().Info("connect refused: the app named the user inactive", "user", claims.User)
		return credentials{}, protocol.ErrTokenExpired.WithMessage("token revoked: the user was named inactive")
	}
	return credentials{user: claims.User, info: claims.Info, expireAt: claims.ExpireAt, channels: claims.Channels, token: token}, nil
}

func (c *Client) handleSubscribe(ctx context.Context, req *protocol.SubscribeRequest) (*protocol.Reply, func(), error) {
	if req.Channel == "" {
		return nil, nil, protocol.ErrBadRequest.WithMessage("channel required")
	}
	name, opts, err := c.resolveChannel(req.Channel)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	user, numSubs, already := c.user, c.subs.len(), c.subs.get(req.Channel) != nil
	c.mu.Unlock()
	switch max := c.node.ClientConfig().MaxSubscriptions; {
	case already:
		return nil, nil, protocol.ErrAlreadySubscribed
	case max > 0 && numSubs >= max:
		c.node.Stats().SubscriptionLimit.Add(1)
		c.log().Info("subscription limit reached", "limit", max)
		return nil, nil, errSubLimit
	}
	p := subParams{ch: req.Channel, opts: opts, req: req}
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
			c.log().Debug("invalid subscription token", "err", err)
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

func (c *Client) handleUnsubscribe(ctx context.Context, req *protocol.UnsubscribeRequest) (*protocol.Reply, error) {
	if req.Channel == "" {
		return nil, protocol.ErrBadRequest.WithMessage("channel required")
	}
	c.mu.Lock()
	s := c.subs.get(req.Channel)
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
	s := c.subs.get(ch)
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
	name, opts, err := c.resolveChannel(req.Channel)
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
	var po node.PublishOptions
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
				c.log().Warn("publish proxy: rewritten data too large", "channel", req.Channel, "size", len(d))
				return nil, err
			}
			data = d
		}
		po.SkipHistory = r.SkipHistory
	}
	po.ClientInfo = c.clientInfo(nil)
	if _, err := c.node.Channel(c.proj(), req.Channel, opts).Publish(ctx, data, po); err != nil {
		return nil, err
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
	name, opts, err := c.resolveChannel(ch)
	if err != nil {
		return err
	}
	return mayReadUnsubscribed(name, opts, c.User())
}

// presenceChannel checks a presence or presence_stats request and returns
// its channel.
func (c *Client) presenceChannel(ch string) (node.Channel, error) {
	if ch == "" {
		return node.Channel{}, protocol.ErrBadRequest.WithMessage("channel required")
	}
	_, opts, err := c.resolveChannel(ch)
	if err != nil {
		return node.Channel{}, err
	}
	if err := c.readAllowed(ch, opts.Presence, opts.AllowPresenceForClient); err != nil {
		return node.Channel{}, err
	}
	return c.node.Channel(c.proj(), ch, opts), nil
}

func (c *Client) handlePresence(ctx context.Context, req *protocol.PresenceRequest) (*protocol.Reply, error) {
	ch, err := c.presenceChannel(req.Channel)
	if err != nil {
		return nil, err
	}
	p, err := ch.Presence(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*protocol.ClientInfo, len(p))
	for id, info := range p {
		out[id] = node.ProtoClientInfo(info)
	}
	return &protocol.Reply{Presence: &protocol.PresenceResult{Presence: out}}, nil
}

func (c *Client) handlePresenceStats(ctx context.Context, req *protocol.PresenceStatsRequest) (*protocol.Reply, error) {
	ch, err := c.presenceChannel(req.Channel)
	if err != nil {
		return nil, err
	}
	st, err := ch.PresenceStats(ctx)
	if err != nil {
		return nil, err
	}
	return &protocol.Reply{PresenceStats: &protocol.PresenceStatsResult{
		NumClients: uint32(st.NumClients), NumUsers: uint32(st.NumUsers),
	}}, nil
}

func (c *Client) handleHistory(ctx context.Context, req *protocol.HistoryRequest) (*protocol.Reply, error) {
	if req.Channel == "" {
		return nil, protocol.ErrBadRequest.WithMessage("channel required")
	}
	_, opts, err := c.resolveChannel(req.Channel)
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
	hr, err := c.node.Channel(c.proj(), req.Channel, opts).History(ctx, hopts)
	if err != nil {
		return nil, err
	}
	pubs := make([]*protocol.Publication, len(hr.Publications))
	for i, p := range hr.Publications {
		pubs[i] = node.ProtoPublication(p)
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
	c.addToken(req.Token, claims.ExpireAt)
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
	s := c.subs.get(req.Channel)
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
