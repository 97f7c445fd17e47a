package simload

import (
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
)

// tcpRun runs 100 exchanges a second (constant arrivals) for a second on
// a tcp listener to group cache of servers a:6379 and b:6379, echoing
// after service each; at crashAt (when not 0) fault hits a. It returns
// the request events.
func tcpRun(t *testing.T, g proxy.Group, service time.Duration, crashAt time.Duration, fault func(*Backend)) []history.Event {
	t.Helper()
	k, log := sim.NewKernel(1), &history.Log{}
	g.Name = "cache"
	g.Servers = []proxy.Server{{Address: "a:6379"}, {Address: "b:6379"}}
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Name: "cache", Port: 6379, Protocol: proxy.ProtoTCP, Group: "cache"}},
		Groups: []proxy.Group{g}}
	if ps := proxy.Validate(cfg); len(ps) > 0 {
		t.Fatal(ps)
	}
	law := workload.Law{Law: "constant", Mean: units.Of(service)}
	a := NewBackend(k, workload.Backend{Address: "a:6379", Service: law})
	b := NewBackend(k, workload.Backend{Address: "b:6379", Service: law})
	p, err := simproxy.New(k, cfg, []simproxy.Server{a, b}, simproxy.Network{}, log)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClients(k, p, workload.Clients{Rate: 100, Arrival: "constant", Timeout: units.Of(2 * time.Second)}, 0, time.Second, log)
	c.Start()
	if crashAt > 0 {
		k.At(crashAt, func() { fault(a) })
	}
	k.Run(5 * time.Second)
	c.Finish()
	var out []history.Event
	for _, e := range log.Events() {
		if e.Kind != history.KindRequest {
			continue
		}
		if e.Status != 0 {
			t.Fatalf("exchange %+v has status %d: a tcp exchange has none", e, e.Status)
		}
		out = append(out, e)
	}
	if len(out) != c.Sent || c.Sent != 100 {
		t.Fatalf("%d request events of %d sent, want 100", len(out), c.Sent)
	}
	return out
}

// An exchange on a tcp listener is what lblab load tcp:// makes: a
// connection of its own, the greeting, the line, its echo. Its event has
// status 0 and no error, the server that echoed, and the latency of two
// round trips over both hops (1 ms to the proxy, 250 µs on to the
// server: 5 ms) and the server's service time.
func TestTCPExchangesEcho(t *testing.T) {
	evs := tcpRun(t, proxy.Group{}, 5*time.Millisecond, 0, nil)
	count := map[string]int{}
	for _, e := range evs {
		if e.Status != 0 || e.Error != "" || e.Listener != "cache" || e.Group != "cache" || e.Tries != 1 {
			t.Fatalf("exchange %+v: want status 0, no error, listener and group cache, 1 try", e)
		}
		if got := e.Latency.Duration(); got != 10*time.Millisecond {
			t.Fatalf("exchange latency %v, want 10ms (4 × 1 ms + 4 × 250 µs + 5 ms)", got)
		}
		count[e.Backend]++
	}
	if count["a:6379"] != 50 || count["b:6379"] != 50 {
		t.Fatalf("exchanges by server %v, want 50 and 50 (round robin)", count)
	}
}

// A tcp server that crashes resets the exchanges it holds (the client
// sees the connection close: reset, with that server), and refuses the
// next connects: each is a failed try (max_fails 1 takes it out for
// fail_timeout) passed on to the other server (next_upstream error), so
// no exchange sent after the crash fails.
func TestTCPBackendCrashResetsAndRefuses(t *testing.T) {
	crash := 500 * time.Millisecond
	evs := tcpRun(t, proxy.Group{}, 50*time.Millisecond, crash, (*Backend).Crash)
	resets, retried := 0, 0
	for _, e := range evs {
		switch {
		case e.Error == "reset":
			resets++
			if e.Backend != "a:6379" || e.Start.Duration() >= crash {
				t.Errorf("reset exchange %+v: want one on a:6379 sent before the crash", e)
			}
		case e.Error != "":
			t.Errorf("exchange %+v failed with %s", e, e.Error)
		case e.Start.Duration() >= crash && e.Backend != "b:6379":
			t.Errorf("exchange %+v sent after the crash went to %s", e, e.Backend)
		case e.Tries == 2:
			retried++
		}
	}
	// 50 ms of service at 50 exchanges a second on a: 2 or 3 in progress.
	if resets < 2 || resets > 3 || retried != 1 {
		t.Fatalf("%d exchanges reset, %d passed on; want 2 or 3 reset (those in progress on a), 1 passed on (then a is out)", resets, retried)
	}
}

// With next_upstream off, a refused connect ends the exchange: the load
// balancer closes the client's connection (reset), and max_fails takes
// the server out, so it is the only one.
func TestTCPRefusedWithoutRetryResets(t *testing.T) {
	crash := 500 * time.Millisecond
	evs := tcpRun(t, proxy.Group{NextUpstream: &proxy.NextUpstream{On: []string{"off"}}}, time.Millisecond, crash,
		(*Backend).Crash)
	var failed []history.Event
	for _, e := range evs {
		if e.Error != "" {
			failed = append(failed, e)
		}
	}
	if len(failed) != 1 || failed[0].Error != "reset" || failed[0].Backend != "a:6379" || failed[0].Tries != 1 ||
		failed[0].Start.Duration() < crash {
		t.Fatalf("failed exchanges %+v; want one, reset, on a:6379 after the crash, 1 try", failed)
	}
}

// A hung tcp server accepts and never echoes: its exchanges end at the
// client's timeout (2 s), or are in flight at the end; a powered-off one
// never answers the connect: after connect_timeout the try passes on.
func TestTCPHangAndPowerOff(t *testing.T) {
	evs := tcpRun(t, proxy.Group{}, time.Millisecond, 500*time.Millisecond, (*Backend).Hang)
	timeouts := 0
	for _, e := range evs {
		if e.Error == "timeout" {
			timeouts++
			if e.Latency.Duration() != 2*time.Second {
				t.Errorf("timed-out exchange %+v: want a latency of the client's 2 s timeout", e)
			}
		} else if e.Error != "" {
			t.Errorf("exchange %+v failed with %s, want timeout", e, e.Error)
		}
	}
	if timeouts != 25 { // every other exchange of the last 500 ms
		t.Fatalf("%d exchanges timed out, want 25 (those on a after it hung)", timeouts)
	}
	evs = tcpRun(t, proxy.Group{ConnectTimeout: units.Of(300 * time.Millisecond)}, time.Millisecond, 500*time.Millisecond,
		(*Backend).PowerOff)
	slow := 0
	for _, e := range evs {
		if e.Error != "" {
			t.Errorf("exchange %+v failed, want every one echoed", e)
		}
		if e.Tries == 2 {
			slow++
			if e.Backend != "b:6379" || e.Latency.Duration() < 300*time.Millisecond {
				t.Errorf("passed-on exchange %+v: want b:6379 after the 300 ms connect timeout", e)
			}
		}
	}
	if slow == 0 {
		t.Fatal("no exchange passed on after a connect timeout")
	}
}
