package server

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/balance"
	"github.com/lblab/lblab/proxy/flow"
)

// udpProxy serves a udp listener: a session per client address. The
// first datagram of a client picks a server (balance Next); the session
// then sends the client's datagrams to that server over its own socket,
// and the server's replies back to the client, until it has been idle
// (no datagram either way) for UDPIdleTimeout. A session that gets an
// ICMP refusal ends as a failed try.
type udpProxy struct {
	s  *Server
	l  *listener
	pc net.PacketConn

	mu       sync.Mutex
	sessions map[netip.AddrPort]*udpSession
	closed   bool
	stopping atomic.Bool
	wg       sync.WaitGroup
}

type udpSession struct {
	p      *udpProxy
	client netip.AddrPort
	caddr  net.Addr
	g      *group
	fl     flow.Flight
	peer   *balance.Peer
	up     net.Conn
	start  time.Duration
	last   atomic.Int64 // time of the last datagram, since the server started
	in     atomic.Int64 // datagrams from the client
	out    atomic.Int64 // datagrams to the client
}

func newUDPProxy(s *Server, l *listener) *udpProxy {
	return &udpProxy{s: s, l: l, pc: l.pc, sessions: map[netip.AddrPort]*udpSession{}}
}

// Sessions returns the number of live UDP sessions of listener name.
func (s *Server) UDPSessions(name string) int {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for _, l := range s.listeners {
		if l.udp != nil && l.rt.Load().name == name {
			l.udp.mu.Lock()
			defer l.udp.mu.Unlock()
			return len(l.udp.sessions)
		}
	}
	return 0
}

