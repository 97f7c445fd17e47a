package server

import (
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/balance"
)

// serveTCP proxies one tcp listener connection (a session): it picks a
// server with the same cores as a request (a refused or timed-out
// connect is a failed try, passed on per the group's policy), then
// copies both ways until both sides have finished sending, passing on
// half-closes. The session's history event has status 0, the error class
// when no server could be reached, and latency = the connect time.
func (c *conn) serveTCP() {
	defer c.s.forget(c)
	defer c.nc.Close()
	c.state.Store(stateActive)
	s := c.s
	rt := c.l.rt.Load()
	g := rt.def
	start := s.now()
	g.mu.Lock()
	att := g.start(balance.Request{Client: c.addr, Key: c.ipStr})
	g.mu.Unlock()
	tries := 0
	var last attempt.Decision
	for {
		g.mu.Lock()
		now := s.now()
		peer, err := att.Next(now, g.rnd)
		if err != nil {
			g.spare = append(g.spare, att)
			g.mu.Unlock()
			class := last.Class
			if tries == 0 {
				class = "no_server"
			}
			c.tcpRecord(rt.name, g, start, 0, tries, "", class, 0, 0)
			return
		}
		idx := g.index[peer]
		g.mu.Unlock()
		tries++
		t0 := s.now()
		up, err := s.dial(s.dialCtx, g.ups[idx].addr, g.connTO)
		if err != nil {
			o := attempt.Refused
			if isTimeout(err) {
				o = attempt.ConnectTimeout
			}
			g.mu.Lock()
			now = s.now()
			d := g.policy.After(now, attempt.Request{Method: "GET", Started: start, Tries: tries,
				MaxTries: att.MaxTries()}, attempt.Try{Outcome: o})
			att.Done(now, peer, d.Failed, now-t0)
			g.passive(now, peer, d)
			if !d.Next || c.aborted.Load() {
				g.spare = append(g.spare, att)
				g.mu.Unlock()
				c.tcpRecord(rt.name, g, start, now-t0, tries, peer.Name(), d.Class, 0, 0)
				return
			}
			g.mu.Unlock()
			last = d
			continue
		}
		connect := s.now() - t0
		uc := &upConn{nc: up, u: g.ups[idx]}
		c.up.Store(uc)
		if c.aborted.Load() {
			up.Close()
		}
		in, out := splice(c.nc, up)
		c.up.Store(nil)
		up.Close()
		g.mu.Lock()
		end := s.now()
		att.Done(end, peer, false, connect)
		g.passive(end, peer, attempt.Decision{})
		g.spare = append(g.spare, att)
		g.mu.Unlock()
		c.tcpRecord(rt.name, g, start, connect, tries, peer.Name(), "", in, out)
		return
	}
}

// tcpRecord counts a tcp session and writes its history event.
func (c *conn) tcpRecord(listener string, g *group, start, connect time.Duration, tries int, backend, class string, in, out int64) {
	end := c.s.now()
	g.stats.count(listener, backend, 0, class, connect)
	if c.s.hist == nil {
		return
	}
	ev := history.Event{T: history.Stamp(end), Kind: history.KindRequest, Client: c.ipStr, Listener: listener,
		Group: g.name, Backend: backend, Error: class, Start: history.Stamp(start),
		Latency: history.Stamp(connect), Tries: tries}
	if class == "" {
		ev.Reason = "tcp session: " + strconv.FormatInt(in, 10) + " bytes in, " + strconv.FormatInt(out, 10) +
			" bytes out, " + (end - start).Round(time.Microsecond).String()
	}
	c.s.hist.add(&ev)
}

// splice copies a→b and b→a until both directions end; the end of one
// direction (EOF) is passed on as a half-close, an error closes both. It
// returns the bytes from a and from b.
func splice(a, b net.Conn) (int64, int64) {
	var ab atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err := io.Copy(b, a)
		ab.Store(n)
		if err != nil {
			a.Close()
			b.Close()
			return
		}
		closeWrite(b)
	}()
	ba, err := io.Copy(a, b)
	if err != nil {
		a.Close()
		b.Close()
	} else {
		closeWrite(a)
	}
	<-done
	return ab.Load(), ba
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}
