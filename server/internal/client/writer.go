package client

import (
	"errors"
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// How frames reach the network.
//
// A transport that can write without blocking (DirectWriter: WebSocket over
// TCP) is written by the flusher: a few goroutines shared by every
// connection. Fanning a publication out to N subscribers then costs N queue
// appends and N write(2) calls, with no goroutine woken per connection, and
// every connection idles without a writer goroutine. Publications that arrive
// while the flusher is busy are coalesced into one message per connection.
// When a socket's buffer is full, that connection's rest goes to a goroutine
// of its own that blocks (with the write timeout) until the client has read
// it, so a slow client never holds the flusher up.
//
// Other transports (SockJS, HTTP-streaming, SSE) write through their
// libraries, which block: a goroutine is started when frames are queued and
// ends when the queue is empty.

// maxMessage is how many bytes of frames one transport message carries at most
// (a single larger frame still goes out whole).
const maxMessage = 64 << 10

// ErrWouldBlock is returned by DirectWriter.TryWrite when the socket cannot
// take all of the message now.
var ErrWouldBlock = errors.New("write would block")

// DirectWriter is implemented by transports that can write a message without
// blocking. The client calls AppendMessage and TryWrite only from one writer
// at a time.
type DirectWriter interface {
	// AppendMessage appends frames encoded as one transport message to dst.
	AppendMessage(dst []byte, frames [][]byte) []byte
	// TryWrite writes as much of b as the socket takes without blocking:
	// n < len(b) comes with ErrWouldBlock, any other error is final.
	TryWrite(b []byte) (n int, err error)
	// WriteRest writes the rest of a message TryWrite could not finish,
	// blocking up to the transport's write timeout.
	WriteRest(b []byte) error
}

// flushBatch is how many connections a flusher takes from the ready list at once.
const flushBatch = 64

// flusher writes the queues of DirectWriter connections. There is one per
// processor (GOMAXPROCS at the first connection), each with its own ready
// list and goroutine; a connection always goes to the same one, so that
// fan-out on many cores does not contend on one lock.
type flusher struct {
	mu    sync.Mutex
	cond  *sync.Cond
	ready []readyConn
	head  int
	// oldest is when the connection at the head of the ready list was put
	// there (clock), 0 with the list empty: how far behind the flusher is.
	oldest atomic.Int64
	// fresh counts connections scheduled by others (new frames for an idle
	// queue) since the flusher last started or paused: publications keep
	// arriving while it is behind.
	fresh int
	// pausing is set while run waits for the network; wake ends the wait.
	pausing bool
	wake    chan struct{}
}

// readyConn is a connection on a flusher's ready list and when it was put there.
type readyConn struct {
	c  *Client
	at int64
}

// pauseAfter is how long the flusher writes, while publications keep
// arriving, before it pauses for the network. With one processor the Go
// scheduler polls the network only when nothing else is runnable (or every
// 10 ms from its monitor), so a flusher that never stops would delay
// incoming API calls and client frames by up to 10 ms; pausing lets them in,
// and what they publish meanwhile is coalesced into the next writes.
const pauseAfter = time.Millisecond

// pollPause is how long the flusher steps aside every pauseAfter when no
// new connection has become ready meanwhile (publications into a channel
// whose subscribers are all still waiting to be written add none): long
// enough for the scheduler to find the processor idle and poll the network,
// so that publications keep coming in and are coalesced into the writes
// (without it, one fan-out pass to 5,000 subscribers let in a publication
// per 10 ms, when the scheduler's monitor polled).
const pollPause = 20 * time.Microsecond

// maxPollEvery is the longest the flusher writes between two steps aside
// while they let nothing in.
const maxPollEvery = 16 * time.Millisecond

var (
	flushersOnce sync.Once
	flushers     []*flusher
	flusherSeed  = maphash.MakeSeed()
)

// flusherList returns the flushers, starting them on the first call.
func flusherList() []*flusher {
	flushersOnce.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			f := &flusher{wake: make(chan struct{}, 1)}
			f.cond = sync.NewCond(&f.mu)
			flushers = append(flushers, f)
			go f.run()
		}
	})
	return flushers
}

// flusherFor returns the flusher of a connection with the given hash.
func flusherFor(h uint64) *flusher {
	fs := flusherList()
	return fs[h%uint64(len(fs))]
}

