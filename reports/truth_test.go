package reports

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// svgTexts returns the texts an SVG file draws, in order.
func svgTexts(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?s)<text[^>]*>(.*?)</text>`).FindAllStringSubmatch(string(b), -1) {
		out = append(out, html.UnescapeString(strings.TrimSpace(m[1])))
	}
	return out
}

// hasText reports whether one of texts contains want.
func hasText(texts []string, want string) bool {
	for _, s := range texts {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

// twoGroupsInFlight is a run of two groups (rr and least_conn) on one
// listener each, where every request answered 200 and three were still
// in flight at the end (the history records those without a group, as
// the simulator's clients do).
func twoGroupsInFlight() Report {
	var evs []history.Event
	for i := range 200 {
		g, l := "rr", "web"
		if i%2 == 1 {
			g, l = "least_conn", "api"
		}
		start := sec(float64(i) * 0.1)
		lat := sec(0.004 + 0.002*float64(i%7))
		evs = append(evs, history.Event{T: start + lat, Kind: history.KindRequest, Listener: l, Group: g,
			Backend: "s1", Status: 200, Start: start, Latency: lat, Tries: 1})
	}
	for i, l := range []string{"web", "web", "api"} {
		start := sec(19.9 + 0.02*float64(i))
		evs = append(evs, history.Event{T: sec(20), Kind: history.KindRequest, Listener: l, Error: "in_flight",
			Start: start, Latency: sec(20) - start})
	}
	return Report{Lab: "least-conn-vs-round-robin", Results: Results{Lab: "least-conn-vs-round-robin", Mode: "sim", Passed: true},
		History: evs, Duration: 20 * time.Second}
}

// Requests still in flight at the end are their own outcome, unknown: not
// failures, in the latency plot, the statuses plot and the outcome table.
func TestInFlightIsUnknownNotFailed(t *testing.T) {
	dir := t.TempDir()
	path, err := Write(dir, twoGroupsInFlight())
	if err != nil {
		t.Fatal(err)
	}
	lat := svgTexts(t, filepath.Join(dir, latencyName+".svg"))
	if !hasText(lat, "failed: 5xx or no answer (all 0)") {
		t.Errorf("latency legend does not say no request failed: %q", lat)
	}
	if !hasText(lat, "unknown: in flight at the end (all 3)") {
		t.Errorf("latency legend has no unknown entry: %q", lat)
	}
	st := svgTexts(t, filepath.Join(dir, statusesName+".svg"))
	if !hasText(st, "unknown (in flight at the end): 3") {
		t.Errorf("statuses legend has no unknown entry: %q", st)
	}
	if hasText(st, "no answer") {
		t.Errorf("statuses legend counts in-flight requests as unanswered: %q", st)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The outcome table: per group, ok / failed / unknown and the success
	// ratio (the three in-flight requests fall in their listener's group).
	for _, want := range []string{
		"<td>group rr</td><td class=\"num\">102</td><td class=\"num\">100</td><td class=\"num\">0</td><td class=\"num\">2</td>",
		"<td>group least_conn</td><td class=\"num\">101</td><td class=\"num\">100</td><td class=\"num\">0</td><td class=\"num\">1</td>",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report.html lacks the outcome row %s", want)
		}
	}
	d, _ := buildLB(twoGroupsInFlight())
	ok, failed, unknown := 0, 0, 0
	for _, gr := range d.reqs.groups {
		ok, failed, unknown = ok+len(gr.okDrawn(maxLatencyDots)), failed+len(gr.failedAt), unknown+len(gr.unknown)
	}
	if ok != 200 || failed != 0 || unknown != 3 {
		t.Errorf("downsample: %d ok, %d failed, %d unknown; want 200, 0, 3", ok, failed, unknown)
	}
}

// A run with several groups draws one latency panel and one statuses
// panel per group, each titled with its group, over one time axis.
func TestPanelPerGroup(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, twoGroupsInFlight()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{latencyName, statusesName} {
		texts := svgTexts(t, filepath.Join(dir, name+".svg"))
		for _, g := range []string{"group rr", "group least_conn"} {
			n := 0
			for _, s := range texts {
				if s == g {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s.svg: %d panel titles %q, want 1", name, n, g)
			}
		}
		n := 0
		for _, s := range texts {
			if s == "time (s)" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s.svg: %d time axes labelled, want 1 (shared)", name, n)
		}
	}
	// One group: one untitled panel.
	r := twoGroupsInFlight()
	for i := range r.History {
		r.History[i].Group = ""
	}
	d, _ := buildLB(r)
	if g := d.panelGroups(); len(g) != 1 || panelTitle(lang{}, g[0]) != "" {
		t.Errorf("one group: panels %q", g)
	}
}

// The bottom of the latency axis carries a label with its value.
func TestLatencyAxisMinLabelled(t *testing.T) {
	for _, tc := range []struct{ lo, hi float64 }{{0.16, 80}, {3.2, 5000}, {0.8, 1.9}, {12, 13}} {
		p := newPlot("")
		logAxis(&p.Y, tc.lo, tc.hi)
		ticks := p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max)
		found := false
		for _, tk := range ticks {
			if tk.Label != "" && math.Abs(tk.Value-p.Y.Min) <= 0.01*(p.Y.Max-p.Y.Min) {
				found = true
			}
		}
		if !found {
			t.Errorf("[%g, %g]: no label at the bottom of the axis: %v", tc.lo, tc.hi, ticks)
		}
	}
	if got := fmtSig(0.1638, 2); got != "0.16" {
		t.Errorf("fmtSig(0.1638, 2) = %q", got)
	}
	if got := fmtSig(1234, 2); got != "1200" {
		t.Errorf("fmtSig(1234, 2) = %q", got)
	}
	_ = fmt.Sprint
}

// Teaching text: paragraphs, and "- item" lines as a list; everything
// else escaped.
func TestTeachingLists(t *testing.T) {
	in := "Two ways to fail:\n\n- a server `crashes`\n  and stays down\n* a check <fails>\n\nThen r1 & r2 agree.\n- one more"
	var got []string
	for _, b := range teachingHTML(in) {
		got = append(got, string(b))
	}
	want := []string{
		"<p>Two ways to fail:</p>",
		"<ul><li>a server <code>crashes</code>\nand stays down</li><li>a check &lt;fails&gt;</li></ul>",
		"<p>Then r1 &amp; r2 agree.</p>",
		"<ul><li>one more</li></ul>",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("teachingHTML:\n got %q\nwant %q", got, want)
	}
	dir := t.TempDir()
	path, err := Write(dir, Report{Lab: "x", Teaching: in, History: failoverHistory(), Duration: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), want[1]) || strings.Contains(string(b), "<p><ul>") {
		t.Errorf("report.html does not render the list as a list")
	}
}

// Numbered lists become <ol> (from their first number); as in CommonMark
// only "1." starts one inside a paragraph, so "150. So" in a sentence
// stays text, and a bullet after a numbered item starts a new list.
func TestTeachingNumberedLists(t *testing.T) {
	in := "Steps:\n1. one `x`\n2) two\n   continued\n- a bullet\n\n3. three\n4. four\n\npriority\n150. So it stays text."
	var got []string
	for _, b := range teachingHTML(in) {
		got = append(got, string(b))
	}
	want := []string{
		"<p>Steps:</p>",
		"<ol><li>one <code>x</code></li><li>two\ncontinued</li></ol>",
		"<ul><li>a bullet</li></ul>",
		`<ol start="3"><li>three</li><li>four</li></ol>`,
		"<p>priority\n150. So it stays text.</p>",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("teachingHTML:\n got %q\nwant %q", got, want)
	}
}

// The throughput plot: offered rate by intended send time, achieved by
// end time; requests in flight at the end are offered, never achieved.
func TestThroughputRates(t *testing.T) {
	d, ok := buildLB(twoGroupsInFlight())
	if !ok {
		t.Fatal("no data")
	}
	r := throughputRates(d)
	offered, achieved, failed := 0.0, 0.0, 0.0
	for b := range r.xs {
		w := min(d.bucket, d.end-float64(b)*d.bucket)
		offered += r.offered[b] * w
		achieved += r.achieved[b] * w
		failed += r.failed[b] * w
	}
	if math.Round(offered) != 203 || math.Round(achieved) != 200 || math.Round(failed) != 0 {
		t.Errorf("offered %g, achieved %g, failed %g; want 203, 200, 0", offered, achieved, failed)
	}
	// 10 requests a second in every full bucket.
	if got := r.offered[2]; math.Abs(got-10) > 1e-9 {
		t.Errorf("offered rate in bucket 2 = %g/s, want 10/s", got)
	}
	dir := t.TempDir()
	if _, err := Write(dir, twoGroupsInFlight()); err != nil {
		t.Fatal(err)
	}
	if !hasText(svgTexts(t, filepath.Join(dir, throughputName+".svg")), "offered (by intended send time)") {
		t.Error("throughput.svg has no offered line in its legend")
	}
}

// The percentile table gives the mean beside the percentiles; group rr
// has two requests still in flight at the end, so its mean is at least
// the mean with each at its lower bound (the time until the end), and
// has no upper bound.
func TestPercentileTableMean(t *testing.T) {
	r := twoGroupsInFlight()
	d, _ := buildLB(r)
	_, table, ok := percentilesFigure(d)
	if !ok {
		t.Fatal("no percentile figure")
	}
	if table.Head[2] != "mean (ms)" {
		t.Fatalf("head %q", table.Head)
	}
	sum, n := 0.0, 0
	for i := range r.History {
		if q := reqOf(&r.History[i]); q.group == "rr" || q.listener == "web" {
			sum += q.lat * 1e3
			n++
		}
	}
	if n != 102 {
		t.Fatalf("group rr has %d requests, want 100 answered and 2 unknown", n)
	}
	want := "≥ " + fmtNum(math.Round(sum/float64(n)*1e3)/1e3)
	for _, row := range table.Rows {
		if row[0] == "group rr" && row[2] != want {
			t.Errorf("mean of group rr = %s ms, want %s ms", row[2], want)
		}
	}
}

// splitBrainHistory: r1 master; a partition at 10 s makes r2 master too
// until the heal at 20 s, when r2 yields. r3 is stopped cleanly at 25 s,
// r1's priority drops at 30 s (a track script), r2 is crashed at 32 s.
// The routers discarded adverts with a wrong password.
func splitBrainHistory() []history.Event {
	ev := func(t float64, router, from, to string, prio int, reason string) history.Event {
		e := vrrpEv(t, router, from, to, prio, reason)
		return e
	}
	part := faultEv(10, "partition", "lan")
	part.Name = "cut the LAN in two"
	crash := faultEv(32, "crash", "r2")
	return []history.Event{
		ev(0, "r1", "INIT", "BACKUP", 150, "startup"),
		ev(0, "r2", "INIT", "BACKUP", 100, "startup"),
		ev(0, "r3", "INIT", "BACKUP", 50, "startup"),
		ev(3.4, "r1", "BACKUP", "MASTER", 150, "master down timer expired"),
		vipEv(3.4, "r1", ""),
		part,
		ev(13.6, "r2", "BACKUP", "MASTER", 100, "master down timer expired"),
		vipEv(13.6, "r2", "r1"),
		faultEv(20, "heal", "lan"),
		ev(20.1, "r2", "MASTER", "BACKUP", 100, "advert with higher priority 150"),
		vipEv(20.1, "r1", "r2"),
		faultEv(25, "stop", "r3"),
		ev(25, "r3", "BACKUP", "STOP", 50, "shutdown"),
		ev(30, "r1", "MASTER", "MASTER", 90, "track script chk failed"),
		crash,
		ev(32, "r2", "BACKUP", "STOP", 100, "host crashed"),
		{T: sec(40), Kind: history.KindVRRPStats, Router: "r2", Instance: "VI_1", VRID: 51, Counter: "auth_failure", Count: 7},
		{T: sec(40), Kind: history.KindVRRPStats, Router: "r1", Instance: "VI_1", VRID: 51, Counter: "advert_sent", Count: 40},
		{T: sec(40), Kind: history.KindVRRPStats, Router: "r1", Instance: "VI_1", VRID: 51, Counter: "auth_failure", Count: 3},
	}
}

// The VRRP timeline tells a split brain, priorities, crash from stop, the
// fault's own name and the adverts discarded.
func TestTimelineTruth(t *testing.T) {
	r := Report{Lab: "split", History: splitBrainHistory(), Duration: 40 * time.Second}
	tl, ok := buildTimeline(r)
	if !ok {
		t.Fatal("no timeline")
	}
	// Split brain from 13.6 s to 20.1 s, r1 and r2 both MASTER.
	if len(tl.splits) != 1 || math.Abs(tl.splits[0].from-13.6) > 1e-9 || math.Abs(tl.splits[0].to-20.1) > 1e-9 ||
		strings.Join(tl.splits[0].masters, ",") != "r1,r2" {
		t.Errorf("splits = %+v, want one [13.6, 20.1) of r1,r2", tl.splits)
	}
	lane := func(name string) *tlLane {
		for i := range tl.lanes {
			if tl.lanes[i].name == name {
				return &tl.lanes[i]
			}
		}
		t.Fatalf("no lane %q", name)
		return nil
	}
	// The VIP row names both owners during the split brain.
	var vip []string
	for _, b := range lane("VIP 10.77.0.100").bars {
		vip = append(vip, fmt.Sprintf("%s@%g", b.label, b.from))
	}
	if got := strings.Join(vip, " "); got != "r1@3.4 r1 + r2@13.6 r1@20.1" {
		t.Errorf("VIP row = %s", got)
	}
	// A track of priority under each router, r1's dropping to 90 at 30 s.
	var names []string
	for _, l := range tl.lanes {
		names = append(names, l.name)
	}
	if got := strings.Join(names, ","); got != "r1,priority,r2,priority,r3,priority,VIP 10.77.0.100" {
		t.Errorf("lanes = %s", got)
	}
	if p := tl.lanes[1].prio; len(p) != 2 || p[0] != (tlPrio{0, 150}) || p[1] != (tlPrio{30, 90}) {
		t.Errorf("r1 priority track = %v", p)
	}
	// Crash and clean stop are told apart.
	last := func(l *tlLane) string { return l.bars[len(l.bars)-1].label }
	if got := last(lane("r2")); got != crashedState {
		t.Errorf("r2 after its crash: %s, want %s", got, crashedState)
	}
	if got := last(lane("r3")); got != "STOP" {
		t.Errorf("r3 after a clean stop: %s, want STOP", got)
	}
	// The user's name for the fault is on its line.
	if tl.faults[0].label != "cut the LAN in two (partition lan)" {
		t.Errorf("fault label %q", tl.faults[0].label)
	}
	// Drawn: the legend tells the new marks; the discarded adverts table.
	dir := t.TempDir()
	path, err := Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	texts := svgTexts(t, filepath.Join(dir, timelineName+".svg"))
	for _, want := range []string{"split brain: 2+ MASTER at once", "CRASHED (host died)", "STOP (clean shutdown)",
		"effective priority", "cut the LAN in two (partition lan)", "r1 + r2", "90"} {
		if !hasText(texts, want) {
			t.Errorf("timeline.svg lacks %q", want)
		}
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{"<th>adverts discarded: cause</th>",
		"<td>auth_failure</td><td class=\"num\">r1</td><td class=\"num\">VI_1 (51)</td><td class=\"num\">3</td>",
		"<td>auth_failure</td><td class=\"num\">r2</td><td class=\"num\">VI_1 (51)</td><td class=\"num\">7</td>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
	if strings.Contains(string(b), "advert_sent") {
		t.Error("report.html lists a counter that is not a drop as discarded adverts")
	}
}

func TestPreviewTruth(t *testing.T) {
	dir := os.Getenv("REPORT_PREVIEW_DIR")
	if dir == "" {
		t.Skip("REPORT_PREVIEW_DIR not set")
	}
	if _, err := Write(filepath.Join(dir, "split"), Report{Lab: "split", History: splitBrainHistory(), Duration: 40 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(filepath.Join(dir, "groups"), twoGroupsInFlight()); err != nil {
		t.Fatal(err)
	}
}

// A sweep of a load-balancer lab: one panel per metric, a table with the
// theory window, and no link to a history.jsonl a sweep does not write.
func TestSweepMetrics(t *testing.T) {
	r := Report{Lab: "backend-crash", Results: Results{Lab: "backend-crash", Mode: "sim", Seed: 1, Seeds: 5, Passed: true},
		SweepMetrics: []SweepMetric{
			{Name: "requests_failed", Values: []float64{170, 171, 171, 175, 190}},
			{Name: "health_down_delay_s", Values: []float64{4.1, 4.5, 5.2, 5.9, 6.3}, Lo: 4, Hi: 6},
		}}
	dir := t.TempDir()
	path, err := Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	texts := svgTexts(t, filepath.Join(dir, sweepMetricsName+".svg"))
	for _, want := range []string{"requests_failed: median 171", "health_down_delay_s: median 5.2", "theory window"} {
		if !hasText(texts, want) {
			t.Errorf("sweep_metrics.svg lacks %q", want)
		}
	}
	b, _ := os.ReadFile(path)
	page := string(b)
	if !strings.Contains(page, "<td>health_down_delay_s</td><td class=\"num\">5</td><td class=\"num\">0</td><td class=\"num\">4.1</td><td class=\"num\">5.2</td>") ||
		!strings.Contains(page, "[4, 6]") || !strings.Contains(page, "80 %") {
		t.Error("report.html lacks the metrics table with the window and the share inside it")
	}
	if strings.Contains(page, `href="history.jsonl"`) {
		t.Error("a sweep's report links history.jsonl")
	}
	// Counts get one bin per whole number.
	bins := metricBins([]float64{170, 171, 171, 175}, 0, 0)
	if len(bins) != 6 || bins[1].Weight != 2 || bins[0].Min != 169.5 {
		t.Errorf("bins = %+v", bins)
	}
}
