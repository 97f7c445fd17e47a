package reports

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/lblab/lblab/history"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// spectrumPoints is the number of points of each percentile line,
// evenly spaced on the log 1/(1−p) axis.
const spectrumPoints = 400

// groupHist is the latency histogram of answered requests of one group
// ("" for all groups), with the lower bounds of the latencies of its
// requests still in flight at the end (until the end, µs).
type groupHist struct {
	group   string
	n       int
	h       *history.Latencies
	pending []time.Duration
}

// groupHists returns one histogram per group of answered requests, in
// natural order of group, then one for all requests when there are
// several groups. It is empty when no request was answered.
func groupHists(d *lbData) []groupHist {
	all := &groupHist{h: &history.Latencies{}}
	var out []groupHist
	for _, name := range d.groups {
		gr := d.reqs.groups[name]
		if !gr.present {
			continue
		}
		g := groupHist{group: name, n: gr.hist.N(), h: &gr.hist}
		for _, l := range gr.pending {
			g.pending = append(g.pending, durationOf(l))
		}
		all.h.Merge(&gr.hist)
		all.n += g.n
		all.pending = append(all.pending, g.pending...)
		out = append(out, g)
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

// fmtMs writes a latency in milliseconds rounded to the microsecond, as
// results.json has it.
func fmtMs(d time.Duration) string { return fmtNum(math.Round(float64(d)/1e3) / 1e3) }

// percentilesFigure is the percentile spectrum of answered requests, one
// line per group, with a table of the usual percentiles; ok is false when
// no request was answered.
func percentilesFigure(d *lbData) (figure, *tableView, bool) {
	hists := groupHists(d)
	if !slices.ContainsFunc(hists, func(g groupHist) bool { return g.n > 0 }) {
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

	table := &tableView{Head: []string{"group", "answered", "mean (ms)", "p50 (ms)", "p90 (ms)", "p99 (ms)", "p99.9 (ms)", "max (ms)",
		"unknown (in flight at the end)"}}
	lo, hi := math.Inf(1), 0.0
	type line struct {
		ys    []float64
		style draw.LineStyle
		label string
	}
	var lines []line
	for i, g := range hists {
		name := d.l.f("groupN", g.group)
		switch {
		case g.group == "" && i == len(hists)-1 && len(hists) > 1:
			name = d.l.s("allGroups")
		case g.group == "" && len(hists) == 1:
			name = d.l.s("allRequests")
		}
		table.Rows = append(table.Rows, g.summaryRow(name))
		if g.n == 0 {
			continue // no answered request: no line, the table says why
		}
		ys := make([]float64, len(ps))
		for j, p := range ps {
			ys[j] = float64(g.h.Percentile(p)) / 1e6
			if ys[j] > 0 {
				lo = math.Min(lo, ys[j])
			}
			hi = math.Max(hi, ys[j])
		}
		style := draw.LineStyle{Color: seriesColor(i), Width: 2}
		if g.group == "" && i == len(hists)-1 && len(hists) > 1 {
			style = draw.LineStyle{Color: colText, Width: 1.4, Dashes: []vg.Length{5, 3}}
		}
		lines = append(lines, line{ys, style, d.l.f("nAnswered", name, g.n)})
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

// summaryRow is a group's row of the percentile table: answered requests,
// mean, p50, p90, p99, p99.9, max, and unknown requests. A request still
// in flight at the end took at least until the end and may never finish,
// so each statistic is bounded: with each unknown latency at its lower
// bound (lo) and at +∞ (hi). A cell is the value when the unknown
// requests cannot change it, "lo – hi" when they can move it only that
// far, and "≥ lo" otherwise.
func (g *groupHist) summaryRow(name string) []string {
	row := []string{name, strconv.Itoa(g.n)}
	k := len(g.pending)
	lo := g.h
	if k > 0 {
		lo = &history.Latencies{}
		lo.Merge(g.h)
		for _, l := range g.pending {
			lo.Record(l)
		}
	}
	cell := func(lo, hi time.Duration, finite bool) string {
		switch {
		case finite && hi == lo:
			return fmtMs(lo)
		case finite:
			return fmtMs(lo) + " – " + fmtMs(hi)
		}
		return "≥ " + fmtMs(lo)
	}
	mean := fmtMs(lo.Mean())
	if k > 0 {
		mean = "≥ " + mean
	}
	row = append(row, mean)
	for _, p := range summaryPercentiles {
		// With the unknown ones at +∞, the percentile's rank falls among
		// the answered requests, or on +∞.
		plo := lo.Percentile(p)
		rank := history.Rank(p, g.n+k)
		if rank > g.n {
			row = append(row, cell(plo, 0, false))
			continue
		}
		row = append(row, cell(plo, max(g.h.AtRank(rank), plo), true))
	}
	row = append(row, cell(lo.Max(), lo.Max(), k == 0), strconv.Itoa(k))
	return row
}
