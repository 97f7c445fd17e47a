package scenarios

import (
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios/labfile"
)

// One run says one p99: results.json's p99_ms (or its bounds, when the
// requests in flight at the end leave it open) is the p99 cell of the
// report's percentile table (both read history.Latencies). On main,
// backend-crash seed 1 said p99 in [81.531, 81.855] in results.json
// (exact nearest rank) and 81.279 – 81.855 in its report (HDR, rounded
// rank).
func TestResultsP99IsTheReports(t *testing.T) {
	lab, err := Load("backend-crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, err := out.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`<tr><td>all groups</td><td class="num">\d+</td>(?:<td class="num">[^<]*</td>){3}<td class="num">([^<]*)</td>`).FindSubmatch(page)
	if row == nil {
		t.Fatal("no percentile row for all groups in report.html")
	}
	m := out.Results.Metrics
	want := fmt.Sprint(m["p99_ms"])
	if m["p99_ms"] == nil {
		want = fmt.Sprintf("%v – %v", m["p99_lower_bound_ms"], m["p99_upper_bound_ms"])
	}
	if got := string(row[1]); got != want {
		t.Errorf("report p99 %q, results.json %q", got, want)
	}
}

// A percentile within the histogram's precision of a check's threshold is
// put on the side of it where the exact count of latencies puts it: the
// verdict of `max: 500ms` never flips on rounding.
func TestLatencyVerdictAtTheThresholdIsExact(t *testing.T) {
	// 99 requests take lat, one 900 ms: the p99 is lat.
	at := func(lat time.Duration) []history.Event {
		evs := make([]history.Event, 100)
		for i := range evs {
			l := lat
			if i == 99 {
				l = 900 * time.Millisecond
			}
			evs[i] = history.Event{T: history.Stamp(time.Second + l), Kind: history.KindRequest, Status: 200,
				Start: history.Stamp(time.Second), Latency: history.Stamp(l)}
		}
		return evs
	}
	cut := 500 * time.Millisecond
	for _, c := range []struct {
		lat  time.Duration
		pass bool
	}{
		{cut - 10*time.Microsecond, true}, // the histogram's value is above 500 ms
		{cut, true},
		{cut + time.Nanosecond, false},
		{cut + 10*time.Microsecond, false},
	} {
		var raw history.Latencies
		raw.Record(c.lat)
		raw.Record(900 * time.Millisecond)
		s := sampleLatencies(at(c.lat), "", labfile.Window{}, time.Minute, cut)
		b := s.percentile(99)
		if got := b.lo <= cut; got != c.pass || b.hi != b.lo {
			t.Errorf("p99 of %v: %v (histogram alone %v), ≤ %v is %v, want %v", c.lat, b.lo, raw.Percentile(99), cut, got, c.pass)
		}
		if c.lat == cut-10*time.Microsecond && raw.Percentile(99) <= cut {
			t.Errorf("the case does not test rounding: the histogram says %v", raw.Percentile(99))
		}
	}
}
