package reports

import (
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Histogram bins: with a theory window, windowBins bins span the window
// exactly and marginBins more lie each side of it (40 in all); without
// one, histBins bins span the data.
const (
	histBins   = 40
	windowBins = 32
	marginBins = 4
	maxBins    = 400
)

// bins describes the bins of a histogram.
type bins struct {
	lo, width    float64
	n            int
	aligned      bool // bin edges fall on Lo and Hi
	loBin, hiBin int  // with aligned: first bin of the window, first bin after it
}

// binning chooses the histogram's bins. With a window [Lo, Hi], bins of
// width (Hi − Lo)/32 have edges on Lo and Hi, so that the observed
// density compares bin for bin with the uniform one; the range is the
// window with four bins (12.5 %) of margin each side, widened by whole bins
// to take in any value outside it. Values spread far wider than the window
// get 40 bins over the data range instead.
func binning(s *Sweep, st sweepStats) bins {
	if st.hasWindow {
		w := (s.Hi - s.Lo) / windowBins
		left, right := float64(marginBins), float64(marginBins)
		if st.hasStatistics {
			// in floats: a value far from a narrow window needs more bins
			// than an int holds (and the test below refuses them)
			left = math.Max(left, math.Ceil((s.Lo-st.Min)/w))
			right = math.Max(right, math.Ceil((st.Max-s.Hi)/w))
		}
		if n := left + windowBins + right; n <= maxBins {
			return bins{lo: s.Lo - left*w, width: w, n: int(n),
				aligned: true, loBin: int(left), hiBin: int(left) + windowBins}
		}
	}
	lo, hi := st.Min, st.Max
	if st.hasWindow {
		lo, hi = math.Min(lo, s.Lo), math.Max(hi, s.Hi)
	}
	if !st.hasStatistics && !st.hasWindow {
		lo, hi = 0, 1
	}
	margin := 0.05 * (hi - lo)
	if margin == 0 {
		margin = 0.5
	}
	lo, hi = lo-margin, hi+margin
	return bins{lo: lo, width: (hi - lo) / histBins, n: histBins}
}

// sweepStats summarises a sweep's values.
type sweepStats struct {
	N                        int
	Min, Max, Mean, Median   float64
	P5, P95, StdDev          float64
	InWindow                 float64 // fraction of values in [Lo, Hi]
	hasWindow, hasStatistics bool
}

func summarize(s *Sweep) sweepStats {
	st := sweepStats{N: len(s.Values), hasWindow: s.Hi > s.Lo}
	var v []float64
	for _, x := range s.Values {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return st
	}
	st.hasStatistics = true
	slices.Sort(v)
	st.Min, st.Max = v[0], v[len(v)-1]
	st.Median = quantile(v, 0.5)
	st.P5, st.P95 = quantile(v, 0.05), quantile(v, 0.95)
	in := 0
	for _, x := range v {
		st.Mean += x
		if x >= s.Lo && x <= s.Hi {
			in++
		}
	}
	st.Mean /= float64(len(v))
	for _, x := range v {
		st.StdDev += (x - st.Mean) * (x - st.Mean)
	}
	if len(v) > 1 {
		st.StdDev = math.Sqrt(st.StdDev / float64(len(v)-1))
	} else {
		st.StdDev = 0
	}
	st.InWindow = float64(in) / float64(len(v))
	return st
}

// quantile returns the q-quantile of sorted v, interpolating linearly.
func quantile(v []float64, q float64) float64 {
	if len(v) == 1 {
		return v[0]
	}
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	f := pos - float64(i)
	return v[i]*(1-f) + v[i+1]*f
}

// metricAxisLabel turns a metric name into an axis label:
// "failover_s" → "failover (s)"; no name is "value (s)" in l.
func metricAxisLabel(l lang, metric string) string {
	if metric == "" {
		return l.s("valueS")
	}
	if _, ok := words["axis:"+metric]; ok {
		return l.s("axis:" + metric)
	}
	if l.zh {
		return metric // a name the lab chose: as written
	}
	for _, unit := range []string{"ms", "us", "ns", "s"} {
		if name, ok := strings.CutSuffix(metric, "_"+unit); ok {
			return strings.ReplaceAll(name, "_", " ") + " (" + unit + ")"
		}
	}
	return strings.ReplaceAll(metric, "_", " ")
}

// histFigure builds the failover histogram of a sweep, its fixed words
// in l; ok is false when there is no sweep.
func histFigure(l lang, s *Sweep) (figure, bool) {
	if s == nil {
		return figure{}, false
	}
	var observed []float64
	if len(s.Reference) > 0 {
		// The reference is the histogram; the observed values are marks.
		ref := *s
		ref.Values, observed = s.Reference, s.Values
		s = &ref
	}
	st := summarize(s)
	metric := s.Metric
	if metric == "" {
		metric = l.s("valueWord")
	}
	var title string
	switch {
	case observed != nil:
		title = l.f("histRef", metric, len(observed), s.ReferenceLabel, s.KSReference)
	case st.hasStatistics:
		title = l.f("histTitle", metric, st.N, st.Min, st.Median, st.Max)
		if st.hasWindow {
			title += l.f("histKS", s.KS)
		}
	default:
		title = l.f("noValues", metric)
	}
	p := newPlot(title)
	p.X.Label.Text = metricAxisLabel(l, s.Metric)
	p.Y.Label.Text = l.s("density")
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)

	b := binning(s, st)
	ymax := 0.0
	if st.hasStatistics {
		bins := make([]plotter.HistogramBin, b.n)
		for i := range bins {
			bins[i].Min = b.lo + float64(i)*b.width
			bins[i].Max = b.lo + float64(i+1)*b.width
		}
		n := 0
		for _, x := range s.Values {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			i := int(math.Floor((x - b.lo) / b.width))
			if b.aligned {
				// the window is closed: its ends count inside it
				if x >= s.Lo {
					i = max(i, b.loBin)
				}
				if x <= s.Hi {
					i = min(i, b.hiBin-1)
				}
			}
			i = max(0, min(i, b.n-1))
			bins[i].Weight++
			n++
		}
		for i := range bins {
			bins[i].Weight /= float64(n) * b.width
			ymax = math.Max(ymax, bins[i].Weight)
		}
		p.Add(&plotter.Histogram{
			Bins:      bins,
			Width:     b.width,
			FillColor: colHist,
			LineStyle: draw.LineStyle{Color: colHistLine, Width: 0.5},
		})
	}
	xlo, xhi := b.lo, b.lo+float64(b.n)*b.width

	entries := []legendEntry{{l.s("observedDens"), swatch(colHist)}}
	if observed != nil {
		entries[0].label = l.f("refDens", s.ReferenceLabel)
	}
	if st.hasWindow {
		d := 1 / (s.Hi - s.Lo)
		ymax = math.Max(ymax, d)
		uniform, _ := plotter.NewLine(plotter.XYs{
			{X: xlo, Y: 0}, {X: s.Lo, Y: 0}, {X: s.Lo, Y: d},
			{X: s.Hi, Y: d}, {X: s.Hi, Y: 0}, {X: xhi, Y: 0},
		})
		uniform.LineStyle = draw.LineStyle{Color: colTheory, Width: 2}
		p.Add(uniform)
		entries = append(entries, legendEntry{
			l.f("uniformTheory", fmtNum(s.Lo), fmtNum(s.Hi)),
			lineSwatch(uniform.LineStyle),
		})
	}
	if ymax <= 0 {
		ymax = 1
	}
	top := ymax * 1.18
	if st.hasWindow {
		p.Add(&windowLines{lo: s.Lo, hi: s.Hi, y: ymax * 1.08})
		entries = append(entries, legendEntry{l.s("window"), lineSwatch(windowStyle)})
	}
	if observed != nil {
		marks := &rug{values: observed, height: top * 0.12}
		p.Add(marks)
		entries = append(entries, legendEntry{l.f("realRuns", len(observed)), lineSwatch(rugStyle)})
		for _, x := range observed {
			xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
		}
	}
	p.X.Min, p.X.Max = xlo, xhi
	p.Y.Min, p.Y.Max = 0, top
	return figure{name: histName, draw: withLegend(p, entries)}, true
}

