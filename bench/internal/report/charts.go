package report

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/centrifugehq/centrifuge/bench/internal/loadgen"
)

// Series is one line of a chart: the results whose label starts with Prefix,
// on Engine, plotted as Get against the number of connections.
type Series struct {
	Name   string
	Engine string
	Prefix string
	Get    func(*loadgen.Result) (float64, bool)
	Dashed bool
}

// Chart is one chart: Y against subscribers (log scale).
type Chart struct {
	// File is the name without extension; a .png and a .svg are written.
	File   string
	Title  string
	YLabel string
	LogY   bool
	Series []Series
}

var palette = map[string]color.Color{
	"memory": color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"redis":  color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

// Points returns the series' points, sorted by subscribers.
func (s Series) Points(results []loadgen.Result) plotter.XYs {
	var pts plotter.XYs
	for i := range results {
		r := &results[i]
		if r.Engine != s.Engine || len(r.Label) < len(s.Prefix) || r.Label[:len(s.Prefix)] != s.Prefix {
			continue
		}
		if v, ok := s.Get(r); ok && r.Conns > 0 {
			pts = append(pts, plotter.XY{X: float64(r.Conns), Y: v})
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
	return pts
}

// Draw writes c as dir/<File>.png and dir/<File>.svg and returns their paths.
// A chart without any point is skipped.
func (c Chart) Draw(results []loadgen.Result, dir string) ([]string, error) {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = "subscribers"
	p.Y.Label.Text = c.YLabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = ticks125{}
	p.Y.Tick.Marker = ticks125{linear: !c.LogY}
	if c.LogY {
		p.Y.Scale = plot.LogScale{}
	} else {
		p.Y.Min = 0
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	points, top := 0, 0.0
	for _, s := range c.Series {
		pts := s.Points(results)
		if len(pts) == 0 {
			continue
		}
		if c.LogY {
			for i := range pts {
				pts[i].Y = max(pts[i].Y, 0.001)
			}
		}
		points += len(pts)
		for _, pt := range pts {
			top = max(top, pt.Y)
		}
		line, scatter, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.File, err)
		}
		col := palette[s.Engine]
		if col == nil {
			col = color.Black
		}
		line.Color = col
		line.Width = vg.Points(1.5)
		if s.Dashed {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		scatter.Color = col
		scatter.Shape = draw.CircleGlyph{}
		scatter.Radius = vg.Points(2.5)
		p.Add(line, scatter)
		p.Legend.Add(s.Name, line, scatter)
	}
	if points == 0 {
		return nil, nil
	}
	// Headroom for the legend in the top left corner.
	p.Legend.Left = true
	if c.LogY {
		p.Y.Max = top * 4
	} else {
		p.Y.Max = top * 1.3
	}
	var files []string
	for _, ext := range []string{".png", ".svg"} {
		f := filepath.Join(dir, c.File+ext)
		if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, f); err != nil {
			return files, fmt.Errorf("save %s: %w", f, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// ticks125 labels 1, 2 and 5 times each power of ten in range (log axes), or
// defers to the default ticker (linear axes), with thousands written as k.
type ticks125 struct{ linear bool }

func (t ticks125) Ticks(lo, hi float64) []plot.Tick {
	if t.linear {
		ts := plot.DefaultTicks{}.Ticks(lo, hi)
		for i := range ts {
			if ts[i].Label != "" {
				ts[i].Label = short(ts[i].Value)
			}
		}
		return ts
	}
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * base
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			label := ""
			if m == 1 || m == 2 || m == 5 {
				label = short(v)
			}
			ts = append(ts, plot.Tick{Value: v, Label: label})
		}
	}
	return ts
}

// short writes v compactly: 0.5, 20, 5k, 1.2M.
func short(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}
