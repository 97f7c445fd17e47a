// Package flow is the load balancer's one request-flow core: a server
// group at run time (persistence, passive accounting, the application of
// active health results, the hash key over a request's variables) and a
// flight, the life of one request or session in it (start → next try →
// result of the try → another try or a final status), as nginx's upstream
// module lives it.
//
// It is pure: every call takes the current time (and Next a random
// source); it never reads a clock, sleeps or opens a socket. The drivers
// do the I/O and call it: the simulator (proxy/simproxy) and the real
// data plane's HTTP, TCP and UDP paths (proxy/server). A Group is not safe
// for concurrent use; a driver with several goroutines serialises the
// calls on a group and its flights.
package flow

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/balance"
	"github.com/lblab/lblab/proxy/health"
)

// Defaults of a group's settings (proxy.Group and its parts).
const (
	// DefaultConnectTimeout is proxy_connect_timeout's default.
	DefaultConnectTimeout = 60 * time.Second
	// DefaultReadTimeout is proxy_read_timeout's default.
	DefaultReadTimeout = 60 * time.Second
	// DefaultCookie is persistence's inserted cookie name.
	DefaultCookie = "SERVERID"
	// DefaultLifetime is persistence's cookie (or source entry) lifetime.
	DefaultLifetime = time.Hour
	// DefaultProbePath and DefaultProbeMethod are an HTTP check's request.
	DefaultProbePath   = "/"
	DefaultProbeMethod = "HEAD"
)

// Persistence modes (proxy.Persistence.Mode).
const (
	persistNone = iota
	persistCookie
	persistSource
)

// maxSticky is how many source_ip entries a group keeps before it forgets
// the expired ones.
const maxSticky = 1 << 16

// Group is a server group at run time.
type Group struct {
	// Config is the group's configuration (validated).
	Config *proxy.Group
	// Policy is proxy_next_upstream with its _tries and _timeout.
	Policy attempt.Policy
	// ConnectTimeout bounds a connect (default DefaultConnectTimeout);
	// ReadTimeout bounds the wait for a response header from the moment
	// the request has been sent (default DefaultReadTimeout).
	ConnectTimeout, ReadTimeout time.Duration
	// OnHealth, when set, is told every up/down transition of a server,
	// from active checks (CheckResult) and from passive accounting
	// (max_fails).
	OnHealth func(now time.Duration, server string, up bool, reason string)

	bal   *balance.Group
	peers []*balance.Peer
	index map[*balance.Peer]int
	key   proxy.HashKey
	spare []*balance.Attempt
	// passive tracks servers nginx's max_fails took out.
	passive *health.Passive

	persist  int
	cookie   string
	lifetime time.Duration
	sticky   map[netip.Addr]stickyEntry

	checker *health.Checker
	up      []bool
	probes  []Probe
}

type stickyEntry struct {
	server  int
	expires time.Duration
}

// Probe is what an active check of one server sends.
type Probe struct {
	// Addr is where the check connects: the server's address, or its host
	// with the check's port.
	Addr string
	// HTTP is true for an HTTP check (false: a TCP connect).
	HTTP bool
	// Method and Path are the HTTP check's request line (defaults HEAD
	// and /).
	Method, Path string
	// Host is the Host field: the server's address.
	Host string
}

