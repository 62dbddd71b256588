package memengine_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/engine/enginetest"
	"github.com/centrifugehq/centrifuge/server/internal/engine/memengine"
)

func newEngine(t testing.TB, cfg memengine.Config) *memengine.Engine {
	t.Helper()
	e, err := memengine.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		return newEngine(t, memengine.Config{})
	})
}

func TestNewRejectsNegativeDurations(t *testing.T) {
	for _, cfg := range []memengine.Config{
		{HistoryMetaTTL: -1},
		{IdempotentResultTTL: -1},
		{CleanupInterval: -1},
	} {
		if _, err := memengine.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestRun(t *testing.T) {
	e := newEngine(t, memengine.Config{})
	defer e.Close(context.Background())
	if err := e.Run(nil); err == nil {
		t.Error("Run(nil) succeeded")
	}
	if err := e.Run(&handler{}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := e.Run(&handler{}); err == nil {
		t.Error("second Run succeeded")
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := e.Run(&handler{}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}

// handler counts events and can run a callback inside HandlePublication.
type handler struct {
	pubs    atomic.Int64
	leaves  atomic.Int64
	onPub   func(pub *engine.Publication)
	control func([]byte)
}

func (h *handler) HandlePublication(_, _ string, pub *engine.Publication, _ engine.StreamPosition) {
	h.pubs.Add(1)
	if h.onPub != nil {
		h.onPub(pub)
	}
}
func (h *handler) HandleJoin(string, string, *engine.ClientInfo) {}
func (h *handler) HandleLeave(string, string, *engine.ClientInfo) {
	h.leaves.Add(1)
}
func (h *handler) HandleLost() {}

func (h *handler) HandleControl(data []byte) {
	if h.control != nil {
		h.control(data)
	}
}

func TestPublishDeliversBeforeReturning(t *testing.T) {
	e := newEngine(t, memengine.Config{})
	defer e.Close(context.Background())
	h := &handler{}
	if err := e.Run(h); err != nil {
		t.Fatal(err)
	}
	if err := e.Subscribe("p", "c"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, _, err := e.Publish(context.Background(), "p", "c", []byte("x"), engine.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := h.pubs.Load(); got != int64(i) {
			t.Fatalf("after publish %d the handler saw %d publications", i, got)
		}
	}
}

// A handler may call back into the engine, even publishing to the channel it
// is handling (a hub disconnecting a slow client publishes its leave), without
// deadlocking; the nested event is delivered after the current one.
func TestHandlerMayCallEngine(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, memengine.Config{})
	defer e.Close(ctx)
	h := &handler{}
	var order []string
	h.onPub = func(pub *engine.Publication) {
		order = append(order, "pub "+string(pub.Data))
		if string(pub.Data) != "outer" {
			return
		}
		if _, _, err := e.Publish(ctx, "p", "c", []byte("inner"), engine.PublishOptions{}); err != nil {
			t.Errorf("nested Publish: %v", err)
		}
		if err := e.PublishLeave(ctx, "p", "c", &engine.ClientInfo{Client: "slow"}); err != nil {
			t.Errorf("nested PublishLeave: %v", err)
		}
		if _, err := e.History(ctx, "p", "c", engine.HistoryOptions{Limit: -1}); err != nil {
			t.Errorf("nested History: %v", err)
		}
		if err := e.Unsubscribe("p", "other"); err != nil {
			t.Errorf("nested Unsubscribe: %v", err)
		}
		order = append(order, "outer handled")
	}
	h.control = func([]byte) {
		if err := e.Subscribe("p", "other"); err != nil {
			t.Errorf("Subscribe from HandleControl: %v", err)
		}
	}
	if err := e.Run(h); err != nil {
		t.Fatal(err)
	}
	if err := e.Subscribe("p", "c"); err != nil {
		t.Fatal(err)
	}
	if err := e.PublishControl(ctx, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Publish(ctx, "p", "c", []byte("outer"), engine.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"pub outer", "outer handled", "pub inner"}
	if len(order) != len(want) {
		t.Fatalf("order %q, want %q", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %q, want %q", order, want)
		}
	}
	if got := h.leaves.Load(); got != 1 {
		t.Fatalf("%d leaves delivered, want 1", got)
	}
}

// The meta TTL of a publish without HistoryMetaTTL is the configured default.
func TestConfigHistoryMetaTTL(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, memengine.Config{HistoryMetaTTL: 100 * time.Millisecond})
	defer e.Close(ctx)
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: 50 * time.Millisecond}
	sp, _, err := e.Publish(ctx, "p", "c", []byte("x"), opts)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	res, err := e.History(ctx, "p", "c", engine.HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Position.Epoch == sp.Epoch || res.Position.Offset != 0 {
		t.Fatalf("position %+v after the default meta TTL, want a new stream (old %+v)", res.Position, sp)
	}
}

func TestPresenceWithoutExpiry(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, memengine.Config{CleanupInterval: 10 * time.Millisecond})
	defer e.Close(ctx)
	if err := e.AddPresence(ctx, "p", "c", "c1", nil, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	got, err := e.Presence(ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	if info := got["c1"]; info == nil || info.Client != "c1" {
		t.Fatalf("presence %v, want c1 with a default info", got)
	}
}

func TestCanceledContext(t *testing.T) {
	e := newEngine(t, memengine.Config{})
	defer e.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := e.Publish(ctx, "p", "c", nil, engine.PublishOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a canceled context: %v", err)
	}
}

// BenchmarkPublish publishes with history to a channel with a subscribed handler.
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	e := newEngine(b, memengine.Config{})
	defer e.Close(ctx)
	if err := e.Run(&handler{}); err != nil {
		b.Fatal(err)
	}
	if err := e.Subscribe("p", "c"); err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"text":"hello, world"}`)
	opts := engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Minute}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.Publish(ctx, "p", "c", data, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishParallel publishes with history to many channels at once,
// which the sharded locks let proceed in parallel.
func BenchmarkPublishParallel(b *testing.B) {
	ctx := context.Background()
	e := newEngine(b, memengine.Config{})
	defer e.Close(ctx)
	if err := e.Run(&handler{}); err != nil {
		b.Fatal(err)
	}
	const channels = 1024
	names := make([]string, channels)
	for i := range names {
		names[i] = "c" + strconv.Itoa(i)
		if err := e.Subscribe("p", names[i]); err != nil {
			b.Fatal(err)
		}
	}
	data := []byte(`{"text":"hello, world"}`)
	opts := engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Minute}
	var seq atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1))
		for pb.Next() {
			i++
			if _, _, err := e.Publish(ctx, "p", names[i%channels], data, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHistory reads a channel's 100 publications.
func BenchmarkHistory(b *testing.B) {
	ctx := context.Background()
	e := newEngine(b, memengine.Config{})
	defer e.Close(ctx)
	opts := engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Minute}
	for i := range 100 {
		if _, _, err := e.Publish(ctx, "p", "c", []byte(`{"n":`+strconv.Itoa(i)+`}`), opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := e.History(ctx, "p", "c", engine.HistoryOptions{Limit: -1})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Publications) != 100 {
			b.Fatalf("%d publications", len(res.Publications))
		}
	}
}
