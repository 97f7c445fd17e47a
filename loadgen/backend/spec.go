package backend

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/lblab/lblab/loadgen/workload"
)

// ProbeAgent is the User-Agent of lblab proxy's health probes
// (proxy/server); a backend made by FromSpec tells probes by it.
const ProbeAgent = "lblab-health"

// LawOf returns a lab's service-time law (workload.Law) as a Law, with
// the lab's meaning: the zero law is constant 10 ms, as in the simulator.
func LawOf(l workload.Law) Law {
	var text string
	switch l.Law {
	case "exponential":
		text = "exp:" + l.Mean.Or(workload.DefaultService).String()
	case "lognormal":
		text = "lognormal:" + l.Median.D.String() + "," + l.P99.D.String()
	default:
		text = l.Mean.Or(workload.DefaultService).String()
	}
	if l.Law != "lognormal" && l.Mean.IsSet() && l.Mean.D == 0 {
		return NoLatency
	}
	return Law{law: l, text: text}
}

// FromSpec returns the configuration of a lab's backend (a backends:
// element), named name (the X-Backend header; a lab's backends are named
// by their address, spec.Address, when name is ""). Every field means
// what it means in the simulator (loadgen/simload):
//
//   - service: each request waits a time drawn from the law (default
//     constant 10 ms) once it is being served, that is after any wait in
//     the queue.
//   - concurrency and queue: at most concurrency requests are served at
//     once (0: no limit); up to queue (default 1000) more wait, first come
//     first served; a request that finds the queue full is answered
//     workload.OverloadStatus (503) at once.
//   - errors: after its service time a request is answered with the
//     status of the first rule whose draw falls under its probability,
//     else 200 (the rules are tried in order, one draw each).
//   - health_path: a health probe of that path answers the health
//     endpoint's status (200 until switched at run time through
//     /_lblab/health or SetHealth), a probe of another path 404; without
//     it (or with /) a probe of any path answers the health status.
//     Probes skip the queue, the service time and the errors.
//
// Where the real world differs: the simulator knows a probe from a
// request; a real backend tells them by the User-Agent of lblab proxy's
// probes (ProbeAgent), so another checker's probe is served as a request.
// A request for HealthPath itself is also answered as a probe (by any
// client), so /healthz works without a spec's health_path. The draws
// come from a source seeded with seed and the connection's number, so a
// run's draws depend on the order the connections come in.
func FromSpec(name string, spec workload.Backend, seed uint64) (Config, error) {
	if err := spec.Check(); err != nil {
		return Config{}, fmt.Errorf("backend %s: %w", spec.Address, err)
	}
	if name == "" {
		name = spec.Address
	}
	cfg := Config{Name: name, Latency: LawOf(spec.Service), Errors: spec.Errors, Concurrency: spec.Concurrency,
		Queue: spec.QueueLimit(), ProbeAgent: ProbeAgent, ProbePath: spec.HealthPath, Seed: seed}
	if hp := spec.HealthPath; hp != "" && hp != "/" {
		cfg.HealthPath = hp
	}
	return cfg, nil
}

// newRand returns the random source of the next connection (Config.Seed).
func (s *Server) newRand() *rand.Rand {
	return rand.New(rand.NewPCG(s.cfg.Seed, s.connSeq.Add(1)))
}

// limiter admits at most limit requests at once and queues up to queue
// more, first come first served.
type limiter struct {
	limit, queue int

	mu      sync.Mutex
	active  int
	waiting []chan struct{}
}

// acquire takes a place for a request. It returns false, false when the
// queue is full (the request is to be answered OverloadStatus), and
// false, true when done closed while it waited.
func (l *limiter) acquire(done <-chan struct{}) (ok, closed bool) {
	l.mu.Lock()
	if l.active < l.limit {
		l.active++
		l.mu.Unlock()
		return true, false
	}
	if len(l.waiting) >= l.queue {
		l.mu.Unlock()
		return false, false
	}
	ch := make(chan struct{})
	l.waiting = append(l.waiting, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return true, false
	case <-done:
		l.mu.Lock()
		for i, w := range l.waiting {
			if w == ch {
				l.waiting = append(l.waiting[:i], l.waiting[i+1:]...)
				l.mu.Unlock()
				return false, true
			}
		}
		l.mu.Unlock()
		l.release() // the place was handed over meanwhile: give it on
		return false, true
	}
}

// release frees a place: the oldest waiting request takes it.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.waiting) > 0 {
		close(l.waiting[0])
		l.waiting = l.waiting[1:]
		return
	}
	l.active--
}

// load returns the requests served and waiting.
func (l *limiter) load() (active, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active, len(l.waiting)
}
