package client

import (
	"container/heap"
	"sync"
	"time"
)

// The connections' deadlines that come back for as long as they live (the
// next ping or pong check, the token's expiry) wait in two heaps, each
// served by one timer: 24 bytes a connection in each where a timer of its
// own and the function it runs cost about 160.
var (
	// pings runs each connection's next ping, or the check of the pong to
	// the last one (pong_timeout is shorter than ping_interval).
	pings deadlineQueue
	// expiries runs each connection's expiry: disconnect 3005 a grace delay
	// after its token expires, or the refresh proxy's turn.
	expiries deadlineQueue
)

func init() {
	pings.index = func(c *Client) *int32 { return &c.pingIdx }
	pings.run = func(c *Client, kind uint8) { c.pingDeadline(pingKind(kind)) }
	expiries.index = func(c *Client) *int32 { return &c.expireIdx }
	expiries.run = func(c *Client, kind uint8) { c.expire(expiryKind(kind)) }
}

// expiryKind is what a connection's expiry deadline runs.
type expiryKind uint8

const (
	expiryCheck   expiryKind = iota // disconnect 3005 if the connection's expiry has passed
	expiryRefresh                   // ask the refresh proxy to extend the connection
)

// pingKind is what a connection's ping deadline runs.
type pingKind uint8

const (
	pingSend  pingKind = iota // send a ping
	pingCheck                 // disconnect 3012 if the client sent nothing since the ping
)

type deadline struct {
	at   int64 // monoNow
	c    *Client
	kind uint8
}

// deadlineQueue is a min-heap of deadlines by time, at most one per
// connection (*index(c) is its index + 1, 0 when it has none; guarded by mu).
type deadlineQueue struct {
	index func(*Client) *int32
	// run runs a due deadline, in a goroutine of its own as a timer's
	// function would.
	run func(*Client, uint8)

	mu    sync.Mutex
	items []deadline
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
func (q *deadlineQueue) set(c *Client, d time.Duration, kind uint8) {
	at := monoNow() + int64(d)
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := int(*q.index(c)) - 1; i >= 0 {
		q.items[i].at, q.items[i].kind = at, kind
		heap.Fix(q, i)
	} else {
		heap.Push(q, deadline{at: at, c: c, kind: kind})
	}
	q.armLocked()
}

// cancel removes c's deadline, if it has one.
func (q *deadlineQueue) cancel(c *Client) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := int(*q.index(c)) - 1; i >= 0 {
		heap.Remove(q, i)
	}
	// The timer stays: a run that finds nothing due sets it for the next.
}

// armLocked (q.mu held) sets the timer for the earliest deadline unless it
// runs earlier already.
func (q *deadlineQueue) armLocked() {
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
		q.timer = time.AfterFunc(d, q.runDue)
		return
	}
	q.timer.Reset(d)
}

// runDue takes the deadlines that are due and runs each apart, as a timer
// of their own would.
func (q *deadlineQueue) runDue() {
	now := monoNow()
	q.mu.Lock()
	q.timerAt = 0
	var due []deadline
	for len(q.items) > 0 && q.items[0].at <= now {
		due = append(due, heap.Pop(q).(deadline))
	}
	q.armLocked()
	q.mu.Unlock()
	for _, d := range due {
		go q.run(d.c, d.kind)
	}
}

// heap.Interface, q.mu held.

func (q *deadlineQueue) Len() int           { return len(q.items) }
func (q *deadlineQueue) Less(i, j int) bool { return q.items[i].at < q.items[j].at }
func (q *deadlineQueue) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	*q.index(q.items[i].c) = int32(i + 1)
	*q.index(q.items[j].c) = int32(j + 1)
}

func (q *deadlineQueue) Push(x any) {
	d := x.(deadline)
	q.items = append(q.items, d)
	*q.index(d.c) = int32(len(q.items))
}

func (q *deadlineQueue) Pop() any {
	n := len(q.items) - 1
	d := q.items[n]
	q.items[n] = deadline{}
	q.items = q.items[:n]
	*q.index(d.c) = 0
	if c := cap(q.items); c > 1024 && n < c/4 {
		// Give back what a burst of connections left.
		q.items = append(make([]deadline, 0, c/2), q.items...)
	}
	return d
}
