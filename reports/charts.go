package reports

// Charts are drawn with gonum.org/v1/plot v0.17.0 and rendered by its vgsvg
// canvas. Fonts are referenced by family name ("Liberation Sans") and not
// embedded, which keeps each chart a few kilobytes. A browser without that
// font substitutes a similar sans-serif one.

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"regexp"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/adapt-llm/adapt/finetune"
)

// Chart size in points (1/72 inch). The page's CSS scales charts to the
// column width, keeping this aspect ratio.
const (
	chartWidth  vg.Length = 540
	chartHeight vg.Length = 270
)

// Chart colors, chosen to stay distinct for the common color-vision
// deficiencies (Okabe and Ito's palette).
var (
	colorBase  = color.RGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF} // blue
	colorTuned = color.RGBA{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF} // orange
	colorWhisk = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xFF}
)

// lossChart draws the training loss per step as a line and the validation
// loss as a line with points.
func lossChart(m *finetune.Metrics) (template.HTML, error) {
	p := newPlot("Loss", "optimizer step", "cross-entropy (nats per token)", true)

	if len(m.Train) > 0 {
		line, err := plotter.NewLine(lossXYs(m.Train))
		if err != nil {
			return "", fmt.Errorf("drawing training loss: %w", err)
		}
		line.Color = colorBase
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add("train", line)
	}
	if len(m.Val) > 0 {
		line, points, err := plotter.NewLinePoints(lossXYs(m.Val))
		if err != nil {
			return "", fmt.Errorf("drawing validation loss: %w", err)
		}
		line.Color = colorTuned
		line.Width = vg.Points(1.5)
		points.Color = colorTuned
		points.Shape = draw.CircleGlyph{}
		points.Radius = vg.Points(2.5)
		p.Add(line, points)
		p.Legend.Add("validation", line, points)
	}
	p.Legend.Top = true
	return renderSVG(p)
}

func lossXYs(points []finetune.LossPoint) plotter.XYs {
	xys := make(plotter.XYs, len(points))
	for i, pt := range points {
		xys[i].X = float64(pt.Step)
		xys[i].Y = pt.Loss
	}
	return xys
}

// perplexityGroup is one task set's perplexity per model, with optional
// 95% intervals.
type perplexityGroup struct {
	TaskSet string
	Models  map[string]perplexityValue
}

type perplexityValue struct {
	Value    float64
	Low      float64
	High     float64
	HasRange bool
}

// perplexityChart draws one group of bars per task set, one bar per model
// in models order, with whiskers for the 95% intervals that are present.
func perplexityChart(groups []perplexityGroup, models []string) (template.HTML, error) {
	p := newPlot("Held-out perplexity (lower is better)", "", "perplexity", false)
	p.Legend.Top = true

	barWidth := vg.Points(min(40, 300/float64(max(1, len(groups)*len(models)))))
	palette := []color.Color{colorBase, colorTuned, color.RGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF}, color.RGBA{R: 0xCC, G: 0x79, B: 0xA7, A: 0xFF}}

	top := 0.0
	for i, model := range models {
		values := make(plotter.Values, len(groups))
		var whiskers []whisker
		for g, group := range groups {
			v := group.Models[model]
			values[g] = v.Value
			top = max(top, v.Value)
			if v.HasRange {
				top = max(top, v.High)
				whiskers = append(whiskers, whisker{X: float64(g), Low: v.Low, High: v.High})
			}
		}

		bars, err := plotter.NewBarChart(values, barWidth)
		if err != nil {
			return "", fmt.Errorf("drawing perplexity bars for %s: %w", model, err)
		}
		offset := barWidth * vg.Length(float64(i)-float64(len(models)-1)/2)
		bars.Offset = offset
		bars.Color = palette[i%len(palette)]
		bars.LineStyle.Width = 0
		p.Add(bars)
		p.Legend.Add(model, bars)
		if len(whiskers) > 0 {
			p.Add(&whiskerPlotter{Whiskers: whiskers, Offset: offset, CapWidth: barWidth / 3})
		}
	}

	names := make([]string, len(groups))
	for g, group := range groups {
		names[g] = group.TaskSet
	}
	p.NominalX(names...)

	// Half a slot of padding on each side keeps the outer groups off the
	// plot edges, because NominalX places group g at x = g.
	p.X.Min = -0.5
	p.X.Max = float64(len(groups)) - 0.5

	// Headroom above the tallest bar or whisker leaves space for the legend.
	if headroom := top * 1.15; headroom > 0 && !math.IsInf(headroom, 0) {
		p.Y.Min = 0
		p.Y.Max = headroom
	}
	return renderSVG(p)
}

