package redisengine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

// Reconnection backoff of the PUB/SUB connections.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 250 * time.Millisecond
)

// subscribeBatch bounds the channels of one SUBSCRIBE command when a
// connection resubscribes everything.
const subscribeBatch = 1000

// subscriber keeps this node's PUB/SUB subscriptions on one shard: a Redis
// server or sentinel-monitored master (one connection, SUBSCRIBE), or a
// whole cluster (one connection per master that owns subscribed channels,
// SSUBSCRIBE).
//
// The set of wanted channels is the truth; connections follow it. A
// generation of connections is made by connect, which subscribes every wanted
// channel, confirms with a PING on each connection and only then reports
// success. Any error of any connection of a generation (a failed read, write
// or ping, no traffic for three Timeouts, an unrequested unsubscribe from a
// cluster node whose slot moved) drops the whole generation; run makes a new
// one and then calls HandleLost, because publications may have been missed in
// between. go-redis's PubSub reconnects by itself, but it would resubscribe
// every channel of a cluster connection in one command (refused across slots)
// and does so silently, so a PubSub is never used again after an error.
type subscriber struct {
	e *Engine
	// client is the shard's command client: a server's, a failover client,
	// or the cluster client (then used for CLUSTER SLOTS).
	client redis.UniversalClient
	// nodeOpts, set in cluster mode, make the clients of single masters whose
	// connections carry the sharded subscriptions.
	nodeOpts *redis.Options
	sharded  bool

	// ready is closed after the first successful connect.
	ready     chan struct{}
	readyOnce sync.Once
	// failc wakes run when the current generation failed.
	failc chan struct{}

	mu       sync.RWMutex
	closed   bool
	channels map[string]struct{} // wanted PUB/SUB channels
	gen      uint64              // current generation
	active   bool                // the generation's connections are in use
	up       bool                // a connect has succeeded once
	live     bool                // the current generation's connect succeeded
	lost     bool                // deliveries may have been missed since the last HandleLost
	conns    map[string]*subConn // of the current generation, by master address ("" unsharded)
	owners   []string            // cluster: master address of each slot
	nodes    map[string]*redis.Client
	// unsubs counts, per channel, requested SUNSUBSCRIBEs not yet confirmed,
	// to tell them from a cluster node dropping a channel whose slot moved.
	unsubs map[string]int

	wmu     sync.Mutex
	waiters map[string][]chan struct{}
}

// subConn is one PUB/SUB connection of a generation.
type subConn struct {
	s     *subscriber
	ps    *redis.PubSub
	gen   uint64
	start sync.Once
}

func newSubscriber(e *Engine, client redis.UniversalClient, nodeOpts *redis.Options) *subscriber {
	return &subscriber{
		e:        e,
		client:   client,
		nodeOpts: nodeOpts,
		sharded:  nodeOpts != nil,
		ready:    make(chan struct{}),
		failc:    make(chan struct{}, 1),
		channels: make(map[string]struct{}),
		nodes:    make(map[string]*redis.Client),
		unsubs:   make(map[string]int),
		waiters:  make(map[string][]chan struct{}),
	}
}

// want adds ch to the wanted channels without subscribing it now; connect
// will.
func (s *subscriber) want(ch string) {
	s.mu.Lock()
	s.channels[ch] = struct{}{}
	s.mu.Unlock()
}

// wanted reports whether ch is a wanted channel: deliveries of others are
// dropped.
func (s *subscriber) wanted(ch string) bool {
	s.mu.RLock()
	_, ok := s.channels[ch]
	s.mu.RUnlock()
	return ok
}

// wantedName is wanted for a name in bytes.
func (s *subscriber) wantedName(name []byte) bool {
	s.mu.RLock()
	_, ok := s.channels[string(name)]
	s.mu.RUnlock()
	return ok
}

// wantedEach reports, under one lock, whether each of n channels (name(k))
// is wanted.
func (s *subscriber) wantedEach(n int, name func(k int) string) []bool {
	out := make([]bool, n)
	s.mu.RLock()
	for k := range out {
		_, out[k] = s.channels[name(k)]
	}
	s.mu.RUnlock()
	return out
}

