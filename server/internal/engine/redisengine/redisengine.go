// Package redisengine is the engine of many nodes: PUB/SUB between nodes,
// history streams and presence kept in Redis. It implements engine.Engine and
// passes enginetest.Run.
//
// Deployments: one Redis server; several servers with channels sharded across
// them on the client side (every node must list the same URLs in the same
// order); Redis Sentinel (each URL names the sentinels of one shard); or Redis
// Cluster, where each channel's keys share a hash tag and PUB/SUB is sharded
// (SSUBSCRIBE/SPUBLISH), so a channel lives entirely on one master.
//
// A broadcast (PublishMany) to many channels of one shard is one message in
// the shard's broadcast PUB/SUB channel, which every node subscribes to and
// filters by the channels it has, rather than a PUBLISH per channel (in a
// cluster: an SPUBLISH per channel).
//
// A publication with history is one Lua script per channel: offset increment,
// stream append (trimmed exactly to the history size) and PUBLISH happen
// atomically, so the offsets delivered to nodes are the offsets in history.
// When a node's PUB/SUB connection breaks, the engine reconnects and
// resubscribes by itself and then calls EventHandler.HandleLost, since
// publications may have been missed meanwhile. Commands fail with an error
// wrapping engine.ErrUnavailable while Redis cannot be reached; they are not
// retried, so a publication is never applied twice.
package redisengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/centrifugehq/centrifuge/server/internal/metrics"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

// Defaults used for zero Config fields.
const (
	DefaultPrefix              = "centrifuge"
	DefaultPresenceTTL         = 60 * time.Second
	DefaultHistoryMetaTTL      = 30 * 24 * time.Hour
	DefaultIdempotentResultTTL = 5 * time.Minute
	DefaultTimeout             = time.Second
)

// workerQueue is the capacity of each delivery worker's queue. A full queue
// makes the PUB/SUB reader wait, and Redis buffers meanwhile.
const workerQueue = 1024

// Config of an Engine. Zero values mean the defaults above.
type Config struct {
	// URLs of Redis, as redis.ParseURL reads them
	// (redis://[user:password@]host:port[/db], rediss:// for TLS). One URL is
	// one Redis; several shard channels across them by consistent hashing of
	// the channel, with control messages on the first. Every node must list
	// the same URLs in the same order. Default: redis://127.0.0.1:6379.
	URLs []string
	// Cluster makes URLs[0] (the only URL allowed) list the nodes of a Redis
	// Cluster, as redis.ParseClusterURL reads them:
	// redis://host:port?addr=host2:port2&addr=host3:port3.
	Cluster bool
	// SentinelMasterName makes each URL list the sentinels of one shard
	// (redis://[user:password@]host:port?addr=host2:port2, the password being
	// the master's) and names the master they monitor.
	SentinelMasterName string
	// Prefix starts every key and PUB/SUB channel, so deployments with
	// different prefixes share a Redis without seeing each other.
	Prefix string
	// PresenceTTL is the expiry of a presence entry added with expire <= 0.
	PresenceTTL time.Duration
	// HistoryMetaTTL is how long a stream's offset and epoch outlive its last
	// publication when neither PublishOptions.HistoryMetaTTL nor
	// HistoryOptions.MetaTTL sets it.
	HistoryMetaTTL time.Duration
	// IdempotentResultTTL is how long the result of a publication with an
	// idempotency key is remembered when PublishOptions does not set it.
	IdempotentResultTTL time.Duration
	// Timeout bounds connecting to Redis, each read and write of a command,
	// and the wait for a subscription to be confirmed. The PUB/SUB connection
	// is pinged when it was idle for Timeout and reconnected when nothing came
	// for three times as long.
	Timeout time.Duration
	// Workers is the number of goroutines that hand received messages to the
	// EventHandler. Messages of one channel always go through the same worker,
	// in order. The default is GOMAXPROCS: handing a message over costs no
	// goroutine switch while the worker is busy, and fanning out does not
	// block (it queues frames), so more workers than processors only add
	// switches.
	Workers int
	// Logger receives connection losses and undecodable messages; nil means
	// slog.Default().
	Logger *slog.Logger
	// Metrics, when set, receives Redis command latency and errors.
	Metrics *metrics.Registry
}

