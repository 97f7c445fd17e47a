package reports

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// throughputName is the file name of the throughput plot.
const throughputName = "throughput"

// Styles of the throughput plot.
var (
	offeredStyle  = draw.LineStyle{Color: colText, Width: 1.4, Dashes: []vg.Length{5, 3}}
	achievedStyle = draw.LineStyle{Color: colMaster, Width: 2}
	failedStyle   = draw.LineStyle{Color: colFaultRed, Width: 1.4}
)

// rates are the per-bucket rates of the throughput plot, in requests per
// second: offered counts requests by their intended send time (the load
// the clients meant to offer, as wrk2 and vegeta set it); achieved counts
// successful answers (status 200 to 399) and failed the failures, by the
// time they ended.
type rates struct {
	xs, offered, achieved, failed []float64
}

// throughputRates computes the rates of the throughput plot. A request
// still in flight at the end counts as offered only.
func throughputRates(d *lbData) rates {
	r := rates{xs: make([]float64, d.nb), offered: make([]float64, d.nb),
		achieved: make([]float64, d.nb), failed: make([]float64, d.nb)}
	for b := range d.nb {
		r.offered[b] = float64(d.reqs.offered[b])
		r.achieved[b] = float64(d.reqs.achieved[b])
		r.failed[b] = float64(d.reqs.failed[b])
	}
	for b := range r.xs {
		r.xs[b] = d.bucketMid(b)
		w := min(d.bucket, d.end-float64(b)*d.bucket)
		if w <= 0 {
			w = d.bucket
		}
		r.offered[b] /= w
		r.achieved[b] /= w
		r.failed[b] /= w
	}
	return r
}

// throughputFigure draws the offered rate against the achieved
// throughput over time; ok is false without requests.
func throughputFigure(d *lbData) (figure, bool) {
	if d.reqs.n == 0 {
		return figure{}, false
	}
	r := throughputRates(d)
	top := 0.0
	for b := range r.xs {
		top = max(top, r.offered[b], r.achieved[b], r.failed[b])
	}
	p := timePlot(d.l, d.end, d.shades, d.l.s("perSecond"))
	p.Y.Min, p.Y.Max = 0, max(top, 1)*1.1
	p.Y.Tick.Marker = plot.TickerFunc(sparseTicks)
	p.Add(polyline{xs: r.xs, ys: r.offered, style: offeredStyle})
	p.Add(polyline{xs: r.xs, ys: r.failed, style: failedStyle})
	p.Add(polyline{xs: r.xs, ys: r.achieved, style: achievedStyle})
	p.Add(faultLines{faults: d.faults})
	bucket := fmtNum(d.bucket) + " s"
	entries := []legendEntry{
		{d.l.s("offered"), lineSwatch(offeredStyle)},
		{d.l.s("achieved"), lineSwatch(achievedStyle)},
		{d.l.s("failedByEnd"), lineSwatch(failedStyle)},
	}
	entries = append(entries, faultEntries(d)...)
	tf := &timeFigure{
		name:    throughputName,
		title:   lbTitle(d.l.f("throughputTitle", bucket), d.lab),
		panels:  []*plot.Plot{p},
		faults:  d.faults,
		end:     d.end,
		entries: entries,
		panelH:  plotHeight - 70,
	}
	return tf.figure(), true
}
