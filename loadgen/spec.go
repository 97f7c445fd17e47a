package loadgen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lblab/lblab/internal/seedrand"
	"github.com/lblab/lblab/loadgen/workload"
)

// The lab's clients (Config.Clients).
//
// A lab's clients: element means here what it means in the simulator
// (loadgen/simload), field by field:
//
//   - mode open: requests leave at rate (default 100/s), evenly spaced
//     (arrival constant) or with exponential gaps (poisson, the default),
//     the rate changing at each ramp step's time; at rate 0 nothing leaves
//     and the ramp is looked at again every workload.PausedRecheck. Each
//     request is from a user drawn uniformly. Latency is measured from the
//     intended send time.
//   - mode closed: users users (default 10) each send a request, wait for
//     its answer, think, and send the next; their first requests are spread
//     over one millisecond, as in the simulator.
//   - users, addresses: each user has an address drawn from addresses
//     (default 10.1.0.0/16), its cookies (every Set-Cookie answered to it is
//     sent back in Cookie) and its headers ({user} is its number, 1..users).
//   - via: every connection comes from the via address and the user's
//     address travels in X-Forwarded-For.
//   - method, paths (one drawn uniformly per request), host (default the
//     target's), headers.
//   - start, stop: the load runs from start to stop after the run's start.
//   - timeout (default 10 s): a request without its whole answer that
//     long after its intended send time is given up (timed out, status 0,
//     error timeout) and its connection closed; the proxy sees the client
//     leave (nginx's 499).
//
// The draws (the users' addresses, then at each open-loop arrival a user,
// a path and the gap to the next) come from the stream the simulator's
// clients of that name draw from in a lab run with seed Config.Seed
// (Draws), in the same order: an open loop's schedule (which request
// leaves when, from whom, for what) is the simulator's, request for
// request. Where the real world differs: the answers' timing is the
// host's, and a closed loop's paths are drawn per user (the simulator
// draws them in the order its users ask). A connection is bound to its user's
// address (or via's) only when the spec gives addresses (or via): those
// addresses must exist on the host (every 127.0.0.0/8 address does on
// loopback; a netns world adds the others), and a run is refused, with
// the list, when some do not. Without addresses the kernel picks the
// source address and every user connects from it (their cookies and
// headers still differ). listener names a listener of the lab; here the
// target is the listener.

// specUser is one user of a Config.Clients population.
type specUser struct {
	addr    netip.Addr // its address; the connection's source when bound
	headers []byte     // its header lines, ready to send

	mu      sync.Mutex
	cookies map[string]string
}

// spec is what the runner keeps of Config.Clients.
type spec struct {
	c     workload.Clients
	users []*specUser
	bind  bool       // connections are bound to their user's address (or via)
	via   netip.Addr // when set, every connection's source
	host  string
	// fields are the generator's own header fields (GeneratorFields).
	fields [][2]string
	stop   time.Duration
	// rnd is the clients' stream (Draws): the users' addresses were drawn
	// from it, then the open loop's arrivals are.
	rnd *rand.Rand
}

// DefaultDrawsName is the name Draws gives clients without one: the
// simulator's name of a lab's first clients: element.
const DefaultDrawsName = "clients0"

// Draws returns the random stream of clients c in a run seeded with
// seed: the stream the simulator's clients of c's name (DefaultDrawsName
// when c has none) draw from in a lab run with that seed,
// seedrand.Stream(seed, "clients/"+name). lblab load --spec draws c's users'
// addresses from it first, then its open-loop arrivals, as the simulator
// does.
func Draws(c workload.Clients, seed uint64) *rand.Rand {
	return seedrand.Stream(seed, drawsName(c))
}

// drawsName is the name of c's stream (Draws).
func drawsName(c workload.Clients) string {
	if c.Name == "" {
		return "clients/" + DefaultDrawsName
	}
	return "clients/" + c.Name
}

// job is a request of the open loop: when it is meant to leave, and with
// Clients, from which user and for which path.
type job struct {
	at         time.Duration
	user, path int
}

