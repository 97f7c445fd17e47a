package simproxy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/balance"
	"github.com/lblab/lblab/proxy/health"
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
	k        *sim.Kernel
	rnd      *rand.Rand
	log      *history.Log
	net      Network
	cfg      *proxy.Config
	groups   map[string]*group
	backends map[string]*Backend
	// RecordRequests writes a history event per request (default true);
	// benchmarks turn it off and read the counters.
	RecordRequests bool
	// Counters.
	Requests, Answered int
}

// group is a server group at run time.
type group struct {
	p       *Proxy
	cfg     *proxy.Group
	bal     *balance.Group
	peers   []*balance.Peer
	index   map[*balance.Peer]int
	policy  attempt.Policy
	connTO  time.Duration
	readTO  time.Duration
	checker *health.Checker
	hcTimer sim.Timer
	up      []bool // active health per server
	hcPath  string
	hcHTTP  bool
	due     []int
	// persistence
	mode     string
	cookie   string
	lifetime time.Duration
	sticky   map[netip.Addr]stickyEntry
	// spare holds finished attempts for reuse (balance.Attempt.Reset).
	spare []*balance.Attempt
	// passiveDown tracks servers nginx's max_fails took out.
	passiveDown *health.Passive
}

type stickyEntry struct {
	server  int
	expires time.Duration
}

// New builds the proxy for cfg (already validated with proxy.Validate)
// over the given backends. Health checks start at once.
func New(k *sim.Kernel, cfg *proxy.Config, backends []*Backend, net Network, log *history.Log) (*Proxy, error) {
	if net.ClientLatency == 0 {
		net.ClientLatency = time.Millisecond
	}
	if net.BackendLatency == 0 {
		net.BackendLatency = 250 * time.Microsecond
	}
	p := &Proxy{k: k, rnd: k.Rand("proxy"), log: log, net: net, cfg: cfg,
		groups: map[string]*group{}, backends: map[string]*Backend{}, RecordRequests: true}
	for _, b := range backends {
		p.backends[b.Address()] = b
	}
	for i := range cfg.Groups {
		g, err := p.newGroup(&cfg.Groups[i])
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", cfg.Groups[i].Name, err)
		}
		p.groups[g.cfg.Name] = g
	}
	return p, nil
}

func (p *Proxy) newGroup(gc *proxy.Group) (*group, error) {
	bal, err := balance.NewGroup(gc.BalanceConfig())
	if err != nil {
		return nil, err
	}
	g := &group{p: p, cfg: gc, bal: bal, peers: bal.Peers(), index: map[*balance.Peer]int{},
		connTO: gc.ConnectTimeout.Or(60 * time.Second), readTO: gc.ReadTimeout.Or(60 * time.Second)}
	for i, peer := range g.peers {
		g.index[peer] = i
	}
	g.passiveDown = health.NewPassive(len(g.peers))
	g.policy.On, _ = attempt.ParseConditions(nil)
	if n := gc.NextUpstream; n != nil {
		g.policy.On, _ = attempt.ParseConditions(n.On)
		g.policy.Tries, g.policy.Timeout = n.Tries, n.Timeout.D
	}
	if ps := gc.Persistence; ps != nil && ps.Mode != "none" {
		g.mode, g.cookie, g.lifetime = ps.Mode, ps.Cookie, ps.Lifetime.Or(time.Hour)
		if g.cookie == "" {
			g.cookie = "SERVERID"
		}
		g.sticky = map[netip.Addr]stickyEntry{}
	}
	if hc := gc.HealthCheck; hc != nil {
		codes, _ := health.ParseCodes(hc.ExpectedCodes)
		g.checker = health.New(health.Config{Interval: hc.Interval.D, Timeout: hc.Timeout.D,
			Rise: hc.HealthyThreshold, Fall: hc.UnhealthyThreshold, Expect: codes}, len(g.peers), p.k.Now())
		g.hcPath, g.hcHTTP = hc.Path, hc.Type != "tcp"
		if g.hcPath == "" {
			g.hcPath = "/"
		}
		g.up = make([]bool, len(g.peers))
		for i := range g.up {
			g.up[i] = true
		}
		g.armChecks()
	}
	return g, nil
}

// SetHealthPath changes the path a group's active checks probe (a fix of
// the configuration at run time).
func (p *Proxy) SetHealthPath(groupName, path string) error {
	g := p.groups[groupName]
	if g == nil || g.checker == nil {
		return fmt.Errorf("group %s has no active health check", groupName)
	}
	g.hcPath = path
	return nil
}

// armChecks schedules the next active probes.
func (g *group) armChecks() {
	g.hcTimer.Stop()
	if at, ok := g.checker.Deadline(); ok {
		g.hcTimer = g.p.k.At(at, g.runChecks)
	}
}

