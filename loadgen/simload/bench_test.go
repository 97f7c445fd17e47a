package simload

import (
	"fmt"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy/simproxy"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
)

// millionWorld builds a 10-server group with active health checks and an
// open-loop client sending 20,000 requests per second for 50 s: one
// million requests.
func millionWorld(b *testing.B, record bool) (*sim.Kernel, *simproxy.Proxy, *Clients, time.Duration) {
	k := sim.NewKernel(1)
	cfg := &proxy.Config{
		Listeners: []proxy.Listener{{Port: 80, Group: "web"}},
		Groups: []proxy.Group{{Name: "web", HealthCheck: &proxy.HealthCheck{
			Path: "/health", Interval: units.Of(2 * time.Second)}}},
	}
	var bs []simproxy.Server
	for i := range 10 {
		addr := fmt.Sprintf("10.0.0.%d:80", i+1)
		cfg.Groups[0].Servers = append(cfg.Groups[0].Servers, proxy.Server{Address: addr})
		bs = append(bs, NewBackend(k, workload.Backend{Address: addr,
			Service: workload.Law{Law: "lognormal", Median: units.Of(5 * time.Millisecond), P99: units.Of(50 * time.Millisecond)}}))
	}
	if ps := proxy.Validate(cfg); len(ps) > 0 {
		b.Fatal(ps)
	}
	log := &history.Log{}
	p, err := simproxy.New(k, cfg, bs, simproxy.Network{}, log)
	if err != nil {
		b.Fatal(err)
	}
	p.RecordRequests = record
	end := 50 * time.Second
	c := NewClients(k, p, workload.Clients{Rate: 20000}, 0, end, log)
	c.Start()
	return k, p, c, end + time.Second
}

// BenchmarkMillionRequests runs one million simulated requests per op and
// reports the wall time per million and the cost of a request in kernel
// events, against the bare kernel's cost of an event measured in the same
// run (BenchmarkKernelReference).
func BenchmarkMillionRequests(b *testing.B) {
	for _, record := range []bool{false, true} {
		b.Run(fmt.Sprintf("history=%v", record), func(b *testing.B) {
			var events uint64
			var sent int
			for b.Loop() {
				k, _, c, end := millionWorld(b, record)
				k.Run(end)
				c.Finish()
				events, sent = k.Executed(), c.Sent
			}
			perReq := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(sent)
			b.ReportMetric(float64(sent), "requests/op")
			b.ReportMetric(perReq, "ns/request")
			b.ReportMetric(float64(events)/float64(sent), "events/request")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e6/float64(sent), "s/1M_requests")
		})
	}
}

// BenchmarkKernelReference is the bare kernel: one self-rescheduling timer
// per op, the reference a request's cost is compared with.
func BenchmarkKernelReference(b *testing.B) {
	k := sim.NewKernel(1)
	var tick func()
	tick = func() { k.After(time.Microsecond, tick) }
	k.After(0, tick)
	for b.Loop() {
		k.Step()
	}
}

// TestMillionWorldAccounts checks the benchmark's world on a short run:
// every request sent is answered, and the group's health checks ran.
func TestMillionWorldAccounts(t *testing.T) {
	k := sim.NewKernel(1)
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "web"}},
		Groups: []proxy.Group{{Name: "web", Servers: []proxy.Server{{Address: "a:80"}, {Address: "b:80"}}}}}
	proxy.Validate(cfg)
	log := &history.Log{}
	p, err := simproxy.New(k, cfg, []simproxy.Server{NewBackend(k, workload.Backend{Address: "a:80"}), NewBackend(k, workload.Backend{Address: "b:80"})}, simproxy.Network{}, log)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClients(k, p, workload.Clients{Rate: 1000, Arrival: "constant"}, 0, 2*time.Second, log)
	c.Start()
	k.Run(3 * time.Second)
	c.Finish()
	if c.Sent != 2000 || c.Done != 2000 || p.Answered != 2000 || len(log.Events()) != 2000 {
		t.Fatalf("sent %d, done %d, answered %d, events %d; want 2000 each", c.Sent, c.Done, p.Answered, len(log.Events()))
	}
}