// whisker is a vertical interval at data coordinate X.
type whisker struct {
	X, Low, High float64
}

// whiskerPlotter draws confidence-interval whiskers shifted by Offset in
// canvas units, so they sit on bars that plotter.BarChart shifts the same
// way.
type whiskerPlotter struct {
	Whiskers []whisker
	Offset   vg.Length
	CapWidth vg.Length
}

// Plot implements plot.Plotter.
func (w *whiskerPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	style := draw.LineStyle{Color: colorWhisk, Width: vg.Points(1.2)}
	for _, wh := range w.Whiskers {
		x := trX(wh.X) + w.Offset
		low, high := trY(wh.Low), trY(wh.High)
		c.StrokeLine2(style, x, low, x, high)
		c.StrokeLine2(style, x-w.CapWidth/2, low, x+w.CapWidth/2, low)
		c.StrokeLine2(style, x-w.CapWidth/2, high, x+w.CapWidth/2, high)
	}
}

// DataRange implements plot.DataRanger, so the y axis reaches the highest
// interval end.
func (w *whiskerPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	for i, wh := range w.Whiskers {
		if i == 0 {
			xmin, xmax, ymin, ymax = wh.X, wh.X, wh.Low, wh.High
			continue
		}
		xmin, xmax = min(xmin, wh.X), max(xmax, wh.X)
		ymin, ymax = min(ymin, wh.Low), max(ymax, wh.High)
	}
	return xmin, xmax, ymin, ymax
}

// newPlot returns a plot with the given labels, sans-serif text and a
// grid: horizontal lines always, vertical lines when verticalGrid is set.
func newPlot(title, xLabel, yLabel string, verticalGrid bool) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	grid := plotter.NewGrid()
	if !verticalGrid {
		grid.Vertical.Color = nil
	}
	p.Add(grid)

	for _, style := range []*font.Font{
		&p.Title.TextStyle.Font,
		&p.X.Label.TextStyle.Font,
		&p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font,
		&p.Y.Tick.Label.Font,
		&p.Legend.TextStyle.Font,
	} {
		style.Variant = "Sans"
	}
	p.Title.TextStyle.Font.Size = vg.Points(13)
	return p
}

// svgProlog matches what vgsvg writes before the <svg> element.
var svgProlog = regexp.MustCompile(`(?s)^.*?(<svg\b)`)

// svgNamespaces matches the namespace attributes, which inline SVG in HTML
// does not need.
var svgNamespaces = regexp.MustCompile(`\s+xmlns(:xlink)?="[^"]*"`)

// renderSVG draws p and returns the <svg> element for inline use in HTML:
// without the XML declaration and namespace attributes, and with a
// role and title for screen readers.
func renderSVG(p *plot.Plot) (template.HTML, error) {
	canvas := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(canvas))

	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("rendering chart %q: %w", p.Title.Text, err)
	}
	svg := svgProlog.ReplaceAll(buf.Bytes(), []byte("$1"))
	svg = svgNamespaces.ReplaceAll(svg, nil)
	label := template.HTMLEscapeString(p.Title.Text)
	svg = bytes.Replace(svg, []byte("<svg "), []byte(`<svg role="img" aria-label="`+label+`" `), 1)

	// The SVG comes from vgsvg, which escapes all text it draws.
	return template.HTML(svg), nil
}
