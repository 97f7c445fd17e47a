package simload

import (
	"runtime"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
)

// A request in its steady state costs no heap object: the client's
// pending, the proxy's flight and try and the server's job come from
// their pools, with their callbacks bound once (the million-request
// benchmark's cost; it made about 20 objects a request before).
func TestRequestsAllocateNothing(t *testing.T) {
	k := sim.NewKernel(1)
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "web"}},
		Groups: []proxy.Group{{Name: "web", HealthCheck: &proxy.HealthCheck{Path: "/health", Interval: units.Of(time.Second)}}}}
	var bs []simproxy.Server
	for _, addr := range []string{"a:80", "b:80", "c:80"} {
		cfg.Groups[0].Servers = append(cfg.Groups[0].Servers, proxy.Server{Address: addr})
		bs = append(bs, NewBackend(k, workload.Backend{Address: addr,
			Service: workload.Law{Law: "lognormal", Median: units.Of(5 * time.Millisecond), P99: units.Of(50 * time.Millisecond)}}))
	}
	if ps := proxy.Validate(cfg); len(ps) > 0 {
		t.Fatal(ps)
	}
	p, err := simproxy.New(k, cfg, bs, simproxy.Network{}, &history.Log{})
	if err != nil {
		t.Fatal(err)
	}
	p.RecordRequests = false
	c := NewClients(k, p, workload.Clients{Rate: 5000}, 0, 10*time.Second, &history.Log{})
	c.Start()
	k.Run(2 * time.Second) // the pools and the kernel's queue grow to their working size
	sent := c.Sent
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	k.Run(4 * time.Second)
	runtime.ReadMemStats(&after)
	n := c.Sent - sent
	perRequest := float64(after.Mallocs-before.Mallocs) / float64(n)
	if n < 9000 || perRequest > 0.05 {
		t.Fatalf("%d requests made %d heap objects, %.3f a request; want none (at most 0.05)", n, after.Mallocs-before.Mallocs, perRequest)
	}
}

// A server's reply that comes after the proxy's read timeout reaches the
// try it was for, which has settled, and nothing else: not the flight a
// later request took from the pool meanwhile. Every request times out
// (504, one try), none gets the late 200.
func TestLateReplyMissesTheNextRequest(t *testing.T) {
	k, log := sim.NewKernel(1), &history.Log{}
	zero := 0
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "web"}},
		Groups: []proxy.Group{{Name: "web", ReadTimeout: units.Of(100 * time.Millisecond),
			Servers: []proxy.Server{{Address: "slow:80", MaxFails: &zero}}}}}
	if ps := proxy.Validate(cfg); len(ps) > 0 {
		t.Fatal(ps)
	}
	p, err := simproxy.New(k, cfg, []simproxy.Server{NewBackend(k, workload.Backend{Address: "slow:80",
		Service: workload.Law{Law: "constant", Mean: units.Of(300 * time.Millisecond)}})}, simproxy.Network{}, log)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClients(k, p, workload.Clients{Rate: 40, Arrival: "constant"}, 0, time.Second, log)
	c.Start()
	k.Run(2 * time.Second)
	c.Finish()
	n := 0
	for _, e := range log.Events() {
		if e.Kind != history.KindRequest {
			continue
		}
		n++
		if e.Status != 504 || e.Error != "timeout" || e.Tries != 1 {
			t.Fatalf("request started at %v: status %d error %q tries %d; want 504 timeout, 1 try", e.Start.Duration(), e.Status, e.Error, e.Tries)
		}
	}
	if n != 40 || c.Done != 40 || p.Answered != 0 {
		t.Fatalf("%d requests in the history, %d done, %d answered; want 40, 40, 0", n, c.Done, p.Answered)
	}
}
