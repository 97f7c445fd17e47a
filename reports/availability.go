package reports

import (
	"cmp"
	"github.com/lblab/lblab/history"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
)

// availabilityName is the file name (without extension) of the
// availability figure: each client host's lanes over the VRRP timeline.
const availabilityName = "availability"

// Geometry of the availability lanes, in lanes of the timeline.
// colWaiting fills a bin where a client's requests were all waiting for
// an answer that came later (or never): the outage as its users lived it.
var colWaiting = rgb(0xbd, 0xbd, 0xbd)

const (
	probeLaneH  = 0.55 // a probe kind's lane, under its host's requests
	spacerLaneH = 0.35 // between the clients' lanes and the routers'
	maxAvailBin = 600  // bins at most over the run
	// maxAvailLanes bounds the lanes drawn (host and channel pairs), so
	// that a history naming very many hosts stays within bounded memory;
	// the outages are measured for every host.
	maxAvailLanes = 64
)

// availBins counts each client host's operations (requests whose event
// names the host, probes) by time bin of their send time, one lane per
// host and channel, as a Collector reads them; and measures their
// outages.
type availBins struct {
	width float64 // of a bin, s
	nb    int
	lanes map[[2]string][]availBin // host, channel
	// left counts the operations of lanes beyond maxAvailLanes, not drawn.
	left  int
	meter *OutageMeter
}

// availBin is what one lane's operations did in one bin: a request's
// answer or failure in the bin it came (what the user saw then), a
// probe's in the bin it was sent, an unknown request's in the bin it
// was sent; waiting counts the requests sent in or before the bin and
// answered after it (a user waiting, with no answer yet).
type availBin struct {
	ok, unknown, waiting int
	fails                []classCount // by class, in order of first failure
	answers              []classCount // successes by the host that answered ("": not said)
}

// classCount is a count of one name.
type classCount struct {
	name string
	n    int
}

// bump adds one to name's count.
func bump(cs []classCount, name string) []classCount {
	for i := range cs {
		if cs[i].name == name {
			cs[i].n++
			return cs
		}
	}
	return append(cs, classCount{name, 1})
}

// availBinWidth returns the width of the availability bins of a run of
// span seconds: 100 ms, or the first of 0.2, 0.5, 1, 2, 5, 10 … s that
// cuts it into maxAvailBin bins at most.
func availBinWidth(span float64) float64 {
	for e := -1.0; e < 9; e++ {
		for _, m := range []float64{1, 2, 5} {
			if w := m * math.Pow(10, e); span/w <= maxAvailBin {
				return w
			}
		}
	}
	return 1e9
}

// newAvailBins returns empty lanes cut for a run of span seconds.
func newAvailBins(span float64) *availBins {
	w := availBinWidth(span)
	return &availBins{width: w, nb: max(1, int(math.Ceil(span/w-1e-9))), lanes: map[[2]string][]availBin{},
		meter: NewOutageMeter()}
}

// add counts one operation.
func (a *availBins) add(op clientOp) {
	a.meter.add(op)
	k := [2]string{op.host, op.channel}
	bins := a.lanes[k]
	if bins == nil {
		if len(a.lanes) >= maxAvailLanes {
			a.left++
			return
		}
		bins = make([]availBin, a.nb)
		a.lanes[k] = bins
	}
	bin := func(t history.Stamp) int { return max(0, min(a.nb-1, int(t.Seconds()/a.width))) }
	at := bin(op.sent)
	if op.channel == channelRequests && op.outcome != opUnknown {
		// A request counts when its outcome came, and its user waited in
		// the bins from its sending: a request sent during a takeover and answered
		// by the new master 3 s later was 3 s without an answer, not a
		// success when sent.
		at = bin(op.end)
		for i := bin(op.sent); i < at; i++ {
			bins[i].waiting++
		}
	}
	b := &bins[at]
	switch op.outcome {
	case opOK:
		b.ok++
		b.answers = bump(b.answers, op.answer)
	case opFailed:
		b.fails = bump(b.fails, op.class)
	default:
		b.unknown++
	}
}

// failColor is the colour of a failure class, as the outcome plot has
// it: an error class's, a 5xx code's.
func failColor(class string) color.Color {
	if c, ok := colErr[class]; ok {
		return c
	}
	if code, err := strconv.Atoi(class); err == nil {
		if c, ok := col5xx[code]; ok {
			return c
		}
		return col5xxOther[0]
	}
	return colErrOther
}

