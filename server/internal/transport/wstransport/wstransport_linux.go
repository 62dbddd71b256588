package wstransport

import (
	"syscall"
	"unsafe"

	"github.com/centrifugehq/centrifuge/server/internal/client"
)

// clientTransport returns t as the client writes it: on Linux a connection on
// a socket is a directTransport, written by the client's flusher without
// blocking; anything else (no descriptor) is written with blocking writes.
func clientTransport(t *wsTransport) client.Transport {
	sc, ok := t.nc.(syscall.Conn)
	if !ok {
		return t
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return t
	}
	d := directTransport{wsTransport: t, fd: -1}
	if err := raw.Control(func(fd uintptr) { d.fd = int(fd) }); err != nil || d.fd < 0 {
		return t
	}
	return d
}

// directTransport is a wsTransport on a socket: the client's flusher writes
// it without blocking (client.DirectWriter).
type directTransport struct {
	*wsTransport
	fd int // the socket's descriptor, owned by nc
}

var _ client.DirectWriter = directTransport{}

// TryWrite writes what the socket takes of b now, with one send(2).
func (t directTransport) TryWrite(b []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.closeSent || t.partial {
		return 0, errClosed
	}
	// The descriptor is written directly (it is non-blocking, and it is not
	// closed while wmu is held and closeSent is false: only Close closes it).
	var (
		n   int
		err error
	)
	for {
		n, err = send(t.fd, b)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err == syscall.EAGAIN || (err == nil && n < len(b)):
		t.partial = true
		return n, client.ErrWouldBlock
	case err != nil:
		return n, err
	}
	return n, nil
}

// WriteRest writes the end of the message TryWrite left partial.
func (t directTransport) WriteRest(b []byte) error { return t.writeBlocking(b, true) }

// send is send(2) with MSG_DONTWAIT: on a socket it is write(2) without the
// file layer's work (position lock, notifications), which shows in the
// fan-out profile. It never blocks, so it is a raw system call: the Go
// scheduler does not hand the processor to another thread meanwhile, which,
// one send after another, kept its monitor thread waking every 20 µs. It
// returns the bytes sent (0 on error). MSG_NOSIGNAL: a peer gone away is
// EPIPE, not SIGPIPE.
func send(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
