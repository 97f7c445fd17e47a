package vrrplinux

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv4"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/vrrpsim"
)

// fakeConn is an iface's protocol-112 socket: it keeps what is written
// and hands out what the test puts in, until it is closed.
type fakeConn struct {
	mu      sync.Mutex
	written [][]byte
	in      chan []byte
	closed  chan struct{}
	once    sync.Once
}

func newFakeConn() *fakeConn {
	return &fakeConn{in: make(chan []byte, 4), closed: make(chan struct{})}
}

func (c *fakeConn) ReadFrom(b []byte) (*ipv4.Header, []byte, *ipv4.ControlMessage, error) {
	select {
	case p := <-c.in:
		h := &ipv4.Header{Src: net.IP(ipPeer.AsSlice()), Dst: net.IPv4(224, 0, 0, 18), TTL: 255}
		return h, b[:copy(b, p)], nil, nil
	case <-c.closed:
		return nil, nil, nil, net.ErrClosed
	}
}

func (c *fakeConn) WriteTo(_ *ipv4.Header, p []byte, _ *ipv4.ControlMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written = append(c.written, slices.Clone(p))
	return nil
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *fakeConn) sent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.written)
}

// agentEvents are the agent events of a history.
func agentEvents(t *testing.T, hist string) []history.Event {
	t.Helper()
	evs, err := history.ReadJSONL(strings.NewReader(hist), "history")
	if err != nil {
		t.Fatal(err)
	}
	var out []history.Event
	for _, e := range evs {
		if e.Kind == history.KindAgent {
			out = append(out, e)
		}
	}
	return out
}

// TestAgentStartsWhenReleased drives the agent's start with a fake
// socket: it sends nothing and records nothing before Options.Start
// returns, counts its history from the epoch Start returns, records its
// boot and its first advert sent, and the first advert from each source
// once.
func TestAgentStartsWhenReleased(t *testing.T) {
	conn := newFakeConn()
	// A link that does not exist: adding the VIP fails (logged), the
	// test's host is left alone.
	ifc := &iface{name: "eth0", arpFD: -1, conn: conn, ifi: &net.Interface{Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}},
		link: &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "lblab-nolink"}}}
	hist, log := &syncBuffer{}, &syncBuffer{}
	release := make(chan time.Time)
	gated := make(chan int, 1)
	a := initAgent(Config{Name: "r2"}.withDefaults(), Options{Log: log, History: hist,
		Start: func(ctx context.Context) (time.Time, error) {
			gated <- conn.sent() + strings.Count(hist.String(), "\n")
			select {
			case epoch := <-release:
				return epoch, nil
			case <-ctx.Done():
				return time.Time{}, ctx.Err()
			}
		}})
	a.ifaces["eth0"] = ifc
	vc := instConfig()
	vc.UnicastPeers = nil
	vc.Priority = 255 // the address owner: master and an advert at startup
	vc.PrimaryIP = ipSelf
	if _, err := a.addInstance(ifc, Instance{Interface: "eth0", VRRP: vc}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- a.loop(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-ended:
			if err != nil {
				t.Errorf("loop: %v", err)
			}
		case <-time.After(stopNotifyWait + 5*time.Second):
			t.Error("the agent did not stop")
		}
	}()
	select {
	case n := <-gated:
		if n != 0 {
			t.Fatalf("%d adverts and history lines before the start: %s", n, hist)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the agent did not wait for its start")
	}
	epoch := time.Now().Add(-2 * time.Second) // time 0 was 2 s ago
	release <- epoch
	conn.in <- advertBytes(t, 150, ipPeer, vrrpsim.GroupAddr)
	conn.in <- advertBytes(t, 150, ipPeer, vrrpsim.GroupAddr)
	// The loop records as it handles: once both packets are handled,
	// every event is written.
	(&testAgent{agent: a}).statusAfter(t, 2)
	evs := agentEvents(t, hist.String())
	var reasons []string
	for _, e := range evs {
		if e.T < history.Stamp(2*time.Second) || e.T > history.Stamp(7*time.Second) {
			t.Errorf("%q at %v, not counted from the epoch Start returned (2 s ago)", e.Reason, e.T.Duration())
		}
		reasons = append(reasons, e.Reason)
	}
	if len(evs) != 3 || !strings.HasPrefix(evs[0].Reason, "booted: sockets joined to 224.0.0.18 on eth0 ") {
		t.Fatalf("agent events %q, want boot, first sent, first received once", reasons)
	}
	sent, rcvd := evs[1], evs[2]
	if sent.Reason != "first advert sent" {
		sent, rcvd = rcvd, sent
	}
	want := history.Event{T: sent.T, Kind: history.KindAgent, Router: "r2", Instance: "VI_1", VRID: 51, Priority: 255,
		Src: ipSelf.String(), Dst: "224.0.0.18", Reason: "first advert sent"}
	if sent != want {
		t.Errorf("first sent %+v, want %+v", sent, want)
	}
	want = history.Event{T: rcvd.T, Kind: history.KindAgent, Router: "r2", Instance: "VI_1", VRID: 51, Priority: 150,
		Src: ipPeer.String(), Dst: "224.0.0.18", Reason: "first advert received"}
	if rcvd != want {
		t.Errorf("first received %+v, want %+v", rcvd, want)
	}
}
