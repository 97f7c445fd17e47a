package reports

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/lblab/lblab/history"
)

// Timeline geometry, in data units of the y axis: each lane is 1 high.
const (
	barFrac  = 0.62 // bar height as a fraction of a lane
	rowH     = 0.6  // height of an annotation row (marks, fault labels)
	maxFRows = 4    // fault label rows before labels are allowed to overlap
	maxMRows = 4    // mark rows before marks are allowed to overlap
)

// Text sizes of the timeline.
const (
	barTextSize   = vg.Length(8.5)
	faultTextSize = vg.Length(9)
	markTextSize  = vg.Length(9.5)
)

// stateColor returns the fill of a VRRP state bar and the colour of the
// text written on it.
func stateColor(state string) (fill, ink color.Color) {
	switch strings.ToUpper(state) {
	case "MASTER":
		return colMaster, color.White
	case "BACKUP":
		return colBackup, color.White
	case "FAULT":
		return colFault, color.White
	case "INIT":
		return colInit, colText
	case "STOP":
		return colStop, color.White
	}
	return colUnknown, colText
}

// tlBar is a coloured span of a lane with its label.
type tlBar struct {
	from, to float64
	fill     color.Color // nil: no fill, label only (in muted ink)
	ink      color.Color
	label    string
}

// tlLane is one horizontal lane: a router or a VIP.
type tlLane struct {
	name string
	y    float64 // centre
	bars []tlBar
}

// tlFault is a fault line with its label.
type tlFault struct {
	t     float64
	label string
	row   int  // label row, 0 = topmost
	left  bool // label drawn left of the line (near the right edge)
}

// tlSpan is a shaded fault span.
type tlSpan struct{ from, to float64 }

// tlMark is an arrow with its label.
type tlMark struct {
	from, to float64
	label    string
	row      int // 0 = nearest to the lanes
}

// timeline is the plot.Plotter of the timeline figure.
type timeline struct {
	lanes  []tlLane
	faults []tlFault
	shades []tlSpan
	marks  []tlMark
	end    float64 // seconds

	laneTop    float64 // top edge of the lane area
	nMarkRows  int
	nFaultRows int
	top        float64 // top of the y range
}

var _ plot.Plotter = (*timeline)(nil)
var _ plot.DataRanger = (*timeline)(nil)
var _ plot.GlyphBoxer = (*timeline)(nil)

// faultEnds maps a fault kind that starts a span to the kind that ends it.
var faultEnds = map[string]string{
	"crash":       "restore",
	"stop":        "start",
	"link_down":   "link_up",
	"partition":   "heal",
	"script_fail": "script_ok",
}

// laneKey identifies a router lane: a router, or a router's instance of
// one VRID when the history has several.
type laneKey struct {
	router string
	vrid   int
}