// inkOn returns the colour of a text written on fill: white on a dark
// fill, else the text colour.
func inkOn(fill color.Color) color.Color {
	r, g, b, _ := fill.RGBA()
	if 0.299*float64(r)+0.587*float64(g)+0.114*float64(b) < 0.55*0xffff {
		return color.White
	}
	return colText
}

// availLegend gathers the legend entries of the availability lanes, in
// the order they are first needed.
type availLegend struct {
	l       lang
	ok      bool
	hosts   []string // that answered a probe
	several bool
	classes []string
	unknown bool
	waiting bool
}

// entries returns the legend: successes, the hosts that answered, the
// failure classes, unknown.
func (g *availLegend) entries(tl *timeline) []legendEntry {
	var out []legendEntry
	if g.ok {
		out = append(out, legendEntry{i18n.T("ok").In(g.lang()), swatch(col2xx)})
	}
	slices.SortFunc(g.hosts, naturalCompare)
	for _, h := range g.hosts {
		out = append(out, legendEntry{i18n.T("answered by %s", h).In(g.lang()), swatch(tl.ownerFill(h))})
	}
	if g.several {
		out = append(out, legendEntry{i18n.T("answered by several hosts").In(g.lang()), swatch(colSplitBd)})
	}
	slices.Sort(g.classes)
	for _, c := range g.classes {
		out = append(out, legendEntry{i18n.T("failed: %s", c).In(g.lang()), swatch(failColor(c))})
	}
	if g.unknown {
		out = append(out, legendEntry{g.l.s("unknownOutcome"), swatch(colUnknownReq)})
	}
	if g.waiting {
		out = append(out, legendEntry{i18n.T("no answer yet (requests waiting)").In(g.lang()), swatch(colWaiting)})
	}
	return out
}

// lang returns the i18n language of the legend.
func (g *availLegend) lang() string { return i18nLang(g.l) }

// i18nLang returns the i18n language of l.
func i18nLang(l lang) string {
	if l.zh {
		return i18n.Chinese
	}
	return i18n.English
}

// okFill returns the fill and label of successes answered by answers:
// the answering host's colour (as the VIP's owner), magenta when several
// hosts answered, the success colour when no host was named.
func (g *availLegend) okFill(tl *timeline, answers []classCount) (color.Color, string) {
	var named []string
	for _, a := range answers {
		if a.name != "" {
			named = append(named, a.name)
		}
	}
	slices.SortFunc(named, naturalCompare)
	switch len(named) {
	case 0:
		g.ok = true
		return col2xx, ""
	case 1:
		if !slices.Contains(g.hosts, named[0]) {
			g.hosts = append(g.hosts, named[0])
		}
		return tl.ownerFill(named[0]), named[0]
	}
	g.several = true
	return colSplitBd, strings.Join(named, " + ")
}

// bar returns the bar of one bin from t0 to t1 and the key that says
// which neighbours it merges with ("" for a bar of several parts, which
// merges with none); ok is false for a bin with no operation.
func (g *availLegend) bar(tl *timeline, b availBin, t0, t1 float64) (tlBar, string, bool) {
	done := b.ok
	for _, f := range b.fails {
		done += f.n
		if !slices.Contains(g.classes, f.name) {
			g.classes = append(g.classes, f.name)
		}
	}
	switch {
	case done == 0 && b.unknown == 0 && b.waiting > 0:
		g.waiting = true
		return tlBar{from: t0, to: t1, fill: colWaiting, ink: colText}, "waiting", true
	case done == 0 && b.unknown == 0:
		return tlBar{}, "", false
	case done == 0:
		g.unknown = true
		return tlBar{from: t0, to: t1, fill: colUnknownReq, ink: colText}, "unknown", true
	case b.ok == 0 && len(b.fails) == 1:
		fill := failColor(b.fails[0].name)
		return tlBar{from: t0, to: t1, fill: fill, ink: inkOn(fill), label: b.fails[0].name}, "fail\x00" + b.fails[0].name, true
	case len(b.fails) == 0:
		fill, label := g.okFill(tl, b.answers)
		return tlBar{from: t0, to: t1, fill: fill, ink: inkOn(fill), label: label}, "ok\x00" + label, true
	}
	// Failures at the bottom (by class name), successes on top.
	fails := slices.Clone(b.fails)
	slices.SortFunc(fails, func(x, y classCount) int { return cmp.Compare(x.name, y.name) })
	var parts []tlPart
	for _, f := range fails {
		parts = append(parts, tlPart{frac: float64(f.n) / float64(done), fill: failColor(f.name)})
	}
	if b.ok > 0 {
		fill, _ := g.okFill(tl, b.answers)
		parts = append(parts, tlPart{frac: float64(b.ok) / float64(done), fill: fill})
	}
	return tlBar{from: t0, to: t1, stack: parts}, "", true
}

