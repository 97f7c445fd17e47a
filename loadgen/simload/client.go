// Package simload is the simulated load of a lab: client populations
// (workload.Clients) that send requests to the simulated proxy
// (proxy/simproxy) on the simulator's virtual time, and the simulated
// servers (workload.Backend) the proxy forwards to. They stand beside the real
// load generator (loadgen) and the real backend (loadgen/backend), and
// read the same specs (loadgen/workload).
package simload

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/internal/freelist"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
)

// user is one simulated user.
type user struct {
	addr    netip.Addr
	name    string // addr as the history writes it
	cookies map[string]string
	headers map[string]string // by lower-case name; nil without workload.Clients.Headers
	// loop and think are a closed-loop user's next request and its think
	// time before it, bound once per user (Clients.loop).
	loop, think func()
}

// Clients drives one workload.Clients against the simulated proxy.
type Clients struct {
	spec    workload.Clients
	k       *sim.Kernel
	p       *simproxy.Proxy
	rnd     *rand.Rand
	users   []*user
	via     netip.Addr
	host    string      // the Host field
	fields  [][2]string // the generator's own fields (workload.Clients.GeneratorFields)
	stop    time.Duration
	timeout time.Duration // workload.Clients.Timeout, default workload.DefaultTimeout
	record  bool
	log     history.Sink
	// Sent, Done and TimedOut count requests sent, answered (or failed)
	// and given up by the client after its timeout (workload.Clients.
	// Timeout); the rest are in flight: Sent = Done + TimedOut + in flight.
	Sent, Done, TimedOut int
	// open lists the requests the clients still wait for, oldest
	// first; spare is the pool of pendings done with (see pending).
	open  chain[pending, *pending]
	spare freelist.List[pending]
	// onArrive is arrive, bound once (a method value allocates each time
	// it is made).
	onArrive func()
	// path carries the requests across the simulated network (Via); nil
	// when they reach the proxy directly. src is its host's name.
	path *hostPath
	src  string
}

// NewClients prepares a client population; Start schedules its load. end
// is the lab's end (the default stop).
func NewClients(k *sim.Kernel, p *simproxy.Proxy, spec workload.Clients, index int, end time.Duration, log history.Sink) *Clients {
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("clients%d", index)
	}
	if spec.Listener == "" {
		spec.Listener = p.DefaultListener()
	}
	spec = spec.WithDefaults()
	c := &Clients{spec: spec, k: k, p: p, rnd: k.Rand("clients/" + spec.Name), stop: spec.Stop.Or(end),
		timeout: spec.Timeout.Or(workload.DefaultTimeout), record: true, log: log}
	c.onArrive = c.arrive
	c.spare = freelist.New(func() *pending {
		pend := &pending{c: c}
		pend.onTimeout, pend.onArrive, pend.onDeliver = pend.timedOut, pend.arrive, pend.deliver
		pend.onAnswer = pend.answered
		return pend
	})
	if c.timeout <= 0 {
		c.timeout = workload.DefaultTimeout // refused in a lab; Check says so
	}
	for i, addr := range spec.UserAddrs(spec.Users, c.rnd) {
		u := &user{addr: addr, name: addr.String(), cookies: map[string]string{}, headers: spec.UserHeaders(i + 1)}
		u.loop = func() { c.loop(u) }
		u.think = func() { c.k.After(c.spec.Think.D, u.loop) }
		c.users = append(c.users, u)
	}
	if spec.Via != "" {
		c.via = netip.MustParseAddr(spec.Via)
	}
	// The request is the one lblab load --spec (without -k) sends to the
	// listener: the spec's host or the listener's address.
	c.host = spec.Host
	if c.host == "" {
		c.host = p.TargetHost(spec.Listener)
	}
	c.fields = spec.GeneratorFields(c.host, false)
	return c
}

// Start schedules the load.
func (c *Clients) Start() {
	start := c.spec.Start.D
	if c.spec.Mode == "closed" {
		for i, u := range c.users {
			// Spread the first requests over one millisecond per user.
			c.k.At(start+time.Duration(i)*time.Millisecond/time.Duration(len(c.users)), u.loop)
		}
		return
	}
	c.k.At(start, c.onArrive)
}

