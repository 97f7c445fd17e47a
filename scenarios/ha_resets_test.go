package scenarios_test

import (
	"testing"

	"github.com/lblab/lblab/history"
)

// The master's crash in the simulator, seed 1: client1's idle kept-alive
// connections to lb1 are reset by lb2 once its gratuitous ARP turns them
// there; the requests on them are resent on new connections and answered
// by lb2. None of them fails, but the history says that each met a
// reset (resent: "reset") and connections_reset counts them. One request
// fails: lb1 acknowledged it and died before answering, so the client's
// kernel never retransmits it, and it times out (5 s), as on real hosts
// (a netns run of seed 1: 1648 ok, 1 failed by timeout, 3 in flight).
// The outcomes: 1648 ok, 1 failed (timeout), 3 in flight at the end,
// outage 2.842913999 s.
func TestHAMasterCrashResetsRecorded(t *testing.T) {
	o := haRun(t, 1, "")
	var takeover history.Stamp
	ok, failed, unknown, resent := 0, 0, 0, 0
	for _, e := range o.Events {
		switch {
		case e.Kind == history.KindVIP && e.Owner == "lb2":
			takeover = e.T
		case e.Kind != history.KindRequest:
		case e.Error == "in_flight":
			unknown++
		case e.Error == "" && e.Status >= 200 && e.Status < 400:
			ok++
		default:
			failed++
		}
		if e.Kind == history.KindRequest && e.Resent != "" {
			resent++
			if e.Resent != "reset" || e.Status != 200 || e.Answer != "lb2" || e.T < takeover || takeover == 0 {
				t.Errorf("resent request %+v: want a reset, then 200 from lb2 after its takeover at %v", e, takeover)
			}
		}
	}
	m := o.Results.Metrics
	if ok != 1648 || failed != 1 || unknown != 3 || m["outage_s"] != 2.842913999 {
		t.Fatalf("%d ok, %d failed, %d unknown, outage %v: want 1648, 1, 3, 2.842913999 s", ok, failed, unknown, m["outage_s"])
	}
	if by := m["requests_failed_by_class"].(map[string]any); len(by) != 1 || by["timeout"] != 1 {
		t.Fatalf("requests_failed_by_class %v, want one timeout", by)
	}
	if resent == 0 || m["connections_reset"] != resent {
		t.Fatalf("connections_reset %v, %d requests resent after a reset: want them equal and above 0", m["connections_reset"], resent)
	}
}
