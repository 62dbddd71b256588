// Package parallel runs a function over indexes on a bounded number of goroutines.
package parallel

import (
	"sync"
	"sync/atomic"
)

// ForEach calls fn for 0 <= i < n on at most limit goroutines (in order on
// the caller's goroutine when limit < 2 or n < 2). A few workers take the
// indexes in turn rather than a goroutine per item: each new goroutine would
// grow its stack again on a deep call path. A panic in fn is re-raised in the
// caller's goroutine, after the other calls have ended.
func ForEach(n, limit int, fn func(i int)) {
	if limit < 2 || n < 2 {
		for i := range n {
			fn(i)
		}
		return
	}
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		panicked = make(chan any, 1)
	)
	for range min(n, limit) {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					select {
					case panicked <- p:
					default:
					}
				}
			}()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
	select {
	case p := <-panicked:
		panic(p)
	default:
	}
}
