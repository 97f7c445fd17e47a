package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Topology is a lab's cloud network as its report draws it: VPCs,
// vswitches, hosts with their addresses, peering connections
// (report.json's "topology"). Every list is in the lab file's order;
// names are the lab's, unique over the network. Nil for a lab without a
// cloud network.
type Topology struct {
	// VPCs are the virtual private clouds with their CIDRs.
	VPCs []TopoVPC `json:"vpcs"`
	// VSwitches are the VPCs' vswitches (交换机).
	VSwitches []TopoVSwitch `json:"vswitches,omitempty"`
	// Hosts are the instances, each in the vswitch of its first NIC.
	Hosts []TopoHost `json:"hosts,omitempty"`
	// Peerings are the peering connections (对等连接).
	Peerings []TopoPeering `json:"peerings,omitempty"`
}

// TopoVPC is a VPC of a Topology.
type TopoVPC struct {
	Name string `json:"name"`
	CIDR string `json:"cidr"`
}

// TopoVSwitch is a vswitch of a Topology: its VPC, zone ("" for none)
// and CIDR.
type TopoVSwitch struct {
	Name string `json:"name"`
	VPC  string `json:"vpc"`
	Zone string `json:"zone,omitempty"`
	CIDR string `json:"cidr"`
}

// TopoHost is an instance of a Topology: the vswitch it is in and its
// address there (without prefix length).
type TopoHost struct {
	Name    string `json:"name"`
	VSwitch string `json:"vswitch"`
	Address string `json:"address"`
}

// TopoPeering is a peering connection between two VPCs of a Topology.
type TopoPeering struct {
	Name    string `json:"name"`
	VPC     string `json:"vpc"`
	PeerVPC string `json:"peer_vpc"`
}

// maxTopoItems bounds each list of a Topology in report.json (the
// cloud model's own bound on a list).
const maxTopoItems = 1000

// Drawing bounds of the topology figure: more VPCs, vswitches per VPC,
// hosts per vswitch or probes than these are left out of the drawing
// (the caption says how many).
const (
	topoMaxVPCs     = 10
	topoMaxVSwitch  = 4
	topoMaxHosts    = 8
	topoMaxProbes   = 16
	topoMaxPeerings = 16
	topoColumns     = 5
	topoName        = "topology"
	topoLineH       = vg.Length(11)
	topoPeeringBand = vg.Length(13)
)

// check refuses a topology whose lists are too long or whose names are
// empty, naming the field.
func (t *Topology) check() error {
	for _, l := range []struct {
		field string
		n     int
	}{{"vpcs", len(t.VPCs)}, {"vswitches", len(t.VSwitches)}, {"hosts", len(t.Hosts)}, {"peerings", len(t.Peerings)}} {
		if l.n > maxTopoItems {
			return i18n.Errorf("topology.%s: %d items: want at most %d", l.field, l.n, maxTopoItems)
		}
	}
	for i, v := range t.VPCs {
		if v.Name == "" {
			return i18n.Errorf("topology.vpcs[%d].name: empty: want the VPC's name", i)
		}
	}
	return nil
}

// topoProbe is a probe of the history as the figure draws it: its legs'
// places and where it was dropped.
type topoProbe struct {
	label    string // "ecs-a → 192.168.5.130 (icmp)"
	outcome  string // ACCEPTED, NO_ROUTE, ...
	ok       bool
	request  []string
	reply    []string
	dropAt   string // the place marked ✗, "" for none
	dropSide int    // 0 none, 1 request, 2 reply
}

// topoProbes returns the history's net events that carry a cloud path.
func topoProbes(events []history.Event) []topoProbe {
	var out []topoProbe
	for _, e := range events {
		if e.Kind != history.KindNet || e.Path == "" {
			continue
		}
		p := topoProbe{label: fmt.Sprintf("%s → %s (%s)", e.Src, e.Dst, e.Probe), outcome: e.Reason,
			ok: e.OK != nil && *e.OK}
		req, rep, _ := strings.Cut(e.Path, " | ")
		leg := func(s string, side int) []string {
			var places []string
			for _, f := range strings.Split(s, " > ") {
				f = strings.TrimSpace(f)
				if name, ok := strings.CutSuffix(f, "✗"); ok {
					f = strings.TrimSpace(name)
					p.dropAt, p.dropSide = f, side
				}
				if f != "" {
					places = append(places, f)
				}
			}
			return places
		}
		p.request = leg(req, 1)
		if rep != "" {
			p.reply = leg(rep, 2)
		}
		out = append(out, p)
	}
	return out
}

