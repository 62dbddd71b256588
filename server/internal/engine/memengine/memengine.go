// Package memengine is the single-node engine: PUB/SUB, history streams and
// presence kept in process memory. It implements engine.Engine and passes
// enginetest.Run. Nothing survives a restart: every stream gets a new epoch, so
// clients recovering from the previous process are told they cannot recover.
package memengine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

// Defaults used for zero Config fields and zero per-call TTLs.
const (
	DefaultHistoryMetaTTL      = 30 * 24 * time.Hour
	DefaultIdempotentResultTTL = 5 * time.Minute
	DefaultCleanupInterval     = 10 * time.Second
)

// numShards is the number of independently locked parts of the channel table.
// Operations on channels in different shards never wait for each other.
const numShards = 64

// drainBatch bounds how many queued events one publisher delivers for others
// before it hands the rest of the channel's queue to a new goroutine, so a
// publisher to a busy channel is not kept delivering forever.
const drainBatch = 256

// Config of an Engine. Zero values mean the defaults above.
type Config struct {
	// HistoryMetaTTL is how long a stream's offset and epoch outlive its last
	// publication when neither PublishOptions.HistoryMetaTTL nor
	// HistoryOptions.MetaTTL sets it.
	HistoryMetaTTL time.Duration
	// IdempotentResultTTL is how long the result of a publication with an
	// idempotency key is remembered when PublishOptions does not set it.
	IdempotentResultTTL time.Duration
	// CleanupInterval is how often expired publications, streams, presence
	// entries and idempotent results are swept from memory. Reads never return
	// expired data whatever the interval: expiry is also checked on access.
	CleanupInterval time.Duration
}

// Engine is the in-memory engine.Engine. Create it with New; it is safe for
// concurrent use.
type Engine struct {
	cfg    Config
	seed   maphash.Seed
	shards [numShards]shard

	handler atomic.Pointer[handlerRef]
	closed  atomic.Bool
	stop    chan struct{}
	done    chan struct{}
}

var _ engine.Engine = (*Engine)(nil)

var errClosed = fmt.Errorf("memengine: %w", engine.ErrClosed)

// handlerRef boxes the interface so it can live in an atomic.Pointer.
type handlerRef struct{ h engine.EventHandler }

// chanKey identifies a channel: channels of different projects are unrelated.
type chanKey struct {
	project string
	channel string
}

// shard owns the state of the channels that hash to it. mu guards the map and
// every field of the chanStates in it. It is never held while calling the
// EventHandler, so handlers may call back into the engine.
type shard struct {
	mu       sync.Mutex
	channels map[chanKey]*chanState
}

// chanState is everything the engine keeps about one (project, channel).
// It exists only while something is in it (see idle) and is swept otherwise.
type chanState struct {
	subscribed bool
	stream     *stream
	presence   map[string]presenceEntry
	results    map[string]idempotentResult

	// queue holds events waiting to be delivered, in publish order. They are
	// appended under the shard lock together with the history write, and one
	// deliverer at a time (draining) hands them to the EventHandler, so the
	// handler sees a channel's events in offset order even with concurrent
	// publishers, without any lock held during the handler call.
	queue    []event
	draining bool
}

func (c *chanState) idle() bool {
	return !c.subscribed && c.stream == nil && len(c.presence) == 0 &&
		len(c.results) == 0 && len(c.queue) == 0 && !c.draining
}

// stream is a channel's history: the publications still kept and the meta
// (offset and epoch) that outlives them until expireAt.
type stream struct {
	epoch  string
	offset uint64
	// pubs are in ascending, contiguous offset order; only a prefix is ever
	// dropped (trim and expiry), a publication in the middle whose own TTL
	// passed is skipped by readers until the prefix reaches it.
	pubs     []storedPub
	expireAt time.Time
}

// storedPub is a publication in history. pub is owned by the engine and never
// modified after it is stored; readers get copies.
type storedPub struct {
	pub      *engine.Publication
	expireAt time.Time
}

