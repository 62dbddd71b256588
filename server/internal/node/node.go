package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/metrics"
	"github.com/centrifugehq/centrifuge/server/internal/parallel"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/proxy"
	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Config of a Node.
type Config struct {
	// Name is the node's human name (default: its id).
	Name    string
	Version string
	Client  config.Client
	// Metrics is the registry the node reports to (nil: a new one).
	Metrics *metrics.Registry
	// WaitWriters, if set, is called by the server API's publish and
	// broadcast before they publish: it returns once the node's writers are
	// not too far behind, and how long it waited (backpressure).
	// deliveries is how many local deliveries the caller is about to queue.
	WaitWriters func(ctx context.Context, deliveries int) time.Duration
}

// Node is one server process: its hub of local connections, the engine that
// joins it to other nodes, and the projects it serves.
type Node struct {
	id       string
	cfg      Config
	projects *structure.Registry
	engine   engine.Engine
	hub      *Hub
	tokens   *auth.Verifiers
	cluster  *cluster
	m        *nodeMetrics
	log      *slog.Logger
	started  time.Time
	proxy    *proxy.Client
	stats    Stats
	bans     bans
	checks   checks
	// store holds the projects; storeVersion is its version last applied,
	// reload asks storeLoop to reload (projects.go).
	store        store.Store
	storeVersion atomic.Uint64
	reload       chan struct{}
	reloadMu     sync.Mutex
	// bg is canceled at shutdown: background requests to the web app end.
	bg     context.Context
	stopBG context.CancelFunc

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

var _ engine.EventHandler = (*Node)(nil)

// New creates a node. Start must be called before it serves.
func New(cfg Config, projects *structure.Registry, eng engine.Engine, log *slog.Logger) (*Node, error) {
	if log == nil {
		log = slog.Default()
	}
	n := &Node{
		id:       uuid.NewString(),
		cfg:      cfg,
		projects: projects,
		engine:   eng,
		hub:      newHub(),
		tokens:   &auth.Verifiers{},
		cluster:  newCluster(),
		log:      log,
		started:  time.Now(),
		done:     make(chan struct{}),
		reload:   make(chan struct{}, 1),
		proxy:    proxy.New(proxy.Options{UserAgent: "centrifuge/" + cfg.Version}),
	}
	n.bg, n.stopBG = context.WithCancel(context.Background())
	if n.cfg.Name == "" {
		n.cfg.Name = n.id
	}
	n.registerMetrics(cfg.Metrics)
	return n, nil
}

// Start connects the node to its engine and starts its background loops.
func (n *Node) Start() error {
	if err := n.engine.Run(n); err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.loadProjects(ctx); err != nil {
		return err
	}
	n.wg.Add(4)
	go n.storeLoop()
	go n.presenceLoop()
	go n.heartbeatLoop()
	go n.connCheckLoop()
	return nil
}

// Shutdown disconnects every client with d (3001 shutdown, so they reconnect
// elsewhere), waits for their queued writes up to ctx, and closes the engine.
func (n *Node) Shutdown(ctx context.Context, d protocol.Disconnect) error {
	var err error
	n.closeOnce.Do(func() {
		close(n.done)
		n.stopBG()
		conns := n.hub.allConns()
		for _, c := range conns {
			c.Disconnect(d)
		}
		// Wait until each client has flushed its queue and its close frame.
		for _, c := range conns {
			if w, ok := c.(interface{ Done() <-chan struct{} }); ok {
				select {
				case <-w.Done():
				case <-ctx.Done():
				}
			}
		}
		n.wg.Wait()
		err = n.engine.Close(ctx)
	})
	return err
}

// ID is the node's unique id.
func (n *Node) ID() string { return n.id }

// Version of the server.
func (n *Node) Version() string { return n.cfg.Version }

// ClientConfig is the client section of the configuration.
func (n *Node) ClientConfig() config.Client { return n.cfg.Client }

// Projects is the registry of projects.
func (n *Node) Projects() *structure.Registry { return n.projects }

// Engine is the node's engine.
func (n *Node) Engine() engine.Engine { return n.engine }

// Log is the node's logger.
func (n *Node) Log() *slog.Logger { return n.log }

// Verifier returns the token verifier of project p.
func (n *Node) Verifier(p *structure.Project) (*auth.Verifier, error) { return n.tokens.Get(p) }

// Proxy is the client of the web app's proxies and connection check.
func (n *Node) Proxy() *proxy.Client { return n.proxy }

// Background is canceled when the node shuts down.
func (n *Node) Background() context.Context { return n.bg }

// AddConn registers an authenticated connection.
func (n *Node) AddConn(c Conn) { n.hub.addConn(c, 0) }

// AddConnLimited registers an authenticated connection unless its user (not
// anonymous) has max connections on this node already (max 0: no limit).
func (n *Node) AddConnLimited(c Conn, max int) bool {
	if !n.hub.addConn(c, max) {
		n.stats.ConnectionLimit.Add(1)
		return false
	}
	return true
}

// RemoveConn unregisters a connection (its subscriptions are removed with RemoveSub).
func (n *Node) RemoveConn(c Conn) { n.hub.removeConn(c) }

// AddSub adds c to the channel's local subscribers, subscribing the node in the
// broker when it is the first.
func (n *Node) AddSub(project, ch string, c Conn) error {
	return n.hub.addSub(project, ch, c, func() error {
		return n.engine.Subscribe(project, ch)
	})
}

// RemoveSub removes c from the channel's local subscribers, unsubscribing the
// node in the broker when it was the last.
func (n *Node) RemoveSub(project, ch string, c Conn) {
	n.hub.removeSub(project, ch, c, func() {
		if err := n.engine.Unsubscribe(project, ch); err != nil {
			n.log.Error("broker unsubscribe", "project", project, "channel", ch, "err", err)
		}
	})
}

func (n *Node) project(name string) (*structure.Project, error) {
	p, err := n.projects.Get(name)
	if err != nil {
		return nil, protocol.ErrUnknownChannel.WithMessage(err.Error())
	}
	return p, nil
}

// Publish publishes data into channel of project (the server API: counted in
// api.publications).
func (n *Node) Publish(ctx context.Context, project, ch string, data []byte, opts PublishOptions) (engine.StreamPosition, error) {
	c, err := n.channel(project, ch)
	if err != nil {
		return engine.StreamPosition{}, err
	}
	n.waitWriters(ctx, project, ch)
	sp, err := c.Publish(ctx, data, opts)
	if err != nil {
		return engine.StreamPosition{}, err
	}
	n.countPublished(c.Project.Name)
	return sp, nil
}

// waitWriters holds a server API publication back while the node's writers
// are too far behind (Config.WaitWriters).
func (n *Node) waitWriters(ctx context.Context, project string, channels ...string) {
	if n.cfg.WaitWriters == nil {
		return
	}
	deliveries := 0
	for _, ch := range channels {
		deliveries += n.hub.numSubscribers(project, ch)
	}
	if d := n.cfg.WaitWriters(ctx, deliveries); d > 0 {
		n.m.publishWaits.Observe(d)
	}
}

// broadcastConcurrency bounds the concurrent publishes of one Broadcast that
// the engine cannot publish together: with the Redis engine each waits for a
// round trip, and concurrent ones share a pipeline.
const broadcastConcurrency = 1024

// Broadcast publishes data into each channel of project. Channels without
// history go to the engine together when it is an engine.ManyPublisher (one
// pipeline for many channels with Redis); the others are published one by
// one, concurrently.
func (n *Node) Broadcast(ctx context.Context, project string, channels []string, data []byte, opts PublishOptions) []PublishResult {
	results := make([]PublishResult, len(channels))
	p, err := n.project(project)
	if err != nil {
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	n.waitWriters(ctx, project, channels...)
	mp, _ := n.engine.(engine.ManyPublisher)
	var many, each []int
	resolved := make([]Channel, len(channels))
	for i, ch := range channels {
		_, chOpts, err := p.ResolveChannel(ch, n.cfg.Client.MaxChannelLength)
		if err != nil {
			results[i].Err = err
			continue
		}
		resolved[i] = n.Channel(p, ch, chOpts)
		if mp != nil && opts.IdempotencyKey == "" && (opts.SkipHistory || !chOpts.HistoryEnabled()) {
			many = append(many, i)
			continue
		}
		each = append(each, i)
	}
	if len(many) > 0 {
		names := make([]string, len(many))
		for k, i := range many {
			names[k] = channels[i]
		}
		for k, err := range mp.PublishMany(ctx, p.Name, names, data, engine.PublishOptions{Tags: opts.Tags}) {
			if err != nil {
				results[many[k]].Err = fmt.Errorf("publish: %w", err)
				continue
			}
			n.countPublished(p.Name)
		}
	}
	parallel.ForEach(len(each), broadcastConcurrency, func(k int) {
		i := each[k]
		results[i].Position, results[i].Err = resolved[i].Publish(ctx, data, opts)
		if results[i].Err == nil {
			n.countPublished(p.Name)
		}
	})
	return results
}

// control is a message between nodes (through the engine's control channel).
type control struct {
	Op      string `json:"op"`
	Project string `json:"project"`
	User    string `json:"user,omitempty"`
	Client  string `json:"client,omitempty"`
	Channel string `json:"channel,omitempty"`
	Code    uint32 `json:"code,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// refresh
	Expired  bool            `json:"expired,omitempty"`
	ExpireAt int64           `json:"expire_at,omitempty"`
	Info     json.RawMessage `json:"info,omitempty"`
	// node announcements and surveys
	ID     string          `json:"id,omitempty"`
	Origin string          `json:"origin,omitempty"`
	Node   string          `json:"node,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
	// subscribe's options (Data and Info above carry its data and info)
	RecoverSince *engine.StreamPosition `json:"recover_since,omitempty"`
	Override     *ChannelOverride       `json:"override,omitempty"`
	// disconnect: client ids to keep
	Whitelist []string `json:"whitelist,omitempty"`
}

func (n *Node) sendControl(ctx context.Context, c control) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := n.engine.PublishControl(ctx, data); err != nil {
		return fmt.Errorf("control %s: %w", c.Op, err)
	}
	return nil
}

func (n *Node) checkUserTarget(project, user, client string) (*structure.Project, error) {
	p, err := n.project(project)
	if err != nil {
		return nil, err
	}
	if user == "" && client == "" {
		return nil, protocol.ErrBadRequest.WithMessage("user or client required")
	}
	return p, nil
}

// Subscribe subscribes user's connections (or one client) to channel on every node.
func (n *Node) Subscribe(ctx context.Context, project, user, ch string, opts SubscribeOptions) error {
	p, err := n.checkUserTarget(project, user, opts.Client)
	if err != nil {
		return err
	}
	_, chOpts, err := p.ResolveChannel(ch, n.cfg.Client.MaxChannelLength)
	if err != nil {
		return err
	}
	chOpts = OverrideOptions(chOpts, opts.Override)
	if !chOpts.HistoryEnabled() {
		if opts.RecoverSince != nil || isTrue(opts.Override.ForcePositioning) || isTrue(opts.Override.ForceRecovery) {
			return protocol.ErrBadRequest.WithMessage("recover_since, positioning and recovery need the channel's history, which it does not keep")
		}
	}
	c := control{Op: "subscribe", Project: p.Name, User: user, Client: opts.Client, Channel: ch,
		Data: opts.Data, Info: opts.Info, RecoverSince: opts.RecoverSince}
	if opts.Override != (ChannelOverride{}) {
		c.Override = &opts.Override
	}
	return n.sendControl(ctx, c)
}

func isTrue(b *bool) bool { return b != nil && *b }

// OverrideOptions returns opts with o's values in place of the channel's.
func OverrideOptions(opts structure.ChannelOptions, o ChannelOverride) structure.ChannelOptions {
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&opts.Presence, o.Presence)
	set(&opts.JoinLeave, o.JoinLeave)
	set(&opts.ForcePushJoinLeave, o.ForcePushJoinLeave)
	set(&opts.ForceRecovery, o.ForceRecovery)
	return opts
}

