package simproxy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
)

// ClientSpec is a simulated client population and its load.
type ClientSpec struct {
	// Name labels the clients. Default clients<N>.
	Name string `yaml:"name"`
	// Listener is the listener they call. Default the first.
	Listener string `yaml:"listener"`
	// Mode is open (requests arrive at a rate whatever the answers, as
	// real users do) or closed (Users users each wait for their answer,
	// think, and ask again). Default open.
	Mode string `yaml:"mode"`
	// Rate is requests per second (open only; closed clients refuse it).
	// Default 100; 0 is refused in a lab (it would be the default).
	Rate float64 `yaml:"rate"`
	// Arrival is constant (evenly spaced) or poisson (open only). Default
	// poisson.
	Arrival string `yaml:"arrival"`
	// Ramp changes the rate at given times (open only); at rate 0 nothing
	// is sent until a later step.
	Ramp []RampStep `yaml:"ramp"`
	// Users is how many distinct users there are (each with an address
	// and cookies); in closed mode, how many ask at once. Default 1000
	// (open), 10 (closed).
	Users int `yaml:"users"`
	// Think is the pause between an answer and the next request (closed
	// only; open clients refuse it). Default 0.
	Think units.Duration `yaml:"think"`
	// Addresses is the prefix user addresses are drawn from. Default
	// 10.1.0.0/16.
	Addresses string `yaml:"addresses"`
	// Via puts another proxy in front: every connection comes from this
	// address, and the user's address travels in X-Forwarded-For.
	Via string `yaml:"via"`
	// Method is the HTTP method. Default GET.
	Method string `yaml:"method"`
	// Paths are the request URIs, picked at random. Default [/].
	Paths []string `yaml:"paths"`
	// Host is the Host header. Default none.
	Host string `yaml:"host"`
	// Headers are more request header fields, "Name: value", sent by
	// every user; {user} in a value is the user's number (1..Users), so
	// that a hash key such as $http_x_user sends each user to one server.
	// Default none.
	Headers []string `yaml:"headers"`
	// Start and Stop bound the load in time. Default the whole lab.
	Start units.Duration `yaml:"start"`
	Stop  units.Duration `yaml:"stop"`
}

// RampStep sets the rate from a time on.
type RampStep struct {
	At   units.Duration `yaml:"at"`
	Rate float64        `yaml:"rate"`
}

// Check returns what is wrong with the spec, or nil.
func (c ClientSpec) Check() error {
	switch c.Mode {
	case "", "open", "closed":
	default:
		return fmt.Errorf("mode: want open or closed, got %q", c.Mode)
	}
	switch c.Arrival {
	case "", "constant", "poisson":
	default:
		return fmt.Errorf("arrival: want constant or poisson, got %q", c.Arrival)
	}
	if c.Rate < 0 || c.Rate > 1e7 {
		return fmt.Errorf("rate: want 0..1e7 requests per second, got %v", c.Rate)
	}
	if c.Mode == "closed" {
		// Closed users ask again as soon as answered (after think): no rate.
		switch {
		case c.Rate != 0:
			return fmt.Errorf("rate: closed clients have no rate (each of users asks again after think); use mode open, or leave rate out")
		case c.Arrival != "":
			return fmt.Errorf("arrival: closed clients have no arrival law; use mode open, or leave arrival out")
		case len(c.Ramp) > 0:
			return fmt.Errorf("ramp: closed clients have no rate to ramp; use mode open, or leave ramp out")
		}
	} else if c.Think.IsSet() {
		return fmt.Errorf("think: open clients do not wait for answers, so they do not think; use mode closed, or leave think out")
	}
	if c.Users < 0 || c.Users > 1_000_000 {
		return fmt.Errorf("users: want 0..1000000, got %d", c.Users)
	}
	if c.Addresses != "" {
		if p, err := netip.ParsePrefix(c.Addresses); err != nil || !p.Addr().Is4() {
			return fmt.Errorf("addresses: want an IPv4 prefix like 10.1.0.0/16, got %q", c.Addresses)
		}
	}
	if c.Via != "" {
		if _, err := netip.ParseAddr(c.Via); err != nil {
			return fmt.Errorf("via: want an address, got %q", c.Via)
		}
	}
	for _, p := range c.Paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("paths: a path starts with /, got %q", p)
		}
	}
	for _, h := range c.Headers {
		if _, _, err := splitHeader(h); err != nil {
			return fmt.Errorf("headers: %w", err)
		}
	}
	return nil
}

