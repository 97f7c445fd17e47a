package vrrplinux

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/vrrpsim"
)

var (
	ipPeer  = netip.MustParseAddr("10.77.0.11")
	ipSelf  = netip.MustParseAddr("10.77.0.12")
	ipOther = netip.MustParseAddr("10.77.0.13")
)

// syncBuffer is a bytes.Buffer safe for the agent's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instConfig is a VRRPv2 backup of priority 100 on ipSelf, VRID 51.
func instConfig(peers ...netip.Addr) vrrpsim.Config {
	return vrrpsim.Config{Name: "VI_1", VRID: 51, Priority: 100, PrimaryIP: ipSelf,
		VIPs: []netip.Prefix{netip.MustParsePrefix("10.77.0.100/24")}, AuthType: vrrpsim.AuthPass, AuthPass: "1111",
		UnicastPeers: peers, DontTrackPrimary: true}
}

// testAgent is an agent with one instance on a fake eth0, no socket open:
// packets go in through its loop's channel, as read hands them over.
type testAgent struct {
	*agent
	log, hist *syncBuffer
	ifc       *iface
	cancel    context.CancelFunc
	ended     chan error
}

// newTestAgent starts the agent's loop; it watches the links named in
// tracked (real links of this namespace) as it would those its instances
// track.
func newTestAgent(t *testing.T, vc vrrpsim.Config, tracked ...string) *testAgent {
	t.Helper()
	ta := &testAgent{log: &syncBuffer{}, hist: &syncBuffer{}, ifc: &iface{name: "eth0", arpFD: -1}, ended: make(chan error, 1)}
	ta.agent = initAgent(Config{Name: "r2"}.withDefaults(), Options{Log: ta.log, History: ta.hist})
	if _, err := ta.addInstance(ta.ifc, Instance{Interface: "eth0", VRRP: vc}); err != nil {
		t.Fatal(err)
	}
	for _, l := range tracked {
		ta.tracked[l] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta.cancel = cancel
	go func() { ta.ended <- ta.loop(ctx) }()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

// stop ends the loop (as SIGTERM does) and waits for it.
func (ta *testAgent) stop(t *testing.T) {
	t.Helper()
	ta.cancel()
	select {
	case err := <-ta.ended:
		ta.ended <- err // a second stop returns at once
		if err != nil {
			t.Fatalf("loop: %v", err)
		}
	case <-time.After(stopNotifyWait + 5*time.Second):
		t.Fatal("the agent did not stop")
	}
}

// advert is a VRRPv2 advert of VRID 51 with password 1111 from src to dst.
func advertBytes(t *testing.T, prio uint8, src, dst netip.Addr) []byte {
	t.Helper()
	p := &vrrpsim.Packet{Version: 2, Type: vrrpsim.TypeAdvertisement, VRID: 51, Priority: prio, Interval: time.Second,
		AuthType: vrrpsim.AuthPass, AuthData: vrrpsim.PasswordData("1111"), Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.100")}}
	b, err := p.Marshal(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// status asks the loop for its Status through the admin handler.
func (ta *testAgent) status(t *testing.T) Status {
	t.Helper()
	rec := httptest.NewRecorder()
	ta.adminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/status: %d %s", rec.Code, rec.Body)
	}
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("/status: %v in %s", err, rec.Body)
	}
	return st
}

// statusAfter polls /status until the instance has taken or dropped
// count packets (the loop takes packets and status requests in any
// order), for at most five seconds.
func (ta *testAgent) statusAfter(t *testing.T, count uint64) InstanceStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := ta.status(t).Instances[0]
		if st.Stats["advert_rcvd"]+st.Dropped >= count {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5s the agent has handled %d of %d packets: %+v", st.Stats["advert_rcvd"]+st.Dropped, count, st)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAgentTakesWhatKeepalivedTakes drives the real agent's receive path
// (the loop, fed as the raw socket's reader feeds it) with a valid advert
// of a higher priority sent to various destinations: keepalived takes it
// only multicast without unicast_peer, only unicast with it.
func TestAgentTakesWhatKeepalivedTakes(t *testing.T) {
	cases := []struct {
		name  string
		peers []netip.Addr
		src   netip.Addr
		dst   netip.Addr
		taken bool
	}{
		{"no unicast_peer, to the group", nil, ipPeer, vrrpsim.GroupAddr, true},
		{"no unicast_peer, to our own address", nil, ipPeer, ipSelf, false},
		{"unicast_peer, to our own address", []netip.Addr{ipPeer}, ipPeer, ipSelf, true},
		{"unicast_peer, to the group", []netip.Addr{ipPeer}, ipPeer, vrrpsim.GroupAddr, false},
		{"unicast_peer, from a non-peer (no check_unicast_src)", []netip.Addr{ipPeer}, ipOther, ipSelf, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ta := newTestAgent(t, instConfig(c.peers...))
			ta.pkts <- packet{ifc: ta.ifc, src: c.src, dst: c.dst, ttl: 255, payload: advertBytes(t, 150, c.src, c.dst)}
			st := ta.statusAfter(t, 1)
			if got := st.Stats["advert_rcvd"] == 1 && st.Dropped == 0; got != c.taken {
				t.Fatalf("taken %v, want %v: %+v", got, c.taken, st)
			}
			if !c.taken && st.Stats["addr_list_err"] != 1 {
				t.Fatalf("want the drop counted as addr_list_err: %+v", st.Stats)
			}
			ta.stop(t)
			if logged := strings.Contains(ta.log.String(), "drop: addr_list_err (1 packet) from "+c.src.String()); logged == c.taken {
				t.Fatalf("drop logged %v, want %v; log:\n%s", logged, !c.taken, ta.log)
			}
		})
	}
}

// TestAgentFloodIsCountedNotLogged floods the agent with N bad packets of
// each of several causes: the log gets O(causes) lines whose counts add
// up to N per cause, /status and the history's vrrp_stats events count
// N per cause.
func TestAgentFloodIsCountedNotLogged(t *testing.T) {
	const n = 20000
	good := func() []byte { return advertBytes(t, 150, ipPeer, vrrpsim.GroupAddr) }
	type bad struct {
		cause string
		pkt   func() packet
	}
	pk := func(mut func(*packet)) func() packet {
		return func() packet {
			p := packet{src: ipPeer, dst: vrrpsim.GroupAddr, ttl: 255, payload: good()}
			mut(&p)
			return p
		}
	}
	bads := []bad{
		{"ip_ttl_err", pk(func(p *packet) { p.ttl = 64 })},
		{"packet_len_err", pk(func(p *packet) { p.payload = p.payload[:10] })},
		{"chk_err", pk(func(p *packet) { p.payload[7] ^= 0xff })},
		{"auth_failure", pk(func(p *packet) { p.payload[len(p.payload)-1] ^= 1 })},
		{"addr_list_err", pk(func(p *packet) { p.dst = ipSelf; p.payload = advertBytes(t, 150, ipPeer, ipSelf) })},
	}
	ta := newTestAgent(t, instConfig())
	start := time.Now()
	for i := range n {
		for _, b := range bads {
			p := b.pkt()
			p.ifc = ta.ifc
			if i%2 == 1 {
				p.src = ipOther // the last source is named in the line
			}
			ta.pkts <- p
		}
	}
	st := ta.statusAfter(t, n*uint64(len(bads)))
	elapsed := time.Since(start)
	for _, b := range bads {
		if st.Stats[b.cause] != n {
			t.Errorf("/status: %s = %d, want %d", b.cause, st.Stats[b.cause], n)
		}
	}
	if st.Dropped != uint64(n*len(bads)) || st.Stats["advert_rcvd"] != 0 || st.State != "BACKUP" {
		t.Errorf("/status: %+v", st)
	}
	ta.stop(t)

	// At most one line per cause per DropLogInterval, plus one at exit.
	lines := strings.Split(strings.TrimSpace(ta.log.String()), "\n")
	maxLines := len(bads)*(2+int(elapsed/DropLogInterval)) + 2 // and the state changes
	if len(lines) > maxLines {
		t.Errorf("%d log lines for %d drops in %v, want at most %d:\n%s", len(lines), n*len(bads), elapsed, maxLines,
			strings.Join(lines[:min(len(lines), 20)], "\n"))
	}
	re := regexp.MustCompile(`VI_1: drop: (\w+) \((\d+) packets?`)
	logged := map[string]int{}
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			k, _ := strconv.Atoi(m[2])
			logged[m[1]] += k
		}
	}
	for _, b := range bads {
		if logged[b.cause] != n {
			t.Errorf("log lines count %d drops of %s, want %d", logged[b.cause], b.cause, n)
		}
	}

	evs, err := history.ReadJSONL(strings.NewReader(ta.hist.String()), "history")
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]uint64{}
	for _, e := range evs {
		if e.Kind == history.KindVRRPStats {
			if e.Router != "r2" || e.Instance != "VI_1" || e.VRID != 51 {
				t.Errorf("stats event names %s/%s/%d", e.Router, e.Instance, e.VRID)
			}
			counted[e.Counter] = e.Count
		}
	}
	for _, b := range bads {
		if counted[b.cause] != n {
			t.Errorf("history: %s = %d, want %d (events %v)", b.cause, counted[b.cause], n, counted)
		}
	}
}

// TestStopIsSilentWithLinksWatched stops an agent that watches a link
// (netlink link subscription) as SIGTERM does: closing the subscription
// is the agent stopping, and the log says nothing about it (it said
// "link watch: Receive failed: ... file already closed").
func TestStopIsSilentWithLinksWatched(t *testing.T) {
	ta := newTestAgent(t, instConfig(), "lo")
	// The loop is running once it answers; by then it has subscribed.
	if st := ta.status(t); st.Instances[0].State != "BACKUP" {
		t.Fatalf("state %s", st.Instances[0].State)
	}
	ta.cancel()
	var err error
	select {
	case err = <-ta.ended:
		ta.ended <- err
	case <-time.After(stopNotifyWait + 5*time.Second):
		t.Fatal("the agent did not stop")
	}
	if err != nil && strings.Contains(err.Error(), "subscribe to link changes") {
		// Subscribing needs no privilege on Linux; say why if it fails.
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: cannot watch links: %v", err)
		}
		t.Skipf("cannot watch links here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if log := ta.log.String(); strings.Contains(log, "link watch") {
		t.Fatalf("stopping logged the link watch closing:\n%s", log)
	}
}