type presenceEntry struct {
	info     *engine.ClientInfo // owned by the engine, never modified
	expireAt time.Time          // zero: never expires
}

type idempotentResult struct {
	pos      engine.StreamPosition
	expireAt time.Time
}

type eventKind uint8

const (
	eventPublication eventKind = iota
	eventJoin
	eventLeave
)

type event struct {
	kind eventKind
	pub  *engine.Publication
	sp   engine.StreamPosition
	info *engine.ClientInfo
}

// New creates an engine and starts its cleanup goroutine, which Close stops.
func New(cfg Config) (*Engine, error) {
	if cfg.HistoryMetaTTL < 0 || cfg.IdempotentResultTTL < 0 || cfg.CleanupInterval < 0 {
		return nil, errors.New("memengine: negative duration in config")
	}
	if cfg.HistoryMetaTTL == 0 {
		cfg.HistoryMetaTTL = DefaultHistoryMetaTTL
	}
	if cfg.IdempotentResultTTL == 0 {
		cfg.IdempotentResultTTL = DefaultIdempotentResultTTL
	}
	if cfg.CleanupInterval == 0 {
		cfg.CleanupInterval = DefaultCleanupInterval
	}
	e := &Engine{
		cfg:  cfg,
		seed: maphash.MakeSeed(),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for i := range e.shards {
		e.shards[i].channels = make(map[chanKey]*chanState)
	}
	go e.cleanupLoop()
	return e, nil
}

// Name is "memory".
func (e *Engine) Name() string { return "memory" }

// Run sets the handler that receives publications, join, leave and control
// messages. It may be called once.
func (e *Engine) Run(h engine.EventHandler) error {
	if e.closed.Load() {
		return errClosed
	}
	if h == nil {
		return errors.New("memengine: nil event handler")
	}
	if !e.handler.CompareAndSwap(nil, &handlerRef{h: h}) {
		return errors.New("memengine: Run called twice")
	}
	return nil
}

// Close stops the cleanup goroutine; afterwards every method returns an error
// wrapping engine.ErrClosed and nothing more is delivered. A second Close
// returns nil.
func (e *Engine) Close(ctx context.Context) error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(e.stop)
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribe makes this node receive the channel's publications, join and leave.
func (e *Engine) Subscribe(project, channel string) error {
	if e.closed.Load() {
		return errClosed
	}
	key := chanKey{project, channel}
	sh := e.shard(key)
	sh.mu.Lock()
	sh.getOrCreate(key).subscribed = true
	sh.mu.Unlock()
	return nil
}

// Unsubscribe stops delivery of the channel's events published from now on.
func (e *Engine) Unsubscribe(project, channel string) error {
	if e.closed.Load() {
		return errClosed
	}
	key := chanKey{project, channel}
	sh := e.shard(key)
	sh.mu.Lock()
	if c := sh.channels[key]; c != nil {
		c.subscribed = false
		sh.deleteIfIdle(key, c)
	}
	sh.mu.Unlock()
	return nil
}

// Publish appends data to the channel's history when opts.HistorySize and
// opts.HistoryTTL are both positive, and delivers it to the handler if this
// node is subscribed. The history write and the queueing for delivery happen
// atomically, so deliveries follow offset order. Delivery is synchronous
// (done before Publish returns) unless another publisher to the same channel
// is delivering at that moment: that one then delivers this publication right
// after the earlier ones.
func (e *Engine) Publish(ctx context.Context, project, channel string, data []byte, opts engine.PublishOptions) (engine.StreamPosition, bool, error) {
	if err := e.check(ctx); err != nil {
		return engine.StreamPosition{}, false, err
	}
	withHistory := opts.HistorySize > 0 && opts.HistoryTTL > 0
	key := chanKey{project, channel}
	sh := e.shard(key)
	now := time.Now()

	sh.mu.Lock()
	c := sh.channels[key]
	if c == nil {
		if !withHistory && opts.IdempotencyKey == "" {
			// Nothing to store and nobody to deliver to.
			sh.mu.Unlock()
			return engine.StreamPosition{}, false, nil
		}
		c = sh.getOrCreate(key)
	}
	if opts.IdempotencyKey != "" {
		if r, ok := c.results[opts.IdempotencyKey]; ok && now.Before(r.expireAt) {
			sh.mu.Unlock()
			return r.pos, true, nil
		}
	}

	pub := &engine.Publication{
		Data: bytes.Clone(data),
		Info: cloneInfo(opts.ClientInfo),
		Tags: maps.Clone(opts.Tags),
	}
	var sp engine.StreamPosition
	if withHistory {
		s := c.liveStream(now)
		if s == nil {
			s = &stream{epoch: newEpoch()}
			c.stream = s
		}
		s.dropExpired(now)
		s.offset++
		pub.Offset = s.offset
		s.pubs = append(s.pubs, storedPub{pub: pub, expireAt: now.Add(opts.HistoryTTL)})
		if n := len(s.pubs) - opts.HistorySize; n > 0 {
			clear(s.pubs[:n])
			s.pubs = s.pubs[n:]
		}
		s.expireAt = now.Add(e.metaTTL(opts.HistoryMetaTTL))
		sp = engine.StreamPosition{Offset: s.offset, Epoch: s.epoch}
	}
	if opts.IdempotencyKey != "" {
		ttl := opts.IdempotentResultTTL
		if ttl <= 0 {
			ttl = e.cfg.IdempotentResultTTL
		}
		if c.results == nil {
			c.results = make(map[string]idempotentResult)
		}
		c.results[opts.IdempotencyKey] = idempotentResult{pos: sp, expireAt: now.Add(ttl)}
	}
	// The stored pub is never handed out: the handler gets its own copy.
	drain := e.enqueue(c, event{kind: eventPublication, pub: clonePub(pub), sp: sp})
	sh.mu.Unlock()

	if drain {
		e.drain(sh, key, c, 0)
	}
	return sp, false, nil
}

// PublishJoin delivers a join to the handler if this node is subscribed.
func (e *Engine) PublishJoin(ctx context.Context, project, channel string, info *engine.ClientInfo) error {
	return e.publishPresenceEvent(ctx, eventJoin, project, channel, info)
}

var _ engine.ManyPublisher = (*Engine)(nil)

// PublishMany publishes data to each channel in turn, on the caller's
// goroutine: a publication here never waits, so goroutines would only add
// switches.
func (e *Engine) PublishMany(ctx context.Context, project string, channels []string, data []byte, opts engine.PublishOptions) []error {
	errs := make([]error, len(channels))
	for i, ch := range channels {
		_, _, errs[i] = e.Publish(ctx, project, ch, data, opts)
	}
	return errs
}

// PublishLeave delivers a leave to the handler if this node is subscribed.
func (e *Engine) PublishLeave(ctx context.Context, project, channel string, info *engine.ClientInfo) error {
	return e.publishPresenceEvent(ctx, eventLeave, project, channel, info)
}

func (e *Engine) publishPresenceEvent(ctx context.Context, kind eventKind, project, channel string, info *engine.ClientInfo) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	key := chanKey{project, channel}
	sh := e.shard(key)
	sh.mu.Lock()
	c := sh.channels[key]
	if c == nil {
		sh.mu.Unlock()
		return nil
	}
	drain := e.enqueue(c, event{kind: kind, info: cloneInfo(info)})
	sh.mu.Unlock()
	if drain {
		e.drain(sh, key, c, 0)
	}
	return nil
}

