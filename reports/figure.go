package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot geometry: plots are 10 inches wide, 4 inches high unless they need
// more room, and rasterised at 120 dpi (1200×480 pixels).
const (
	plotWidth  = 10 * vg.Inch
	plotHeight = 4 * vg.Inch
	plotDPI    = 120

	legendStrip = vg.Length(24) // height of the legend row under a plot
)

// sansFont is the face of every text in the plots. It is set on each style
// rather than through plot.DefaultFont so that the package changes no
// global state.
var sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Colours shared by the plots and the HTML.
var (
	colMaster   = rgb(0x2c, 0xa0, 0x2c) // green
	colBackup   = rgb(0x1f, 0x77, 0xb4) // blue
	colFault    = rgb(0xff, 0x7f, 0x0e) // orange
	colInit     = rgb(0xd4, 0xd4, 0xd4) // light grey
	colStop     = rgb(0x55, 0x55, 0x55) // dark grey
	colUnknown  = rgb(0xa0, 0xa0, 0xa0) // a state this package does not know
	colFaultRed = rgb(0xd6, 0x27, 0x28)
	colShade    = color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0x2e}
	colText     = rgb(0x22, 0x22, 0x22)
	colMuted    = rgb(0x77, 0x77, 0x77)
	colGrid     = rgb(0xe4, 0xe4, 0xe4)
	colHist     = rgb(0x9e, 0xc5, 0xe8)
	colHistLine = rgb(0x4a, 0x7f, 0xb0)
	colTheory   = rgb(0x2c, 0xa0, 0x2c)
)

// vipPalette colours VIP owner intervals, one colour per owner in order of
// first appearance.
var vipPalette = []color.Color{
	rgb(0xc5, 0xb0, 0xd5), // lavender
	rgb(0x9e, 0xda, 0xe5), // light teal
	rgb(0xf7, 0xb6, 0xd2), // pink
	rgb(0xdb, 0xdb, 0x8d), // olive
	rgb(0xc4, 0x9c, 0x94), // light brown
}

func rgb(r, g, b uint8) color.Color { return color.NRGBA{R: r, G: g, B: b, A: 0xff} }

// textStyle returns a sans text style of the given size and colour.
func textStyle(size vg.Length, c color.Color) text.Style {
	return text.Style{
		Color:   c,
		Font:    font.From(sansFont, size),
		Handler: plotText(),
	}
}

// newPlot returns a plot with sans fonts everywhere (and CJK text drawn
// with a CJK font when one is installed).
func newPlot(title string) *plot.Plot {
	p := plot.New()
	h := plotText()
	p.Title.TextStyle.Handler = h
	p.X.Label.TextStyle.Handler, p.X.Tick.Label.Handler = h, h
	p.Y.Label.TextStyle.Handler, p.Y.Tick.Label.Handler = h, h
	p.Legend.TextStyle.Handler = h
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sansFont, 12)
	p.Title.TextStyle.Color = colText
	p.Title.Padding = 6
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sansFont, 11)
		a.Label.TextStyle.Color = colText
		a.Tick.Label.Font = font.From(sansFont, 10)
		a.Tick.Label.Color = colText
	}
	return p
}

// legendEntry is one item of a horizontal legend strip.
type legendEntry struct {
	label string
	thumb func(c draw.Canvas) // draws the swatch into c
}

// swatch is a legend thumbnail: a filled box.
func swatch(fill color.Color) func(draw.Canvas) {
	return func(c draw.Canvas) {
		c.FillPolygon(fill, []vg.Point{
			c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y},
		})
	}
}

// lineSwatch is a legend thumbnail: a horizontal line.
func lineSwatch(ls draw.LineStyle) func(draw.Canvas) {
	return func(c draw.Canvas) {
		y := (c.Min.Y + c.Max.Y) / 2
		c.StrokeLine2(ls, c.Min.X, y, c.Max.X, y)
	}
}

// drawLegendStrip draws entries side by side, centred in c.
func drawLegendStrip(c draw.Canvas, entries []legendEntry) {
	if len(entries) == 0 {
		return
	}
	sty := textStyle(10, colText)
	sty.YAlign = draw.YCenter
	const (
		thumbW = vg.Length(18)
		thumbH = vg.Length(10)
		gap    = vg.Length(5)
		space  = vg.Length(18)
	)
	total := vg.Length(0)
	for i, e := range entries {
		if i > 0 {
			total += space
		}
		total += thumbW + gap + sty.Width(e.label)
	}
	x := (c.Min.X+c.Max.X)/2 - total/2
	if x < c.Min.X {
		x = c.Min.X
	}
	y := (c.Min.Y + c.Max.Y) / 2
	for _, e := range entries {
		box := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: y - thumbH/2},
			Max: vg.Point{X: x + thumbW, Y: y + thumbH/2},
		}}
		e.thumb(box)
		x += thumbW + gap
		c.FillText(sty, vg.Point{X: x, Y: y}, e.label)
		x += sty.Width(e.label) + space
	}
}

