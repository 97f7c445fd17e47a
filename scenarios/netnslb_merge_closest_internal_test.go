package scenarios

import (
	"testing"

	"github.com/lblab/lblab/history"
)

// Two requests from one address end within clockSlack of each other,
// the first one's answer read 6 ms after its proxy (lb1) wrote it (a
// busy machine): the first must not take the proxy event of the second
// (lb2's), which fits the second better, and leave the second without
// its node.
func TestMergeTakesClosestPairsFirst(t *testing.T) {
	req := func(t0, t1 float64) history.Event {
		return history.Event{Kind: history.KindRequest, Start: stamp(t0), T: stamp(t1), Client: "10.80.0.31",
			Status: 200, Backend: "web1:8080", Group: "web"}
	}
	lb1 := servedBy([]history.Event{req(0.001, 0.014)}, "lb1")
	lb2 := servedBy([]history.Event{req(0.016, 0.0208)}, "lb2")
	client := []history.Event{req(0, 0.020), req(0.015, 0.021)}
	got := mergeLBHistories([]clientHistory{{Group: "web", Src: "client1", Events: client}},
		append(lb1, lb2...), nil, 10e9)
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2: %+v", len(got), got)
	}
	for i, want := range []string{"lb1", "lb2"} {
		if got[i].Answer != want {
			t.Errorf("request %d (sent at %v): answered by %q, want %s", i, got[i].Start, got[i].Answer, want)
		}
	}
}

// A request lb2 took and could not answer (it gave the VIP up) is still
// in flight when the run ends and the load generator cancels it: it is
// not paired with lb1's event of another request ending then.
func TestMergeUnknownNotPairedAtTheEnd(t *testing.T) {
	lb1 := servedBy([]history.Event{{Kind: history.KindRequest, Start: stamp(15.995), T: stamp(16.001),
		Client: "10.80.0.31", Status: 200, Backend: "web1:8080", Group: "web"}}, "lb1")
	client := []history.Event{{Kind: history.KindRequest, Start: stamp(12.0189), T: stamp(16.002),
		Client: "10.80.0.31", Error: classCancelled, Group: "web"}}
	got := mergeLBHistories([]clientHistory{{Group: "web", Src: "client1", Events: client}}, lb1, nil, 16e9)
	if len(got) != 1 || got[0].Error != inFlight || got[0].Answer != "" || got[0].Backend != "" {
		t.Fatalf("got %+v, want one request in flight, no answer, no backend", got)
	}
}
