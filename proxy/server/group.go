package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/flow"
)

// group is a server group at run time: the request-flow core's group
// (flow.Group), which every path (HTTP, TCP, UDP) drives, with what the
// real world adds: the server addresses' connection pools, a random
// source, the health checks' timers, the counters. The group's mutex
// serialises the calls on the core, which is not safe for concurrent use.
type group struct {
	s    *Server
	name string

	mu   sync.Mutex
	fg   *flow.Group
	ups  []*upstream // by peer index
	rnd  *rand.Rand
	due  []int
	wake chan struct{}

	// stats are the group's request counters (their own lock).
	stats *stats
}

func newGroup(s *Server, gc *proxy.Group) (*group, error) {
	// Checks start now, or at the epoch when it is ahead (Options.Epoch).
	fg, err := flow.NewGroup(gc, max(s.now(), 0), s.opt.Seed)
	if err != nil {
		return nil, err
	}
	g := &group{s: s, name: gc.Name, fg: fg,
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6c626c6162)), wake: make(chan struct{}, 1),
		stats: newStats()}
	fg.OnHealth = func(now time.Duration, server string, up bool, reason string) {
		s.healthEvent(now, g.name, server, up, reason)
	}
	for _, peer := range fg.Peers() {
		g.ups = append(g.ups, s.upstreamFor(peer.Name()))
	}
	return g, nil
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
		at, ok := g.fg.Checker().Deadline()
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
		g.due = g.fg.Checker().Due(now, g.due[:0])
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
	g.fg.CheckResult(g.s.now(), i, ok, detail)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// probe checks server i once, on a real socket, as the core's Probe says:
// a TCP connect, or an HTTP request whose status the checker judges. It
// returns ok or why not (refused, timeout, reset, invalid, status N).
func (g *group) probe(ctx context.Context, i int) (bool, string) {
	g.mu.Lock()
	pr := g.fg.Probe(i)
	checker := g.fg.Checker()
	g.mu.Unlock()
	timeout := checker.Config().Timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	c, err := g.s.dial(ctx, pr.Addr, timeout)
	if err != nil {
		return false, dialClass(err)
	}
	defer c.Close()
	if !pr.HTTP {
		return true, ""
	}
	c.SetDeadline(deadline)
	req := pr.Method + " " + pr.Path + " HTTP/1.1\r\nHost: " + pr.Host + "\r\nUser-Agent: lblab-health\r\nConnection: close\r\n\r\n"
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
			ok, detail := checker.Judge(h.status)
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

// cookieValue finds cookie name in the request's Cookie fields, as nginx
// does (flow.CookieIn).
func cookieValue(b []byte, h *header, name string) (string, bool) {
	for _, f := range h.fields {
		if f.name.end-f.name.start != 6 || !eqFold(f.name.of(b), "cookie") {
			continue
		}
		if v, ok := flow.CookieIn(f.value.of(b), name); ok {
			return string(v), true
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
		s.hist.Add(history.Event{T: history.Stamp(now), Kind: history.KindHealth, Group: groupName,
			Server: server, From: from, To: to, Reason: reason})
	}
}
