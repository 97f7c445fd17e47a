package reports

import (
	"cmp"
	"image/color"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// outcome is a class of request outcome on the status plot.
type outcome struct {
	key    string // "2xx", "502", "timeout"
	label  string // legend text
	rank   int    // order: answers by class, then 5xx by code, then client errors
	color  color.Color
	counts [][]int // per panel, per bucket
	total  int
}

// Colours of the outcomes. Successes are pale so that failures stand out.
var (
	col1xx = rgb(0xd9, 0xd9, 0xd9)
	col2xx = rgb(0xa1, 0xd9, 0x9b)
	col3xx = rgb(0xae, 0xc7, 0xe8)
	col4xx = rgb(0xe7, 0xcb, 0x5e)
	// 5xx codes: 502 red as the failure of the lab, the others apart.
	col5xx = map[int]color.Color{
		500: rgb(0x8c, 0x56, 0x4b),
		502: rgb(0xd6, 0x27, 0x28),
		503: rgb(0xff, 0x7f, 0x0e),
		504: rgb(0x94, 0x67, 0xbd),
	}
	col5xxOther = []color.Color{rgb(0xe3, 0x77, 0xc2), rgb(0xc4, 0x9c, 0x94), rgb(0xf7, 0xb6, 0xd2), rgb(0x7b, 0x41, 0x73)}
	colErr      = map[string]color.Color{
		"timeout":   rgb(0x39, 0x3b, 0x79),
		"refused":   rgb(0x63, 0x63, 0x63),
		"reset":     rgb(0x17, 0xbe, 0xcf),
		"no_server": rgb(0xce, 0x6d, 0xbd),
		// a probe's: no route, or no neighbour answered ARP
		"unreachable": rgb(0xad, 0x49, 0x4a),
	}
	colErrOther = rgb(0xb0, 0xb0, 0xb0)
)

// classify returns the key, legend label (in l) and rank of a request's
// outcome: its status class (2xx, 3xx, 4xx), its 5xx code, a tcp
// exchange echoed, or with no answer its client-side error class; a
// request still in flight at the end is "unknown", neither a success nor
// a failure.
func classify(l lang, q *lbReq) (key, label string, rank int) {
	if q.unknown() {
		return "unknown", l.s("unknownOutcome"), 4000
	}
	if q.echoed() {
		return "echoed", l.s("echoed"), 2
	}
	if q.status == 0 {
		e := q.err
		r := 3000
		switch e {
		case "timeout":
			r = 2000
		case "refused":
			r = 2001
		case "reset":
			r = 2002
		case "no_server":
			r = 2003
		}
		return "err:" + e, l.f("errNoAnswer", e), r
	}
	switch {
	case q.status < 200:
		return "1xx", "1xx", 1
	case q.status < 300:
		return "2xx", "2xx", 2
	case q.status < 400:
		return "3xx", "3xx", 3
	case q.status < 500:
		return "4xx", "4xx", 4
	}
	s := strconv.Itoa(q.status)
	return s, s, 1000 + q.status
}

// statusesFigure is the number of requests of each outcome per time
// bucket of send time, as stacked bars (failures at the bottom, requests
// still in flight at the end on top), one panel per group over a shared
// time axis and count axis; ok is false without requests.
func statusesFigure(d *lbData) (figure, bool) {
	if d.reqs.n == 0 {
		return figure{}, false
	}
	groups := d.panelGroups()
	byKey := map[string]*outcome{}
	for g, name := range groups {
		for k, counts := range d.group(name).outcomes {
			q := lbReq{status: k.status, err: k.err}
			if k.unknown {
				q.err = inFlightError
			}
			key, label, rank := classify(d.l, &q)
			o, ok := byKey[key]
			if !ok {
				o = &outcome{key: key, label: label, rank: rank, counts: make([][]int, len(groups))}
				for g := range groups {
					o.counts[g] = make([]int, d.nb)
				}
				byKey[key] = o
			}
			for b, c := range counts {
				o.counts[g][b] += c
				o.total += c
			}
		}
	}
	outs := make([]*outcome, 0, len(byKey))
	for _, o := range byKey {
		outs = append(outs, o)
	}
	slices.SortFunc(outs, func(a, b *outcome) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	other5xx := 0
	for _, o := range outs {
		switch {
		case o.key == "1xx":
			o.color = col1xx
		case o.key == "2xx", o.key == "echoed":
			o.color = col2xx
		case o.key == "3xx":
			o.color = col3xx
		case o.key == "4xx":
			o.color = col4xx
		case o.key == "unknown":
			o.color = colUnknownReq
		case o.rank >= 1000 && o.rank < 2000:
			if c, ok := col5xx[o.rank-1000]; ok {
				o.color = c
			} else {
				o.color = col5xxOther[other5xx%len(col5xxOther)]
				other5xx++
			}
		default:
			if c, ok := colErr[o.key[len("err:"):]]; ok {
				o.color = c
			} else {
				o.color = colErrOther
			}
		}
	}
	// Stack from the bottom: client errors, 5xx, then the answers.
	stack := slices.Clone(outs)
	slices.SortStableFunc(stack, func(a, b *outcome) int {
		return cmp.Compare(stackRank(a), stackRank(b))
	})
	ymax := 0
	for g := range groups {
		for b := 0; b < d.nb; b++ {
			sum := 0
			for _, o := range outs {
				sum += o.counts[g][b]
			}
			ymax = max(ymax, sum)
		}
	}

	bucket := fmtNum(d.bucket) + " s"
	top := float64(max(ymax, 1))
	var panels []*plot.Plot
	for g, name := range groups {
		p := timePlot(d.l, d.end, nil, d.l.f("requestsPer", bucket))
		p.Title.Text = panelTitle(d.l, name)
		if g < len(groups)-1 {
			p.X.Label.Text = ""
		}
		p.Y.Tick.Marker = plot.TickerFunc(sparseTicks)
		p.Y.Min, p.Y.Max = 0, top*1.1
		p.Add(stackedBars{d: d, stack: stack, panel: g})
		// The bars fill the plot: faults in effect are a strip above them.
		p.Add(faultShades{spans: d.shades, strip: true, lo: top * 1.025, hi: top * 1.1})
		p.Add(faultLines{faults: d.faults})
		panels = append(panels, p)
	}

	var entries []legendEntry
	n := d.reqs.n
	for _, o := range outs {
		entries = append(entries, legendEntry{
			d.l.f("outcomeEntry", o.label, o.total, fmtPct(o.total, n)),
			swatch(o.color),
		})
	}
	entries = append(entries, faultEntries(d)...)
	tf := &timeFigure{
		name:    statusesName,
		title:   lbTitle(d.l.f("statusesTitle", bucket), d.lab),
		panels:  panels,
		faults:  d.faults,
		end:     d.end,
		entries: entries,
		panelH:  panelHeight(len(panels)),
	}
	return tf.figure(), true
}

// stackRank orders outcomes in a stacked bar from the bottom: client
// errors first, then 5xx, then 4xx, 3xx, 1xx, 2xx, and the requests
// whose outcome is unknown on top.
func stackRank(o *outcome) int {
	switch {
	case o.key == "unknown":
		return 6
	case o.rank >= 2000:
		return 0
	case o.rank >= 1000:
		return 1
	case o.key == "4xx":
		return 2
	case o.key == "3xx":
		return 3
	case o.key == "1xx":
		return 4
	}
	return 5
}

// fmtPct writes k/n as a percentage with a precision that shows small
// shares: 97.1, 0.42, 0.013.
func fmtPct(k, n int) string {
	if n == 0 {
		return "0"
	}
	v := 100 * float64(k) / float64(n)
	switch {
	case v == 0 || v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

// stackedBars draws one stacked bar per time bucket.
type stackedBars struct {
	d     *lbData
	stack []*outcome
	panel int // index into each outcome's counts
}

func (s stackedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for b := 0; b < s.d.nb; b++ {
		x0, x1 := trX(float64(b)*s.d.bucket), trX(min(float64(b+1)*s.d.bucket, s.d.end))
		if w := x1 - x0; w > 4 {
			gap := min(w*0.08, 2)
			x0, x1 = x0+gap/2, x1-gap/2
		}
		sum := 0
		for _, o := range s.stack {
			k := o.counts[s.panel][b]
			if k == 0 {
				continue
			}
			y0, y1 := trY(float64(sum)), trY(float64(sum+k))
			sum += k
			c.FillPolygon(o.color, c.ClipPolygonXY([]vg.Point{
				{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1},
			}))
		}
	}
}

// outcomeTable counts the requests of each group by outcome, as Jepsen
// sorts operations: ok (an answer from 200 to 399), failed (any other
// answer, or none) and unknown (still in flight at the end), with the
// success ratio ok ÷ (ok + failed): over the finished requests, the
// unknown ones counted apart; "—" when none finished. With several
// groups a last row sums them.
func outcomeTable(d *lbData) *tableView {
	t := &tableView{Head: []string{"group", "requests", "ok", "failed", "unknown (in flight at the end)", "success ratio"}}
	type counts struct{ n, ok, failed, unknown int }
	row := func(name string, c counts) {
		ratio := "—"
		if finished := c.ok + c.failed; finished > 0 {
			ratio = fmtPct(c.ok, finished) + " %"
		}
		t.Rows = append(t.Rows, []string{name, strconv.Itoa(c.n), strconv.Itoa(c.ok), strconv.Itoa(c.failed),
			strconv.Itoa(c.unknown), ratio})
	}
	groups := d.panelGroups()
	var all counts
	for _, g := range groups {
		c := counts(d.group(g).counts)
		all.n, all.ok, all.failed, all.unknown = all.n+c.n, all.ok+c.ok, all.failed+c.failed, all.unknown+c.unknown
		name := panelTitle(d.l, g)
		if name == "" {
			name = d.l.s("allRequests")
		}
		row(name, c)
	}
	if len(groups) > 1 {
		row(d.l.s("allGroups"), all)
	}
	return t
}
