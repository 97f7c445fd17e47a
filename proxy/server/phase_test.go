package server

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/health"
	"github.com/lblab/lblab/units"
)

// probeClock is a backend that records when each health probe reached
// it, as time since the proxy's start.
type probeClock struct {
	mu  sync.Mutex
	at  []time.Duration
	b   *backend
	got chan struct{}
}

func newProbeClock(t *testing.T, name string, since func() time.Duration) *probeClock {
	pc := &probeClock{got: make(chan struct{}, 16)}
	pc.b = newBackend(t, name, func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() != "lblab-health" {
			return
		}
		pc.mu.Lock()
		pc.at = append(pc.at, since())
		pc.mu.Unlock()
		select {
		case pc.got <- struct{}{}:
		default:
		}
	})
	return pc
}

func (pc *probeClock) first() (time.Duration, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if len(pc.at) == 0 {
		return 0, false
	}
	return pc.at[0], true
}

// With Options.Seed the real proxy probes each server first at the phase
// health.Phase draws for the seed, the group and the server (where the
// simulator given the seed probes it); without, at the stagger i ×
// interval / n. A probe never comes before its time, and comes within a
// quarter of an interval after it: the seed is chosen so that each
// server's phase is farther than that from its staggered time, so that
// the two behaviours cannot be mistaken for one another.
func TestSeedPutsProbesAtTheCorePhase(t *testing.T) {
	const interval = 3 * time.Second
	slack := interval / 4
	for _, seeded := range []bool{true, false} {
		name := "staggered"
		if seeded {
			name = "seeded"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var srv *Server
			since := func() time.Duration {
				mu.Lock()
				defer mu.Unlock()
				if srv == nil {
					return -1
				}
				return srv.now()
			}
			var clocks []*probeClock
			var addrs []string
			for _, n := range []string{"a", "b", "c"} {
				pc := newProbeClock(t, n, since)
				clocks, addrs = append(clocks, pc), append(addrs, pc.b.addr)
			}
			want := make([]time.Duration, len(addrs))
			var opt Options
			if seeded {
				// The first seed whose phases all lie away from the stagger.
				for seed := uint64(1); opt.Seed == nil; seed++ {
					far := true
					for i, a := range addrs {
						want[i] = health.Phase(seed, "web", a, interval)
						d := want[i] - time.Duration(i)*interval/time.Duration(len(addrs))
						far = far && (d > slack || d < -slack)
					}
					if far {
						opt.Seed = &seed
					}
				}
			} else {
				for i := range want {
					want[i] = time.Duration(i) * interval / time.Duration(len(addrs))
				}
			}
			g := proxy.Group{Name: "web", Servers: servers(addrs...),
				HealthCheck: &proxy.HealthCheck{Path: "/health", Interval: units.Of(interval), Timeout: units.Of(interval)}}
			mu.Lock()
			p := startProxy(t, lb(g), opt)
			srv = p.Server
			mu.Unlock()
			// Every first probe is due within one interval of the start.
			deadline := time.After(interval + slack)
			for i, pc := range clocks {
				for {
					if _, ok := pc.first(); ok {
						break
					}
					select {
					case <-pc.got:
					case <-deadline:
						t.Fatalf("server %d (%s): no probe within %v of the start (want one at %v)", i, addrs[i], interval+slack, want[i])
					}
				}
			}
			for i, pc := range clocks {
				at, _ := pc.first()
				if at < want[i] || at > want[i]+slack {
					t.Errorf("server %d (%s): first probe at %v, want at %v (+%v at most)", i, addrs[i], at, want[i], slack)
				}
			}
		})
	}
}
