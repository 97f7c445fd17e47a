package simload

import (
	"math/rand/v2"
	"time"

	"github.com/lblab/lblab/internal/freelist"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/flow"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
)

// backendState is what a fault did to a backend.
type backendState int

const (
	running    backendState = iota
	crashed                 // the process died: connections are refused
	poweredOff              // the host is gone: connections time out
)

// Backend is a simulated server (workload.Backend) on the simulator's
// virtual time; the simulated proxy (proxy/simproxy) forwards to it.
type Backend struct {
	spec     workload.Backend
	k        *sim.Kernel
	rnd      *rand.Rand
	state    backendState
	hung     bool
	slow     float64
	healthOK bool
	queueMax int
	// body is how long each response's body takes after its header;
	// closeReused: requests on reused connections find them closed.
	body        time.Duration
	closeReused bool

	active int
	queue  []*job
	// jobs are the requests accepted and not answered, oldest first. A
	// list, not a map: a crash resets them in this order, and the resets
	// schedule the proxy's retries, so the order is part of the run.
	jobs chain[job, *job]
	// spare is the pool of jobs done with (see job).
	spare freelist.List[job]
}

// job is one request on a backend.
//
// Jobs are pooled (Backend.spare) so that a request costs no heap object
// of its own. The ownership rule: Serve takes one; it goes back to the
// pool once it has left jobs and the queue with its timer stopped or
// fired, its done read out first, and nothing reads it after that: its
// done is then called (finish, dropAll, a refusal in Serve) or never will
// be (PowerOff).
type job struct {
	b      *Backend
	done   func(simproxy.Reply)
	timer  sim.Timer
	link   links[job] // in Backend.jobs
	onDone func()     // finish(j), bound once per pooled job
	// echo: a tcp echo (Echo), outside the concurrency and the queue.
	echo bool
}

// chainLinks returns j's place in Backend.jobs.
func (j *job) chainLinks() *links[job] { return &j.link }

// free gives j back to the pool; see job for when.
func (b *Backend) free(j *job) {
	j.done, j.timer, j.link, j.echo = nil, sim.Timer{}, links[job]{}, false
	b.spare.Put(j)
}

// stopTimers stops the service timer of every job in b.jobs.
func (b *Backend) stopTimers() {
	for j := b.jobs.first; j != nil; j = j.link.next {
		j.timer.Stop()
	}
}

// NewBackend returns a running backend.
func NewBackend(k *sim.Kernel, s workload.Backend) *Backend {
	b := &Backend{spec: s, k: k, rnd: k.Rand("backend/" + s.Address), slow: 1, healthOK: true,
		queueMax: s.QueueLimit()}
	b.spare = freelist.New(func() *job {
		j := &job{b: b}
		j.onDone = j.finish
		return j
	})
	return b
}

// Address returns the backend's host:port.
func (b *Backend) Address() string { return b.spec.Address }

// Connect says how a connection attempt ends: accepted, refused, or never
// answered.
func (b *Backend) Connect() attempt.Outcome {
	switch b.state {
	case crashed:
		return attempt.Refused
	case poweredOff:
		return attempt.ConnectTimeout
	}
	return attempt.Answered
}

// Serve takes a request on an accepted connection (reused: a kept-alive
// one); done is called with the reply (never, while the backend hangs).
func (b *Backend) Serve(reused bool, done func(simproxy.Reply)) {
	if reused && b.closeReused {
		done(simproxy.Reply{Outcome: attempt.Reset})
		return
	}
	j := b.spare.Get()
	j.done = done
	b.jobs.push(j)
	if b.hung {
		return
	}
	if b.spec.Concurrency > 0 && b.active >= b.spec.Concurrency {
		if len(b.queue) >= b.queueMax {
			b.jobs.remove(j)
			b.free(j)
			done(simproxy.Reply{Outcome: attempt.Answered, Status: 503, Body: b.body})
			return
		}
		b.queue = append(b.queue, j)
		return
	}
	b.start(j)
}

func (b *Backend) start(j *job) {
	b.active++
	d := time.Duration(float64(b.spec.Service.Sample(b.rnd)) * b.slow)
	j.timer = b.k.After(d, j.onDone)
}

