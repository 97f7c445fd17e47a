package reports

import (
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// seriesPalette colours the servers (and groups) of the load-balancer
// plots, in order. It leaves out red, which means failure.
var seriesPalette = []color.Color{
	rgb(0x1f, 0x77, 0xb4), // blue
	rgb(0xff, 0x7f, 0x0e), // orange
	rgb(0x2c, 0xa0, 0x2c), // green
	rgb(0x94, 0x67, 0xbd), // purple
	rgb(0x8c, 0x56, 0x4b), // brown
	rgb(0x17, 0xbe, 0xcf), // cyan
	rgb(0xe3, 0x77, 0xc2), // pink
	rgb(0xbc, 0xbd, 0x22), // olive
	rgb(0x7f, 0x7f, 0x7f), // grey
}

func seriesColor(i int) color.Color { return seriesPalette[i%len(seriesPalette)] }

// withAlpha returns an opaque colour c with alpha a.
func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

// Geometry of the fault-label band above a time plot.
const (
	bandRowH   = vg.Length(13) // height of a row of fault labels
	panelGap   = vg.Length(14) // between stacked panels
	titleSpace = vg.Length(20) // title row
)

// faultShades is a plotter that shades the spans in which a fault is in
// effect, over the whole height of the data area. Add it first.
// With strip set, it shades only the y range [lo, hi] of the data, for a
// plot whose data fill the whole area and must keep their colours.
type faultShades struct {
	spans  []tlSpan
	strip  bool
	lo, hi float64
}

func (f faultShades) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	y0, y1 := c.Min.Y, c.Max.Y
	if f.strip {
		y0, y1 = trY(f.lo), trY(f.hi)
	}
	for _, s := range unionSpans(f.spans) {
		x0, x1 := trX(s.from), trX(s.to)
		c.FillPolygon(colShade, c.ClipPolygonX([]vg.Point{
			{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1},
		}))
	}
}

// faultLineStyle is the dashed line of a fault.
var faultLineStyle = draw.LineStyle{Color: colFaultRed, Width: 1.2, Dashes: []vg.Length{4, 3}}

// faultLines is a plotter that draws a dashed line at each fault over the
// whole height of the data area.
type faultLines struct{ faults []tlFault }

func (f faultLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, ft := range f.faults {
		x := trX(ft.t)
		if x < c.Min.X-0.5 || x > c.Max.X+0.5 {
			continue
		}
		c.StrokeLine2(faultLineStyle, x, c.Min.Y, x, c.Max.Y)
	}
}

// gridLines draws light lines at the major ticks of the axes, under the
// data.
type gridLines struct{ x, y bool }

func (g gridLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	ls := draw.LineStyle{Color: colGrid, Width: vg.Points(0.6)}
	if g.x {
		for _, tk := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
			if tk.IsMinor() || tk.Value < p.X.Min || tk.Value > p.X.Max {
				continue
			}
			c.StrokeLine2(ls, trX(tk.Value), c.Min.Y, trX(tk.Value), c.Max.Y)
		}
	}
	if g.y {
		for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
			if tk.IsMinor() || tk.Value < p.Y.Min || tk.Value > p.Y.Max {
				continue
			}
			c.StrokeLine2(ls, c.Min.X, trY(tk.Value), c.Max.X, trY(tk.Value))
		}
	}
}

// polyline is a plotter that draws lines through points; a NaN y breaks
// the line. A point that stands alone is drawn as a dot.
type polyline struct {
	xs, ys []float64
	style  draw.LineStyle
}

