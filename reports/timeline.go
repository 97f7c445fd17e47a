package reports

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/vrrpsim"
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
	case crashedState:
		return colCrashed, color.White
	}
	return colUnknown, colText
}

// crashedState labels a router's STOP that a crash caused (its host died
// or its agent was killed), drawn apart from a clean stop.
const crashedState = "CRASHED"

// Colours of the timeline's own marks.
var (
	colCrashed = rgb(0x7a, 0x12, 0x12)                           // dark red: died without a word
	colSplit   = color.NRGBA{R: 0xc0, G: 0x1f, B: 0xc6, A: 0x30} // magenta wash: two masters
	colSplitBd = rgb(0xc0, 0x1f, 0xc6)
	colPrio    = rgb(0x44, 0x44, 0x44)
)

// tlBar is a coloured span of a lane with its label.
type tlBar struct {
	from, to float64
	fill     color.Color // nil: no fill, label only (in muted ink)
	ink      color.Color
	label    string
	// stack, when set, fills the bar from the bottom with these parts
	// instead of fill (their fractions add up to 1).
	stack []tlPart
}

// tlPart is a part of a stacked bar: a fraction of its height.
type tlPart struct {
	frac float64
	fill color.Color
}

// tlLane is one horizontal lane: a router, a router's priority track or
// a VIP.
type tlLane struct {
	name string
	y    float64 // centre
	h    float64 // height in lanes (1 for a router or VIP)
	bars []tlBar
	// prio, for a priority track: the router's effective priority from
	// each time on, in time order.
	prio []tlPrio
	vrid int // the lane's VRID (router and priority lanes)
	// avail marks a client's availability lane (availability.go): its
	// bars are time bins drawn edge to edge, without the white edge
	// that keeps state bars apart.
	avail bool
	// spacer is an empty lane that keeps two groups of lanes apart: no
	// background, no name.
	spacer bool
}

// barH returns the height of the lane's bars, in lanes: barFrac of its
// height (a lane of height 0 is 1 high).
func (l tlLane) barH() float64 {
	if l.h == 0 {
		return barFrac
	}
	return l.h * barFrac
}

// tlPrio is a router's effective priority from time t on; noPrio when
// it has none (stopped or crashed: the history holds no priority for a
// dead router, and the track ends there).
type tlPrio struct {
	t float64
	v int
}

// noPrio is the tlPrio value of a router that is not running.
const noPrio = -1

// prioLaneH is the height of a priority track, in lanes.
const prioLaneH = 0.6

// tlSplit is a span during which two or more routers of one VRID were
// MASTER at once (split brain).
type tlSplit struct {
	from, to float64
	vrid     int
	masters  []string // routers that were MASTER, in natural order
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

// unionSpans returns the union of spans sorted by start: spans that
// overlap or touch become one, so that faults in effect at the same time
// are shaded once, in the legend's colour, not stacked darker (each
// fault keeps its own span; only the drawing joins them).
func unionSpans(spans []tlSpan) []tlSpan {
	var out []tlSpan
	for _, s := range spans {
		if n := len(out); n > 0 && s.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, s.to)
			continue
		}
		out = append(out, s)
	}
	return out
}

// tlMark is an arrow with its label.
type tlMark struct {
	from, to float64
	label    string
	row      int // 0 = nearest to the lanes
}

// timeline is the plot.Plotter of the timeline figure.
type timeline struct {
	l      lang // of the fixed words
	lanes  []tlLane
	faults []tlFault
	shades []tlSpan
	marks  []tlMark
	splits []tlSplit
	end    float64 // seconds
	// owners colours the VIP owners, in order of first appearance
	// (ownerFill); the availability lanes colour the host that answered
	// a probe the same.
	owners map[string]color.Color
	// prioLo and prioHi are the lowest and highest priority drawn on the
	// priority tracks (one scale for every track).
	prioLo, prioHi int

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
	"pause":       "resume",
	"proxy_crash": "restore",
	"firewall":    "firewall_clear",
	"garp_drop":   "firewall_clear",
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
	tl := timelineOf(r)
	if len(tl.lanes) == 0 {
		return nil, false
	}
	tl.place(r.Marks)
	return tl, true
}