// arrive sends one open-loop request and schedules the next arrival.
func (c *Clients) arrive() {
	now := c.k.Now()
	if now >= c.stop {
		return
	}
	r := c.spec.RateAt(now)
	if r > 0 { // a ramp to rate 0 sends nothing until it ramps up again
		u := c.users[c.rnd.IntN(len(c.users))]
		c.send(u, now, nil)
	}
	if r > 0 || len(c.spec.Ramp) > 0 {
		c.k.At(now+c.spec.Gap(r, c.rnd), c.onArrive)
	}
}

// loop is one closed-loop user: ask, wait, think, ask again.
func (c *Clients) loop(u *user) {
	if c.k.Now() >= c.stop {
		return
	}
	c.send(u, c.k.Now(), u.think)
}

// send sends a request meant to leave at intended; then runs after the
// answer arrives, or after the client gave up on it: at intended + its
// timeout the request ends at the client as timed out (status 0, error
// timeout, as lblab load records it) and the client closes its
// connection, which the proxy sees a client latency later (Abort: a 499
// there, not the server's failure); an answer after that is dropped.
func (c *Clients) send(u *user, intended time.Duration, then func()) {
	c.Sent++
	pend := c.spare.Get()
	pend.u, pend.intended, pend.then, pend.waiting = u, intended, then, true
	c.open.push(pend)
	pend.req = simproxy.Request{Listener: c.spec.Listener, Conn: u.addr, Host: c.host, Method: c.spec.Method, Fields: c.fields,
		URI: c.spec.Paths[c.rnd.IntN(len(c.spec.Paths))], Cookies: u.cookies, Headers: u.headers,
		Intended: intended, User: u.addr,
		Progress: &pend.progress}
	req := &pend.req
	lat := c.p.Network().ClientLatency
	if c.path != nil {
		lat = c.path.latency()
	}
	req.Abort = intended + c.timeout + lat
	if h, ok := u.headers["host"]; ok {
		req.Host = h
	}
	if c.via.IsValid() {
		req.Conn, req.XFF = c.via, u.name
	}
	pend.timer = c.k.At(intended+c.timeout, pend.onTimeout)
	if c.path != nil {
		c.path.send(pend)
		return
	}
	c.k.At(intended+lat, pend.onArrive)
}

// timedOut is the client giving up on the request after its timeout.
func (pend *pending) timedOut() {
	c := pend.c
	c.open.remove(pend)
	pend.waiting = false
	c.TimedOut++
	if c.path != nil {
		c.path.gaveUp(pend)
	}
	if c.record && c.p.RecordRequests {
		now, intended := c.k.Now(), pend.intended
		c.log.Add(history.Event{T: history.Stamp(now), Kind: history.KindRequest, Src: c.src, Client: pend.u.name,
			Listener: c.spec.Listener, Group: pend.progress.Group, Tries: pend.progress.Tries,
			Error: ClassTimeout, Start: history.Stamp(intended), Latency: history.Stamp(now - intended), Resent: pend.resent})
	}
	if pend.then != nil {
		pend.then()
	}
}

// arrive is the request reaching the proxy, a client latency after it left.
func (pend *pending) arrive() { pend.c.p.Handle(pend.req, pend.onAnswer) }

// answered is the proxy's response leaving it: it reaches the client a
// client latency later.
func (pend *pending) answered(r simproxy.Response) {
	pend.resp = r
	c := pend.c
	c.k.After(c.p.Network().ClientLatency, pend.onDeliver)
}

// deliver is the response reaching the client, which takes it unless it
// gave up on the request already. The pending goes back to the pool.
func (pend *pending) deliver() {
	c, u, r := pend.c, pend.u, &pend.resp
	if pend.waiting {
		pend.timer.Stop()
		c.open.remove(pend)
		pend.waiting = false
		c.Done++
		if r.SetCookie[0] != "" {
			u.cookies[r.SetCookie[0]] = r.SetCookie[1]
		}
		if c.record && c.p.RecordRequests {
			c.log.Add(c.event(pend))
		}
		if pend.then != nil {
			pend.then()
		}
	}
	if !pend.keep {
		c.free(pend)
	}
}

