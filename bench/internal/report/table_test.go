package report

import (
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/bench/internal/loadgen"
)

func TestTable(t *testing.T) {
	results := []loadgen.Result{
		{Label: "f", Engine: "memory", DeliveriesPerS: 200000},
		{Label: "f", Engine: "redis", DeliveriesPerS: 150000},
	}
	rows := []Row{{Label: "f", Title: "fanout", Metric: "deliveries/s", Target: "≥ 1",
		Get: func(r *loadgen.Result) (float64, bool) { return r.DeliveriesPerS, true }}}
	out := Table(results, rows, []string{"memory", "redis"}, true)
	for _, want := range []string{"Memory", "Redis/Memory", "200,000", "150,000", "75%", "≥ 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if out := Table(results, rows[:0], []string{"memory", "redis"}, false); strings.Contains(out, "target") || strings.Contains(out, "/") {
		t.Errorf("table without ratio and targets:\n%s", out)
	}
	if got := formatNum(-1234567.891, 2); got != "-1,234,567.89" {
		t.Errorf("formatNum = %s", got)
	}
}
