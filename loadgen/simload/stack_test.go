package simload

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

// silentServer takes every request and never answers it.
type silentServer struct{}

func (silentServer) Address() string                         { return "web:80" }
func (silentServer) Connect() attempt.Outcome                { return attempt.Answered }
func (silentServer) Serve(bool, func(simproxy.Reply))        {}
func (silentServer) Probe(flow.Probe) (int, attempt.Outcome) { return 200, attempt.Answered }
func (silentServer) Echo(done func(simproxy.Reply))          { done(simproxy.Reply{Outcome: attempt.Answered}) }

// requestOnOpen sends one request when its connection opens.
type requestOnOpen struct {
	wire *simproxy.Wire
	resp int
}

func (h *requestOnOpen) Opened(c *Conn, _ string) {
	c.Request(h.wire.Put(&simproxy.Request{Listener: "web", Method: "GET", URI: "/"}), false)
}
func (h *requestOnOpen) Response(*Conn, uint64) { h.resp++ }
func (h *requestOnOpen) Failed(*Conn, string)   {}

// As Linux's TCP, the stack confirms a neighbour entry with the next
// segment a connection sends after an ACK of new data: a request the
// server acknowledged and never answered (it died) confirms the entry
// for the dead server at the connection's close, and the entry stays
// REACHABLE for ReachableTime from then; the ACK alone confirms nothing.
func TestStackConfirmsWithTheSegmentAfterAnACK(t *testing.T) {
	const reachable = 10 * time.Second
	const closing = 3 * time.Second
	for _, closeAt := range []time.Duration{0, closing} {
		k := sim.NewKernel(1)
		nw := sim.NewNetwork(k)
		lan, _ := nw.AddSegment("lan", sim.Link{Latency: 100 * time.Microsecond})
		c, _ := nw.AddHost("c")
		n, _ := nw.AddHost("n")
		if _, err := c.Attach("eth0", lan, netip.MustParsePrefix("10.0.0.1/24"), sim.Link{}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Attach("eth0", lan, netip.MustParsePrefix("10.0.0.2/24"), sim.Link{}); err != nil {
			t.Fatal(err)
		}
		cfg := &proxy.Config{Listeners: []proxy.Listener{{Name: "web", Port: 80, Group: "g"}},
			Groups: []proxy.Group{{Name: "g", Servers: []proxy.Server{{Address: "web:80"}}}}}
		wire := simproxy.NewWire()
		if _, err := simproxy.NewNode(n, wire, func() (*simproxy.Proxy, error) {
			return simproxy.NewOn(k, cfg, []simproxy.Server{silentServer{}}, simproxy.Network{}, &history.Log{}, "n")
		}); err != nil {
			t.Fatal(err)
		}
		st := NewStack(k, c, wire, sim.NeighConfig{ReachableTime: reachable})
		h := &requestOnOpen{wire: wire}
		server := netip.MustParseAddr("10.0.0.2")
		conn := st.Dial(server, h)
		k.At(50*time.Millisecond, n.Crash) // the request is acknowledged by then, unanswered
		if closeAt > 0 {
			k.At(closeAt, conn.Close)
		}
		k.Run(closing + reachable - time.Millisecond)
		if h.resp != 0 {
			t.Fatalf("close at %v: %d responses from a silent server", closeAt, h.resp)
		}
		st1, _ := st.Neigh().State(server)
		// Confirmed by the SYN-ACK (0.4 ms), then by the close alone:
		// the request's ACK (0.6 ms) did not.
		want := sim.NeighStale
		if closeAt > 0 {
			want = sim.NeighReachable
		}
		if st1 != want {
			t.Errorf("close at %v: entry %s at %v, want %s", closeAt, st1, k.Now(), want)
		}
		k.Run(closing + reachable + time.Millisecond)
		if st2, _ := st.Neigh().State(server); st2 != sim.NeighStale {
			t.Errorf("close at %v: entry %s at %v, want STALE (ReachableTime after its last confirmation)", closeAt, st2, k.Now())
		}
	}
}
