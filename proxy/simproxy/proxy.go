// Package simproxy runs the load balancer's cores (proxy/balance,
// proxy/health, proxy/attempt, the request flow of proxy/flow) in the
// simulator and writes every health transition to the history. It models
// requests, not packets: each hop costs a configured one-way latency. The
// simulated clients and servers it meets live in loadgen/simload.
package simproxy

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/balance"
	"github.com/lblab/lblab/proxy/flow"
	"github.com/lblab/lblab/sim"
)

// Network is the one-way latencies of the simulated load balancer's hops.
type Network struct {
	// ClientLatency is client to load balancer (and back). Default 1ms.
	ClientLatency time.Duration
	// BackendLatency is load balancer to server (and back). Default 250µs.
	BackendLatency time.Duration
}

// Proxy is the load balancer in the simulator.
type Proxy struct {
	k      *sim.Kernel
	rnd    *rand.Rand
	log    history.Sink
	net    Network
	cfg    *proxy.Config
	groups map[string]*group
	// idle holds, by server address, when each idle kept-alive connection
	// to it went idle, most recently used last.
	idle     map[string][]time.Duration
	routes   map[string]*flow.Routes[*group] // by listener name
	backends map[string]Server
	// RecordRequests writes a history event per request (default true);
	// benchmarks turn it off and read the counters.
	RecordRequests bool
	// Counters.
	Requests, Answered int
}

// Server is a simulated server the proxy forwards to and probes
// (loadgen/simload's Backend).
type Server interface {
	// Address is the server's host:port, as a group's server lists it.
	Address() string
	// Connect says how a connection attempt ends: attempt.Answered
	// (accepted), attempt.Refused or attempt.ConnectTimeout.
	Connect() attempt.Outcome
	// Serve takes a request on an accepted connection; reused says the
	// proxy sent it on a kept-alive connection of an earlier answer (see
	// Proxy's pool). done is called with the reply when the response
	// header leaves the server (never, while it hangs).
	Serve(reused bool, done func(Reply))
	// Probe answers a health probe: its status, or how it failed.
	Probe(pr flow.Probe) (status int, out attempt.Outcome)
}

// Reply is a server's answer to one request.
type Reply struct {
	// Outcome is attempt.Answered, or how the request failed
	// (attempt.Reset: the connection broke before a response header,
	// nothing of a response came back).
	Outcome attempt.Outcome
	// Status is the response's status (Answered).
	Status int
	// Body is how long the response's body takes to follow its header;
	// 0: it comes with the header.
	Body time.Duration
}

// Defaults of the proxy's pool of idle keep-alive connections to each
// server, those of the real proxy (proxy/server.Options).
const (
	// PoolMax is how many idle connections to one server are kept.
	PoolMax = 128
	// PoolTTL is how long an idle connection is kept.
	PoolTTL = 30 * time.Second
)

// group is a server group at run time: the request-flow core's group
// with the simulator's timers of its active checks.
type group struct {
	p       *Proxy
	fg      *flow.Group
	hcTimer sim.Timer
	due     []int
}

// New builds the proxy for cfg (already validated with proxy.Validate)
// over the given backends. Health checks start at once, each server's
// first probe at its phase drawn from the kernel's seed (health.Phase).
func New(k *sim.Kernel, cfg *proxy.Config, backends []Server, net Network, log history.Sink) (*Proxy, error) {
	if net.ClientLatency == 0 {
		net.ClientLatency = time.Millisecond
	}
	if net.BackendLatency == 0 {
		net.BackendLatency = 250 * time.Microsecond
	}
	p := &Proxy{k: k, rnd: k.Rand("proxy"), log: log, net: net, cfg: cfg,
		groups: map[string]*group{}, backends: map[string]Server{}, idle: map[string][]time.Duration{},
		RecordRequests: true}
	for _, b := range backends {
		p.backends[b.Address()] = b
	}
	for i := range cfg.Groups {
		g, err := p.newGroup(&cfg.Groups[i])
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", cfg.Groups[i].Name, err)
		}
		p.groups[g.fg.Name()] = g
	}
	p.routes = map[string]*flow.Routes[*group]{}
	for i := range cfg.Listeners {
		l := &cfg.Listeners[i]
		rt := flow.NewRoutes(l, func(name string) *group { return p.groups[name] })
		p.routes[l.Name] = &rt
	}
	return p, nil
}

// Network returns the hops' latencies, defaults filled in.
func (p *Proxy) Network() Network { return p.net }

// DefaultListener returns the name of the first listener, where clients
// that name none send their requests.
func (p *Proxy) DefaultListener() string { return p.cfg.Listeners[0].Name }

