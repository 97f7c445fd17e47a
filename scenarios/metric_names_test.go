package scenarios_test

import (
	"strings"
	"testing"
)

// Requests in flight at the end are unknown, under one name
// (requests_unknown), never an error class; every bound of a latency
// metric is NAME_finished_ms, NAME_lower_bound_ms, NAME_upper_bound_ms.
func TestMetricNamesOneScheme(t *testing.T) {
	out := runTestdata(t, "hang-half", "")
	m := out.Results.Metrics
	if n, _ := m["requests_unknown"].(int); n == 0 {
		t.Fatalf("requests_unknown = %v, want some", m["requests_unknown"])
	}
	for _, name := range []string{"errors_in_flight", "requests_in_flight"} {
		if v, ok := m[name]; ok {
			t.Errorf("results.json has %s = %v beside requests_unknown", name, v)
		}
	}
	bounds := 0
	for name := range m {
		for _, q := range []string{"_finished", "_lower_bound", "_upper_bound"} {
			if strings.Contains(name, q) {
				bounds++
				if !strings.HasSuffix(name, q+"_ms") {
					t.Errorf("metric %s: want NAME%s_ms", name, q)
				}
			}
		}
	}
	if bounds == 0 {
		t.Errorf("no bound metrics in %v", m)
	}
}

// A latency check's metric holds milliseconds: a name not ending in _ms
// (p99_ms_rr, whose bounds were p99_ms_rr_lower_bound beside
// p99_lower_bound_ms) is refused with the name to write.
func TestLatencyMetricNameEndsInMS(t *testing.T) {
	lc := catalogSource(t, "least-conn-vs-round-robin")
	src := variant(t, lc, "metric: p99_rr_ms", "metric: p99_ms_rr")
	wantOneError(t, src, "p99_ms_rr", "expect[0].latency.metric",
		"metric p99_ms_rr holds milliseconds: end its name with _ms (p99_rr_ms), as its bounds do (p99_rr_lower_bound_ms)")
}