// Engine is the Redis engine.Engine. Create it with New; it is safe for
// concurrent use.
type Engine struct {
	cfg       Config
	prefix    string // escaped Config.Prefix
	clustered bool
	control   string // control PUB/SUB channel
	// broadcast is each shard's PUB/SUB channel of broadcasts ('m'
	// messages); empty in a cluster, where a channel's messages travel on
	// the connection of its slot's master and a shared channel could
	// overtake them.
	broadcast string
	// origin tags the publications this engine sends without history.
	origin string
	log    *slog.Logger
	shards []*shard

	handler atomic.Pointer[handlerRef]
	closed  atomic.Bool
	stop    chan struct{}
	// ctx is canceled by Close; background work derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	// closeMu orders starting goroutines against Close waiting for them.
	closeMu sync.Mutex
	wg      sync.WaitGroup
	workers []chan delivery
}

var _ engine.Engine = (*Engine)(nil)

var errClosed = fmt.Errorf("redisengine: %w", engine.ErrClosed)

// handlerRef boxes the interface so it can live in an atomic.Pointer.
type handlerRef struct{ h engine.EventHandler }

// shard is one Redis deployment holding a part of the channels: a server, a
// sentinel-monitored master, or a whole cluster.
type shard struct {
	client redis.UniversalClient
	subs   *subscriber
	pub    *batcher
}