var rugStyle = draw.LineStyle{Color: color.RGBA{R: 20, G: 20, B: 20, A: 255}, Width: 1.6}

// rug draws a short vertical mark at each value, from the axis up.
type rug struct {
	values []float64
	height float64
}

// Plot implements plot.Plotter.
func (r *rug) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, x := range r.values {
		c.StrokeLine2(rugStyle, tx(x), ty(0), tx(x), ty(r.height))
	}
}

var windowStyle = draw.LineStyle{Color: colFaultRed, Width: 1.2, Dashes: []vg.Length{5, 3}}

// windowLines draws the vertical lines at the window's ends with their
// labels inside the window, above the tallest bar: "MDI − interval" just
// right of lo, "MDI" just left of hi.
type windowLines struct {
	lo, hi, y float64
}

func (w *windowLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	y0, y1 := c.Min.Y, c.Max.Y
	for _, x := range []float64{w.lo, w.hi} {
		c.StrokeLine2(windowStyle, trX(x), y0, trX(x), y1)
	}
	sty := textStyle(10, colFaultRed)
	sty.YAlign = draw.YCenter
	right := sty
	right.XAlign = draw.XRight
	labelBox(c, sty, vg.Point{X: trX(w.lo) + 4, Y: trY(w.y)}, "MDI − interval")
	labelBox(c, right, vg.Point{X: trX(w.hi) - 4, Y: trY(w.y)}, "MDI")
}
