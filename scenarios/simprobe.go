package scenarios

import (
	"net"
	"net/netip"
	"time"

	"github.com/lblab/lblab/loadgen/probe"
	"github.com/lblab/lblab/loadgen/simload"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/sim"
)

// The probes of a high-availability lab in the simulator: from a host's
// stack (simload.Stack), across the simulated network, one every
// interval from a phase drawn from the seed, each written as a net event
// when it ends (answered, or its error class after its timeout). A probe
// still waiting at the end of the run is not written (unknown).
// Each probe's event comes from the probe core's constructor
// (loadgen/probe), the one lblab probe uses on real hosts.

// probeRun is one probe of a stream: what it sends and how its end
// is recorded.
type probeRun struct {
	w     *simWorld
	p     labfile.Probe
	st    *simload.Stack
	addr  netip.Addr
	sent  time.Duration
	ended bool
}

// startProbe schedules the probes of p from its host's stack.
func (w *simWorld) startProbe(p labfile.Probe, st *simload.Stack) {
	host, _, err := net.SplitHostPort(p.To)
	if err != nil {
		host = p.To
	}
	addr, _ := netip.ParseAddr(host) // checked by validate
	phase := time.Duration(w.k.Rand(probeStream(p)).Int64N(int64(p.Interval.D)))
	end := w.lab.RunDuration()
	var next func()
	next = func() {
		now := w.k.Now()
		if now >= end {
			return
		}
		r := &probeRun{w: w, p: p, st: st, addr: addr, sent: now}
		r.send()
		w.k.At(now+p.Interval.D, next)
	}
	w.k.At(p.Start.D+phase, next)
}

// send sends the probe and arms its timeout.
func (r *probeRun) send() {
	w := r.w
	switch r.p.Kind {
	case "tcp":
		c := r.st.Dial(r.addr, r)
		w.k.At(r.sent+r.p.Timeout.D, func() {
			if !r.ended {
				c.Close()
				r.end(false, "", "timeout")
			}
		})
	default:
		id := r.st.Ping(r.addr, func(answer string) { r.end(true, answer, "") })
		w.k.At(r.sent+r.p.Timeout.D, func() {
			if !r.ended {
				r.st.Unping(id)
				r.end(false, "", "timeout")
			}
		})
	}
}

// Opened: the tcp probe's connection was accepted; it closes at once.
func (r *probeRun) Opened(c *simload.Conn, peer string) {
	c.Close()
	r.end(true, peer, "")
}

// Response is never heard: a probe sends no request.
func (r *probeRun) Response(*simload.Conn, uint64) {}

// Failed: the connect was refused or reset.
func (r *probeRun) Failed(_ *simload.Conn, class string) { r.end(false, "", class) }

// end writes the probe's net event, once, through the probe core's one
// constructor (probe.Spec.Event), as lblab probe does on real hosts.
func (r *probeRun) end(ok bool, answer, class string) {
	if r.ended {
		return
	}
	r.ended = true
	spec := probe.Spec{Name: r.p.Name, From: r.p.From, To: r.p.To, Kind: probe.Kind(r.p.Kind),
		Interval: r.p.Interval.D, Timeout: r.p.Timeout.D}
	res := probe.Result{Sent: r.sent, Ended: r.w.k.Now(), Answered: ok, Answer: answer}
	if !ok {
		res.Error = probe.Class(class)
	}
	r.w.sink.Add(spec.Event(res))
}

// probeStream is the random stream of probe p's phase.
func probeStream(p labfile.Probe) string { return "probe/" + p.Name }

// probePhase is the phase the simulator draws for probe p with seed (the
// first probe's send time after its start), for the real worlds to send
// theirs at the same moments.
func probePhase(seed uint64, p labfile.Probe) time.Duration {
	return time.Duration(sim.NewKernel(seed).Rand(probeStream(p)).Int64N(int64(p.Interval.D)))
}