// NewGroup builds the run-time group of gc (validated with
// proxy.Validate); its active checks, if any, start at now. With a seed,
// each server's first probe comes at its phase drawn from the seed
// (health.Phase of the seed, the group's and the server's names), as the
// simulator and the real proxy given the same seed both put it; without
// (nil), the probes are staggered i × interval / n (health.New).
func NewGroup(gc *proxy.Group, now time.Duration, seed *uint64) (*Group, error) {
	bal, err := balance.NewGroup(gc.BalanceConfig())
	if err != nil {
		return nil, err
	}
	g := &Group{Config: gc, bal: bal, peers: bal.Peers(), index: map[*balance.Peer]int{},
		ConnectTimeout: gc.ConnectTimeout.Or(DefaultConnectTimeout), ReadTimeout: gc.ReadTimeout.Or(DefaultReadTimeout)}
	for i, peer := range g.peers {
		g.index[peer] = i
	}
	g.passive = health.NewPassive(len(g.peers))
	g.Policy.On, _ = attempt.ParseConditions(nil)
	if n := gc.NextUpstream; n != nil {
		if g.Policy.On, err = attempt.ParseConditions(n.On); err != nil {
			return nil, fmt.Errorf("next_upstream: %w", err)
		}
		g.Policy.Tries, g.Policy.Timeout = n.Tries, n.Timeout.D
	}
	if gc.Algorithm == balance.Hash || gc.Algorithm == balance.HashConsistent {
		if g.key, err = proxy.ParseHashKey(gc.HashKey); err != nil {
			return nil, fmt.Errorf("hash_key: %w", err)
		}
	}
	if ps := gc.Persistence; ps != nil {
		switch ps.Mode {
		case "cookie":
			g.persist = persistCookie
		case "source_ip":
			g.persist = persistSource
		}
		g.cookie, g.lifetime = ps.Cookie, ps.Lifetime.Or(DefaultLifetime)
		if g.cookie == "" {
			g.cookie = DefaultCookie
		}
		g.sticky = map[netip.Addr]stickyEntry{}
	}
	if hc := gc.HealthCheck; hc != nil {
		codes, err := health.ParseCodes(hc.ExpectedCodes)
		if err != nil {
			return nil, fmt.Errorf("health_check.expected_codes: %w", err)
		}
		cfg := health.Config{Interval: hc.Interval.D, Timeout: hc.Timeout.D,
			Rise: hc.HealthyThreshold, Fall: hc.UnhealthyThreshold, Expect: codes}
		if seed != nil {
			names := make([]string, len(g.peers))
			for i, peer := range g.peers {
				names[i] = peer.Name()
			}
			g.checker = health.NewSeeded(cfg, now, *seed, gc.Name, names)
		} else {
			g.checker = health.New(cfg, len(g.peers), now)
		}
		pr := Probe{HTTP: hc.Type != "tcp", Path: hc.Path, Method: strings.ToUpper(hc.Method)}
		if pr.Path == "" {
			pr.Path = DefaultProbePath
		}
		if pr.Method == "" {
			pr.Method = DefaultProbeMethod
		}
		g.up = make([]bool, len(g.peers))
		for i, peer := range g.peers {
			g.up[i] = true
			pr.Addr, pr.Host = peer.Name(), peer.Name()
			if hc.Port != 0 {
				host, _, err := net.SplitHostPort(pr.Addr)
				if err != nil {
					host = pr.Addr
				}
				pr.Addr = net.JoinHostPort(host, strconv.Itoa(hc.Port))
			}
			g.probes = append(g.probes, pr)
		}
	}
	return g, nil
}

// Name returns the group's name.
func (g *Group) Name() string { return g.Config.Name }

// Peers returns the group's servers, in the order of its configuration.
func (g *Group) Peers() []*balance.Peer { return g.peers }

// Index returns the position of peer in Peers.
func (g *Group) Index(peer *balance.Peer) int { return g.index[peer] }

// Key returns the group's hash key (KeyNone when it hashes none).
func (g *Group) Key() proxy.HashKey { return g.key }

// CookieName returns the cookie of cookie persistence ("" without it).
func (g *Group) CookieName() string {
	if g.persist != persistCookie {
		return ""
	}
	return g.cookie
}

// Lifetime returns persistence's lifetime (of the cookie, or of a source
// entry).
func (g *Group) Lifetime() time.Duration { return g.lifetime }

// Checker returns the group's active checker, nil without active checks.
func (g *Group) Checker() *health.Checker { return g.checker }

// Probe returns what an active check of server i sends.
func (g *Group) Probe(i int) Probe { return g.probes[i] }

