package simload

import (
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy/simproxy"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
)

// A request still in flight at the end of a run is written with the
// client that sent it, the group it was routed to, the server of its latest
// try and the tries made: a check on one group or one server sees it as
// unknown, not as missing.
func TestInFlightRequestsSayWhereTheyWere(t *testing.T) {
	k := sim.NewKernel(1)
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "web"}},
		Groups: []proxy.Group{{Name: "web", Servers: []proxy.Server{{Address: "fast:80"}, {Address: "hung:80"}}}}}
	if ps := proxy.Validate(cfg); len(ps) > 0 {
		t.Fatal(ps)
	}
	log := &history.Log{}
	bs := []simproxy.Server{NewBackend(k, workload.Backend{Address: "fast:80"}),
		NewBackend(k, workload.Backend{Address: "hung:80", Service: workload.Law{Law: "constant", Mean: units.Of(time.Hour)}})}
	p, err := simproxy.New(k, cfg, bs, simproxy.Network{}, log)
	if err != nil {
		t.Fatal(err)
	}
	p.RecordRequests = true
	c := NewClients(k, p, workload.Clients{Rate: 100, Arrival: "constant"}, 0, 2*time.Second, log)
	c.Start()
	k.Run(3 * time.Second)
	c.Finish()
	inFlight := 0
	for _, e := range log.Events() {
		if e.Kind != history.KindRequest || e.Error != "in_flight" {
			continue
		}
		inFlight++
		if e.Client == "" || e.Group != "web" || e.Backend != "hung:80" || e.Tries != 1 {
			t.Fatalf("in-flight request without its place: client %q group %q backend %q tries %d", e.Client, e.Group, e.Backend, e.Tries)
		}
	}
	if inFlight != 100 || c.Sent != 200 {
		t.Fatalf("%d in flight of %d sent; want half of 200 (round robin, one server hung)", inFlight, c.Sent)
	}
}

// A ramp to rate 0 sends nothing until it ramps up again (it sent one
// request every 100 ms while "paused").
func TestRampToZeroSendsNothing(t *testing.T) {
	k, log := sim.NewKernel(1), &history.Log{}
	p := webProxy(t, k, log, NewBackend(k, workload.Backend{Address: "a:80"}))
	cs := workload.Clients{Rate: 100, Arrival: "constant", Ramp: []workload.RampStep{{At: units.Of(time.Second), Rate: 0}, {At: units.Of(3 * time.Second), Rate: 50}}}
	c := NewClients(k, p, cs, 0, 4*time.Second, log)
	c.Start()
	k.Run(5 * time.Second)
	c.Finish()
	late := 0
	for _, e := range log.Events() {
		if s := e.Start.Duration(); e.Kind == history.KindRequest && s >= time.Second+10*time.Millisecond && s < 3*time.Second {
			late++
		}
	}
	// 100/s for 1 s, nothing for 2 s, 50/s for 1 s (the first arrival
	// after the pause comes at the next look, within 100 ms of 3 s).
	if late != 0 || c.Sent < 145 || c.Sent > 151 {
		t.Fatalf("sent %d, %d of them while the rate was 0; want about 150, none while paused", c.Sent, late)
	}
}

// webProxy builds a proxy with one listener, port 80, to one group, web,
// of the backends' addresses.
func webProxy(t *testing.T, k *sim.Kernel, log *history.Log, bs ...simproxy.Server) *simproxy.Proxy {
	t.Helper()
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "web"}}, Groups: []proxy.Group{{Name: "web"}}}
	for _, b := range bs {
		cfg.Groups[0].Servers = append(cfg.Groups[0].Servers, proxy.Server{Address: b.Address()})
	}
	if ps := proxy.Validate(cfg); len(ps) > 0 {
		t.Fatal(ps)
	}
	p, err := simproxy.New(k, cfg, bs, simproxy.Network{}, log)
	if err != nil {
		t.Fatal(err)
	}
	p.RecordRequests = true
	return p
}
