package metrics

import (
	"math"
	"sync/atomic"
	"time"
)

// Buckets are the timers' upper bounds, from 50 µs to 10 s; a last bucket
// holds everything slower. They serve Prometheus histograms directly and give
// Graphite's percentiles by interpolation.
var Buckets = []time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Timer records durations in fixed buckets with atomic counters only, so it
// is cheap enough for every delivery on the hot path.
type Timer struct {
	counts [18]atomic.Uint64 // len(Buckets)+1
	sum    atomic.Int64      // nanoseconds
	min    atomic.Int64      // since the last interval reset; math.MaxInt64 when none
	max    atomic.Int64
}

func newTimer() *Timer {
	t := &Timer{}
	t.min.Store(math.MaxInt64)
	return t
}

// Observe records one duration.
func (t *Timer) Observe(d time.Duration) {
	i := 0
	for i < len(Buckets) && d > Buckets[i] {
		i++
	}
	t.counts[i].Add(1)
	t.sum.Add(int64(d))
	for {
		m := t.min.Load()
		if int64(d) >= m || t.min.CompareAndSwap(m, int64(d)) {
			break
		}
	}
	for {
		m := t.max.Load()
		if int64(d) <= m || t.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// Since records the time elapsed since start.
func (t *Timer) Since(start time.Time) { t.Observe(time.Since(start)) }

// TimerSnapshot is a timer's state: cumulative bucket counts and sum, and the
// min and max since the last TakeInterval.
type TimerSnapshot struct {
	Counts   []uint64 // per bucket, not cumulative; the last is above every bound
	Count    uint64
	Sum      time.Duration
	Min, Max time.Duration
}

// Snapshot reads the timer without resetting anything.
func (t *Timer) Snapshot() TimerSnapshot {
	s := TimerSnapshot{Counts: make([]uint64, len(t.counts))}
	for i := range t.counts {
		s.Counts[i] = t.counts[i].Load()
		s.Count += s.Counts[i]
	}
	s.Sum = time.Duration(t.sum.Load())
	if m := t.min.Load(); m != math.MaxInt64 {
		s.Min = time.Duration(m)
	}
	s.Max = time.Duration(t.max.Load())
	return s
}

// TakeInterval returns the snapshot and resets min and max, for exporters that
// report per interval (Graphite).
func (t *Timer) TakeInterval() TimerSnapshot {
	s := t.Snapshot()
	t.min.Store(math.MaxInt64)
	t.max.Store(0)
	return s
}

// Sub returns the observations of s not in prev (an interval's worth).
func (s TimerSnapshot) Sub(prev TimerSnapshot) TimerSnapshot {
	out := TimerSnapshot{Counts: make([]uint64, len(s.Counts)), Min: s.Min, Max: s.Max}
	for i := range s.Counts {
		var p uint64
		if i < len(prev.Counts) {
			p = prev.Counts[i]
		}
		out.Counts[i] = s.Counts[i] - p
		out.Count += out.Counts[i]
	}
	out.Sum = s.Sum - prev.Sum
	return out
}

// Mean of the observations (0 when none).
func (s TimerSnapshot) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.Count)
}

// Quantile estimates the q-quantile (0..1) by linear interpolation inside
// its bucket, clamped to [Min, Max] when those are known.
func (s TimerSnapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	rank := q * float64(s.Count)
	var seen float64
	for i, c := range s.Counts {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo := time.Duration(0)
			if i > 0 {
				lo = Buckets[i-1]
			}
			hi := s.Max
			if i < len(Buckets) {
				hi = Buckets[i]
			}
			v := lo + time.Duration(float64(hi-lo)*(rank-seen)/float64(c))
			if s.Max > 0 && v > s.Max {
				v = s.Max
			}
			if v < s.Min {
				v = s.Min
			}
			return v
		}
		seen += float64(c)
	}
	return s.Max
}
