package server

import (
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/flow"
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
	g := rt.routes.Default()
	start := s.now()
	var f flow.Flight
	g.mu.Lock()
	g.fg.Start(&f, start, flow.Request{Client: c.addr})
	st := f.Next(start, g.rnd)
	g.mu.Unlock()
	for st.Kind == flow.Try {
		t0 := s.now()
		peer, idx := st.Peer, st.Index
		up, err := s.dial(s.dialCtx, g.ups[idx].addr, g.fg.ConnectTimeout)
		o := attempt.Answered
		if err != nil {
			o = attempt.Refused
			if isTimeout(err) {
				o = attempt.ConnectTimeout
			}
		}
		g.mu.Lock()
		now := s.now()
		st = f.Connect(now, o, err != nil && c.aborted.Load(), g.rnd)
		g.mu.Unlock()
		if err != nil {
			if st.Kind == flow.End && st.Peer != nil {
				c.tcpRecord(rt.name, g, start, now-t0, f.Tries(), st.Peer.Name(), st.Class, 0, 0)
				return
			}
			continue
		}
		connect := now - t0
		uc := &upConn{nc: up, u: g.ups[idx]}
		c.up.Store(uc)
		if c.aborted.Load() {
			up.Close()
		}
		in, out := splice(c.nc, up)
		c.up.Store(nil)
		up.Close()
		g.mu.Lock()
		f.Close(s.now())
		g.mu.Unlock()
		c.tcpRecord(rt.name, g, start, connect, f.Tries(), peer.Name(), "", in, out)
		return
	}
	c.tcpRecord(rt.name, g, start, 0, f.Tries(), "", st.Class, 0, 0)
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
	c.s.hist.Add(ev)
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