// PublishControl hands data to the handler: this node is the only node.
func (e *Engine) PublishControl(ctx context.Context, data []byte) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	if ref := e.handler.Load(); ref != nil {
		ref.h.HandleControl(bytes.Clone(data))
	}
	return nil
}

// enqueue queues ev for delivery if the channel is subscribed and reports
// whether the caller must drain the queue (no one else is draining it).
// Called with the shard lock held.
func (e *Engine) enqueue(c *chanState, ev event) bool {
	if !c.subscribed || e.handler.Load() == nil {
		return false
	}
	c.queue = append(c.queue, ev)
	if c.draining {
		return false
	}
	c.draining = true
	return true
}

// drain delivers the channel's queued events in order, without holding the
// shard lock during handler calls. Only the goroutine that set draining runs
// it. After drainBatch events it hands the rest to a new goroutine.
func (e *Engine) drain(sh *shard, key chanKey, c *chanState, delivered int) {
	for {
		sh.mu.Lock()
		if len(c.queue) == 0 {
			c.queue = nil
			c.draining = false
			sh.deleteIfIdle(key, c)
			sh.mu.Unlock()
			return
		}
		if delivered >= drainBatch {
			sh.mu.Unlock()
			go e.drain(sh, key, c, 0)
			return
		}
		ev := c.queue[0]
		c.queue[0] = event{}
		c.queue = c.queue[1:]
		sh.mu.Unlock()

		e.deliver(key, ev)
		delivered++
	}
}

