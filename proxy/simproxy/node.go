package simproxy

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/lblab/lblab/sim"
)

// The simulated TCP of a high-availability lab: clients on a host reach
// a proxy on another host (a Node) across the simulated network, one
// packet per segment, IP protocol ProtoTCP. A segment's payload is its
// kind and its connection's and request's numbers (Segment); what a
// request and its response hold travels beside it, in a Wire that both
// ends share.

// ProtoTCP is the IP protocol of the simulated TCP segments (TCP's).
const ProtoTCP = 6

// ProtoICMP is the IP protocol of echo requests and replies (ICMP's).
const ProtoICMP = 1

// The kinds of a simulated TCP segment.
const (
	// SegSYN opens a connection.
	SegSYN byte = iota + 1
	// SegSYNACK accepts it: the proxy listens.
	SegSYNACK
	// SegRST refuses a connection, or resets one the receiver does not
	// know (or that its process left).
	SegRST
	// SegRequest carries a request on an open connection.
	SegRequest
	// SegRequestClose is SegRequest on a connection the client closes
	// after the response (no keep-alive).
	SegRequestClose
	// SegResponse carries the response.
	SegResponse
	// SegFIN closes the connection (the client's side gave up on it).
	SegFIN
	// SegEcho and SegEchoReply are an ICMP echo request and its reply.
	SegEcho
	SegEchoReply
	// SegACK acknowledges a request (Req) on its own: the server's
	// kernel sends it as the request arrives, before the proxy answers
	// (and whether or not it does: a stopped or crashing process).
	SegACK
)

// Segment is the content of a simulated TCP (or ICMP) packet.
type Segment struct {
	Kind byte
	// Conn numbers the connection, unique per client host; Req the
	// request (SegRequest, SegResponse), unique per Wire.
	Conn, Req uint64
}

// Encode returns the segment as a packet's payload.
func (s Segment) Encode() []byte { return s.EncodeTo(make([]byte, 17)) }

// EncodeTo writes the segment into b (17 bytes at least) and returns
// its payload: a sender whose network copies payloads on send (the
// simulator's does) reuses one buffer.
func (s Segment) EncodeTo(b []byte) []byte {
	b = b[:17]
	b[0] = s.Kind
	binary.BigEndian.PutUint64(b[1:], s.Conn)
	binary.BigEndian.PutUint64(b[9:], s.Req)
	return b
}

// DecodeSegment reads a payload of Encode; ok is false for anything else.
func DecodeSegment(b []byte) (s Segment, ok bool) {
	if len(b) != 17 {
		return Segment{}, false
	}
	return Segment{Kind: b[0], Conn: binary.BigEndian.Uint64(b[1:]), Req: binary.BigEndian.Uint64(b[9:])}, true
}

// Wire holds what the requests in flight of a lab's simulated TCP carry:
// the request a SegRequest names, and the response a SegResponse names.
type Wire struct {
	reqs  map[uint64]*Request
	resps map[uint64]Response
	next  uint64
}

// NewWire returns an empty wire.
func NewWire() *Wire { return &Wire{reqs: map[uint64]*Request{}, resps: map[uint64]Response{}} }

// Put registers a request and returns its number.
func (w *Wire) Put(r *Request) uint64 {
	w.next++
	w.reqs[w.next] = r
	return w.next
}

// Drop forgets request id and its response (the client is done with it).
func (w *Wire) Drop(id uint64) {
	delete(w.reqs, id)
	delete(w.resps, id)
}

// Response returns the response to request id, if one was sent.
func (w *Wire) Response(id uint64) (Response, bool) {
	r, ok := w.resps[id]
	return r, ok
}

// Node is a load balancer's host of a high-availability lab: the proxy
// process (a Proxy, while it runs) and the host's TCP: the connections
// the running proxy accepted. A SYN to a host without a running proxy
// is refused (RST); a request on a connection the node does not know (a
// VIP that moved here, a proxy that restarted) is reset; a host that is
// down, unplugged or that no longer holds the address does not answer
// at all (the network drops the packet). A crash of the host stops the
// proxy and forgets every connection; a restore starts a fresh proxy.
type Node struct {
	host  *sim.Host
	wire  *Wire
	start func() (*Proxy, error)
	p     *Proxy
	// conns are the open connections, by client address and number,
	// with the last request each carried (a retransmission of it is not
	// taken twice).
	conns map[connKey]uint64
	// epoch counts the proxy's starts: a response of an earlier process
	// is not sent.
	epoch  uint64
	paused bool
	// Err is the first error of a restart of the proxy (nil when none).
	Err error
	buf [17]byte // the payload of the segment being sent
}

type connKey struct {
	client netip.Addr
	conn   uint64
}

// NewNode runs a proxy made by start on host (now, and after each
// restore of the host) and answers the simulated TCP and ICMP echo
// requests that reach the host.
func NewNode(host *sim.Host, wire *Wire, start func() (*Proxy, error)) (*Node, error) {
	n := &Node{host: host, wire: wire, start: start, conns: map[connKey]uint64{}}
	if err := n.Start(); err != nil {
		return nil, err
	}
	host.Listen(ProtoTCP, n.receive)
	host.Listen(ProtoICMP, AnswerEcho)
	host.OnDown(func() {
		n.stopProxy()
		clear(n.conns)
		n.paused = false
	})
	host.OnUp(func() {
		if err := n.Start(); err != nil && n.Err == nil {
			n.Err = err
		}
	})
	return n, nil
}

