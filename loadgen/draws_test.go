package loadgen

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen/simload"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
)

// lblab load --spec --seed N sends an open loop's requests when, and from
// whom, the simulator's clients of the same name send them in a lab run
// of seed N: the same users' addresses, the same Poisson arrivals (a
// ramp included), request for request. (Two independent draws of 100
// req/s differ by ±10% over 5 s: a lab's real run and its simulation
// would not see the same load in a fault's window.)
func TestSpecDrawsTheSimulatorsArrivals(t *testing.T) {
	for _, seed := range []uint64{1, 7} {
		c := workload.Clients{Name: "users-active", Rate: 100, Users: 40, Paths: []string{"/a", "/b", "/c"},
			Ramp: []workload.RampStep{{At: units.Of(2 * time.Second), Rate: 300}}, Stop: units.Of(4 * time.Second)}

		k, log := sim.NewKernel(seed), &history.Log{}
		cfg := &proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "web"}},
			Groups: []proxy.Group{{Name: "web", Servers: []proxy.Server{{Address: "a:80"}}}}}
		if ps := proxy.Validate(cfg); len(ps) > 0 {
			t.Fatal(ps)
		}
		p, err := simproxy.New(k, cfg, []simproxy.Server{simload.NewBackend(k, workload.Backend{Address: "a:80"})}, simproxy.Network{}, log)
		if err != nil {
			t.Fatal(err)
		}
		p.RecordRequests = true
		sc := simload.NewClients(k, p, c, 0, 10*time.Second, log)
		sc.Start()
		k.Run(10 * time.Second)
		sc.Finish()
		type arrival struct {
			at   history.Stamp
			user string
		}
		var simulated []arrival
		for _, e := range log.Events() {
			if e.Kind == history.KindRequest {
				simulated = append(simulated, arrival{e.Start, e.Client})
			}
		}
		slices.SortStableFunc(simulated, func(a, b arrival) int { return cmp.Compare(a.at.Duration(), b.at.Duration()) })

		spec := c
		lc := Config{Clients: &spec, Seed: seed}
		s, err := lc.normaliseSpec(target{host: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		var real []arrival
		for j := range s.arrivals {
			real = append(real, arrival{history.Stamp(j.at), s.users[j.user].addr.String()})
		}
		if len(simulated) < 500 || !slices.Equal(real, simulated) {
			n := min(len(real), len(simulated), 3)
			t.Fatalf("seed %d: lblab load drew %d arrivals (first %v), the simulator %d (first %v)",
				seed, len(real), real[:n], len(simulated), simulated[:n])
		}
	}
}
