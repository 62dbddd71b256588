package client

import (
	"sync"
	"time"
)

// writeQueue holds frames waiting for the client's writer goroutine. Pushing
// never blocks: when the queued bytes pass the limit the client is too slow.
type writeQueue struct {
	mu     sync.Mutex
	frames [][]byte
	size   int
	closed bool
	notify chan struct{}
	// since is when the oldest queued frame was queued.
	since time.Time
}

func newWriteQueue() *writeQueue {
	return &writeQueue{notify: make(chan struct{}, 1)}
}

// push appends frame and reports the queued size, or false if the queue is closed.
func (q *writeQueue) push(frame []byte) (int, bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, false
	}
	if len(q.frames) == 0 {
		q.since = time.Now()
	}
	q.frames = append(q.frames, frame)
	q.size += len(frame)
	size := q.size
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return size, true
}

// take removes and returns every queued frame.
func (q *writeQueue) take() [][]byte {
	frames, _ := q.takeSince()
	return frames
}

// takeSince also returns when the oldest of them was queued.
func (q *writeQueue) takeSince() ([][]byte, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	frames := q.frames
	q.frames = nil
	q.size = 0
	return frames, q.since
}

// close stops accepting frames; what is queued stays for a final take.
func (q *writeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
