package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/net/ipv4"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/testbed/netns"
	"github.com/lblab/lblab/vrrpsim"
	vrrplinux "github.com/lblab/lblab/vrrpsim/linux"
)

// inNamespace runs fn on an OS thread switched into the network
// namespace ns, and switches the thread back after; the sockets fn opens
// stay in ns. The thread must come back: one that died would SIGKILL the
// processes it started (netns.Host.Command sets Pdeathsig), so a thread
// that cannot return stays locked to a goroutine that never ends.
func inNamespace(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		h, err := vnetns.GetFromName(ns)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("namespace %s: %w", ns, err)
			return
		}
		defer h.Close()
		if err := vnetns.Set(h); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		err = fn()
		if rerr := vnetns.Set(orig); rerr != nil {
			errc <- fmt.Errorf("leave namespace %s: %w", ns, rerr)
			select {} // keep the thread, locked and idle, for the test's life
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// TestVRRPAgentOnRealSockets runs `lblab vrrp` in a network namespace and
// sends it packets on a real segment from another: an advert sent to its
// own unicast address without unicast_peer, and a flood of bad packets.
// The agent takes none of them, counts each by cause in /status (--admin)
// and in the history's vrrp_stats events, logs a few lines, not one a
// packet, and stops on SIGTERM without a word about its link watch. It
// needs root (skipped without, a failure with CI=true).
func TestVRRPAgentOnRealSockets(t *testing.T) {
	dir, tb, lan := lanTestbed(t, "the agent on real sockets")
	bin := buildLblab(t)
	self, peer := netip.MustParseAddr("10.77.0.12"), netip.MustParseAddr("10.77.0.11")
	r1, err := tb.AddHost("r1")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := tb.AddHost("r2")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		h    *netns.Host
		addr netip.Addr
	}{{r1, peer}, {r2, self}} {
		if _, err := tb.Connect(c.h, "eth0", lan, netip.PrefixFrom(c.addr, 24)); err != nil {
			t.Fatal(err)
		}
	}

	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(`vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass 1111
  }
  virtual_ipaddress {
    10.77.0.100/24
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	hist := filepath.Join(dir, "history.jsonl")
	const admin = "127.0.0.1:9091" // r2's own loopback
	var stdout, stderr syncBuffer
	agent, err := r2.Start(&stdout, &stderr, bin, "vrrp", "--config", conf, "--history", hist, "--name", "r2", "--admin", admin)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			agent.Kill()
			agent.Wait(5 * time.Second)
		}
	}()

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = inNamespace(r2.NS, func() error {
				var d net.Dialer
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
	status := func() (vrrplinux.InstanceStatus, error) {
		resp, err := client.Get("http://" + admin + "/status")
		if err != nil {
			return vrrplinux.InstanceStatus{}, err
		}
		defer resp.Body.Close()
		var st vrrplinux.Status
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			return vrrplinux.InstanceStatus{}, err
		}
		if len(st.Instances) != 1 {
			return vrrplinux.InstanceStatus{}, fmt.Errorf("status: %+v", st)
		}
		return st.Instances[0], nil
	}
	// await polls /status until ok says so, for at most limit.
	await := func(what string, limit time.Duration, ok func(vrrplinux.InstanceStatus) bool) vrrplinux.InstanceStatus {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			st, err := status()
			if err == nil && ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %v (last status %+v, %v)\nagent stderr:\n%s", what, limit, st, err, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	await("agent up", 10*time.Second, func(st vrrplinux.InstanceStatus) bool { return st.State == "BACKUP" || st.State == "MASTER" })

	// A raw protocol-112 socket in r1 writing its own IP headers.
	var rc *ipv4.RawConn
	if err := inNamespace(r1.NS, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		pc, err := net.ListenPacket(fmt.Sprintf("ip4:%d", vrrpsim.Protocol), peer.String())
		if err != nil {
			return err
		}
		if rc, err = ipv4.NewRawConn(pc); err != nil {
			return err
		}
		return rc.SetMulticastInterface(ifi)
	}); err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	advert := func(prio uint8, dst netip.Addr) []byte {
		p := &vrrpsim.Packet{Version: 2, Type: vrrpsim.TypeAdvertisement, VRID: 51, Priority: prio, Interval: time.Second,
			AuthType: vrrpsim.AuthPass, AuthData: vrrpsim.PasswordData("1111"), Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.100")}}
		b, err := p.Marshal(peer, dst)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	send := func(dst netip.Addr, ttl int, payload []byte) {
		h := &ipv4.Header{Version: ipv4.Version, Len: ipv4.HeaderLen, TOS: 0xc0, TotalLen: ipv4.HeaderLen + len(payload),
			TTL: ttl, Protocol: vrrpsim.Protocol, Src: net.IP(peer.AsSlice()), Dst: net.IP(dst.AsSlice())}
		if err := rc.WriteTo(h, payload, nil); err != nil {
			t.Fatalf("send to %v: %v", dst, err)
		}
	}
	handled := func(st vrrplinux.InstanceStatus) uint64 { return st.Stats["advert_rcvd"] + st.Dropped }

	// A valid advert of a higher priority, sent to r2's own address:
	// without unicast_peer keepalived drops it (addr_list_err).
	before := await("status", time.Second, func(vrrplinux.InstanceStatus) bool { return true })
	send(self, 255, advert(254, self))
	st := await("the unicast advert counted", 5*time.Second, func(st vrrplinux.InstanceStatus) bool { return handled(st) > handled(before) })
	if st.Stats["addr_list_err"] != 1 || st.Stats["advert_rcvd"] != before.Stats["advert_rcvd"] {
		t.Fatalf("an advert to our own unicast address was taken: %+v", st)
	}

	// The flood, in batches that the agent's socket buffer holds.
	const n, batch = 1000, 25
	bads := []struct {
		cause string
		send  func()
	}{
		{"ip_ttl_err", func() { send(vrrpsim.GroupAddr, 64, advert(254, vrrpsim.GroupAddr)) }},
		{"chk_err", func() { b := advert(254, vrrpsim.GroupAddr); b[7] ^= 0xff; send(vrrpsim.GroupAddr, 255, b) }},
		{"packet_len_err", func() { send(vrrpsim.GroupAddr, 255, advert(254, vrrpsim.GroupAddr)[:10]) }},
		{"addr_list_err", func() { send(self, 255, advert(254, self)) }},
	}
	start := time.Now()
	for i := 0; i < n; i += batch {
		before := handled(st)
		for range batch {
			for _, b := range bads {
				b.send()
			}
		}
		st = await("a batch counted", 5*time.Second, func(st vrrplinux.InstanceStatus) bool {
			return handled(st) >= before+uint64(batch*len(bads))
		})
	}
	elapsed := time.Since(start)
	for _, b := range bads {
		want := uint64(n)
		if b.cause == "addr_list_err" {
			want++ // the first unicast advert
		}
		if st.Stats[b.cause] != want {
			t.Errorf("/status: %s = %d, want %d", b.cause, st.Stats[b.cause], want)
		}
	}

	if err := agent.Terminate(); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(5 * time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
	}
	stopped = true
	logText := stderr.String()
	if strings.Contains(logText, "link watch") {
		t.Errorf("SIGTERM logged the link watch closing:\n%s", logText)
	}
	re := regexp.MustCompile(`VI_1: drop: (\w+) \((\d+) packets?`)
	logged, lines := map[string]int{}, 0
	for _, l := range strings.Split(logText, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			k, _ := strconv.Atoi(m[2])
			logged[m[1]] += k
			lines++
		}
	}
	if most := len(bads) * (2 + int(elapsed/vrrplinux.DropLogInterval)); lines > most {
		t.Errorf("%d drop lines for %d drops in %v, want at most %d:\n%s", lines, n*len(bads)+1, elapsed, most, logText)
	}
	for _, b := range bads {
		if want := int(st.Stats[b.cause]); logged[b.cause] != want {
			t.Errorf("the log counts %d drops of %s, /status %d", logged[b.cause], b.cause, want)
		}
	}
	f, err := os.Open(hist)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := history.ReadJSONL(f, hist)
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]uint64{}
	for _, e := range evs {
		if e.Kind == history.KindVRRPStats && e.Router == "r2" && e.Instance == "VI_1" {
			counted[e.Counter] = e.Count
		}
	}
	for _, b := range bads {
		if counted[b.cause] != st.Stats[b.cause] {
			t.Errorf("history: %s = %d, /status %d", b.cause, counted[b.cause], st.Stats[b.cause])
		}
	}
	t.Logf("%d packets in %v: %d drop lines; counters %v", n*len(bads)+1, elapsed.Round(time.Millisecond), lines, counted)
}