// finish is j's service done: its reply goes, and the next queued job
// starts.
func (j *job) finish() {
	b, done := j.b, j.done
	if j.echo {
		b.jobs.remove(j)
		b.free(j)
		done(simproxy.Reply{Outcome: attempt.Answered})
		return
	}
	b.active--
	b.jobs.remove(j)
	b.free(j)
	done(simproxy.Reply{Outcome: attempt.Answered, Status: b.spec.Status(b.rnd), Body: b.body})
	if len(b.queue) > 0 && !b.hung {
		next := b.queue[0]
		b.queue = b.queue[1:]
		b.start(next)
	}
}

// Echo takes a line a tcp client sent on an accepted connection, as
// lblab backend's TCP echo serves it: the echo leaves after a service
// time drawn from the law (times Slow's factor), every line on its own
// (the echo server has no concurrency limit, no queue and no injected
// statuses). A crashed server resets the connection (at once, or when it
// crashes while the line waits: Crash), a powered-off or hung one never
// answers.
func (b *Backend) Echo(done func(simproxy.Reply)) {
	switch b.state {
	case crashed:
		done(simproxy.Reply{Outcome: attempt.Reset})
		return
	case poweredOff:
		return
	}
	j := b.spare.Get()
	j.done, j.echo = done, true
	b.jobs.push(j)
	if b.hung {
		return
	}
	d := time.Duration(float64(b.spec.Service.Sample(b.rnd)) * b.slow)
	j.timer = b.k.After(d, j.onDone)
}

// Probe answers a health probe (either method, GET or HEAD, gets the
// same status): its status, or how it failed.
func (b *Backend) Probe(pr flow.Probe) (status int, out attempt.Outcome) {
	if o := b.Connect(); o != attempt.Answered {
		return 0, o
	}
	if !pr.HTTP {
		return 0, attempt.Answered // a TCP check only connects: a hung server passes
	}
	if b.hung {
		return 0, attempt.ReadTimeout
	}
	health := 200
	if !b.healthOK {
		health = 503
	}
	return b.spec.ProbeStatus(pr.Path, health), attempt.Answered
}

// dropAll ends every accepted request with a reset (the process died or
// restarted), oldest first.
func (b *Backend) dropAll() {
	first := b.jobs.first
	b.jobs = chain[job, *job]{}
	b.queue, b.active = nil, 0
	for j := first; j != nil; {
		next, done := j.link.next, j.done
		j.timer.Stop()
		b.free(j)
		done(simproxy.Reply{Outcome: attempt.Reset})
		j = next
	}
}

// Crash kills the server process: requests in progress are reset and new
// connections are refused.
func (b *Backend) Crash() {
	b.state = crashed
	b.dropAll()
}

// PowerOff takes the whole host away silently: requests in progress never
// end and new connections time out.
func (b *Backend) PowerOff() {
	b.state = poweredOff
	first := b.jobs.first
	b.jobs, b.queue, b.active = chain[job, *job]{}, nil, 0
	for j := first; j != nil; {
		next := j.link.next
		j.timer.Stop()
		b.free(j) // its done is never called
		j = next
	}
}

// Hang makes the server accept connections and never answer.
func (b *Backend) Hang() {
	b.hung = true
	b.stopTimers()
	b.queue, b.active = nil, 0
}

// Slow multiplies its service times by factor.
func (b *Backend) Slow(factor float64) { b.slow = factor }

// SlowBody makes each response's body take d to follow its header (0, the
// default: it comes with the header). The proxy relays it, and its try
// ends, only then.
func (b *Backend) SlowBody(d time.Duration) { b.body = d }

// CloseReused, while on, makes the server close each kept-alive
// connection the proxy reuses as a request arrives on it, without an
// answer: its own keep-alive timeout racing the proxy's reuse, every
// time. New connections are served as usual. Default off.
func (b *Backend) CloseReused(on bool) { b.closeReused = on }

// SetHealth makes its health endpoint answer 200 (ok) or 503.
func (b *Backend) SetHealth(ok bool) { b.healthOK = ok }

// Restore brings the server back to normal. A crashed, powered-off or hung
// server comes back freshly started (requests it still held are reset); a
// slow one just speeds up again.
func (b *Backend) Restore() {
	if b.state != running || b.hung {
		b.dropAll()
	}
	b.state, b.hung, b.slow = running, false, 1
}