func (e *Engine) deliver(key chanKey, ev event) {
	ref := e.handler.Load()
	if ref == nil || e.closed.Load() {
		return
	}
	switch ev.kind {
	case eventPublication:
		ref.h.HandlePublication(key.project, key.channel, ev.pub, ev.sp)
	case eventJoin:
		ref.h.HandleJoin(key.project, key.channel, ev.info)
	case eventLeave:
		ref.h.HandleLeave(key.project, key.channel, ev.info)
	}
}

// History returns publications of the channel per opts and the stream's
// current position. If the channel has no stream (never published, or its meta
// expired), History creates one with a new epoch and offset 0 that lives for
// opts.MetaTTL (or the default), so the position it returns stays valid for
// later publications. History does not extend the life of an existing stream:
// only publications do.
//
// With Since, only publications with an offset greater than Since.Offset are
// considered (with Reverse: smaller than Since.Offset, to page backwards), and
// none at all when Since.Epoch is set and is not the stream's epoch. Limit 0
// returns no publications, a negative Limit all of them, n > 0 the first n (or
// with Reverse the newest n). Reverse orders newest first.
func (e *Engine) History(ctx context.Context, project, channel string, opts engine.HistoryOptions) (engine.HistoryResult, error) {
	if err := e.check(ctx); err != nil {
		return engine.HistoryResult{}, err
	}
	key := chanKey{project, channel}
	sh := e.shard(key)
	now := time.Now()

	sh.mu.Lock()
	c := sh.getOrCreate(key)
	s := c.liveStream(now)
	if s == nil {
		s = &stream{epoch: newEpoch(), expireAt: now.Add(e.metaTTL(opts.MetaTTL))}
		c.stream = s
	}
	s.dropExpired(now)
	res := engine.HistoryResult{Position: engine.StreamPosition{Offset: s.offset, Epoch: s.epoch}}
	if opts.Limit == 0 || len(s.pubs) == 0 ||
		(opts.Since != nil && opts.Since.Epoch != "" && opts.Since.Epoch != s.epoch) {
		sh.mu.Unlock()
		return res, nil
	}

	// Offsets are contiguous, so positions are found by arithmetic. Forward,
	// Since selects publications after it; in reverse (paging backwards, as
	// Centrifugo does) publications before it, newest first.
	first := s.pubs[0].pub.Offset
	lo, hi := 0, len(s.pubs) // the window [lo, hi) of s.pubs considered
	if opts.Since != nil {
		if opts.Reverse {
			switch {
			case opts.Since.Offset <= first:
				hi = 0
			case opts.Since.Offset <= s.offset:
				hi = int(opts.Since.Offset - first)
			}
		} else {
			switch {
			case opts.Since.Offset >= s.offset:
				lo = len(s.pubs)
			case opts.Since.Offset >= first:
				lo = int(opts.Since.Offset - first + 1)
			}
		}
	}
	limit := opts.Limit
	if limit < 0 || limit > hi-lo {
		limit = max(hi-lo, 0)
	}
	found := make([]*engine.Publication, 0, limit)
	if opts.Reverse {
		for i := hi - 1; i >= lo && len(found) < limit; i-- {
			if now.Before(s.pubs[i].expireAt) {
				found = append(found, s.pubs[i].pub)
			}
		}
	} else {
		for i := lo; i < hi && len(found) < limit; i++ {
			if now.Before(s.pubs[i].expireAt) {
				found = append(found, s.pubs[i].pub)
			}
		}
	}
	sh.mu.Unlock()

	// Stored publications are immutable, so they are copied outside the lock.
	res.Publications = make([]*engine.Publication, len(found))
	for i, p := range found {
		res.Publications[i] = clonePub(p)
	}
	return res, nil
}

