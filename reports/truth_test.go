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
	ok, failed, unknown := downsample(d.reqs, maxLatencyDots)
	if len(ok) != 200 || len(failed) != 0 || len(unknown) != 3 {
		t.Errorf("downsample: %d ok, %d failed, %d unknown; want 200, 0, 3", len(ok), len(failed), len(unknown))
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
	if g := d.panelGroups(); len(g) != 1 || panelTitle(g[0]) != "" {
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

// The percentile table gives the mean beside the percentiles.
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
	for _, e := range r.History {
		if e.Group == "rr" && e.Status != 0 {
			sum += e.Latency.Seconds() * 1e3
			n++
		}
	}
	want := fmtNum(math.Round(sum/float64(n)*1e3) / 1e3)
	for _, row := range table.Rows {
		if row[0] == "group rr" && row[2] != want {
			t.Errorf("mean of group rr = %s ms, want %s ms", row[2], want)
		}
	}
}