// buildTimeline turns a history into lanes, faults and marks. ok is false
// when the history has no VRRP or VIP events to draw.
func buildTimeline(r Report) (*timeline, bool) {
	var end float64 = r.Duration.Seconds()
	vrids := map[int]bool{}
	hasVIP := false
	for _, e := range r.History {
		end = math.Max(end, e.T.Seconds())
		switch e.Kind {
		case history.KindVRRP:
			vrids[e.VRID] = true
		case history.KindVIP:
			hasVIP = true
		}
	}
	if len(vrids) == 0 && !hasVIP {
		return nil, false
	}
	if end <= 0 {
		end = 1
	}
	tl := &timeline{end: end}
	multi := len(vrids) > 1

	// Router lanes: state bars from vrrp events.
	type open struct {
		state string
		from  float64
	}
	states := map[laneKey]*open{}
	bars := map[laneKey][]tlBar{}
	var keys []laneKey
	addState := func(k laneKey, o *open, to float64) {
		if to > o.from {
			fill, ink := stateColor(o.state)
			bars[k] = append(bars[k], tlBar{from: o.from, to: to, fill: fill, ink: ink, label: strings.ToUpper(o.state)})
		}
	}
	// VIP lanes: owner bars from vip events.
	type vipOpen struct {
		owner string
		from  float64
	}
	vips := map[string]*vipOpen{}
	vipBars := map[string][]tlBar{}
	var vipNames []string
	ownerColor := map[string]color.Color{}
	ownerFill := func(owner string) color.Color {
		c, ok := ownerColor[owner]
		if !ok {
			c = vipPalette[len(ownerColor)%len(vipPalette)]
			ownerColor[owner] = c
		}
		return c
	}
	addOwner := func(vip string, o *vipOpen, to float64) {
		if to <= o.from {
			return
		}
		b := tlBar{from: o.from, to: to, label: o.owner, ink: colText}
		if o.owner == "" {
			b.label, b.ink = "nobody", colMuted
		} else {
			b.fill = ownerFill(o.owner)
		}
		vipBars[vip] = append(vipBars[vip], b)
	}
	// Faults and their spans.
	openFaults := map[string]float64{} // kind + "\x00" + target → start
	var openOrder []string

	for _, e := range r.History {
		t := e.T.Seconds()
		switch e.Kind {
		case history.KindVRRP:
			if e.Router == "" {
				continue
			}
			k := laneKey{router: e.Router}
			if multi {
				k.vrid = e.VRID
			}
			o, ok := states[k]
			if !ok {
				keys = append(keys, k)
				states[k] = &open{state: e.To, from: t}
				continue
			}
			if e.To == o.state {
				continue // a priority change only
			}
			addState(k, o, t)
			o.state, o.from = e.To, t
		case history.KindVIP:
			if e.VIP == "" {
				continue
			}
			o, ok := vips[e.VIP]
			if !ok {
				vipNames = append(vipNames, e.VIP)
				vips[e.VIP] = &vipOpen{owner: e.Owner, from: t}
				continue
			}
			if e.Owner == o.owner {
				continue
			}
			addOwner(e.VIP, o, t)
			o.owner, o.from = e.Owner, t
		case history.KindFault:
			tl.faults = append(tl.faults, tlFault{t: t, label: faultLabel(e.Fault, e.Target)})
			if _, starts := faultEnds[e.Fault]; starts {
				key := e.Fault + "\x00" + e.Target
				if _, already := openFaults[key]; !already {
					openFaults[key] = t
					openOrder = append(openOrder, key)
				}
				continue
			}
			for startKind, endKind := range faultEnds {
				if endKind != e.Fault {
					continue
				}
				key := startKind + "\x00" + e.Target
				if from, ok := openFaults[key]; ok {
					tl.shades = append(tl.shades, tlSpan{from: from, to: t})
					delete(openFaults, key)
				}
			}
		}
	}
	for _, k := range keys {
		addState(k, states[k], end)
	}
	for _, v := range vipNames {
		addOwner(v, vips[v], end)
	}
	for _, key := range openOrder {
		if from, ok := openFaults[key]; ok {
			tl.shades = append(tl.shades, tlSpan{from: from, to: end})
		}
	}
	slices.SortStableFunc(tl.shades, func(a, b tlSpan) int { return cmp.Compare(a.from, b.from) })

	// Lanes, routers first (top), then VIPs.
	slices.SortFunc(keys, func(a, b laneKey) int {
		if c := naturalCompare(a.router, b.router); c != 0 {
			return c
		}
		return cmp.Compare(a.vrid, b.vrid)
	})
	slices.SortFunc(vipNames, naturalCompare)
	n := len(keys) + len(vipNames)
	i := 0
	for _, k := range keys {
		name := k.router
		if multi {
			name = fmt.Sprintf("%s VRID %d", k.router, k.vrid)
		}
		tl.lanes = append(tl.lanes, tlLane{name: name, y: float64(n - 1 - i), bars: bars[k]})
		i++
	}
	for _, v := range vipNames {
		tl.lanes = append(tl.lanes, tlLane{name: "VIP " + v, y: float64(n - 1 - i), bars: vipBars[v]})
		i++
	}
	tl.laneTop = float64(n) - 0.5

	for _, m := range r.Marks {
		from, to := m.From.Seconds(), m.To.Seconds()
		if to < from {
			from, to = to, from
		}
		tl.marks = append(tl.marks, tlMark{from: from, to: to, label: m.Label})
	}
	tl.layout()
	return tl, true
}

