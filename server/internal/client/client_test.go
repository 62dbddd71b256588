package client

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// checkOrder asserts frames are the connect reply (id 1), the subscribe reply
// (id 2), then publications 1..n of ch in order, nothing lost or repeated.
func checkOrder(t *testing.T, frames [][]byte, ch string, n int) {
	t.Helper()
	rs := decode(t, frames)
	if len(rs) != n+2 {
		t.Fatalf("%d frames, want %d", len(rs), n+2)
	}
	if rs[0].ID != 1 || rs[0].Connect == nil || rs[1].ID != 2 || rs[1].Subscribe == nil {
		t.Fatalf("replies %s, %s", frames[0], frames[1])
	}
	for i, r := range rs[2:] {
		if r.Push == nil || r.Push.Channel != ch || r.Push.Pub == nil {
			t.Fatalf("frame %d: %s", i+2, frames[i+2])
		}
		if want := fmt.Sprint(i + 1); string(r.Push.Pub.Data) != want || r.Push.Pub.Offset != uint64(i+1) {
			t.Fatalf("publication %d: data %s offset %d, want %s", i, r.Push.Pub.Data, r.Push.Pub.Offset, want)
		}
	}
}

func subscribe(t *testing.T, c *Client, id uint32, params map[string]any) {
	t.Helper()
	if !c.HandleFrame(command(id, "subscribe", params)) {
		t.Fatal("subscribe: the client closed")
	}
}

// Blocking transports (SockJS, HTTP-streaming) are written by a goroutine that
// starts when frames are queued: replies and publications arrive in order.
func TestBlockingWriterKeepsOrder(t *testing.T) {
	n := newTestNode(t, nil)
	tr := newTestTransport()
	c := connect(t, n, tr, "1")
	if c.direct != nil {
		t.Fatal("a transport without TryWrite must not be written by the flusher")
	}
	subscribe(t, c, 2, map[string]any{"channel": "news"})
	const pubs = 300
	for i := 1; i <= pubs; i++ {
		publish(t, n, "news", fmt.Sprint(i))
	}
	checkOrder(t, tr.waitFrames(t, pubs+2), "news", pubs)
}

// A DirectWriter is written by the flusher; when the socket takes only part
// of a message the rest goes through WriteRest and the connection's own
// goroutine, and nothing is lost, repeated or reordered on the way.
func TestFlusherPartialWriteKeepsOrder(t *testing.T) {
	n := newTestNode(t, nil)
	tr := newDirectTransport()
	c := connect(t, n, tr, "1")
	if c.direct == nil {
		t.Fatal("a DirectWriter must be written by the flusher")
	}
	subscribe(t, c, 2, map[string]any{"channel": "news"})
	tr.waitFrames(t, 2)
	// The socket takes 7 bytes of each message the flusher writes: every one
	// is cut short, finished with WriteRest, and what was queued meanwhile is
	// written by the connection's goroutine until the queue is empty again.
	tr.room.Store(7)
	const pubs = 200
	for i := 1; i <= pubs; i++ {
		publish(t, n, "news", fmt.Sprint(i))
	}
	checkOrder(t, tr.waitFrames(t, pubs+2), "news", pubs)
	if tr.rests.Load() == 0 {
		t.Fatal("the cut message was not finished with WriteRest")
	}
}

// The flusher writes what is queued for a connection as one message, up to
// maxMessage bytes, and comes back for the rest.
func TestFlushDirectCoalesces(t *testing.T) {
	n := newTestNode(t, nil)
	tr := newDirectTransport()
	c, err := New(n, tr, "")
	if err != nil {
		t.Fatal(err)
	}
	// Queue three frames before the flusher is told (the first push makes
	// the caller responsible for scheduling a writer).
	for i, f := range []string{"a", "b", "c"} {
		if _, schedule, _ := c.q.push([]byte(f)); schedule != (i == 0) {
			t.Fatalf("push %d: schedule %v", i, schedule)
		}
	}
	c.schedule()
	if got := tr.waitFrames(t, 3); string(bytes.Join(got, nil)) != "abc" {
		t.Fatalf("written %q", got)
	}
	if got := tr.messages.Load(); got != 1 {
		t.Fatalf("%d messages for three queued frames, want 1", got)
	}

	// Two frames that do not fit in one message: the flusher writes one,
	// keeps the queue, and comes back for the other.
	big := func(b byte) []byte { return bytes.Repeat([]byte{b}, maxMessage/2+1) }
	c.q.push(big('x'))
	c.q.push(big('y'))
	c.schedule()
	got := tr.waitFrames(t, 5)
	if !bytes.Equal(got[3], big('x')) || !bytes.Equal(got[4], big('y')) {
		t.Fatal("the large frames were not written whole and in order")
	}
	if tr.messages.Load() != 3 {
		t.Fatalf("%d messages, want 3: a message must not pass maxMessage", tr.messages.Load())
	}
}