// tlLanes returns the availability lanes, one per client host and
// channel (its requests, then a thinner lane per probe kind), with the
// legend entries they need. Runs of bins alike are one bar.
func (a *availBins) tlLanes(tl *timeline) ([]tlLane, []legendEntry) {
	keys := make([][2]string, 0, len(a.lanes))
	for k := range a.lanes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y [2]string) int {
		if c := naturalCompare(x[0], y[0]); c != 0 {
			return c
		}
		if (x[1] == channelRequests) != (y[1] == channelRequests) {
			if x[1] == channelRequests {
				return -1
			}
			return 1
		}
		return cmp.Compare(x[1], y[1])
	})
	g := &availLegend{l: tl.l}
	lang := g.lang()
	var lanes []tlLane
	for _, k := range keys {
		lane := tlLane{avail: true, h: 1, name: i18n.T("%s requests", k[0]).In(lang)}
		if k[1] != channelRequests {
			lane.h, lane.name = probeLaneH, i18n.T("%s %s probes", k[0], k[1]).In(lang)
		}
		prev := ""
		for i, b := range a.lanes[k] {
			t0, t1 := float64(i)*a.width, float64(i+1)*a.width
			bar, key, ok := g.bar(tl, b, t0, t1)
			if !ok {
				prev = ""
				continue
			}
			if n := len(lane.bars); key != "" && key == prev && n > 0 && lane.bars[n-1].to == t0 {
				lane.bars[n-1].to = t1
				continue
			}
			lane.bars = append(lane.bars, bar)
			prev = key
		}
		lanes = append(lanes, lane)
	}
	return lanes, g.entries(tl)
}

// availabilityFigure draws each client host's availability lanes above
// the VRRP timeline (routers, their priorities, the VIPs' owners), the
// faults shaded across both; ok is false when the history has no
// client operation (a request naming its host, a probe).
func availabilityFigure(r Report) (figure, bool) {
	a := r.collected().avail
	if len(a.lanes) == 0 {
		return figure{}, false
	}
	tl := timelineOf(r)
	lanes, entries := a.tlLanes(tl)
	if len(tl.lanes) > 0 {
		lanes = append(lanes, tlLane{spacer: true, h: spacerLaneH})
	}
	tl.lanes = append(lanes, tl.lanes...)
	tl.place(r.Marks)
	title := tl.title(r, i18n.T("Availability of each client over time, over the VRRP timeline").In(i18nLang(tl.l)))
	return tl.figure(availabilityName, title, entries), true
}

// availabilityCaption is the availability figure's caption in l.
// discarded adds a sentence for the table of discarded adverts under it,
// left one for the operations of lanes not drawn.
func availabilityCaption(l lang, width float64, discarded bool, left int) string {
	caption := i18n.T("Each client host's requests and probes per %s s: a lane per host for its requests, "+
		"a thinner one per probe kind under it. A request is drawn in the bin its answer or failure came, as its user saw it, "+
		"and the bins it waited through before are grey (no answer yet); a probe in the bin it was sent. A bin is coloured by what happened in it: "+
		"successes (by the node that answered, when the history names it, in that node's colour as the VIP's owner; magenta when several answered), "+
		"failures by class, and requests still in flight at the end, whose outcome is unknown (neither ok nor failed), at their sending; "+
		"a bin where some failed and some succeeded is split in proportion, failures at the bottom; an empty bin had no operation. "+
		"Under the clients, the VRRP timeline: each router's state, its effective priority, and the owner of each VIP. "+
		"Dashed red lines are faults; shaded spans last until the fault is undone.", fmtNum(width)).In(i18nLang(l))
	if left > 0 {
		caption += i18n.T(" Only the first %d lanes are drawn: %d operations of other client hosts are not.", maxAvailLanes, left).In(i18nLang(l))
	}
	if discarded {
		caption += i18n.T(" Some adverts were discarded: the table counts them by cause and router " +
			"(keepalived's counter names), as the routers reported at the end of the run.").In(i18nLang(l))
	}
	return caption
}