func (l polyline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	var lines [][]vg.Point
	var cur []vg.Point
	flush := func() {
		if len(cur) == 1 {
			pt := cur[0]
			if c.Contains(pt) {
				c.DrawGlyph(draw.GlyphStyle{Color: l.style.Color, Radius: l.style.Width * 1.2, Shape: draw.CircleGlyph{}}, pt)
			}
		} else if len(cur) > 1 {
			lines = append(lines, cur)
		}
		cur = nil
	}
	for i, x := range l.xs {
		y := l.ys[i]
		if math.IsNaN(y) || math.IsNaN(x) {
			flush()
			continue
		}
		cur = append(cur, vg.Point{X: trX(x), Y: trY(y)})
	}
	flush()
	if len(lines) > 0 {
		c.StrokeLines(l.style, c.ClipLinesXY(lines...)...)
	}
}

// dots is a plotter that draws filled circles. Dots that would fall on the
// same spot (within a third of their radius) as one already drawn are
// left out: they would not change the picture, only the file's size.
type dots struct {
	xs, ys []float64
	color  color.Color
	radius vg.Length
	shape  draw.GlyphDrawer // nil: a circle
}

func (d dots) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.GlyphStyle{Color: d.color, Radius: d.radius, Shape: d.shape}
	if sty.Shape == nil {
		sty.Shape = draw.CircleGlyph{}
	}
	q := float64(d.radius) / 3
	type cell struct{ x, y int32 }
	seen := make(map[cell]bool, len(d.xs))
	for i, x := range d.xs {
		pt := vg.Point{X: trX(x), Y: trY(d.ys[i])}
		if !c.Contains(pt) {
			continue
		}
		k := cell{int32(math.Floor(float64(pt.X) / q)), int32(math.Floor(float64(pt.Y) / q))}
		if seen[k] {
			continue
		}
		seen[k] = true
		c.DrawGlyphNoClip(sty, pt)
	}
}

// logTicks is a plot.Ticker for a log axis: 1, 2 and 5 times each power
// of ten labelled when the range spans few decades, only the powers of ten
// when it spans many, and sparseTicks when it spans less than one.
func logTicks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return nil
	}
	decades := math.Log10(hi / lo)
	if decades < 1 {
		var out []plot.Tick
		for _, t := range sparseTicks(lo, hi) {
			if t.Value > 0 {
				out = append(out, t)
			}
		}
		return out
	}
	labelled := map[int]bool{1: true}
	if decades <= 2.5 {
		labelled[2], labelled[5] = true, true
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		p := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * p
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled[m] {
				t.Label = fmtNum(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// logAxis makes a an axis of log10 of the values, from lo to hi (both
// positive): data must be given as log10(value); ticks are placed and
// labelled as logTicks would place them on the values. gonum's LogScale
// is not used because it centres the axis label on the arithmetic middle
// of the range, which pushes the label (and the plot) off its place.
func logAxis(a *plot.Axis, lo, hi float64) {
	a.Min, a.Max = math.Log10(lo), math.Log10(hi)
	a.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		ticks := logTicks(math.Pow(10, min), math.Pow(10, max))
		for i := range ticks {
			ticks[i].Value = math.Log10(ticks[i].Value)
		}
		return labelMin(ticks, min, max)
	})
}

// labelMin makes sure the bottom of a log axis (values are log10, from
// min to max) is labelled, so that a reader sees where the axis starts:
// unless a labelled tick already sits there, it adds a tick at min
// labelled with its value to two significant digits, and clears the
// labels that would crowd it (within 7 % of the axis).
func labelMin(ticks []plot.Tick, min, max float64) []plot.Tick {
	span := max - min
	if !(span > 0) {
		return ticks
	}
	for _, t := range ticks {
		if t.Label != "" && math.Abs(t.Value-min) <= 0.01*span {
			return ticks
		}
	}
	for i := range ticks {
		if ticks[i].Value-min < 0.07*span {
			ticks[i].Label = ""
		}
	}
	return append([]plot.Tick{{Value: min, Label: fmtSig(math.Pow(10, min), 2)}}, ticks...)
}

// fmtSig writes v rounded to n significant digits: 0.16, 2.4, 130.
func fmtSig(v float64, n int) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmtNum(v)
	}
	e := math.Floor(math.Log10(math.Abs(v))) - float64(n-1)
	r := math.Round(v/math.Pow(10, e)) * math.Pow(10, e)
	if e < 0 {
		return strconv.FormatFloat(r, 'f', int(-e), 64)
	}
	return fmtNum(r)
}

