// Package report turns load generator results into a side-by-side table of
// engines and into charts.
package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/centrifugehq/centrifuge/bench/internal/loadgen"
)

// Row is one line of the table: a metric of the results labelled Label.
type Row struct {
	Label  string // the step's label in the results
	Title  string // what the step is, for people
	Metric string
	Get    func(*loadgen.Result) (float64, bool)
	// Digits after the decimal point.
	Digits int
	// Target is the target for this metric ("" = none).
	Target string
}

// Find returns the result of label on engine, nil if there is none.
func Find(results []loadgen.Result, label, engine string) *loadgen.Result {
	for i := range results {
		if results[i].Label == label && results[i].Engine == engine {
			return &results[i]
		}
	}
	return nil
}

// Table renders rows for engines side by side as a Markdown table; with ratio
// and two engines, the second's value as a share of the first's; a target
// column when a row has a target.
func Table(results []loadgen.Result, rows []Row, engines []string, ratio bool) string {
	ratio = ratio && len(engines) == 2
	targets := false
	for _, r := range rows {
		targets = targets || r.Target != ""
	}
	head := []string{"scenario", "metric"}
	for _, e := range engines {
		head = append(head, titleCase(e))
	}
	if ratio {
		head = append(head, titleCase(engines[1])+"/"+titleCase(engines[0]))
	}
	if targets {
		head = append(head, "target")
	}
	cells := [][]string{head}
	for _, row := range rows {
		line := []string{row.Title, row.Metric}
		var vals []float64
		for _, e := range engines {
			v, ok := math.NaN(), false
			if r := Find(results, row.Label, e); r != nil {
				v, ok = row.Get(r)
			}
			if !ok {
				line = append(line, "—")
				vals = append(vals, math.NaN())
				continue
			}
			line = append(line, formatNum(v, row.Digits))
			vals = append(vals, v)
		}
		if ratio {
			if vals[0] > 0 && !math.IsNaN(vals[1]) {
				line = append(line, fmt.Sprintf("%.0f%%", 100*vals[1]/vals[0]))
			} else {
				line = append(line, "—")
			}
		}
		if targets {
			line = append(line, row.Target)
		}
		cells = append(cells, line)
	}
	return markdown(cells)
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// formatNum prints v with digits decimals and thousands separators.
func formatNum(v float64, digits int) string {
	s := fmt.Sprintf("%.*f", digits, v)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

// markdown renders cells (first row the header) with padded columns.
func markdown(cells [][]string) string {
	width := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		b.WriteString("|")
		for i, c := range row {
			pad := width[i] - len([]rune(c))
			if i >= 2 {
				b.WriteString(" " + strings.Repeat(" ", pad) + c + " |")
			} else {
				b.WriteString(" " + c + strings.Repeat(" ", pad) + " |")
			}
		}
		b.WriteString("\n")
	}
	line(cells[0])
	b.WriteString("|")
	for i, w := range width {
		if i >= 2 {
			b.WriteString(" " + strings.Repeat("-", w-1) + ": |")
		} else {
			b.WriteString(" " + strings.Repeat("-", w) + " |")
		}
	}
	b.WriteString("\n")
	for _, row := range cells[1:] {
		line(row)
	}
	return b.String()
}