// normaliseSpec checks cfg.Clients against the rest of cfg and fills in
// what the loops read from it: Rate (open), Concurrency (closed: users),
// Think, Duration (the stop).
func (cfg *Config) normaliseSpec(t target) (*spec, error) {
	c := *cfg.Clients
	switch {
	case t.tcp && (c.Method != "" || len(c.Paths) > 0 || c.Host != "" || len(c.Headers) > 0 || c.Via != ""):
		// A tcp listener's clients (a lab refuses these fields there too).
		return nil, bad("clients: a tcp:// target gets a line: method, paths, host, headers and via are for HTTP")
	case cfg.Rate != 0 || cfg.Think != 0 || len(cfg.Headers) > 0 || cfg.Method != "" || cfg.Timeout != 0:
		return nil, bad("clients: the rate, think time, method, headers and timeout come from the clients' spec, not from the configuration")
	}
	if err := c.Check(); err != nil {
		return nil, bad("clients: %v", err)
	}
	c = c.WithDefaults()
	cfg.Timeout = c.Timeout.Or(workload.DefaultTimeout)
	s := &spec{c: c, host: t.host, bind: c.Addresses != ""}
	if c.Host != "" {
		s.host = c.Host
	}
	if c.Via != "" {
		s.via, s.bind = netip.MustParseAddr(c.Via), true
	}
	s.fields = c.GeneratorFields(s.host, cfg.KeepAlive)
	// The time limit: the spec's stop, the configuration's duration, the
	// earlier of the two, or DefaultDuration.
	s.stop = c.Stop.D
	if !c.Stop.IsSet() || (cfg.Duration > 0 && cfg.Duration < s.stop) {
		s.stop = cfg.Duration
	}
	if s.stop <= 0 && cfg.Requests == 0 {
		s.stop = DefaultDuration
	}
	if s.stop > 0 && s.stop <= c.Start.D {
		return nil, bad("clients: start %s is not before the end of the run at %s", c.Start.D, s.stop)
	}
	cfg.Duration = s.stop
	cfg.Method = c.Method
	if c.Mode == "closed" {
		cfg.Concurrency, cfg.Think = c.Users, c.Think.D
	} else {
		cfg.Rate = c.RateAt(0)
		if cfg.Rate == 0 {
			cfg.Rate = c.Rate // a run that starts paused still is an open loop
		}
	}
	s.rnd = Draws(c, cfg.Seed)
	for i, a := range c.UserAddrs(c.Users, s.rnd) {
		u := &specUser{addr: a, cookies: map[string]string{}}
		h := c.UserHeaders(i + 1)
		names := make([]string, 0, len(h))
		for n := range h {
			names = append(names, n)
		}
		slices.Sort(names)
		var b bytes.Buffer
		for _, n := range names {
			fmt.Fprintf(&b, "%s: %s\r\n", n, h[n])
		}
		u.headers = b.Bytes()
		s.users = append(s.users, u)
	}
	if err := s.checkSources(); err != nil {
		return nil, err
	}
	return s, nil
}

// source returns the address a connection of user u comes from, or the
// zero address when the kernel picks it.
func (s *spec) source(u *specUser) netip.Addr {
	switch {
	case s.via.IsValid():
		return s.via
	case s.bind:
		return u.addr
	}
	return netip.Addr{}
}

// checkSources refuses the run when an address connections are to come
// from cannot be bound on this host, listing them.
func (s *spec) checkSources() error {
	if !s.bind {
		return nil
	}
	seen := map[netip.Addr]bool{}
	var missing []string
	for _, u := range s.users {
		a := s.source(u)
		if seen[a] {
			continue
		}
		seen[a] = true
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: a.AsSlice()})
		if err != nil {
			missing = append(missing, a.String())
			continue
		}
		ln.Close()
	}
	if len(missing) == 0 {
		return nil
	}
	slices.SortFunc(missing, func(a, b string) int {
		return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b))
	})
	list := strings.Join(missing[:min(len(missing), 20)], ", ")
	if len(missing) > 20 {
		list += fmt.Sprintf(", … (%d in all)", len(missing))
	}
	field := "addresses"
	if s.via.IsValid() {
		field = "via"
	}
	return bad("clients: %s: connections must come from addresses this host does not have: %s (add them to an interface, or use 127.0.0.0/8 on loopback)", field, list)
}

