package parallel_test

import (
	"sync/atomic"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/parallel"
)

func TestForEachCallsEveryIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, limit int }{{0, 4}, {1, 4}, {10, 1}, {100, 4}, {3, 1000}} {
		counts := make([]atomic.Int32, tc.n)
		var running, peak atomic.Int32
		parallel.ForEach(tc.n, tc.limit, func(i int) {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			counts[i].Add(1)
			running.Add(-1)
		})
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n=%d limit=%d: index %d called %d times", tc.n, tc.limit, i, c)
			}
		}
		if p := int(peak.Load()); p > max(tc.limit, 1) {
			t.Fatalf("n=%d limit=%d: %d at once", tc.n, tc.limit, p)
		}
	}
}

func TestForEachReraisesPanic(t *testing.T) {
	var done atomic.Int32
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v", p)
		}
		if done.Load() != 99 {
			t.Fatalf("%d other calls ran", done.Load())
		}
	}()
	parallel.ForEach(100, 8, func(i int) {
		if i == 42 {
			panic("boom")
		}
		done.Add(1)
	})
	t.Fatal("no panic")
}