func (p *Proxy) newGroup(gc *proxy.Group) (*group, error) {
	seed := p.k.Seed()
	fg, err := flow.NewGroup(gc, p.k.Now(), &seed)
	if err != nil {
		return nil, err
	}
	g := &group{p: p, fg: fg}
	fg.OnHealth = func(now time.Duration, server string, up bool, reason string) {
		from, to := "up", "down"
		if up {
			from, to = "down", "up"
		}
		p.log.Add(history.Event{T: history.Stamp(now), Kind: history.KindHealth, Group: gc.Name,
			Server: server, From: from, To: to, Reason: reason})
	}
	if fg.Checker() != nil {
		g.armChecks()
	}
	return g, nil
}

// SetHealthPath changes the path a group's active checks probe (a fix of
// the configuration at run time).
func (p *Proxy) SetHealthPath(groupName, path string) error {
	g := p.groups[groupName]
	if g == nil {
		return fmt.Errorf("group %s has no active health check", groupName)
	}
	return g.fg.SetProbePath(path)
}

// armChecks schedules the next active probes.
func (g *group) armChecks() {
	g.hcTimer.Stop()
	if at, ok := g.fg.Checker().Deadline(); ok {
		g.hcTimer = g.p.k.At(at, g.runChecks)
	}
}

// runChecks sends the due probes, each to the backend at its probe's
// address (nothing there: refused), and schedules their results.
func (g *group) runChecks() {
	now := g.p.k.Now()
	checker := g.fg.Checker()
	g.due = checker.Due(now, g.due[:0])
	timeout := checker.Config().Timeout
	rtt := 2 * g.p.net.BackendLatency
	for _, i := range g.due {
		i := i
		pr := g.fg.Probe(i)
		b := g.p.backends[pr.Addr]
		status, out := 0, attempt.Refused
		if b != nil {
			status, out = b.Probe(pr)
		}
		at, ok, detail := now+rtt, false, ""
		switch {
		case out == attempt.ConnectTimeout || out == attempt.ReadTimeout || rtt > timeout:
			at, detail = now+timeout, "timeout"
		case out == attempt.Refused:
			detail = "refused"
		case !pr.HTTP:
			ok = true
		default:
			ok, detail = checker.Judge(status)
		}
		g.p.k.At(at, func() { g.checkResult(i, ok, detail) })
	}
	g.armChecks()
}

func (g *group) checkResult(i int, ok bool, detail string) {
	g.fg.CheckResult(g.p.k.Now(), i, ok, detail)
	g.armChecks()
}

// Request is one client request as it reaches the load balancer.
type Request struct {
	// Listener is the listener's name.
	Listener string
	// Conn is the address the connection comes from ($remote_addr).
	Conn netip.Addr
	// Host, Method and URI are the request line and the host the
	// listener's rules match (the host field, when Fields has one).
	Host, Method, URI string
	// Fields are the header fields sent before Headers, names lower case,
	// in order (the load generator's own: workload.Clients.GeneratorFields).
	Fields [][2]string
	// Headers are the user's header fields, by lower-case name, sent
	// after Fields.
	Headers map[string]string
	// XFF is an X-Forwarded-For field sent after Headers ("" when absent).
	XFF string
	// Cookies are the user's cookies, sent last in one Cookie field
	// (workload.CookieLine order).
	Cookies map[string]string
	// Intended is when the client meant to send it (latency counts from
	// here).
	Intended time.Duration
	// User is the real user's address, for the history.
	User netip.Addr
	// Streamed says the request's body streams from the client (chunked,
	// or larger than the proxy reads into memory): a try that sent it
	// spent it, and no other server can get it. Default false.
	Streamed bool
	// Abort, when not zero, is the virtual time at which the client
	// closes its connection if no answer has come yet: the flight ends
	// with nginx's 499 (flow.ClassClientClosed).
	Abort time.Duration
	// Progress, when not nil, is kept up to date as the request goes: the
	// group it was routed to, the server of its latest try and the number
	// of tries. A client reads it for a request still in flight at the
	// end of a run, so that the history says where that request was.
	Progress *Progress
}

// Progress is how far a request in flight has gone (see Request.Progress).
type Progress struct {
	// Group is the group the request was routed to ("" before routing).
	Group string
	// Backend is the server of the latest try ("" before the first).
	Backend string
	// Tries counts the tries made so far.
	Tries int
}

// Response is what the client gets.
type Response struct {
	Status    int
	Error     string
	Backend   string
	Tries     int
	Group     string
	Moved     string // persistence: the server the client's cookie named, when it was not used
	SetCookie [2]string
}

