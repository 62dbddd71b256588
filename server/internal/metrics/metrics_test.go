package metrics_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/centrifugehq/centrifuge/server/internal/metrics"
)

func TestTimerQuantiles(t *testing.T) {
	r := metrics.New()
	tm := r.Timer("delivery", "delivery latency")
	for i := 1; i <= 1000; i++ {
		tm.Observe(time.Duration(i) * 10 * time.Microsecond) // 10 µs .. 10 ms, uniform
	}
	s := tm.Snapshot()
	if s.Count != 1000 || s.Min != 10*time.Microsecond || s.Max != 10*time.Millisecond {
		t.Fatalf("snapshot %+v", s)
	}
	if m := s.Mean(); m < 5000*time.Microsecond || m > 5010*time.Microsecond {
		t.Fatalf("mean %v", m)
	}
	// Buckets around 5 ms are 2.5–5 ms and 5–10 ms wide: allow the bucket's error.
	if p := s.Quantile(0.5); p < 2500*time.Microsecond || p > 10*time.Millisecond {
		t.Fatalf("p50 %v", p)
	}
	if p := s.Quantile(0.99); p < 5*time.Millisecond || p > 10*time.Millisecond {
		t.Fatalf("p99 %v", p)
	}
	iv := tm.TakeInterval()
	tm.Observe(time.Millisecond)
	d := tm.TakeInterval().Sub(iv)
	if d.Count != 1 || d.Min != time.Millisecond || d.Max != time.Millisecond {
		t.Fatalf("interval %+v", d)
	}
}

func TestSameMetricTwice(t *testing.T) {
	r := metrics.New()
	a := r.Counter("client.connects", "connections made", "transport", "websocket")
	b := r.Counter("client.connects", "", "transport", "websocket")
	if a != b {
		t.Fatal("the same name and labels must give the same counter")
	}
	if c := r.Counter("client.connects", "", "transport", "sse"); c == a {
		t.Fatal("other labels must give another counter")
	}
}

func TestPrometheusTextParses(t *testing.T) {
	r := metrics.New()
	r.Counter("client.connects", "connections made", "transport", "websocket").Inc(3)
	r.Counter("client.connects", "", "transport", "sse").Inc(1)
	r.Gauge("node.clients", "connected clients", func() float64 { return 7 })
	r.Gauge("node.channels", "channels", nil).Set(2.5)
	tm := r.Timer("client.command", "command duration", "method", "subscribe")
	tm.Observe(3 * time.Millisecond)
	tm.Observe(20 * time.Second)
	var buf bytes.Buffer
	if err := r.WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	want := map[string]dto.MetricType{
		"centrifuge_client_connects_total":  dto.MetricType_COUNTER,
		"centrifuge_node_clients":           dto.MetricType_GAUGE,
		"centrifuge_node_channels":          dto.MetricType_GAUGE,
		"centrifuge_client_command_seconds": dto.MetricType_HISTOGRAM,
	}
	for name, typ := range want {
		f := families[name]
		if f == nil || f.GetType() != typ {
			t.Fatalf("family %s: %v", name, f)
		}
	}
	if n := len(families["centrifuge_client_connects_total"].Metric); n != 2 {
		t.Fatalf("%d connect series", n)
	}
	h := families["centrifuge_client_command_seconds"].Metric[0].GetHistogram()
	if h.GetSampleCount() != 2 || math.Abs(h.GetSampleSum()-20.003) > 1e-9 {
		t.Fatalf("histogram %v", h)
	}
	if families["centrifuge_node_clients"].Metric[0].GetGauge().GetValue() != 7 {
		t.Fatal("computed gauge")
	}
}
