// Package simproxy runs the load balancer's cores (proxy/balance,
// proxy/health, proxy/attempt, the request flow of proxy/flow) in the
// simulator and writes every health transition to the history. It models
// requests, not packets: each hop costs a configured one-way latency. On
// a tcp listener a request is one exchange of a tcp client (a connection,
// the server's greeting, a line, its echo: tcp.go), whose tries are the
// flow core's connects as the real relay's are. The simulated clients
// and servers it meets live in loadgen/simload.
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
	"github.com/lblab/lblab/internal/freelist"
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
	host   string // the host it runs on (NewOn), its health events' Src
	rnd    *rand.Rand
	log    history.Sink
	net    Network
	cfg    *proxy.Config
	groups map[string]*group
	// idle holds, by server address, when each idle kept-alive connection
	// to it went idle, most recently used last.
	idle     map[string][]time.Duration
	routes   map[string]*flow.Routes[*group] // by listener name
	tcp      map[string]bool                 // the tcp listeners, by name
	backends map[string]Server
	// RecordRequests writes a history event per request (default true);
	// benchmarks turn it off and read the counters.
	RecordRequests bool
	// Counters.
	Requests, Answered int
	// flights and tries are the pools of finished flights and tries (see
	// flight and upTry for when one goes back).
	flights freelist.List[flight]
	tries   freelist.List[upTry]
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
	// Proxy's pool). done is called at most once, with the reply when the
	// response header leaves the server (never, while it hangs); the proxy
	// reuses what it handed over only after that call.
	Serve(reused bool, done func(Reply))
	// Probe answers a health probe: its status, or how it failed.
	Probe(pr flow.Probe) (status int, out attempt.Outcome)
	// Echo takes a line a tcp client sent on an accepted connection (a
	// session of a tcp listener): done is called at most once, with
	// Outcome attempt.Answered when the echo leaves the server, or
	// attempt.Reset when the connection broke first (never, while it
	// hangs).
	Echo(done func(Reply))
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
	// retired: a reconfiguration replaced the group; its checks stop and
	// its requests in flight finish on it.
	retired bool
}

// New builds the proxy for cfg (already validated with proxy.Validate)
// over the given backends. Health checks start at once, each server's
// first probe at its phase drawn from the kernel's seed (health.Phase).
func New(k *sim.Kernel, cfg *proxy.Config, backends []Server, net Network, log history.Sink) (*Proxy, error) {
	return NewOn(k, cfg, backends, net, log, "")
}

// NewOn is New for the proxy of host (a Node's), whose random draws come
// from its own stream, "proxy/"+host ("proxy" for host "").
func NewOn(k *sim.Kernel, cfg *proxy.Config, backends []Server, net Network, log history.Sink, host string) (*Proxy, error) {
	stream := "proxy"
	if host != "" {
		stream += "/" + host
	}
	if net.ClientLatency == 0 {
		net.ClientLatency = time.Millisecond
	}
	if net.BackendLatency == 0 {
		net.BackendLatency = 250 * time.Microsecond
	}
	p := &Proxy{k: k, rnd: k.Rand(stream), log: log, net: net, cfg: cfg,
		groups: map[string]*group{}, backends: map[string]Server{}, idle: map[string][]time.Duration{},
		RecordRequests: true, host: host}
	p.flights = freelist.New(func() *flight {
		f := &flight{p: p}
		f.onAbort, f.onBody = f.clientLeft, f.relayed
		return f
	})
	p.tries = freelist.New(func() *upTry {
		t := &upTry{p: p}
		t.onConnect, t.onRefused, t.onReply = t.connect, t.refused, t.replied
		t.onConnectTimeout, t.onReadTimeout = t.connectTimedOut, t.readTimedOut
		t.onServed = t.served
		return t
	})
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
	p.setRoutes()
	return p, nil
}

