package reports

import (
	"image/color"
	"math"

	"github.com/lblab/lblab/history"
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

// colUnknownReq marks requests still in flight at the end of the run
// (outcome unknown): neither the blue of success nor the red of failure.
var colUnknownReq = rgb(0xe6, 0xa1, 0x00)

// allGroups names the single panel of a run whose requests are drawn
// together (a run with one group, or none).
const allGroups = "\x00all"

// panelGroups returns the groups that get a panel of their own on the
// per-request plots: every group, in natural order, when there are
// several; else one panel (allGroups) for every request.
func (d *lbData) panelGroups() []string {
	if len(d.groups) > 1 {
		return d.groups
	}
	return []string{allGroups}
}

// panelTitle is the title of group g's panel in l ("" for allGroups).
func panelTitle(l lang, g string) string {
	switch g {
	case allGroups:
		return ""
	case "":
		return l.s("noGroup")
	}
	return l.f("groupN", g)
}

// panelHeight is the height of each of n stacked panels of a per-group
// figure: the usual plot for one, smaller panels for several.
func panelHeight(n int) vg.Length {
	if n <= 1 {
		return plotHeight - 70
	}
	return 170
}

// latencyFigure is the latency of each request (a sample of the
// successful ones, every failed one, every one still in flight at the
// end) at its send time, with p50 and p99 per time bucket: one panel per
// group, over a shared time axis and a shared latency axis; ok is false
// without requests.
func latencyFigure(d *lbData) (figure, bool) {
	if d.reqs.n == 0 {
		return figure{}, false
	}
	// y range: every request's latency in ms, zero latencies aside.
	ylo, yhi := logRange(d.reqs.latLo, d.reqs.latHi)
	yOf := func(lat float64) float64 { return math.Log10(math.Max(lat*1e3, ylo)) }

	groups := d.panelGroups()
	var panels []*plot.Plot
	nOK, shownOK, nFail, nUnknown := 0, 0, 0, 0
	for gi, g := range groups {
		gr := d.group(g)
		okPts := gr.okDrawn(maxLatencyDots / len(groups))
		nOK += gr.okN
		shownOK += len(okPts)
		nFail += len(gr.failedAt)
		nUnknown += len(gr.unknown)

		// p50 and p99 of answered requests per bucket of send time.
		xs := make([]float64, d.nb)
		p50 := make([]float64, d.nb)
		p99 := make([]float64, d.nb)
		for b := range xs {
			xs[b] = d.bucketMid(b)
			var per *history.Latencies
			if gr.perBucket != nil {
				per = gr.perBucket[b]
			}
			if per == nil || per.N() == 0 {
				p50[b], p99[b] = math.NaN(), math.NaN()
				continue
			}
			p50[b], p99[b] = yOf(per.Percentile(50).Seconds()), yOf(per.Percentile(99).Seconds())
		}

		p := timePlot(d.l, d.end, d.shades, d.l.s("latencyLog"))
		p.Title.Text = panelTitle(d.l, g)
		if gi < len(groups)-1 {
			p.X.Label.Text = ""
		}
		logAxis(&p.Y, ylo, yhi)
		dotsOf := func(pts []reqPoint) (xs, ys []float64) {
			xs, ys = make([]float64, len(pts)), make([]float64, len(pts))
			for j, q := range pts {
				xs[j], ys[j] = q.start, yOf(q.lat)
			}
			return xs, ys
		}
		ox, oy := dotsOf(okPts)
		fx, fy := dotsOf(gr.failedAt)
		ux, uy := dotsOf(gr.unknown)
		p.Add(dots{xs: ox, ys: oy, color: colDot, radius: 1.3})
		p.Add(dots{xs: fx, ys: fy, color: colFailedDot, radius: 1.7})
		p.Add(dots{xs: ux, ys: uy, color: colUnknownReq, radius: 2.2, shape: draw.TriangleGlyph{}})
		p.Add(polyline{xs: xs, ys: p50, style: p50Style})
		p.Add(polyline{xs: xs, ys: p99, style: p99Style})
		p.Add(faultLines{faults: d.faults})
		panels = append(panels, p)
	}

	sample := d.l.f("okAll", nOK)
	if shownOK < nOK {
		sample = d.l.f("okShown", shownOK, nOK)
	}
	bucket := fmtNum(d.bucket) + " s"
	entries := []legendEntry{
		{sample, dotSwatch(withAlpha(colDotSolid, 0xa0), 2.5)},
		{d.l.f("failedAll", nFail), dotSwatch(colFailedDot, 2.5)},
	}
	if nUnknown > 0 {
		entries = append(entries, legendEntry{d.l.f("unknownAll", nUnknown),
			glyphSwatch(colUnknownReq, 3, draw.TriangleGlyph{})})
	}
	entries = append(entries,
		legendEntry{d.l.f("pPer", "p50", bucket), lineSwatch(p50Style)},
		legendEntry{d.l.f("pPer", "p99", bucket), lineSwatch(p99Style)},
	)
	entries = append(entries, faultEntries(d)...)
	tf := &timeFigure{
		name:    latencyName,
		title:   lbTitle(d.l.s("latencyTitle"), d.lab),
		panels:  panels,
		faults:  d.faults,
		end:     d.end,
		entries: entries,
		panelH:  panelHeight(len(panels)),
	}
	return tf.figure(), true
}

// faultEntries are the legend entries of fault lines and spans, when the
// run has any.
func faultEntries(d *lbData) []legendEntry {
	var out []legendEntry
	if len(d.faults) > 0 {
		out = append(out, legendEntry{d.l.s("faultLine"), lineSwatch(faultLineStyle)})
	}
	if len(d.shades) > 0 {
		out = append(out, legendEntry{d.l.s("faultInEffect"), swatch(colShade)})
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
	return glyphSwatch(c, r, draw.CircleGlyph{})
}

// glyphSwatch is a legend thumbnail: one glyph of the given shape.
func glyphSwatch(c color.Color, r vg.Length, shape draw.GlyphDrawer) func(draw.Canvas) {
	return func(cv draw.Canvas) {
		cv.DrawGlyphNoClip(draw.GlyphStyle{Color: c, Radius: r, Shape: shape}, cv.Center())
	}
}
