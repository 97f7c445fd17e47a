package simload

import (
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
)

// Stack is a client host's TCP and ICMP in a high-availability lab: its
// neighbour (ARP) cache and its connections to proxies on other hosts
// (proxy/simproxy's Node), one packet per segment across the simulated
// network. A packet goes where the host's neighbour entry for its
// destination points (sim.Neigh). The entry is confirmed as Linux's TCP
// confirms it: an ACK that acknowledges new data (tcp_ack: a
// FLAG_FORWARD_PROGRESS ACK) only marks its connection
// (sk_dst_confirm sets sk_dst_pending_confirm), and the connection's
// next segment out confirms the entry it goes through
// (sock_confirm_neigh → neigh_confirm). A SYN-ACK and a response (which
// acknowledges the request when no ACK did before) confirm the entry at
// their arrival: the client's own ACK, which carries the confirmation,
// leaves at once (quick ACKs) or within the delayed ACK's 40 ms, nothing
// next to the entry's life. A request's own ACK (simproxy.SegACK, sent as
// the request arrives) only sets the connection's pending confirmation:
// the next request on it, or its close (the FIN, when the client gives a
// request up) confirms the entry then. So a request the server
// acknowledged and never answered (it died meanwhile) confirms the entry
// once more at its close, the client's timeout after its send.
// The stack answers nothing itself: a segment for a connection it does
// not know is dropped.
type Stack struct {
	k     *sim.Kernel
	host  *sim.Host
	in    *sim.Iface
	neigh *sim.Neigh
	wire  *simproxy.Wire
	conns map[uint64]*Conn
	pings map[uint64]func(ok bool)
	next  uint64
	buf   [17]byte // the payload of the segment being sent
}

// NewStack makes the stack of host, sending on its first interface,
// with a neighbour cache of timers cfg; wire is the lab's.
func NewStack(k *sim.Kernel, host *sim.Host, wire *simproxy.Wire, cfg sim.NeighConfig) *Stack {
	in := host.Ifaces()[0]
	s := &Stack{k: k, host: host, in: in, neigh: sim.NewNeigh(in, cfg), wire: wire,
		conns: map[uint64]*Conn{}, pings: map[uint64]func(bool){}}
	host.Listen(simproxy.ProtoTCP, s.receive)
	host.Listen(simproxy.ProtoICMP, s.receiveICMP)
	host.OnDown(func() {
		for _, id := range slices.Sorted(maps.Keys(s.conns)) {
			s.conns[id].fail("reset")
		}
		clear(s.pings)
	})
	return s
}

// Neigh returns the host's neighbour cache.
func (s *Stack) Neigh() *sim.Neigh { return s.neigh }

// Host returns the stack's host.
func (s *Stack) Host() *sim.Host { return s.host }

// Latency returns the one-way latency to the interface that holds addr
// now (the segment's and both links', no jitter), 0 when none does.
func (s *Stack) Latency(addr netip.Addr) time.Duration {
	if h := s.in.Segment().Holder(addr, s.in); h != nil {
		return s.in.Segment().Latency(s.in, h)
	}
	return 0
}

// ConnHandler hears what happens to a connection.
type ConnHandler interface {
	// Opened: the SYN was answered (SYN-ACK) by the host peer.
	Opened(c *Conn, peer string)
	// Response: the response to request id arrived.
	Response(c *Conn, id uint64)
	// Failed: the connection ended with class refused (an RST to the
	// SYN) or reset (an RST on the open connection).
	Failed(c *Conn, class string)
}

// Conn is one connection of the stack.
type Conn struct {
	s    *Stack
	id   uint64
	to   netip.Addr
	h    ConnHandler
	open bool
	done bool
	peer *sim.Iface // where the SYN went
	// out is the segment sent and not yet answered (a SYN, a request),
	// retransmitted every rto (doubling) until an answer or the end of
	// the connection; retx is its timer.
	out  simproxy.Segment
	rto  time.Duration
	retx sim.Timer
	// onRetx is retransmit, bound once.
	onRetx func()
	// confirm is Linux's sk_dst_pending_confirm: an ACK of new data came
	// and the next segment out confirms the neighbour entry.
	confirm bool
}

// Retransmission timeouts of the stack's TCP, Linux's: a SYN is sent
// again after 1 s (TCP_TIMEOUT_INIT), unacknowledged data after the
// minimum RTO of 200 ms (TCP_RTO_MIN) over a small round trip; each
// retransmission doubles the wait.
const (
	SYNRetransmit  = time.Second
	DataRetransmit = 200 * time.Millisecond
)

// transmit sends seg on the connection and retransmits it until
// answered.
func (c *Conn) transmit(seg simproxy.Segment, rto time.Duration, sent func(*sim.Iface)) {
	c.out, c.rto = seg, rto
	c.retx.Stop()
	c.emit(seg, sent)
	c.arm()
}

// emit sends one segment of the connection; a pending confirmation goes
// with it: the neighbour entry it goes through is confirmed.
func (c *Conn) emit(seg simproxy.Segment, sent func(*sim.Iface)) {
	if c.confirm {
		c.confirm = false
		c.s.neigh.Confirm(c.to)
	}
	c.s.send(c.to, simproxy.ProtoTCP, seg, sent)
}

func (c *Conn) arm() {
	if c.onRetx == nil {
		c.onRetx = c.retransmit
	}
	c.retx = c.s.k.After(c.rto, c.onRetx)
}