// faultLabel names a fault for the plot: "crash r1", "link down r1:eth0".
func faultLabel(kind, target string) string {
	s := strings.ReplaceAll(kind, "_", " ")
	if target != "" {
		s += " " + target
	}
	return s
}

// secondsPerPoint estimates how many seconds one point of width is on the
// x axis, from the figure width less the lane names and margins. The label
// rows are laid out with it before the plot is drawn.
func (tl *timeline) secondsPerPoint() float64 {
	sty := textStyle(10, colText)
	names := vg.Length(0)
	for _, l := range tl.lanes {
		names = max(names, sty.Width(l.name))
	}
	w := plotWidth - names - 40
	if w < 100 {
		w = 100
	}
	return tl.end / float64(w)
}

// axes adds the timeline to p with a time axis from 0 to its end and one
// y tick per lane, labelled with the lane's name.
func (tl *timeline) axes(p *plot.Plot) {
	p.X.Label.Text = "time (s)"
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Add(tl)
	p.X.Min, p.X.Max = 0, tl.end
	p.Y.Min, p.Y.Max = -0.5, tl.top
	ticks := make([]plot.Tick, len(tl.lanes))
	for i, l := range tl.lanes {
		ticks[i] = plot.Tick{Value: l.y, Label: l.name}
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Length = 0
	p.Y.Width = 0
	p.Y.Padding = 4
	p.X.Padding = 0
}

// layout assigns rows to fault labels and marks so that labels do not
// overlap, and sets the y range.
func (tl *timeline) layout() {
	spp := tl.secondsPerPoint()
	pad := 4 * spp

	// Fault labels: a staircase (stairFaults). Row 0 is the topmost; a
	// label goes one row below every earlier label it would collide with,
	// so that no fault line (which runs from the lanes up to its own label)
	// crosses a label.
	slices.SortStableFunc(tl.faults, func(a, b tlFault) int { return cmp.Compare(a.t, b.t) })
	tl.nFaultRows = max(tl.nFaultRows, stairFaults(tl.faults, tl.end, spp))

	type extent struct {
		lo, hi float64
		row    int
	}
	var placed []extent
	// Marks: first free row, row 0 nearest to the lanes.
	msty := textStyle(markTextSize, colText)
	for i := range tl.marks {
		m := &tl.marks[i]
		w := float64(msty.Width(m.label)) * spp
		mid := (m.from + m.to) / 2
		lo, hi := math.Min(m.from, mid-w/2), math.Max(m.to, mid+w/2)
		row := 0
		for ; row < maxMRows-1; row++ {
			clash := false
			for _, p := range placed {
				if p.row == row && lo < p.hi+pad && p.lo < hi+pad {
					clash = true
					break
				}
			}
			if !clash {
				break
			}
		}
		m.row = row
		placed = append(placed, extent{lo, hi, row})
		tl.nMarkRows = max(tl.nMarkRows, row+1)
	}
	tl.top = tl.laneTop + float64(tl.nMarkRows+tl.nFaultRows)*rowH
	if tl.nMarkRows+tl.nFaultRows > 0 {
		tl.top += 0.1
	}
}

// markY returns the y of the arrow of a mark row.
func (tl *timeline) markY(row int) float64 {
	return tl.laneTop + float64(row)*rowH + 0.3*rowH
}

// faultRowY returns the bottom and top of a fault label row (row 0 is the
// topmost).
func (tl *timeline) faultRowY(row int) (lo, hi float64) {
	base := tl.laneTop + float64(tl.nMarkRows)*rowH
	lo = base + float64(tl.nFaultRows-1-row)*rowH
	return lo, lo + rowH
}

// DataRange implements plot.DataRanger.
func (tl *timeline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, tl.end, -0.5, tl.top
}

// GlyphBoxes implements plot.GlyphBoxer: the fault and mark labels, so
// that the plot leaves room for any that reach past the data area.
func (tl *timeline) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	var boxes []plot.GlyphBox
	fsty := textStyle(faultTextSize, colFaultRed)
	for _, f := range tl.faults {
		w, h := fsty.Width(f.label), fsty.Height(f.label)
		r := vg.Rectangle{Min: vg.Point{X: 3, Y: -h / 2}, Max: vg.Point{X: 3 + w, Y: h / 2}}
		if f.left {
			r = vg.Rectangle{Min: vg.Point{X: -3 - w, Y: -h / 2}, Max: vg.Point{X: -3, Y: h / 2}}
		}
		lo, hi := tl.faultRowY(f.row)
		boxes = append(boxes, plot.GlyphBox{X: p.X.Norm(f.t), Y: p.Y.Norm((lo + hi) / 2), Rectangle: r})
	}
	return boxes
}