// Target, Header and Cookie are the request's variables (flow.Vars).
func (r *Request) Target() string { return r.URI }

// Header returns the values of field name (lower case) in the order sent
// (Fields, Headers, XFF, the cookies), joined by ", " as the real server
// joins repeated fields.
func (r *Request) Header(name string) string {
	var vals []string
	for _, f := range r.Fields {
		if f[0] == name {
			vals = append(vals, f[1])
		}
	}
	if v, ok := r.Headers[name]; ok {
		vals = append(vals, v)
	}
	switch {
	case name == "x-forwarded-for" && r.XFF != "":
		vals = append(vals, r.XFF)
	case name == "cookie" && len(r.Cookies) > 0:
		vals = append(vals, workload.CookieLine(r.Cookies))
	}
	return strings.Join(vals, ", ")
}

// Cookie returns the value of the cookie name as nginx finds it
// (flow.CookieIn): in a cookie field of Headers, then in the cookies.
func (r *Request) Cookie(name string) (string, bool) {
	if v, ok := r.Headers["cookie"]; ok {
		if val, ok := flow.CookieIn(v, name); ok {
			return val, true
		}
	}
	if len(r.Cookies) == 0 {
		return "", false
	}
	return flow.CookieIn(workload.CookieLine(r.Cookies), name)
}

// TargetHost returns the host a load generator aimed at listener sends
// by default: ADDRESS:PORT as in http://ADDRESS:PORT/, the address
// 127.0.0.1 (the real proxy's default bind) when the listener gives none
// or an unspecified one (::1 for ::).
func (p *Proxy) TargetHost(listener string) string {
	for _, l := range p.cfg.Listeners {
		if l.Name != listener {
			continue
		}
		addr := l.Address
		switch addr {
		case "", "0.0.0.0":
			addr = "127.0.0.1"
		case "::":
			addr = "::1"
		}
		return net.JoinHostPort(addr, strconv.Itoa(l.Port))
	}
	return ""
}

// flight is a request inside the proxy: the core's flight with the
// simulator's timers.
type flight struct {
	p    *Proxy
	g    *group
	req  Request
	fl   flow.Flight
	done func(Response)
	// cur settles the current try (nil between tries); abort is the
	// client's timer; over: the response (or 499) has gone.
	cur   func(flow.Result)
	abort sim.Timer
	over  bool
	body  time.Duration // the body time of the current try's reply
}

// Handle takes a request arriving at the load balancer now; done is called
// when the response leaves it.
func (p *Proxy) Handle(req Request, done func(Response)) {
	p.Requests++
	g := p.route(req)
	if g == nil {
		done(Response{Status: 404, Error: "no_route"})
		return
	}
	if req.Progress != nil {
		req.Progress.Group = g.fg.Name()
	}
	now := p.k.Now()
	f := &flight{p: p, g: g, req: req, done: done}
	g.fg.Start(&f.fl, now, flow.Request{Method: req.Method, Client: req.Conn, Vars: &f.req})
	if req.Abort > 0 {
		f.abort = p.k.At(max(req.Abort, now), f.clientLeft)
	}
	f.step(f.fl.Next(now, p.rnd))
}

// clientLeft is the client closing its connection before the answer: the
// try in progress ends with the client gone.
func (f *flight) clientLeft() {
	if f.cur != nil {
		f.cur(flow.Result{Gone: true})
	}
}

// route picks the group of a request by the listener's rules.
func (p *Proxy) route(req Request) *group {
	r := p.routes[req.Listener]
	if r == nil {
		return nil
	}
	path, _, _ := strings.Cut(req.URI, "?")
	return r.Match(flow.HostOnly([]byte(req.Host)), []byte(path))
}

// step does what the flight says: a try, or the end.
func (f *flight) step(st flow.Step) {
	if st.Kind == flow.Try {
		if pr := f.req.Progress; pr != nil {
			pr.Backend, pr.Tries = st.Peer.Server().Name, pr.Tries+1
		}
		f.try(st.Peer)
		return
	}
	r := Response{Status: st.Status, Error: st.Class}
	if st.Peer != nil {
		r.Backend = st.Peer.Name()
	}
	f.finish(r, nil)
}

