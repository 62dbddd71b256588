// Package graphite exports a metrics registry to Graphite over UDP, as the
// original Centrifuge did: every interval, plaintext lines
// "<prefix>.<node>.<name> <value> <unix-ts>" packed into datagrams that never
// exceed MaxPacketSize. Counters give .count (this interval) and .rate (per
// second); gauges their value; timers .count, .min, .max, .mean, .p50, .p99
// in milliseconds over the interval.
package graphite

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/metrics"
)

// Config of the exporter.
type Config struct {
	// Address is host:port of the Graphite (carbon) UDP listener.
	Address string
	// Prefix starts every path (default "centrifuge").
	Prefix string
	// Node is the node's name, the path element after the prefix.
	Node string
	// Interval between flushes (default 10 s).
	Interval time.Duration
	// MaxPacketSize bounds one datagram (default 512 bytes).
	MaxPacketSize int
	Logger        *slog.Logger
}

// Exporter sends a registry's metrics to Graphite.
type Exporter struct {
	cfg      Config
	reg      *metrics.Registry
	conn     net.Conn
	counters map[*metrics.Counter]int64
	timers   map[*metrics.Timer]metrics.TimerSnapshot
	last     time.Time
}

// New validates cfg and opens the UDP socket.
func New(cfg Config, reg *metrics.Registry) (*Exporter, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "centrifuge"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.MaxPacketSize <= 0 {
		cfg.MaxPacketSize = 512
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	conn, err := net.Dial("udp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("graphite: %w", err)
	}
	return &Exporter{cfg: cfg, reg: reg, conn: conn, counters: map[*metrics.Counter]int64{},
		timers: map[*metrics.Timer]metrics.TimerSnapshot{}, last: time.Now()}, nil
}

// Run flushes every interval until ctx ends, then flushes once more and
// closes the socket.
func (e *Exporter) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	defer e.conn.Close()
	for {
		select {
		case <-ctx.Done():
			e.Flush(time.Now())
			return nil
		case now := <-t.C:
			e.Flush(now)
		}
	}
}

// Sanitize keeps a path element to letters, digits, '-' and '_'.
func Sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

func (e *Exporter) path(m *metrics.Metric) string {
	parts := []string{Sanitize(e.cfg.Prefix), Sanitize(e.cfg.Node)}
	for _, p := range strings.Split(m.Name, ".") {
		parts = append(parts, Sanitize(p))
	}
	for _, l := range m.Labels {
		parts = append(parts, Sanitize(l.Value))
	}
	return strings.Join(parts, ".")
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// Lines renders one interval ending at now.
func (e *Exporter) Lines(now time.Time) []string {
	secs := now.Sub(e.last).Seconds()
	if secs <= 0 {
		secs = e.cfg.Interval.Seconds()
	}
	e.last = now
	ts := strconv.FormatInt(now.Unix(), 10)
	var lines []string
	add := func(path, value string) { lines = append(lines, path+" "+value+" "+ts) }
	e.reg.Each(func(m *metrics.Metric) {
		p := e.path(m)
		switch m.Kind {
		case metrics.KindCounter:
			v := m.Counter.Value()
			d := v - e.counters[m.Counter]
			e.counters[m.Counter] = v
			add(p+".count", strconv.FormatInt(d, 10))
			add(p+".rate", strconv.FormatFloat(float64(d)/secs, 'f', 3, 64))
		case metrics.KindGauge:
			add(p, strconv.FormatFloat(m.Gauge.Value(), 'f', -1, 64))
		case metrics.KindTimer:
			cur := m.Timer.TakeInterval()
			d := cur.Sub(e.timers[m.Timer])
			e.timers[m.Timer] = cur
			add(p+".count", strconv.FormatUint(d.Count, 10))
			if d.Count == 0 {
				return
			}
			add(p+".min", ms(d.Min))
			add(p+".max", ms(d.Max))
			add(p+".mean", ms(d.Mean()))
			add(p+".p50", ms(d.Quantile(0.5)))
			add(p+".p99", ms(d.Quantile(0.99)))
		}
	})
	return lines
}

// Pack joins lines into payloads of at most max bytes; a line longer than max
// on its own is dropped and counted.
func Pack(lines []string, max int) (packets [][]byte, dropped int) {
	var cur []byte
	for _, l := range lines {
		if len(l)+1 > max {
			dropped++
			continue
		}
		if len(cur)+len(l)+1 > max {
			packets = append(packets, cur)
			cur = nil
		}
		cur = append(cur, l...)
		cur = append(cur, '\n')
	}
	if len(cur) > 0 {
		packets = append(packets, cur)
	}
	return packets, dropped
}

// Flush sends one interval's lines.
func (e *Exporter) Flush(now time.Time) {
	packets, dropped := Pack(e.Lines(now), e.cfg.MaxPacketSize)
	if dropped > 0 {
		e.cfg.Logger.Warn("graphite: lines longer than the packet size dropped", "lines", dropped)
	}
	for _, p := range packets {
		if _, err := e.conn.Write(p); err != nil {
			e.cfg.Logger.Debug("graphite: send", "err", err)
			return
		}
	}
}