// Plot implements plot.Plotter.
func (tl *timeline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	rect := func(fill color.Color, x0, x1, y0, y1 vg.Length) {
		c.FillPolygon(fill, c.ClipPolygonXY([]vg.Point{
			{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1},
		}))
	}
	x0, x1 := trX(0), trX(tl.end)
	laneBot, laneTop := trY(-0.5), trY(tl.laneTop)

	// Lane backgrounds, so an unknown state shows as an empty lane.
	for _, l := range tl.lanes {
		rect(rgb(0xf4, 0xf4, 0xf4), x0, x1, trY(l.y-barFrac/2), trY(l.y+barFrac/2))
	}
	// Vertical grid at the major ticks of the time axis.
	grid := draw.LineStyle{Color: colGrid, Width: vg.Points(0.6)}
	for _, tk := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
		if tk.IsMinor() || tk.Value < p.X.Min || tk.Value > p.X.Max {
			continue
		}
		x := trX(tk.Value)
		c.StrokeLine2(grid, x, laneBot, x, laneTop)
	}
	// Fault spans, under the bars.
	for _, s := range tl.shades {
		rect(colShade, trX(s.from), trX(s.to), laneBot, laneTop)
	}
	// Bars and their labels.
	btext := textStyle(barTextSize, colText)
	btext.XAlign, btext.YAlign = draw.XCenter, draw.YCenter
	for _, l := range tl.lanes {
		y0, y1 := trY(l.y-barFrac/2), trY(l.y+barFrac/2)
		for _, b := range l.bars {
			bx0, bx1 := trX(b.from), trX(b.to)
			if b.fill != nil {
				rect(b.fill, bx0, bx1, y0, y1)
				// a thin white edge keeps adjacent bars apart
				c.StrokeLine2(draw.LineStyle{Color: color.White, Width: 0.8}, bx0, y0, bx0, y1)
			}
			if b.label == "" || bx1-bx0 < btext.Width(b.label)+6 {
				continue
			}
			sty := btext
			sty.Color = b.ink
			c.FillText(sty, vg.Point{X: (bx0 + bx1) / 2, Y: (y0 + y1) / 2}, b.label)
		}
	}
	// Mark guides: dotted verticals through the lanes at the ends of a mark.
	guide := draw.LineStyle{Color: colMuted, Width: 0.7, Dashes: []vg.Length{1.5, 2}}
	for _, m := range tl.marks {
		my := trY(tl.markY(m.row))
		for _, t := range []float64{m.from, m.to} {
			c.StrokeLine2(guide, trX(t), laneBot, trX(t), my)
		}
	}
	// Fault lines and labels.
	fline := draw.LineStyle{Color: colFaultRed, Width: 1.2, Dashes: []vg.Length{4, 3}}
	fsty := textStyle(faultTextSize, colFaultRed)
	fsty.YAlign = draw.YCenter
	for _, f := range tl.faults {
		x := trX(f.t)
		lo, hi := tl.faultRowY(f.row)
		c.StrokeLine2(fline, x, laneBot, x, trY(hi)-1)
		sty := fsty
		pt := vg.Point{X: x + 3, Y: trY((lo + hi) / 2)}
		if f.left {
			sty.XAlign = draw.XRight
			pt.X = x - 3
		}
		labelBox(c, sty, pt, f.label)
	}
	// Marks: double-headed arrows with their label above.
	arrow := draw.LineStyle{Color: colText, Width: 1.1}
	msty := textStyle(markTextSize, colText)
	msty.XAlign, msty.YAlign = draw.XCenter, draw.YBottom
	for _, m := range tl.marks {
		y := trY(tl.markY(m.row))
		ax0, ax1 := trX(m.from), trX(m.to)
		c.StrokeLine2(arrow, ax0, y, ax1, y)
		if ax1-ax0 >= 10 {
			head := vg.Length(5)
			c.FillPolygon(colText, []vg.Point{{X: ax0, Y: y}, {X: ax0 + head, Y: y + head*0.55}, {X: ax0 + head, Y: y - head*0.55}})
			c.FillPolygon(colText, []vg.Point{{X: ax1, Y: y}, {X: ax1 - head, Y: y + head*0.55}, {X: ax1 - head, Y: y - head*0.55}})
		} else {
			for _, x := range []vg.Length{ax0, ax1} {
				c.StrokeLine2(arrow, x, y-3, x, y+3)
			}
		}
		// keep the label inside the data area
		w := msty.Width(m.label)
		cx := (ax0 + ax1) / 2
		cx = max(cx, c.Min.X+w/2+2)
		cx = min(cx, c.Max.X-w/2-2)
		labelBox(c, msty, vg.Point{X: cx, Y: y + 2.5}, m.label)
	}
}

