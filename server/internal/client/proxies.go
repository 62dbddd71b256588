package client

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/proxy"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// What the server POSTs to the web app's proxies, and what they answer inside
// {"result": ...}. {"error": {code, message}} refuses with that error,
// {"disconnect": {code, reason}} closes the connection.

type connectProxyRequest struct {
	Client    string          `json:"client"`
	Transport string          `json:"transport"`
	Protocol  string          `json:"protocol"`
	Encoding  string          `json:"encoding"`
	Name      string          `json:"name,omitempty"`
	Version   string          `json:"version,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

type connectProxyResult struct {
	User     string          `json:"user"`
	ExpireAt int64           `json:"expire_at"`
	Info     json.RawMessage `json:"info"`
	Data     json.RawMessage `json:"data"`
	Channels []string        `json:"channels"`
}

type refreshProxyRequest struct {
	Client    string `json:"client"`
	Transport string `json:"transport"`
	User      string `json:"user"`
}

type refreshProxyResult struct {
	Expired  bool            `json:"expired"`
	ExpireAt int64           `json:"expire_at"`
	Info     json.RawMessage `json:"info"`
}

type channelProxyRequest struct {
	Client    string          `json:"client"`
	Transport string          `json:"transport"`
	User      string          `json:"user"`
	Channel   string          `json:"channel"`
	Data      json.RawMessage `json:"data,omitempty"`
}

type subscribeProxyResult struct {
	Info     json.RawMessage `json:"info"`
	Data     json.RawMessage `json:"data"`
	ExpireAt int64           `json:"expire_at"`
}

type publishProxyResult struct {
	// Data, when set, replaces the client's data.
	Data        json.RawMessage `json:"data"`
	SkipHistory bool            `json:"skip_history"`
}

type rpcProxyRequest struct {
	Client    string          `json:"client"`
	Transport string          `json:"transport"`
	User      string          `json:"user"`
	Method    string          `json:"method"`
	Data      json.RawMessage `json:"data,omitempty"`
}

type rpcProxyResult struct {
	Data json.RawMessage `json:"data"`
}

// raw returns JSON from the app, nil for absent or null.
func raw(m json.RawMessage) []byte {
	if len(m) == 0 || string(m) == "null" {
		return nil
	}
	return m
}

// askProxy posts body to the app's endpoint p and decodes the result. The
// app's refusal is returned as it is (*protocol.Error or protocol.Disconnect).
// A failed request (timeout, network, status, malformed reply) is logged and
// becomes error 100 with temporary set, so the client retries later: it is
// never a permanent refusal.
func (c *Client) askProxy(ctx context.Context, kind string, p *structure.Proxy, body, result any, idempotent bool) error {
	err := c.node.Proxy().Call(ctx, proxy.Request{
		URL:        p.URL,
		Timeout:    p.RequestTimeout(),
		Header:     p.ForwardedHeaders(c.header),
		Body:       body,
		Backoff:    c.proj().Backoff(),
		Idempotent: idempotent,
	}, result)
	switch {
	case err == nil:
		return nil
	case proxy.Failed(err):
		c.node.Stats().ProxyFailures.Add(1)
		c.log().Warn(kind+" proxy failed", "url", p.URL, "err", err)
		msg := kind + " proxy unavailable"
		switch {
		case errors.Is(err, proxy.ErrTimeout):
			msg = kind + " proxy timeout"
		case errors.Is(err, proxy.ErrMalformed):
			msg = kind + " proxy: malformed reply"
		}
		return protocol.ErrInternal.WithMessage(msg)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		if c.isClosed() {
			return errClosed
		}
		c.node.Stats().ProxyFailures.Add(1)
		c.log().Warn(kind+" proxy: no answer in time", "url", p.URL)
		return protocol.ErrInternal.WithMessage(kind + " proxy timeout")
	}
	c.node.Stats().ProxyRefusals.Add(1)
	c.log().Debug(kind+" proxy refused", "err", err)
	return err
}

// credentials are what a connect grants, from a token or the connect proxy.
type credentials struct {
	user     string
	info     []byte
	expireAt int64
	channels []string
	data     []byte
	token    string // "" from the connect proxy
}

func (c *Client) connectByProxy(ctx context.Context, req *protocol.ConnectRequest) (credentials, error) {
	var r connectProxyResult
	err := c.askProxy(ctx, "connect", c.proj().ConnectProxy, connectProxyRequest{
		Client: c.id, Transport: c.t.Name(), Protocol: "json", Encoding: "json",
		Name: req.Name, Version: req.Version, Data: raw(req.Data),
	}, &r, true)
	if err != nil {
		return credentials{}, err
	}
	if r.ExpireAt < 0 {
		return credentials{}, c.malformed("connect", "negative expire_at")
	}
	if r.ExpireAt > 0 && r.ExpireAt <= time.Now().Unix() {
		return credentials{}, protocol.ErrExpired
	}
	return credentials{user: r.User, info: raw(r.Info), expireAt: r.ExpireAt, channels: r.Channels, data: raw(r.Data)}, nil
}

// malformed reports a reply that decoded but makes no sense.
func (c *Client) malformed(kind, what string) error {
	c.node.Stats().ProxyFailures.Add(1)
	c.log().Warn(kind+" proxy: malformed reply", "err", what)
	return protocol.ErrInternal.WithMessage(kind + " proxy: malformed reply")
}

// subscribeByProxy asks the app whether the connection may subscribe.
func (c *Client) subscribeByProxy(ctx context.Context, p *structure.Proxy, req *protocol.SubscribeRequest) (subscribeProxyResult, error) {
	var r subscribeProxyResult
	err := c.askProxy(ctx, "subscribe", p, channelProxyRequest{
		Client: c.id, Transport: c.t.Name(), User: c.User(), Channel: req.Channel, Data: raw(req.Data),
	}, &r, true)
	if err != nil {
		return r, err
	}
	if r.ExpireAt < 0 {
		return r, c.malformed("subscribe", "negative expire_at")
	}
	if r.ExpireAt > 0 && r.ExpireAt <= time.Now().Unix() {
		return r, protocol.ErrExpired
	}
	return r, nil
}

func (c *Client) handleRPC(ctx context.Context, req *protocol.RPCRequest) (*protocol.Reply, error) {
	p := c.proj().RPCProxy
	if p == nil {
		return nil, protocol.ErrMethodNotFound
	}
	if err := c.dataAllowed(req.Data); err != nil {
		return nil, err
	}
	var r rpcProxyResult
	// An rpc may have effects: it is retried only when it surely did not reach the app.
	err := c.askProxy(ctx, "rpc", p, rpcProxyRequest{
		Client: c.id, Transport: c.t.Name(), User: c.User(), Method: req.Method, Data: raw(req.Data),
	}, &r, false)
	if err != nil {
		return nil, err
	}
	return &protocol.Reply{RPC: &protocol.RPCResult{Data: raw(r.Data)}}, nil
}

// refreshByProxy runs when a connection of a project with a refresh proxy
// expires: the app extends it (a new expire_at, 0 for never) or ends it
// (expired: disconnect 3005, the client reconnects and authenticates again).
// While the app cannot answer the connection stays and the request is
// retried with the project's backoff.
func (c *Client) refreshByProxy() {
	p := c.proj().RefreshProxy
	if p == nil || c.isClosed() {
		return
	}
	c.node.Stats().RefreshProxyRuns.Add(1)
	ctx, cancel := c.opContext()
	defer cancel()
	var r refreshProxyResult
	err := c.askProxy(ctx, "refresh", p, refreshProxyRequest{Client: c.id, Transport: c.t.Name(), User: c.User()}, &r, true)
	var d protocol.Disconnect
	switch {
	case errors.As(err, &d):
		c.close(d, true)
	case errors.Is(err, errClosed):
	case err != nil:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.status == statusClosed {
			return
		}
		c.refreshFailures++
		wait := proxy.Backoff(c.proj().Backoff(), int(c.refreshFailures))
		expiries.set(c, wait, uint8(expiryRefresh))
	case r.Expired || r.ExpireAt < 0 || (r.ExpireAt > 0 && r.ExpireAt <= time.Now().Unix()):
		c.close(protocol.DisconnectExpired, true)
	default:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.status == statusClosed {
			return
		}
		c.refreshFailures = 0
		if info := raw(r.Info); info != nil {
			c.info = info
		}
		c.setExpireLocked(r.ExpireAt)
	}
}