// subscribe adds ch to the wanted channels and subscribes it if connected.
// It waits up to Timeout for the confirmation when connected or before the
// first connection; when Redis is known to be unreachable it returns at once,
// as the coming reconnection will subscribe ch and call HandleLost.
func (s *subscriber) subscribe(ch string) {
	key := confirmKey(ch)
	w := s.await(key)
	defer s.forget(key, w)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.channels[ch] = struct{}{}
	wait := s.active || !s.up
	var c *subConn
	if s.active {
		if c = s.connFor(ch); c == nil {
			// The slot map has a hole: reconnecting reloads it.
			gen := s.gen
			s.mu.Unlock()
			s.fail(gen, fmt.Errorf("no master owns the slot of %s", ch))
			return
		}
	}
	s.mu.Unlock()

	if c != nil {
		ctx, cancel := context.WithTimeout(s.e.ctx, s.e.cfg.Timeout)
		err := c.subscribe(ctx, ch)
		cancel()
		if err != nil {
			s.fail(c.gen, fmt.Errorf("subscribe %s: %w", ch, err))
			return
		}
		c.run()
	}
	if !wait {
		return
	}
	timer := time.NewTimer(s.e.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-w:
	case <-s.e.stop:
	case <-timer.C:
		if c != nil {
			s.fail(c.gen, fmt.Errorf("subscription to %s not confirmed within %v", ch, s.e.cfg.Timeout))
			return
		}
		s.mu.Lock()
		s.lost = true
		s.mu.Unlock()
	}
}

// unsubscribe removes ch from the wanted channels, which stops its
// deliveries at once, and unsubscribes it if connected.
func (s *subscriber) unsubscribe(ch string) {
	s.mu.Lock()
	delete(s.channels, ch)
	var c *subConn
	if s.active {
		c = s.conns[s.target(ch)]
		if c != nil && s.sharded {
			s.unsubs[ch]++
		}
	}
	s.mu.Unlock()
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.e.ctx, s.e.cfg.Timeout)
	defer cancel()
	if err := c.unsubscribe(ctx, ch); err != nil {
		s.fail(c.gen, fmt.Errorf("unsubscribe %s: %w", ch, err))
	}
}

