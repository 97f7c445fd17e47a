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

// shareServer is one server of a group on the share plots.
type shareServer struct {
	group, server string
	color         color.Color
	answered      int     // requests it answered
	observed      float64 // share of its group's answered requests, 0..1
	expected      float64 // from the weights, 0..1
	hasExpected   bool
}

// shareGroup is a group's servers on the share plots.
type shareGroup struct {
	name     string
	answered int
	servers  []*shareServer
}

// serverLabel names a server on the plots: "group/server", or just the
// server when the run has a single unnamed group.
func serverLabel(group, server string, multi bool) string {
	if !multi && group == "" {
		return server
	}
	return group + "/" + server
}

// shareGroups collects the servers of each group: those that answered a
// request and those with an expected share. Groups and servers are in
// natural order; each server gets its own colour.
func shareGroups(d *lbData) []*shareGroup {
	groups := map[string]*shareGroup{}
	index := map[[2]string]*shareServer{}
	get := func(g, s string) *shareServer {
		sg, ok := groups[g]
		if !ok {
			sg = &shareGroup{name: g}
			groups[g] = sg
		}
		k := [2]string{g, s}
		ss, ok := index[k]
		if !ok {
			ss = &shareServer{group: g, server: s}
			index[k] = ss
			sg.servers = append(sg.servers, ss)
		}
		return ss
	}
	for _, name := range d.groups {
		gr := d.reqs.groups[name]
		for server, counts := range gr.servers {
			n := 0
			for _, c := range counts {
				n += c
			}
			get(name, server).answered += n
			groups[name].answered += n
		}
	}
	for _, s := range d.shares {
		ss := get(s.Group, s.Server)
		ss.expected, ss.hasExpected = s.Expected, true
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	slices.SortFunc(names, naturalCompare)
	out := make([]*shareGroup, 0, len(names))
	ci := 0
	for _, g := range names {
		sg := groups[g]
		slices.SortFunc(sg.servers, func(a, b *shareServer) int { return naturalCompare(a.server, b.server) })
		for _, s := range sg.servers {
			s.color = seriesColor(ci)
			ci++
			if sg.answered > 0 {
				s.observed = float64(s.answered) / float64(sg.answered)
			}
		}
		out = append(out, sg)
	}
	return out
}

// Styles of the share plots.
var (
	expectedFill  = color.NRGBA{R: 0x55, G: 0x55, B: 0x55, A: 0x1c}
	expectedStyle = draw.LineStyle{Color: rgb(0x33, 0x33, 0x33), Width: 1.2, Dashes: []vg.Length{3, 2}}
)

// shareBars is the plotter of the share bars: for each server, its
// observed share (filled) and next to it its expected share (outlined).
type shareBars struct {
	xs      []float64
	servers []*shareServer
}

const (
	barW   = 0.36 // width of a bar in x units (one server is 1)
	barSep = 0.02 // between a server's two bars
)

func (b shareBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	box := func(x0, x1, y0, y1 vg.Length) []vg.Point {
		return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
	}
	lsty := textStyle(8.5, colText)
	lsty.XAlign, lsty.YAlign = draw.XCenter, draw.YBottom
	msty := lsty
	msty.Color = colMuted
	y0 := trY(0)
	for i, s := range b.servers {
		x := b.xs[i]
		hasE := s.hasExpected
		ox0, ox1 := trX(x-barW/2), trX(x+barW/2)
		if hasE {
			ox0, ox1 = trX(x-barW-barSep/2), trX(x-barSep/2)
		}
		oy := trY(100 * s.observed)
		c.FillPolygon(s.color, box(ox0, ox1, y0, oy))
		label := fmt.Sprintf("%.1f%%", 100*s.observed)
		if lsty.Width(label) <= (ox1-ox0)*1.6 {
			c.FillText(lsty, vg.Point{X: (ox0 + ox1) / 2, Y: oy + 2}, label)
		}
		if !hasE {
			continue
		}
		ex0, ex1 := trX(x+barSep/2), trX(x+barW+barSep/2)
		ey := trY(100 * s.expected)
		pts := box(ex0, ex1, y0, ey)
		c.FillPolygon(expectedFill, pts)
		c.StrokeLines(expectedStyle, append(pts, pts[0]))
		label = fmt.Sprintf("%.1f%%", 100*s.expected)
		if msty.Width(label) <= (ex1-ex0)*1.6 {
			c.FillText(msty, vg.Point{X: (ex0 + ex1) / 2, Y: ey + 2}, label)
		}
	}
}

// sharesFigure is each server's share of its group's answered requests
// next to its expected share; ok is false when no server answered and no
// share is expected.
func sharesFigure(d *lbData, groups []*shareGroup) (figure, bool) {
	var servers []*shareServer
	var xs []float64
	multi := len(groups) > 1
	x := 0.0
	top := 0.0
	anyExpected := false
	var ticks []plot.Tick
	var seps []float64
	for gi, g := range groups {
		if gi > 0 {
			seps = append(seps, x+0.1)
			x += 0.6
		}
		for _, s := range g.servers {
			servers = append(servers, s)
			xs = append(xs, x)
			ticks = append(ticks, plot.Tick{Value: x, Label: serverLabel(s.group, s.server, multi)})
			top = math.Max(top, math.Max(s.observed, s.expected))
			anyExpected = anyExpected || s.hasExpected
			x++
		}
	}
	if len(servers) == 0 {
		return figure{}, false
	}
	p := newPlot("")
	p.Y.Label.Text = d.l.s("shareAxis")
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Tick.Length = 0
	p.X.Min, p.X.Max = -0.7, xs[len(xs)-1]+0.7
	p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var out []plot.Tick
		for _, t := range sparseTicks(lo, hi) {
			if t.Value <= 100 {
				out = append(out, t)
			}
		}
		return out
	})
	p.Y.Min, p.Y.Max = 0, math.Min(100, math.Max(10, 100*top))*1.12
	p.Add(gridLines{y: true})
	p.Add(groupSeparators(seps))
	p.Add(shareBars{xs: xs, servers: servers})
	// Long labels: slant them.
	sty := textStyle(10, colText)
	widest := vg.Length(0)
	for _, t := range ticks {
		widest = max(widest, sty.Width(t.Label))
	}
	if slot := estimatedDataWidth / vg.Length(p.X.Max-p.X.Min); widest > slot*0.95 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}

	entries := []legendEntry{{d.l.s("observedShare"), paletteSwatch(servers)}}
	if anyExpected {
		entries = append(entries, legendEntry{d.l.s("expectedShare"), func(c draw.Canvas) {
			pts := []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}}
			c.FillPolygon(expectedFill, pts)
			c.StrokeLines(expectedStyle, append(pts, pts[0]))
		}})
	}
	tf := &timeFigure{
		name:    sharesName,
		title:   lbTitle(d.l.s("sharesTitle"), d.lab),
		panels:  []*plot.Plot{p},
		entries: entries,
		panelH:  plotHeight - 70,
	}
	return tf.figure(), true
}

