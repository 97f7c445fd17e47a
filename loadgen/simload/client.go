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
	"strconv"
	"strings"
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
	spec   workload.Clients
	k      *sim.Kernel
	p      *simproxy.Proxy
	rnd    *rand.Rand
	users  []*user
	via    netip.Addr
	stop   time.Duration
	record bool
	log    history.Sink
	// Sent, Done count requests sent and answered (or failed); the rest
	// are in flight.
	Sent, Done int
	open       map[uint64]*pending // in-flight requests by id
	nextID     uint64
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
	if spec.Method == "" {
		spec.Method = "GET"
	}
	if len(spec.Paths) == 0 {
		spec.Paths = []string{"/"}
	}
	if spec.Rate == 0 {
		spec.Rate = workload.DefaultRate
	}
	if spec.Users == 0 {
		spec.Users = 1000
		if spec.Mode == "closed" {
			spec.Users = 10
		}
	}
	c := &Clients{spec: spec, k: k, p: p, rnd: k.Rand("clients/" + spec.Name), stop: spec.Stop.Or(end),
		record: true, log: log, open: map[uint64]*pending{}}
	prefix := netip.MustParsePrefix("10.1.0.0/16")
	if spec.Addresses != "" {
		prefix = netip.MustParsePrefix(spec.Addresses)
	}
	base := prefix.Masked().Addr().As4()
	hostBits := 32 - prefix.Bits()
	fields := spec.HeaderFields()
	for range spec.Users {
		a := base
		if hostBits > 0 {
			n := uint32(1) + uint32(c.rnd.Uint64N(uint64(1)<<hostBits-2+1))
			v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
			v |= n & (1<<hostBits - 1)
			a = [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		}
		u := &user{addr: netip.AddrFrom4(a), cookies: map[string]string{}}
		for _, f := range fields {
			name, value := f[0], f[1]
			if u.headers == nil {
				u.headers = map[string]string{}
			}
			u.headers[name] = strings.ReplaceAll(value, "{user}", strconv.Itoa(len(c.users)+1))
		}
		c.users = append(c.users, u)
	}
	if spec.Via != "" {
		c.via = netip.MustParseAddr(spec.Via)
	}
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

// rate returns the open-loop rate at time t.
func (c *Clients) rate(t time.Duration) float64 {
	r := c.spec.Rate
	for _, s := range c.spec.Ramp {
		if t >= s.At.D {
			r = s.Rate
		}
	}
	return r
}

// arrive sends one open-loop request and schedules the next arrival.
func (c *Clients) arrive() {
	now := c.k.Now()
	if now >= c.stop {
		return
	}
	r := c.rate(now)
	if r > 0 { // a ramp to rate 0 sends nothing until it ramps up again
		u := c.users[c.rnd.IntN(len(c.users))]
		c.send(u, now, nil)
	}
	var gap time.Duration
	switch {
	case r <= 0:
		gap = 100 * time.Millisecond // paused: look again later
	case c.spec.Arrival == "constant":
		gap = time.Duration(float64(time.Second) / r)
	default:
		gap = time.Duration(c.rnd.ExpFloat64() * float64(time.Second) / r)
	}
	if r > 0 || len(c.spec.Ramp) > 0 {
		c.k.At(now+max(gap, 1), c.arrive)
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
// answer arrives.
func (c *Clients) send(u *user, intended time.Duration, then func()) {
	c.Sent++
	id := c.nextID
	c.nextID++
	pend := &pending{intended: intended, user: u.addr}
	c.open[id] = pend
	req := simproxy.Request{Listener: c.spec.Listener, Conn: u.addr, Host: c.spec.Host, Method: c.spec.Method,
		URI: c.spec.Paths[c.rnd.IntN(len(c.spec.Paths))], Cookies: u.cookies, Headers: u.headers,
		Intended: intended, User: u.addr,
		Progress: &pend.progress}
	if c.via.IsValid() {
		req.Conn, req.XFF = c.via, u.addr.String()
	}
	lat := c.p.Network().ClientLatency
	c.k.At(intended+lat, func() {
		c.p.Handle(req, func(r simproxy.Response) {
			c.k.After(lat, func() {
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
}

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