// A client whose queued bytes pass max_queue_size is disconnected with 3008
// at once, even while its writer is blocked on it.
func TestSlowClientIsDisconnected(t *testing.T) {
	n := newTestNode(t, func(cc *config.Client) { cc.MaxQueueSize = 4096 })
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			tr, base := newTransport(direct)
			c := connect(t, n, tr, "1")
			subscribe(t, c, 2, map[string]any{"channel": "firehose"})
			base.waitFrames(t, 2)
			base.block()
			if d, ok := tr.(*directTransport); ok {
				d.room.Store(0)
			}
			payload := `"` + strings.Repeat("x", 1000) + `"`
			for range 10 {
				publish(t, n, "firehose", payload)
			}
			base.expectClose(t, protocol.DisconnectSlow)
			base.unblock()
			waitDone(t, c)
			if base.writtenAtClose > 2 {
				t.Fatalf("%d frames written: the slow client's queue must be dropped, not written", base.writtenAtClose)
			}
		})
	}
}

func waitDone(t *testing.T, c *Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-timeAfter():
		t.Fatal("the client did not finish")
	}
}

// A failed write closes the connection with 3009 and the client finishes.
func TestWriteErrorClosesConnection(t *testing.T) {
	n := newTestNode(t, nil)
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			tr, base := newTransport(direct)
			c := connect(t, n, tr, "1")
			subscribe(t, c, 2, map[string]any{"channel": "news"})
			base.waitFrames(t, 2)
			base.fail(errors.New("connection reset by peer"))
			publish(t, n, "news", `1`)
			base.expectClose(t, protocol.DisconnectWriteError)
			waitDone(t, c)
			if c.User() != "1" || !c.isClosed() {
				t.Fatal("the client must be closed")
			}
		})
	}
}

// Disconnect writes what is already queued, then closes with the given code.
func TestDisconnectFlushesQueueFirst(t *testing.T) {
	n := newTestNode(t, nil)
	tr := newTestTransport()
	c := connect(t, n, tr, "1")
	subscribe(t, c, 2, map[string]any{"channel": "news"})
	tr.waitFrames(t, 2)
	tr.block()
	for i := 1; i <= 3; i++ {
		publish(t, n, "news", fmt.Sprint(i))
	}
	c.Disconnect(protocol.DisconnectForceNoReconnect)
	select {
	case <-tr.closed:
		t.Fatal("closed before the queued publications were written")
	default:
	}
	tr.unblock()
	tr.expectClose(t, protocol.DisconnectForceNoReconnect)
	waitDone(t, c)
	if tr.writtenAtClose != 5 {
		t.Fatalf("%d frames written before the close, want 5", tr.writtenAtClose)
	}
	checkOrder(t, tr.frames(), "news", 3)
	// Nothing more is queued or written after the close.
	publish(t, n, "news", `4`)
	if got := len(tr.frames()); got != 5 {
		t.Fatalf("%d frames after the close", got)
	}
}

func TestFrameLimits(t *testing.T) {
	n := newTestNode(t, func(cc *config.Client) { cc.MaxFrameSize = 1024 })
	for _, tc := range []struct {
		name      string
		connected bool
		frame     []byte
	}{
		{"too large", true, command(2, "publish", map[string]any{"channel": "news", "data": strings.Repeat("x", 2000)})},
		{"command before connect", false, command(1, "subscribe", map[string]any{"channel": "news"})},
		{"command without id", true, []byte(`{"subscribe":{"channel":"news"}}`)},
		{"not JSON", true, []byte(`{"id":2,`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTransport()
			var c *Client
			if tc.connected {
				c = connect(t, n, tr, "1")
			} else {
				var err error
				if c, err = New(n, tr, ""); err != nil {
					t.Fatal(err)
				}
			}
			if c.HandleFrame(tc.frame) {
				t.Fatal("the frame was accepted: the reader must stop")
			}
			tr.expectClose(t, protocol.DisconnectBadRequest)
		})
	}
	t.Run("unknown method is an error reply", func(t *testing.T) {
		tr := newTestTransport()
		c := connect(t, n, tr, "1")
		if !c.HandleFrame([]byte(`{"id":5}`)) {
			t.Fatal("closed on a command without method")
		}
		rs := decode(t, tr.waitFrames(t, 2))
		if rs[1].ID != 5 || rs[1].Error == nil || rs[1].Error.Code != protocol.ErrMethodNotFound.Code {
			t.Fatalf("reply %+v", rs[1])
		}
	})
}