// figure is one plot, drawn once to PNG and once to SVG.
type figure struct {
	name   string
	height vg.Length
	draw   func(c draw.Canvas)
}

// withLegend returns a draw function that draws p above a legend strip.
func withLegend(p *plot.Plot, entries []legendEntry) func(draw.Canvas) {
	return func(c draw.Canvas) {
		// margins: tick labels must not touch the image's edges
		c = draw.Crop(c, 8, -14, 2, -6)
		h := c.Max.Y - c.Min.Y
		if len(entries) == 0 {
			p.Draw(c)
			return
		}
		p.Draw(draw.Crop(c, 0, 0, legendStrip, 0))
		drawLegendStrip(draw.Crop(c, 0, 0, 0, -(h-legendStrip)), entries)
	}
}

// render draws the figure as PNG and as SVG. A panic inside the plotting
// library becomes an error: a bad plot must not lose the rest of a report.
func (f figure) render() (pngData, svgData []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("plot %s: %v", f.name, v)
		}
	}()
	h := f.height
	if h <= 0 {
		h = plotHeight
	}

	img := vgimg.NewWith(vgimg.UseWH(plotWidth, h), vgimg.UseDPI(plotDPI))
	f.draw(draw.New(img))
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&pb); err != nil {
		return nil, nil, fmt.Errorf("plot %s: png: %w", f.name, err)
	}

	svg := vgsvg.NewWith(vgsvg.UseWH(plotWidth, h))
	f.draw(draw.New(svg))
	var sb bytes.Buffer
	if _, err := svg.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("plot %s: svg: %w", f.name, err)
	}
	// Name fallbacks for viewers without the Liberation fonts: Arial and
	// Helvetica have the same metrics, so the layout holds.
	svgData = bytes.ReplaceAll(sb.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	// The CJK font (see fonts.go) gets the other CJK fonts as fallbacks.
	if fam := plotText().cjkFamily(); fam != "" {
		svgData = bytes.ReplaceAll(svgData, []byte("font-family:"+fam+";"),
			[]byte("font-family:'"+fam+"',"+cjkFontFamilies+";"))
	}
	return pb.Bytes(), svgData, nil
}

// writeFigure renders f into dir as NAME.png and NAME.svg and returns the
// PNG bytes.
func writeFigure(dir string, f figure) ([]byte, error) {
	pngData, svgData, err := f.render()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, f.name+".png"), pngData, 0o644); err != nil {
		return nil, fmt.Errorf("plot %s: %w", f.name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, f.name+".svg"), svgData, 0o644); err != nil {
		return nil, fmt.Errorf("plot %s: %w", f.name, err)
	}
	return pngData, nil
}

// niceTicks is a plot.Ticker with about a dozen major ticks at round
// values (steps of 1, 2 or 5 times a power of ten) and minor ticks
// between them.
func niceTicks(lo, hi float64) []plot.Tick { return roundTicks(lo, hi, 12) }

// sparseTicks is a plot.Ticker like niceTicks with about six major ticks,
// for the short y axes.
func sparseTicks(lo, hi float64) []plot.Tick { return roundTicks(lo, hi, 6) }

// roundTicks returns about n major ticks over [lo, hi] at round values,
// with minor ticks between them.
func roundTicks(lo, hi float64, n int) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step, minorDiv := 10*mag, 5
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			if m == 2 {
				minorDiv = 4
			}
			break
		}
	}
	minor := step / float64(minorDiv)
	var ticks []plot.Tick
	first := math.Ceil(lo/minor-1e-9) * minor
	for i := 0; ; i++ {
		v := first + float64(i)*minor
		if v > hi+minor*1e-9 {
			break
		}
		k := math.Round(v / step)
		if math.Abs(v-k*step) < minor*1e-6 {
			v = k * step
			ticks = append(ticks, plot.Tick{Value: v, Label: fmtNum(v)})
		} else {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	return ticks
}