// Unsubscribe unsubscribes user's connections (or one client) from channel on every node.
func (n *Node) Unsubscribe(ctx context.Context, project, user, ch, client string) error {
	p, err := n.checkUserTarget(project, user, client)
	if err != nil {
		return err
	}
	if _, _, err := p.ResolveChannel(ch, n.cfg.Client.MaxChannelLength); err != nil {
		return err
	}
	return n.sendControl(ctx, control{Op: "unsubscribe", Project: p.Name, User: user, Client: client, Channel: ch})
}

// Disconnect closes user's connections (or one client) on every node.
func (n *Node) Disconnect(ctx context.Context, project, user, client string, d protocol.Disconnect, whitelist []string) error {
	p, err := n.checkUserTarget(project, user, client)
	if err != nil {
		return err
	}
	if d.Code == 0 {
		d = protocol.DisconnectForceNoReconnect
	}
	if d.Code < 3000 || d.Code > 4999 {
		return protocol.ErrBadRequest.WithMessage("disconnect code must be within 3000-4999")
	}
	if len(d.Reason) > 100 {
		return protocol.ErrBadRequest.WithMessage("disconnect reason longer than 100 bytes")
	}
	return n.sendControl(ctx, control{Op: "disconnect", Project: p.Name, User: user, Client: client, Code: d.Code, Reason: d.Reason, Whitelist: whitelist})
}

