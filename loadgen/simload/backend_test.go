package simload

import (
	"github.com/lblab/lblab/loadgen/workload"
	"slices"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
)

// TestBackendResetsInAcceptanceOrder checks that a crash, or a restore
// after a hang, resets the requests a backend holds in the order it
// accepted them. The resets schedule the proxy's retries, so any other
// order (a map's) makes two runs of one seed differ.
func TestBackendResetsInAcceptanceOrder(t *testing.T) {
	const n = 64
	queue := 8
	cases := []struct {
		name  string
		spec  workload.Backend
		fault func(b *Backend)
	}{
		{"crash", workload.Backend{}, (*Backend).Crash},
		{"crash with a queue", workload.Backend{Concurrency: 4, Queue: &queue}, (*Backend).Crash},
		{"restore after a hang", workload.Backend{}, func(b *Backend) { b.Hang(); b.Restore() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := sim.NewKernel(1)
			c.spec.Address = "10.0.0.1:80"
			c.spec.Service = workload.Law{Mean: units.Of(time.Second)}
			b := NewBackend(k, c.spec)
			var got, want []int
			for i := range n {
				b.Serve(false, func(r simproxy.Reply) {
					if r.Outcome == attempt.Reset {
						got = append(got, i)
					}
				})
			}
			// Without a queue limit every request is held; with one, the
			// first 4 run, the next 8 wait and the rest get 503 at once.
			held := n
			if c.spec.Concurrency > 0 {
				held = c.spec.Concurrency + queue
			}
			for i := range held {
				want = append(want, i)
			}
			k.Run(500 * time.Millisecond)
			c.fault(b)
			if !slices.Equal(got, want) {
				t.Fatalf("reset order %v, want acceptance order %v", got, want)
			}
			// Nothing is left to answer later.
			k.Run(time.Minute)
			if len(got) != held {
				t.Fatalf("%d resets after the run, want %d", len(got), held)
			}
		})
	}
}