// retransmit sends the unanswered segment again (the host's crash ends
// every connection first: Stack's OnDown).
func (c *Conn) retransmit() {
	if c.done || c.out.Kind == 0 || !c.s.host.Up() {
		return
	}
	c.rto *= 2
	c.emit(c.out, nil)
	c.arm()
}

// answered stops the retransmission of the segment out.
func (c *Conn) answered() {
	c.out = simproxy.Segment{}
	c.retx.Stop()
}

// Dial opens a connection to addr: a SYN now.
func (s *Stack) Dial(addr netip.Addr, h ConnHandler) *Conn {
	s.next++
	c := &Conn{s: s, id: s.next, to: addr, h: h}
	s.conns[c.id] = c
	c.transmit(simproxy.Segment{Kind: simproxy.SegSYN, Conn: c.id}, SYNRetransmit, func(to *sim.Iface) {
		if !c.open && !c.done {
			c.peer = to
		}
	})
	return c
}

// Open reports whether the connection is established and not ended.
func (c *Conn) Open() bool { return c.open && !c.done }

// Request sends request id on the open connection; last closes it after
// the response (no keep-alive).
func (c *Conn) Request(id uint64, last bool) {
	kind := simproxy.SegRequest
	if last {
		kind = simproxy.SegRequestClose
	}
	c.transmit(simproxy.Segment{Kind: kind, Conn: c.id, Req: id}, DataRetransmit, nil)
}

// Close ends the connection from this side (a FIN; the peer forgets it).
func (c *Conn) Close() {
	if c.done {
		return
	}
	c.done = true
	c.answered()
	delete(c.s.conns, c.id)
	if c.open {
		c.emit(simproxy.Segment{Kind: simproxy.SegFIN, Conn: c.id}, nil)
	}
}

// forget ends the connection without a word (closed after its last
// response).
func (c *Conn) forget() {
	c.answered()
	c.done = true
	delete(c.s.conns, c.id)
}

func (c *Conn) fail(class string) {
	if c.done {
		return
	}
	c.done = true
	c.answered()
	delete(c.s.conns, c.id)
	c.h.Failed(c, class)
}

// send sends a segment to addr through the neighbour cache; sent, when
// not nil, is told the interface it went to.
func (s *Stack) send(addr netip.Addr, proto uint8, seg simproxy.Segment, sent func(*sim.Iface)) {
	if to, ok := s.neigh.Lookup(addr); ok {
		if sent != nil {
			sent(to)
		}
		// The network copies the payload: one buffer serves every send.
		s.in.SendTo(to, sim.Packet{Dst: addr, Proto: proto, Payload: seg.EncodeTo(s.buf[:])})
		return
	}
	payload := seg.Encode() // it waits for the resolution
	s.neigh.Resolve(addr, func(to *sim.Iface) {
		if sent != nil {
			sent(to)
		}
		s.in.SendTo(to, sim.Packet{Dst: addr, Proto: proto, Payload: payload})
	})
}

func (s *Stack) receive(_ *sim.Iface, p sim.Packet) {
	seg, ok := simproxy.DecodeSegment(p.Payload)
	if !ok {
		return
	}
	c := s.conns[seg.Conn]
	if c == nil || c.done {
		return
	}
	switch seg.Kind {
	case simproxy.SegSYNACK:
		if c.open {
			return
		}
		c.open = true
		c.answered()
		s.neigh.Confirm(c.to)
		peer := ""
		if c.peer != nil {
			peer = c.peer.Host().Name()
		}
		c.h.Opened(c, peer)
	case simproxy.SegResponse:
		if c.out.Req != seg.Req {
			return // an answer to nothing this side waits for
		}
		c.answered()
		c.confirm = false // the client's ACK of the response carries it
		s.neigh.Confirm(c.to)
		c.h.Response(c, seg.Req)
	case simproxy.SegACK:
		if c.out.Req != seg.Req || c.out.Kind == 0 {
			return // an old one
		}
		// The request is acknowledged: no retransmission; the
		// connection's next segment confirms the entry.
		c.retx.Stop()
		c.confirm = true
	case simproxy.SegRST:
		if c.open {
			c.fail("reset")
		} else {
			c.fail("refused")
		}
	}
}

// Ping sends an ICMP echo request to addr; done is called with true when
// the reply arrives, with the host it was sent to, and never when it
// does not (the caller's timeout ends it: Unping).
func (s *Stack) Ping(addr netip.Addr, done func(answer string)) uint64 {
	s.next++
	id := s.next
	var peer string
	s.pings[id] = func(bool) { done(peer) }
	s.send(addr, simproxy.ProtoICMP, simproxy.Segment{Kind: simproxy.SegEcho, Conn: id}, func(to *sim.Iface) { peer = to.Host().Name() })
	return id
}

// Unping forgets echo request id (its time is up).
func (s *Stack) Unping(id uint64) { delete(s.pings, id) }

func (s *Stack) receiveICMP(in *sim.Iface, p sim.Packet) {
	seg, ok := simproxy.DecodeSegment(p.Payload)
	if ok && seg.Kind == simproxy.SegEcho {
		simproxy.AnswerEcho(in, p)
		return
	}
	if !ok || seg.Kind != simproxy.SegEchoReply {
		return
	}
	if fn := s.pings[seg.Conn]; fn != nil {
		delete(s.pings, seg.Conn)
		fn(true)
	}
}
