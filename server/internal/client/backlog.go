package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Backpressure for publishers.
//
// A publication queued for a subscriber waits on its flusher's ready list
// until the flusher writes it. When publishers outrun the flushers (one
// core shared by the API handlers that queue and the flushers that write),
// that list grows without bound and every later publication waits behind
// it: throughput is kept, latency is not. WaitWriters lets a publisher
// (the server API's publish and broadcast) wait, before it publishes, until
// no flusher is further behind than the configured lag, so a node that
// cannot keep up slows its publishers down instead of its deliveries.
// Connections whose socket is full (slow clients) are written by their own
// goroutine, off the ready lists: they never hold publishers back.

// epoch is the origin of clock.
var epoch = time.Now()

// clock is a monotonic time in nanoseconds, never 0.
func clock() int64 { return int64(time.Since(epoch)) + 1 }

// maxBacklogWait bounds one wait: a publisher waits at most this long, then
// publishes anyway.
const maxBacklogWait = time.Second

type backlogGate struct {
	// max is the lag allowed before publishers wait, in nanoseconds; 0: off.
	max     atomic.Int64
	waiting atomic.Int32
	// calls counts WaitWriters calls: publications of the server API.
	calls atomic.Uint64
	// writeCost is how long a flusher with work takes per connection of
	// its ready list, the time the processor gives others included (a moving
	// average, nanoseconds).
	writeCost atomic.Int64
	mu        sync.Mutex
	// relief is closed (and replaced) when the lag falls under what a
	// waiter allows; allowed is the largest lag a waiter allows (mu).
	relief  chan struct{}
	allowed atomic.Int64
}

var backlog backlogGate

// SetMaxWriteLag sets how far behind (the age of the oldest connection
// waiting for a flusher) the writers may fall before WaitWriters makes
// publishers wait; 0 turns the wait off.
func SetMaxWriteLag(d time.Duration) { backlog.max.Store(int64(d)) }

// Backlog is how far behind the flushers are: the age of the oldest
// connection waiting to be written (0 when none waits).
func Backlog() time.Duration {
	return time.Duration(backlog.lag(clock()))
}

// lag returns the age of the oldest ready connection of every flusher.
func (g *backlogGate) lag(now int64) int64 {
	var oldest int64
	for _, f := range flusherList() {
		if at := f.oldest.Load(); at != 0 && (oldest == 0 || at < oldest) {
			oldest = at
		}
	}
	if oldest == 0 {
		return 0
	}
	return now - oldest
}

// WaitWriters returns when the flushers are no more than the configured lag
// behind, ctx is done, or it has waited maxBacklogWait. It reports how long
// it waited. deliveries is how many local deliveries the caller is about to
// queue: a publication into a channel with many subscribers takes one pass
// of the flushers over them whatever the backlog, and what arrives during
// that pass is written with it (one message per connection), so the lag
// allowed is at least what writing that many connections takes.
func WaitWriters(ctx context.Context, deliveries int) time.Duration {
	g := &backlog
	g.calls.Add(1)
	max := g.max.Load()
	if max == 0 {
		return 0
	}
	if pass := int64(deliveries) * g.writeCost.Load(); pass > max {
		max = pass
	}
	start := clock()
	if g.lag(start) <= max {
		return 0
	}
	timer := time.NewTimer(maxBacklogWait)
	defer timer.Stop()
	for {
		g.mu.Lock()
		if g.relief == nil {
			g.relief = make(chan struct{})
		}
		relief := g.relief
		if max > g.allowed.Load() {
			g.allowed.Store(max)
		}
		g.waiting.Add(1)
		g.mu.Unlock()
		// Looked at again after registering, so that a flusher that caught
		// up meanwhile either is seen here or sees the waiter.
		now := clock()
		if g.lag(now) <= max {
			g.waiting.Add(-1)
			return time.Duration(now - start)
		}
		select {
		case <-relief:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return time.Duration(clock() - start)
		case <-timer.C:
			g.waiting.Add(-1)
			return time.Duration(clock() - start)
		}
	}
}

// observeWrite updates the write cost with a batch of n connections got through in d.
func (g *backlogGate) observeWrite(d int64, n int) {
	if n == 0 {
		return
	}
	per := d / int64(n)
	old := g.writeCost.Load()
	g.writeCost.Store(old + (per-old)/8)
}

// relieve wakes the waiting publishers once the lag is under what one of
// them allows (each looks again); a flusher calls it after each batch it
// writes.
func (g *backlogGate) relieve() {
	if g.waiting.Load() == 0 || g.lag(clock()) > g.allowed.Load() {
		return
	}
	g.mu.Lock()
	if g.relief != nil {
		close(g.relief)
		g.relief = nil
		g.allowed.Store(0)
	}
	g.mu.Unlock()
}