func (g *group) runChecks() {
	now := g.p.k.Now()
	g.due = g.checker.Due(now, g.due[:0])
	timeout := g.checker.Config().Timeout
	rtt := 2 * g.p.net.BackendLatency
	for _, i := range g.due {
		i := i
		b := g.p.backends[g.peers[i].Server().Name]
		status, out := 0, attempt.Refused
		if b != nil {
			status, out = b.probe(g.hcHTTP, g.hcPath)
		}
		at, ok, detail := now+rtt, false, ""
		switch {
		case out == attempt.ConnectTimeout || out == attempt.ReadTimeout || rtt > timeout:
			at, detail = now+timeout, "timeout"
		case out == attempt.Refused:
			detail = "refused"
		case !g.hcHTTP:
			ok = true
		default:
			ok, detail = g.checker.Judge(status)
		}
		g.p.k.At(at, func() { g.checkResult(i, ok, detail) })
	}
	g.armChecks()
}

func (g *group) checkResult(i int, ok bool, detail string) {
	tr, changed := g.checker.Result(g.p.k.Now(), i, ok, detail)
	if changed {
		g.up[i] = tr.Up
		from, to := "up", "down"
		if tr.Up {
			from, to = "down", "up"
		}
		g.p.log.Add(history.Event{T: history.Stamp(g.p.k.Now()), Kind: history.KindHealth, Group: g.cfg.Name,
			Server: g.peers[i].Server().Name, From: from, To: to, Reason: tr.Reason})
		g.applyHealth()
	}
	g.armChecks()
}

// passive records the transitions of nginx's passive accounting
// (health.Passive) in the history.
func (g *group) passive(now time.Duration, peer *balance.Peer, d attempt.Decision) {
	last := d.Class
	if last == "" {
		last = fmt.Sprintf("status %d", d.Status)
	}
	tr, changed := g.passiveDown.Observe(g.index[peer], peer.Fails(), peer.Server().MaxFails, peer.Server().FailTimeout, last)
	if !changed {
		return
	}
	from, to := "up", "down"
	if tr.Up {
		from, to = "down", "up"
	}
	g.p.log.Add(history.Event{T: history.Stamp(now), Kind: history.KindHealth, Group: g.cfg.Name,
		Server: peer.Name(), From: from, To: to, Reason: tr.Reason})
}

// applyHealth tells the balancer which servers are healthy; with
// fail-open, every server counts as healthy while none is.
func (g *group) applyHealth() {
	anyUp := false
	for _, u := range g.up {
		anyUp = anyUp || u
	}
	open := !anyUp && g.cfg.NoServer == proxy.NoServerFailOpen
	for i, peer := range g.peers {
		peer.SetHealthy(g.up[i] || open)
	}
}

// Request is one client request as it reaches the load balancer.
type Request struct {
	// Listener is the listener's name.
	Listener string
	// Conn is the address the connection comes from ($remote_addr).
	Conn netip.Addr
	// XFF is the X-Forwarded-For header ("" when absent).
	XFF string
	// Host, Method and URI are the request line and host header.
	Host, Method, URI string
	// Cookies are the request's cookies.
	Cookies map[string]string
	// Intended is when the client meant to send it (latency counts from
	// here).
	Intended time.Duration
	// User is the real user's address, for the history.
	User netip.Addr
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

// flight is a request inside the proxy.
type flight struct {
	p       *Proxy
	g       *group
	req     Request
	att     *balance.Attempt
	pin     *balance.Peer
	tries   int
	started time.Duration
	last    attempt.Decision
	moved   string
	done    func(Response)
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
		req.Progress.Group = g.cfg.Name
	}
	f := &flight{p: p, g: g, req: req, done: done, started: p.k.Now()}
	br := balance.Request{Key: evalKey(g.cfg.HashKey, req), Client: req.Conn}
	if n := len(g.spare); n > 0 {
		f.att, g.spare = g.spare[n-1], g.spare[:n-1]
		f.att.Reset(br)
	} else {
		f.att = g.bal.Start(br)
	}
	f.pin = g.pinned(req)
	f.next()
}

// route picks the group of a request by the listener's rules.
func (p *Proxy) route(req Request) *group {
	for i := range p.cfg.Listeners {
		l := &p.cfg.Listeners[i]
		if l.Name != req.Listener {
			continue
		}
		path, _, _ := strings.Cut(req.URI, "?")
		for _, r := range l.Rules {
			if (r.Host == "" || strings.EqualFold(r.Host, req.Host)) && strings.HasPrefix(path, r.PathPrefix) {
				return p.groups[r.Group]
			}
		}
		return p.groups[l.Group]
	}
	return nil
}