// request returns the bytes of a request of user u for path: the
// generator's fields (workload.Clients.GeneratorFields), the user's
// headers, X-Forwarded-For with via, and the user's cookies.
func (s *spec) request(u *specUser, path string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", s.c.Method, path)
	for _, f := range s.fields {
		fmt.Fprintf(&b, "%s: %s\r\n", f[0], f[1])
	}
	b.Write(u.headers)
	if s.via.IsValid() {
		fmt.Fprintf(&b, "X-Forwarded-For: %s\r\n", u.addr)
	}
	u.mu.Lock()
	if line := workload.CookieLine(u.cookies); line != "" {
		b.WriteString("Cookie: " + line + "\r\n")
	}
	u.mu.Unlock()
	b.WriteString("\r\n")
	return b.Bytes()
}

// keepCookie stores a Set-Cookie value's name=value in u's cookies.
func (u *specUser) keepCookie(value []byte) {
	nv, _, _ := bytes.Cut(value, []byte(";"))
	name, v, ok := bytes.Cut(nv, []byte("="))
	name = bytes.TrimSpace(name)
	if !ok || len(name) == 0 {
		return
	}
	u.mu.Lock()
	u.cookies[string(name)] = string(bytes.TrimSpace(v))
	u.mu.Unlock()
}

// scheduleSpec is the open loop's clock for Clients, the simulator's
// arrivals on the host's clock: at each arrival a user and a path are
// drawn (at a positive rate), then the gap to the next arrival.
func (r *runner) scheduleSpec(queue chan<- job) {
	defer close(queue)
	i := int64(0)
	for j := range r.spec.arrivals {
		if r.cfg.Requests > 0 && i >= r.cfg.Requests {
			return
		}
		if !r.emit(queue, j) {
			return
		}
		i++
	}
}

// arrivals yields the open loop's requests in order, drawn from s.rnd
// as the simulator's clients draw them (simload's arrive): from start
// until stop (without a stop, for as long as yield wants them).
func (s *spec) arrivals(yield func(job) bool) {
	now := s.c.Start.D
	for {
		if s.stop > 0 && now >= s.stop {
			return
		}
		rate := s.c.RateAt(now)
		if rate > 0 {
			if !yield(job{at: now, user: s.rnd.IntN(len(s.users)), path: s.rnd.IntN(len(s.c.Paths))}) {
				return
			}
		} else if len(s.c.Ramp) == 0 {
			return
		}
		now += s.c.Gap(rate, s.rnd)
	}
}

// specLoop is closed-loop user i of Clients: it waits for its first turn
// (start, spread over a millisecond), then runs the closed loop.
func (w *worker) specLoop(i int) {
	r := w.r
	w.user = r.spec.users[i]
	// A stream per user, of the clients' seed and names (no simulator
	// stream of its own to match: the simulator's users draw from the
	// clients' one in the order they ask).
	w.rnd = seedrand.Stream(r.cfg.Seed, drawsName(r.spec.c)+"/user"+strconv.Itoa(i))
	first := r.spec.c.Start.D + time.Duration(i)*time.Millisecond/time.Duration(len(r.spec.users))
	if wait := time.Until(r.start.Add(first)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
			return
		}
	}
	w.closedLoop()
}

// specRequest returns the request of the worker's current user (a closed
// loop draws its path here).
func (w *worker) specRequest(path int) []byte {
	s := w.r.spec
	if path < 0 {
		path = w.rnd.IntN(len(s.c.Paths))
	}
	return s.request(w.user, s.c.Paths[path])
}
