package memengine

import (
	"context"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

func (e *Engine) numChannels() int {
	n := 0
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		n += len(sh.channels)
		sh.mu.Unlock()
	}
	return n
}

// Everything expired is swept by the background goroutine, so channels that
// are never read again do not stay in memory.
func TestSweepForgetsExpiredChannels(t *testing.T) {
	ctx := context.Background()
	e, err := New(Config{CleanupInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	if err := e.Run(nopHandler{}); err != nil {
		t.Fatal(err)
	}

	short := 50 * time.Millisecond
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: short, HistoryMetaTTL: 2 * short}
	for i := range 100 {
		ch := "c" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if _, _, err := e.Publish(ctx, "p", ch, []byte("x"), opts); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.Publish(ctx, "p", ch+"-idem", []byte("x"), engine.PublishOptions{IdempotencyKey: "k", IdempotentResultTTL: short}); err != nil {
			t.Fatal(err)
		}
		if err := e.AddPresence(ctx, "p", ch+"-presence", "c1", &engine.ClientInfo{Client: "c1"}, short); err != nil {
			t.Fatal(err)
		}
		if _, err := e.History(ctx, "p", ch+"-read", engine.HistoryOptions{MetaTTL: short}); err != nil {
			t.Fatal(err)
		}
		if err := e.Subscribe("p", ch+"-sub"); err != nil {
			t.Fatal(err)
		}
		if err := e.Unsubscribe("p", ch+"-sub"); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.numChannels(); n != 400 {
		t.Fatalf("%d channels in memory, want 400", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.numChannels() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d channels still in memory", e.numChannels())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A subscribed channel stays; trimmed and expired publications release their
// slots.
func TestSweepKeepsLiveState(t *testing.T) {
	ctx := context.Background()
	e, err := New(Config{CleanupInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	if err := e.Subscribe("p", "sub"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Publish(ctx, "p", "hist", []byte("x"), engine.PublishOptions{HistorySize: 10, HistoryTTL: 30 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := e.numChannels(); n != 2 {
		t.Fatalf("%d channels in memory, want 2 (a subscription and a stream meta)", n)
	}
	sh := e.shard(chanKey{"p", "hist"})
	sh.mu.Lock()
	s := sh.channels[chanKey{"p", "hist"}].stream
	pubs, offset := len(s.pubs), s.offset
	sh.mu.Unlock()
	if pubs != 0 || offset != 1 {
		t.Fatalf("stream holds %d publications at offset %d, want 0 at 1", pubs, offset)
	}
}

type nopHandler struct{}

func (nopHandler) HandlePublication(string, string, *engine.Publication, engine.StreamPosition) {}
func (nopHandler) HandleJoin(string, string, *engine.ClientInfo)                                {}
func (nopHandler) HandleLeave(string, string, *engine.ClientInfo)                               {}
func (nopHandler) HandleLost()                                                                  {}
func (nopHandler) HandleControl([]byte)                                                         {}
