package simproxy_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/flow"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
)

// okServer answers every request with 200 at once.
type okServer struct{}

func (okServer) Address() string          { return "web:80" }
func (okServer) Connect() attempt.Outcome { return attempt.Answered }
func (okServer) Serve(_ bool, done func(simproxy.Reply)) {
	done(simproxy.Reply{Outcome: attempt.Answered, Status: 200})
}
func (okServer) Probe(flow.Probe) (int, attempt.Outcome) { return 200, attempt.Answered }
func (okServer) Echo(done func(simproxy.Reply))          { done(simproxy.Reply{Outcome: attempt.Answered}) }

// nodeLab is a client host c and a proxy node n on one lan.
func nodeLab(t *testing.T) (*sim.Kernel, *sim.Iface, *simproxy.Node, *simproxy.Wire, *[]simproxy.Segment) {
	t.Helper()
	k := sim.NewKernel(1)
	nw := sim.NewNetwork(k)
	lan, _ := nw.AddSegment("lan", sim.Link{Latency: 100 * time.Microsecond})
	c, _ := nw.AddHost("c")
	n, _ := nw.AddHost("n")
	ci, _ := c.Attach("eth0", lan, netip.MustParsePrefix("10.0.0.1/24"), sim.Link{})
	if _, err := n.Attach("eth0", lan, netip.MustParsePrefix("10.0.0.2/24"), sim.Link{}); err != nil {
		t.Fatal(err)
	}
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Name: "web", Port: 80, Group: "g"}},
		Groups: []proxy.Group{{Name: "g", Servers: []proxy.Server{{Address: "web:80"}}}}}
	wire := simproxy.NewWire()
	node, err := simproxy.NewNode(n, wire, func() (*simproxy.Proxy, error) {
		return simproxy.NewOn(k, cfg, []simproxy.Server{okServer{}}, simproxy.Network{}, &history.Log{}, "n")
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []simproxy.Segment
	c.Listen(simproxy.ProtoTCP, func(_ *sim.Iface, p sim.Packet) {
		s, _ := simproxy.DecodeSegment(p.Payload)
		got = append(got, s)
	})
	return k, ci, node, wire, &got
}

func send(ci *sim.Iface, s simproxy.Segment) {
	ci.Send(sim.Packet{Dst: netip.MustParseAddr("10.0.0.2"), Proto: simproxy.ProtoTCP, Payload: s.Encode()})
}

// A running proxy accepts a connection, acknowledges its request at once
// and answers it; a request on a connection the node does not know is
// reset (not acknowledged); after the
// proxy's crash its open connection is reset and a SYN refused.
func TestNodeConnections(t *testing.T) {
	k, ci, node, wire, got := nodeLab(t)
	req := &simproxy.Request{Listener: "web", Method: "GET", URI: "/"}
	id := wire.Put(req)
	send(ci, simproxy.Segment{Kind: simproxy.SegSYN, Conn: 1})
	k.Run(time.Millisecond)
	send(ci, simproxy.Segment{Kind: simproxy.SegRequest, Conn: 1, Req: id})
	send(ci, simproxy.Segment{Kind: simproxy.SegRequest, Conn: 2, Req: id}) // never opened
	k.Run(10 * time.Millisecond)
	node.Crash()
	k.Run(20 * time.Millisecond)
	send(ci, simproxy.Segment{Kind: simproxy.SegSYN, Conn: 3})
	k.Run(30 * time.Millisecond)
	want := []simproxy.Segment{{Kind: simproxy.SegSYNACK, Conn: 1},
		{Kind: simproxy.SegACK, Conn: 1, Req: id}, {Kind: simproxy.SegRST, Conn: 2},
		{Kind: simproxy.SegResponse, Conn: 1, Req: id}, {Kind: simproxy.SegRST, Conn: 1}, {Kind: simproxy.SegRST, Conn: 3}}
	if len(*got) != len(want) {
		t.Fatalf("got %+v, want %+v", *got, want)
	}
	for i := range want {
		if (*got)[i] != want[i] {
			t.Fatalf("got %+v, want %+v", *got, want)
		}
	}
	if r, ok := wire.Response(id); !ok || r.Status != 200 || r.Node != "n" {
		t.Fatalf("response %+v %v", r, ok)
	}
}

// A segment that is not 17 bytes is not one.
func TestDecodeSegmentRefusesOtherSizes(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 16), make([]byte, 18)} {
		if _, ok := simproxy.DecodeSegment(b); ok {
			t.Fatalf("decoded %d bytes", len(b))
		}
	}
	s := simproxy.Segment{Kind: simproxy.SegRequest, Conn: 1 << 40, Req: 7}
	if d, ok := simproxy.DecodeSegment(s.Encode()); !ok || d != s {
		t.Fatalf("round trip: %+v", d)
	}
}