// outageView is the availability section's text: the outage of each
// client host beside the figure.
type outageView struct {
	Heading, Intro string
	Head           []string
	Rows           [][]cellView
}

// cellView is a cell of a table; Num right-aligns a number.
type cellView struct {
	Text string
	Num  bool
}

// outageSection returns the availability section's text for the
// outages of r's client hosts.
func outageSection(l lang, r Report) *outageView {
	lng := i18nLang(l)
	outs := r.collected().Outages(time.Duration(runEnd(r) * float64(time.Second)))
	v := &outageView{
		Heading: i18n.T("Availability as the clients saw it").In(lng),
		Intro: i18n.T("Outage of each client host: the longest time between two of its requests' successes (each when its answer came) " +
			"that a failed request overlaps, from its send to its end; a host that sent no request is measured on its probes, " +
			"tcp before icmp (a node answers icmp even when its proxy is dead). Requests still in flight at the end are neither successes nor failures. " +
			"results.json has it as outage_s_HOST, the worst as outage_s; a run that ends in an outage gives its lower bound (≥).").In(lng),
		Head: []string{i18n.T("client").In(lng), i18n.T("measured on").In(lng), i18n.T("outage (s)").In(lng),
			i18n.T("from (s)").In(lng), i18n.T("to (s)").In(lng), i18n.T("failures in it").In(lng),
			i18n.T("connections reset").In(lng), i18n.T("other channels").In(lng)},
	}
	v.Intro += i18n.T(" Connections reset: the operations over the whole run that met a reset, failed with one or " +
		"(a request) reset on a reused kept-alive connection and sent once more on a new one, as clients do; " +
		"results.json sums the hosts' requests as connections_reset.").In(lng)
	v.Intro += i18n.T(" A host's failed probes are failures of its requests' outage too (only a request's success ends it), " +
		"listed as \"probe KIND CLASS\"; an answer with a 4xx or 5xx status is a failed request. " +
		"The labs' outage checks read the same outages.").In(lng)
	for i := 0; i < len(outs); {
		o := outs[i]
		j := i + 1
		var others []string
		for ; j < len(outs) && outs[j].Client == o.Client; j++ {
			others = append(others, i18n.T("%s: %v", channelText(lng, outs[j].Channel), outageText(lng, outs[j])).In(lng))
		}
		i = j
		from, to := "—", "—"
		if o.failed() {
			from, to = fmtSeconds(o.From), fmtSeconds(o.To)
		}
		var byClass []string
		for _, c := range classesOf(o.ByClass) {
			byClass = append(byClass, c+" × "+strconv.Itoa(o.ByClass[c]))
		}
		for _, c := range classesOf(o.ProbesByClass) {
			byClass = append(byClass, i18n.T("probe %s", c).In(lng)+" × "+strconv.Itoa(o.ProbesByClass[c]))
		}
		sep := l.s("listSep")
		v.Rows = append(v.Rows, []cellView{{Text: o.Client}, {Text: channelText(lng, o.Channel)}, {Text: outageText(lng, o), Num: true},
			{Text: from, Num: true}, {Text: to, Num: true}, {Text: orDash(strings.Join(byClass, sep))},
			{Text: strconv.Itoa(o.Resets), Num: true}, {Text: orDash(strings.Join(others, sep))}})
	}
	return v
}

// channelText names a channel in lng: requests, or the probe's kind.
func channelText(lng, channel string) string {
	if channel == channelRequests {
		return i18n.T("requests").In(lng)
	}
	return i18n.T("%s probes", channel).In(lng)
}

// outageText writes an outage's length: seconds, "≥ s (no success
// before the end)" when open, "0 (nothing failed)".
func outageText(lng string, o Outage) string {
	switch {
	case !o.failed():
		return i18n.T("0 (nothing failed)").In(lng)
	case o.Open:
		return i18n.T("≥ %s (no success before the end)", fmtSeconds(o.To-o.From)).In(lng)
	}
	return fmtSeconds(o.To - o.From)
}

// orDash returns s, or "—" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
