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
	"slices"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
)

// user is one simulated user.
type user struct {
	addr    netip.Addr
	cookies map[string]string
	headers map[string]string // by lower-case name; nil without workload.Clients.Headers
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
	open                 map[uint64]*pending // in-flight requests by id
	nextID               uint64
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
		timeout: spec.Timeout.Or(workload.DefaultTimeout), record: true, log: log, open: map[uint64]*pending{}}
	if c.timeout <= 0 {
		c.timeout = workload.DefaultTimeout // refused in a lab; Check says so
	}
	for i, addr := range spec.UserAddrs(spec.Users, c.rnd) {
		c.users = append(c.users, &user{addr: addr, cookies: map[string]string{}, headers: spec.UserHeaders(i + 1)})
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
			u := u
			// Spread the first requests over one millisecond per user.
			c.k.At(start+time.Duration(i)*time.Millisecond/time.Duration(len(c.users)), func() { c.loop(u) })
		}
		return
	}
	c.k.At(start, c.arrive)
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
		c.k.At(now+c.spec.Gap(r, c.rnd), c.arrive)
	}
}

// loop is one closed-loop user: ask, wait, think, ask again.
func (c *Clients) loop(u *user) {
	if c.k.Now() >= c.stop {
		return
	}
	c.send(u, c.k.Now(), func() { c.k.After(c.spec.Think.D, func() { c.loop(u) }) })
}

// send sends a request meant to leave at intended; then runs after the
// answer arrives, or after the client gave up on it: at intended + its
// timeout the request ends at the client as timed out (status 0, error
// timeout, as lblab load records it) and the client closes its
// connection, which the proxy sees a client latency later (Abort: a 499
// there, not the server's failure); an answer after that is dropped.
func (c *Clients) send(u *user, intended time.Duration, then func()) {
	c.Sent++
	id := c.nextID
	c.nextID++
	pend := &pending{intended: intended, user: u.addr}
	c.open[id] = pend
	req := simproxy.Request{Listener: c.spec.Listener, Conn: u.addr, Host: c.host, Method: c.spec.Method, Fields: c.fields,
		URI: c.spec.Paths[c.rnd.IntN(len(c.spec.Paths))], Cookies: u.cookies, Headers: u.headers,
		Intended: intended, User: u.addr,
		Progress: &pend.progress}
	lat := c.p.Network().ClientLatency
	req.Abort = intended + c.timeout + lat
	if h, ok := u.headers["host"]; ok {
		req.Host = h
	}
	if c.via.IsValid() {
		req.Conn, req.XFF = c.via, u.addr.String()
	}
	pend.timer = c.k.At(intended+c.timeout, func() {
		delete(c.open, id)
		c.TimedOut++
		if c.record && c.p.RecordRequests {
			now := c.k.Now()
			c.log.Add(history.Event{T: history.Stamp(now), Kind: history.KindRequest, Client: u.addr.String(),
				Listener: c.spec.Listener, Group: pend.progress.Group, Tries: pend.progress.Tries,
				Error: ClassTimeout, Start: history.Stamp(intended), Latency: history.Stamp(now - intended)})
		}
		if then != nil {
			then()
		}
	})
	c.k.At(intended+lat, func() {
		c.p.Handle(req, func(r simproxy.Response) {
			c.k.After(lat, func() {
				if c.open[id] != pend {
					return // the client gave up on it
				}
				pend.timer.Stop()
				delete(c.open, id)
				c.Done++
				if r.SetCookie[0] != "" {
					u.cookies[r.SetCookie[0]] = r.SetCookie[1]
				}
				if c.record && c.p.RecordRequests {
					c.log.Add(c.event(u, intended, r))
				}
				if then != nil {
					then()
				}
			})
		})
	})
}

func (c *Clients) event(u *user, intended time.Duration, r simproxy.Response) history.Event {
	now := c.k.Now()
	ev := history.Event{T: history.Stamp(now), Kind: history.KindRequest, Client: u.addr.String(),
		Listener: c.spec.Listener, Group: r.Group, Backend: r.Backend, Status: r.Status, Error: r.Error,
		Start: history.Stamp(intended), Latency: history.Stamp(now - intended), Tries: r.Tries}
	if r.Moved != "" {
		ev.Reason = "session moved from " + r.Moved
	}
	return ev
}

// pending is a request sent and not yet answered: when it was meant to
// leave, by whom, and how far the proxy has taken it.
type pending struct {
	intended time.Duration
	user     netip.Addr
	progress simproxy.Progress
	timer    sim.Timer // the client's timeout
}

// ClassTimeout is the error class of a request the client gave up on
// (lblab load's loadgen.ClassTimeout).
const ClassTimeout = "timeout"

// Finish records every request still in flight at the end of the run, so
// that sent = answered + failed + in flight holds in the history.
func (c *Clients) Finish() {
	now := c.k.Now()
	ids := make([]uint64, 0, len(c.open))
	for id := range c.open {
		ids = append(ids, id)
	}
	slices.Sort(ids) // map order is random; the history must not be
	for _, id := range ids {
		pend := c.open[id]
		if c.record && c.p.RecordRequests {
			c.log.Add(history.Event{T: history.Stamp(now), Kind: history.KindRequest, Client: pend.user.String(),
				Listener: c.spec.Listener, Group: pend.progress.Group, Backend: pend.progress.Backend,
				Tries: pend.progress.Tries, Error: "in_flight", Start: history.Stamp(pend.intended),
				Latency: history.Stamp(now - pend.intended)})
		}
	}
}

// Name returns the population's name.
func (c *Clients) Name() string { return c.spec.Name }