// New creates an engine from cfg. It does not connect: Run does.
func New(cfg Config) (*Engine, error) {
	if cfg.PresenceTTL < 0 || cfg.HistoryMetaTTL < 0 || cfg.IdempotentResultTTL < 0 || cfg.Timeout < 0 || cfg.Workers < 0 {
		return nil, errors.New("redisengine: negative value in config")
	}
	if len(cfg.URLs) == 0 {
		cfg.URLs = []string{"redis://127.0.0.1:6379"}
	}
	if cfg.Cluster && len(cfg.URLs) > 1 {
		return nil, errors.New("redisengine: Cluster takes one URL listing the cluster's nodes")
	}
	if cfg.Cluster && cfg.SentinelMasterName != "" {
		return nil, errors.New("redisengine: Cluster and SentinelMasterName exclude each other")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.PresenceTTL == 0 {
		cfg.PresenceTTL = DefaultPresenceTTL
	}
	if cfg.HistoryMetaTTL == 0 {
		cfg.HistoryMetaTTL = DefaultHistoryMetaTTL
	}
	if cfg.IdempotentResultTTL == 0 {
		cfg.IdempotentResultTTL = DefaultIdempotentResultTTL
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{
		cfg:       cfg,
		prefix:    escape(cfg.Prefix),
		clustered: cfg.Cluster,
		log:       log,
		stop:      make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.control = controlChannel(e.prefix, e.clustered)
	if !e.clustered {
		e.broadcast = broadcastChannel(e.prefix)
	}
	e.origin = newEpoch() // 16 random hex digits (originLen)

	for i, u := range cfg.URLs {
		client, nodeOpts, err := e.newClient(u)
		if err != nil {
			for _, sh := range e.shards {
				_ = sh.client.Close()
			}
			e.cancel()
			return nil, fmt.Errorf("redisengine: URL %d: %w", i, err)
		}
		if e.cfg.Metrics != nil {
			client.AddHook(newMetricsHook(e.cfg.Metrics))
		}
		sh := &shard{client: client, pub: newBatcher(e, client)}
		sh.subs = newSubscriber(e, client, nodeOpts)
		e.shards = append(e.shards, sh)
		e.wg.Go(sh.pub.run)
	}
	return e, nil
}

// newClient creates the command client of one URL and, in cluster mode, the
// options from which clients of single nodes are made for PUB/SUB.
func (e *Engine) newClient(rawURL string) (redis.UniversalClient, *redis.Options, error) {
	t := e.cfg.Timeout
	switch {
	case e.cfg.Cluster:
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, nil, err
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = t, t, t, t
		o.ContextTimeoutEnabled = true
		o.MaxRetries = -1
		o.DialerRetries = 1
		node := &redis.Options{
			Username:              o.Username,
			Password:              o.Password,
			TLSConfig:             o.TLSConfig,
			Protocol:              o.Protocol,
			DialTimeout:           t,
			ReadTimeout:           t,
			WriteTimeout:          t,
			PoolTimeout:           t,
			ContextTimeoutEnabled: true,
			MaxRetries:            -1,
			DialerRetries:         1,
		}
		return redis.NewClusterClient(o), node, nil
	case e.cfg.SentinelMasterName != "":
		o, err := redis.ParseClusterURL(rawURL) // for its addr= parameters
		if err != nil {
			return nil, nil, err
		}
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:            e.cfg.SentinelMasterName,
			SentinelAddrs:         o.Addrs,
			Username:              o.Username,
			Password:              o.Password,
			TLSConfig:             o.TLSConfig,
			DialTimeout:           t,
			ReadTimeout:           t,
			WriteTimeout:          t,
			PoolTimeout:           t,
			ContextTimeoutEnabled: true,
			MaxRetries:            -1,
			DialerRetries:         1,
		}), nil, nil
	default:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, nil, err
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = t, t, t, t
		o.ContextTimeoutEnabled = true
		o.MaxRetries = -1
		o.DialerRetries = 1
		return redis.NewClient(o), nil, nil
	}
}

// Name is "redis".
func (e *Engine) Name() string { return "redis" }

// Run sets the handler, starts the delivery workers and the PUB/SUB
// connections, and waits up to Config.Timeout for them to connect. A Redis
// that cannot be reached is not an error: the engine keeps trying, and calls
// HandleLost once connected if subscriptions were made meanwhile. Run may be
// called once.
func (e *Engine) Run(h engine.EventHandler) error {
	if h == nil {
		return errors.New("redisengine: nil event handler")
	}
	e.closeMu.Lock()
	if e.closed.Load() {
		e.closeMu.Unlock()
		return errClosed
	}
	if !e.handler.CompareAndSwap(nil, &handlerRef{h: h}) {
		e.closeMu.Unlock()
		return errors.New("redisengine: Run called twice")
	}
	e.workers = make([]chan delivery, e.cfg.Workers)
	for i := range e.workers {
		q := make(chan delivery, workerQueue)
		e.workers[i] = q
		e.wg.Go(func() { e.work(uint32(i), q) })
	}
	// Control messages come through the first shard, broadcasts through
	// the shard of their channels.
	e.shards[0].subs.want(e.control)
	if e.broadcast != "" {
		for _, sh := range e.shards {
			sh.subs.want(e.broadcast)
		}
	}
	for _, sh := range e.shards {
		e.wg.Go(sh.subs.run)
	}
	e.closeMu.Unlock()

	timer := time.NewTimer(e.cfg.Timeout)
	defer timer.Stop()
	for _, sh := range e.shards {
		select {
		case <-sh.subs.ready:
		case <-timer.C:
			return nil
		}
	}
	return nil
}

// Close stops delivery, closes the connections and waits (up to ctx) for the
// engine's goroutines. Afterwards every method returns an error wrapping
// engine.ErrClosed. A second Close returns nil.
func (e *Engine) Close(ctx context.Context) error {
	e.closeMu.Lock()
	if !e.closed.CompareAndSwap(false, true) {
		e.closeMu.Unlock()
		return nil
	}
	close(e.stop)
	e.cancel()
	for _, sh := range e.shards {
		sh.subs.close()
	}
	e.closeMu.Unlock()

	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	for _, sh := range e.shards {
		_ = sh.client.Close()
		sh.subs.closeClients()
	}
	return err
}

// goroutine starts f unless the engine is closed, so Close can wait for it.
func (e *Engine) goroutine(f func()) bool {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	if e.closed.Load() {
		return false
	}
	e.wg.Go(f)
	return true
}

// Subscribe makes this node receive the channel's publications, join and
// leave. It waits up to Config.Timeout for Redis to confirm the subscription.
// It does not fail when Redis cannot be reached: the subscription is then
// made as soon as the connection is back, and HandleLost is called.
func (e *Engine) Subscribe(project, channel string) error {
	if err := e.checkRunning(); err != nil {
		return err
	}
	e.shardFor(project, channel).subs.subscribe(e.names(project, channel).pubsub)
	return nil
}

// Unsubscribe stops delivery of the channel's events: none is delivered
// after Unsubscribe returns.
func (e *Engine) Unsubscribe(project, channel string) error {
	if err := e.checkRunning(); err != nil {
		return err
	}
	e.shardFor(project, channel).subs.unsubscribe(e.names(project, channel).pubsub)
	return nil
}

// Publish appends data to the channel's history when opts.HistorySize and
// opts.HistoryTTL are both positive (keeping exactly the last HistorySize
// publications, each for HistoryTTL) and publishes it to every subscribed
// node, in one atomic script. Delivery, this node's included, is
// asynchronous.
func (e *Engine) Publish(ctx context.Context, project, channel string, data []byte, opts engine.PublishOptions) (engine.StreamPosition, bool, error) {
	if err := e.check(ctx); err != nil {
		return engine.StreamPosition{}, false, err
	}
	withHistory := opts.HistorySize > 0 && opts.HistoryTTL > 0
	sh := e.shardFor(project, channel)
	if !withHistory && opts.IdempotencyKey == "" {
		// The hot path: one buffer, and only the PUB/SUB channel's name.
		ps := e.pubsubChannel(project, channel)
		if err := e.publishRaw(ctx, sh, ps, e.localPubMessage(project, channel, data, opts)); err != nil {
			return engine.StreamPosition{}, false, e.wrap(ctx, "publish", err)
		}
		// This node's subscribers get it now, not after a trip through
		// Redis: the copy Redis sends back is skipped (see ownMessage).
		// Without history there is no offset whose order this could break.
		if ref := e.handler.Load(); ref != nil && sh.subs.wanted(ps) {
			ref.h.HandlePublication(project, channel, &engine.Publication{Data: data, Info: opts.ClientInfo, Tags: opts.Tags}, engine.StreamPosition{})
		}
		return engine.StreamPosition{}, false, nil
	}
	n := e.names(project, channel)
	header := appendHeader(nil, project, channel)
	pub := appendPub(nil, data, opts.ClientInfo, opts.Tags)

	size, ttl, resultTTL := 0, int64(0), int64(0)
	if withHistory {
		size, ttl = opts.HistorySize, ms(opts.HistoryTTL)
	}
	resultKey := n.result("")
	if opts.IdempotencyKey != "" {
		resultKey = n.result(opts.IdempotencyKey)
		resultTTL = ms(opts.IdempotentResultTTL)
		if opts.IdempotentResultTTL <= 0 {
			resultTTL = ms(e.cfg.IdempotentResultTTL)
		}
	}
	res, err := publishScript.Run(ctx, sh.client,
		[]string{n.stream, n.meta, resultKey},
		header, pub, size, ttl, ms(e.metaTTL(opts.HistoryMetaTTL)), newEpoch(),
		n.pubsub, e.publishCommand(), resultTTL,
	).Slice()
	if err != nil {
		return engine.StreamPosition{}, false, e.wrap(ctx, "publish", err)
	}
	if len(res) != 2 {
		return engine.StreamPosition{}, false, fmt.Errorf("redisengine: publish: unexpected reply %v", res)
	}
	suppressed, _ := res[0].(int64)
	posStr, _ := res[1].(string)
	sp, err := parsePosition(posStr)
	if err != nil {
		return engine.StreamPosition{}, false, fmt.Errorf("redisengine: publish: reply %q: %w", posStr, err)
	}
	return sp, suppressed == 1, nil
}

// localPubMessage encodes a publication without history as a 'q' message
// tagged with this engine's origin.
func (e *Engine) localPubMessage(project, channel string, data []byte, opts engine.PublishOptions) []byte {
	msg := make([]byte, 0, 32+len(project)+len(channel)+len(data))
	msg = append(msg, kindLocalPub)
	msg = append(msg, e.origin...)
	return appendPub(appendHeader(msg, project, channel), data, opts.ClientInfo, opts.Tags)
}

// PublishJoin publishes a join to the nodes subscribed to the channel.
func (e *Engine) PublishJoin(ctx context.Context, project, channel string, info *engine.ClientInfo) error {
	return e.publishInfo(ctx, kindJoin, project, channel, info)
}

// PublishLeave publishes a leave to the nodes subscribed to the channel.
func (e *Engine) PublishLeave(ctx context.Context, project, channel string, info *engine.ClientInfo) error {
	return e.publishInfo(ctx, kindLeave, project, channel, info)
}

func (e *Engine) publishInfo(ctx context.Context, kind byte, project, channel string, info *engine.ClientInfo) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	msg := appendInfo(appendHeader([]byte{kind}, project, channel), info)
	sh := e.shardFor(project, channel)
	return e.wrap(ctx, "publish", e.publishRaw(ctx, sh, e.names(project, channel).pubsub, msg))
}

