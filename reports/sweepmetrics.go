package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// sweepMetricsName is the file name of the plot of a sweep's metrics.
const sweepMetricsName = "sweep_metrics"

// colWindow shades a theoretical window on a distribution; colRef draws
// a reference distribution (the simulator's, under a real sweep).
var (
	colWindow = withAlpha(colTheory, 0x38)
	colRef    = withAlpha(colFault, 0x60)
)

// metricBins returns the histogram bins of values (and of the window
// [lo, hi] when hi > lo): one bin per whole number for counts that span
// at most 60, else 40 bins over the range.
func metricBins(values []float64, lo, hi float64) []plotter.HistogramBin {
	vmin, vmax := slices.Min(values), slices.Max(values)
	if hi > lo {
		vmin, vmax = math.Min(vmin, lo), math.Max(vmax, hi)
	}
	integral := true
	for _, v := range values {
		integral = integral && v == math.Trunc(v)
	}
	var start, width float64
	var n int
	switch {
	case integral && vmax-vmin <= 60:
		start, width, n = vmin-0.5, 1, int(vmax-vmin)+1
	case vmax == vmin:
		start, width, n = vmin-0.5, 1, 1
	default:
		n = 40
		width = (vmax - vmin) / float64(n)
		start = vmin
	}
	bins := make([]plotter.HistogramBin, n)
	for i := range bins {
		bins[i].Min, bins[i].Max = start+float64(i)*width, start+float64(i+1)*width
	}
	for _, v := range values {
		i := max(0, min(n-1, int(math.Floor((v-start)/width))))
		bins[i].Weight++
	}
	return bins
}

// binCount sets the weights of bins to the count of values in each, times
// scale.
func binCount(bins []plotter.HistogramBin, values []float64, scale float64) {
	n := len(bins)
	start, width := bins[0].Min, bins[0].Max-bins[0].Min
	for i := range bins {
		bins[i].Weight = 0
	}
	for _, v := range values {
		i := max(0, min(n-1, int(math.Floor((v-start)/width))))
		bins[i].Weight += scale
	}
}

// windowBand shades [lo, hi] over the whole height of the data area.
type windowBand struct{ lo, hi float64 }

func (w windowBand) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x0, x1 := trX(w.lo), trX(w.hi)
	c.FillPolygon(colWindow, c.ClipPolygonX([]vg.Point{
		{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y},
	}))
}

// sweepMetricsFigure draws the distribution of each metric of a sweep,
// one panel each (its own x axis), with the theoretical window shaded
// where there is one, and a table of their statistics; ok is false
// without metrics.
func sweepMetricsFigure(l lang, lab string, metrics []SweepMetric) (figure, *tableView, bool) {
	var panels []*plot.Plot
	refs := false
	table := &tableView{Head: []string{"metric", "seeds", "undecided", "min", "median", "mean", "95th percentile", "max", "theory window", "inside the window", "KS distance to uniform"}}
	for _, m := range metrics {
		if len(m.Values) == 0 {
			if m.Undecided > 0 {
				table.Rows = append(table.Rows, []string{m.Name, "0", strconv.Itoa(m.Undecided), "—", "—", "—", "—", "—", "—", "—", "—"})
			}
			continue
		}
		st := summarize(&Sweep{Values: m.Values, Lo: m.Lo, Hi: m.Hi})
		win, inside, ks := "—", "—", "—"
		if st.hasWindow {
			win = fmt.Sprintf("[%s, %s]", fmtNum(m.Lo), fmtNum(m.Hi))
			inside = fmtNum(math.Round(1000*st.InWindow)/10) + " %"
		}
		if m.KS != nil {
			ks = strconv.FormatFloat(*m.KS, 'f', 4, 64)
		}
		table.Rows = append(table.Rows, []string{m.Name, strconv.Itoa(st.N), strconv.Itoa(m.Undecided), fmtNum(st.Min), fmtNum(st.Median),
			fmtNum(st.Mean), fmtNum(st.P95), fmtNum(st.Max), win, inside, ks})

		title := l.f("metricPanel", m.Name, fmtNum(st.Median), fmtNum(st.P95), fmtNum(st.Max))
		if m.KS != nil {
			title += l.f("histKS", *m.KS)
		}
		if m.Undecided > 0 {
			title += l.f("undecidedSeeds", m.Undecided)
		}
		p := newPlot(title)
		p.X.Label.Text = metricAxisLabel(l, m.Name)
		p.Y.Label.Text = l.s("seeds")
		p.X.Tick.Marker = plot.TickerFunc(niceTicks)
		p.Y.Tick.Marker = plot.TickerFunc(sparseTicks)
		bins := metricBins(m.Values, m.Lo, m.Hi)
		var ref []plotter.HistogramBin
		if len(m.Reference) > 0 {
			// One set of bins over both; the reference scaled to as many
			// seeds as the sweep has, so the two shapes compare.
			bins = metricBins(append(slices.Clone(m.Values), m.Reference...), m.Lo, m.Hi)
			ref = slices.Clone(bins)
			binCount(bins, m.Values, 1)
			binCount(ref, m.Reference, float64(len(m.Values))/float64(len(m.Reference)))
			title += l.f("ksToRef", m.ReferenceLabel, m.KSReference)
			p.Title.Text = title
			refs = true
		}
		top := 0.0
		for _, b := range append(slices.Clone(bins), ref...) {
			top = math.Max(top, b.Weight)
		}
		if st.hasWindow {
			p.Add(windowBand{lo: m.Lo, hi: m.Hi})
		}
		p.Add(gridLines{y: true})
		if ref != nil {
			p.Add(&plotter.Histogram{Bins: ref, Width: ref[0].Max - ref[0].Min, FillColor: colRef,
				LineStyle: draw.LineStyle{Color: colFault, Width: 0.5}})
		}
		p.Add(&plotter.Histogram{Bins: bins, Width: bins[0].Max - bins[0].Min, FillColor: colHist,
			LineStyle: draw.LineStyle{Color: colHistLine, Width: 0.5}})
		p.X.Min, p.X.Max = bins[0].Min, bins[len(bins)-1].Max
		if st.hasWindow {
			// room either side, so that the window shows as a band
			pad := 0.08 * (p.X.Max - p.X.Min)
			p.X.Min, p.X.Max = p.X.Min-pad, p.X.Max+pad
		}
		p.Y.Min, p.Y.Max = 0, math.Max(top, 1)*1.1
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return figure{}, nil, false
	}
	entries := []legendEntry{{l.s("seedsPerValue"), swatch(colHist)}, {l.s("window"), swatch(colWindow)}}
	if refs {
		entries = append(entries, legendEntry{l.s("referenceScaled"), swatch(colRef)})
	}
	tf := &timeFigure{
		name:    sweepMetricsName,
		title:   lbTitle(l.f("metricsTitle", len(metrics[0].Values)), lab),
		panels:  panels,
		entries: entries,
		panelH:  190,
	}
	return tf.figure(), table, true
}
