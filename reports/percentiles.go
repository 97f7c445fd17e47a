package reports

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// spectrumPoints is the number of points of each percentile line,
// evenly spaced on the log 1/(1−p) axis.
const spectrumPoints = 400

// groupHist is the latency histogram of answered requests of one group
// ("" for all groups).
type groupHist struct {
	group string
	n     int
	h     *latencyHist
}

// groupHists returns one histogram per group of answered requests, in
// natural order of group, then one for all requests when there are
// several groups. It is empty when no request was answered.
func groupHists(d *lbData) []groupHist {
	byGroup := map[string]*groupHist{}
	all := &groupHist{h: newLatencyHist()}
	for i := range d.reqs {
		q := &d.reqs[i]
		if q.status == 0 {
			continue
		}
		g, ok := byGroup[q.group]
		if !ok {
			g = &groupHist{group: q.group, h: newLatencyHist()}
			byGroup[q.group] = g
		}
		g.h.record(q.lat)
		g.n++
		all.h.record(q.lat)
		all.n++
	}
	var out []groupHist
	for _, name := range d.groups {
		if g, ok := byGroup[name]; ok {
			out = append(out, *g)
		}
	}
	if len(out) > 1 {
		out = append(out, *all)
	}
	return out
}

// percentileLabel labels the point 1/(1−p) = 10^k of the percentile axis:
// 0%, 90%, 99%, 99.9%, ...
func percentileLabel(k int) string {
	if k == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*(1-math.Pow10(-k)), 'f', max(0, k-2), 64) + "%"
}

// fmtMs writes a latency given in microseconds as milliseconds.
func fmtMs(us int64) string { return fmtNum(float64(us) / 1e3) }

// percentilesFigure is the percentile spectrum of answered requests, one
// line per group, with a table of the usual percentiles; ok is false when
// no request was answered.
func percentilesFigure(d *lbData) (figure, *tableView, bool) {
	hists := groupHists(d)
	if len(hists) == 0 {
		return figure{}, nil, false
	}
	maxN := 0
	for _, g := range hists {
		maxN = max(maxN, g.n)
	}
	decades := max(2, min(6, int(math.Ceil(math.Log10(float64(maxN))))))

	// x = 1/(1−p) from 1 to xmax, evenly on the log axis.
	xs := make([]float64, spectrumPoints)
	ps := make([]float64, spectrumPoints)
	for i := range xs {
		e := float64(decades) * float64(i) / float64(spectrumPoints-1)
		xs[i] = e
		ps[i] = 100 * (1 - math.Pow(10, -e))
	}
	p := newPlot(lbTitle(d.l.s("pctTitle"), d.lab))
	p.X.Label.Text = d.l.s("pctAxis")
	p.Y.Label.Text = d.l.s("latencyLog")
	// Both axes hold log10 of their values (see logAxis).
	var ticks []plot.Tick
	for k := 0; k <= decades; k++ {
		ticks = append(ticks, plot.Tick{Value: float64(k), Label: percentileLabel(k)})
		if k < decades {
			for m := 2; m <= 9; m++ {
				ticks = append(ticks, plot.Tick{Value: float64(k) + math.Log10(float64(m))})
			}
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0, float64(decades)
	p.Add(gridLines{x: true, y: true})

	table := &tableView{Head: []string{"group", "answered", "mean (ms)", "p50 (ms)", "p90 (ms)", "p99 (ms)", "p99.9 (ms)", "max (ms)"}}
	lo, hi := math.Inf(1), 0.0
	type line struct {
		ys    []float64
		style draw.LineStyle
		label string
	}
	var lines []line
	for i, g := range hists {
		vals := g.h.at(ps)
		ys := make([]float64, len(vals))
		for j, v := range vals {
			ys[j] = float64(v) / 1e3
			if ys[j] > 0 {
				lo = math.Min(lo, ys[j])
			}
			hi = math.Max(hi, ys[j])
		}
		name := d.l.f("groupN", g.group)
		style := draw.LineStyle{Color: seriesColor(i), Width: 2}
		switch {
		case g.group == "" && i == len(hists)-1 && len(hists) > 1:
			name = d.l.s("allGroups")
			style = draw.LineStyle{Color: colText, Width: 1.4, Dashes: []vg.Length{5, 3}}
		case g.group == "" && len(hists) == 1:
			name = d.l.s("allRequests")
		}
		lines = append(lines, line{ys, style, d.l.f("nAnswered", name, g.n)})
		row := []string{name, strconv.Itoa(g.n), fmtNum(math.Round(g.h.mean()) / 1e3)}
		for _, v := range g.h.at(summaryPercentiles) {
			row = append(row, fmtMs(v))
		}
		row = append(row, fmtMs(g.h.max))
		table.Rows = append(table.Rows, row)
	}
	ylo, yhi := logRange(lo, hi)
	logAxis(&p.Y, ylo, yhi)
	var entries []legendEntry
	for _, l := range lines {
		ys := make([]float64, len(l.ys))
		for j, y := range l.ys {
			ys[j] = math.Log10(math.Max(y, ylo))
		}
		p.Add(polyline{xs: xs, ys: ys, style: l.style})
		entries = append(entries, legendEntry{l.label, lineSwatch(l.style)})
	}
	tf := &timeFigure{
		name:    percentilesName,
		title:   p.Title.Text,
		panels:  []*plot.Plot{p},
		entries: entries,
		panelH:  plotHeight - 70,
	}
	p.Title.Text = ""
	return tf.figure(), table, true
}