// setRoutes builds the listeners' routes over p.groups.
func (p *Proxy) setRoutes() {
	p.routes, p.tcp = map[string]*flow.Routes[*group]{}, map[string]bool{}
	for i := range p.cfg.Listeners {
		l := &p.cfg.Listeners[i]
		rt := flow.NewRoutes(l, func(name string) *group { return p.groups[name] })
		p.routes[l.Name] = &rt
		if l.Protocol == proxy.ProtoTCP {
			p.tcp[l.Name] = true
		}
	}
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
		p.log.Add(history.Event{T: history.Stamp(now), Kind: history.KindHealth, Src: p.host, Group: gc.Name,
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
	if g.retired {
		return
	}
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
	if g.retired {
		return
	}
	g.fg.CheckResult(g.p.k.Now(), i, ok, detail)
	g.armChecks()
}

// SetConfig applies a new configuration of the same listeners and groups
// whose servers changed (container discovery, proxy/discovery): a group
// whose servers differ is rebuilt and takes over the state of the servers
// it keeps (flow.Group.Carry), as the real proxy's Reload does; requests
// in flight finish on the old group. A group whose servers are the same
// is kept as it is. backends are the simulated servers the new ones may
// name, added to those the proxy knows.
func (p *Proxy) SetConfig(cfg *proxy.Config, backends []Server) error {
	for _, b := range backends {
		p.backends[b.Address()] = b
	}
	groups := map[string]*group{}
	for i := range cfg.Groups {
		gc := &cfg.Groups[i]
		old := p.groups[gc.Name]
		if old != nil && sameServers(old.fg.Config.Servers, gc.Servers) {
			groups[gc.Name] = old
			continue
		}
		g, err := p.newGroup(gc)
		if err != nil {
			return fmt.Errorf("group %s: %w", gc.Name, err)
		}
		if old != nil {
			g.fg.Carry(old.fg)
			old.retired = true
			old.hcTimer.Stop()
			if g.fg.Checker() != nil {
				g.armChecks()
			}
		}
		groups[gc.Name] = g
	}
	p.cfg, p.groups = cfg, groups
	p.setRoutes()
	return nil
}

// sameServers reports whether a and b list the same servers, in order.
func sameServers(a, b []proxy.Server) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Address != b[i].Address || a[i].WeightOr() != b[i].WeightOr() || a[i].Down != b[i].Down || a[i].Backup != b[i].Backup {
			return false
		}
	}
	return true
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
	// Node is the host of the proxy that answered (a Node's; "" for a
	// proxy reached directly).
	Node string
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
//
// Flights are pooled (Proxy.flights) so that a request costs no heap
// object of its own: Handle takes one and finish gives it back as its
// very last act, after the client's done has returned. The ownership
// rule: nothing touches a flight after finish. The abort timer is stopped
// there and the body timer has fired or been stopped; the events of its
// tries still pending (a server's late answer after a timeout, a connect
// that comes back after the client left) reach the flight only through
// their upTry, which checks its own settled flag first, and every try of
// a flight has settled when the flight finishes.
type flight struct {
	p    *Proxy
	g    *group
	req  Request
	fl   flow.Flight
	done func(Response)
	// cur is the try in progress (nil between tries and while a body is
	// relayed); relaying: the answer's body is on its way (bodyTimer),
	// from peer with status; abort is the client's timer; over: the
	// response (or 499) has gone.
	cur       *upTry
	relaying  bool
	peer      *balance.Peer
	status    int
	bodyTimer sim.Timer
	abort     sim.Timer
	over      bool
	body      time.Duration // the body time of the current try's reply
	// onAbort and onBody are clientLeft and relayed as bound once per
	// pooled flight (a method value allocates each time it is made).
	onAbort, onBody func()
}

// free gives f back to the pool; see flight for when.
func (f *flight) free() {
	p, onAbort, onBody := f.p, f.onAbort, f.onBody
	*f = flight{p: p, onAbort: onAbort, onBody: onBody}
	p.flights.Put(f)
}

// Handle takes a request arriving at the load balancer now; done is called
// once, when the response leaves it. The proxy keeps nothing of req (its
// Progress included) or done after that call, so a caller may reuse them.
//
// On a tcp listener the request is one exchange of a tcp client (see
// handleTCP): the response has status 0, and an error class when the
// exchange failed.
func (p *Proxy) Handle(req Request, done func(Response)) {
	p.Requests++
	if p.tcp[req.Listener] {
		p.handleTCP(req, done)
		return
	}
	g := p.route(&req)
	if g == nil {
		done(Response{Status: 404, Error: "no_route"})
		return
	}
	if req.Progress != nil {
		req.Progress.Group = g.fg.Name()
	}
	now := p.k.Now()
	f := p.flights.Get()
	f.g, f.req, f.done = g, req, done
	g.fg.Start(&f.fl, now, flow.Request{Method: req.Method, Client: req.Conn, Vars: &f.req})
	if req.Abort > 0 {
		f.abort = p.k.At(max(req.Abort, now), f.onAbort)
	}
	f.step(f.fl.Next(now, p.rnd))
}

// clientLeft is the client closing its connection before the answer: the
// try in progress ends with the client gone, or the body being relayed is
// cut.
func (f *flight) clientLeft() {
	switch {
	case f.cur != nil:
		t := f.cur
		t.settle(flow.Result{Gone: true})
		t.release()
	case f.relaying:
		// A client that leaves while the body is on its way cuts it (its
		// try ends then, not the server's failure).
		f.relaying = false
		f.bodyTimer.Stop()
		f.fl.Finish(f.p.k.Now(), flow.ClassClientClosed, false)
		f.finish(Response{Status: f.status, Error: flow.ClassClientClosed, Backend: f.peer.Name()}, nil)
	}
}

// route picks the group of a request by the listener's rules.
func (p *Proxy) route(req *Request) *group {
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

// upTry is one try of a flight on a server: the simulator's events of the
// try (the connect, the server's reply, the connect or read timeout) reach
// the flight through it, and drop out once it has settled (a try settles
// once: a late answer after a timeout is dropped).
//
// Tries are pooled (Proxy.tries). The ownership rule: refs counts the
// events and the server's done callback the try has handed out and that
// have not come back (run, called, or stopped); the try goes back to the
// pool once it has settled and refs is 0 (release). A try whose server
// never calls back (hung, powered off) is never reused; the garbage
// collector takes it.
type upTry struct {
	p       *Proxy
	f       *flight
	peer    *balance.Peer
	b       Server
	sent    time.Duration
	reused  bool
	settled bool
	timer   sim.Timer // the connect or read timeout
	refs    int
	reply   Reply // the server's reply, between served and replied
	// The try's callbacks, bound once per pooled try.
	onConnect, onRefused, onConnectTimeout, onReadTimeout, onReply func()
	onServed                                                       func(Reply)
}

// release gives t back to the pool when nothing holds it any more.
func (t *upTry) release() {
	if !t.settled || t.refs != 0 {
		return
	}
	t.f, t.peer, t.b, t.timer, t.reply = nil, nil, nil, sim.Timer{}, Reply{}
	t.p.tries.Put(t)
}

// try sends the request to one server: on an idle kept-alive connection
// to it when the pool has one, else on a new connection.
func (f *flight) try(peer *balance.Peer) {
	p := f.p
	addr := peer.Server().Name
	t := p.tries.Get()
	t.f, t.peer, t.b, t.settled, t.refs = f, peer, p.backends[addr], false, 1
	t.sent = p.k.Now()
	t.reused = p.take(addr, t.sent)
	f.cur = t
	lat := p.net.BackendLatency
	if t.b == nil {
		p.k.After(2*lat, t.onRefused)
		return
	}
	p.k.After(lat, t.onConnect)
}

// connect is the connection attempt reaching the server, a one-way
// latency after the try began.
func (t *upTry) connect() {
	t.refs--
	defer t.release()
	if t.settled {
		return // the client left
	}
	p := t.p
	switch t.b.Connect() {
	case attempt.Refused:
		t.refs++
		p.k.After(p.net.BackendLatency, t.onRefused)
		return
	case attempt.ConnectTimeout:
		t.refs++
		t.timer = p.k.At(t.f.fl.ConnectDeadline(t.sent), t.onConnectTimeout)
		return
	}
	// Connected: the proxy learns it a round trip after it began, and
	// sends the request then; the response header must come within the
	// read timeout of that.
	t.refs += 2
	t.timer = p.k.At(t.f.fl.ReadDeadline(t.sent+2*p.net.BackendLatency), t.onReadTimeout)
	t.b.Serve(t.reused, t.onServed)
}

// refused, connectTimedOut and readTimedOut end the try as they say.
func (t *upTry) refused()         { t.refs--; t.outcome(attempt.Refused); t.release() }
func (t *upTry) connectTimedOut() { t.refs--; t.outcome(attempt.ConnectTimeout); t.release() }
func (t *upTry) readTimedOut()    { t.refs--; t.outcome(attempt.ReadTimeout); t.release() }

// outcome settles the try with out and no response.
func (t *upTry) outcome(out attempt.Outcome) {
	t.settle(flow.Result{Try: attempt.Try{Outcome: out,
		Sent: out != attempt.Refused && out != attempt.ConnectTimeout}})
}

// served is the server's done: its reply reaches the proxy a one-way
// latency later.
func (t *upTry) served(r Reply) {
	t.reply = r
	t.p.k.After(t.p.net.BackendLatency, t.onReply) // the served ref passes to the event
}

// replied is the server's reply reaching the proxy.
func (t *upTry) replied() {
	t.refs--
	defer t.release()
	if t.settled {
		return
	}
	r := t.reply
	res := flow.Result{Try: attempt.Try{Outcome: r.Outcome, Status: r.Status, Sent: true}}
	// A reused connection that gave nothing back is stale, as the real
	// proxy tells it (nothing read before the reset).
	res.Stale = t.reused && r.Outcome == attempt.Reset
	t.f.body = r.Body
	t.settle(res)
}

// settle hands the try's result to the flight, once.
func (t *upTry) settle(r flow.Result) {
	if t.settled {
		return
	}
	t.settled = true
	f := t.f
	f.cur = nil
	if t.timer.Stop() {
		t.refs--
	}
	// A streamed body went out with the request.
	r.Spent = r.Sent && f.req.Streamed
	f.result(t.peer, r)
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
		f.peer, f.status = peer, st.Status
		if f.body == 0 {
			f.answer()
			return
		}
		// The body is on its way; a client that leaves meanwhile cuts it
		// (clientLeft).
		f.relaying = true
		f.bodyTimer = p.k.After(f.body, f.onBody)
	default:
		f.step(st)
	}
}

// relayed is the answer's body relayed whole.
func (f *flight) relayed() {
	f.relaying = false
	f.answer()
}

// answer ends the answered flight: the try ends, its connection goes back
// to the pool and the response to the client.
func (f *flight) answer() {
	p, peer := f.p, f.peer
	end := p.k.Now()
	f.fl.Finish(end, "", false)
	p.put(peer.Server().Name, end)
	f.finish(Response{Status: f.status, Backend: peer.Name()}, peer)
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
	f.free()
}