// SetProbePath changes the path of the group's HTTP checks (a fix of the
// configuration at run time).
func (g *Group) SetProbePath(path string) error {
	if g.checker == nil {
		return fmt.Errorf("group %s has no active health check", g.Name())
	}
	for i := range g.probes {
		g.probes[i].Path = path
	}
	return nil
}

// CheckResult takes the result of an active check of server i at now: a
// transition changes which servers the balancer may pick (with
// fail_open, every server while none is up) and is told to OnHealth.
func (g *Group) CheckResult(now time.Duration, i int, ok bool, detail string) {
	tr, changed := g.checker.Result(now, i, ok, detail)
	if !changed {
		return
	}
	g.up[i] = tr.Up
	if g.OnHealth != nil {
		g.OnHealth(now, g.peers[i].Name(), tr.Up, tr.Reason)
	}
	g.applyHealth()
}

// applyHealth tells the balancer which servers are healthy; with
// fail-open, every server counts as healthy while none is.
func (g *Group) applyHealth() {
	anyUp := false
	for _, u := range g.up {
		anyUp = anyUp || u
	}
	open := !anyUp && g.Config.NoServer == proxy.NoServerFailOpen
	for i, peer := range g.peers {
		peer.SetHealthy(g.up[i] || open)
	}
}

// observe records the transitions of nginx's passive accounting
// (health.Passive) after a try on peer ended with d.
func (g *Group) observe(now time.Duration, peer *balance.Peer, d attempt.Decision) {
	srv := peer.Server()
	last := d.Class
	if last == "" && srv.MaxFails > 0 && peer.Fails() >= srv.MaxFails {
		// only a transition reads it: no string per request
		last = "status " + strconv.Itoa(d.Status)
	}
	tr, changed := g.passive.Observe(g.index[peer], peer.Fails(), srv.MaxFails, srv.FailTimeout, last)
	if changed && g.OnHealth != nil {
		g.OnHealth(now, peer.Name(), tr.Up, tr.Reason)
	}
}

// pinned returns the server persistence sends the request to, if any.
func (g *Group) pinned(now time.Duration, client netip.Addr, cookie string, hasCookie bool) *balance.Peer {
	switch g.persist {
	case persistCookie:
		if !hasCookie {
			return nil
		}
		for _, peer := range g.peers {
			if peer.Name() == cookie {
				return peer
			}
		}
	case persistSource:
		if e, ok := g.sticky[client]; ok {
			if e.expires > now {
				return g.peers[e.server]
			}
			delete(g.sticky, client)
		}
	}
	return nil
}

// remember records where a successful request of client went, for
// source_ip persistence.
func (g *Group) remember(now time.Duration, client netip.Addr, peer *balance.Peer) {
	if g.persist != persistSource {
		return
	}
	if len(g.sticky) >= maxSticky {
		for a, e := range g.sticky {
			if e.expires <= now {
				delete(g.sticky, a)
			}
		}
	}
	g.sticky[client] = stickyEntry{server: g.index[peer], expires: now + g.lifetime}
}

// attempt takes a balancer attempt for a new request, reusing a finished
// one.
func (g *Group) attempt(r balance.Request) *balance.Attempt {
	if n := len(g.spare); n > 0 {
		a := g.spare[n-1]
		g.spare = g.spare[:n-1]
		a.Reset(r)
		return a
	}
	return g.bal.Start(r)
}

// Algorithm returns the balancer's algorithm name.
func (g *Group) Algorithm() string { return g.bal.Algorithm() }

// ActiveUp reports the active checks' verdict on server i, and whether
// the group has active checks at all.
func (g *Group) ActiveUp(i int) (up, checked bool) {
	if g.up == nil {
		return true, false
	}
	return g.up[i], true
}

// PassiveDown reports whether nginx's max_fails has taken server i out.
func (g *Group) PassiveDown(i int) bool { return g.passive.Down(i) }
