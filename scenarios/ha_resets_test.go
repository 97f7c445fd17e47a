package scenarios_test

import (
	"testing"

	"github.com/lblab/lblab/history"
)

// The master's crash in the simulator, seed 1: client1's idle kept-alive
// connections to lb1 are reset by lb2 once its gratuitous ARP turns them
// there; the requests on them are resent on new connections and answered
// by lb2. None fails, but the history says that each met a reset
// (resent: "reset") and connections_reset counts them, while the
// outcomes stay what they were before the field was written (1649 ok, 0
// failed, 3 in flight at the end, outage 2.842913999 s, no failure by
// class): the field adds to the story, it changes no request.
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
	if ok != 1649 || failed != 0 || unknown != 3 || m["outage_s"] != 2.842913999 {
		t.Fatalf("%d ok, %d failed, %d unknown, outage %v: want 1649, 0, 3, 2.842913999 s as before", ok, failed, unknown, m["outage_s"])
	}
	if by := m["requests_failed_by_class"].(map[string]any); len(by) != 0 {
		t.Fatalf("requests_failed_by_class %v, want none", by)
	}
	if resent == 0 || m["connections_reset"] != resent {
		t.Fatalf("connections_reset %v, %d requests resent after a reset: want them equal and above 0", m["connections_reset"], resent)
	}
}