// Proxy returns the running proxy, nil while it is not running.
func (n *Node) Proxy() *Proxy { return n.p }

// Start starts the proxy if it is not running.
func (n *Node) Start() error {
	if n.p != nil {
		return nil
	}
	p, err := n.start()
	if err != nil {
		return err
	}
	n.p = p
	n.epoch++
	return nil
}

// Crash kills the proxy process alone (the host stays up): the kernel
// resets its connections (an RST to each client), and new ones are
// refused until Start.
func (n *Node) Crash() {
	if n.p == nil {
		return
	}
	n.stopProxy()
	keys := make([]connKey, 0, len(n.conns))
	for k := range n.conns {
		keys = append(keys, k)
	}
	// In a fixed order: the resets' packets are part of the run.
	sortConnKeys(keys)
	for _, k := range keys {
		n.send(k.client, Segment{Kind: SegRST, Conn: k.conn})
	}
	clear(n.conns)
}

// Pause freezes the proxy (as SIGSTOP): the kernel still accepts
// connections, but no request is answered until Resume.
func (n *Node) Pause() { n.paused = true }

// Resume thaws it. (Requests that arrived meanwhile stay unanswered: the
// model drops them.)
func (n *Node) Resume() { n.paused = false }

func (n *Node) stopProxy() {
	if n.p != nil {
		n.p.Stop()
		n.p = nil
		n.epoch++
	}
}

// vip is the address a client's packet was sent to; replies come from it.
func (n *Node) send(to netip.Addr, s Segment) { n.sendFrom(netip.Addr{}, to, s) }

func (n *Node) sendFrom(src, to netip.Addr, s Segment) {
	for _, ifc := range n.host.Ifaces() {
		if ifc.Addr().Contains(to) {
			ifc.Send(sim.Packet{Src: src, Dst: to, Proto: ProtoTCP, Payload: s.Encode()})
			return
		}
	}
}

// receive is a TCP segment reaching the host at an address it holds.
func (n *Node) receive(in *sim.Iface, p sim.Packet) {
	s, ok := DecodeSegment(p.Payload)
	if !ok {
		return
	}
	k := connKey{p.Src, s.Conn}
	reply := func(kind byte, req uint64) { n.reply(in, p.Dst, p.Src, Segment{Kind: kind, Conn: s.Conn, Req: req}) }
	switch s.Kind {
	case SegSYN:
		if n.p == nil {
			reply(SegRST, 0)
			return
		}
		if _, known := n.conns[k]; !known {
			n.conns[k] = 0
		}
		reply(SegSYNACK, 0)
	case SegFIN, SegRST:
		delete(n.conns, k)
	case SegRequest, SegRequestClose:
		last, known := n.conns[k]
		if !known {
			reply(SegRST, 0)
			return
		}
		// The kernel acknowledges the data at once (TCP's quick ACKs of
		// a young connection; a delayed ACK would ride on a response
		// within 40 ms), whatever the process does with it.
		reply(SegACK, s.Req)
		req := n.wire.reqs[s.Req]
		if n.paused || req == nil || last == s.Req {
			return // frozen, given up, or a retransmission of one taken
		}
		n.conns[k] = s.Req
		epoch, id, closing, vip, client, conn := n.epoch, s.Req, s.Kind == SegRequestClose, p.Dst, p.Src, s.Conn
		n.p.Handle(*req, func(r Response) {
			if n.epoch != epoch || !n.host.Up() {
				return // the process that took it is gone
			}
			r.Node = n.host.Name()
			if closing {
				delete(n.conns, k)
			}
			if _, waiting := n.wire.reqs[id]; waiting {
				n.wire.resps[id] = r
			}
			n.reply(in, vip, client, Segment{Kind: SegResponse, Conn: conn, Req: id})
		})
	}
}

// reply sends seg from the address src (a VIP) on in to the client.
func (n *Node) reply(in *sim.Iface, src, to netip.Addr, seg Segment) {
	in.Send(sim.Packet{Src: src, Dst: to, Proto: ProtoTCP, Payload: seg.EncodeTo(n.buf[:])})
}

// AnswerEcho answers an ICMP echo request that reached a host (its
// kernel does, whatever runs on it); a host's handler of ProtoICMP.
func AnswerEcho(in *sim.Iface, p sim.Packet) {
	s, ok := DecodeSegment(p.Payload)
	if !ok || s.Kind != SegEcho {
		return
	}
	in.Send(sim.Packet{Src: p.Dst, Dst: p.Src, Proto: ProtoICMP, Payload: Segment{Kind: SegEchoReply, Conn: s.Conn}.Encode()})
}

func sortConnKeys(keys []connKey) {
	slices.SortFunc(keys, func(a, b connKey) int {
		if c := a.client.Compare(b.client); c != 0 {
			return c
		}
		return cmp.Compare(a.conn, b.conn)
	})
}

// Stop ends the proxy's work: its active checks stop and no request is
// taken any more (a crashed process). Requests in flight still finish
// inside it; whoever made them drops their answers.
func (p *Proxy) Stop() {
	for _, g := range p.groups {
		g.retired = true
		g.hcTimer.Stop()
	}
}
