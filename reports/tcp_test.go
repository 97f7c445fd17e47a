package reports

import (
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// A tcp listener's exchanges have no status: one echoed (no error) is a
// success on every plot (achieved throughput, the group's ok count, its
// latencies, the server's share, an outcome of its own beside 2xx), one
// that failed (reset, timeout) a failure with its error class.
func TestTCPExchangesArePlottedAsTheyEnded(t *testing.T) {
	var evs []history.Event
	for i := range 100 {
		at := time.Duration(i) * 100 * time.Millisecond
		e := history.Event{T: history.Stamp(at + 10*time.Millisecond), Kind: history.KindRequest, Listener: "cache",
			Group: "cache", Backend: "c1:6379", Start: history.Stamp(at), Latency: history.Stamp(10 * time.Millisecond)}
		switch {
		case i%10 == 3:
			e.Error = "reset"
		case i == 50:
			e.Error, e.Backend = "timeout", ""
		}
		evs = append(evs, e)
	}
	c := collect(evs, 10)
	c.reqs.finish()
	g := c.reqs.groups["cache"]
	sum := func(v []int) int {
		n := 0
		for _, x := range v {
			n += x
		}
		return n
	}
	if g.counts.ok != 89 || g.counts.failed != 11 || sum(c.reqs.achieved) != 89 || sum(c.reqs.failed) != 11 {
		t.Errorf("ok %d, failed %d, achieved %d, failed by end %d; want 89 echoed and 11 failed (10 reset, 1 timeout)",
			g.counts.ok, g.counts.failed, sum(c.reqs.achieved), sum(c.reqs.failed))
	}
	if g.hist.N() != 89 || g.answered != 89 || sum(g.servers["c1:6379"]) != 89 {
		t.Errorf("latencies of %d, %d answered, %d by c1; want the 89 echoed", g.hist.N(), g.answered, sum(g.servers["c1:6379"]))
	}
	q := reqOf(&evs[0])
	if key, label, rank := classify(lang{}, &q); key != "echoed" || label != "echoed (tcp exchanges)" || rank != 2 {
		t.Errorf("an echoed exchange is %s %q rank %d, want echoed, beside 2xx", key, label, rank)
	}
}