// Refresh changes the expiry (or info) of user's connections on every node.
func (n *Node) Refresh(ctx context.Context, project, user, client string, opts RefreshOptions) error {
	p, err := n.checkUserTarget(project, user, client)
	if err != nil {
		return err
	}
	if opts.Info != nil && !json.Valid(opts.Info) {
		return protocol.ErrBadRequest.WithMessage("info must be JSON")
	}
	return n.sendControl(ctx, control{Op: "refresh", Project: p.Name, User: user, Client: client,
		Expired: opts.Expired, ExpireAt: opts.ExpireAt, Info: opts.Info})
}

// HandleControl applies a control message from any node to local connections.
func (n *Node) HandleControl(data []byte) {
	var c control
	if err := json.Unmarshal(data, &c); err != nil {
		n.log.Error("bad control message", "err", err)
		return
	}
	if n.handleClusterControl(c) {
		return
	}
	switch c.Op {
	case "inactive", "ban":
		n.applyInactive(c, true)
		return
	}
	if c.Op == "projects" {
		n.requestReload()
		return
	}
	for _, conn := range n.hub.userConns(c.Project, c.User, c.Client) {
		switch c.Op {
		case "subscribe":
			ss := ServerSubscription{Data: c.Data, Info: c.Info, RecoverSince: c.RecoverSince}
			if c.Override != nil {
				ss.Override = *c.Override
			}
			conn.ServerSubscribe(c.Channel, ss)
		case "unsubscribe":
			conn.ServerUnsubscribe(c.Channel, protocol.UnsubscribeCodeServer, "server unsubscribe")
		case "disconnect":
			if slices.Contains(c.Whitelist, conn.ID()) {
				continue
			}
			conn.Disconnect(protocol.Disconnect{Code: c.Code, Reason: c.Reason})
		case "refresh":
			conn.ServerRefresh(RefreshOptions{Expired: c.Expired, ExpireAt: c.ExpireAt, Info: c.Info})
		default:
			n.log.Warn("unknown control op", "op", c.Op)
		}
	}
}

