package client

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/centrifugehq/centrifuge/server/internal/channel"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// ErrUnknownProject is returned by New for a project that does not exist.
var ErrUnknownProject = structure.ErrUnknownProject

type status uint8

const (
	statusConnecting status = iota
	statusConnected
	statusClosed
)

// opTimeout bounds every engine call made for one command.
const opTimeout = 10 * time.Second

// Client is one connection's protocol state machine.
type Client struct {
	node    *node.Node
	t       Transport
	id      string
	project *structure.Project
	// header is the opening HTTP request's headers, packed ("" if the
	// transport has none).
	header packedHeader
	// ops cancel the operations in progress (opContext); close cancels them
	// so that requests to the app end. nil when none runs: a context kept
	// for the connection's life would hold a channel and a map each.
	ops []*context.CancelFunc
	// limiter applies max_commands_per_second.
	limiter rateLimiter

	// opMu serializes commands and server-initiated operations that change
	// subscriptions, so they never interleave.
	opMu sync.Mutex

	mu     sync.Mutex
	status status
	// serverRefresh: the refresh proxy, not the client, extends the connection.
	serverRefresh bool
	// finished: the client has finished (finish); done, once made, is closed.
	finished bool
	// slow: the write queue outgrew max_queue_size (disconnect 3008 once).
	slow            atomic.Bool
	refreshFailures int32
	// pingIdx and expireIdx locate the connection's deadlines in pings and
	// expiries (guarded by their mu).
	pingIdx   int32
	expireIdx int32
	user      string
	info      []byte
	expireAt  int64
	subs      subSet
	// removing: channel -> closed when the removal of an ended subscription
	// to it (insufficientLocked) has run.
	removing  map[string]chan struct{}
	closeOnce sync.Once
	closeD    protocol.Disconnect
	// tokens are the connection tokens used (connect, refresh) with their
	// expiry, for bans of inactive users: usually one, so a slice.
	tokens []usedToken
	// checkedAt is when (unix nanoseconds) the connection connected or the
	// connection check last found its user active.
	checkedAt int64

	q writeQueue
	// direct is t when it can write without blocking, by flusher.
	direct  DirectWriter
	flusher *flusher
	// done is made by the first Done call (guarded by mu): the WebSocket
	// reader on Linux never waits for it, so most connections do without.
	done chan struct{}

	lastSeen   atomic.Int64 // unix nanoseconds of the last frame from the client
	pingSentAt atomic.Int64
	// connectTimer runs the connect timeout; dropped once connected.
	connectTimer *time.Timer
}

// sub is one subscription of the connection.
type sub struct {
	ch          string
	opts        structure.ChannelOptions
	chanInfo    []byte
	joinLeave   bool
	recoverable bool
	serverSide  bool
	// proxied: granted by the subscribe proxy (expiry unsubscribes with 2501).
	proxied bool
	// removed: removeSub has run (beside the flags above: the struct stays
	// in a smaller size class).
	removed     atomic.Bool
	expireAt    int64
	expireTimer *time.Timer
	// epoch and offset are the stream position delivered so far (recoverable
	// subscriptions): the subscribe reply's, then each publication's.
	epoch  string
	offset uint64
	// live: s is c.subs.get(s.ch) (guarded by c.mu); deliveries to a sub that
	// is no longer live are dropped.
	live bool
	// subscribing buffers deliveries until the subscribe reply is queued.
	subscribing bool
	buffer      []buffered
}

type buffered struct {
	frame []byte
	pos   engine.StreamPosition
	kind  node.Kind
}

var _ node.Checked = (*Client)(nil)

// New creates the state machine for a new connection to project ("" = default).
// The caller feeds frames to HandleFrame and calls Closed when the transport ends.
func New(n *node.Node, t Transport, project string) (*Client, error) {
	p, err := n.Projects().Get(project)
	if err != nil {
		return nil, err
	}
	c := &Client{
		node:    n,
		t:       t,
		id:      uuid.NewString(),
		project: p,
	}
	if c.direct, _ = t.(DirectWriter); c.direct != nil {
		c.flusher = flusherFor(maphash.String(flusherSeed, c.id))
	}
	if r, ok := t.(HTTPRequest); ok {
		c.header = packHeader(r.RequestHeader())
	}
	c.lastSeen.Store(time.Now().UnixNano())
	if d := n.ClientConfig().ConnectTimeout.D(); d > 0 {
		c.mu.Lock()
		c.connectTimer = time.AfterFunc(d, func() {
			c.mu.Lock()
			stale := c.status == statusConnecting
			c.mu.Unlock()
			if stale {
				c.close(protocol.DisconnectStale, false)
			}
		})
		c.mu.Unlock()
	}
	return c, nil
}

