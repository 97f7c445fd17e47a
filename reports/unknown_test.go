package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// boundedRun is a run of two groups: "web", 100 requests answered in
// 10 ms, one failed with a 502, and two still in flight at the end
// (20 s) sent at 15 s; "stuck", three requests all still in flight.
func boundedRun() *lbData {
	var evs []history.Event
	for i := range 101 {
		start := sec(float64(i) * 0.1)
		status := 200
		if i == 100 {
			status = 502
		}
		evs = append(evs, history.Event{T: start + sec(0.01), Kind: history.KindRequest, Listener: "web", Group: "web",
			Backend: "s1", Status: status, Start: start, Latency: sec(0.01), Tries: 1})
	}
	for i, g := range []string{"web", "web", "stuck", "stuck", "stuck"} {
		start := sec(15 + 0.1*float64(i))
		evs = append(evs, history.Event{T: sec(20), Kind: history.KindRequest, Listener: g, Group: g, Error: "in_flight",
			Start: start, Latency: sec(20) - start})
	}
	d, _ := buildLB(Report{Lab: "bounded", History: evs, Duration: 20 * time.Second})
	return d
}

// The outcome table's success ratio is over the finished requests; with
// none finished there is none ("—"). Before, it was ok ÷ requests: 97.1 %
// for web (100 of 103) and 0.0 % for stuck.
func TestOutcomeRatioOverFinished(t *testing.T) {
	rows := map[string][]string{}
	for _, r := range outcomeTable(boundedRun()).Rows {
		rows[r[0]] = r
	}
	if got := rows["group web"]; got[len(got)-1] != fmtPct(100, 101)+" %" {
		t.Errorf("web: %q, want the ratio 100 ÷ 101 finished", got)
	}
	if got := rows["group stuck"]; got[len(got)-1] != "—" {
		t.Errorf("stuck: %q, want no ratio (—): no request finished", got)
	}
}

// The percentile table counts the requests in flight at the end, each at
// least (end − start): a cell they cannot change is a value, one they
// can is "≥ lower bound". Before, web's p99 and max read 10 ms from the
// answered requests alone, and stuck had no row.
func TestPercentileTableBoundsUnknown(t *testing.T) {
	_, table, ok := percentilesFigure(boundedRun())
	if !ok {
		t.Fatal("no percentile figure")
	}
	if table.Head[len(table.Head)-1] != "unknown (in flight at the end)" {
		t.Fatalf("head %q", table.Head)
	}
	rows := map[string]string{}
	for _, r := range table.Rows {
		rows[r[0]] = strings.Join(r[1:], " | ")
	}
	// web: 101 answered in 10 ms (10.007 at the HDR's precision; the 502
	// too) and 2 unknown of at least 5 and 4.9 s: p50 and p90 cannot
	// move, p99 (rank 102 of 103: the 4.9 s one) and max can.
	if want := "101 | ≥ 105.922 | 10.007 | 10.007 | ≥ 4902.911 | ≥ 5000 | ≥ 5000 | 2"; rows["group web"] != want {
		t.Errorf("web: %q, want %q", rows["group web"], want)
	}
	// stuck: none answered, three of at least 4.8, 4.7 and 4.6 s.
	if want := "0 | ≥ 4700 | ≥ 4702.207 | ≥ 4800 | ≥ 4800 | ≥ 4800 | ≥ 4800 | 3"; rows["group stuck"] != want {
		t.Errorf("stuck: %q, want %q", rows["group stuck"], want)
	}
}