// event is the request event of pend, answered (its response reached
// the client).
func (c *Clients) event(pend *pending) history.Event {
	now, r := c.k.Now(), &pend.resp
	ev := history.Event{T: history.Stamp(now), Kind: history.KindRequest, Src: c.src, Client: pend.u.name, Answer: r.Node,
		Listener: c.spec.Listener, Group: r.Group, Backend: r.Backend, Status: r.Status, Error: r.Error,
		Start: history.Stamp(pend.intended), Latency: history.Stamp(now - pend.intended), Tries: r.Tries,
		Resent: pend.resent}
	if r.Moved != "" {
		ev.Reason = "session moved from " + r.Moved
	}
	return ev
}

// pending is a request sent: when it was meant to leave, by whom, how
// far the proxy has taken it, and its events' callbacks.
//
// Pendings are pooled (Clients.spare) so that a request costs no heap
// object of its own. The ownership rule: send takes one; it goes back to
// the pool at the end of deliver, the proxy's response reaching the
// client, whether the client still waited for it (answered) or had given
// up (timed out: it left Clients.open then). By then nothing else holds
// it: its timeout has fired or been stopped, and the proxy calls a
// request's done once and keeps nothing of it after. A request the proxy
// never answers (still in flight at the end of the run) is never reused.
type pending struct {
	c        *Clients
	u        *user
	intended time.Duration
	then     func()
	req      simproxy.Request
	resp     simproxy.Response // the proxy's response, until deliver
	progress simproxy.Progress
	timer    sim.Timer // the client's timeout
	waiting  bool      // in Clients.open: the client waits for the answer
	link     links[pending]
	// conn and wireID are the connection and the wire's number of a
	// request sent across the network (Clients.Via).
	conn   *Conn
	wireID uint64
	// keep: a proxy may still hold the request (its connection failed
	// while the proxy worked on it), so the pending is never reused.
	keep bool
	// reused: the request went on a kept-alive connection that carried
	// one before.
	reused bool
	// resent: the class (reset) of the failure on a reused connection
	// after which it was sent again on a new one (hostPath.Failed); ""
	// while it was sent once. Its events say so (history.Event.Resent).
	resent string
	// The request's callbacks, bound once per pooled pending.
	onTimeout, onArrive, onDeliver func()
	onAnswer                       func(simproxy.Response)
}

// free gives pend back to the pool; see pending for when.
func (c *Clients) free(pend *pending) {
	*pend = pending{c: c, onTimeout: pend.onTimeout, onArrive: pend.onArrive, onDeliver: pend.onDeliver,
		onAnswer: pend.onAnswer}
	c.spare.Put(pend)
}

// chainLinks returns pend's place in Clients.open.
func (pend *pending) chainLinks() *links[pending] { return &pend.link }

// ClassTimeout is the error class of a request the client gave up on
// (lblab load's loadgen.ClassTimeout).
const ClassTimeout = "timeout"

// Finish records every request still in flight at the end of the run,
// in the order sent, so that sent = answered + failed + in flight holds in
// the history.
func (c *Clients) Finish() {
	now := c.k.Now()
	for pend := c.open.first; pend != nil; pend = pend.link.next {
		if c.record && c.p.RecordRequests {
			c.log.Add(history.Event{T: history.Stamp(now), Kind: history.KindRequest, Src: c.src, Client: pend.u.name,
				Listener: c.spec.Listener, Group: pend.progress.Group, Backend: pend.progress.Backend,
				Tries: pend.progress.Tries, Error: "in_flight", Start: history.Stamp(pend.intended),
				Latency: history.Stamp(now - pend.intended), Resent: pend.resent})
		}
	}
}

// Name returns the population's name.
func (c *Clients) Name() string { return c.spec.Name }
