package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/balance"
	"github.com/lblab/lblab/proxy/health"
)

// group is a server group at run time. Every decision goes through the
// cores (balance, attempt, health) exactly as proxy/simproxy drives them;
// the group's mutex serialises them, since the cores are not safe for
// concurrent use.
type group struct {
	s      *Server
	cfg    *proxy.Group
	name   string
	policy attempt.Policy
	connTO time.Duration
	readTO time.Duration
	// keyKind says what the hash key needs evaluated (keyNone when the
	// algorithm hashes no key).
	keyKind int
	keyName string

	mu    sync.Mutex
	bal   *balance.Group
	peers []*balance.Peer
	ups   []*upstream // by peer index
	index map[*balance.Peer]int
	rnd   *rand.Rand
	spare []*balance.Attempt
	// passiveDown tracks servers nginx's max_fails took out.
	passiveDown *health.Passive

	// persistence
	mode     string
	cookie   string
	lifetime time.Duration
	sticky   map[netip.Addr]stickyEntry

	// active health checks
	checker *health.Checker
	up      []bool
	hcPath  string
	hcHTTP  bool
	hcHost  []string // probe addresses by peer index
	hcMeth  string
	due     []int
	wake    chan struct{}

	// stats are the group's request counters (their own lock).
	stats *stats
}

type stickyEntry struct {
	server  int
	expires time.Duration
}

const (
	keyNone = iota
	keyURI
	keyPath
	keyAddr
	keyHeader
	keyCookie
	keyArg
)

func newGroup(s *Server, gc *proxy.Group) (*group, error) {
	bal, err := balance.NewGroup(gc.BalanceConfig())
	if err != nil {
		return nil, err
	}
	g := &group{s: s, cfg: gc, name: gc.Name, bal: bal, peers: bal.Peers(), index: map[*balance.Peer]int{},
		connTO: gc.ConnectTimeout.Or(60 * time.Second), readTO: gc.ReadTimeout.Or(60 * time.Second),
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6c626c6162)), wake: make(chan struct{}, 1),
		stats: newStats()}
	for i, peer := range g.peers {
		g.index[peer] = i
		g.ups = append(g.ups, s.upstreamFor(peer.Name()))
	}
	g.passiveDown = health.NewPassive(len(g.peers))
	g.policy.On, _ = attempt.ParseConditions(nil)
	if n := gc.NextUpstream; n != nil {
		g.policy.On, _ = attempt.ParseConditions(n.On)
		g.policy.Tries, g.policy.Timeout = n.Tries, n.Timeout.D
	}
	if ps := gc.Persistence; ps != nil && ps.Mode != "none" && ps.Mode != "" {
		g.mode, g.cookie, g.lifetime = ps.Mode, ps.Cookie, ps.Lifetime.Or(time.Hour)
		if g.cookie == "" {
			g.cookie = "SERVERID"
		}
		g.sticky = map[netip.Addr]stickyEntry{}
	}
	switch gc.Algorithm {
	case balance.Hash, balance.HashConsistent:
		k := gc.HashKey
		switch {
		case k == "$request_uri":
			g.keyKind = keyURI
		case k == "$uri":
			g.keyKind = keyPath
		case k == "$remote_addr":
			g.keyKind = keyAddr
		case strings.HasPrefix(k, "$http_"):
			g.keyKind, g.keyName = keyHeader, strings.ReplaceAll(strings.TrimPrefix(k, "$http_"), "_", "-")
		case strings.HasPrefix(k, "$cookie_"):
			g.keyKind, g.keyName = keyCookie, strings.TrimPrefix(k, "$cookie_")
		case strings.HasPrefix(k, "$arg_"):
			g.keyKind, g.keyName = keyArg, strings.TrimPrefix(k, "$arg_")
		}
	}
	if hc := gc.HealthCheck; hc != nil {
		codes, _ := health.ParseCodes(hc.ExpectedCodes)
		g.checker = health.New(health.Config{Interval: hc.Interval.D, Timeout: hc.Timeout.D,
			Rise: hc.HealthyThreshold, Fall: hc.UnhealthyThreshold, Expect: codes}, len(g.peers), s.now())
		g.hcPath, g.hcHTTP = hc.Path, hc.Type != "tcp"
		if g.hcPath == "" {
			g.hcPath = "/"
		}
		g.hcMeth = strings.ToUpper(hc.Method)
		if g.hcMeth == "" {
			g.hcMeth = "HEAD"
		}
		g.up = make([]bool, len(g.peers))
		for i, peer := range g.peers {
			g.up[i] = true
			addr := peer.Name()
			if hc.Port != 0 {
				host, _, _ := net.SplitHostPort(addr)
				addr = net.JoinHostPort(host, strconv.Itoa(hc.Port))
			}
			g.hcHost = append(g.hcHost, addr)
		}
	}
	return g, nil
}