// log returns the client's logger. It is made when needed (logging is rare)
// rather than kept: the attributes it carries cost each connection
// hundreds of bytes.
func (c *Client) log() *slog.Logger {
	return c.node.Log().With("client", c.id, "transport", c.t.Name(), "project", c.project.Name)
}

// ID is the client id.
func (c *Client) ID() string { return c.id }

// Project is the project name.
func (c *Client) Project() string { return c.project.Name }

// User is the authenticated user id ("" before connect or for anonymous).
func (c *Client) User() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// Done is closed when the client has finished writing and closed its transport.
func (c *Client) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.finished {
			close(c.done)
		}
	}
	return c.done
}

// Closed tells the client that the transport is gone (read error, peer closed).
func (c *Client) Closed() {
	c.close(protocol.DisconnectNormal, false)
}

// Disconnect closes the connection with d, after flushing what is queued.
func (c *Client) Disconnect(d protocol.Disconnect) {
	c.close(d, true)
}

func (c *Client) enqueue(frame []byte) {
	size, schedule, ok := c.q.push(frame)
	if !ok {
		return
	}
	if schedule {
		c.schedule()
	}
	if max := c.node.ClientConfig().MaxQueueSize; max > 0 && size > max {
		if c.slow.CompareAndSwap(false, true) {
			go c.close(protocol.DisconnectSlow, false)
		}
	}
}

func (c *Client) sendReply(r *protocol.Reply) {
	frame, err := protocol.Encode(r)
	if err != nil {
		c.log().Error("encode reply", "err", err)
		return
	}
	c.enqueue(frame)
}