// RemoveHistory drops the channel's publications and keeps its offset, epoch
// and meta expiry.
func (e *Engine) RemoveHistory(ctx context.Context, project, channel string) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	key := chanKey{project, channel}
	sh := e.shard(key)
	now := time.Now()
	sh.mu.Lock()
	if c := sh.channels[key]; c != nil {
		if s := c.liveStream(now); s != nil {
			clear(s.pubs)
			s.pubs = nil
		}
		sh.deleteIfIdle(key, c)
	}
	sh.mu.Unlock()
	return nil
}

// Presence returns the channel's live entries by client id. The map and the
// infos are copies the caller may modify.
func (e *Engine) Presence(ctx context.Context, project, channel string) (map[string]*engine.ClientInfo, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	key := chanKey{project, channel}
	sh := e.shard(key)
	now := time.Now()
	sh.mu.Lock()
	c := sh.channels[key]
	if c == nil {
		sh.mu.Unlock()
		return map[string]*engine.ClientInfo{}, nil
	}
	c.expirePresence(now)
	res := make(map[string]*engine.ClientInfo, len(c.presence))
	for id, p := range c.presence {
		res[id] = p.info
	}
	sh.deleteIfIdle(key, c)
	sh.mu.Unlock()

	for id, info := range res {
		res[id] = cloneInfo(info)
	}
	return res, nil
}

// PresenceStats counts the channel's live entries and their distinct users
// (the anonymous user "" counts as one user).
func (e *Engine) PresenceStats(ctx context.Context, project, channel string) (engine.PresenceStats, error) {
	if err := e.check(ctx); err != nil {
		return engine.PresenceStats{}, err
	}
	key := chanKey{project, channel}
	sh := e.shard(key)
	now := time.Now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sh.channels[key]
	if c == nil {
		return engine.PresenceStats{}, nil
	}
	c.expirePresence(now)
	users := make(map[string]struct{}, len(c.presence))
	for _, p := range c.presence {
		users[p.info.User] = struct{}{}
	}
	stats := engine.PresenceStats{NumClients: len(c.presence), NumUsers: len(users)}
	sh.deleteIfIdle(key, c)
	return stats, nil
}

// AddPresence adds or replaces clientID's entry, which expires after expire
// unless added again; expire <= 0 means it never expires. A nil info is stored
// as ClientInfo{Client: clientID}.
func (e *Engine) AddPresence(ctx context.Context, project, channel, clientID string, info *engine.ClientInfo, expire time.Duration) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	if info == nil {
		info = &engine.ClientInfo{Client: clientID}
	}
	entry := presenceEntry{info: cloneInfo(info)}
	if expire > 0 {
		entry.expireAt = time.Now().Add(expire)
	}
	key := chanKey{project, channel}
	sh := e.shard(key)
	sh.mu.Lock()
	c := sh.getOrCreate(key)
	if c.presence == nil {
		c.presence = make(map[string]presenceEntry)
	}
	c.presence[clientID] = entry
	sh.mu.Unlock()
	return nil
}