// add puts c, whose queue it is now responsible for, on the ready list.
func (f *flusher) add(c *Client) {
	f.mu.Lock()
	f.push(c)
	f.fresh++
	pausing := f.pausing
	f.mu.Unlock()
	if pausing {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
	f.cond.Signal()
}

// readd puts c back on the ready list after a write left more queued.
func (f *flusher) readd(c *Client) {
	f.mu.Lock()
	f.push(c)
	f.mu.Unlock()
}

// push (f.mu held) appends c to the ready list.
func (f *flusher) push(c *Client) {
	at := clock()
	if f.oldest.Load() == 0 {
		f.oldest.Store(at)
	}
	f.ready = append(f.ready, readyConn{c: c, at: at})
}

func (f *flusher) run() {
	var (
		batch  []*Client
		frames [][]byte
		buf    []byte
	)
	busySince := time.Now()
	pause := time.NewTimer(time.Hour)
	pause.Stop()
	// prevStart and prevN are the start and size of the previous batch while
	// the flusher has had work since (0: it has waited for work).
	var prevStart int64
	prevN := 0
	pollEvery := pauseAfter
	for {
		f.mu.Lock()
		if f.head == len(f.ready) {
			for f.head == len(f.ready) {
				f.cond.Wait()
			}
			prevStart = 0
			busySince, f.fresh = time.Now(), 0
		} else if f.fresh == 0 && backlog.waiting.Load() == 0 && time.Since(busySince) > pollEvery {
			// Busy with connections that were already waiting (a fan-out
			// being written): nothing will wake a pause, so only step
			// aside long enough for the scheduler to poll the network.
			// (Publishers held back by the backlog wait for the writes,
			// not for the network: then the flusher does not stop.)
			// A sleep this short lasts up to a millisecond when the
			// network has nothing (the runtime's poll has millisecond
			// timeouts), so it is repeated each millisecond only while it
			// lets publications in, and backs off while it does not.
			calls := backlog.calls.Load()
			f.mu.Unlock()
			time.Sleep(pollPause)
			if backlog.calls.Load() != calls {
				pollEvery = pauseAfter
			} else {
				pollEvery = min(2*pollEvery, maxPollEvery)
			}
			f.mu.Lock()
			busySince = time.Now()
		} else if f.fresh > 0 && time.Since(busySince) > pauseAfter {
			f.fresh, f.pausing = 0, true
			f.mu.Unlock()
			pause.Reset(pauseAfter)
			select {
			case <-f.wake:
				pause.Stop()
			case <-pause.C:
			}
			f.mu.Lock()
			f.pausing = false
			busySince = time.Now()
		}
		n := min(len(f.ready)-f.head, flushBatch)
		for _, r := range f.ready[f.head : f.head+n] {
			batch = append(batch, r.c)
		}
		clear(f.ready[f.head : f.head+n])
		f.head += n
		if f.head == len(f.ready) {
			f.head = 0
			f.ready = f.ready[:0]
			if cap(f.ready) > 1<<16 {
				f.ready = nil
			}
		}
		f.mu.Unlock()
		// What getting through a connection of the ready list takes, from
		// one batch to the next: the writes and the time left to others
		// (the processor is shared with the publishers).
		start := clock()
		if prevStart != 0 {
			backlog.observeWrite(start-prevStart, prevN)
		}
		prevStart, prevN = start, len(batch)
		for i, c := range batch {
			frames, buf = c.flushDirect(frames, buf)
			batch[i] = nil
		}
		batch = batch[:0]
		if cap(buf) > 4*maxMessage {
			buf = nil
		}
		// The batch is written: the backlog is now what is left on the list.
		f.mu.Lock()
		if f.head == len(f.ready) {
			f.oldest.Store(0)
		} else {
			f.oldest.Store(f.ready[f.head].at)
		}
		f.mu.Unlock()
		backlog.relieve()
		// Let publishers and readers run between batches: what they queue
		// meanwhile is coalesced into the next writes.
		runtime.Gosched()
	}
}

// schedule makes a writer responsible for c's queue (push reported it idle).
func (c *Client) schedule() {
	if c.direct != nil {
		c.flusher.add(c)
		return
	}
	go c.drain(nil)
}

// flushDirect writes one message of c's queued frames without blocking; the
// flusher calls it with c's queue in its charge. frames and buf are scratch
// space, returned for reuse.
func (c *Client) flushDirect(frames [][]byte, buf []byte) ([][]byte, []byte) {
	frames, since, fin := c.q.take(frames[:0], maxMessage)
	if fin {
		go c.finish()
		return frames, buf
	}
	if len(frames) == 0 {
		return frames, buf
	}
	buf = c.direct.AppendMessage(buf[:0], frames)
	clear(frames)
	n, err := c.direct.TryWrite(buf)
	switch {
	case err == nil:
		c.node.ObserveWriteDelay(since)
		if c.q.release() {
			c.flusher.readd(c)
		}
	case errors.Is(err, ErrWouldBlock):
		// The client reads slower than we write: its own goroutine waits.
		c.node.CountWriteBlocked()
		rest := append([]byte(nil), buf[n:]...)
		go c.drain(rest)
	default:
		c.writeFailed(err)
	}
	return frames, buf
}

// drain writes c's queue with blocking writes until it is empty, starting
// with rest, the unwritten end of a message (DirectWriter only).
func (c *Client) drain(rest []byte) {
	if rest != nil {
		if err := c.direct.WriteRest(rest); err != nil {
			c.writeFailed(err)
			return
		}
	}
	var frames [][]byte
	for {
		var (
			since time.Time
			fin   bool
		)
		frames, since, fin = c.q.take(frames[:0], maxMessage)
		if fin {
			c.finish()
			return
		}
		if len(frames) == 0 {
			return // the queue is idle again: the next push schedules a writer
		}
		err := c.t.Write(frames)
		clear(frames)
		if err != nil {
			c.writeFailed(err)
			return
		}
		c.node.ObserveWriteDelay(since)
	}
}

// writeFailed is called by the active writer when the transport fails: the
// connection closes and the writer finishes it.
func (c *Client) writeFailed(err error) {
	c.log().Debug("write failed", "err", err)
	c.q.drop()
	c.close(protocol.DisconnectWriteError, false)
	c.finish()
}

// finish closes the transport with the connection's disconnect, once the
// queue has been written (or dropped), and marks the client done. Only the
// queue's last writer calls it.
func (c *Client) finish() {
	c.mu.Lock()
	d := c.closeD
	c.mu.Unlock()
	_ = c.t.Close(d)
	c.mu.Lock()
	c.finished = true
	if c.done != nil {
		close(c.done)
	}
	c.mu.Unlock()
}
