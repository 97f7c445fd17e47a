package scenarios_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The theory box shows the window of the router expected to take over:
// the highest priority among the survivors. In vrrp-three-routers
// (priorities 150, 100, 120) r3 takes over when r1 dies; before, the box
// showed r2's priority 100 and window [2.609475, 3.609475] s (its first
// failover expectation names r2, which does not take over; with none, the
// lowest priority was shown).
func TestTheoryBoxShowsTheRouterThatTakesOver(t *testing.T) {
	out := runTestdata(t, "vrrp-three-routers", "")
	if !out.Results.Passed {
		t.Fatalf("vrrp-three-routers failed: %+v", out.Results.Expectations)
	}
	_, page := written(t, out)
	for _, want := range []string{"<dt>backup priority</dt><dd>120</dd>", "[2.53135, 3.53135] s after the fault"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html's theory box lacks %q", want)
		}
	}
	// The same with the lab's expectations in another order, and none.
	src, err := os.ReadFile(filepath.Join("testdata", "truth", "vrrp-three-routers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bare := string(src[:strings.Index(string(src), "expect:")])
	_, page = written(t, runTestdata(t, "vrrp-three-routers", bare))
	if !strings.Contains(page, "<dt>backup priority</dt><dd>120</dd>") {
		t.Error("without expectations, the theory box does not show r3's priority 120")
	}
	// vrrp-preempt with r1's preemption listed first: r2 (100) takes over
	// when r1 (150) dies, not r1 (before: 150).
	pre := catalogSource(t, "vrrp-preempt")
	takeover, preempt := "failover: {fault: r1 dies, by: r2, window: theory}", "failover: {fault: r1 returns, by: r1, window: theory, metric: preempt_s}"
	pre = variant(t, pre, takeover, "SWAP")
	pre = variant(t, pre, preempt, takeover)
	pre = variant(t, pre, "SWAP", preempt)
	_, page = written(t, runTestdata(t, "vrrp-preempt", pre))
	if strings.Contains(page, "<dt>backup priority</dt><dd>150</dd>") {
		t.Error("vrrp-preempt's theory box shows r1's priority 150: r1 is the master that dies, not the one taking over")
	}
}
