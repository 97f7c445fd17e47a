package scenarios_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// runTestdata runs a lab of testdata/truth with seed 1, or src in its
// place when src is not empty.
func runTestdata(t *testing.T, name, src string) *scenarios.Outcome {
	t.Helper()
	path := filepath.Join("testdata", "truth", name+".yaml")
	if src == "" {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		src = string(b)
	}
	lab, err := labfile.Parse(path, []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := scenarios.RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// written writes an outcome into a temporary folder and returns its
// results.json and report.html.
func written(t *testing.T, out *scenarios.Outcome) (results, page string) {
	t.Helper()
	dir := t.TempDir()
	path, err := out.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(r), string(p)
}

// wantExpectation wants expectation i of out to have passed (or not) and
// its observed text to hold each of parts.
func wantExpectation(t *testing.T, out *scenarios.Outcome, i int, passed bool, parts ...string) {
	t.Helper()
	x := out.Results.Expectations[i]
	if x.Passed != passed {
		t.Errorf("%s: passed %v, want %v (observed %q, expected %q)", x.Name, x.Passed, passed, x.Observed, x.Expected)
	}
	for _, p := range parts {
		if !strings.Contains(x.Observed, p) {
			t.Errorf("%s: observed %q lacks %q", x.Name, x.Observed, p)
		}
	}
}

// wantMetric wants metric name of out to be want (nil: present and null).
func wantMetric(t *testing.T, out *scenarios.Outcome, name string, want any) {
	t.Helper()
	got, ok := out.Results.Metrics[name]
	if !ok || got != want {
		t.Errorf("metric %s = %v (present %v), want %v", name, got, ok, want)
	}
}

// A request still in flight at the end took at least (end − start) and
// may never finish: a latency check counts it at both bounds. In
// hang-half, slow:80 hangs at 5 s and 252 of 1000 requests are still in
// flight at the end. Percentiles are history.Latencies' (HDR, 3
// significant digits): 4.833279 s is the histogram's value for the 4.83 s
// the hung requests had taken. Before, the p99 ≤ 500 ms check passed on the 748
// answered requests alone ("p99 84.805ms over 748 requests"), and so did
// the one over the last half second ("p99 90.459ms over 25 requests").
func TestLatencyChecksCountRequestsInFlight(t *testing.T) {
	out := runTestdata(t, "hang-half", "")
	if out.Results.Passed {
		t.Error("a lab where half the requests hang passed its p99 check")
	}
	wantExpectation(t, out, 0, false, "p99 ≥ 4.833279s over 1000 requests (748 answered, 252 in flight at the end, outcome unknown)")
	wantExpectation(t, out, 1, false, "p99 ≥ 490ms over 50 requests", "; 25 requests in flight at the end could put it above 1s")
	// The two requests in flight sent before 5 s are above the p99's
	// rank whatever they take: the check is decided, and passes.
	wantExpectation(t, out, 2, true, "p99 84.863ms over 500 requests (498 answered, 2 in flight at the end, outcome unknown)")
	if strings.Contains(out.Results.Expectations[0].Observed, "could") {
		t.Error("a p99 whose lower bound is above max is not undecided: it fails")
	}

	// results.json: a statistic the unknown requests leave open is null,
	// with what the history does hold beside it.
	wantMetric(t, out, "p99_all_ms", nil)
	wantMetric(t, out, "p99_all_lower_bound_ms", 4833.279)
	wantMetric(t, out, "p99_all_finished_ms", 84.863)
	wantMetric(t, out, "p99_before_ms", 84.863)
	wantMetric(t, out, "p99_before_finished_ms", 80.831)
	wantMetric(t, out, "p99_ms", nil)
	wantMetric(t, out, "p99_lower_bound_ms", 4833.279)
	wantMetric(t, out, "mean_ms", nil)
	wantMetric(t, out, "mean_lower_bound_ms", 654.107)
	wantMetric(t, out, "max_ms", nil)
	wantMetric(t, out, "max_lower_bound_ms", 5030.0)
	wantMetric(t, out, "p50_ms", nil)
	wantMetric(t, out, "p50_lower_bound_ms", 26.799)
	wantMetric(t, out, "p50_upper_bound_ms", 26.863)
	wantMetric(t, out, "requests_unknown", 252)
	if _, ok := out.Results.Metrics["mean_upper_bound_ms"]; ok {
		t.Error("a mean with requests in flight has no upper bound")
	}
	results, page := written(t, out)
	for _, want := range []string{`"p99_ms": null`, `"p99_lower_bound_ms": 4833.279`, `"mean_ms": null`} {
		if !strings.Contains(results, want) {
			t.Errorf("results.json lacks %s", want)
		}
	}
	if !strings.Contains(page, `<code>p99_ms</code></td><td class="num">—</td>`) {
		t.Error("report.html does not show p99_ms as — (undecided)")
	}
}

// A min check is the mirror of a max check: it passes only when the
// lower bound passes, fails when even +∞ for every unknown request would
// not reach it, and is undecided in between.
func TestLatencyMinCheckBounds(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "truth", "hang-half.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := variant(t, string(src), "latency: {percentile: 99, max: 500ms, metric: p99_all_ms}", "latency: {percentile: 99, min: 400ms, from: 9.5s}")
	s = variant(t, s, "latency: {percentile: 99, max: 1s, from: 9.5s, metric: p99_tail_ms}", "latency: {percentile: 99, min: 1s, from: 9.5s}")
	s = variant(t, s, "latency: {percentile: 99, max: 500ms, to: 5s, metric: p99_before_ms}", "latency: {percentile: 99, min: 1s, to: 5s}")
	out := runTestdata(t, "hang-half", s)
	wantExpectation(t, out, 0, true, "p99 ≥ 490ms over 50 requests")
	wantExpectation(t, out, 1, false, "p99 ≥ 490ms over 50 requests", "; 25 requests in flight at the end could put it at or above 1s")
	wantExpectation(t, out, 2, false, "p99 84.863ms over 500 requests")
	if strings.Contains(out.Results.Expectations[2].Observed, "could") {
		t.Error("a p99 whose upper bound is below min is not undecided: it fails")
	}
}

// A ratio is over the finished requests; with none finished there is no
// ratio. In hang-all every request is still in flight at the end: before,
// success_ratio was 0 (0 ok of 250 requests) and hang-half's 0.748 (748
// ok over 1000 requests, 252 of them unknown).
func TestRatiosOverFinishedRequests(t *testing.T) {
	out := runTestdata(t, "hang-all", "")
	wantMetric(t, out, "success_ratio", nil)
	wantMetric(t, out, "requests_unknown", 250)
	wantExpectation(t, out, 0, false, "no finished request of group web in [0 s, 5 s) (250 in flight at the end, outcome unknown, not counted)")
	results, page := written(t, out)
	if !strings.Contains(results, `"success_ratio": null`) {
		t.Error("results.json does not give success_ratio as null")
	}
	if !strings.Contains(page, `<code>success_ratio</code></td><td class="num">—</td>`) {
		t.Error("report.html does not show success_ratio as —")
	}
	if !strings.Contains(page, `<td class="num">250</td><td class="num">—</td>`) {
		t.Error("report.html's outcome table does not give — as the success ratio of 250 unknown requests")
	}

	half := runTestdata(t, "hang-half", "")
	wantMetric(t, half, "success_ratio", 1.0)
	wantExpectation(t, half, 3, true, "0.4980 (248 of 498) sent in [0 s, 5 s) (2 in flight at the end, outcome unknown, not counted)")
}

// A sweep does not drop the seeds whose p99 the requests in flight leave
// undecided: it counts them, and gives the lower bound of every seed.
// Before, p99_ms was summarized over the answered requests of each seed
// (count 4, about 85 ms).
func TestSweepCountsUndecidedSeeds(t *testing.T) {
	path := filepath.Join("testdata", "truth", "hang-half.yaml")
	lab, err := labfile.LoadFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenarios.RunSweep(context.Background(), lab, 1, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	p99, _ := s.Results.Metrics["p99_ms"].(map[string]any)
	if p99["count"] != 0 || p99["undecided"] != 4 {
		t.Errorf("sweep p99_ms = %v, want count 0 and undecided 4", p99)
	}
	lo, _ := s.Results.Metrics["p99_lower_bound_ms"].(map[string]any)
	if lo["count"] != 4 || lo["min"].(float64) < 4000 {
		t.Errorf("sweep p99_lower_bound_ms = %v, want 4 seeds, each at least 4 s", lo)
	}
	found := false
	for _, m := range s.Metrics {
		if m.Name == "p99_ms" {
			found = m.Undecided == 4 && len(m.Values) == 0
		}
	}
	if !found {
		t.Errorf("the sweep's distributions do not count p99_ms as undecided in 4 seeds: %+v", s.Metrics)
	}
}

// In a split brain (a password mismatch makes both routers master) the
// history records both holders of the VIP, not a move to the second;
// the owner check fails on it, and the failover check says when the
// backup became master instead of "never".
func TestSplitBrainIsNoOwnerChange(t *testing.T) {
	out := runTestdata(t, "vrrp-split-brain", "")
	wantExpectation(t, out, 0, false, "at most 2 masters at once, two or more for 6.577991133 s")
	wantExpectation(t, out, 1, false, "1 change; r1 + r2 held it at once for 6.577991133 s (split brain)")
	wantExpectation(t, out, 2, false, "r2 became master at 3.609375 s, before the fault at 10.187366133 s, and not after it")
	var vips []string
	for _, e := range out.Events {
		if e.Kind == "vip" {
			vips = append(vips, fmt.Sprintf("%s owner=%q holders=%q prev=%q", e.T.Duration(), e.Owner, e.Holders, e.Prev))
		}
	}
	want := []string{
		`3.414062s owner="r1" holders="" prev=""`,
		`3.609375s owner="" holders="r1,r2" prev="r1"`,
		`10.187366133s owner="r2" holders="" prev="r1"`,
	}
	if !slices.Equal(vips, want) {
		t.Errorf("vip events:\n%s\nwant\n%s", strings.Join(vips, "\n"), strings.Join(want, "\n"))
	}
}