// start takes an attempt for a new request and the server persistence
// pins it to. Called with g.mu held.
func (g *group) start(r balance.Request) *balance.Attempt {
	if n := len(g.spare); n > 0 {
		a := g.spare[n-1]
		g.spare = g.spare[:n-1]
		a.Reset(r)
		return a
	}
	return g.bal.Start(r)
}

// pinned returns the server persistence sends the request to, if any, as
// simproxy does. Called with g.mu held.
func (g *group) pinned(now time.Duration, cookie string, hasCookie bool, client netip.Addr) *balance.Peer {
	switch g.mode {
	case "cookie":
		if !hasCookie {
			return nil
		}
		for _, peer := range g.peers {
			if peer.Server().Name == cookie {
				return peer
			}
		}
	case "source_ip":
		if e, ok := g.sticky[client]; ok {
			if e.expires > now {
				return g.peers[e.server]
			}
			delete(g.sticky, client)
		}
	}
	return nil
}

// remember records where a successful request went, for source_ip
// persistence. Called with g.mu held.
func (g *group) remember(now time.Duration, client netip.Addr, peer *balance.Peer) {
	if g.mode != "source_ip" {
		return
	}
	if len(g.sticky) >= 1<<16 { // forget the expired entries now and then
		for a, e := range g.sticky {
			if e.expires <= now {
				delete(g.sticky, a)
			}
		}
	}
	g.sticky[client] = stickyEntry{server: g.index[peer], expires: now + g.lifetime}
}

// passive records the transitions of nginx's passive accounting
// (health.Passive), as simproxy does. Called with g.mu held.
func (g *group) passive(now time.Duration, peer *balance.Peer, d attempt.Decision) {
	last := d.Class
	if last == "" {
		last = fmt.Sprintf("status %d", d.Status)
	}
	tr, changed := g.passiveDown.Observe(g.index[peer], peer.Fails(), peer.Server().MaxFails, peer.Server().FailTimeout, last)
	if changed {
		g.s.healthEvent(now, g.name, peer.Name(), tr.Up, tr.Reason)
	}
}

// applyHealth tells the balancer which servers are healthy; with
// fail-open, every server counts as healthy while none is. Called with
// g.mu held.
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

// runHealth drives the group's active checker on real timers until ctx
// ends: it starts the probes the checker says are due, each on its own
// goroutine, and feeds their results back.
func (g *group) runHealth(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		g.mu.Lock()
		at, ok := g.checker.Deadline()
		g.mu.Unlock()
		wait := time.Hour
		if ok {
			wait = at - g.s.now()
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
			continue
		case <-timer.C:
		}
		g.mu.Lock()
		now := g.s.now()
		g.due = g.checker.Due(now, g.due[:0])
		due := append([]int(nil), g.due...)
		g.mu.Unlock()
		for _, i := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, detail := g.probe(ctx, i)
				g.result(i, ok, detail)
			}()
		}
	}
}

