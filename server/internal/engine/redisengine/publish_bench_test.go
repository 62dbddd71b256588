package redisengine_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

// The publish path without history: one PUBLISH, no Lua script (the path of
// channels without history_size, as in the bench/ scenarios). Each benchmark
// waits for the last delivery to the subscribed handler; compare with
// BenchmarkPublish (history) and memengine's.

// BenchmarkPublishNoHistory publishes to one subscribed channel.
func BenchmarkPublishNoHistory(b *testing.B) {
	ctx := context.Background()
	e, h := benchEngine(b)
	if err := e.Subscribe("p", "c"); err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"text":"hello, world"}`)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, _, err := e.Publish(ctx, "p", "c", data, engine.PublishOptions{}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for range n {
		<-h.tick
	}
}

// BenchmarkPublishNoHistoryParallel publishes to many subscribed channels
// from parallel goroutines (go-redis pipelines them over its pool).
func BenchmarkPublishNoHistoryParallel(b *testing.B) {
	ctx := context.Background()
	e, h := benchEngine(b)
	const channels = 1024
	names := make([]string, channels)
	for i := range names {
		names[i] = "c" + strconv.Itoa(i)
		if err := e.Subscribe("p", names[i]); err != nil {
			b.Fatal(err)
		}
	}
	data := []byte(`{"text":"hello, world"}`)
	var seq, published atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1))
		for pb.Next() {
			i++
			if _, _, err := e.Publish(ctx, "p", names[i%channels], data, engine.PublishOptions{}); err != nil {
				b.Error(err)
				return
			}
			published.Add(1)
		}
	})
	for range published.Load() {
		<-h.tick
	}
}
