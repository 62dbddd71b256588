package client

import (
	"context"
	"testing"
	"time"
)

// lagFlusher makes the first flusher look lag behind (oldest ready
// connection queued lag ago), and restores the gate when the test ends.
func lagFlusher(t *testing.T, max time.Duration) *flusher {
	t.Helper()
	f := flusherList()[0]
	old := backlog.writeCost.Load()
	SetMaxWriteLag(max)
	t.Cleanup(func() {
		SetMaxWriteLag(0)
		f.oldest.Store(0)
		backlog.writeCost.Store(old)
	})
	return f
}

func waitAsync(ctx context.Context, deliveries int) <-chan time.Duration {
	done := make(chan time.Duration, 1)
	go func() { done <- WaitWriters(ctx, deliveries) }()
	return done
}

// A publisher waits while a flusher is further behind than the limit, and
// goes on as soon as the flusher catches up.
func TestWaitWritersHoldsPublishersWhileBehind(t *testing.T) {
	f := lagFlusher(t, 5*time.Millisecond)
	f.oldest.Store(clock() - int64(50*time.Millisecond))
	if got := Backlog(); got < 50*time.Millisecond {
		t.Fatalf("Backlog() = %v, want >= 50ms", got)
	}
	done := waitAsync(context.Background(), 1)
	select {
	case d := <-done:
		t.Fatalf("returned after %v while the flusher was 50ms behind", d)
	case <-time.After(100 * time.Millisecond):
	}
	// The flusher writes a batch and finds its list empty.
	f.oldest.Store(0)
	backlog.relieve()
	select {
	case d := <-done:
		if d < 100*time.Millisecond {
			t.Fatalf("waited %v, want the 100ms it was held", d)
		}
	case <-time.After(time.Second / 2):
		t.Fatal("still waiting after the flusher caught up")
	}
}

// A flusher that is behind but younger than the limit holds nobody; with
// the limit 0 nobody ever waits.
func TestWaitWritersUnderLimitOrOff(t *testing.T) {
	f := lagFlusher(t, 100*time.Millisecond)
	f.oldest.Store(clock() - int64(10*time.Millisecond))
	if d := WaitWriters(context.Background(), 1); d != 0 {
		t.Fatalf("waited %v at 10ms behind with a 100ms limit", d)
	}
	SetMaxWriteLag(0)
	f.oldest.Store(clock() - int64(time.Minute))
	if d := WaitWriters(context.Background(), 1); d != 0 {
		t.Fatalf("waited %v with the wait off", d)
	}
}

// A publication to many subscribers is allowed the lag of one pass over
// them: it is not held back by a backlog that writing it would take anyway,
// and a waiter that allows more wakes before the lag is under the limit.
func TestWaitWritersAllowsOnePassForItsDeliveries(t *testing.T) {
	f := lagFlusher(t, 5*time.Millisecond)
	backlog.writeCost.Store(int64(10 * time.Microsecond))
	f.oldest.Store(clock() - int64(30*time.Millisecond))
	// 5,000 deliveries take 50ms to write: 30ms behind is fine.
	if d := WaitWriters(context.Background(), 5000); d != 0 {
		t.Fatalf("a 5,000-subscriber publication waited %v at 30ms behind", d)
	}
	f.oldest.Store(clock() - int64(200*time.Millisecond))
	many := waitAsync(context.Background(), 5000) // allows 50ms
	few := waitAsync(context.Background(), 1)     // allows 5ms
	time.Sleep(50 * time.Millisecond)
	f.oldest.Store(clock() - int64(20*time.Millisecond))
	backlog.relieve()
	select {
	case <-many:
	case <-time.After(time.Second / 2):
		t.Fatal("the 5,000-delivery publisher still waits at 20ms behind")
	}
	select {
	case d := <-few:
		t.Fatalf("the 1-delivery publisher went on after %v at 20ms behind", d)
	case <-time.After(50 * time.Millisecond):
	}
	f.oldest.Store(0)
	backlog.relieve()
	select {
	case <-few:
	case <-time.After(time.Second / 2):
		t.Fatal("the 1-delivery publisher still waits with nothing behind")
	}
}

// A wait ends with the caller's context, and never lasts beyond
// maxBacklogWait.
func TestWaitWritersBounded(t *testing.T) {
	f := lagFlusher(t, time.Millisecond)
	f.oldest.Store(clock() - int64(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if d := WaitWriters(ctx, 1); d < 30*time.Millisecond || d > maxBacklogWait/2 {
		t.Fatalf("waited %v with a 30ms context", d)
	}
	start := time.Now()
	WaitWriters(context.Background(), 1)
	if d := time.Since(start); d < maxBacklogWait || d > 3*maxBacklogWait {
		t.Fatalf("waited %v for a flusher that never catches up, want about %v", d, maxBacklogWait)
	}
}