// labelBox writes txt on a translucent white box, so that it stays
// readable over grid lines and shading.
func labelBox(c draw.Canvas, sty text.Style, pt vg.Point, txt string) {
	r := sty.Rectangle(txt)
	pad := vg.Length(1.5)
	x0, y0 := pt.X+r.Min.X-pad, pt.Y+r.Min.Y-pad/2
	x1, y1 := pt.X+r.Max.X+pad, pt.Y+r.Max.Y+pad/2
	c.FillPolygon(color.NRGBA{R: 255, G: 255, B: 255, A: 0xf0}, []vg.Point{
		{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1},
	})
	c.FillText(sty, pt, txt)
}

// timelineFigure builds the timeline figure of a single run; ok is false
// when there is nothing to draw.
func timelineFigure(r Report) (figure, bool) {
	tl, ok := buildTimeline(r)
	if !ok {
		return figure{}, false
	}
	title := "VRRP timeline"
	if r.Lab != "" {
		title += " — " + r.Lab
	}
	if r.Results.Seeds == 0 && (r.Results.Seed != 0 || r.Results.Mode != "") {
		title += fmt.Sprintf(" (seed %d)", r.Results.Seed)
	}
	p := newPlot(title)
	tl.axes(p)

	// Grow the figure with the number of lanes and annotation rows, so
	// that a lane never gets thinner than about 40 points.
	units := tl.top + 0.5
	h := max(plotHeight, 100+vg.Length(units)*40+legendStrip)

	entries := []legendEntry{
		{"MASTER", swatch(colMaster)},
		{"BACKUP", swatch(colBackup)},
		{"FAULT", swatch(colFault)},
		{"INIT", swatch(colInit)},
		{"STOP", swatch(colStop)},
		{"fault", lineSwatch(draw.LineStyle{Color: colFaultRed, Width: 1.2, Dashes: []vg.Length{4, 3}})},
		{"fault in effect", swatch(colShade)},
	}
	return figure{name: timelineName, height: h, draw: withLegend(p, entries)}, true
}

// naturalCompare orders strings with embedded numbers by value: r2 < r10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			i, j := 0, 0
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[:i], "0"), strings.TrimLeft(b[:j], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[i:], b[j:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
