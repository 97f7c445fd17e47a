package simload

import (
	"net/netip"
	"time"

	"github.com/lblab/lblab/proxy/simproxy"
)

// hostPath carries one clients element's requests from its host to an
// address (a VIP) across the simulated network (a high-availability
// lab), on connections of the host's Stack: with keep-alive, a request
// takes the most recently idle connection, else opens one (a SYN, then
// the request once it is accepted); a connection that failed or timed
// out is not used again. A request on a kept-alive connection that
// reaches a host that does not know the connection (the VIP moved) is
// reset; a SYN to a host without a listening proxy is refused; one to a
// host that is down, unplugged or lost the address is not answered, and
// the client's timeout ends the request. A request reset on a kept-alive
// connection it was not the first on, before any of its response came,
// is sent once more on a new connection, as lblab load does (and
// browsers and net/http): the connection went stale, not the request.
// Its event says so (Resent "reset"), as lblab load's does.
type hostPath struct {
	c         *Clients
	s         *Stack
	to        netip.Addr
	keepalive bool
	idle      []*Conn // idle kept-alive connections, most recently idle last
	// busy maps a connection to the request it carries (or waits to
	// carry, while it opens).
	busy map[*Conn]*pending
}

// MaxIdle is how many idle kept-alive connections to its address a
// clients element keeps (the most recently idle); one more is closed.
// Browsers keep 6 connections per host.
const MaxIdle = 6

// Via sends the clients' requests from a host's stack to address to (a
// high-availability lab), instead of to the proxy directly; keepalive
// reuses connections. The request events then carry the host in Src
// and the proxy's host that answered in Answer. Call it before Start.
func (c *Clients) Via(s *Stack, to netip.Addr, keepalive bool) {
	c.path = &hostPath{c: c, s: s, to: to, keepalive: keepalive, busy: map[*Conn]*pending{}}
	c.src = s.Host().Name()
}

// latency is the one-way latency to the address's holder at the start.
func (hp *hostPath) latency() time.Duration { return hp.s.Latency(hp.to) }

// send sends pend's request.
func (hp *hostPath) send(pend *pending) {
	if hp.keepalive {
		for n := len(hp.idle); n > 0; n = len(hp.idle) {
			conn := hp.idle[n-1]
			hp.idle = hp.idle[:n-1]
			if conn.Open() {
				pend.reused = true
				hp.request(conn, pend)
				return
			}
		}
	}
	conn := hp.s.Dial(hp.to, hp)
	pend.conn = conn
	hp.busy[conn] = pend
}

// request sends pend's request on the open connection conn.
func (hp *hostPath) request(conn *Conn, pend *pending) {
	pend.conn = conn
	hp.busy[conn] = pend
	pend.wireID = hp.s.wire.Put(&pend.req)
	conn.Request(pend.wireID, !hp.keepalive)
}

// Opened: the connection's SYN was accepted; its request goes.
func (hp *hostPath) Opened(conn *Conn, _ string) {
	if pend := hp.busy[conn]; pend != nil {
		hp.request(conn, pend)
		return
	}
	conn.Close() // its request timed out meanwhile
}

// Response: the response reached the host.
func (hp *hostPath) Response(conn *Conn, id uint64) {
	pend := hp.busy[conn]
	r, ok := hp.s.wire.Response(id)
	hp.s.wire.Drop(id)
	if pend == nil || pend.wireID != id || !ok {
		return
	}
	delete(hp.busy, conn)
	switch {
	case !hp.keepalive:
		conn.forget()
	case len(hp.idle) >= MaxIdle:
		conn.Close()
	default:
		hp.idle = append(hp.idle, conn)
	}
	pend.conn = nil
	pend.resp = r
	pend.deliver()
}

// Failed: the connection was refused or reset; its request fails so.
func (hp *hostPath) Failed(conn *Conn, class string) {
	pend := hp.busy[conn]
	if pend == nil {
		return // an idle one: it goes unused
	}
	delete(hp.busy, conn)
	if pend.wireID != 0 {
		hp.s.wire.Drop(pend.wireID)
	}
	pend.conn = nil
	pend.keep = pend.keep || pend.wireID != 0 // the proxy may have it still
	if class == simproxy.ClassReset && pend.reused && pend.resent == "" && hp.s.host.Up() {
		// A stale kept-alive connection: once more on a new one, and the
		// request's event says that it met the reset.
		pend.reused, pend.resent, pend.wireID = false, class, 0
		conn := hp.s.Dial(hp.to, hp)
		pend.conn = conn
		hp.busy[conn] = pend
		return
	}
	pend.resp = simproxy.Response{Error: class}
	pend.deliver()
}

// gaveUp: the client's timeout ended pend; its connection closes.
func (hp *hostPath) gaveUp(pend *pending) {
	conn := pend.conn
	if conn == nil {
		return
	}
	delete(hp.busy, conn)
	if pend.wireID != 0 {
		hp.s.wire.Drop(pend.wireID)
	}
	pend.conn = nil
	conn.Close()
}