// logRange pads [lo, hi] for a log axis; a range of one value (or none)
// gets a factor of two each side.
func logRange(lo, hi float64) (float64, float64) {
	if !(lo > 0) || math.IsInf(lo, 0) {
		return 0.1, 10
	}
	if !(hi > lo) {
		return lo / 2, lo * 2
	}
	return lo / 1.25, hi * 1.25
}

// stairFaults gives each fault label a row so that labels do not overlap
// and no fault line (which runs up to its own label) crosses another
// label, as the timeline does. spp is the number of seconds one point of
// width stands for. It returns the number of rows used.
func stairFaults(faults []tlFault, end, spp float64) int {
	pad := 4 * spp
	fsty := textStyle(faultTextSize, colFaultRed)
	type extent struct {
		lo, hi float64
		row    int
	}
	var placed []extent
	rows := 0
	for i := range faults {
		f := &faults[i]
		w := float64(fsty.Width(f.label))*spp + pad
		lo, hi := f.t, f.t+w
		f.left = false
		if hi > end {
			f.left = true
			lo, hi = f.t-w, f.t
		}
		row := 0
		for _, p := range placed {
			if p.lo <= f.t && f.t <= p.hi+pad {
				row = max(row, p.row+1)
			}
		}
		for {
			clash := false
			for _, p := range placed {
				if p.row == row && lo < p.hi+pad && p.lo < hi+pad {
					clash = true
					break
				}
			}
			if !clash || row >= maxFRows-1 {
				break
			}
			row++
		}
		row = min(row, maxFRows-1)
		f.row = row
		placed = append(placed, extent{lo, hi, row})
		rows = max(rows, row+1)
	}
	return rows
}

// estimatedDataWidth is a guess of the width of a plot's data area, used
// to size a figure before it is drawn.
const estimatedDataWidth = plotWidth - 90

// wrapLegend splits legend entries into rows that fit a width.
func wrapLegend(entries []legendEntry, width vg.Length) [][]legendEntry {
	sty := textStyle(10, colText)
	var rows [][]legendEntry
	var cur []legendEntry
	w := vg.Length(0)
	for _, e := range entries {
		ew := 18 + 5 + sty.Width(e.label)
		if len(cur) > 0 {
			ew += 18
		}
		if len(cur) > 0 && w+ew > width {
			rows = append(rows, cur)
			cur, w = nil, 0
			ew -= 18
		}
		cur = append(cur, e)
		w += ew
	}
	if len(cur) > 0 {
		rows = append(rows, cur)
	}
	return rows
}

// timeFigure is a figure of one or more plots stacked over a shared time
// axis (or any x axis), with a title above, a band of fault labels between
// the title and the top plot, and a legend under the plots, which may
// wrap over several rows.
type timeFigure struct {
	name, title string
	panels      []*plot.Plot
	faults      []tlFault // labelled in the band; nil for none
	end         float64   // end of the x axis, for the label layout
	entries     []legendEntry
	panelH      vg.Length // height of each panel
}

// legendWidth is the width a legend row may use.
const legendWidth = plotWidth - 24

// figure returns the figure, sized for its panels, label rows and legend.
func (tf *timeFigure) figure() figure {
	// The label layout writes into the faults: keep a copy of our own, so
	// that figures sharing a list can be drawn at the same time.
	tf.faults = slices.Clone(tf.faults)
	rows := 0
	if len(tf.faults) > 0 && tf.end > 0 {
		rows = stairFaults(tf.faults, tf.end, tf.end/float64(estimatedDataWidth))
	}
	nLegend := len(wrapLegend(tf.entries, legendWidth))
	h := 24 + titleSpace + vg.Length(rows)*bandRowH + vg.Length(len(tf.panels))*tf.panelH +
		vg.Length(max(0, len(tf.panels)-1))*panelGap + vg.Length(nLegend)*legendStrip
	return figure{name: tf.name, height: h, draw: tf.draw}
}