// run keeps a generation of connections until the engine closes.
func (s *subscriber) run() {
	backoff := minBackoff
	for {
		if err := s.connect(); err != nil {
			if s.e.closed.Load() {
				return
			}
			s.e.log.Warn("redisengine: PUB/SUB connection failed", "err", err, "retry_in", backoff)
		} else {
			backoff = minBackoff
			select {
			case <-s.e.stop:
				return
			case <-s.failc:
			}
		}
		select {
		case <-s.e.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// connect makes a new generation of connections subscribed to every wanted
// channel and, when deliveries may have been missed before, calls
// HandleLost once it is confirmed.
func (s *subscriber) connect() error {
	ctx, cancel := context.WithTimeout(s.e.ctx, 3*s.e.cfg.Timeout)
	defer cancel()
	select {
	case <-s.failc: // a failure of an earlier generation
	default:
	}
	var owners []string
	if s.sharded {
		var err error
		if owners, err = s.loadOwners(ctx); err != nil {
			s.mu.Lock()
			s.lost = s.lost || s.up
			s.mu.Unlock()
			return err
		}
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	s.gen++
	gen := s.gen
	s.active = true
	s.conns = make(map[string]*subConn)
	clear(s.unsubs)
	s.owners = owners
	batches := make(map[*subConn][][]string)
	if s.sharded {
		// One command per slot: SSUBSCRIBE refuses channels of several slots.
		bySlot := make(map[int][]string)
		for ch := range s.channels {
			slot := hashSlot(ch)
			bySlot[slot] = append(bySlot[slot], ch)
		}
		for _, chs := range bySlot {
			c := s.connFor(chs[0])
			if c == nil {
				s.mu.Unlock()
				err := fmt.Errorf("no master owns slot %d", hashSlot(chs[0]))
				s.fail(gen, err)
				return err
			}
			batches[c] = append(batches[c], chs)
		}
	} else {
		c := s.connFor("")
		batches[c] = slices.Collect(slices.Chunk(mapKeys(s.channels), subscribeBatch))
	}
	s.mu.Unlock()

	for c, bs := range batches {
		if err := c.confirm(ctx, bs); err != nil {
			s.fail(gen, err)
			return err
		}
	}

	s.mu.Lock()
	if gen != s.gen || !s.active {
		s.mu.Unlock()
		return errors.New("connection lost while subscribing")
	}
	lost := s.lost
	s.lost = false
	s.up = true
	s.live = true
	s.mu.Unlock()
	s.readyOnce.Do(func() { close(s.ready) })
	if lost {
		s.e.log.Info("redisengine: PUB/SUB connection re-established; deliveries may have been lost")
		s.awaitCommands()
		if ref := s.e.handler.Load(); ref != nil && !s.e.closed.Load() {
			ref.h.HandleLost()
		}
	}
	return nil
}

// awaitCommands waits, up to three Timeouts, until the shard's command client
// answers again: after an outage its connection pool may keep failing fast for
// a while, and subscribers told to recover (HandleLost) resubscribe at once.
func (s *subscriber) awaitCommands() {
	deadline := time.Now().Add(3 * s.e.cfg.Timeout)
	for time.Now().Before(deadline) && !s.e.closed.Load() {
		ctx, cancel := context.WithTimeout(s.e.ctx, s.e.cfg.Timeout)
		err := s.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		time.Sleep(minBackoff)
	}
}

// fail drops generation gen, if current, and wakes run.
func (s *subscriber) fail(gen uint64, err error) {
	s.mu.Lock()
	if gen != s.gen || !s.active || s.closed {
		s.mu.Unlock()
		return
	}
	live := s.live
	s.active = false
	s.live = false
	s.lost = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	if live { // a failing connect is logged by run
		s.e.log.Warn("redisengine: PUB/SUB connection lost", "err", err)
	}
	for _, c := range conns {
		_ = c.ps.Close()
	}
	select {
	case s.failc <- struct{}{}:
	default:
	}
}

// close drops the connections for good.
func (s *subscriber) close() {
	s.mu.Lock()
	s.closed = true
	s.active = false
	s.live = false
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ps.Close()
	}
}

// closeClients closes the clients of single cluster nodes.
func (s *subscriber) closeClients() {
	s.mu.Lock()
	nodes := s.nodes
	s.nodes = nil
	s.mu.Unlock()
	for _, n := range nodes {
		_ = n.Close()
	}
}

// target is the connection key of ch: its slot's master in cluster mode.
// Called with mu held.
func (s *subscriber) target(ch string) string {
	if !s.sharded {
		return ""
	}
	return s.owners[hashSlot(ch)]
}

// connFor returns the current generation's connection for ch, creating it
// (without connecting) if needed; nil if no master owns ch's slot. Called
// with mu held for writing while active.
func (s *subscriber) connFor(ch string) *subConn {
	t := s.target(ch)
	if c := s.conns[t]; c != nil {
		return c
	}
	var ps *redis.PubSub
	if s.sharded {
		if t == "" {
			return nil
		}
		node := s.nodes[t]
		if node == nil {
			o := *s.nodeOpts
			o.Addr = t
			node = redis.NewClient(&o)
			s.nodes[t] = node
		}
		ps = node.SSubscribe(s.e.ctx)
	} else {
		ps = s.client.Subscribe(s.e.ctx)
	}
	c := &subConn{s: s, ps: ps, gen: s.gen}
	s.conns[t] = c
	return c
}

// loadOwners reads which master owns each slot.
func (s *subscriber) loadOwners(ctx context.Context) ([]string, error) {
	slots, err := s.client.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster slots: %w", err)
	}
	owners := make([]string, clusterSlots)
	for _, r := range slots {
		if len(r.Nodes) == 0 || r.Start < 0 || r.End >= clusterSlots {
			continue
		}
		for i := r.Start; i <= r.End; i++ {
			owners[i] = r.Nodes[0].Addr
		}
	}
	return owners, nil
}

// unsolicited reports whether an unsubscribe of ch came from Redis rather
// than from unsubscribe.
func (s *subscriber) unsolicited(ch string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.unsubs[ch]; n > 0 {
		if n == 1 {
			delete(s.unsubs, ch)
		} else {
			s.unsubs[ch] = n - 1
		}
		return false
	}
	_, ok := s.channels[ch]
	return ok
}

// await registers a waiter for notify(key).
func (s *subscriber) await(key string) chan struct{} {
	w := make(chan struct{})
	s.wmu.Lock()
	s.waiters[key] = append(s.waiters[key], w)
	s.wmu.Unlock()
	return w
}

// forget removes a waiter that notify has not released.
func (s *subscriber) forget(key string, w chan struct{}) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	ws := slices.DeleteFunc(s.waiters[key], func(x chan struct{}) bool { return x == w })
	if len(ws) == 0 {
		delete(s.waiters, key)
	} else {
		s.waiters[key] = ws
	}
}

// notify releases the waiters of key.
func (s *subscriber) notify(key string) {
	s.wmu.Lock()
	ws := s.waiters[key]
	delete(s.waiters, key)
	s.wmu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

func confirmKey(ch string) string   { return "s" + ch }
func pongKey(token string) string   { return "p" + token }
func isSubscribeKind(k string) bool { return k == "subscribe" || k == "ssubscribe" }

func (c *subConn) subscribe(ctx context.Context, chs ...string) error {
	if c.s.sharded {
		return c.ps.SSubscribe(ctx, chs...)
	}
	return c.ps.Subscribe(ctx, chs...)
}

func (c *subConn) unsubscribe(ctx context.Context, chs ...string) error {
	if c.s.sharded {
		return c.ps.SUnsubscribe(ctx, chs...)
	}
	return c.ps.Unsubscribe(ctx, chs...)
}

// confirm subscribes the batches (connecting, as the first command does),
// starts the reader and waits for the answer to a PING sent after them:
// Redis answers a connection's commands in order, so every subscription is
// then in effect.
func (c *subConn) confirm(ctx context.Context, batches [][]string) error {
	for _, b := range batches {
		if err := c.subscribe(ctx, b...); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	c.run()
	token := strconv.FormatUint(c.gen, 10) + "-" + newEpoch()
	key := pongKey(token)
	w := c.s.await(key)
	defer c.s.forget(key, w)
	if err := c.ps.Ping(ctx, token); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no answer to ping: %w", ctx.Err())
	}
}

// run starts the connection's reader once.
func (c *subConn) run() {
	c.start.Do(func() { c.s.e.goroutine(c.receive) })
}

// receive reads the connection until it fails or the engine closes: messages
// go to the workers, confirmations to the waiters. When idle for Timeout it
// pings; when nothing came for three Timeouts the connection is dead.
func (c *subConn) receive() {
	s := c.s
	interval := s.e.cfg.Timeout
	last := time.Now()
	for {
		msg, err := c.ps.ReceiveTimeout(s.e.ctx, interval)
		if err != nil {
			if s.e.closed.Load() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if idle := time.Since(last); idle > 3*interval {
					err = fmt.Errorf("no traffic for %v", idle.Round(time.Millisecond))
				} else if err = c.ps.Ping(s.e.ctx); err == nil {
					continue
				}
			}
			s.fail(c.gen, err)
			return
		}
		last = time.Now()
		switch m := msg.(type) {
		case *redis.Message:
			if s.e.ownMessage(m.Payload) {
				continue // handed to this node when it was published
			}
			if m.Channel == s.e.broadcast {
				mm, err := decodeMany(m.Payload)
				if err != nil {
					s.e.log.Error("redisengine: undecodable broadcast", "err", err)
					continue
				}
				if !s.e.dispatchMany(s, mm) {
					return
				}
				continue
			}
			if !s.e.dispatch(delivery{s: s, channel: m.Channel, payload: m.Payload}) {
				return
			}
		case *redis.Subscription:
			if isSubscribeKind(m.Kind) {
				s.notify(confirmKey(m.Channel))
			} else if m.Kind == "sunsubscribe" && s.unsolicited(m.Channel) {
				s.fail(c.gen, fmt.Errorf("redis dropped the subscription to %s (its slot moved)", m.Channel))
				return
			}
		case *redis.Pong:
			s.notify(pongKey(m.Payload))
		}
	}
}

// delivery is a received message on its way to a worker.
type delivery struct {
	s       *subscriber
	channel string
	payload string
	// many, when set, is a broadcast: every worker gets it and handles the
	// channels that are its own.
	many *manyMessage
}

// workerHash is FNV-1a of a PUB/SUB channel's name, inline to avoid an
// allocation per message: the channel's worker is workerHash modulo the
// number of workers.
func workerHash[T string | []byte](name T) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return h
}