// try sends the request to one server: on an idle kept-alive connection
// to it when the pool has one, else on a new connection.
func (f *flight) try(peer *balance.Peer) {
	p := f.p
	addr := peer.Server().Name
	b := p.backends[addr]
	sent := p.k.Now()
	reused := p.take(addr, sent)
	var timer sim.Timer
	settled := false // a try settles once: a late answer after a timeout is dropped
	settle := func(r flow.Result) {
		if settled {
			return
		}
		settled = true
		f.cur = nil
		timer.Stop()
		// A streamed body went out with the request.
		r.Spent = r.Sent && f.req.Streamed
		f.result(peer, r)
	}
	f.cur = settle
	outcome := func(out attempt.Outcome, status int) {
		settle(flow.Result{Try: attempt.Try{Outcome: out, Status: status,
			Sent: out != attempt.Refused && out != attempt.ConnectTimeout}})
	}
	lat := p.net.BackendLatency
	if b == nil {
		p.k.After(2*lat, func() { outcome(attempt.Refused, 0) })
		return
	}
	p.k.After(lat, func() {
		if settled {
			return // the client left
		}
		switch b.Connect() {
		case attempt.Refused:
			p.k.After(lat, func() { outcome(attempt.Refused, 0) })
			return
		case attempt.ConnectTimeout:
			timer = p.k.At(f.fl.ConnectDeadline(sent), func() { outcome(attempt.ConnectTimeout, 0) })
			return
		}
		// Connected: the proxy learns it a round trip after it began, and
		// sends the request then; the response header must come within
		// the read timeout of that.
		timer = p.k.At(f.fl.ReadDeadline(sent+2*lat), func() { outcome(attempt.ReadTimeout, 0) })
		b.Serve(reused, func(r Reply) {
			p.k.After(lat, func() {
				if settled {
					return
				}
				res := flow.Result{Try: attempt.Try{Outcome: r.Outcome, Status: r.Status, Sent: true}}
				// A reused connection that gave nothing back is stale, as
				// the real proxy tells it (nothing read before the reset).
				res.Stale = reused && r.Outcome == attempt.Reset
				f.body = r.Body
				settle(res)
			})
		})
	})
}

// result hands a try's outcome to the flight. An answer's try ends when
// its body has been relayed, Reply.Body after its header.
func (f *flight) result(peer *balance.Peer, r flow.Result) {
	p := f.p
	now := p.k.Now()
	st := f.fl.Result(now, r)
	switch st.Kind {
	case flow.Retry:
		f.step(f.fl.Next(now, p.rnd))
	case flow.Answer:
		answer := func() {
			end := p.k.Now()
			f.cur = nil
			f.fl.Finish(end, "", false)
			p.put(peer.Server().Name, end)
			f.finish(Response{Status: st.Status, Backend: peer.Name()}, peer)
		}
		if f.body == 0 {
			answer()
			return
		}
		// The body is on its way; a client that leaves meanwhile cuts it
		// (its try ends then, not the server's failure).
		timer := p.k.After(f.body, answer)
		f.cur = func(flow.Result) {
			f.cur = nil
			timer.Stop()
			f.fl.Finish(p.k.Now(), flow.ClassClientClosed, false)
			f.finish(Response{Status: st.Status, Error: flow.ClassClientClosed, Backend: peer.Name()}, nil)
		}
	default:
		f.step(st)
	}
}

// take takes an idle connection to addr from the pool, if one younger than
// PoolTTL is there (the older ones are closed), as the real proxy does.
func (p *Proxy) take(addr string, now time.Duration) bool {
	idle := p.idle[addr]
	n := len(idle)
	if n == 0 {
		return false
	}
	since := idle[n-1]
	if now-since > PoolTTL {
		p.idle[addr] = idle[:0] // everything below is older still
		return false
	}
	p.idle[addr] = idle[:n-1]
	return true
}

// put returns the connection of a whole answer from addr to the pool,
// unless the pool is full.
func (p *Proxy) put(addr string, now time.Duration) {
	if idle := p.idle[addr]; len(idle) < PoolMax {
		p.idle[addr] = append(idle, now)
	}
}

// Group returns the request-flow group of the name, nil when there is none
// (for its servers' counters).
func (p *Proxy) Group(name string) *flow.Group {
	if g := p.groups[name]; g != nil {
		return g.fg
	}
	return nil
}

// finish sends the response, with persistence's cookie.
func (f *flight) finish(r Response, peer *balance.Peer) {
	if f.over {
		return
	}
	f.over = true
	f.abort.Stop()
	r.Tries, r.Group, r.Moved = f.fl.Tries(), f.g.fg.Name(), f.fl.Moved()
	if peer != nil && r.Error == "" {
		f.p.Answered++
		if name, ok := f.fl.SetCookie(peer); ok {
			r.SetCookie = [2]string{name, peer.Name()}
		}
	}
	f.done(r)
}
