package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/nodetest"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// The client's tests run it against a real node (memory engine) and a fake
// transport that collects what is written, as centrifuge's hub_test.go
// testTransport does: the state machine, its queue and its writers are real.

const waitFor = 5 * time.Second

// newTestNode starts a node with one project, "default", whose channels keep
// history (so subscriptions may be recoverable) and which connections may
// subscribe and publish to. edit changes the client configuration.
func newTestNode(t *testing.T, edit func(*config.Client)) *node.Node {
	t.Helper()
	return nodetest.New(t, nodetest.Options{
		Channels: structure.ChannelOptions{
			AllowSubscribeForClient: true,
			AllowPublishForClient:   true,
			HistorySize:             100,
			HistoryTTL:              duration.Duration(time.Minute),
		},
		Client: edit,
	})
}

// testTransport collects the frames written to it, in order. Write blocks
// while gate is closed (a peer that does not read) and fails with failWith
// once set.
type testTransport struct {
	mu       sync.Mutex
	stream   bytes.Buffer // every frame written, each followed by '\n'
	writes   int          // Write calls
	gate     chan struct{}
	failWith error
	newData  chan struct{} // signaled after each write

	closeMu sync.Mutex
	closes  []protocol.Disconnect
	// writtenAtClose is how many frames had been written at the first Close.
	writtenAtClose int
	closed         chan struct{} // closed at the first Close
}

func newTestTransport() *testTransport {
	return &testTransport{newData: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (t *testTransport) Name() string { return "test" }

// block makes Write wait until unblock (a slow peer).
func (t *testTransport) block() {
	t.mu.Lock()
	t.gate = make(chan struct{})
	t.mu.Unlock()
}

func (t *testTransport) unblock() {
	t.mu.Lock()
	if t.gate != nil {
		close(t.gate)
		t.gate = nil
	}
	t.mu.Unlock()
}

func (t *testTransport) fail(err error) {
	t.mu.Lock()
	t.failWith = err
	t.mu.Unlock()
}

func (t *testTransport) Write(frames [][]byte) error {
	t.mu.Lock()
	gate := t.gate
	t.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-t.closed: // a blocked write is interrupted by Close, as the real transports do
			return errors.New("test transport: closed")
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failWith != nil {
		return t.failWith
	}
	t.writes++
	for _, f := range frames {
		t.stream.Write(f)
		t.stream.WriteByte('\n')
	}
	t.signal()
	return nil
}

func (t *testTransport) signal() {
	select {
	case t.newData <- struct{}{}:
	default:
	}
}

func (t *testTransport) Close(d protocol.Disconnect) error {
	t.closeMu.Lock()
	defer t.closeMu.Unlock()
	if len(t.closes) == 0 {
		t.writtenAtClose = len(t.frames())
		close(t.closed)
	}
	t.closes = append(t.closes, d)
	return nil
}

// frames returns every frame written so far.
func (t *testTransport) frames() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out [][]byte
	for _, l := range bytes.Split(t.stream.Bytes(), []byte{'\n'}) {
		if len(l) > 0 {
			out = append(out, append([]byte(nil), l...))
		}
	}
	return out
}

// waitFrames waits until at least n frames were written and returns them.
func (t *testTransport) waitFrames(tb testing.TB, n int) [][]byte {
	tb.Helper()
	deadline := time.After(waitFor)
	for {
		if f := t.frames(); len(f) >= n {
			return f
		}
		select {
		case <-t.newData:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			tb.Fatalf("%d frames written, want %d", len(t.frames()), n)
		}
	}
}

// waitClosed waits for the first Close and returns its disconnect.
func (t *testTransport) waitClosed(tb testing.TB) protocol.Disconnect {
	tb.Helper()
	select {
	case <-t.closed:
	case <-time.After(waitFor):
		tb.Fatal("transport not closed")
	}
	t.closeMu.Lock()
	defer t.closeMu.Unlock()
	return t.closes[0]
}

// expectClose waits for the first Close and checks its code.
func (t *testTransport) expectClose(tb testing.TB, want protocol.Disconnect) {
	tb.Helper()
	if d := t.waitClosed(tb); d.Code != want.Code {
		tb.Fatalf("closed with %d, want %d", d.Code, want.Code)
	}
}

// newTransport returns a transport written by a blocking writer, or with
// direct by the flusher, and the testTransport that collects its writes.
func newTransport(direct bool) (Transport, *testTransport) {
	if direct {
		d := newDirectTransport()
		return d, d.testTransport
	}
	t := newTestTransport()
	return t, t
}

// directTransport is a testTransport the flusher writes without blocking
// (DirectWriter). TryWrite takes at most room bytes (negative: any number);
// what it cannot take is ErrWouldBlock, as a full socket buffer is.
type directTransport struct {
	*testTransport
	room     atomic.Int64
	tries    atomic.Int64
	rests    atomic.Int64
	messages atomic.Int64 // messages TryWrite was given
}

func newDirectTransport() *directTransport {
	d := &directTransport{testTransport: newTestTransport()}
	d.room.Store(-1)
	return d
}

// AppendMessage ends every frame with '\n', so the stream splits back into
// frames whatever way it was cut into writes.
func (d *directTransport) AppendMessage(dst []byte, frames [][]byte) []byte {
	for _, f := range frames {
		dst = append(dst, f...)
		dst = append(dst, '\n')
	}
	return dst
}

func (d *directTransport) TryWrite(b []byte) (int, error) {
	d.tries.Add(1)
	d.messages.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failWith != nil {
		return 0, d.failWith
	}
	n := len(b)
	if room := d.room.Load(); room >= 0 && int64(n) > room {
		n = int(room)
	}
	d.stream.Write(b[:n])
	if n < len(b) {
		return n, ErrWouldBlock
	}
	d.signal()
	return n, nil
}

func (d *directTransport) WriteRest(b []byte) error {
	d.rests.Add(1)
	d.mu.Lock()
	gate := d.gate
	d.mu.Unlock()
	if gate != nil {
		<-gate
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stream.Write(b)
	d.signal()
	return nil
}

// connect opens a client on tr and connects it as user.
func connect(t *testing.T, n *node.Node, tr Transport, user string) *Client {
	t.Helper()
	c, err := New(n, tr, "")
	if err != nil {
		t.Fatal(err)
	}
	if !c.HandleFrame(command(1, "connect", map[string]any{"token": nodetest.Token(t, user)})) {
		t.Fatal("connect: the client closed")
	}
	t.Cleanup(func() { c.Closed() })
	return c
}

// command encodes a client command frame.
func command(id uint32, method string, params any) []byte {
	b, err := json.Marshal(params)
	if err != nil {
		panic(err)
	}
	return []byte(`{"id":` + strconv.FormatUint(uint64(id), 10) + `,"` + method + `":` + string(b) + `}`)
}

// decode parses written frames.
func decode(tb testing.TB, frames [][]byte) []*protocol.Reply {
	tb.Helper()
	out := make([]*protocol.Reply, len(frames))
	for i, f := range frames {
		var r protocol.Reply
		if err := json.Unmarshal(f, &r); err != nil {
			tb.Fatalf("frame %q: %v", f, err)
		}
		out[i] = &r
	}
	return out
}

// publish publishes data into ch through the engine, as the server API does:
// the engine saves it in history and hands it to the node, which delivers it.
func publish(t *testing.T, n *node.Node, ch, data string) engine.StreamPosition {
	t.Helper()
	sp, _, err := n.Engine().Publish(context.Background(), "default", ch, []byte(data),
		engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func timeAfter() <-chan time.Time { return time.After(waitFor) }