func (tf *timeFigure) draw(c draw.Canvas) {
	c = draw.Crop(c, 8, -14, 2, -6)
	// Legend rows, at the bottom.
	rowsL := wrapLegend(tf.entries, legendWidth)
	for i, row := range rowsL {
		y0 := c.Min.Y + vg.Length(len(rowsL)-1-i)*legendStrip
		drawLegendStrip(draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: c.Min.X, Y: y0}, Max: vg.Point{X: c.Max.X, Y: y0 + legendStrip},
		}}, row)
	}
	c.Min.Y += vg.Length(len(rowsL)) * legendStrip
	// Title.
	tsty := textStyle(12, colText)
	tsty.XAlign, tsty.YAlign = draw.XCenter, draw.YTop
	c.FillText(tsty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y}, tf.title)
	c.Max.Y -= titleSpace
	if len(tf.panels) == 0 {
		return
	}
	// Fault label rows, laid out on the real width of the data area.
	top := tf.panels[0]
	rows := 0
	var dc draw.Canvas
	if len(tf.faults) > 0 && tf.end > 0 {
		dc = top.DataCanvas(c)
		rows = stairFaults(tf.faults, tf.end, (top.X.Max-top.X.Min)/float64(dc.Max.X-dc.Min.X))
	}
	band := vg.Length(rows) * bandRowH
	if rows > 0 {
		band += 4 // keeps the lowest labels off the data
	}
	bandTop := c.Max.Y
	c.Max.Y -= band
	// Panels, top to bottom.
	n := len(tf.panels)
	ph := (c.Max.Y - c.Min.Y - vg.Length(n-1)*panelGap) / vg.Length(n)
	for i, p := range tf.panels {
		y1 := c.Max.Y - vg.Length(i)*(ph+panelGap)
		pc := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: c.Min.X, Y: y1 - ph}, Max: vg.Point{X: c.Max.X, Y: y1},
		}}
		p.Draw(pc)
		if i == 0 {
			dc = p.DataCanvas(pc)
		}
	}
	if rows == 0 {
		return
	}
	// Fault labels in the band, each joined to the top of its line.
	trX := func(t float64) vg.Length {
		return dc.Min.X + vg.Length((t-top.X.Min)/(top.X.Max-top.X.Min))*(dc.Max.X-dc.Min.X)
	}
	fsty := textStyle(faultTextSize, colFaultRed)
	fsty.YAlign = draw.YCenter
	for _, f := range tf.faults {
		x := trX(f.t)
		if x < dc.Min.X-0.5 || x > dc.Max.X+0.5 {
			continue
		}
		yc := bandTop - (vg.Length(f.row)+0.5)*bandRowH
		c.StrokeLine2(faultLineStyle, x, dc.Max.Y, x, yc+bandRowH/2-1)
		sty := fsty
		pt := vg.Point{X: x + 3, Y: yc}
		if f.left {
			sty.XAlign = draw.XRight
			pt.X = x - 3
		}
		labelBox(c, sty, pt, f.label)
	}
}

// timePlot returns a plot over the time axis [0, end], its label in l,
// with the fault shading and grid under the data; add the data, then
// faultLines.
func timePlot(l lang, end float64, shades []tlSpan, yLabel string) *plot.Plot {
	p := newPlot("")
	p.X.Label.Text = l.s("timeS")
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
	p.X.Min, p.X.Max = 0, end
	p.Y.Label.Text = yLabel
	p.Add(faultShades{spans: shades})
	p.Add(gridLines{x: true, y: true})
	return p
}
