package reports

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// haRun is a synthetic history of an HA pair over 30 s: lb1 is MASTER
// (priority 100) and holds the VIP until it crashes at 10 s; lb2
// (priority 90) takes over at 13.3 s; lb1 comes back at 20 s as BACKUP.
// Client c1 sends 20 requests a second to the VIP: answered in 5 ms
// before the crash; those sent in [10, 13.3) time out 1 s after they
// were sent; the first three sent from 13.3 on are reset (keep-alive
// connections to the dead node), the others answered; those sent in the
// last 0.5 s are still in flight at the end. The events of the requests
// answered after the takeover name the node that served them (lb2); the
// others do not. Clients c1 and c2 probe the
// VIP (icmp and tcp) every 100 ms: answered by the VIP's owner in
// 0.4 ms (RTT), timing out after 1 s (Start: when it was sent) while
// nobody holds it. With split set, c2's probes are answered in
// turn by lb1 and lb2 from 20 s on (two masters).
func haRun(split bool) []history.Event {
	var evs []history.Event
	ms := func(v float64) history.Stamp { return history.Stamp(time.Duration(v * float64(time.Millisecond))) }
	yes, no := true, false
	evs = append(evs,
		history.Event{T: 0, Kind: history.KindVRRP, Router: "lb1", VRID: 51, From: "INIT", To: "MASTER", Priority: 100},
		history.Event{T: 0, Kind: history.KindVRRP, Router: "lb2", VRID: 51, From: "INIT", To: "BACKUP", Priority: 90},
		history.Event{T: 0, Kind: history.KindVIP, VIP: "10.0.0.100", Owner: "lb1"},
		history.Event{T: ms(10000), Kind: history.KindFault, Fault: "crash", Target: "lb1", Name: "crash lb1"},
		history.Event{T: ms(10000), Kind: history.KindVRRP, Router: "lb1", VRID: 51, From: "MASTER", To: "STOP", Reason: "host crashed"},
		history.Event{T: ms(10000), Kind: history.KindVIP, VIP: "10.0.0.100", Owner: "", Prev: "lb1"},
		history.Event{T: ms(13300), Kind: history.KindVRRP, Router: "lb2", VRID: 51, From: "BACKUP", To: "MASTER", Priority: 90},
		history.Event{T: ms(13300), Kind: history.KindVIP, VIP: "10.0.0.100", Owner: "lb2"},
		history.Event{T: ms(20000), Kind: history.KindFault, Fault: "restore", Target: "lb1", Name: "restore lb1"},
		history.Event{T: ms(20000), Kind: history.KindVRRP, Router: "lb1", VRID: 51, From: "STOP", To: "BACKUP", Priority: 100},
	)
	resets := 0
	for i := range 600 {
		sent := ms(float64(i) * 50)
		e := history.Event{Kind: history.KindRequest, Src: "c1", Client: "10.0.0.11", Listener: "web", Group: "web", Start: sent}
		switch {
		case sent >= ms(29500):
			e.T, e.Error, e.Latency = ms(30000), inFlightError, ms(30000)-sent
		case sent >= ms(10000) && sent < ms(13300):
			e.T, e.Error, e.Latency = sent+ms(1000), "timeout", ms(1000)
		case sent >= ms(13300) && resets < 3:
			resets++
			e.T, e.Error, e.Latency = sent+ms(1), "reset", ms(1)
		default:
			e.T, e.Status, e.Backend, e.Latency = sent+ms(5), 200, "web1:8080", ms(5)
			if sent >= ms(13300) {
				e.Answer = "lb2" // the node that served it, from the takeover on
			}
		}
		evs = append(evs, e)
	}
	for _, host := range []string{"c1", "c2"} {
		for i := range 300 {
			sent := ms(float64(i)*100 + 7)
			for _, kind := range []string{"icmp", "tcp"} {
				e := history.Event{Kind: history.KindNet, Src: host, Dst: "10.0.0.100", Probe: kind}
				if kind == "tcp" {
					e.Dst += ":80"
				}
				owner := "lb1"
				switch {
				case sent >= ms(10000) && sent < ms(13300):
					owner = ""
				case sent >= ms(13300):
					owner = "lb2"
				}
				if split && host == "c2" && sent >= ms(20000) && i%2 == 0 {
					owner = "lb1"
				}
				if owner == "" {
					e.T, e.OK, e.Error, e.Start = sent+ms(1000), &no, "timeout", sent
				} else {
					e.T, e.OK, e.Answer, e.RTT = sent+ms(0.4), &yes, owner, ms(0.4)
				}
				evs = append(evs, e)
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
	return evs
}

// haReport is a report of haRun.
func haReport(split bool, lang string) Report {
	return Report{Lab: "ha-synthetic", Title: "HA pair", Lang: lang, History: haRun(split), Duration: 30 * time.Second}
}

// outageOf returns the outage of host on channel.
func outageOf(t *testing.T, outs []Outage, host, channel string) Outage {
	t.Helper()
	for _, o := range outs {
		if o.Client == host && o.Channel == channel {
			return o
		}
	}
	t.Fatalf("no outage of %s on %s in %+v", host, channel, outs)
	return Outage{}
}

// The crash: c1's outage runs from the last success before it (sent
// at 9.95 s, answered at 9.955 s) to the first after it (sent at 13.45 s,
// after three resets, answered 5 ms later); the timeouts and the resets
// overlap it; the requests in flight at the end are not failures. Its
// probes measure their own outage beside it, and c2, which sent no
// request, is measured on its tcp probes.
func TestOutagesOfACrash(t *testing.T) {
	outs := Outages(haRun(false), 30*time.Second)
	c1 := outageOf(t, outs, "c1", "requests")
	if !c1.Primary || c1.Open || c1.From != 9955*time.Millisecond || c1.To != 13455*time.Millisecond {
		t.Errorf("c1 requests: %+v, want primary, from 9.955 s to 13.455 s, closed", c1)
	}
	if c1.ByClass["timeout"] != 66 || c1.ByClass["reset"] != 3 || len(c1.ByClass) != 2 {
		t.Errorf("c1 requests: by class %v; want 66 timeouts, 3 resets", c1.ByClass)
	}
	if c1.Unknown != 10 || c1.Failures != 69 || c1.Sent != 600 {
		t.Errorf("c1 requests: sent %d, failed %d, unknown %d; want 600, 69, 10", c1.Sent, c1.Failures, c1.Unknown)
	}
	// c1's last tcp probe answered before the crash was sent at 9.907 s,
	// the first after it at 13.307 s (0.4 ms each); 33 timed out between.
	tcp := outageOf(t, outs, "c1", "tcp")
	if tcp.Primary || tcp.From != 9907400*time.Microsecond || tcp.To != 13307400*time.Microsecond || tcp.ByClass["timeout"] != 33 {
		t.Errorf("c1 tcp: %+v", tcp)
	}
	c2 := outageOf(t, outs, "c2", "tcp")
	if !c2.Primary || outageOf(t, outs, "c2", "icmp").Primary {
		t.Errorf("c2: the tcp probes measure its outage, not icmp: %+v", outs)
	}
	m := OutageMetrics(outs)
	if got, want := m["outage_s_c1"], 3.5; got != want {
		t.Errorf("outage_s_c1 = %v, want %v", got, want)
	}
	if got, want := m["outage_s"], 3.5; got != want || m["outage_s_c2"] != 3.4 {
		t.Errorf("outage_s = %v, want the worst, c1's %v (c2: %v, want 3.4)", got, want, m["outage_s_c2"])
	}
	if _, ok := m["outage_lower_bound_s"]; ok {
		t.Errorf("a lower bound for a decided outage: %v", m)
	}
}

// The outage is the longest span between successes that a failure
// overlaps, not the first; a request sent just before the others that
// fails long after them does not start it early; a run that ends in an
// outage leaves it open: null in results.json, with how long it lasted
// at least; requests still in flight at the end neither fail nor end it.
func TestOutageLongestAndOpen(t *testing.T) {
	req := func(sent, end float64, status int, errClass string) history.Event {
		return history.Event{T: sec(end), Kind: history.KindRequest, Src: "c9", Start: sec(sent), Latency: sec(end - sent),
			Status: status, Error: errClass}
	}
	run := func(evs ...history.Event) []Outage {
		slices.SortStableFunc(evs, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
		return Outages(evs, 10*time.Second)
	}
	base := []history.Event{
		req(1, 1.01, 200, ""),
		req(2, 2.01, 502, ""),     // a short outage: 1.01 to 3.01
		req(3, 3.01, 200, ""),     //
		req(3.5, 6.5, 0, "reset"), // sent before the last success, fails at 6.5 s
		req(3.6, 3.61, 200, ""),   // the users' last success: 3.61 s
		req(4, 4.01, 0, "reset"),  // the long one: 3.61 to 7.01
		req(5, 6, 0, "timeout"),
		req(7, 7.01, 200, ""),
		req(8, 10, 0, inFlightError), // unknown: not a failure
	}
	o := outageOf(t, run(base...), "c9", "requests")
	if o.From != 3610*time.Millisecond || o.To != 7010*time.Millisecond || o.Open ||
		o.ByClass["reset"] != 2 || o.ByClass["timeout"] != 1 || o.ByClass["502"] != 0 {
		t.Errorf("%+v: want from 3.61 s to 7.01 s (two resets, one timeout), closed", o)
	}
	// Without the success at 7 s, the run ends in the outage.
	outs := run(slices.DeleteFunc(slices.Clone(base), func(e history.Event) bool { return e.Start == sec(7) })...)
	o = outageOf(t, outs, "c9", "requests")
	if !o.Open || o.From != 3610*time.Millisecond || o.To != 10*time.Second {
		t.Errorf("%+v: want open from 3.61 s to the end (10 s)", o)
	}
	m := OutageMetrics(outs)
	if v, ok := m["outage_s_c9"]; !ok || v != nil || m["outage_lower_bound_s_c9"] != 6.39 || m["outage_s"] != nil || m["outage_lower_bound_s"] != 6.39 {
		t.Errorf("metrics %v: want outage_s_c9 and outage_s null, lower bounds 6.39", m)
	}
	// Only requests in flight at the end: nothing failed.
	o = outageOf(t, run(req(7, 10, 0, inFlightError)), "c9", "requests")
	if s, decided := o.Seconds(); o.Failures != 0 || s != 0 || !decided {
		t.Errorf("%+v: an unknown request is no failure", o)
	}
	if m := OutageMetrics(Outages(nil, time.Second)); len(m) != 0 {
		t.Errorf("metrics without clients: %v", m)
	}
}

// lanesOf builds the availability lanes of a report, by name.
func lanesOf(t *testing.T, r Report) (map[string]tlLane, *timeline) {
	t.Helper()
	tl := timelineOf(r)
	lanes, _ := r.collected().avail.tlLanes(tl)
	out := map[string]tlLane{}
	for _, l := range lanes {
		out[l.name] = l
	}
	return out, tl
}

// barAt returns the bar of lane l at time t.
func barAt(l tlLane, t float64) (tlBar, bool) {
	for _, b := range l.bars {
		if b.from <= t && t < b.to {
			return b, true
		}
	}
	return tlBar{}, false
}

// The lanes: c1's requests ok, then timing out, the bin with the resets
// and the first successes split in proportion, ok again, and unknown at
// the end (not failed); the probes coloured by the node that answered,
// as that node is as the VIP's owner.
func TestAvailabilityLanes(t *testing.T) {
	lanes, tl := lanesOf(t, haReport(false, LangEnglish))
	req, ok := lanes["c1 requests"]
	if !ok || req.h != 1 {
		t.Fatalf("no lane c1 requests of height 1: %v", lanes)
	}
	if _, ok := lanes["c2 requests"]; ok {
		t.Error("c2 sent no request but has a request lane")
	}
	for _, tt := range []struct {
		at    float64
		fill  any
		label string
	}{
		{5, col2xx, ""},
		{11, failColor("timeout"), "timeout"},
		{20, tl.ownerFill("lb2"), "lb2"},
		{29.7, colUnknownReq, ""},
	} {
		b, ok := barAt(req, tt.at)
		if !ok || b.fill != tt.fill || b.label != tt.label {
			t.Errorf("c1 requests at %v s: %+v, want fill %v label %q", tt.at, b, tt.fill, tt.label)
		}
	}
	// One bar from 0 to 10 s: bins alike are merged.
	if b, _ := barAt(req, 0); b.from != 0 || b.to != 10 {
		t.Errorf("c1's first bar %v..%v, want 0..10", b.from, b.to)
	}
	// 13.3–13.4 s: two requests sent, 13.30 (reset), 13.35 (reset);
	// 13.4–13.5: 13.40 (reset), 13.45 (ok): half reset, half ok.
	b, _ := barAt(req, 13.45)
	if len(b.stack) != 2 || b.stack[0].fill != failColor("reset") || b.stack[0].frac != 0.5 || b.stack[1].fill != tl.ownerFill("lb2") {
		t.Errorf("c1 at 13.45 s: %+v, want half reset (bottom), half ok", b)
	}
	icmp := lanes["c2 icmp probes"]
	if icmp.h != probeLaneH {
		t.Errorf("c2 icmp lane height %v", icmp.h)
	}
	for at, node := range map[float64]string{5: "lb1", 20: "lb2"} {
		b, _ := barAt(icmp, at)
		if b.label != node || b.fill != tl.ownerFill(node) {
			t.Errorf("c2 icmp at %v s: %+v, want %s in its VIP colour %v", at, b, node, tl.ownerFill(node))
		}
	}
}

// A split brain: c2's probes answered by lb1 and lb2 in turn, each bin
// (one probe of each kind in 100 ms) in the colour of its node.
func TestAvailabilityTwoNodesInTurn(t *testing.T) {
	lanes, tl := lanesOf(t, haReport(true, LangEnglish))
	tcp := lanes["c2 tcp probes"]
	seen := map[string]int{}
	for _, b := range tcp.bars {
		if b.from >= 20 {
			seen[b.label]++
			if b.fill != tl.ownerFill(b.label) {
				t.Errorf("bar %+v not in %s's colour", b, b.label)
			}
		}
	}
	if seen["lb1"] < 40 || seen["lb2"] < 40 || len(seen) != 2 {
		t.Errorf("bars from 20 s by node: %v, want lb1 and lb2 in turn (50 each)", seen)
	}
}

// The report of an HA run has the availability section, in English and
// in Chinese, with the outages as text and the figure (in place of the
// timeline), whose lanes and legend say what they show.
func TestAvailabilitySection(t *testing.T) {
	for _, lang := range []string{LangEnglish, LangChinese} {
		dir := t.TempDir()
		path, err := Write(dir, haReport(true, lang))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		if _, err := os.Stat(filepath.Join(dir, "timeline.png")); err == nil {
			t.Errorf("%s: timeline.png beside the availability figure, which holds it", lang)
		}
		for _, f := range []string{"availability.png", "availability.svg"} {
			if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
				t.Errorf("%s: %s: %v", lang, f, err)
			}
		}
		texts := svgTexts(t, filepath.Join(dir, "availability.svg"))
		want := []string{"Availability as the clients saw it", "<td>c1</td><td>requests</td><td class=\"num\">3.5</td>",
			"timeout × 66, reset × 3", "tcp probes: 3.4, icmp probes: 3.4"}
		wantSVG := []string{"c1 requests", "c2 tcp probes", "answered by lb1", "failed: timeout", "MASTER", "VIP 10.0.0.100", "priority"}
		if lang == LangChinese {
			want = []string{"客户端看到的可用性", "<td>c1</td><td>请求</td><td class=\"num\">3.5</td>", "timeout × 66、reset × 3",
				"tcp 探测：3.4、icmp 探测：3.4", "中断时长 (秒)"}
			wantSVG = []string{"c1 的请求", "c2 的 tcp 探测", "由 lb1 应答", "失败：timeout", "MASTER", "虚拟IP 10.0.0.100", "优先级"}
			for _, en := range []string{"Availability as", "answered by", "requests", "outage (s)"} {
				if strings.Contains(page, en) {
					t.Errorf("zh: the page has the English %q", en)
				}
			}
		}
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the page lacks %q", lang, w)
			}
		}
		for _, w := range wantSVG {
			if !hasText(texts, w) {
				t.Errorf("%s: the figure has no text %q: %q", lang, w, texts)
			}
		}
	}
}

// A history naming many client hosts draws maxAvailLanes lanes at most
// (bounded memory) and says how many operations it left out; the
// outages are measured for every host.
func TestAvailabilityLanesBounded(t *testing.T) {
	var evs []history.Event
	for i := range 200 {
		evs = append(evs, history.Event{T: sec(float64(i) * 0.01), Kind: history.KindRequest, Src: "h" + strconv.Itoa(i),
			Start: sec(float64(i) * 0.01), Status: 200})
	}
	c := collect(evs, 10)
	if len(c.avail.lanes) != maxAvailLanes || c.avail.left != 200-maxAvailLanes {
		t.Errorf("%d lanes, %d operations left out; want %d and %d", len(c.avail.lanes), c.avail.left, maxAvailLanes, 200-maxAvailLanes)
	}
	if n := len(c.Outages(10 * time.Second)); n != 200 {
		t.Errorf("%d outages, want one per host (200)", n)
	}
	if !strings.Contains(availabilityCaption(langOf(LangEnglish), 0.1, false, c.avail.left), "136 operations of other client hosts") {
		t.Error("the caption does not say what it left out")
	}
}

// A run that streams its history through a Collector (WriteRunCollected,
// as lblab run and lblab report DIR draw it) gets the same availability
// figure and section as one drawn from the whole history.
func TestAvailabilityStreamed(t *testing.T) {
	evs := haRun(true)
	res := Results{Lab: "ha-synthetic", Mode: "sim", Seed: 1}
	in := Inputs{Lab: "ha-synthetic", Lang: LangEnglish, Title: "HA pair", Duration: 30 * time.Second}
	whole, streamed := t.TempDir(), t.TempDir()
	if _, err := WriteRun(whole, res, in, evs); err != nil {
		t.Fatal(err)
	}
	c := NewCollector(in.Duration.Seconds())
	for _, e := range evs {
		c.Add(e)
	}
	if _, err := WriteRunCollected(streamed, res, in, c); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"availability.svg", "report.html"} {
		a, err := os.ReadFile(filepath.Join(whole, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(streamed, f))
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Errorf("%s differs between the whole history and the streamed one", f)
		}
	}
}
