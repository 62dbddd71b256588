package metrics_test

import (
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/metrics"
)

// BenchmarkPublicationMetrics is what the node adds to each publication it
// fans out: two clock reads, a timer observation and two counter increments.
func BenchmarkPublicationMetrics(b *testing.B) {
	r := metrics.New()
	pubs := r.Counter("node.publications", "")
	deliveries := r.Counter("node.deliveries", "")
	t := r.Timer("node.broadcast", "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			start := time.Now()
			pubs.Inc(1)
			deliveries.Inc(1000)
			t.Since(start)
		}
	})
}
