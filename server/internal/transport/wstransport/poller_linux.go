package wstransport

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// On Linux a connection is read without a goroutine of its own: a few
// pollers wait on epoll for every connection's socket, and a connection with
// bytes to read gets a goroutine only until it has read them (and handled
// the commands they complete). An idle connection then holds no goroutine
// stack and no read buffer: what it has of a frame in flight is all it
// keeps (frameParser).
//
// Each socket is in an epoll set level-triggered and one-shot: after an
// event the socket is disarmed until its reader has read all there is and
// re-arms it, so one goroutine at most reads a connection, in order.

// epConn is one connection read by a poller.
type epConn struct {
	id  uint64
	p   *poller
	raw syscall.RawConn
	t   *wsTransport
	c   *client.Client
	// mu is held by the goroutine reading the connection: the kernel's
	// one-shot arming already lets only one run at a time, mu makes that
	// visible to the memory model (and the race detector).
	mu     sync.Mutex
	parser frameParser
}

// poller waits on one epoll set. The set's own descriptor is in Go's
// network poller (it is readable when one of its sockets is): the poller's
// goroutine waits there like any reader, so no thread blocks in
// epoll_wait, and it wakes as soon as the scheduler polls the network.
type poller struct {
	epfd  int
	file  *os.File // owns epfd
	raw   syscall.RawConn
	mu    sync.Mutex
	conns map[uint64]*epConn
}

var pollers struct {
	once sync.Once
	list []*poller
	next atomic.Uint64 // connection ids; also spreads connections on pollers
}

// events of a connection's socket: readable, or the peer shut down.
const armEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

func startPollers() {
	n := min(max(runtime.GOMAXPROCS(0), 1), 4)
	for range n {
		p, err := newPoller()
		if err != nil {
			return // connections are read by goroutines (pollRead)
		}
		pollers.list = append(pollers.list, p)
		go p.loop()
	}
}

func newPoller() (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	// A non-blocking descriptor given to os.NewFile goes to Go's poller.
	f := os.NewFile(uintptr(fd), "wstransport-epoll")
	raw, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &poller{epfd: fd, file: f, raw: raw, conns: map[uint64]*epConn{}}, nil
}

// loop hands each connection that has something to read to a goroutine.
func (p *poller) loop() {
	events := make([]unix.EpollEvent, 256)
	for {
		var (
			n    int
			werr error
		)
		// Returning false waits until the set is readable.
		err := p.raw.Read(func(fd uintptr) bool {
			n, werr = unix.EpollWait(int(fd), events, 0)
			return n > 0 || (werr != nil && werr != unix.EINTR)
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			// Only a bad epoll descriptor fails here, and ours is never
			// closed: nothing to recover.
			panic("wstransport: epoll_wait: " + err.Error())
		}
		p.mu.Lock()
		for _, ev := range events[:n] {
			if e := p.conns[uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32]; e != nil {
				go e.run()
			}
		}
		p.mu.Unlock()
	}
}

// pollRead has the connection read by a poller from now on. It returns false
// when it cannot (no socket descriptor, no epoll): the caller then reads it
// with a goroutine.
func (h *Handler) pollRead(t *wsTransport, c *client.Client) bool {
	sc, ok := t.nc.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	pollers.once.Do(startPollers)
	if len(pollers.list) == 0 {
		return false
	}
	id := pollers.next.Add(1)
	p := pollers.list[id%uint64(len(pollers.list))]
	e := &epConn{id: id, p: p, raw: raw, t: t, c: c, parser: frameParser{limit: h.opts.ReadLimit}}
	stats := h.opts.Stats
	t.onClose = func() {
		e.unregister()
		stats.Disconnect(transport.NameWebSocket)
	}
	p.mu.Lock()
	p.conns[id] = e
	p.mu.Unlock()
	if err := e.arm(unix.EPOLL_CTL_ADD); err != nil {
		p.mu.Lock()
		delete(p.conns, id)
		p.mu.Unlock()
		t.onClose = nil
		return false
	}
	return true
}

// arm (re-)enables the one-shot event of the socket.
func (e *epConn) arm(op int) error {
	ev := unix.EpollEvent{Events: armEvents, Fd: int32(uint32(e.id)), Pad: int32(uint32(e.id >> 32))}
	var cerr error
	err := e.raw.Control(func(fd uintptr) { cerr = unix.EpollCtl(e.p.epfd, op, int(fd), &ev) })
	if err != nil {
		return err
	}
	return cerr
}

// unregister takes the connection out of its poller (the transport is
// closing; the socket is still open).
func (e *epConn) unregister() {
	e.p.mu.Lock()
	delete(e.p.conns, e.id)
	e.p.mu.Unlock()
	_ = e.raw.Control(func(fd uintptr) { _ = unix.EpollCtl(e.p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) })
}

// run reads what the socket has, handles the complete frames, and re-arms
// the socket; it ends the connection on end of stream, an error or a frame
// refused.
func (e *epConn) run() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		buf := e.parser.buffer()
		var (
			n    int
			rerr error
		)
		// Read holds the descriptor, so it cannot be closed and reused
		// meanwhile; f returning true means no waiting: the socket is
		// non-blocking and EAGAIN ends the turn.
		err := e.raw.Read(func(fd uintptr) bool {
			for {
				n, rerr = unix.Read(int(fd), buf[len(buf):cap(buf)])
				if rerr != unix.EINTR {
					return true
				}
			}
		})
		switch {
		case err != nil: // the transport was closed
			e.end()
			return
		case rerr == unix.EAGAIN:
			if len(e.parser.in) == 0 {
				e.parser.release()
			}
			if e.arm(unix.EPOLL_CTL_MOD) != nil {
				e.end()
			}
			return
		case rerr != nil || n <= 0: // reset, or end of stream
			e.end()
			return
		}
		stop, cerr := e.parser.read(n, e)
		if cerr != nil {
			_ = e.t.writeControl(websocket.CloseMessage, closePayload(cerr))
			e.end()
			return
		}
		if stop {
			e.end()
			return
		}
	}
}

// end stops reading: the client learns that the transport is gone (a no-op
// when it is closing already), which closes the transport and so takes the
// connection out of its poller (wsTransport.onClose).
func (e *epConn) end() {
	e.parser.reset()
	e.c.Closed()
	e.unregister()
}

func (e *epConn) message(data []byte) bool { return e.c.HandleFrame(data) }

func (e *epConn) ping(payload []byte) { _ = e.t.writeControl(websocket.PongMessage, payload) }

// closeFrame echoes the peer's close code, as RFC 6455 asks.
func (e *epConn) closeFrame(code int, _ string) {
	_ = e.t.writeControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""))
}

// closePayload is the close frame's payload for a refused frame, cut to the
// 125 bytes a control frame may carry.
func closePayload(e *closeError) []byte {
	b := websocket.FormatCloseMessage(e.code, e.text)
	if len(b) > 125 {
		b = b[:125]
	}
	return b
}
