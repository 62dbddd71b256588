package client

import (
	"container/heap"
	"sync"
	"time"
)

// expiries holds every connection's next expiry deadline (the disconnect
// 3005 a grace delay after its token expires, or the refresh proxy's turn)
// in one heap served by one timer: 24 bytes a connection where a timer of
// its own and the function it runs cost about 160, and most connections
// carry a token that expires.
var expiries expiryQueue

// expiryKind is what a connection's expiry deadline runs.
type expiryKind uint8

const (
	expiryCheck   expiryKind = iota // disconnect 3005 if the connection's expiry has passed
	expiryRefresh                   // ask the refresh proxy to extend the connection
)

type expiryItem struct {
	at   int64 // monoNow
	c    *Client
	kind expiryKind
}

// expiryQueue is a min-heap of deadlines by time, at most one per
// connection (Client.expireIdx is its index + 1, 0 when it has none).
type expiryQueue struct {
	mu    sync.Mutex
	items []expiryItem
	timer *time.Timer
	// timerAt is when the timer is set to run (monoNow; 0: not set).
	timerAt int64
}

// monoBase anchors monoNow.
var monoBase = time.Now()

// monoNow is a monotonic clock in nanoseconds, the one timers run on:
// setting the wall clock does not move it.
func monoNow() int64 { return int64(time.Since(monoBase)) }

// set makes c's deadline run kind after d, in place of the one it had.
func (q *expiryQueue) set(c *Client, d time.Duration, kind expiryKind) {
	at := monoNow() + int64(d)
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := int(c.expireIdx) - 1; i >= 0 {
		q.items[i].at, q.items[i].kind = at, kind
		heap.Fix(q, i)
	} else {
		heap.Push(q, expiryItem{at: at, c: c, kind: kind})
	}
	q.armLocked()
}

// cancel removes c's deadline, if it has one.
func (q *expiryQueue) cancel(c *Client) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := int(c.expireIdx) - 1; i >= 0 {
		heap.Remove(q, i)
	}
	// The timer stays: a run that finds nothing due sets it for the next.
}

// armLocked (q.mu held) sets the timer for the earliest deadline unless it
// runs earlier already.
func (q *expiryQueue) armLocked() {
	if len(q.items) == 0 {
		return
	}
	at := q.items[0].at
	if q.timerAt != 0 && q.timerAt <= at {
		return
	}
	q.timerAt = at
	d := time.Duration(at - monoNow())
	if q.timer == nil {
		q.timer = time.AfterFunc(d, q.run)
		return
	}
	q.timer.Reset(d)
}

// run takes the deadlines that are due and runs each apart, as a timer of
// their own would.
func (q *expiryQueue) run() {
	now := monoNow()
	q.mu.Lock()
	q.timerAt = 0
	var due []expiryItem
	for len(q.items) > 0 && q.items[0].at <= now {
		due = append(due, heap.Pop(q).(expiryItem))
	}
	q.armLocked()
	q.mu.Unlock()
	for _, it := range due {
		go it.c.expire(it.kind)
	}
}

// heap.Interface, q.mu held.

func (q *expiryQueue) Len() int           { return len(q.items) }
func (q *expiryQueue) Less(i, j int) bool { return q.items[i].at < q.items[j].at }
func (q *expiryQueue) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	q.items[i].c.expireIdx = int32(i + 1)
	q.items[j].c.expireIdx = int32(j + 1)
}

func (q *expiryQueue) Push(x any) {
	it := x.(expiryItem)
	q.items = append(q.items, it)
	it.c.expireIdx = int32(len(q.items))
}

func (q *expiryQueue) Pop() any {
	n := len(q.items) - 1
	it := q.items[n]
	q.items[n] = expiryItem{}
	q.items = q.items[:n]
	it.c.expireIdx = 0
	if c := cap(q.items); c > 1024 && n < c/4 {
		// Give back what a burst of connections left.
		q.items = append(make([]expiryItem, 0, c/2), q.items...)
	}
	return it
}
