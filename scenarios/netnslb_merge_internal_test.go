package scenarios

import (
	"fmt"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

func stamp(s float64) history.Stamp { return history.Stamp(time.Duration(s * float64(time.Second))) }

// TestMergeLBHistories: one request event per client request, with the
// proxy's side of the same request added; the proxy's clock shifted to
// the run's; health kept, faults added, time order; unknown at the end.
func TestMergeLBHistories(t *testing.T) {
	req := func(t0, t1 float64, client string, status int, backend, errClass string) history.Event {
		return history.Event{Kind: history.KindRequest, Start: stamp(t0), T: stamp(t1), Client: client,
			Status: status, Backend: backend, Error: errClass, Listener: "10.0.0.1:8001"}
	}
	preq := func(t0, t1 float64, client string, status int, backend, errClass string, tries int) history.Event {
		e := req(t0, t1, client, status, backend, errClass)
		e.Group, e.Listener, e.Tries = "active", "active", tries
		return e
	}
	// The proxy's time 0 is 0.5 s before the run's: its stamps are 0.5 s
	// ahead.
	const shift = -500 * time.Millisecond
	proxy := []history.Event{
		{T: stamp(0.2), Kind: history.KindHealth, Group: "active", Server: "a3:80", From: "up", To: "up"}, // warm-up: left out
		preq(1.5005, 1.52, "10.1.0.1", 200, "a1:80", "", 1),
		// Two requests of one address in flight at once, told apart by time.
		preq(2.501, 2.53, "10.1.0.1", 502, "a3:80", "refused", 1),
		preq(2.5105, 2.55, "10.1.0.1", 502, "a3:80", "reset", 1),
		{T: stamp(6.5), Kind: history.KindHealth, Group: "active", Server: "a3:80", From: "up", To: "down", Reason: "3 check(s) failed"},
		preq(9.4, 9.455, "10.1.0.1", 200, "a2:80", "", 1),     // answered; the client got it after the end
		preq(9.0, 9.1, "10.1.0.9", 200, "a2:80", "", 1),       // no client request of the lab: left out
		preq(8.0, 8.01, "10.1.0.2", 200, "a1:80", "", 1),      // a status the client did not get: no match
		preq(7.0001, 7.019, "10.1.0.3", 200, "a1:80", "", 2),  // the closest to the client's end
		preq(7.0001, 7.0225, "10.1.0.3", 200, "a1:80", "", 1), // further: left out
		preq(7.485, 7.509, "10.1.0.4", 200, "a1:80", "", 1),   // received 15 ms before its intended send: not it
	}
	clients := []clientHistory{{Listener: "active", Group: "active", Events: []history.Event{
		req(1.0, 1.021, "10.1.0.1:40000", 200, "a1:80", ""),
		req(2.0, 2.031, "10.1.0.1:40001", 502, "", ""),
		req(2.01, 2.051, "10.1.0.1:40002", 502, "", ""),
		req(3.0, 3.001, "10.1.0.5:40003", 0, "", "refused"), // the proxy never saw it
		req(6.5, 6.52, "10.1.0.3:40004", 200, "a1:80", ""),
		req(7.5, 7.51, "10.1.0.2:40005", 502, "", ""), // the 200 at 7.5 is not it
		req(7.0, 7.01, "10.1.0.4:40006", 200, "a1:80", ""),
		req(8.9, 9.2, "10.1.0.1:40007", 0, "", "cancelled"), // interrupted
		req(8.9, 8.96, "10.1.0.1:40008", 200, "a2:80", ""),  // after the end (8.95)
	}}}
	faults := []history.Event{{T: stamp(2.0), Kind: history.KindFault, Fault: "crash", Target: "a3:80", Name: "a3 crashes"}}
	for i := range proxy { // the proxy's stamps on the run's clock, as its --epoch puts them
		proxy[i].T += stamp(shift.Seconds())
		if proxy[i].Kind == history.KindRequest {
			proxy[i].Start += stamp(shift.Seconds())
		}
	}
	got := mergeLBHistories(clients, proxy, faults, 8950*time.Millisecond)

	var reqs []history.Event
	var others []string
	for i, e := range got {
		if i > 0 && e.T < got[i-1].T {
			t.Fatalf("out of time order at %d: %+v", i, e)
		}
		if e.Kind == history.KindRequest {
			reqs = append(reqs, e)
		} else {
			others = append(others, fmt.Sprintf("%s %g", e.Kind, time.Duration(e.T).Seconds()))
		}
	}
	if len(others) != 2 || others[0] != "fault 2" || others[1] != "health 6" {
		t.Fatalf("other events %q, want the fault at 2 s and a3 down at 6 s", others)
	}
	if len(reqs) != 9 {
		t.Fatalf("%d request events, want one per client request (9): %+v", len(reqs), reqs)
	}
	want := []struct {
		start   float64
		status  int
		backend string
		errc    string
		tries   int
	}{
		{1.0, 200, "a1:80", "", 1},
		{2.0, 502, "a3:80", "refused", 1},
		{2.01, 502, "a3:80", "reset", 1},
		{3.0, 0, "", "refused", 0},
		{6.5, 200, "a1:80", "", 2},
		{7.0, 200, "a1:80", "", 0},
		{7.5, 502, "", "", 0},
		{8.9, 0, "a2:80", "in_flight", 1},
		{8.9, 0, "", "in_flight", 0},
	}
	byStart := func(e history.Event) string { return fmt.Sprint(e.Start) + e.Error }
	seen := map[string]bool{}
	for _, w := range want {
		found := false
		for _, e := range reqs {
			if e.Start == stamp(w.start) && e.Status == w.status && e.Backend == w.backend && e.Error == w.errc &&
				e.Tries == w.tries && !seen[byStart(e)+e.Backend] {
				seen[byStart(e)+e.Backend], found = true, true
				if e.Listener != "active" || e.Group != "active" || e.Latency != e.T-e.Start {
					t.Errorf("names or latency: %+v", e)
				}
				if e.Error == "in_flight" && e.T != stamp(8.95) {
					t.Errorf("unknown request not stamped at the end: %+v", e)
				}
				if e.Client == "" || len(e.Client) > len("10.1.0.1") {
					t.Errorf("client %q, want the address alone", e.Client)
				}
			}
		}
		if !found {
			t.Errorf("no request %+v in %+v", w, reqs)
		}
	}
}

// TestMergeLBHistoriesVia: behind a proxy (via:), the proxy sees every
// request come from the via address, the load generator records the
// user: the two sides still meet, and the event keeps the user.
func TestMergeLBHistoriesVia(t *testing.T) {
	proxy := []history.Event{{Kind: history.KindRequest, Start: stamp(1.001), T: stamp(1.01), Client: "192.0.2.10",
		Group: "xff", Status: 502, Backend: "x2:80", Error: "refused", Tries: 1}}
	clients := []clientHistory{{Listener: "xff", Group: "xff", Via: "192.0.2.10", Events: []history.Event{
		{Kind: history.KindRequest, Start: stamp(1.0), T: stamp(1.011), Client: "10.1.2.3", Status: 502}}}}
	got := mergeLBHistories(clients, proxy, nil, 30*time.Second)
	if len(got) != 1 || got[0].Client != "10.1.2.3" || got[0].Backend != "x2:80" || got[0].Error != "refused" || got[0].Tries != 1 {
		t.Fatalf("merged %+v", got)
	}
}

// TestMergeLBHistoriesClientLatency: with client_latency 50 ms, the
// client gets the answer 50 ms after the proxy sent it: still the same
// request.
func TestMergeLBHistoriesClientLatency(t *testing.T) {
	proxy := []history.Event{{Kind: history.KindRequest, Start: stamp(1.05), T: stamp(1.07), Client: "198.18.2.1",
		Group: "web", Status: 200, Backend: "a:80", Tries: 1}}
	clients := []clientHistory{{Listener: "web", Group: "web", Latency: 50 * time.Millisecond, Events: []history.Event{
		{Kind: history.KindRequest, Start: stamp(1.0), T: stamp(1.121), Client: "198.18.2.1", Status: 200, Backend: "a:80"}}}}
	got := mergeLBHistories(clients, proxy, nil, 30*time.Second)
	if len(got) != 1 || got[0].Tries != 1 {
		t.Fatalf("merged %+v", got)
	}
	clients[0].Latency = 0
	if got := mergeLBHistories(clients, proxy, nil, 30*time.Second); got[0].Tries != 0 {
		t.Fatalf("matched 51 ms apart without a client latency: %+v", got)
	}
}

// TestMergeTCPExchanges: a tcp exchange (status 0 on both sides) gets
// the proxy's session, which ends after the client read the echo (the
// close goes both ways first); two exchanges of one address at once are
// told apart by the server whose greeting the client read, a failed one
// (no greeting) by the proxy's failed session, not a whole one.
func TestMergeTCPExchanges(t *testing.T) {
	ex := func(t0, t1 float64, backend, errClass string) history.Event {
		return history.Event{Kind: history.KindRequest, Start: stamp(t0), T: stamp(t1), Client: "10.1.0.1:40000",
			Backend: backend, Error: errClass}
	}
	sess := func(t0, t1 float64, backend, errClass string, tries int) history.Event {
		e := ex(t0, t1, backend, errClass)
		e.Client, e.Group, e.Listener, e.Tries = "10.1.0.1", "redis", "redis", tries
		return e
	}
	proxy := []history.Event{
		sess(1.0011, 1.0205, "r1:6379", "", 1), // ends 14.5 ms after the client's end
		sess(2.0012, 2.0105, "r2:6379", "", 2),
		sess(2.0013, 2.0110, "r1:6379", "", 3),
		sess(3.0010, 3.0060, "r1:6379", "", 6), // a whole session, closer: not the failed exchange's
		sess(3.0012, 3.0040, "r3:6379", "refused", 4),
		sess(4.5, 4.52, "r3:6379", "refused", 5), // accepted after the client's end: not it
	}
	clients := []clientHistory{{Listener: "redis", Group: "redis", TCP: true, Latency: time.Millisecond, Events: []history.Event{
		ex(1.0, 1.006, "r1:6379", ""),
		ex(2.0, 2.009, "r1:6379", ""),
		ex(2.0, 2.009, "r2:6379", ""),
		ex(3.0, 3.003, "", "reset"),
		ex(4.0, 4.003, "", "reset"),
	}}}
	got := mergeLBHistories(clients, proxy, nil, 10*time.Second)
	want := []int{1, 3, 2, 4, 0}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(got), len(want), got)
	}
	for i, e := range got {
		if e.Tries != want[i] {
			t.Errorf("exchange %d (%v, %s): tries %d, want %d (the proxy's session %d)", i, e.Start, e.Backend, e.Tries, want[i], want[i])
		}
	}
	if got[3].Backend != "r3:6379" || got[3].Error != "reset" {
		t.Errorf("the failed exchange: backend %q error %q, want r3:6379 and the client's reset", got[3].Backend, got[3].Error)
	}
}
