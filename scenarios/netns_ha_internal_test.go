package scenarios

import (
	"testing"

	"github.com/lblab/lblab/history"
)

// TestMergeHANodes: in a high-availability lab each request is joined
// with the proxy that served it among several nodes' histories: it names
// that node (Answer) and its client's host (Src); a request no proxy
// logged (the last second of a killed one) names none; one still under
// way at the end is unknown, naming the node only when a proxy logged
// it (as its server).
func TestMergeHANodes(t *testing.T) {
	req := func(t0, t1 float64, status int, backend, errClass string) history.Event {
		return history.Event{Kind: history.KindRequest, Start: stamp(t0), T: stamp(t1), Client: "10.80.0.31",
			Status: status, Backend: backend, Error: errClass, Group: "web"}
	}
	lb1 := servedBy([]history.Event{req(1.0, 1.005, 200, "web1:8080", ""), req(2.0, 2.006, 200, "web2:8080", "")}, "lb1")
	lb2 := servedBy([]history.Event{req(5.0, 5.004, 200, "web1:8080", ""), req(7.9, 8.0, 200, "web2:8080", "")}, "lb2")
	client := []history.Event{
		req(1.0, 1.0052, 200, "web1:8080", ""),
		req(2.0, 2.0061, 200, "web2:8080", ""),
		req(3.0, 3.0051, 200, "web1:8080", ""), // lb1's last second, lost when it was killed
		req(4.0, 6.0, 0, "", "timeout"),
		req(5.0, 5.0042, 200, "web1:8080", ""),
		req(7.9, 8.0003, 200, "web2:8080", ""), // answered after the end (7.95): unknown
	}
	got := mergeLBHistories([]clientHistory{{Group: "web", Src: "client1", Events: client}},
		append(lb1, lb2...), nil, 7950*1e6)
	want := []struct {
		answer, class string
	}{{"lb1", ""}, {"lb1", ""}, {"", ""}, {"lb2", ""}, {"", "timeout"}, {"lb2", inFlight}}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(got), len(want), got)
	}
	for i, e := range got {
		if e.Src != "client1" || e.Answer != want[i].answer || e.Error != want[i].class {
			t.Errorf("event %d: src %q answer %q error %q, want client1, %q, %q", i, e.Src, e.Answer, e.Error, want[i].answer, want[i].class)
		}
	}
}
