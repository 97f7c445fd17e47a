package reports

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Styles of the latency plot.
var (
	colDotSolid  = rgb(0x1f, 0x77, 0xb4)
	colDot       = withAlpha(colDotSolid, 0x50)
	colFailedDot = colFaultRed
	p50Style     = draw.LineStyle{Color: rgb(0x22, 0x22, 0x22), Width: 1.6}
	p99Style     = draw.LineStyle{Color: rgb(0x94, 0x67, 0xbd), Width: 1.8}
)

// latencyFigure is the latency of each request (a sample of the
// successful ones, every failed one) at its send time, with p50 and p99
// per time bucket; ok is false without requests.
func latencyFigure(d *lbData) (figure, bool) {
	if len(d.reqs) == 0 {
		return figure{}, false
	}
	okIdx, failIdx := downsample(d.reqs, maxLatencyDots)
	nOK := len(d.reqs) - len(failIdx)

	// y range: every request's latency in ms, zero latencies aside.
	lo, hi := math.Inf(1), 0.0
	for i := range d.reqs {
		ms := d.reqs[i].lat * 1e3
		if ms > 0 {
			lo = math.Min(lo, ms)
			hi = math.Max(hi, ms)
		}
	}
	ylo, yhi := logRange(lo, hi)
	yOf := func(lat float64) float64 { return math.Log10(math.Max(lat*1e3, ylo)) }

	// p50 and p99 of answered requests per bucket of send time.
	per := make([][]float64, d.nb)
	for i := range d.reqs {
		q := &d.reqs[i]
		if q.status != 0 {
			b := d.bucketOf(q.start)
			per[b] = append(per[b], q.lat)
		}
	}
	xs := make([]float64, d.nb)
	p50 := make([]float64, d.nb)
	p99 := make([]float64, d.nb)
	for b, v := range per {
		xs[b] = d.bucketMid(b)
		if len(v) == 0 {
			p50[b], p99[b] = math.NaN(), math.NaN()
			continue
		}
		slices.Sort(v)
		p50[b], p99[b] = yOf(nearestRank(v, 0.50)), yOf(nearestRank(v, 0.99))
	}

	p := timePlot(d.end, d.shades, "latency (ms, log scale)")
	logAxis(&p.Y, ylo, yhi)
	dotsOf := func(idx []int) (xs, ys []float64) {
		xs, ys = make([]float64, len(idx)), make([]float64, len(idx))
		for j, i := range idx {
			xs[j], ys[j] = d.reqs[i].start, yOf(d.reqs[i].lat)
		}
		return xs, ys
	}
	ox, oy := dotsOf(okIdx)
	fx, fy := dotsOf(failIdx)
	p.Add(dots{xs: ox, ys: oy, color: colDot, radius: 1.3})
	p.Add(dots{xs: fx, ys: fy, color: colFailedDot, radius: 1.7})
	p.Add(polyline{xs: xs, ys: p50, style: p50Style})
	p.Add(polyline{xs: xs, ys: p99, style: p99Style})
	p.Add(faultLines{faults: d.faults})

	sample := fmt.Sprintf("successful (all %d)", nOK)
	if len(okIdx) < nOK {
		sample = fmt.Sprintf("successful (%d of %d shown)", len(okIdx), nOK)
	}
	bucket := fmtNum(d.bucket) + " s"
	entries := []legendEntry{
		{sample, dotSwatch(withAlpha(colDotSolid, 0xa0), 2.5)},
		{fmt.Sprintf("5xx or no answer (all %d)", len(failIdx)), dotSwatch(colFailedDot, 2.5)},
		{"p50 per " + bucket, lineSwatch(p50Style)},
		{"p99 per " + bucket, lineSwatch(p99Style)},
	}
	entries = append(entries, faultEntries(d)...)
	tf := &timeFigure{
		name:    latencyName,
		title:   lbTitle("Latency of each request at its send time", d.lab),
		panels:  []*plot.Plot{p},
		faults:  d.faults,
		end:     d.end,
		entries: entries,
		panelH:  plotHeight - 70,
	}
	return tf.figure(), true
}

// nearestRank returns the q-quantile of sorted v by the nearest-rank
// method: the smallest value with at least q of the values at or below it.
func nearestRank(v []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(v)))) - 1
	return v[max(0, min(i, len(v)-1))]
}

// faultEntries are the legend entries of fault lines and spans, when the
// run has any.
func faultEntries(d *lbData) []legendEntry {
	var out []legendEntry
	if len(d.faults) > 0 {
		out = append(out, legendEntry{"fault", lineSwatch(faultLineStyle)})
	}
	if len(d.shades) > 0 {
		out = append(out, legendEntry{"fault in effect", swatch(colShade)})
	}
	return out
}

// lbTitle appends the lab's name to a plot title.
func lbTitle(title, lab string) string {
	if lab != "" {
		return title + " — " + lab
	}
	return title
}

// dotSwatch is a legend thumbnail: a dot.
func dotSwatch(c color.Color, r vg.Length) func(draw.Canvas) {
	return func(cv draw.Canvas) {
		cv.DrawGlyphNoClip(draw.GlyphStyle{Color: c, Radius: r, Shape: draw.CircleGlyph{}}, cv.Center())
	}
}
