package reports

import (
	"image/color"
	"slices"
	"strings"

	"gonum.org/v1/plot/vg"
)

// Colours of the health lanes. Before a server's first health event its
// state is assumed (the first event's From, else up) and drawn pale.
var (
	colUp          = colMaster
	colDown        = colFaultRed
	colUpAssumed   = rgb(0xc7, 0xe9, 0xc0)
	colDownAssumed = rgb(0xf4, 0xb8, 0xb8)
)

// healthColor returns the fill, ink and label (in l) of a health state
// bar.
func healthColor(l lang, state string, assumed bool) (fill, ink color.Color, label string) {
	label = strings.ToUpper(state)
	switch strings.ToLower(state) {
	case "up":
		if assumed {
			return colUpAssumed, colText, l.f("assumed", "UP")
		}
		return colUp, color.White, label
	case "down":
		if assumed {
			return colDownAssumed, colText, l.f("assumed", "DOWN")
		}
		return colDown, color.White, label
	}
	return colUnknown, colText, label
}

// healthFigure is a lane per server with its health over time: up
// (green) or down (red) from health events, pale before the first one;
// ok is false without health events.
func healthFigure(d *lbData) (figure, bool) {
	if len(d.health) == 0 {
		return figure{}, false
	}
	type key struct{ group, server string }
	type open struct {
		state   string
		from    float64
		assumed bool
	}
	states := map[key]*open{}
	bars := map[key][]tlBar{}
	var keys []key
	add := func(k key) *open {
		o, ok := states[k]
		if !ok {
			o = &open{state: "up", assumed: true}
			states[k] = o
			keys = append(keys, k)
		}
		return o
	}
	closeBar := func(k key, o *open, to float64) {
		if to > o.from {
			fill, ink, label := healthColor(d.l, o.state, o.assumed)
			bars[k] = append(bars[k], tlBar{from: o.from, to: to, fill: fill, ink: ink, label: label})
		}
	}
	groups := map[string]bool{}
	for _, e := range d.health {
		k := key{e.Group, e.Server}
		groups[e.Group] = true
		_, seen := states[k]
		o := add(k)
		if !seen && e.From != "" {
			o.state = e.From
		}
		t := e.T.Seconds()
		if strings.EqualFold(e.To, o.state) && !o.assumed {
			continue
		}
		closeBar(k, o, t)
		o.state, o.from, o.assumed = e.To, t, false
	}
	// Configured servers without a health event: up all along, assumed.
	for _, s := range d.shares {
		groups[s.Group] = true
		add(key{s.Group, s.Server})
	}
	for _, name := range d.groups {
		for server := range d.reqs.groups[name].backends {
			groups[name] = true
			add(key{name, server})
		}
	}
	for _, k := range keys {
		closeBar(k, states[k], d.end)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := naturalCompare(a.group, b.group); c != 0 {
			return c
		}
		return naturalCompare(a.server, b.server)
	})
	multi := len(groups) > 1
	tl := &timeline{l: d.l, end: d.end, faults: append([]tlFault(nil), d.faults...), shades: d.shades}
	n := len(keys)
	for i, k := range keys {
		tl.lanes = append(tl.lanes, tlLane{name: serverLabel(k.group, k.server, multi), y: float64(n - 1 - i), bars: bars[k]})
	}
	tl.laneTop = float64(n) - 0.5
	tl.layout()

	p := newPlot(lbTitle(d.l.s("healthTitle"), d.lab))
	tl.axes(p)

	units := tl.top + 0.5
	h := max(plotHeight*0.75, 100+vg.Length(units)*34+legendStrip)
	entries := []legendEntry{
		{d.l.s("healthUp"), swatch(colUp)},
		{d.l.s("healthDown"), swatch(colDown)},
		{d.l.s("beforeHealth"), swatch(colUpAssumed)},
	}
	entries = append(entries, faultEntries(d)...)
	return figure{name: healthName, height: h, draw: withLegend(p, entries)}, true
}