// runEnd returns the end of a single run's time axis in seconds: the
// latest of its duration and of its events (1 when that is not above 0).
func runEnd(r Report) float64 {
	end := r.Duration.Seconds()
	if r.Collected != nil {
		end = math.Max(end, r.Collected.Last().Seconds())
	}
	for _, e := range r.History {
		end = math.Max(end, e.T.Seconds())
	}
	if end <= 0 {
		end = 1
	}
	return end
}

// ownerFill returns the colour of a VIP owner (or of the host that
// answered a probe): the next colour of vipPalette the first time.
func (tl *timeline) ownerFill(owner string) color.Color {
	c, ok := tl.owners[owner]
	if !ok {
		c = vipPalette[len(tl.owners)%len(vipPalette)]
		tl.owners[owner] = c
	}
	return c
}

// timelineOf turns a history into the lanes of its routers and VIPs
// (none when it has no VRRP or VIP event), its faults and their spans,
// before the lanes are placed (place).
func timelineOf(r Report) *timeline {
	end := runEnd(r)
	vrids := map[int]bool{}
	hasPrio := false
	crashes := map[string][]history.Stamp{} // target → times of faults that kill it
	for _, e := range r.History {
		switch e.Kind {
		case history.KindVRRP:
			vrids[e.VRID] = true
			hasPrio = hasPrio || e.Priority > 0
		case history.KindFault:
			if killsHost(e.Fault) {
				crashes[e.Target] = append(crashes[e.Target], e.T)
			}
		}
	}
	tl := &timeline{l: langOf(r.Lang), end: end, owners: map[string]color.Color{}}
	multi := len(vrids) > 1

	// Router lanes: state bars from vrrp events.
	type open struct {
		state string
		from  float64
	}
	states := map[laneKey]*open{}
	bars := map[laneKey][]tlBar{}
	prios := map[laneKey][]tlPrio{}
	vridOf := map[laneKey]int{}
	var keys []laneKey
	addState := func(k laneKey, o *open, to float64) {
		if to > o.from {
			fill, ink := stateColor(o.state)
			bars[k] = append(bars[k], tlBar{from: o.from, to: to, fill: fill, ink: ink, label: o.state})
		}
	}
	// VIP lanes: owner bars from vip events.
	type vipOpen struct {
		owner string // several joined by " + " in a split brain
		from  float64
		split bool
	}
	vips := map[string]*vipOpen{}
	vipBars := map[string][]tlBar{}
	vipOwners := map[string]map[string]bool{}
	var vipNames []string
	addOwner := func(vip string, o *vipOpen, to float64) {
		if to <= o.from {
			return
		}
		b := tlBar{from: o.from, to: to, label: o.owner, ink: colText}
		switch {
		case o.split:
			b.fill, b.ink = colSplitBd, color.White
		case o.owner == "":
			b.label, b.ink = tl.l.s("nobody"), colMuted
		default:
			b.fill = tl.ownerFill(o.owner)
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
			vridOf[k] = e.VRID
			prio := e.Priority
			if strings.EqualFold(e.To, "STOP") {
				prio = noPrio // its track ends at the stop or crash
			}
			if p := prios[k]; (prio > 0 || prio == noPrio && len(p) > 0) && (len(p) == 0 || p[len(p)-1].v != prio) {
				prios[k] = append(p, tlPrio{t: t, v: prio})
			}
			state := strings.ToUpper(e.To)
			if state == "STOP" && crashed(e, crashes[e.Router]) {
				state = crashedState
			}
			o, ok := states[k]
			if !ok {
				keys = append(keys, k)
				states[k] = &open{state: state, from: t}
				continue
			}
			if state == o.state {
				continue // a priority change only
			}
			addState(k, o, t)
			o.state, o.from = state, t
		case history.KindVIP:
			if e.VIP == "" {
				continue
			}
			if vipOwners[e.VIP] == nil {
				vipOwners[e.VIP] = map[string]bool{}
			}
			vipOwners[e.VIP][e.Owner] = true
			owner, split := e.Owner, e.Holders != ""
			if split {
				owner = strings.ReplaceAll(e.Holders, ",", " + ")
				for _, h := range strings.Split(e.Holders, ",") {
					vipOwners[e.VIP][h] = true
				}
			}
			o, ok := vips[e.VIP]
			if !ok {
				vipNames = append(vipNames, e.VIP)
				vips[e.VIP] = &vipOpen{owner: owner, from: t, split: split}
				continue
			}
			if owner == o.owner {
				continue
			}
			addOwner(e.VIP, o, t)
			o.owner, o.from, o.split = owner, t, split
		case history.KindFault:
			tl.faults = append(tl.faults, tlFault{t: t, label: faultText(e)})
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

	// Lanes, routers first (top) each with its priority track under it,
	// then VIPs.
	slices.SortFunc(keys, func(a, b laneKey) int {
		if c := naturalCompare(a.router, b.router); c != 0 {
			return c
		}
		return cmp.Compare(a.vrid, b.vrid)
	})
	slices.SortFunc(vipNames, naturalCompare)
	tl.prioLo, tl.prioHi = math.MaxInt, math.MinInt
	for _, k := range keys {
		name := k.router
		if multi {
			name = fmt.Sprintf("%s VRID %d", k.router, k.vrid)
		}
		tl.lanes = append(tl.lanes, tlLane{name: name, h: 1, bars: bars[k], vrid: vridOf[k]})
		if hasPrio && len(prios[k]) > 0 {
			tl.lanes = append(tl.lanes, tlLane{name: tl.l.s("prioLane"), h: prioLaneH, prio: prios[k], vrid: vridOf[k]})
			for _, p := range prios[k] {
				if p.v != noPrio {
					tl.prioLo, tl.prioHi = min(tl.prioLo, p.v), max(tl.prioHi, p.v)
				}
			}
		}
	}

	// Split brain: spans where two or more routers of a VRID are MASTER.
	byVRID := map[int][]string{}
	masters := map[string][]tlBar{}
	for _, k := range keys {
		name := k.router
		byVRID[vridOf[k]] = append(byVRID[vridOf[k]], name)
		for _, b := range bars[k] {
			if b.label == "MASTER" {
				masters[name+"\x00"+strconv.Itoa(vridOf[k])] = append(masters[name+"\x00"+strconv.Itoa(vridOf[k])], b)
			}
		}
	}
	vridList := make([]int, 0, len(byVRID))
	for v := range byVRID {
		vridList = append(vridList, v)
	}
	slices.Sort(vridList)
	for _, v := range vridList {
		routers := byVRID[v]
		spans := map[string][]tlBar{}
		for _, rt := range routers {
			spans[rt] = masters[rt+"\x00"+strconv.Itoa(v)]
		}
		tl.splits = append(tl.splits, splitBrain(v, routers, spans)...)
	}

	for _, v := range vipNames {
		vb := vipBars[v]
		// During a split brain of a VRID whose routers hold this VIP, the
		// VIP row names every owner: both answer ARP for it.
		for _, sp := range tl.splits {
			mine := false
			for _, m := range sp.masters {
				mine = mine || vipOwners[v][m]
			}
			if mine || len(tl.splits) > 0 && len(vridList) == 1 {
				vb = overlayBar(vb, tlBar{from: sp.from, to: sp.to, fill: colSplitBd, ink: color.White,
					label: strings.Join(sp.masters, " + ")})
			}
		}
		tl.lanes = append(tl.lanes, tlLane{name: tl.l.f("vipLane", v), h: 1, bars: vb})
	}
	return tl
}

// place sets the lanes' heights on the y axis, top to bottom in their
// order, adds the marks and lays out the label rows.
func (tl *timeline) place(marks []Mark) {
	total := 0.0
	for _, l := range tl.lanes {
		total += l.h
	}
	cum := 0.0
	for i := range tl.lanes {
		tl.lanes[i].y = total - 0.5 - (cum + tl.lanes[i].h/2)
		cum += tl.lanes[i].h
	}
	tl.laneTop = total - 0.5

	for _, m := range marks {
		from, to := m.From.Seconds(), m.To.Seconds()
		if to < from {
			from, to = to, from
		}
		tl.marks = append(tl.marks, tlMark{from: from, to: to, label: m.text(tl.l)})
	}
	tl.layout()
}

// killsHost reports whether a fault of this kind kills a host or its
// agent without a clean shutdown.
func killsHost(kind string) bool {
	switch kind {
	case "crash", "kill", "power_off":
		return true
	}
	return false
}

// crashed reports whether a router's move to STOP was a crash: its reason
// says so ("host crashed"), or a crash of its host came at that moment
// (within a millisecond).
func crashed(e history.Event, crashes []history.Stamp) bool {
	if strings.Contains(e.Reason, "crash") || strings.Contains(e.Reason, "killed") {
		return true
	}
	for _, t := range crashes {
		if d := e.T - t; d >= 0 && d <= history.Stamp(time.Millisecond) {
			return true
		}
	}
	return false
}

// splitBrain returns the spans of VRID vrid in which two or more of the
// routers were MASTER, from each router's MASTER bars.
func splitBrain(vrid int, routers []string, spans map[string][]tlBar) []tlSplit {
	var cuts []float64
	for _, rt := range routers {
		for _, b := range spans[rt] {
			cuts = append(cuts, b.from, b.to)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	var out []tlSplit
	for i := 0; i+1 < len(cuts); i++ {
		mid := (cuts[i] + cuts[i+1]) / 2
		var who []string
		for _, rt := range routers {
			for _, b := range spans[rt] {
				if b.from <= mid && mid < b.to {
					who = append(who, rt)
					break
				}
			}
		}
		if len(who) < 2 {
			continue
		}
		slices.SortFunc(who, naturalCompare)
		if n := len(out); n > 0 && out[n-1].to == cuts[i] && slices.Equal(out[n-1].masters, who) {
			out[n-1].to = cuts[i+1]
			continue
		}
		out = append(out, tlSplit{from: cuts[i], to: cuts[i+1], vrid: vrid, masters: who})
	}
	return out
}

// overlayBar lays bar o over the bars of a lane: the bars it covers are
// cut around it.
func overlayBar(bars []tlBar, o tlBar) []tlBar {
	var out []tlBar
	for _, b := range bars {
		if b.to <= o.from || b.from >= o.to {
			out = append(out, b)
			continue
		}
		if b.from < o.from {
			l := b
			l.to = o.from
			out = append(out, l)
		}
		if b.to > o.to {
			r := b
			r.from = o.to
			out = append(out, r)
		}
	}
	out = append(out, o)
	slices.SortStableFunc(out, func(a, b tlBar) int { return cmp.Compare(a.from, b.from) })
	return out
}

// faultText labels a fault line: "crash r1", or, when the lab named the
// fault otherwise than "KIND TARGET", "NAME (crash r1)".
func faultText(e history.Event) string {
	label := faultLabel(e.Fault, e.Target)
	if e.Name != "" && e.Name != e.Fault+" "+e.Target && e.Name != label {
		label = e.Name + " (" + label + ")"
	}
	return label
}

// faultLabel names a fault for the plot, its kind as the lab writes it,
// in every language: "crash r1", "link_down r1:eth0".
func faultLabel(kind, target string) string {
	s := kind
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
	p.X.Label.Text = tl.l.s("timeS")
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Add(tl)
	p.X.Min, p.X.Max = 0, tl.end
	p.Y.Min, p.Y.Max = -0.5, tl.top
	ticks := make([]plot.Tick, 0, len(tl.lanes))
	for _, l := range tl.lanes {
		if !l.spacer {
			ticks = append(ticks, plot.Tick{Value: l.y, Label: l.name})
		}
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
		switch {
		case l.spacer:
		case l.prio != nil:
			rect(rgb(0xfa, 0xfa, 0xfa), x0, x1, trY(l.y-l.h*0.42), trY(l.y+l.h*0.42))
		default:
			rect(rgb(0xf4, 0xf4, 0xf4), x0, x1, trY(l.y-l.barH()/2), trY(l.y+l.barH()/2))
		}
	}
	// Split brain: a magenta wash over every lane, edged top and bottom.
	for _, sp := range tl.splits {
		sx0, sx1 := trX(sp.from), trX(sp.to)
		if w := sx1 - sx0; w < 2 {
			// a split brain of a few microseconds is still one: keep it visible
			sx0, sx1 = sx0-(2-w)/2, sx1+(2-w)/2
		}
		rect(colSplit, sx0, sx1, laneBot, laneTop)
		edge := draw.LineStyle{Color: colSplitBd, Width: 2.5}
		c.StrokeLine2(edge, sx0, laneTop, sx1, laneTop)
		c.StrokeLine2(edge, sx0, laneBot, sx1, laneBot)
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
	// Fault spans, under the bars, once where they overlap.
	for _, s := range unionSpans(tl.shades) {
		rect(colShade, trX(s.from), trX(s.to), laneBot, laneTop)
	}
	// Bars and their labels.
	btext := textStyle(barTextSize, colText)
	btext.XAlign, btext.YAlign = draw.XCenter, draw.YCenter
	for _, l := range tl.lanes {
		if l.prio != nil {
			tl.plotPriority(c, trX, trY, l)
			continue
		}
		y0, y1 := trY(l.y-l.barH()/2), trY(l.y+l.barH()/2)
		for _, b := range l.bars {
			bx0, bx1 := trX(b.from), trX(b.to)
			switch {
			case b.stack != nil:
				y := y0
				for _, part := range b.stack {
					h := (y1 - y0) * vg.Length(part.frac)
					rect(part.fill, bx0, bx1, y, y+h)
					y += h
				}
			case b.fill != nil:
				rect(b.fill, bx0, bx1, y0, y1)
				if !l.avail {
					// a thin white edge keeps adjacent bars apart
					c.StrokeLine2(draw.LineStyle{Color: color.White, Width: 0.8}, bx0, y0, bx0, y1)
				}
			}
			if b.label == "" || bx1-bx0 < btext.Width(b.label)+6 || y1-y0 < btext.Height(b.label)*0.8 {
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

// plotPriority draws a priority track: the router's effective priority
// as a step line on the scale shared by every track, broken while the
// router is not running, with its value written at the start and at each
// change (where there is room).
func (tl *timeline) plotPriority(c draw.Canvas, trX, trY func(float64) vg.Length, l tlLane) {
	yOf := func(v int) vg.Length {
		f := 0.5
		if tl.prioHi > tl.prioLo {
			f = float64(v-tl.prioLo) / float64(tl.prioHi-tl.prioLo)
		}
		return trY(l.y - l.h*0.3 + f*l.h*0.5)
	}
	line := draw.LineStyle{Color: colPrio, Width: 1.3}
	var pts []vg.Point
	stroke := func(x vg.Length) {
		if len(pts) > 0 {
			pts = append(pts, vg.Point{X: x, Y: pts[len(pts)-1].Y})
			c.StrokeLines(line, c.ClipLinesXY(pts)...)
		}
		pts = nil
	}
	for _, p := range l.prio {
		x := trX(p.t)
		if p.v == noPrio {
			stroke(x)
			continue
		}
		if len(pts) > 0 {
			pts = append(pts, vg.Point{X: x, Y: pts[len(pts)-1].Y})
		}
		pts = append(pts, vg.Point{X: x, Y: yOf(p.v)})
	}
	stroke(trX(tl.end))
	sty := textStyle(7.5, colPrio)
	sty.YAlign = draw.YBottom
	next := c.Min.X - 1
	for _, p := range l.prio {
		if p.v == noPrio {
			continue
		}
		txt := strconv.Itoa(p.v)
		x := trX(p.t) + 2
		if x < next || x+sty.Width(txt) > c.Max.X {
			continue
		}
		c.FillText(sty, vg.Point{X: x, Y: yOf(p.v) + 1}, txt)
		next = x + sty.Width(txt) + 4
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
	return tl.figure(timelineName, tl.title(r, tl.l.s("timelineTitle")), nil), true
}

// title returns a figure's title: what, the lab's name, and the seed of a
// single run.
func (tl *timeline) title(r Report, what string) string {
	title := lbTitle(what, r.Lab)
	if r.Results.Seeds == 0 && (r.Results.Seed != 0 || r.Results.Mode != "") {
		title += tl.l.f("seedParen", r.Results.Seed)
	}
	return title
}

// figure draws the timeline as the figure name, under title, with a
// legend of first and then of what the lanes show.
func (tl *timeline) figure(name, title string, first []legendEntry) figure {
	p := newPlot("")
	tl.axes(p)

	// Grow the figure with the number of lanes and annotation rows, so
	// that a lane never gets thinner than about 40 points.
	units := tl.top + 0.5
	h := max(plotHeight, 100+vg.Length(units)*40+legendStrip)

	entries := slices.Clone(first)
	routers := slices.ContainsFunc(tl.lanes, func(l tlLane) bool { return !l.avail && !l.spacer })
	if routers {
		entries = append(entries, []legendEntry{
			{"MASTER", swatch(colMaster)},
			{"BACKUP", swatch(colBackup)},
			{"FAULT", swatch(colFault)},
			{"INIT", swatch(colInit)},
			{tl.l.s("stopClean"), swatch(colStop)},
		}...)
	}
	crashedSeen, prioSeen := false, false
	for _, l := range tl.lanes {
		prioSeen = prioSeen || l.prio != nil
		for _, b := range l.bars {
			crashedSeen = crashedSeen || b.label == crashedState
		}
	}
	if crashedSeen {
		entries = append(entries, legendEntry{tl.l.s("crashedHost"), swatch(colCrashed)})
	}
	if len(tl.splits) > 0 {
		entries = append(entries, legendEntry{tl.l.s("splitBrain"), swatch(colSplitBd)})
	}
	if prioSeen {
		entries = append(entries, legendEntry{tl.l.s("effPrio"), lineSwatch(draw.LineStyle{Color: colPrio, Width: 1.3})})
	}
	entries = append(entries,
		legendEntry{tl.l.s("faultLine"), lineSwatch(faultLineStyle)},
		legendEntry{tl.l.s("faultInEffect"), swatch(colShade)},
	)
	// The legend may wrap over several rows: timeFigure lays them out.
	tf := &timeFigure{name: name, title: title, panels: []*plot.Plot{p}, entries: entries,
		panelH: h - 24 - titleSpace - legendStrip}
	return tf.figure()
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

// discardTable lists the adverts the routers discarded, from the
// history's vrrp_stats events whose counter is a drop cause: one row per
// cause, router and instance, by router then cause. Nil when none was
// discarded.
func discardTable(events []history.Event) *tableView {
	type row struct {
		router, instance, cause string
		vrid                    int
		n                       uint64
	}
	var rows []row
	for _, e := range events {
		if e.Kind != history.KindVRRPStats || e.Count == 0 {
			continue
		}
		if st, ok := vrrpsim.ParseStat(e.Counter); !ok || !st.IsDrop() {
			continue
		}
		rows = append(rows, row{e.Router, e.Instance, e.Counter, e.VRID, e.Count})
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if c := naturalCompare(a.router, b.router); c != 0 {
			return c
		}
		if c := cmp.Compare(a.vrid, b.vrid); c != 0 {
			return c
		}
		return cmp.Compare(a.cause, b.cause)
	})
	t := &tableView{Head: []string{"adverts discarded: cause", "router", "instance (VRID)", "count"}}
	for _, r := range rows {
		t.Rows = append(t.Rows, []string{r.cause, r.router, fmt.Sprintf("%s (%d)", r.instance, r.vrid),
			strconv.FormatUint(r.n, 10)})
	}
	return t
}