// Presence returns the channel's presence on all nodes.
func (n *Node) Presence(ctx context.Context, project, ch string) (map[string]*engine.ClientInfo, error) {
	c, err := n.channel(project, ch)
	if err != nil {
		return nil, err
	}
	return c.Presence(ctx)
}

// PresenceStats returns the channel's presence counts on all nodes.
func (n *Node) PresenceStats(ctx context.Context, project, ch string) (engine.PresenceStats, error) {
	c, err := n.channel(project, ch)
	if err != nil {
		return engine.PresenceStats{}, err
	}
	return c.PresenceStats(ctx)
}

// History returns the channel's history; limits are capped at HistoryMaxLimit.
func (n *Node) History(ctx context.Context, project, ch string, opts engine.HistoryOptions) (engine.HistoryResult, error) {
	c, err := n.channel(project, ch)
	if err != nil {
		return engine.HistoryResult{}, err
	}
	return c.History(ctx, opts)
}

// HistoryRemove drops the channel's publications.
func (n *Node) HistoryRemove(ctx context.Context, project, ch string) error {
	c, err := n.channel(project, ch)
	if err != nil {
		return err
	}
	return c.HistoryRemove(ctx)
}

// Channels lists active channels of project on every node matching pattern,
// with their subscriber counts summed over nodes.
func (n *Node) Channels(ctx context.Context, project, pattern string) (map[string]int, error) {
	p, err := n.project(project)
	if err != nil {
		return nil, err
	}
	if pattern != "" {
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, protocol.ErrBadRequest.WithMessage("bad pattern: " + err.Error())
		}
	}
	replies, err := n.survey(ctx, "survey_channels", p.Name)
	if err != nil {
		return nil, fmt.Errorf("channels survey: %w", err)
	}
	all := map[string]int{}
	for _, r := range replies {
		var m map[string]int
		if err := json.Unmarshal(r, &m); err != nil {
			return nil, fmt.Errorf("channels survey: %w", err)
		}
		for ch, num := range m {
			all[ch] += num
		}
	}
	if pattern == "" {
		return all, nil
	}
	out := make(map[string]int, len(all))
	for ch, num := range all {
		if ok, _ := path.Match(pattern, ch); ok {
			out[ch] = num
		}
	}
	return out, nil
}

