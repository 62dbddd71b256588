// Package metrics is the server's one metrics layer: counters, gauges and
// timers with a name, a help text and optional labels, kept in a
// rcrowley/go-metrics registry (archived upstream, so this layer stays thin)
// and read by the exporters: Prometheus text (WritePrometheus), Graphite over
// UDP (package graphite) and the info API (Snapshot).
package metrics

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	gometrics "github.com/rcrowley/go-metrics"
)

// Label is one dimension of a metric, such as transport="websocket".
type Label struct {
	Key, Value string
}

// Kind of a metric.
type Kind uint8

const (
	KindCounter Kind = iota
	KindGauge
	KindTimer
)

// Metric is one registered metric as exporters see it.
type Metric struct {
	Name   string // dotted, e.g. "client.connects"
	Help   string
	Labels []Label
	Kind   Kind
	// One of these is set, by Kind.
	Counter *Counter
	Gauge   *Gauge
	Timer   *Timer
}

// Registry holds the metrics of one node. The zero value is not usable: New.
type Registry struct {
	reg gometrics.Registry

	mu   sync.RWMutex
	help map[string]string
	all  map[string]*Metric
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{reg: gometrics.NewRegistry(), help: map[string]string{}, all: map[string]*Metric{}}
}

func key(name string, labels []Label) string {
	var b strings.Builder
	b.WriteString(name)
	for _, l := range labels {
		b.WriteByte('|')
		b.WriteString(l.Key)
		b.WriteByte('=')
		b.WriteString(l.Value)
	}
	return b.String()
}

// pairs turns "k1", "v1", "k2", "v2" into labels; an odd count panics (a
// programming error caught by any test that touches the metric).
func pairs(kv []string) []Label {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("metrics: odd label list %q", kv))
	}
	out := make([]Label, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out = append(out, Label{kv[i], kv[i+1]})
	}
	return out
}

func (r *Registry) get(name, help string, kind Kind, kv []string, make func(*Metric)) *Metric {
	labels := pairs(kv)
	k := key(name, labels)
	r.mu.RLock()
	m, ok := r.all[k]
	r.mu.RUnlock()
	if ok {
		if m.Kind != kind {
			panic(fmt.Sprintf("metrics: %s registered with another kind", name))
		}
		return m
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.all[k]; ok {
		return m
	}
	if help != "" {
		r.help[name] = help
	}
	m = &Metric{Name: name, Labels: labels, Kind: kind}
	make(m)
	r.all[k] = m
	var v any
	switch kind {
	case KindCounter:
		v = m.Counter.c
	case KindGauge:
		v = m.Gauge
	case KindTimer:
		v = m.Timer
	}
	if err := r.reg.Register(k, v); err != nil {
		panic(fmt.Sprintf("metrics: register %s: %v", k, err))
	}
	return m
}

// Counter returns the counter name{labels}, creating it on first use.
// labels are key, value pairs.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	return r.get(name, help, KindCounter, labels, func(m *Metric) {
		m.Counter = &Counter{c: gometrics.NewCounter()}
	}).Counter
}

// Gauge returns the gauge name{labels}; fn, when not nil, computes its value
// at each read (e.g. the number of connections) instead of Set.
func (r *Registry) Gauge(name, help string, fn func() float64, labels ...string) *Gauge {
	return r.get(name, help, KindGauge, labels, func(m *Metric) {
		m.Gauge = &Gauge{fn: fn, g: gometrics.NewGaugeFloat64()}
	}).Gauge
}

// Timer returns the timer name{labels}, creating it on first use.
func (r *Registry) Timer(name, help string, labels ...string) *Timer {
	return r.get(name, help, KindTimer, labels, func(m *Metric) {
		m.Timer = newTimer()
	}).Timer
}

// Each calls fn for every metric, sorted by name then labels.
func (r *Registry) Each(fn func(m *Metric)) {
	r.mu.RLock()
	list := make([]*Metric, 0, len(r.all))
	for _, m := range r.all {
		list = append(list, m)
	}
	r.mu.RUnlock()
	sort.Slice(list, func(i, j int) bool {
		if list[i].Name != list[j].Name {
			return list[i].Name < list[j].Name
		}
		return key(list[i].Name, list[i].Labels) < key(list[j].Name, list[j].Labels)
	})
	for _, m := range list {
		fn(m)
	}
}

// Snapshot returns every counter's total and every gauge's value, keyed by
// name (with label values appended after dots), for the info API.
func (r *Registry) Snapshot() map[string]float64 {
	out := map[string]float64{}
	r.Each(func(m *Metric) {
		k := m.Name
		for _, l := range m.Labels {
			k += "." + l.Value
		}
		switch m.Kind {
		case KindCounter:
			out[k] = float64(m.Counter.Value())
		case KindGauge:
			out[k] = m.Gauge.Value()
		case KindTimer:
			s := m.Timer.Snapshot()
			out[k+".count"] = float64(s.Count)
			out[k+".mean_ms"] = float64(s.Mean()) / 1e6
		}
	})
	return out
}

// Help returns the help text registered for name.
func (r *Registry) Help(name string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.help[name]
}

// CounterFunc registers a counter whose total is read from fn (for counts
// kept elsewhere as atomics); fn must only grow.
func (r *Registry) CounterFunc(name, help string, fn func() int64, labels ...string) {
	r.get(name, help, KindCounter, labels, func(m *Metric) {
		m.Counter = &Counter{c: gometrics.NewCounter(), fn: fn}
	})
}

// Counter only goes up.
type Counter struct {
	c  gometrics.Counter
	fn func() int64
}

// Inc adds n (n >= 0).
func (c *Counter) Inc(n int64) { c.c.Inc(n) }

// Value is the total so far.
func (c *Counter) Value() int64 {
	if c.fn != nil {
		return c.fn()
	}
	return c.c.Count()
}

// Gauge is a value that goes up and down.
type Gauge struct {
	fn func() float64
	g  gometrics.GaugeFloat64
}

// Set sets the value of a gauge without a function.
func (g *Gauge) Set(v float64) { g.g.Update(v) }

// Value reads the gauge.
func (g *Gauge) Value() float64 {
	if g.fn != nil {
		return g.fn()
	}
	return g.g.Value()
}