// recoverMissed decides whether the publications after a client's position
// are all there; it never hands out a stream with a hole.
func TestRecoverMissed(t *testing.T) {
	pubs := func(from, to uint64) []*engine.Publication {
		var out []*engine.Publication
		for o := from; o <= to; o++ {
			out = append(out, &engine.Publication{Offset: o, Data: []byte(fmt.Sprint(o))})
		}
		return out
	}
	top := engine.StreamPosition{Offset: 5, Epoch: "e1"}
	for _, tc := range []struct {
		name      string
		req       protocol.SubscribeRequest
		hr        engine.HistoryResult
		maxPubs   int
		recovered bool
		offsets   []uint64
	}{
		{"all missed are there", protocol.SubscribeRequest{Offset: 2, Epoch: "e1"}, engine.HistoryResult{Publications: pubs(3, 5), Position: top}, 0, true, []uint64{3, 4, 5}},
		{"nothing missed", protocol.SubscribeRequest{Offset: 5, Epoch: "e1"}, engine.HistoryResult{Position: top}, 0, true, nil},
		{"no epoch given: any", protocol.SubscribeRequest{Offset: 4}, engine.HistoryResult{Publications: pubs(5, 5), Position: top}, 0, true, []uint64{5}},
		{"another epoch", protocol.SubscribeRequest{Offset: 2, Epoch: "e0"}, engine.HistoryResult{Publications: pubs(3, 5), Position: top}, 0, false, nil},
		{"client ahead of the stream", protocol.SubscribeRequest{Offset: 9, Epoch: "e1"}, engine.HistoryResult{Position: top}, 0, false, nil},
		{"more missed than allowed", protocol.SubscribeRequest{Offset: 1, Epoch: "e1"}, engine.HistoryResult{Publications: pubs(2, 5), Position: top}, 3, false, nil},
		{"history trimmed", protocol.SubscribeRequest{Offset: 1, Epoch: "e1"}, engine.HistoryResult{Publications: pubs(3, 5), Position: top}, 0, false, nil},
		{"a hole inside", protocol.SubscribeRequest{Offset: 2, Epoch: "e1"}, engine.HistoryResult{Publications: append(pubs(3, 3), pubs(5, 6)...), Position: top}, 0, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, got := recoverMissed(&tc.req, tc.hr, tc.maxPubs)
			if ok != tc.recovered || len(got) != len(tc.offsets) {
				t.Fatalf("recovered %v with %d publications, want %v with %v", ok, len(got), tc.recovered, tc.offsets)
			}
			for i, p := range got {
				if p.Offset != tc.offsets[i] || string(p.Data) != fmt.Sprint(tc.offsets[i]) {
					t.Fatalf("publication %d: offset %d data %s", i, p.Offset, p.Data)
				}
			}
		})
	}
}