func (p *udpProxy) run() {
	defer p.s.acceptWG.Done()
	buf := make([]byte, 64<<10)
	uc, _ := p.pc.(*net.UDPConn)
	for {
		var n int
		var from netip.AddrPort
		var addr net.Addr
		var err error
		if uc != nil {
			n, from, err = uc.ReadFromUDPAddrPort(buf)
		} else {
			n, addr, err = p.pc.ReadFrom(buf)
			if err == nil {
				from, _ = netip.ParseAddrPort(addr.String())
			}
		}
		if err != nil {
			if p.s.shutting.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// The session is found and its clock refreshed under p.mu, where
		// relay decides an expiry: either the session sees this datagram
		// in time and stays, or it is gone and a new one is opened (a
		// datagram handed to a session that is ending would be lost).
		p.mu.Lock()
		ss := p.sessions[from]
		if ss != nil {
			ss.last.Store(int64(p.s.now()))
		}
		p.mu.Unlock()
		if ss == nil {
			if ss = p.open(from, addr); ss == nil {
				continue
			}
		}
		ss.in.Add(1)
		ss.up.Write(buf[:n])
	}
}

// open starts a client's session: a server picked, its socket
// connected, its reader started. nil when none can be had.
func (p *udpProxy) open(from netip.AddrPort, addr net.Addr) *udpSession {
	s := p.s
	p.mu.Lock()
	full := len(p.sessions) >= s.opt.UDPMaxSessions || p.closed
	p.mu.Unlock()
	if full {
		return nil
	}
	rt := p.l.rt.Load()
	g := rt.routes.Default()
	if addr == nil {
		addr = net.UDPAddrFromAddrPort(from)
	}
	ss := &udpSession{p: p, client: from, caddr: addr, g: g, start: s.now()}
	ss.last.Store(int64(ss.start)) // before relay starts: its first deadline counts from now
	g.mu.Lock()
	g.fg.Start(&ss.fl, ss.start, flow.Request{Client: from.Addr().Unmap()})
	st := ss.fl.Next(ss.start, g.rnd)
	g.mu.Unlock()
	for st.Kind == flow.Try {
		up, err := net.Dial("udp", s.opt.resolve(g.ups[st.Index].addr))
		g.mu.Lock()
		now := s.now()
		if err != nil {
			st = ss.fl.Result(now, flow.Result{Try: attempt.Try{Outcome: attempt.Refused}})
			if st.Kind == flow.Retry {
				st = ss.fl.Next(now, g.rnd)
			}
			g.mu.Unlock()
			continue
		}
		ss.fl.Result(now, flow.Result{Try: attempt.Try{Outcome: attempt.Answered, Sent: true}})
		g.mu.Unlock()
		ss.peer, ss.up = st.Peer, up
		break
	}
	if ss.up == nil {
		backend := ""
		if st.Peer != nil {
			backend = st.Peer.Name()
		}
		ss.record(rt.name, backend, st.Class)
		return nil
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		ss.up.Close()
		ss.finish(rt.name, false, "")
		return nil
	}
	p.sessions[from] = ss
	p.wg.Add(1)
	p.mu.Unlock()
	go ss.relay(rt.name)
	return ss
}

// relay sends the server's replies to the client until the session has
// been idle for the idle timeout or the server refuses.
func (ss *udpSession) relay(listener string) {
	p := ss.p
	s := p.s
	defer p.wg.Done()
	idle := s.opt.UDPIdleTimeout
	buf := make([]byte, 64<<10)
	uc, _ := p.pc.(*net.UDPConn)
	class := ""
	for {
		last := time.Duration(ss.last.Load())
		ss.up.SetReadDeadline(s.start.Add(last + idle))
		// The deadline first, then the check: closeAll sets stopping
		// before it cuts the deadlines, so a cut is never undone.
		if p.stopping.Load() {
			break
		}
		n, err := ss.up.Read(buf)
		if err != nil {
			if isTimeout(err) {
				p.mu.Lock()
				if !p.stopping.Load() && time.Duration(ss.last.Load())+idle > s.now() {
					p.mu.Unlock()
					continue // a datagram came from the client meanwhile
				}
				// Expired: leave the table now, under the lock run
				// looks sessions up with.
				p.endLocked(ss)
				p.mu.Unlock()
				break
			}
			if isRefused(err) {
				class = "refused"
			}
			break
		}
		ss.last.Store(int64(s.now()))
		ss.out.Add(1)
		if uc != nil {
			uc.WriteToUDPAddrPort(buf[:n], ss.client)
		} else {
			p.pc.WriteTo(buf[:n], ss.caddr)
		}
	}
	p.mu.Lock()
	p.endLocked(ss)
	p.mu.Unlock()
	ss.up.Close()
	ss.finish(listener, class != "", class)
}

// endLocked takes ss out of the session table: the client's next
// datagram opens a new session. Called with p.mu held.
func (p *udpProxy) endLocked(ss *udpSession) {
	if p.sessions[ss.client] == ss {
		delete(p.sessions, ss.client)
	}
}

// finish ends the session's try (a failure of the server when it
// refused) and records it.
func (ss *udpSession) finish(listener string, failed bool, class string) {
	g := ss.g
	g.mu.Lock()
	ss.fl.Finish(ss.p.s.now(), class, failed)
	g.mu.Unlock()
	ss.record(listener, ss.peer.Name(), class)
}

func (ss *udpSession) record(listener, backend, class string) {
	s := ss.p.s
	end := s.now()
	ss.g.stats.count(listener, backend, 0, class, end-ss.start)
	if s.hist == nil {
		return
	}
	ev := history.Event{T: history.Stamp(end), Kind: history.KindRequest, Client: ss.client.Addr().Unmap().String(),
		Listener: listener, Group: ss.g.name, Backend: backend, Error: class, Start: history.Stamp(ss.start),
		Latency: history.Stamp(end - ss.start), Tries: ss.fl.Tries(),
		Reason: "udp session: " + strconv.FormatInt(ss.in.Load(), 10) + " datagrams in, " +
			strconv.FormatInt(ss.out.Load(), 10) + " out"}
	s.hist.Add(ev)
}

// closeAll ends every session (Shutdown) and waits for them.
func (p *udpProxy) closeAll() {
	p.mu.Lock()
	p.closed = true
	p.stopping.Store(true)
	for _, ss := range p.sessions {
		ss.up.SetReadDeadline(aLongTimeAgo)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