// groupSeparators draws a thin vertical line between groups of bars.
type groupSeparators []float64

func (g groupSeparators) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	ls := draw.LineStyle{Color: rgb(0xbb, 0xbb, 0xbb), Width: 0.8}
	for _, x := range g {
		c.StrokeLine2(ls, trX(x), c.Min.Y, trX(x), c.Max.Y)
	}
}

// paletteSwatch is a legend thumbnail in the colours of the first few
// servers.
func paletteSwatch(servers []*shareServer) func(draw.Canvas) {
	return func(c draw.Canvas) {
		n := min(3, len(servers))
		w := (c.Max.X - c.Min.X) / vg.Length(n)
		for i := 0; i < n; i++ {
			x0 := c.Min.X + vg.Length(i)*w
			c.FillPolygon(servers[i].color, []vg.Point{
				{X: x0, Y: c.Min.Y}, {X: x0 + w, Y: c.Min.Y}, {X: x0 + w, Y: c.Max.Y}, {X: x0, Y: c.Max.Y},
			})
		}
	}
}

// shareBands is the plotter of one group's shares over time: for each
// time bucket, the servers' shares stacked from 0 to 100 %, first server
// at the bottom, drawn as steps; buckets without answers are left empty.
// Dotted lines mark where the bands would meet with the expected shares.
type shareBands struct {
	d        *lbData
	servers  []*shareServer
	counts   [][]int // per server, per bucket
	total    []int   // per bucket
	expected []float64
}

