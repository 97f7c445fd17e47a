package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// lbHistory is a synthetic load-balancer run: groups web and api, each
// with servers s1, s2, s3 (round robin), n requests over dur seconds at a
// constant rate. s2 crashes at 20 % of the run: until its health check
// marks it down (6 s later) its requests fail with 502s, 504s and client
// timeouts; it is restored at 2/3 of the run and marked up 4 s later.
func lbHistory(n int, dur float64) []history.Event {
	rng := rand.New(rand.NewPCG(7, 11))
	crash, down := dur/3, dur/3+6
	restore, up := 2*dur/3, 2*dur/3+4
	var evs []history.Event
	servers := []string{"s1", "s2", "s3"}
	rr := map[string]int{}
	for i := 0; i < n; i++ {
		start := dur * float64(i) / float64(n)
		group := "web"
		if i%3 == 2 {
			group = "api"
		}
		var pool []string
		for _, s := range servers {
			if s == "s2" && start >= down && start < up {
				continue
			}
			pool = append(pool, s)
		}
		srv := pool[rr[group]%len(pool)]
		rr[group]++
		lat := math.Exp(rng.NormFloat64()*0.45) * 0.008 // about 8 ms
		if group == "api" {
			lat *= 2.5
		}
		if srv == "s3" {
			lat *= 1.3
		}
		e := history.Event{Kind: history.KindRequest, Client: fmt.Sprintf("10.0.0.%d", 1+i%50),
			Listener: "http", Group: group, Backend: srv, Status: 200, Tries: 1}
		if srv == "s2" && start >= crash && start < down {
			switch u := rng.Float64(); {
			case u < 0.55:
				e.Status, e.Backend, e.Tries = 502, "", 2
				lat = 0.0002 + rng.Float64()*0.001
			case u < 0.75:
				e.Status, e.Backend = 504, ""
				lat = 1 + rng.Float64()*0.01
			case u < 0.9:
				e.Status, e.Backend, e.Error = 0, "", "timeout"
				lat = 2
			case u < 0.95:
				e.Status, e.Backend, e.Error = 0, "", "reset"
				lat = 0.001 * rng.Float64()
			default:
				e.Status, e.Backend, e.Error = 0, "", "refused"
				lat = 0
			}
		} else if rng.Float64() < 0.002 {
			e.Status = 404
		} else if rng.Float64() < 0.0005 {
			e.Status = 503
		}
		e.Start = sec(start)
		e.Latency = history.Stamp(time.Duration(lat * 1e9))
		e.T = e.Start + e.Latency
		evs = append(evs, e)
	}
	healthEv := func(t float64, group, server, from, to, reason string) history.Event {
		return history.Event{T: sec(t), Kind: history.KindHealth, Group: group, Server: server, From: from, To: to, Reason: reason}
	}
	evs = append(evs,
		faultEv(crash, "crash", "s2"),
		healthEv(down, "web", "s2", "up", "down", "3 failed checks"),
		healthEv(down+0.3, "api", "s2", "up", "down", "3 failed checks"),
		faultEv(restore, "restore", "s2"),
		healthEv(up, "web", "s2", "down", "up", "2 passed checks"),
		healthEv(up+0.2, "api", "s2", "down", "up", "2 passed checks"),
	)
	slices.SortStableFunc(evs, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
	return evs
}

func lbReport(n int, dur float64) Report {
	var shares []Share
	for _, g := range []string{"web", "api"} {
		for _, s := range []string{"s1", "s2", "s3"} {
			shares = append(shares, Share{Group: g, Server: s, Expected: 1.0 / 3})
		}
	}
	return Report{
		Lab:      "lb-backend-crash",
		Title:    "Why do I get 502s?",
		Results:  Results{Lab: "lb-backend-crash", Mode: "sim", Seed: 3, Passed: true, Metrics: map[string]any{"p99_ms": 20.5}},
		History:  lbHistory(n, dur),
		Duration: time.Duration(dur * float64(time.Second)),
		Shares:   shares,
	}
}

var lbPlotNames = []string{latencyName, throughputName, percentilesName, sharesName, sharesTimeName, statusesName, healthName}

func TestWriteLB(t *testing.T) {
	dir := t.TempDir()
	path, err := Write(dir, lbReport(20000, 60))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range lbPlotNames {
		f, err := os.Open(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s.png: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != 1200 || b.Dy() < 300 {
			t.Errorf("%s.png: size %dx%d", name, b.Dx(), b.Dy())
		}
		checkSVG(t, filepath.Join(dir, name+".svg"))
	}
	if _, err := os.Stat(filepath.Join(dir, "timeline.png")); err == nil {
		t.Error("a load-balancer run wrote a VRRP timeline")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	// The plots are embedded in order, each once.
	alts := regexp.MustCompile(`<svg class="plot" role="img" aria-label="([a-z_]+)"`).FindAllStringSubmatch(html, -1)
	var got []string
	for _, m := range alts {
		got = append(got, m[1])
	}
	if strings.Join(got, ",") != strings.Join(lbPlotNames, ",") {
		t.Errorf("embedded plots = %v, want %v", got, lbPlotNames)
	}
	for _, want := range []string{"p99.9 (ms)", "group web", "group api", "all groups", "shares_over_time.svg"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

func TestLBFaultSpans(t *testing.T) {
	evs := []history.Event{
		faultEv(5, "slow", "s1"),
		faultEv(10, "crash", "s2"),
		faultEv(12, "break_health", "s3"),
		faultEv(20, "restore", "s2"),
		faultEv(25, "fix", "s3"),
		faultEv(30, "hang", "s2"),
		faultEv(31, "weight", "s1"),
		faultEv(32, "power_off", "s4"),
		faultEv(33, "health_fail", "s5"),
		faultEv(34, "health_path", "web"),
		faultEv(35, "health_ok", "s5"),
		faultEv(36, "restore", "s4"),
		{T: sec(40), Kind: history.KindFault, Fault: "health_path", Target: "web", Name: "fix"},
	}
	faults, shades := lbFaults(evs, 60)
	want := []tlSpan{{5, 60}, {10, 20}, {12, 25}, {30, 60}, {32, 36}, {33, 35}}
	if !slices.Equal(shades, want) {
		t.Errorf("shades = %v, want %v", shades, want)
	}
	// The kind as the lab writes it (health_path), in every language.
	if got := faults[len(faults)-1].label; got != "fix (health_path web)" {
		t.Errorf("label = %q", got)
	}
	if got := faults[0].label; got != "slow s1" {
		t.Errorf("label = %q", got)
	}
}

func TestPercentilesMatchSort(t *testing.T) {
	evs := lbHistory(20000, 60)
	for _, group := range []string{"", "web", "api"} {
		var lat []time.Duration
		for _, e := range evs {
			if e.Kind == history.KindRequest && e.Status != 0 && (group == "" || e.Group == group) {
				lat = append(lat, e.Latency.Duration())
			}
		}
		slices.Sort(lat)
		got := Percentiles(evs, group)
		if len(got) != 5 {
			t.Fatalf("group %q: %v", group, got)
		}
		n := len(lat)
		for _, c := range []struct {
			key string
			q   float64
		}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}, {"max", 1}} {
			// HDR precision: 3 significant digits on microseconds; the
			// rank may round to a neighbour.
			r := int(math.Ceil(c.q*float64(n))) - 1
			lo := lat[max(0, r-1)]
			hi := lat[min(n-1, r+1)]
			tol := func(d time.Duration) time.Duration { return d/1000 + time.Microsecond }
			if v := got[c.key]; v < lo-tol(lo) || v > hi+tol(hi) {
				t.Errorf("group %q %s = %v, sort gives %v (neighbours %v..%v)", group, c.key, v, lat[max(0, r)], lo, hi)
			}
		}
		if got["max"] != lat[n-1] { // exact, not at the histogram's precision
			t.Errorf("group %q max = %v, want %v", group, got["max"], lat[n-1])
		}
	}
	if got := Percentiles(evs, "nope"); len(got) != 0 {
		t.Errorf("unknown group: %v", got)
	}
	if got := Percentiles(nil, ""); len(got) != 0 {
		t.Errorf("no events: %v", got)
	}
}

// The latency plot draws every failure, and successes thinned to every
// k-th one, k a power of two, at most maxLatencyDots and not far fewer,
// however many there are; a small run is not thinned.
func TestDownsampleKeepsFailures(t *testing.T) {
	r := lbReport(20000, 60)
	d, ok := buildLB(r)
	if !ok {
		t.Fatal("no LB data")
	}
	nFailed, nOK := 0, 0
	for i := range r.History {
		if q := reqOf(&r.History[i]); r.History[i].Kind == history.KindRequest && q.failed() {
			nFailed++
		} else if r.History[i].Kind == history.KindRequest && !q.unknown() {
			nOK++
		}
	}
	if nFailed < 100 {
		t.Fatalf("the synthetic history has only %d failures", nFailed)
	}
	kept, drawn, failed := 0, 0, 0
	for _, g := range d.groups {
		gr := d.reqs.groups[g]
		kept += gr.okN
		drawn += len(gr.okDrawn(maxLatencyDots / len(d.groups)))
		failed += len(gr.failedAt)
		if gr.stride&(gr.stride-1) != 0 {
			t.Errorf("group %s: stride %d is not a power of two", g, gr.stride)
		}
	}
	if failed != nFailed || kept != nOK {
		t.Errorf("kept %d failed requests of %d, counted %d successes of %d", failed, nFailed, kept, nOK)
	}
	if drawn > maxLatencyDots || drawn < maxLatencyDots/2 {
		t.Errorf("drew %d successful requests, want at most %d and not far fewer", drawn, maxLatencyDots)
	}
	// Small runs are not thinned.
	c := collect(r.History[:1000], 60)
	c.reqs.finish()
	n := 0
	for _, gr := range c.reqs.groups {
		n += len(gr.okDrawn(maxLatencyDots/len(c.reqs.groups))) + len(gr.failedAt)
	}
	if n != 1000 {
		t.Errorf("1000 requests thinned to %d", n)
	}
}

func TestVRRPOnlyHasNoLBPlots(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, failoverReport()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != "report.html,timeline.png,timeline.svg" {
		t.Errorf("files = %s", got)
	}
}

func TestWriteLBDegenerate(t *testing.T) {
	one := lbHistory(1, 1)
	for name, r := range map[string]Report{
		"empty":           {},
		"one request":     {Lab: "x", History: one},
		"only failures":   {Lab: "x", History: []history.Event{{T: sec(1), Kind: history.KindRequest, Error: "refused"}}},
		"only health":     {Lab: "x", History: []history.Event{{T: sec(1), Kind: history.KindHealth, Group: "g", Server: "a", From: "up", To: "down"}}},
		"shares only":     {Lab: "x", Shares: []Share{{Group: "g", Server: "a", Expected: 1}}},
		"zero latency":    {Lab: "x", History: []history.Event{{Kind: history.KindRequest, Status: 200, Backend: "a"}}},
		"no group":        {Lab: "x", History: []history.Event{{T: sec(2), Kind: history.KindRequest, Status: 200, Backend: "a", Latency: sec(0.01), Start: sec(1.99)}}},
		"many faults":     {Lab: "x", Duration: 10 * time.Second, History: append(lbHistory(300, 10), faultEv(1, "slow", "s1"), faultEv(1.1, "hang", "s3"), faultEv(1.2, "crash", "s1"), faultEv(1.3, "break_health", "s2"), faultEv(9.9, "fix", "s2"))},
		"sweep and empty": {Lab: "x", Sweep: &Sweep{Metric: "failover_s", Values: []float64{1}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Write(t.TempDir(), r); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWriteLBDeterministic(t *testing.T) {
	r := lbReport(3000, 30)
	a, b := t.TempDir(), t.TempDir()
	if _, err := Write(a, r); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(b, r); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(a)
	for _, f := range files {
		x, _ := os.ReadFile(filepath.Join(a, f.Name()))
		y, _ := os.ReadFile(filepath.Join(b, f.Name()))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two writes", f.Name())
		}
	}
}

// TestWriteLBTime measures Write on a run of 100,000 requests. The
// budget is 1.5 s on a 2-core machine; the test fails only far above it,
// so that a slow CI machine does not make it flaky.
func TestWriteLBTime(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("short or race detector")
	}
	r := lbReport(100000, 120)
	dir := t.TempDir()
	start := time.Now()
	if _, err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	t.Logf("Write with 100,000 requests: %v", el)
	if el > 6*time.Second {
		t.Errorf("Write took %v; the budget is 1.5 s", el)
	}
}

func BenchmarkWriteLB100k(b *testing.B) {
	r := lbReport(100000, 120)
	dir := b.TempDir()
	for b.Loop() {
		if _, err := Write(dir, r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPreviewLB writes a load-balancer report to $REPORT_PREVIEW_DIR/lb
// for a human to look at; it is skipped when that variable is unset.
func TestPreviewLB(t *testing.T) {
	dir := os.Getenv("REPORT_PREVIEW_DIR")
	if dir == "" {
		t.Skip("REPORT_PREVIEW_DIR not set")
	}
	if _, err := Write(filepath.Join(dir, "lb"), lbReport(20000, 60)); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(filepath.Join(dir, "lb100k"), lbReport(100000, 120)); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(filepath.Join(dir, "lb-weights"), weightsReport()); err != nil {
		t.Fatal(err)
	}
}

// weightsReport is a single unnamed group with weights 5, 1, 1 and faults
// close together, some never undone.
func weightsReport() Report {
	rng := rand.New(rand.NewPCG(3, 4))
	order := []string{"a", "a", "b", "a", "c", "a", "a"} // smooth WRR, 5:1:1
	var evs []history.Event
	for i := 0; i < 5000; i++ {
		start := 30 * float64(i) / 5000
		e := history.Event{Kind: history.KindRequest, Backend: order[i%7], Status: 200,
			Start: sec(start), Latency: sec(0.002 + 0.001*rng.Float64())}
		if start > 12 && start < 13 && e.Backend == "b" {
			e.Backend, e.Status = "", 503
		}
		e.T = e.Start + e.Latency
		evs = append(evs, e)
	}
	evs = append(evs,
		faultEv(10, "slow", "a"), faultEv(10.5, "hang", "b"), faultEv(11, "break_health", "c"),
		faultEv(14, "restore", "b"), faultEv(29.5, "fix", "c"))
	slices.SortStableFunc(evs, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
	return Report{Lab: "lb-weights", Duration: 30 * time.Second, History: evs,
		Shares: []Share{{Server: "a", Expected: 5.0 / 7}, {Server: "b", Expected: 1.0 / 7}, {Server: "c", Expected: 1.0 / 7}}}
}

func TestBucketWidth(t *testing.T) {
	for end, want := range map[float64]float64{1: 1, 60: 1, 100: 1, 120: 1.2, 120.0358: 1.3, 1000: 10, 3600: 36, 7777: 78} {
		if got := bucketWidth(end); got != want {
			t.Errorf("bucketWidth(%v) = %v, want %v", end, got, want)
		}
	}
}
