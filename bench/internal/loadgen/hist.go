package loadgen

import (
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 10 minutes, with three
// significant digits.
const (
	histMin     = 1
	histSigFigs = 3
	numShards   = 16
	batchSize   = 128
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, maxLatencyUS, histSigFigs)
}

// Recorder collects latencies from many goroutines without a lock per value:
// each goroutine fills its own Batch and takes a shard's lock once per
// batchSize values. Merge gives the combined histogram at the end.
type Recorder struct {
	shards [numShards]struct {
		mu sync.Mutex
		h  *hdrhistogram.Histogram
		_  [40]byte // keep shards on separate cache lines
	}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	r := &Recorder{}
	for i := range r.shards {
		r.shards[i].h = newHistogram()
	}
	return r
}

// Batch buffers one goroutine's values. It is not safe for concurrent use.
type Batch struct {
	r     *Recorder
	shard int
	n     int
	vals  [batchSize]int64
}

// NewBatch returns a batch that flushes into shard (any int; it is reduced
// modulo the number of shards).
func (r *Recorder) NewBatch(shard int) *Batch {
	if shard < 0 {
		shard = -shard
	}
	return &Batch{r: r, shard: shard % numShards}
}

// Add records one latency in nanoseconds.
func (b *Batch) Add(ns int64) {
	us := ns / 1000
	if us < histMin {
		us = histMin
	}
	if us > maxLatencyUS {
		us = maxLatencyUS
	}
	b.vals[b.n] = us
	b.n++
	if b.n == batchSize {
		b.Flush()
	}
}

// Flush moves the buffered values into the recorder.
func (b *Batch) Flush() {
	if b.n == 0 {
		return
	}
	s := &b.r.shards[b.shard]
	s.mu.Lock()
	for _, v := range b.vals[:b.n] {
		_ = s.h.RecordValue(v) // values are clamped to the histogram's range
	}
	s.mu.Unlock()
	b.n = 0
}

// Merge returns every recorded value in one histogram.
func (r *Recorder) Merge() *hdrhistogram.Histogram {
	out := newHistogram()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		out.Merge(s.h)
		s.mu.Unlock()
	}
	return out
}

// Percentiles summarizes a latency histogram, in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Summarize returns h's percentiles in milliseconds, nil for an empty histogram.
func Summarize(h *hdrhistogram.Histogram) *Percentiles {
	if h.TotalCount() == 0 {
		return nil
	}
	ms := func(us int64) float64 { return round3(float64(us) / 1000) }
	return &Percentiles{
		Count: h.TotalCount(),
		Mean:  round3(h.Mean() / 1000),
		P50:   ms(h.ValueAtQuantile(50)),
		P95:   ms(h.ValueAtQuantile(95)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

func round3(f float64) float64 {
	return float64(int64(f*1000+0.5)) / 1000
}