// PublishControl publishes data to every node's HandleControl, this node's
// included.
func (e *Engine) PublishControl(ctx context.Context, data []byte) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	return e.wrap(ctx, "publish control", e.publishRaw(ctx, e.shards[0], e.control, data))
}

func (e *Engine) publishRaw(ctx context.Context, sh *shard, ch string, msg []byte) error {
	return sh.pub.publish(ctx, ch, msg)
}

func (e *Engine) publishCommand() string {
	if e.clustered {
		return "SPUBLISH"
	}
	return "PUBLISH"
}

// History returns publications of the channel per opts and the stream's
// current position, with the semantics of engine.HistoryOptions: Since
// selects offsets above Since.Offset (with Reverse: below it, newest first);
// a Since.Epoch other than the stream's returns no publications; Limit 0
// none, -1 all. Publications older than the HistoryTTL they were published
// with are never returned. A channel without a stream gets one (offset 0, a
// new epoch, living opts.MetaTTL); an existing stream's life is not extended.
func (e *Engine) History(ctx context.Context, project, channel string, opts engine.HistoryOptions) (engine.HistoryResult, error) {
	if err := e.check(ctx); err != nil {
		return engine.HistoryResult{}, err
	}
	n := e.names(project, channel)
	sh := e.shardFor(project, channel)

	limit := opts.Limit
	if limit < 0 {
		limit = -1
	}
	lo, hi := "-", "+"
	sinceEpoch := ""
	if opts.Since != nil {
		sinceEpoch = opts.Since.Epoch
		bound := "(" + strconv.FormatUint(opts.Since.Offset, 10) + "-0"
		switch {
		case !opts.Reverse:
			lo = bound
		case opts.Since.Offset == 0:
			limit = 0 // nothing is before offset 0
		default:
			hi = bound
		}
	}
	reverse := "0"
	if opts.Reverse {
		reverse = "1"
	}
	res, err := historyScript.Run(ctx, sh.client,
		[]string{n.stream, n.meta},
		ms(e.metaTTL(opts.MetaTTL)), newEpoch(), sinceEpoch, limit, reverse, lo, hi,
	).Slice()
	if err != nil {
		return engine.HistoryResult{}, e.wrap(ctx, "history", err)
	}
	if len(res) != 3 {
		return engine.HistoryResult{}, fmt.Errorf("redisengine: history: unexpected reply %v", res)
	}
	offset, _ := res[0].(int64)
	epoch, _ := res[1].(string)
	entries, _ := res[2].([]any)
	out := engine.HistoryResult{Position: engine.StreamPosition{Offset: uint64(offset), Epoch: epoch}}
	if len(entries) == 0 {
		return out, nil
	}
	out.Publications = make([]*engine.Publication, 0, len(entries)/2)
	for i := 0; i+1 < len(entries); i += 2 {
		id, _ := entries[i].(string)
		data, _ := entries[i+1].(string)
		off, _, _ := strings.Cut(id, "-")
		o, err := strconv.ParseUint(off, 10, 64)
		if err != nil {
			return engine.HistoryResult{}, fmt.Errorf("redisengine: history: stream entry id %q", id)
		}
		pub, err := decodePub(data)
		if err != nil {
			return engine.HistoryResult{}, fmt.Errorf("redisengine: history: entry %s: %w", id, err)
		}
		pub.Offset = o
		out.Publications = append(out.Publications, pub)
	}
	return out, nil
}