// RemovePresence removes clientID's entry. user is not needed by this engine.
func (e *Engine) RemovePresence(ctx context.Context, project, channel, clientID, user string) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	key := chanKey{project, channel}
	sh := e.shard(key)
	sh.mu.Lock()
	if c := sh.channels[key]; c != nil {
		delete(c.presence, clientID)
		sh.deleteIfIdle(key, c)
	}
	sh.mu.Unlock()
	return nil
}

func (e *Engine) check(ctx context.Context) error {
	if e.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}

func (e *Engine) shard(key chanKey) *shard {
	return &e.shards[maphash.Comparable(e.seed, key)%numShards]
}

func (e *Engine) metaTTL(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return e.cfg.HistoryMetaTTL
}

// cleanupLoop sweeps expired data every CleanupInterval until Close.
func (e *Engine) cleanupLoop() {
	defer close(e.done)
	t := time.NewTicker(e.cfg.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.sweep(time.Now())
		}
	}
}

// sweep drops everything expired at now and forgets idle channels. It locks
// one shard at a time.
func (e *Engine) sweep(now time.Time) {
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		for key, c := range sh.channels {
			if s := c.liveStream(now); s != nil {
				s.dropExpired(now)
			}
			c.expirePresence(now)
			for k, r := range c.results {
				if !now.Before(r.expireAt) {
					delete(c.results, k)
				}
			}
			sh.deleteIfIdle(key, c)
		}
		sh.mu.Unlock()
	}
}

// getOrCreate returns the channel's state, creating it. Called with mu held.
func (sh *shard) getOrCreate(key chanKey) *chanState {
	c := sh.channels[key]
	if c == nil {
		c = &chanState{}
		sh.channels[key] = c
	}
	return c
}

// deleteIfIdle forgets the channel when nothing is left in it. Called with mu
// held.
func (sh *shard) deleteIfIdle(key chanKey, c *chanState) {
	if c.idle() && sh.channels[key] == c {
		delete(sh.channels, key)
	}
}

// liveStream returns the channel's stream, or nil (forgetting it) when there
// is none or its meta has expired: a stream that comes back gets a new epoch.
func (c *chanState) liveStream(now time.Time) *stream {
	if c.stream != nil && !now.Before(c.stream.expireAt) {
		c.stream = nil
	}
	return c.stream
}

func (c *chanState) expirePresence(now time.Time) {
	for id, p := range c.presence {
		if !p.expireAt.IsZero() && !now.Before(p.expireAt) {
			delete(c.presence, id)
		}
	}
	if len(c.presence) == 0 {
		c.presence = nil
	}
}

// dropExpired drops the expired prefix of the stream's publications.
func (s *stream) dropExpired(now time.Time) {
	n := 0
	for n < len(s.pubs) && !now.Before(s.pubs[n].expireAt) {
		n++
	}
	if n == 0 {
		return
	}
	clear(s.pubs[:n])
	s.pubs = s.pubs[n:]
	if len(s.pubs) == 0 {
		s.pubs = nil
	}
}

// newEpoch returns a random stream epoch.
func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b[:])
}

func cloneInfo(info *engine.ClientInfo) *engine.ClientInfo {
	if info == nil {
		return nil
	}
	c := *info
	c.ConnInfo = bytes.Clone(info.ConnInfo)
	c.ChanInfo = bytes.Clone(info.ChanInfo)
	return &c
}

func clonePub(p *engine.Publication) *engine.Publication {
	return &engine.Publication{
		Offset: p.Offset,
		Data:   bytes.Clone(p.Data),
		Info:   cloneInfo(p.Info),
		Tags:   maps.Clone(p.Tags),
	}
}