// topoLayout is where the figure puts each place.
type topoLayout struct {
	at   map[string]vg.Point // place name → its point on the paths
	band map[string]bool     // peerings drawn in the band over the boxes
	// next holds the pairs of places a packet goes between directly
	// (host–vswitch, vswitch–VPC, VPC–peering), both ways
	next map[[2]string]bool
	// sky is the height over the boxes where a path joins two places
	// it names one after the other without the hops between them
	sky vg.Length
}

// adjacent reports whether a packet goes from place a to place b
// directly in the topology.
func (l *topoLayout) adjacent(a, b string) bool {
	return l.next[[2]string{a, b}] || l.next[[2]string{b, a}]
}

// topologyFigure draws a cloud lab's network and each probe's path over
// it; ok is false for a lab without a topology.
func topologyFigure(r Report) (figure, string, bool) {
	t := r.Topology
	if t == nil || len(t.VPCs) == 0 {
		return figure{}, "", false
	}
	l := langOf(r.Lang)
	lng := i18nLang(l)
	probes := topoProbes(r.History)
	vpcs := t.VPCs
	left := 0
	if len(vpcs) > topoMaxVPCs {
		left += len(vpcs) - topoMaxVPCs
		vpcs = vpcs[:topoMaxVPCs]
	}
	drawn := probes
	if len(drawn) > topoMaxProbes {
		left += len(drawn) - topoMaxProbes
		drawn = drawn[:topoMaxProbes]
	}
	shown := map[string]bool{}
	for _, v := range vpcs {
		shown[v.Name] = true
	}
	var peerings []TopoPeering
	for _, p := range t.Peerings {
		if shown[p.VPC] && shown[p.PeerVPC] && len(peerings) < topoMaxPeerings {
			peerings = append(peerings, p)
		} else {
			left++
		}
	}
	vsw := map[string][]TopoVSwitch{}
	for _, s := range t.VSwitches {
		if len(vsw[s.VPC]) < topoMaxVSwitch {
			vsw[s.VPC] = append(vsw[s.VPC], s)
		} else {
			left++
		}
	}
	hosts := map[string][]TopoHost{}
	for _, h := range t.Hosts {
		if len(hosts[h.VSwitch]) < topoMaxHosts {
			hosts[h.VSwitch] = append(hosts[h.VSwitch], h)
		} else {
			left++
		}
	}
	// heights
	vswH := func(s TopoVSwitch) vg.Length {
		return topoLineH*vg.Length(3+len(hosts[s.Name])) + 8
	}
	vpcH := func(v TopoVPC) vg.Length {
		h := 2*topoLineH + 10
		for _, s := range vsw[v.Name] {
			h += vswH(s) + 6
		}
		return h
	}
	cols := min(len(vpcs), topoColumns)
	rows := (len(vpcs) + cols - 1) / cols
	rowH := make([]vg.Length, rows)
	for i, v := range vpcs {
		rowH[i/cols] = max(rowH[i/cols], vpcH(v))
	}
	band := topoPeeringBand * vg.Length(len(peerings)+1)
	if len(peerings) == 0 || rows > 1 {
		band = 6 // room for a cross over a router
	}
	const title, gapY, legendH = vg.Length(22), vg.Length(16), vg.Length(26)
	height := title + band + legendH + 12
	for _, h := range rowH {
		height += h + gapY
	}
	height += topoLineH * 1.3 * vg.Length(len(drawn)+1)

	titleText := i18n.T("Cloud network: VPCs, vSwitches, peering connections, and each probe's path").In(lng)
	f := figure{name: topoName, height: height, draw: func(c draw.Canvas) {
		c = draw.Crop(c, 10, -10, 6, -6)
		W := c.Max.X - c.Min.X
		top := c.Max.Y
		ts := textStyle(12, colText)
		ts.XAlign, ts.YAlign = draw.XCenter, draw.YTop
		c.FillText(ts, vg.Point{X: c.Min.X + W/2, Y: top}, fitText(ts, titleText, W))
		lay := topoLayout{at: map[string]vg.Point{}, band: map[string]bool{}, next: map[[2]string]bool{}}
		for _, s := range t.VSwitches {
			lay.next[[2]string{s.Name, s.VPC}] = true
		}
		for _, h := range t.Hosts {
			lay.next[[2]string{h.Name, h.VSwitch}] = true
		}
		for _, p := range t.Peerings {
			lay.next[[2]string{p.Name, p.VPC}], lay.next[[2]string{p.Name, p.PeerVPC}] = true, true
		}
		const gapX = vg.Length(14)
		colW := (W - gapX*vg.Length(cols-1)) / vg.Length(cols)
		boxes := map[string]vg.Rectangle{}
		y := top - title - band
		lay.sky = y + 5
		for ri := 0; ri < rows; ri++ {
			for ci := 0; ci < cols; ci++ {
				i := ri*cols + ci
				if i >= len(vpcs) {
					break
				}
				x0 := c.Min.X + vg.Length(ci)*(colW+gapX)
				box := vg.Rectangle{Min: vg.Point{X: x0, Y: y - vpcH(vpcs[i])}, Max: vg.Point{X: x0 + colW, Y: y}}
				boxes[vpcs[i].Name] = box
				drawVPC(c, box, vpcs[i], vsw[vpcs[i].Name], hosts, vswH, lng, &lay)
			}
			y -= rowH[ri] + gapY
		}
		// peering connections: over the boxes in a band of their own when
		// the VPCs are one row; a straight line between routers otherwise
		col := map[string]int{}
		for i, v := range vpcs {
			col[v.Name] = i
		}
		span := func(p TopoPeering) int {
			d := col[p.VPC] - col[p.PeerVPC]
			return max(d, -d)
		}
		var labels []func() // drawn over the probes' paths
		peerings := slices.Clone(peerings)
		slices.SortStableFunc(peerings, func(a, b TopoPeering) int { return span(a) - span(b) })
		for k, p := range peerings {
			a, okA := boxes[p.VPC]
			_, okB := boxes[p.PeerVPC]
			if !okA || !okB {
				continue
			}
			pa, pb := lay.at[p.VPC], lay.at[p.PeerVPC]
			ls := draw.LineStyle{Color: colStop, Width: 1.4}
			ps := textStyle(8, colStop)
			ps.XAlign, ps.YAlign = draw.XCenter, draw.YBottom
			var mid vg.Point
			if rows == 1 {
				yb := a.Max.Y + topoPeeringBand*vg.Length(k+1)
				c.StrokeLines(ls, []vg.Point{pa, {X: pa.X, Y: yb}, {X: pb.X, Y: yb}, pb})
				mid = vg.Point{X: (pa.X + pb.X) / 2, Y: yb}
				lay.band[p.Name] = true
			} else {
				c.StrokeLine2(ls, pa.X, pa.Y, pb.X, pb.Y)
				mid = vg.Point{X: (pa.X + pb.X) / 2, Y: (pa.Y + pb.Y) / 2}
			}
			lay.at[p.Name] = mid
			label := i18n.T("peering %s", p.Name).In(lng)
			lw := ps.Width(label)
			labels = append(labels, func() {
				c.FillPolygon(rgb(0xff, 0xff, 0xff), rect(vg.Rectangle{Min: vg.Point{X: mid.X - lw/2 - 1, Y: mid.Y + 1.5}, Max: vg.Point{X: mid.X + lw/2 + 1, Y: mid.Y + 10}}))
				c.FillText(ps, vg.Point{X: mid.X, Y: mid.Y + 1.5}, label)
			})
		}
		// each probe's path: the request solid, the reply dashed; green
		// when accepted, red when not, a cross where it was dropped
		n := len(drawn)
		for i, p := range drawn {
			col := colMaster
			if !p.ok {
				col = colFaultRed
			}
			d := (vg.Length(i) - vg.Length(n-1)/2) * 2.2
			legs := []struct {
				places []string
				dashes []vg.Length
				shift  vg.Length
			}{{p.request, nil, 0}, {p.reply, []vg.Length{4, 2.5}, 1.2}}
			for _, leg := range legs {
				var pts []vg.Point
				prev := ""
				for _, name := range leg.places {
					pt, ok := lay.at[name]
					if !ok {
						continue
					}
					// along a band peering: up from the router, across
					if prev != "" && !lay.adjacent(prev, name) {
						// places the world saw without the hops between
						// them (a real network's counters): joined over
						// the boxes, not across them
						from := lay.at[prev]
						pts = append(pts, vg.Point{X: from.X + d + leg.shift, Y: lay.sky - d - leg.shift},
							vg.Point{X: pt.X + d + leg.shift, Y: lay.sky - d - leg.shift})
					} else if lay.band[name] && prev != "" {
						pts = append(pts, vg.Point{X: lay.at[prev].X + d + leg.shift, Y: pt.Y - d - leg.shift})
					} else if lay.band[prev] {
						pts = append(pts, vg.Point{X: pt.X + d + leg.shift, Y: lay.at[prev].Y - d - leg.shift})
					}
					pts = append(pts, vg.Point{X: pt.X + d + leg.shift, Y: pt.Y - d - leg.shift})
					prev = name
				}
				if len(pts) > 1 {
					c.StrokeLines(draw.LineStyle{Color: col, Width: 1.1, Dashes: leg.dashes}, pts)
				}
			}
			if end, ok := lay.at[lastOf(p.request)]; ok && p.ok {
				ns := textStyle(8, colMaster)
				ns.XAlign, ns.YAlign = draw.XLeft, draw.YCenter
				c.FillText(ns, vg.Point{X: end.X + d + 4, Y: end.Y - d}, fmt.Sprint(i+1))
			}
			if pt, ok := lay.at[p.dropAt]; ok {
				shift := vg.Length(0)
				if p.dropSide == 2 {
					shift = 1.2
				}
				drawCross(c, vg.Point{X: pt.X + d + shift, Y: pt.Y - d - shift}, 4.5)
				ns := textStyle(8, colFaultRed)
				ns.XAlign, ns.YAlign = draw.XLeft, draw.YCenter
				c.FillText(ns, vg.Point{X: pt.X + d + shift + 6, Y: pt.Y - d - shift}, fmt.Sprint(i+1))
			}
		}
		for _, f := range labels {
			f()
		}
		// the probes' list
		y -= 2
		ls := textStyle(9, colText)
		ls.YAlign = draw.YTop
		for i, p := range drawn {
			col := colMaster
			if !p.ok {
				col = colFaultRed
			}
			s := i18n.T("%d. %s: %s", i+1, p.label, p.outcome).In(lng)
			if p.dropAt != "" {
				side := i18n.T("dropped at %s on the request", p.dropAt)
				if p.dropSide == 2 {
					side = i18n.T("dropped at %s on the reply", p.dropAt)
				}
				s = i18n.T("%s, %s", s, side).In(lng)
			}
			ls.Color = col
			c.FillText(ls, vg.Point{X: c.Min.X, Y: y}, fitText(ls, s, W))
			y -= topoLineH * 1.3
		}
		if left > 0 {
			ls.Color = colMuted
			c.FillText(ls, vg.Point{X: c.Min.X, Y: y}, fitText(ls, i18n.T("(%d more items not drawn)", left).In(lng), W))
		}
		// legend
		solid := draw.LineStyle{Color: colText, Width: 1.1}
		dashed := draw.LineStyle{Color: colText, Width: 1.1, Dashes: []vg.Length{4, 2.5}}
		entries := []legendEntry{
			{"ACCEPTED", lineSwatch(draw.LineStyle{Color: colMaster, Width: 2})},
			{i18n.T("not accepted").In(lng), lineSwatch(draw.LineStyle{Color: colFaultRed, Width: 2})},
			{i18n.T("request").In(lng), lineSwatch(solid)},
			{i18n.T("reply").In(lng), lineSwatch(dashed)},
			{i18n.T("dropped here").In(lng), func(c draw.Canvas) {
				drawCross(c, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2}, 4.5)
			}},
			{i18n.T("VPC router").In(lng), func(c draw.Canvas) {
				c.FillPolygon(colStop, circle(vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2}, 3.5))
			}},
		}
		drawLegendStrip(draw.Crop(c, 0, 0, 0, -(c.Max.Y-c.Min.Y-legendH)), entries)
	}}
	caption := i18n.T("The lab's cloud network: each VPC a box with its CIDR, its vSwitches inside with their CIDR and zone, " +
		"the hosts with their addresses, peering connections as links over the boxes. Each probe of the run is drawn along its " +
		"hop path: the request solid, the reply dashed, green when ACCEPTED, red otherwise, with a cross at the place that " +
		"dropped it (on the reply leg for NO_REPLY_ROUTE); the numbers match the list under the drawing. Where the run saw " +
		"fewer hops than the model has (a real network's counters), the path joins the places it saw over the boxes.").In(lng)
	return f, caption, true
}