// RemoveHistory deletes the channel's publications; its offset, epoch and
// meta expiry are kept.
func (e *Engine) RemoveHistory(ctx context.Context, project, channel string) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	sh := e.shardFor(project, channel)
	return e.wrap(ctx, "remove history", sh.client.Del(ctx, e.names(project, channel).stream).Err())
}

// Presence returns the channel's live entries by client id, dropping expired
// ones from Redis.
func (e *Engine) Presence(ctx context.Context, project, channel string) (map[string]*engine.ClientInfo, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	n := e.names(project, channel)
	sh := e.shardFor(project, channel)
	res, err := presenceScript.Run(ctx, sh.client, []string{n.presence, n.presenceExpiry}).Slice()
	if err != nil {
		return nil, e.wrap(ctx, "presence", err)
	}
	out := make(map[string]*engine.ClientInfo, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		id, _ := res[i].(string)
		raw, _ := res[i+1].(string)
		info := &engine.ClientInfo{}
		if err := json.Unmarshal([]byte(raw), info); err != nil {
			return nil, fmt.Errorf("redisengine: presence entry %q: %w", id, err)
		}
		out[id] = info
	}
	return out, nil
}

// PresenceStats counts the channel's live entries and their distinct users
// (the anonymous user "" counts as one user).
func (e *Engine) PresenceStats(ctx context.Context, project, channel string) (engine.PresenceStats, error) {
	if err := e.check(ctx); err != nil {
		return engine.PresenceStats{}, err
	}
	n := e.names(project, channel)
	sh := e.shardFor(project, channel)
	res, err := presenceStatsScript.Run(ctx, sh.client, []string{n.presence, n.presenceExpiry}).Int64Slice()
	if err != nil {
		return engine.PresenceStats{}, e.wrap(ctx, "presence stats", err)
	}
	if len(res) != 2 {
		return engine.PresenceStats{}, fmt.Errorf("redisengine: presence stats: unexpected reply %v", res)
	}
	return engine.PresenceStats{NumClients: int(res[0]), NumUsers: int(res[1])}, nil
}