func (s shareBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	nb := s.d.nb
	edge := func(b int) (vg.Length, vg.Length) {
		return trX(float64(b) * s.d.bucket), trX(math.Min(float64(b+1)*s.d.bucket, s.d.end))
	}
	// Runs of buckets with answers.
	type run struct{ from, to int } // [from, to)
	var runs []run
	for b := 0; b < nb; b++ {
		if s.total[b] == 0 {
			continue
		}
		if len(runs) > 0 && runs[len(runs)-1].to == b {
			runs[len(runs)-1].to = b + 1
		} else {
			runs = append(runs, run{b, b + 1})
		}
	}
	sep := draw.LineStyle{Color: color.White, Width: 0.9}
	cum := make([]int, nb)
	for i, srv := range s.servers {
		for _, r := range runs {
			var lower, upper []vg.Point
			for b := r.from; b < r.to; b++ {
				x0, x1 := edge(b)
				lo := trY(100 * float64(cum[b]) / float64(s.total[b]))
				hi := trY(100 * float64(cum[b]+s.counts[i][b]) / float64(s.total[b]))
				lower = append(lower, vg.Point{X: x0, Y: lo}, vg.Point{X: x1, Y: lo})
				upper = append(upper, vg.Point{X: x0, Y: hi}, vg.Point{X: x1, Y: hi})
			}
			poly := slices.Clone(upper)
			for j := len(lower) - 1; j >= 0; j-- {
				poly = append(poly, lower[j])
			}
			c.FillPolygon(srv.color, c.ClipPolygonXY(poly))
			if i < len(s.servers)-1 {
				c.StrokeLines(sep, c.ClipLinesXY(upper)...)
			}
		}
		for b := 0; b < nb; b++ {
			cum[b] += s.counts[i][b]
		}
	}
	ex := draw.LineStyle{Color: colText, Width: 1.1, Dashes: []vg.Length{2, 2.5}}
	sum := 0.0
	for _, e := range s.expected[:max(0, len(s.expected)-1)] {
		sum += e
		y := trY(100 * sum)
		c.StrokeLine2(ex, c.Min.X, y, c.Max.X, y)
	}
}

// sharesTimeFigure is the share of each server of its group's answered
// requests per time bucket, as stacked bands, one panel per group; ok is
// false when no server answered a request.
func sharesTimeFigure(d *lbData, groups []*shareGroup) (figure, bool) {
	multi := len(groups) > 1
	var panels []*plot.Plot
	var entries []legendEntry
	anyExpected := false
	for _, g := range groups {
		if g.answered == 0 {
			continue
		}
		bands := shareBands{d: d, servers: g.servers, total: make([]int, d.nb)}
		idx := map[string]int{}
		allExpected := true
		for i, s := range g.servers {
			idx[s.server] = i
			bands.counts = append(bands.counts, make([]int, d.nb))
			bands.expected = append(bands.expected, s.expected)
			allExpected = allExpected && s.hasExpected
		}
		if !allExpected {
			bands.expected = nil
		}
		anyExpected = anyExpected || allExpected
		if gr := d.reqs.groups[g.name]; gr != nil {
			for server, counts := range gr.servers {
				for b, c := range counts {
					bands.total[b] += c
					bands.counts[idx[server]][b] += c
				}
			}
		}
		yLabel := d.l.s("shareAxisShort")
		if multi || g.name != "" {
			yLabel = d.l.f("groupShare", g.name)
		}
		p := timePlot(d.l, d.end, nil, yLabel)
		p.Y.Min, p.Y.Max = 0, 108
		p.Y.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: 25, Label: "25"}, {Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"}}
		p.Add(bands)
		// The bands fill the panel: faults in effect are a strip above them.
		p.Add(faultShades{spans: d.shades, strip: true, lo: 101.5, hi: 108})
		p.Add(faultLines{faults: d.faults})
		panels = append(panels, p)
		for _, s := range g.servers {
			entries = append(entries, legendEntry{serverLabel(s.group, s.server, multi), swatch(s.color)})
		}
	}
	if len(panels) == 0 {
		return figure{}, false
	}
	for _, p := range panels[:len(panels)-1] {
		p.X.Label.Text = ""
	}
	if anyExpected {
		entries = append(entries, legendEntry{d.l.s("expectedSplit"), lineSwatch(draw.LineStyle{Color: colText, Width: 1.1, Dashes: []vg.Length{2, 2.5}})})
	}
	entries = append(entries, faultEntries(d)...)
	panelH := vg.Length(2.4 * vg.Inch)
	if len(panels) == 1 {
		panelH = plotHeight - 70
	}
	tf := &timeFigure{
		name:    sharesTimeName,
		title:   lbTitle(d.l.f("sharesTimeTitle", fmtNum(d.bucket)), d.lab),
		panels:  panels,
		faults:  d.faults,
		end:     d.end,
		entries: entries,
		panelH:  panelH,
	}
	return tf.figure(), true
}