func (g *group) result(i int, ok bool, detail string) {
	g.mu.Lock()
	now := g.s.now()
	tr, changed := g.checker.Result(now, i, ok, detail)
	if changed {
		g.up[i] = tr.Up
		g.applyHealth()
		g.s.healthEvent(now, g.name, g.peers[i].Name(), tr.Up, tr.Reason)
	}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// probe checks server i once, on a real socket: a TCP connect, or an HTTP
// request whose status the checker judges. It returns ok or why not
// (refused, timeout, reset, invalid, status N).
func (g *group) probe(ctx context.Context, i int) (bool, string) {
	timeout := g.checker.Config().Timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	c, err := g.s.dial(ctx, g.hcHost[i], timeout)
	if err != nil {
		return false, dialClass(err)
	}
	defer c.Close()
	if !g.hcHTTP {
		return true, ""
	}
	c.SetDeadline(deadline)
	host := g.peers[i].Name()
	req := g.hcMeth + " " + g.hcPath + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: lblab-health\r\nConnection: close\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return false, ioClass(err)
	}
	buf := make([]byte, 0, 1024)
	for {
		if n := headerEnd(buf); n > 0 {
			var h header
			if parseResponse(buf[:n], &h) != nil {
				return false, "invalid"
			}
			if h.status < 200 { // an interim response: read on
				buf = buf[:copy(buf, buf[n:])]
				continue
			}
			g.mu.Lock()
			ok, detail := g.checker.Judge(h.status)
			g.mu.Unlock()
			return ok, detail
		}
		if len(buf) == cap(buf) {
			if len(buf) >= MaxHeaderBytes {
				return false, "invalid"
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			if len(buf) > 0 && err.Error() == "EOF" {
				return false, "invalid"
			}
			return false, ioClass(err)
		}
	}
}

// dialClass names a connect error as the histories do.
func dialClass(err error) string {
	if isTimeout(err) {
		return "timeout"
	}
	return "refused"
}

// ioClass names a read or write error.
func ioClass(err error) string {
	if isTimeout(err) {
		return "timeout"
	}
	return "reset"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// evalKey evaluates the group's hash key for a request, as simproxy's
// evalKey does for simulated requests.
func (g *group) evalKey(b []byte, h *header, target []byte, c *conn) string {
	switch g.keyKind {
	case keyURI:
		return string(target)
	case keyPath:
		path, _, _ := strings.Cut(string(target), "?")
		return path
	case keyAddr:
		return c.ipStr
	case keyHeader:
		var vals []string
		if strings.EqualFold(g.keyName, "x-forwarded-for") {
			for _, v := range h.xff {
				vals = append(vals, string(v.of(b)))
			}
		} else {
			for _, f := range h.fields {
				if eqFoldBytes(f.name.of(b), []byte(g.keyName)) {
					vals = append(vals, string(f.value.of(b)))
				}
			}
		}
		return strings.Join(vals, ", ")
	case keyCookie:
		v, _ := cookieValue(b, h, g.keyName)
		return v
	case keyArg:
		_, q, _ := strings.Cut(string(target), "?")
		v, _ := url.ParseQuery(q)
		return v.Get(g.keyName)
	}
	return ""
}

// cookieValue finds cookie name in the request's Cookie fields.
func cookieValue(b []byte, h *header, name string) (string, bool) {
	for _, f := range h.fields {
		if f.name.end-f.name.start != 6 || !eqFold(f.name.of(b), "cookie") {
			continue
		}
		v := f.value.of(b)
		for len(v) > 0 {
			var part []byte
			if i := indexByte(v, ';'); i >= 0 {
				part, v = v[:i], v[i+1:]
			} else {
				part, v = v, nil
			}
			for len(part) > 0 && (part[0] == ' ' || part[0] == '\t') {
				part = part[1:]
			}
			eq := indexByte(part, '=')
			if eq < 0 || string(part[:eq]) != name {
				continue
			}
			val := part[eq+1:]
			for len(val) > 0 && (val[len(val)-1] == ' ' || val[len(val)-1] == '\t') {
				val = val[:len(val)-1]
			}
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return string(val), true
		}
	}
	return "", false
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// healthEvent logs and records a server's up/down transition.
func (s *Server) healthEvent(now time.Duration, groupName, server string, up bool, reason string) {
	from, to := "up", "down"
	if up {
		from, to = "down", "up"
	}
	s.log.Info("health", "group", groupName, "server", server, "to", to, "reason", reason)
	if s.hist != nil {
		s.hist.add(&history.Event{T: history.Stamp(now), Kind: history.KindHealth, Group: groupName,
			Server: server, From: from, To: to, Reason: reason})
	}
}