// drawVPC draws a VPC box with its vswitches and hosts, and records the
// points of the router, the vswitches and the hosts in lay.
func drawVPC(c draw.Canvas, box vg.Rectangle, v TopoVPC, sws []TopoVSwitch, hosts map[string][]TopoHost,
	vswH func(TopoVSwitch) vg.Length, lng string, lay *topoLayout) {
	w := box.Max.X - box.Min.X
	c.FillPolygon(rgb(0xf3, 0xf7, 0xfc), rect(box))
	c.StrokeLines(draw.LineStyle{Color: colBackup, Width: 1.2}, append(rect(box), box.Min))
	hs := textStyle(10, colBackup)
	hs.YAlign = draw.YTop
	x := box.Min.X + 5
	c.FillText(hs, vg.Point{X: x, Y: box.Max.Y - 4}, fitText(hs, "VPC "+v.Name, w-26))
	cs := textStyle(9, colText)
	cs.YAlign = draw.YTop
	c.FillText(cs, vg.Point{X: x, Y: box.Max.Y - 4 - topoLineH}, fitText(cs, v.CIDR, w-10))
	router := vg.Point{X: box.Max.X - 12, Y: box.Max.Y}
	c.FillPolygon(colStop, circle(router, 3.5))
	lay.at[v.Name] = router
	y := box.Max.Y - 2*topoLineH - 10
	for _, s := range sws {
		h := vswH(s)
		r := vg.Rectangle{Min: vg.Point{X: box.Min.X + 5, Y: y - h}, Max: vg.Point{X: box.Max.X - 5, Y: y}}
		c.FillPolygon(rgb(0xff, 0xff, 0xff), rect(r))
		c.StrokeLines(draw.LineStyle{Color: colHistLine, Width: 0.8}, append(rect(r), r.Min))
		iw := r.Max.X - r.Min.X - 8
		ix := r.Min.X + 4
		ss := textStyle(9, colHistLine)
		ss.YAlign = draw.YTop
		ly := y - 3
		c.FillText(ss, vg.Point{X: ix, Y: ly}, fitText(ss, i18n.T("vSwitch %s", s.Name).In(lng), iw-10))
		ly -= topoLineH
		c.FillText(cs, vg.Point{X: ix, Y: ly}, fitText(cs, s.CIDR, iw))
		ly -= topoLineH
		zs := textStyle(8, colMuted)
		zs.YAlign = draw.YTop
		zone := s.Zone
		if zone == "" {
			zone = "—"
		}
		c.FillText(zs, vg.Point{X: ix, Y: ly}, fitText(zs, i18n.T("zone %s", zone).In(lng), iw))
		ly -= topoLineH
		lay.at[s.Name] = vg.Point{X: r.Max.X - 7, Y: y}
		for _, hst := range hosts[s.Name] {
			hs := textStyle(9, colText)
			hs.YAlign = draw.YCenter
			cy := ly - topoLineH/2
			c.FillText(hs, vg.Point{X: ix, Y: cy}, fitText(hs, hst.Name+" "+hst.Address, iw-14))
			pt := vg.Point{X: r.Max.X - 7, Y: cy}
			c.FillPolygon(colText, rect(vg.Rectangle{Min: vg.Point{X: pt.X - 2.5, Y: pt.Y - 2.5}, Max: vg.Point{X: pt.X + 2.5, Y: pt.Y + 2.5}}))
			if _, seen := lay.at[hst.Name]; !seen {
				lay.at[hst.Name] = pt
			}
			ly -= topoLineH
		}
		y -= h + 6
	}
}