// splitHeader reads "Name: value": the name (a token, returned lower
// case) and the value without surrounding blanks.
func splitHeader(h string) (name, value string, err error) {
	name, value, ok := strings.Cut(h, ":")
	if !ok || name == "" || strings.TrimFunc(name, isTokenChar) != "" {
		return "", "", fmt.Errorf("want \"Name: value\" with a field name of letters, digits and -, got %q", h)
	}
	return strings.ToLower(name), strings.TrimSpace(value), nil
}

func isTokenChar(r rune) bool {
	return r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// user is one simulated user.
type user struct {
	addr    netip.Addr
	cookies map[string]string
	headers map[string]string // by lower-case name; nil without ClientSpec.Headers
}

// Clients drives one ClientSpec against the proxy.
type Clients struct {
	spec   ClientSpec
	k      *sim.Kernel
	p      *Proxy
	rnd    *rand.Rand
	users  []*user
	via    netip.Addr
	stop   time.Duration
	record bool
	log    *history.Log
	// Sent, Done count requests sent and answered (or failed); the rest
	// are in flight.
	Sent, Done int
	open       map[uint64]*pending // in-flight requests by id
	nextID     uint64
}

// NewClients prepares a client population; Start schedules its load. end
// is the lab's end (the default stop).
func NewClients(k *sim.Kernel, p *Proxy, spec ClientSpec, index int, end time.Duration, log *history.Log) *Clients {
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("clients%d", index)
	}
	if spec.Listener == "" {
		spec.Listener = p.cfg.Listeners[0].Name
	}
	if spec.Method == "" {
		spec.Method = "GET"
	}
	if len(spec.Paths) == 0 {
		spec.Paths = []string{"/"}
	}
	if spec.Rate == 0 {
		spec.Rate = 100
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
	for range spec.Users {
		a := base
		if hostBits > 0 {
			n := uint32(1) + uint32(c.rnd.Uint64N(uint64(1)<<hostBits-2+1))
			v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
			v |= n & (1<<hostBits - 1)
			a = [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		}
		u := &user{addr: netip.AddrFrom4(a), cookies: map[string]string{}}
		for _, h := range spec.Headers {
			name, value, _ := splitHeader(h) // checked by Check
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
	req := Request{Listener: c.spec.Listener, Conn: u.addr, Host: c.spec.Host, Method: c.spec.Method,
		URI: c.spec.Paths[c.rnd.IntN(len(c.spec.Paths))], Cookies: u.cookies, Headers: u.headers,
		Intended: intended, User: u.addr,
		Progress: &pend.progress}
	if c.via.IsValid() {
		req.Conn, req.XFF = c.via, u.addr.String()
	}
	lat := c.p.net.ClientLatency
	c.k.At(intended+lat, func() {
		c.p.Handle(req, func(r Response) {
			c.k.After(lat, func() {
				delete(c.open, id)
				c.Done++
				if r.SetCookie[0] != "" {
					u.cookies[r.SetCookie[0]] = r.SetCookie[1]
				}
				if c.record && c.p.RecordRequests {
					c.p.log.Add(c.event(u, intended, r))
				}
				if then != nil {
					then()
				}
			})
		})
	})
}

func (c *Clients) event(u *user, intended time.Duration, r Response) history.Event {
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
	progress Progress
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