// AddPresence adds or replaces clientID's entry, which expires after expire
// (Config.PresenceTTL when expire <= 0) unless added again. A nil info is
// stored as ClientInfo{Client: clientID}.
func (e *Engine) AddPresence(ctx context.Context, project, channel, clientID string, info *engine.ClientInfo, expire time.Duration) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	if info == nil {
		info = &engine.ClientInfo{Client: clientID}
	}
	if expire <= 0 {
		expire = e.cfg.PresenceTTL
	}
	raw, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("redisengine: add presence: %w", err)
	}
	n := e.names(project, channel)
	sh := e.shardFor(project, channel)
	err = addPresenceScript.Run(ctx, sh.client, []string{n.presence, n.presenceExpiry}, clientID, raw, ms(expire)).Err()
	return e.wrap(ctx, "add presence", err)
}

// RemovePresence removes clientID's entry. user is not needed by this engine.
func (e *Engine) RemovePresence(ctx context.Context, project, channel, clientID, user string) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	n := e.names(project, channel)
	sh := e.shardFor(project, channel)
	err := removePresenceScript.Run(ctx, sh.client, []string{n.presence, n.presenceExpiry}, clientID).Err()
	return e.wrap(ctx, "remove presence", err)
}

func (e *Engine) shardFor(project, channel string) *shard {
	return e.shards[shardIndex(project, channel, len(e.shards))]
}

func (e *Engine) check(ctx context.Context) error {
	if e.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}

func (e *Engine) checkRunning() error {
	if e.closed.Load() {
		return errClosed
	}
	if e.handler.Load() == nil {
		return errors.New("redisengine: Run not called")
	}
	return nil
}

func (e *Engine) metaTTL(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return e.cfg.HistoryMetaTTL
}

// wrap classifies a command's error: after Close it is ErrClosed; a canceled
// ctx is returned as it is; an error reply of Redis that says it cannot serve
// now (loading, failover, cluster down) and every connection error wrap
// engine.ErrUnavailable; other error replies are returned wrapped as they are.
func (e *Engine) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if e.closed.Load() {
		return errClosed
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return fmt.Errorf("redisengine: %s: %w", op, err)
	}
	var reply redis.Error
	if errors.As(err, &reply) && !unavailableReply(err.Error()) {
		return fmt.Errorf("redisengine: %s: %w", op, err)
	}
	return fmt.Errorf("redisengine: %s: %w: %w", op, engine.ErrUnavailable, err)
}

// unavailableReply reports error replies that mean "not now" rather than
// "wrong request".
func unavailableReply(msg string) bool {
	for _, p := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "BUSY ", "NOREPLICAS"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// ms converts d to whole milliseconds, at least 1.
func ms(d time.Duration) int64 {
	return max(d.Milliseconds(), 1)
}

// newEpoch returns a random stream epoch.
func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b[:])
}