// fitText returns s, cut with "…" so that it is at most w wide in sty.
func fitText(sty draw.TextStyle, s string, w vg.Length) string {
	if sty.Width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 {
		r = r[:len(r)-1]
		if t := string(r) + "…"; sty.Width(t) <= w {
			return t
		}
	}
	return ""
}

// lastOf returns the last of s, "" for none.
func lastOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// rect returns the corners of r.
func rect(r vg.Rectangle) []vg.Point {
	return []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
}

// circle returns a polygon of 16 points around p of radius rad.
func circle(p vg.Point, rad vg.Length) []vg.Point {
	out := make([]vg.Point, 16)
	for i := range out {
		a := float64(i) / 16 * 2 * math.Pi
		out[i] = vg.Point{X: p.X + rad*vg.Length(math.Cos(a)), Y: p.Y + rad*vg.Length(math.Sin(a))}
	}
	return out
}

// drawCross draws an ✗ of half-size s at p.
func drawCross(c draw.Canvas, p vg.Point, s vg.Length) {
	ls := draw.LineStyle{Color: colFaultRed, Width: 2}
	c.StrokeLine2(ls, p.X-s, p.Y-s, p.X+s, p.Y+s)
	c.StrokeLine2(ls, p.X-s, p.Y+s, p.X+s, p.Y-s)
}