// pinned returns the server persistence sends the request to, if any.
func (g *group) pinned(req Request) *balance.Peer {
	switch g.mode {
	case "cookie":
		name, ok := req.Cookies[g.cookie]
		if !ok {
			return nil
		}
		for _, peer := range g.peers {
			if peer.Server().Name == name {
				return peer
			}
		}
	case "source_ip":
		if e, ok := g.sticky[req.Conn]; ok && e.expires > g.p.k.Now() {
			return g.peers[e.server]
		}
	}
	return nil
}

// next makes the next try, or ends the request when no server is left.
func (f *flight) next() {
	now := f.p.k.Now()
	var peer *balance.Peer
	if f.pin != nil {
		pin := f.pin
		f.pin = nil
		if f.att.Take(now, pin) {
			peer = pin
		} else if f.g.mode == "cookie" {
			f.moved = pin.Server().Name
		}
	}
	if peer == nil {
		var err error
		peer, err = f.att.Next(now, f.p.rnd)
		if err != nil {
			if f.tries == 0 {
				status := 502
				if f.g.cfg.NoServer == proxy.NoServer503 {
					status = 503
				}
				f.finish(Response{Status: status, Error: "no_server"}, nil)
				return
			}
			f.finish(Response{Status: f.last.Status, Error: f.last.Class}, nil)
			return
		}
	}
	f.tries++
	f.try(peer)
}

// try sends the request to one server.
func (f *flight) try(peer *balance.Peer) {
	p, g := f.p, f.g
	b := p.backends[peer.Server().Name]
	if pr := f.req.Progress; pr != nil {
		pr.Backend, pr.Tries = peer.Server().Name, pr.Tries+1
	}
	sent := p.k.Now()
	settled := false
	var timer sim.Timer
	outcome := func(out attempt.Outcome, status int) {
		if settled {
			return
		}
		settled = true
		timer.Stop()
		f.result(peer, sent, attempt.Try{Outcome: out, Status: status,
			Sent: out != attempt.Refused && out != attempt.ConnectTimeout})
	}
	lat := p.net.BackendLatency
	if b == nil {
		p.k.After(2*lat, func() { outcome(attempt.Refused, 0) })
		return
	}
	p.k.After(lat, func() {
		switch b.connect() {
		case attempt.Refused:
			p.k.After(lat, func() { outcome(attempt.Refused, 0) })
			return
		case attempt.ConnectTimeout:
			timer = p.k.At(sent+g.connTO, func() { outcome(attempt.ConnectTimeout, 0) })
			return
		}
		// Connected and sent: the response header must come within the
		// read timeout.
		timer = p.k.At(sent+2*lat+g.readTO, func() { outcome(attempt.ReadTimeout, 0) })
		b.serve(func(out attempt.Outcome, status int) {
			p.k.After(lat, func() { outcome(out, status) })
		})
	})
}

// result applies the decision cores to a try's outcome.
func (f *flight) result(peer *balance.Peer, sent time.Duration, t attempt.Try) {
	now := f.p.k.Now()
	d := f.g.policy.After(now, attempt.Request{Method: f.req.Method, Started: f.started, Tries: f.tries,
		MaxTries: f.att.MaxTries()}, t)
	f.att.Done(now, peer, d.Failed, now-sent)
	f.g.passive(now, peer, d)
	f.last = d
	if d.Next {
		f.next()
		return
	}
	f.finish(Response{Status: d.Status, Error: d.Class, Backend: peer.Server().Name}, peer)
}

// finish sends the response, with persistence's cookie or memory.
func (f *flight) finish(r Response, peer *balance.Peer) {
	r.Tries, r.Group, r.Moved = f.tries, f.g.cfg.Name, f.moved
	f.g.spare = append(f.g.spare, f.att) // every try has ended with Done
	f.att = nil
	if peer != nil && r.Error == "" {
		f.p.Answered++
		switch f.g.mode {
		case "cookie":
			if f.req.Cookies[f.g.cookie] != peer.Server().Name {
				r.SetCookie = [2]string{f.g.cookie, peer.Server().Name}
			}
		case "source_ip":
			f.g.sticky[f.req.Conn] = stickyEntry{server: f.g.index[peer], expires: f.p.k.Now() + f.g.lifetime}
		}
	}
	f.done(r)
}

// evalKey evaluates an nginx variable for hashing.
func evalKey(key string, req Request) string {
	switch {
	case key == "":
		return ""
	case key == "$request_uri":
		return req.URI
	case key == "$uri":
		path, _, _ := strings.Cut(req.URI, "?")
		return path
	case key == "$remote_addr":
		return req.Conn.String()
	case key == "$http_x_forwarded_for":
		return req.XFF
	case strings.HasPrefix(key, "$cookie_"):
		return req.Cookies[strings.TrimPrefix(key, "$cookie_")]
	case strings.HasPrefix(key, "$arg_"):
		_, q, _ := strings.Cut(req.URI, "?")
		v, _ := url.ParseQuery(q)
		return v.Get(strings.TrimPrefix(key, "$arg_"))
	}
	return ""
}
