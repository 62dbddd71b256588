package client

import (
	"sync"
	"time"
)

// writeQueue holds frames waiting to be written to one client. Pushing never
// blocks: when the queued bytes pass the limit the client is too slow.
//
// At most one writer is responsible for a queue at a time (active): the
// flusher or a goroutine doing blocking writes. A push to an idle queue makes
// the pusher schedule a writer; the writer keeps the queue until it finds it
// empty, so frames are written in order, by one writer, and none is forgotten.
type writeQueue struct {
	mu     sync.Mutex
	frames [][]byte
	size   int
	// since is when the oldest queued frame was queued.
	since  time.Time
	active bool
	closed bool
}

// push appends frame. It reports the queued size, whether the caller must
// schedule a writer (the queue was idle), and false if the queue is closed.
func (q *writeQueue) push(frame []byte) (size int, schedule, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, false, false
	}
	if len(q.frames) == 0 {
		q.since = time.Now()
	}
	q.frames = append(q.frames, frame)
	q.size += len(frame)
	if !q.active {
		q.active = true
		schedule = true
	}
	return q.size, schedule, true
}

// take moves queued frames, at least one and then as many as fit in max
// bytes, to dst, and tells when the oldest of them was queued. The caller
// must be the active writer. With nothing queued it gives the queue up
// (inactive), unless the queue is closed: then fin tells the caller to finish
// the connection.
func (q *writeQueue) take(dst [][]byte, max int) (frames [][]byte, since time.Time, fin bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.frames) == 0 {
		if q.closed {
			return dst, time.Time{}, true
		}
		q.active = false
		return dst, time.Time{}, false
	}
	n, bytes := 0, 0
	for n < len(q.frames) && (n == 0 || bytes+len(q.frames[n]) <= max) {
		bytes += len(q.frames[n])
		n++
	}
	dst = append(dst, q.frames[:n]...)
	since = q.since
	rest := copy(q.frames, q.frames[n:])
	clear(q.frames[rest:])
	q.frames = q.frames[:rest]
	if rest == 0 && cap(q.frames) > 64 {
		q.frames = nil // do not keep a burst's backing array on an idle connection
	}
	q.size -= bytes
	if rest > 0 {
		q.since = time.Now()
	}
	return dst, since, false
}

// release is called by the active writer after a write: it keeps the queue
// (again) when more frames are queued or the queue is closed, and otherwise
// gives it up.
func (q *writeQueue) release() (again bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.frames) > 0 || q.closed {
		return true
	}
	q.active = false
	return false
}

// close stops accepting frames; with drop the queued ones are discarded,
// otherwise they stay for the writer. It reports whether no writer is active:
// the caller must then finish the connection itself.
func (q *writeQueue) close(drop bool) (finish bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if drop {
		q.frames, q.size = nil, 0
	}
	if q.active {
		return false
	}
	q.active = true
	return true
}

// drop discards what is queued (the transport failed).
func (q *writeQueue) drop() {
	q.mu.Lock()
	q.frames, q.size = nil, 0
	q.mu.Unlock()
}