// close ends the connection once: it removes subscriptions, presence and the
// connection from the hub, then closes the transport with d. With flush the
// frames already queued are written first.
func (c *Client) close(d protocol.Disconnect, flush bool) {
	c.closeOnce.Do(func() {
		c.node.CountDisconnect(d.Code)
		c.mu.Lock()
		wasConnected := c.status == statusConnected
		c.status = statusClosed
		c.closeD = d
		subs := c.subs.list()
		for _, s := range subs {
			s.live = false
		}
		c.subs = subSet{}
		if c.connectTimer != nil {
			c.connectTimer.Stop()
		}
		pings.cancel(c)
		expiries.cancel(c)
		ops := c.ops
		c.ops = nil
		c.mu.Unlock()
		for _, cancel := range ops {
			(*cancel)()
		}
		if !flush {
			// Close at once, even if a writer is blocked on a slow peer.
			_ = c.t.Close(d)
		}
		if c.q.close(!flush) {
			go c.finish() // no writer is active: nothing left to write
		}
		if d.Code != protocol.DisconnectNormal.Code {
			c.log().Debug("disconnect", "code", d.Code, "reason", d.Reason)
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		for _, s := range subs {
			c.removeSub(ctx, s)
		}
		if wasConnected {
			c.node.RemoveConn(c)
		}
	})
}

// opContext returns the context of one operation of the connection: it
// ends after opTimeout, when the node stops, or when the connection closes.
// The caller must call cancel.
func (c *Client) opContext() (context.Context, context.CancelFunc) {
	ctx, cancelCtx := context.WithTimeout(c.node.Background(), opTimeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == statusClosed {
		cancelCtx()
		return ctx, cancelCtx
	}
	p := &cancelCtx
	c.ops = append(c.ops, p)
	return ctx, func() {
		c.mu.Lock()
		for i, o := range c.ops {
			if o == p {
				c.ops = append(c.ops[:i], c.ops[i+1:]...)
				break
			}
		}
		if len(c.ops) == 0 {
			c.ops = nil
		}
		c.mu.Unlock()
		cancelCtx()
	}
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status == statusClosed
}

// HandleFrame processes one frame from the client. It returns false when the
// connection is closing and the transport should stop reading.
func (c *Client) HandleFrame(data []byte) bool {
	c.lastSeen.Store(time.Now().UnixNano())
	if max := c.node.ClientConfig().MaxFrameSize; max > 0 && len(data) > max {
		c.node.Stats().FrameTooLarge.Add(1)
		c.close(protocol.DisconnectBadRequest.WithReason("frame too large"), true)
		return false
	}
	cmds, err := protocol.DecodeFrame(data)
	if err != nil {
		c.log().Debug("malformed frame", "err", err)
		c.close(protocol.DisconnectBadRequest, true)
		return false
	}
	for _, cmd := range cmds {
		if !c.handleCommand(cmd) {
			return false
		}
	}
	return !c.isClosed()
}

func (c *Client) handleCommand(cmd *protocol.Command) bool {
	method, err := cmd.Method()
	if err != nil {
		c.close(protocol.DisconnectBadRequest, true)
		return false
	}
	if method == "" {
		if cmd.ID == 0 {
			return true // a pong
		}
		c.sendReply(&protocol.Reply{ID: cmd.ID, Error: protocol.ErrMethodNotFound})
		return true
	}
	if cmd.ID == 0 && method != "send" {
		c.close(protocol.DisconnectBadRequest, true)
		return false
	}
	if run, keep := c.allowCommand(cmd); !run {
		return keep
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	st := c.status
	c.mu.Unlock()
	switch {
	case st == statusClosed:
		return false
	case st == statusConnecting && method != "connect":
		c.close(protocol.DisconnectBadRequest, true)
		return false
	case st == statusConnected && method == "connect":
		c.close(protocol.DisconnectBadRequest, true)
		return false
	}
	ctx, cancel := c.opContext()
	defer cancel()
	defer c.node.CommandTimer(method).Since(time.Now())
	var (
		reply *protocol.Reply
		after func()
	)
	switch method {
	case "connect":
		reply, after, err = c.handleConnect(ctx, cmd.Connect)
	case "subscribe":
		reply, after, err = c.handleSubscribe(ctx, cmd.Subscribe)
	case "unsubscribe":
		reply, err = c.handleUnsubscribe(ctx, cmd.Unsubscribe)
	case "publish":
		reply, err = c.handlePublish(ctx, cmd.Publish)
	case "presence":
		reply, err = c.handlePresence(ctx, cmd.Presence)
	case "presence_stats":
		reply, err = c.handlePresenceStats(ctx, cmd.PresenceStats)
	case "history":
		reply, err = c.handleHistory(ctx, cmd.History)
	case "refresh":
		reply, err = c.handleRefresh(cmd.Refresh)
	case "sub_refresh":
		reply, err = c.handleSubRefresh(cmd.SubRefresh)
	case "rpc":
		reply, err = c.handleRPC(ctx, cmd.RPC)
	case "ping":
		reply = &protocol.Reply{Ping: &struct{}{}}
	case "send":
		if c.dataAllowed(cmd.Send.Data) != nil {
			c.log().Debug("send: data too large")
		}
		return true // no handler for asynchronous messages
	}
	if err != nil {
		var d protocol.Disconnect
		var pe *protocol.Error
		switch {
		case errors.Is(err, errClosed):
			return false // closed while waiting (for the web app, the engine)
		case errors.As(err, &d):
			c.close(d, true)
			return false
		case errors.As(err, &pe):
			c.sendReply(&protocol.Reply{ID: cmd.ID, Error: pe})
		default:
			c.log().Error("command failed", "method", method, "err", err)
			c.sendReply(&protocol.Reply{ID: cmd.ID, Error: protocol.ErrInternal})
		}
		return true
	}
	if reply != nil {
		reply.ID = cmd.ID
		if after != nil {
			// The reply must be queued before buffered publications: both under c.mu.
			frame, encErr := protocol.Encode(reply)
			if encErr != nil {
				c.log().Error("encode reply", "err", encErr)
				return true
			}
			c.mu.Lock()
			c.enqueue(frame)
			after()
			c.mu.Unlock()
		} else {
			c.sendReply(reply)
		}
	}
	return true
}

// RefreshPresence re-adds the connection's presence entries so they do not expire.
func (c *Client) RefreshPresence(ctx context.Context) {
	c.mu.Lock()
	var subs []*sub
	for s := range c.subs.all() {
		if s.opts.Presence && !s.subscribing {
			subs = append(subs, s)
		}
	}
	c.mu.Unlock()
	for _, s := range subs {
		if err := c.node.Engine().AddPresence(ctx, c.project.Name, s.ch, c.id, c.clientInfo(s), c.presenceTTL()); err != nil {
			c.log().Warn("refresh presence", "channel", s.ch, "err", err)
		}
	}
}

func (c *Client) presenceTTL() time.Duration {
	return c.node.ClientConfig().PresenceTTL.D()
}

func (c *Client) clientInfo(s *sub) *engine.ClientInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := &engine.ClientInfo{User: c.user, Client: c.id, ConnInfo: c.info}
	if s != nil {
		info.ChanInfo = s.chanInfo
	}
	return info
}

// ServerRefresh applies a server API refresh.
func (c *Client) ServerRefresh(opts node.RefreshOptions) {
	if opts.Expired {
		c.close(protocol.DisconnectExpired, true)
		return
	}
	c.mu.Lock()
	if c.status != statusConnected {
		c.mu.Unlock()
		return
	}
	if opts.Info != nil {
		c.info = append([]byte(nil), opts.Info...)
	}
	c.setExpireLocked(opts.ExpireAt)
	expires, ttl := expiry(opts.ExpireAt)
	if c.serverRefresh {
		expires, ttl = false, 0 // the server refreshes it, not the client
	}
	c.mu.Unlock()
	c.sendReply(&protocol.Reply{Push: &protocol.Push{Refresh: &protocol.Refresh{Expires: expires, TTL: ttl}}})
}

// expiry converts an expiry time to the wire's expires/ttl pair.
func expiry(expireAt int64) (bool, uint32) {
	return expiryAt(expireAt, time.Now())
}

// expiryAt is expiry at now. The ttl is the whole seconds left, rounded
// down: a client refreshes ttl seconds after the reply, and rounding up
// (expireAt minus the current second) told it to refresh up to a second
// after the token had expired, leaving only the grace delay for the round
// trip.
func expiryAt(expireAt int64, now time.Time) (bool, uint32) {
	if expireAt <= 0 {
		return false, 0
	}
	ttl := int64(time.Unix(expireAt, 0).Sub(now) / time.Second)
	if ttl < 1 {
		ttl = 1
	}
	return true, uint32(ttl)
}

// setExpireLocked (c.mu held) schedules disconnect 3005 a grace delay after expireAt.
func (c *Client) setExpireLocked(expireAt int64) {
	c.expireAt = expireAt
	if expireAt <= 0 || c.status == statusClosed {
		expiries.cancel(c)
		return
	}
	if c.serverRefresh {
		expiries.set(c, time.Until(time.Unix(expireAt, 0)), uint8(expiryRefresh))
		return
	}
	delay := time.Until(time.Unix(expireAt, 0)) + c.node.ClientConfig().ExpiredCloseDelay.D()
	expiries.set(c, delay, uint8(expiryCheck))
}

// expire runs the connection's expiry deadline (expiries).
func (c *Client) expire(kind expiryKind) {
	if kind == expiryRefresh {
		c.refreshByProxy()
		return
	}
	c.mu.Lock()
	exp := c.expireAt
	c.mu.Unlock()
	if exp > 0 && exp <= time.Now().Unix() {
		c.close(protocol.DisconnectExpired, true)
	}
}

func (c *Client) startPings() {
	interval := c.node.ClientConfig().PingInterval.D()
	if interval <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == statusClosed {
		return
	}
	pings.set(c, interval, uint8(pingSend))
}

// pingDeadline sends a ping, or checks the pong to the last one.
func (c *Client) pingDeadline(kind pingKind) {
	cfg := c.node.ClientConfig()
	c.mu.Lock()
	if c.status == statusClosed {
		c.mu.Unlock()
		return
	}
	switch kind {
	case pingSend:
		c.pingSentAt.Store(time.Now().UnixNano())
		c.enqueue(protocol.PingFrame)
		if pt := cfg.PongTimeout.D(); pt > 0 {
			pings.set(c, pt, uint8(pingCheck))
		} else {
			pings.set(c, cfg.PingInterval.D(), uint8(pingSend))
		}
	case pingCheck:
		if c.lastSeen.Load() < c.pingSentAt.Load() {
			c.mu.Unlock()
			c.close(protocol.DisconnectNoPong, false)
			return
		}
		// The next ping goes ping_interval after the last one.
		pings.set(c, max(0, cfg.PingInterval.D()-cfg.PongTimeout.D()), uint8(pingSend))
	}
	c.mu.Unlock()
}

// CheckDue reports whether the connection connected, or was last found
// active by the connection check, lifetime or longer ago.
func (c *Client) CheckDue(lifetime time.Duration, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status == statusConnected && time.Duration(now.UnixNano()-c.checkedAt) >= lifetime
}

// MarkChecked starts another connection lifetime at now.
func (c *Client) MarkChecked(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checkedAt = now.UnixNano()
}

// Tokens returns the connection tokens the connection used (fingerprint ->
// expiry), for bans of inactive users.
func (c *Client) Tokens() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.tokens))
	for _, t := range c.tokens {
		out[t.fingerprint] = t.expireAt
	}
	return out
}

// usedToken is a connection token the connection used.
type usedToken struct {
	fingerprint string
	expireAt    int64
}

// addToken records a token used (at most once each); c.mu held.
func (c *Client) addToken(token string, expireAt int64) {
	fp := node.TokenFingerprint(token)
	for i := range c.tokens {
		if c.tokens[i].fingerprint == fp {
			c.tokens[i].expireAt = expireAt
			return
		}
	}
	c.tokens = append(c.tokens, usedToken{fp, expireAt})
}

type (
	channelName    = channel.Name
	channelOptions = structure.ChannelOptions
)

// proj returns the connection's project as configured now, so live project
// edits apply to existing connections too; the project it connected with when
// that project was removed meanwhile.
func (c *Client) proj() *structure.Project {
	if p, err := c.node.Projects().Get(c.project.Name); err == nil {
		return p
	}
	return c.project
}

// resolveChannel parses ch and returns its options in the connection's project.
func (c *Client) resolveChannel(ch string) (channel.Name, structure.ChannelOptions, error) {
	return c.proj().ResolveChannel(ch, c.node.ClientConfig().MaxChannelLength)
}