// Info describes the live nodes (with the Memory engine: this one).
func (n *Node) Info(ctx context.Context) ([]NodeInfo, error) {
	return n.liveNodes(), nil
}

func (n *Node) localInfo() NodeInfo {
	clients, users, subs, channels := n.hub.counts()
	return NodeInfo{
		UID: n.id, Name: n.cfg.Name, Version: n.cfg.Version,
		NumClients: clients, NumUsers: users, NumSubs: subs, NumChannels: channels,
		Uptime: time.Since(n.started), Metrics: n.m.reg.Snapshot(), MetricsInterval: heartbeatInterval,
	}
}

// HandlePublication fans a publication out to local subscribers, encoded once.
func (n *Node) HandlePublication(project, ch string, pub *engine.Publication, sp engine.StreamPosition) {
	start := time.Now()
	num, err := n.hub.broadcast(project, ch, sp, KindPublication, func() ([]byte, error) {
		return protocol.AppendPublicationPush(nil, ch, ProtoPublication(pub))
	})
	n.observeBroadcast(start, num)
	if err != nil {
		n.log.Error("encode publication", "channel", ch, "err", err)
	}
}

// HandleJoin fans a join out to local subscribers.
func (n *Node) HandleJoin(project, ch string, info *engine.ClientInfo) {
	_, err := n.hub.broadcast(project, ch, engine.StreamPosition{}, KindJoin, func() ([]byte, error) {
		return protocol.EncodePush(&protocol.Push{Channel: ch, Join: &protocol.Join{Info: *ProtoClientInfo(info)}})
	})
	if err != nil {
		n.log.Error("encode join", "channel", ch, "err", err)
	}
}

// HandleLeave fans a leave out to local subscribers.
func (n *Node) HandleLeave(project, ch string, info *engine.ClientInfo) {
	_, err := n.hub.broadcast(project, ch, engine.StreamPosition{}, KindLeave, func() ([]byte, error) {
		return protocol.EncodePush(&protocol.Push{Channel: ch, Leave: &protocol.Leave{Info: *ProtoClientInfo(info)}})
	})
	if err != nil {
		n.log.Error("encode leave", "channel", ch, "err", err)
	}
}

// HandleLost makes every recoverable subscription on this node recover.
func (n *Node) HandleLost() {
	conns := n.hub.allConns()
	n.log.Warn("broker deliveries may have been lost: recoverable subscriptions resubscribe", "connections", len(conns))
	for _, c := range conns {
		c.InsufficientState()
	}
}

// PresenceRefresher is implemented by connections that keep presence entries.
type PresenceRefresher interface {
	RefreshPresence(ctx context.Context)
}

func (n *Node) presenceLoop() {
	defer n.wg.Done()
	interval := n.cfg.Client.PresenceUpdateInterval.D()
	if interval <= 0 {
		interval = 25 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			for _, c := range n.hub.allConns() {
				if r, ok := c.(PresenceRefresher); ok {
					r.RefreshPresence(ctx)
				}
			}
			cancel()
		}
	}
}

// ProtoClientInfo converts an engine ClientInfo to the wire type.
func ProtoClientInfo(i *engine.ClientInfo) *protocol.ClientInfo {
	if i == nil {
		return nil
	}
	return &protocol.ClientInfo{User: i.User, Client: i.Client, ConnInfo: i.ConnInfo, ChanInfo: i.ChanInfo}
}

// ProtoPublication converts an engine Publication to the wire type.
func ProtoPublication(p *engine.Publication) *protocol.Publication {
	pub := &protocol.Publication{Data: p.Data, Info: ProtoClientInfo(p.Info), Offset: p.Offset, Tags: p.Tags}
	if raw, binary := engine.SplitBinary(p.Data); binary {
		// Binary data (published with b64data) cannot be embedded in JSON.
		pub.Data, pub.B64Data = nil, base64.StdEncoding.EncodeToString(raw)
	}
	return pub
}
