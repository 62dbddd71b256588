package client

import (
	"strings"
	"testing"
)

func TestQueuePushSchedulesOnlyAnIdleQueue(t *testing.T) {
	var q writeQueue
	size, schedule, ok := q.push([]byte("abc"))
	if !ok || !schedule || size != 3 {
		t.Fatalf("first push: size %d schedule %v ok %v", size, schedule, ok)
	}
	// A writer is responsible now: more frames must not start another.
	size, schedule, ok = q.push([]byte("de"))
	if !ok || schedule || size != 5 {
		t.Fatalf("second push: size %d schedule %v ok %v", size, schedule, ok)
	}
}

func TestQueueTakeBoundsAMessage(t *testing.T) {
	var q writeQueue
	for _, f := range []string{"aaaa", "bbbb", "cccc", strings.Repeat("x", 20)} {
		q.push([]byte(f))
	}
	got, since, fin := q.take(nil, 9)
	if fin || since.IsZero() {
		t.Fatalf("fin %v since %v", fin, since)
	}
	if len(got) != 2 || string(got[0]) != "aaaa" || string(got[1]) != "bbbb" {
		t.Fatalf("took %q, want the frames that fit in 9 bytes, in order", got)
	}
	// A frame larger than the bound still goes, alone.
	got, _, _ = q.take(nil, 9)
	if len(got) != 1 || string(got[0]) != "cccc" {
		t.Fatalf("took %q", got)
	}
	got, _, _ = q.take(nil, 9)
	if len(got) != 1 || len(got[0]) != 20 {
		t.Fatalf("took %q, want the 20-byte frame whole", got)
	}
	if q.size != 0 {
		t.Fatalf("size %d after taking everything", q.size)
	}
	// Empty: the writer gives the queue up, and the next push schedules again.
	if got, _, fin = q.take(nil, 9); len(got) != 0 || fin {
		t.Fatalf("empty take: %q fin %v", got, fin)
	}
	if _, schedule, _ := q.push([]byte("z")); !schedule {
		t.Fatal("a push after the writer gave the queue up must schedule a writer")
	}
}

func TestQueueRelease(t *testing.T) {
	var q writeQueue
	q.push([]byte("a"))
	q.take(nil, 100)
	q.push([]byte("b")) // arrives while the writer writes "a"
	if !q.release() {
		t.Fatal("release with a frame queued must keep the queue")
	}
	q.take(nil, 100)
	if q.release() {
		t.Fatal("release of an empty queue must give it up")
	}
	if _, schedule, _ := q.push([]byte("c")); !schedule {
		t.Fatal("the queue was given up: a push must schedule")
	}
}

func TestQueueClose(t *testing.T) {
	t.Run("idle queue: the closer finishes", func(t *testing.T) {
		var q writeQueue
		if !q.close(false) {
			t.Fatal("no writer is active: close must tell the caller to finish")
		}
		if _, _, ok := q.push([]byte("late")); ok {
			t.Fatal("push into a closed queue accepted")
		}
	})
	t.Run("active writer writes the rest, then finishes", func(t *testing.T) {
		var q writeQueue
		q.push([]byte("a"))
		q.push([]byte("b"))
		if q.close(false) {
			t.Fatal("a writer is active: it, not the closer, finishes")
		}
		got, _, fin := q.take(nil, 100)
		if fin || len(got) != 2 {
			t.Fatalf("took %q fin %v: the queued frames must still be written", got, fin)
		}
		if !q.release() {
			t.Fatal("release of a closed queue must keep it, so the writer sees fin")
		}
		if _, _, fin := q.take(nil, 100); !fin {
			t.Fatal("empty closed queue: take must say fin")
		}
	})
	t.Run("drop discards", func(t *testing.T) {
		var q writeQueue
		q.push([]byte("a"))
		q.close(true)
		if got, _, fin := q.take(nil, 100); len(got) != 0 || !fin {
			t.Fatalf("took %q fin %v after close(drop)", got, fin)
		}
	})
}
