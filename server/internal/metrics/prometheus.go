package metrics

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PrometheusPrefix starts every exported family name.
const PrometheusPrefix = "centrifuge_"

// PromName turns a dotted metric name into a Prometheus family name.
func PromName(name string) string {
	var b strings.Builder
	b.WriteString(PrometheusPrefix)
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func promLabels(labels []Label, extra ...Label) string {
	all := append(append([]Label(nil), labels...), extra...)
	if len(all) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range all {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Key)
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(l.Value))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func promFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// WritePrometheus writes every metric in the Prometheus text exposition
// format: counters as <name>_total, gauges as they are, timers as histograms
// in seconds.
func (r *Registry) WritePrometheus(w io.Writer) error {
	bw := bufio.NewWriter(w)
	lastFamily := ""
	r.Each(func(m *Metric) {
		family := PromName(m.Name)
		typ := "gauge"
		switch m.Kind {
		case KindCounter:
			family += "_total"
			typ = "counter"
		case KindTimer:
			family += "_seconds"
			typ = "histogram"
		}
		if family != lastFamily {
			help := r.Help(m.Name)
			if help == "" {
				help = m.Name
			}
			fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", family, strings.ReplaceAll(help, "\n", " "), family, typ)
			lastFamily = family
		}
		switch m.Kind {
		case KindCounter:
			fmt.Fprintf(bw, "%s%s %d\n", family, promLabels(m.Labels), m.Counter.Value())
		case KindGauge:
			fmt.Fprintf(bw, "%s%s %s\n", family, promLabels(m.Labels), promFloat(m.Gauge.Value()))
		case KindTimer:
			s := m.Timer.Snapshot()
			var cum uint64
			for i, b := range Buckets {
				cum += s.Counts[i]
				fmt.Fprintf(bw, "%s_bucket%s %d\n", family, promLabels(m.Labels, Label{"le", promFloat(b.Seconds())}), cum)
			}
			fmt.Fprintf(bw, "%s_bucket%s %d\n", family, promLabels(m.Labels, Label{"le", "+Inf"}), s.Count)
			fmt.Fprintf(bw, "%s_sum%s %s\n", family, promLabels(m.Labels), promFloat(s.Sum.Seconds()))
			fmt.Fprintf(bw, "%s_count%s %d\n", family, promLabels(m.Labels), s.Count)
		}
	})
	return bw.Flush()
}