// A recoverable subscription keeps the stream position of what it delivered:
// duplicates are dropped, and a gap or another epoch ends it with 2500 so
// that the client resubscribes and recovers.
func TestRecoverableSubscriptionTracksPosition(t *testing.T) {
	n := newTestNode(t, nil)
	tr := newTestTransport()
	c := connect(t, n, tr, "1")
	subscribe(t, c, 2, map[string]any{"channel": "chat", "recoverable": true})
	rs := decode(t, tr.waitFrames(t, 2))
	epoch := rs[1].Subscribe.Epoch
	if !rs[1].Subscribe.Recoverable || epoch == "" {
		t.Fatalf("subscribe %+v", rs[1].Subscribe)
	}
	deliver := func(offset uint64, epoch string) {
		n.HandlePublication("default", "chat", &engine.Publication{Offset: offset, Data: []byte(fmt.Sprint(offset))},
			engine.StreamPosition{Offset: offset, Epoch: epoch})
	}
	position := func() (uint64, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		s := c.subs.get("chat")
		if s == nil {
			return 0, false
		}
		return s.offset, true
	}
	deliver(1, epoch)
	deliver(1, epoch) // a duplicate
	deliver(2, epoch)
	frames := tr.waitFrames(t, 4)
	if off, ok := position(); !ok || off != 2 {
		t.Fatalf("position %d (subscribed %v), want 2", off, ok)
	}
	deliver(4, epoch) // 3 was lost
	frames = tr.waitFrames(t, 5)
	rs = decode(t, frames)
	if p := rs[4].Push; p == nil || p.Unsubscribe == nil || p.Unsubscribe.Code != protocol.UnsubscribeCodeInsufficient {
		t.Fatalf("after a gap: %s, want unsubscribe %d", frames[4], protocol.UnsubscribeCodeInsufficient)
	}
	if _, ok := position(); ok {
		t.Fatal("the subscription with a gap is still there")
	}
	for i, want := range []uint64{1, 2} {
		if p := rs[2+i].Push; p == nil || p.Pub == nil || p.Pub.Offset != want {
			t.Fatalf("frame %d: %s, want publication %d", 2+i, frames[2+i], want)
		}
	}

	// Another epoch: the stream was lost, the same.
	subscribe(t, c, 3, map[string]any{"channel": "chat", "recoverable": true})
	tr.waitFrames(t, 6)
	deliver(1, "another-epoch")
	frames = tr.waitFrames(t, 7)
	if r := decode(t, frames[6:])[0]; r.Push == nil || r.Push.Unsubscribe == nil {
		t.Fatalf("after an epoch change: %s", frames[6])
	}

	// Without recoverable, offsets are not checked: everything is delivered.
	subscribe(t, c, 4, map[string]any{"channel": "plain"})
	tr.waitFrames(t, 8)
	n.HandlePublication("default", "plain", &engine.Publication{Offset: 7, Data: []byte(`7`)}, engine.StreamPosition{Offset: 7, Epoch: "x"})
	n.HandlePublication("default", "plain", &engine.Publication{Offset: 3, Data: []byte(`3`)}, engine.StreamPosition{Offset: 3, Epoch: "y"})
	rs = decode(t, tr.waitFrames(t, 10)[8:])
	if rs[0].Push.Pub.Offset != 7 || rs[1].Push.Pub.Offset != 3 {
		t.Fatalf("plain subscription: %+v %+v", rs[0].Push.Pub, rs[1].Push.Pub)
	}
}

// Resubscribing with recover returns what was missed since the position; from
// another epoch it is not recovered (the current stream is sent whole).
func TestSubscribeRecovers(t *testing.T) {
	n := newTestNode(t, nil)
	tr := newTestTransport()
	c := connect(t, n, tr, "1")
	subscribe(t, c, 2, map[string]any{"channel": "room", "recoverable": true})
	first := decode(t, tr.waitFrames(t, 2))[1].Subscribe
	publish(t, n, "room", `1`)
	tr.waitFrames(t, 3)
	c.Closed()
	waitDone(t, c)
	for i := 2; i <= 4; i++ {
		publish(t, n, "room", fmt.Sprint(i))
	}

	tr2 := newTestTransport()
	c2 := connect(t, n, tr2, "1")
	subscribe(t, c2, 2, map[string]any{"channel": "room", "recoverable": true, "recover": true, "offset": 1, "epoch": first.Epoch})
	r := decode(t, tr2.waitFrames(t, 2))[1].Subscribe
	if !r.WasRecovering || !r.Recovered || r.Offset != 4 || r.Epoch != first.Epoch {
		t.Fatalf("subscribe %+v", r)
	}
	if len(r.Publications) != 3 {
		t.Fatalf("%d recovered publications, want 3", len(r.Publications))
	}
	for i, p := range r.Publications {
		if p.Offset != uint64(i+2) {
			t.Fatalf("recovered offset %d, want %d", p.Offset, i+2)
		}
	}
	// Live delivery continues from the recovered position.
	publish(t, n, "room", `5`)
	if p := decode(t, tr2.waitFrames(t, 3))[2].Push; p == nil || p.Pub == nil || p.Pub.Offset != 5 {
		t.Fatalf("after recovery: %+v", p)
	}

	tr3 := newTestTransport()
	c3 := connect(t, n, tr3, "1")
	subscribe(t, c3, 2, map[string]any{"channel": "room", "recoverable": true, "recover": true, "offset": 1, "epoch": "lost"})
	r = decode(t, tr3.waitFrames(t, 2))[1].Subscribe
	if !r.WasRecovering || r.Recovered || r.Epoch != first.Epoch || r.Offset != 5 {
		t.Fatalf("recovery from another epoch: %+v", r)
	}
	// The client's stream is lost, so nothing is recovered; what the current
	// stream holds from its start is delivered, flagged as not recovered.
	if len(r.Publications) != 5 || r.Publications[0].Offset != 1 || r.Publications[4].Offset != 5 {
		t.Fatalf("recovery from another epoch: %d publications", len(r.Publications))
	}
}

var _ node.Conn = (*Client)(nil)
