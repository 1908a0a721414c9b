// Package chart renders the benchmark's figures as PNG with gonum.org/v1/plot.
package chart

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/sluice-dev/sluice/bench/internal/harness"
)

// Colours per consumer; the naive loop is drawn in red because it is the bug.
var colours = map[string]color.Color{
	"sluice":  color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"minimal": color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	"naive":   color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

func colour(name string) color.Color {
	if c, ok := colours[name]; ok {
		return c
	}
	return color.Black
}

// Memory draws RSS (solid) and Go heap (dashed) over time, one pair of lines per run,
// and goroutines below on its own axis, and saves it to path. Time, not messages, is
// the x axis: the naive loop slows as it leaks, and over messages its climb would be
// squeezed against the axis.
func Memory(path, title string, runs []harness.Result) error {
	mem := plot.New()
	mem.Title.Text = title
	mem.X.Label.Text = "seconds since the consumer started"
	mem.Y.Label.Text = "MiB"
	mem.Legend.Top = true
	gor := plot.New()
	gor.X.Label.Text = "seconds since the consumer started"
	gor.Y.Label.Text = "goroutines"
	gor.Legend.Top = true

	for _, r := range runs {
		rss, heap, g := make(plotter.XYs, 0, len(r.Samples)), make(plotter.XYs, 0, len(r.Samples)),
			make(plotter.XYs, 0, len(r.Samples))
		for _, s := range r.Samples {
			x := s.Elapsed
			rss = append(rss, plotter.XY{X: x, Y: float64(s.RSSBytes) / (1 << 20)})
			heap = append(heap, plotter.XY{X: x, Y: float64(s.HeapBytes) / (1 << 20)})
			g = append(g, plotter.XY{X: x, Y: float64(s.Goroutines)})
		}
		if err := addLine(mem, rss, r.Name+" RSS", colour(r.Name), false); err != nil {
			return err
		}
		if err := addLine(mem, heap, r.Name+" Go heap", colour(r.Name), true); err != nil {
			return err
		}
		if err := addLine(gor, g, r.Name, colour(r.Name), false); err != nil {
			return err
		}
	}
	mem.Y.Min, gor.Y.Min = 0, 0

	img := vgimgCanvas(8*vg.Inch, 7*vg.Inch)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Centimeter, PadTop: vg.Points(4),
		PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	plots := [][]*plot.Plot{{mem}, {gor}}
	canvases := plot.Align(plots, tiles, draw.New(img))
	mem.Draw(canvases[0][0])
	gor.Draw(canvases[1][0])
	return savePNG(img, path)
}

// Point is one measured level of the latency sweep.
type Point struct {
	Concurrency int
	Rate        float64 // messages per second measured
	Ideal       float64 // concurrency / latency
}

// Latency draws measured throughput and the concurrency / latency line against
// concurrency, both axes logarithmic, and saves it to path.
func Latency(path, title string, points []Point) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "concurrency (messages in flight)"
	p.Y.Label.Text = "messages / s"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	var got, ideal plotter.XYs
	for _, pt := range points {
		got = append(got, plotter.XY{X: float64(pt.Concurrency), Y: pt.Rate})
		ideal = append(ideal, plotter.XY{X: float64(pt.Concurrency), Y: pt.Ideal})
	}
	if err := addLine(p, ideal, "concurrency / latency", color.Gray{Y: 0x80}, true); err != nil {
		return err
	}
	if err := addLine(p, got, "sluice, measured", colour("sluice"), false); err != nil {
		return err
	}
	sc, err := plotter.NewScatter(got)
	if err != nil {
		return err
	}
	sc.Color = colour("sluice")
	p.Add(sc)
	return p.Save(7*vg.Inch, 5*vg.Inch, path)
}

func addLine(p *plot.Plot, xys plotter.XYs, label string, c color.Color, dashed bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("line %s: %w", label, err)
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(label, l)
	return nil
}