// dispatch queues d for the worker of its channel, so a channel's messages
// are handled in order. It reports false when the engine closed.
func (e *Engine) dispatch(d delivery) bool {
	return e.queue(e.workers[workerHash(d.channel)%uint32(len(e.workers))], d)
}

// dispatchMany queues a broadcast for every worker: each handles the
// broadcast's channels that are its own, after the messages of those
// channels received before it, so a channel's order holds across broadcasts
// and single publications. It reports false when the engine closed.
func (e *Engine) dispatchMany(s *subscriber, m *manyMessage) bool {
	for _, q := range e.workers {
		if !e.queue(q, delivery{s: s, many: m}) {
			return false
		}
	}
	return true
}

func (e *Engine) queue(q chan delivery, d delivery) bool {
	select {
	case q <- d:
		return true
	case <-e.stop:
		return false
	}
}

// work hands queued messages to the EventHandler until the engine closes;
// it is worker number i.
func (e *Engine) work(i uint32, q chan delivery) {
	var name []byte // deliverMany's buffer
	for {
		select {
		case <-e.stop:
			return
		case d := <-q:
			if d.many != nil {
				name = e.deliverMany(i, d.s, d.many, name)
			} else {
				e.deliver(d)
			}
		}
	}
}

// deliverMany hands a broadcast's publication to the EventHandler for each
// of its channels that worker i owns and s wants. name is a buffer for PUB/SUB
// channel names, returned for reuse.
func (e *Engine) deliverMany(i uint32, s *subscriber, m *manyMessage, name []byte) []byte {
	ref := e.handler.Load()
	if ref == nil || e.closed.Load() {
		return name
	}
	escProject := escape(m.project)
	workers := uint32(len(e.workers))
	m.eachChannel(func(ch []byte) {
		name = appendPubsubName(name[:0], e.prefix, escProject, ch)
		if workerHash(name)%workers != i || !s.wantedName(name) {
			return
		}
		ref.h.HandlePublication(m.project, string(ch), m.pub, engine.StreamPosition{})
	})
	return name
}

func (e *Engine) deliver(d delivery) {
	ref := e.handler.Load()
	if ref == nil || e.closed.Load() {
		return
	}
	if d.channel == e.control && d.s == e.shards[0].subs {
		ref.h.HandleControl([]byte(d.payload))
		return
	}
	if !d.s.wanted(d.channel) {
		return
	}
	m, err := decodeMessage(d.payload)
	if err != nil {
		e.log.Error("redisengine: undecodable message", "channel", d.channel, "err", err)
		return
	}
	switch m.kind {
	case kindPublication:
		ref.h.HandlePublication(m.project, m.channel, m.pub, m.sp)
	case kindJoin:
		ref.h.HandleJoin(m.project, m.channel, m.info)
	case kindLeave:
		ref.h.HandleLeave(m.project, m.channel, m.info)
	}
}

func mapKeys(m map[string]struct{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// ownMessage reports a publication or broadcast this engine sent, which its
// node already has.
func (e *Engine) ownMessage(payload string) bool {
	return len(payload) > originLen && (payload[0] == kindLocalPub || payload[0] == kindMany) && payload[1:1+originLen] == e.origin
}
