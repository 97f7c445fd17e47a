package netns_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/loadgen/probe"
	"github.com/lblab/lblab/loadgen/prober"
	"github.com/lblab/lblab/testbed/netns"
)

// The cloud network of issue 16 on real namespaces, with the seed's
// addresses: VPC A 192.168.6.0/25 with ECS 192.168.6.76, VPC B
// 192.168.5.0/24 with ECS 192.168.5.130.
//
// Every probe waits probeTimeout at most (1 s, see there).

// cloud is a testbed's cloud network with short ways to build it.
type cloud struct {
	tb *netns.Testbed
	c  *netns.Cloud
}

func newCloud() *cloud {
	GinkgoHelper()
	tb := newTestbed()
	return &cloud{tb: tb, c: tb.Cloud()}
}

// vpc makes a VPC with one vSwitch covering its CIDR (name-sw).
func (c *cloud) vpc(name, cidr string) {
	GinkgoHelper()
	must(c.c.AddVPC(netns.VPCSpec{Name: name, CIDR: netip.MustParsePrefix(cidr)}))
	c.vswitch(name+"-sw", name, cidr)
}

func (c *cloud) vswitch(name, vpc, cidr string) {
	GinkgoHelper()
	must(c.c.AddVSwitch(netns.VSwitchSpec{Name: name, VPC: vpc, CIDR: netip.MustParsePrefix(cidr), Zone: "cn-hangzhou-h"}))
}

func (c *cloud) ecs(name, vswitch, addr string, listen ...uint16) *netns.Host {
	GinkgoHelper()
	return must(c.c.AddInstance(netns.InstanceSpec{Name: name, VSwitch: vswitch, Addr: netip.MustParseAddr(addr), Listen: listen})).Host
}

func (c *cloud) peer(name, a, b string) {
	GinkgoHelper()
	must(c.c.AddPeering(netns.PeeringSpec{Name: name, A: a, B: b}))
}

func (c *cloud) route(vpc, dest, peering string) {
	GinkgoHelper()
	Expect(c.c.AddRoute(netns.RouteSpec{VPC: vpc, Dest: netip.MustParsePrefix(dest),
		NextHop: netns.NextHop{Kind: netns.NextHopPeering, Name: peering}})).To(Succeed())
}

// probeTimeout is each probe's deadline: the kernel's initial TCP
// retransmission timeout (TCP_TIMEOUT_INIT, 1 s, RFC 6298). On veths a
// round trip takes well under a millisecond (the RTTs are reported) and
// nothing on the path queues or retransmits, so an answer comes within
// milliseconds or never: a connect not answered by then has lost its
// first SYN (the kernel would send the second now), and an echo request
// gets no second chance at all. Neighbour resolution, the only wait on
// the way, answers in microseconds too (it gives up only after 3 × 1 s).
const probeTimeout = time.Second

// result is how a probe ended: answered (an echo reply, a handshake) in
// rtt, or not, of class (loadgen/probe's failure classes, as lblab
// probe reports them).
type result struct {
	Answered bool
	Class    probe.Class
	RTT      time.Duration
}

func (r result) String() string {
	if r.Answered {
		return fmt.Sprintf("answered in %.3f ms", ms(r.RTT))
	}
	return fmt.Sprintf("%s after %.3f ms", r.Class, ms(r.RTT))
}

var echoID atomic.Uint32

// ping sends one ICMP echo request from a raw socket in from's namespace
// and waits at most probeTimeout for its reply, or an ICMP error quoting
// it (unreachable).
func ping(from *netns.Host, to string) result {
	GinkgoHelper()
	dst := netip.MustParseAddr(to)
	var conn *icmp.PacketConn
	Expect(from.Do(func() error {
		var err error
		conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	})).To(Succeed())
	defer conn.Close()
	id := int(uint32(os.Getpid())+echoID.Add(1)) & 0xffff
	req := must((&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("lblab")}}).Marshal(nil))
	start := time.Now()
	Expect(conn.SetReadDeadline(start.Add(probeTimeout))).To(Succeed())
	must(conn.WriteTo(req, &net.IPAddr{IP: dst.AsSlice()}))
	r := result{Class: probe.Timeout, RTT: probeTimeout}
	buf := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			Expect(errors.As(err, &ne) && ne.Timeout()).To(BeTrue(), "ping %s → %s: %v", from.Name, to, err)
			break
		}
		m, err := icmp.ParseMessage(1, buf[:n])
		if err != nil {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && m.Type == ipv4.ICMPTypeEchoReply && e.ID == id && peer.String() == to {
			r = result{Answered: true, RTT: time.Since(start)}
			break
		}
		if u, ok := m.Body.(*icmp.DstUnreach); ok && quotes(u.Data, id) {
			r = result{Class: probe.Unreachable, RTT: time.Since(start)}
			break
		}
	}
	report("ping "+from.Name+" → "+to, r)
	return r
}

// quotes reports whether an ICMP error's quoted packet (IPv4 header and
// 8 bytes more) is our echo request.
func quotes(q []byte, id int) bool {
	if len(q) < 20 {
		return false
	}
	ihl := int(q[0]&0x0f) * 4
	return len(q) >= ihl+8 && q[9] == 1 && q[ihl] == 8 && int(q[ihl+4])<<8|int(q[ihl+5]) == id
}

// connect opens one TCP connection from from's namespace, waiting at most
// probeTimeout, and closes it; a failure is classed as lblab probe
// classes it (prober.Classify).
func connect(from *netns.Host, to string) result {
	GinkgoHelper()
	var r result
	Expect(from.Do(func() error {
		start := time.Now()
		conn, err := (&net.Dialer{Timeout: probeTimeout}).Dial("tcp4", to)
		r.RTT = time.Since(start)
		if err != nil {
			r.Class = prober.Classify(err)
			return nil
		}
		r.Answered = true
		return conn.Close()
	})).To(Succeed())
	report("tcp "+from.Name+" → "+to, r)
	return r
}

func report(what string, r result) {
	AddReportEntry(what, r.String())
	GinkgoWriter.Printf("%s: %s\n", what, r)
}

// counter reads one of the host's kernel counters (netns.Host.SNMP).
func counter(h *netns.Host, name string) int64 {
	GinkgoHelper()
	c := must(h.SNMP())
	v, ok := c[name]
	Expect(ok).To(BeTrue(), "no counter %s", name)
	return v
}

// answered matches a probe that got its answer.
func answered() OmegaMatcher { return HaveField("Answered", BeTrue()) }

// failed matches a probe not answered, of class c.
func failed(c probe.Class) OmegaMatcher {
	return And(HaveField("Answered", BeFalse()), HaveField("Class", c))
}

var _ = Describe("the cloud network", Label("netns", "cloud"), func() {
	It("peers VPC A and B: nothing without the peering, nothing without routes, a lost reply with A's route only, everything with both", func() {
		c := newCloud()
		c.vpc("a", "192.168.6.0/25")
		c.vpc("b", "192.168.5.0/24")
		ecsA := c.ecs("ecs-a", "a-sw", "192.168.6.76")
		ecsB := c.ecs("ecs-b", "b-sw", "192.168.5.130", 8080)
		start := time.Now()

		By("no peering: A's router has no route (a silent drop, a timeout)")
		Expect(ping(ecsA, "192.168.5.130")).To(failed(probe.Timeout))

		By("a peering, no routes: still nothing")
		c.peer("pcx-ab", "a", "b")
		Expect(ping(ecsA, "192.168.5.130")).To(failed(probe.Timeout))

		By("A's route only: the request reaches B, B answers, the answer has no way back")
		c.route("a", "192.168.5.0/24", "pcx-ab")
		echos, replies, got := counter(ecsB, "Icmp.InEchos"), counter(ecsB, "Icmp.OutEchoReps"), counter(ecsA, "Icmp.InEchoReps")
		Expect(ping(ecsA, "192.168.5.130")).To(failed(probe.Timeout))
		Expect(counter(ecsB, "Icmp.InEchos")-echos).To(BeEquivalentTo(1), "the request arrived at B")
		Expect(counter(ecsB, "Icmp.OutEchoReps")-replies).To(BeEquivalentTo(1), "B answered")
		Expect(counter(ecsA, "Icmp.InEchoReps")-got).To(BeZero(), "the answer never came back")
		segs := counter(ecsB, "Tcp.OutSegs")
		Expect(connect(ecsA, "192.168.5.130:8080")).To(failed(probe.Timeout))
		Expect(counter(ecsB, "Tcp.OutSegs")-segs).To(BeNumerically(">=", 1), "B sent its SYN-ACK")

		By("both routes: ping, a listening port accepts, a closed port refuses")
		c.route("b", "192.168.6.0/25", "pcx-ab")
		r := ping(ecsA, "192.168.5.130")
		Expect(r).To(answered())
		Expect(r.RTT).To(BeNumerically("<", 50*time.Millisecond))
		Expect(ping(ecsB, "192.168.6.76")).To(answered())
		Expect(connect(ecsA, "192.168.5.130:8080")).To(answered())
		Expect(connect(ecsA, "192.168.5.130:8081")).To(failed(probe.Refused))

		By("a route taken away: a timeout again")
		Expect(c.c.DelRoute(netns.RouteSpec{VPC: "b", Dest: netip.MustParsePrefix("192.168.6.0/25"),
			NextHop: netns.NextHop{Kind: netns.NextHopPeering, Name: "pcx-ab"}})).To(Succeed())
		Expect(ping(ecsA, "192.168.5.130")).To(failed(probe.Timeout))
		AddReportEntry("probes' wall time", time.Since(start).String())
	})

	It("holds security groups stateful: default deny inbound, allow outbound, replies pass", func() {
		c := newCloud()
		c.vpc("a", "192.168.6.0/25")
		c.vpc("b", "192.168.5.0/24")
		ecsA := c.ecs("ecs-a", "a-sw", "192.168.6.76", 22)
		ecsB := c.ecs("ecs-b", "b-sw", "192.168.5.130", 8080, 8081)
		c.peer("pcx-ab", "a", "b")
		c.route("a", "192.168.5.0/24", "pcx-ab")
		c.route("b", "192.168.6.0/25", "pcx-ab")
		Expect(connect(ecsA, "192.168.5.130:8081")).To(answered(), "no group yet")

		By("B's group allows 8080 and ICMP from A's VPC only; A's group has no rules")
		Expect(c.c.SetSecurityGroup("ecs-b", netns.SecurityGroupSpec{Name: "sg-b", Rules: []netns.SGRule{
			{Direction: netns.Ingress, Policy: netns.Accept, Protocol: netns.ProtoTCP, PortFrom: 8080, CIDR: netip.MustParsePrefix("192.168.6.0/25")},
			{Direction: netns.Ingress, Policy: netns.Accept, Protocol: netns.ProtoICMP, CIDR: netip.MustParsePrefix("192.168.6.0/25")},
		}})).To(Succeed())
		Expect(c.c.SetSecurityGroup("ecs-a", netns.SecurityGroupSpec{Name: "sg-a"})).To(Succeed())
		Expect(connect(ecsA, "192.168.5.130:8080")).To(answered(), "allowed, and the reply passes A's deny-all inbound")
		Expect(ping(ecsA, "192.168.5.130")).To(answered())
		Expect(connect(ecsA, "192.168.5.130:8081")).To(failed(probe.Timeout), "not allowed: dropped, not refused")
		Expect(connect(ecsB, "192.168.6.76:22")).To(failed(probe.Timeout), "A denies inbound by default")
		Expect(ping(ecsB, "192.168.6.76")).To(failed(probe.Timeout))

		By("an egress drop in A's group")
		Expect(c.c.SetSecurityGroup("ecs-a", netns.SecurityGroupSpec{Name: "sg-a", Rules: []netns.SGRule{
			{Direction: netns.Egress, Policy: netns.Drop, Protocol: netns.ProtoTCP, PortFrom: 8000, PortTo: 8099},
		}})).To(Succeed())
		Expect(connect(ecsA, "192.168.5.130:8080")).To(failed(probe.Timeout))
		Expect(ping(ecsA, "192.168.5.130")).To(answered())

		By("groups cleared")
		Expect(c.c.ClearSecurityGroup("ecs-a")).To(Succeed())
		Expect(c.c.ClearSecurityGroup("ecs-b")).To(Succeed())
		Expect(connect(ecsB, "192.168.6.76:22")).To(answered())
	})

	It("does not forward from one peering into another: C, peered with B, stays out of A's reach", func() {
		c := newCloud()
		c.vpc("a", "192.168.6.0/25")
		c.vpc("b", "192.168.5.0/24")
		c.vpc("c", "172.16.0.0/24")
		ecsA := c.ecs("ecs-a", "a-sw", "192.168.6.76")
		ecsB := c.ecs("ecs-b", "b-sw", "192.168.5.130")
		ecsC := c.ecs("ecs-c", "c-sw", "172.16.0.10", 8080)
		c.peer("pcx-ab", "a", "b")
		c.peer("pcx-bc", "b", "c")
		c.route("a", "192.168.5.0/24", "pcx-ab")
		c.route("b", "192.168.6.0/25", "pcx-ab")
		c.route("b", "172.16.0.0/24", "pcx-bc")
		c.route("c", "192.168.5.0/24", "pcx-bc")
		Expect(ping(ecsA, "192.168.5.130")).To(answered())
		Expect(ping(ecsB, "172.16.0.10")).To(answered())

		By("routes that would carry A ↔ C through B, were peering transitive")
		c.route("a", "172.16.0.0/24", "pcx-ab")
		c.route("c", "192.168.6.0/25", "pcx-bc")
		echos := counter(ecsC, "Icmp.InEchos")
		drops := must(c.c.TransitDrops("b"))
		Expect(ping(ecsA, "172.16.0.10")).To(failed(probe.Timeout))
		Expect(connect(ecsA, "172.16.0.10:8080")).To(failed(probe.Timeout))
		Expect(counter(ecsC, "Icmp.InEchos")).To(Equal(echos), "nothing reached C")
		Expect(must(c.c.TransitDrops("b"))-drops).To(BeNumerically(">=", 2), "B's router dropped the echo and the SYN")
	})

	It("runs two VPCs with the same CIDR side by side, and refuses to peer them", func() {
		c := newCloud()
		hosts := map[string][2]*netns.Host{}
		for _, v := range []string{"x", "y"} {
			must(c.c.AddVPC(netns.VPCSpec{Name: v, CIDR: netip.MustParsePrefix("192.168.5.0/24")}))
			c.vswitch(v+"-1", v, "192.168.5.0/25")
			c.vswitch(v+"-2", v, "192.168.5.128/25")
			hosts[v] = [2]*netns.Host{c.ecs(v+"-web", v+"-1", "192.168.5.10"), c.ecs(v+"-db", v+"-2", "192.168.5.130", 3306)}
		}
		for _, v := range []string{"x", "y"} {
			other := map[string]string{"x": "y", "y": "x"}[v]
			mine, theirs := counter(hosts[v][1], "Icmp.InEchos"), counter(hosts[other][1], "Icmp.InEchos")
			Expect(ping(hosts[v][0], "192.168.5.130")).To(answered(), "across the VPC's two vSwitches")
			Expect(counter(hosts[v][1], "Icmp.InEchos")-mine).To(BeEquivalentTo(1), "its own VPC's db answered")
			Expect(counter(hosts[other][1], "Icmp.InEchos")).To(Equal(theirs), "the other VPC saw nothing")
			Expect(connect(hosts[v][0], "192.168.5.130:3306")).To(answered())
		}
		_, err := c.c.AddPeering(netns.PeeringSpec{Name: "pcx-xy", A: "x", B: "y"})
		Expect(err).To(MatchError(ContainSubstring("overlaps")))
	})

	It("drops what a whitelist does not allow: the other source times out", func() {
		c := newCloud()
		c.vpc("v", "192.168.5.0/24")
		web01 := c.ecs("web01", "v-sw", "192.168.5.11")
		web02 := c.ecs("web02", "v-sw", "192.168.5.12")
		c.ecs("rds", "v-sw", "192.168.5.200", 3306)
		Expect(c.c.SetWhitelist("rds", []netns.WhitelistSpec{{Port: 3306, Sources: []netip.Prefix{netip.MustParsePrefix("192.168.5.11/32")}}})).To(Succeed())
		Expect(connect(web01, "192.168.5.200:3306")).To(answered())
		Expect(connect(web02, "192.168.5.200:3306")).To(failed(probe.Timeout))
		Expect(ping(web02, "192.168.5.200")).To(answered(), "the whitelist is about its port only")
		Expect(must(c.c.WhitelistDrops("rds"))).To(BeNumerically(">=", 1))

		By("the whitelist fixed")
		Expect(c.c.SetWhitelist("rds", []netns.WhitelistSpec{{Port: 3306, Sources: []netip.Prefix{
			netip.MustParsePrefix("192.168.5.11/32"), netip.MustParsePrefix("192.168.5.12/32")}}})).To(Succeed())
		Expect(connect(web02, "192.168.5.200:3306")).To(answered())
	})

	It("sends a route's destination to an instance as next hop", func() {
		c := newCloud()
		c.vpc("a", "192.168.6.0/25")
		ecsA := c.ecs("ecs-a", "a-sw", "192.168.6.76")
		appliance := c.ecs("fw", "a-sw", "192.168.6.10")
		// 10.8.0.1 is the appliance's own (as a NAT or VPN instance holds
		// the far side's addresses), on its loopback.
		must(appliance.Run("ip", "addr", "add", "10.8.0.1/32", "dev", "lo"))
		Expect(ping(ecsA, "10.8.0.1")).To(failed(probe.Timeout), "no route yet: the router drops it")
		Expect(c.c.AddRoute(netns.RouteSpec{VPC: "a", Dest: netip.MustParsePrefix("10.8.0.0/24"),
			NextHop: netns.NextHop{Kind: netns.NextHopInstance, Name: "fw"}})).To(Succeed())
		echos := counter(appliance, "Icmp.InEchos")
		Expect(ping(ecsA, "10.8.0.1")).To(answered())
		Expect(counter(appliance, "Icmp.InEchos") - echos).To(BeEquivalentTo(1))
	})

	It("refuses what the cloud refuses", func() {
		c := newCloud()
		c.vpc("a", "192.168.6.0/25")
		_, err := c.c.AddVSwitch(netns.VSwitchSpec{Name: "out", VPC: "a", CIDR: netip.MustParsePrefix("192.168.5.0/24")})
		Expect(err).To(MatchError(ContainSubstring("not inside")))
		_, err = c.c.AddVSwitch(netns.VSwitchSpec{Name: "over", VPC: "a", CIDR: netip.MustParsePrefix("192.168.6.64/26")})
		Expect(err).To(MatchError(ContainSubstring("overlaps")))
		_, err = c.c.AddInstance(netns.InstanceSpec{Name: "gw", VSwitch: "a-sw", Addr: netip.MustParseAddr("192.168.6.125")})
		Expect(err).To(MatchError(ContainSubstring("reserved")))
		err = c.c.AddRoute(netns.RouteSpec{VPC: "a", Dest: netip.MustParsePrefix("192.168.6.0/24"), NextHop: netns.NextHop{Kind: netns.NextHopPeering, Name: "x"}})
		Expect(err).To(MatchError(ContainSubstring("own")))
		err = c.c.SetSecurityGroup("nobody", netns.SecurityGroupSpec{})
		Expect(err).To(HaveOccurred())
	})

	It("leaves nothing after a crash of its run: CleanStale removes the cloud", func() {
		cmd, prefix, _ := startHelper("cloud")
		before := must(netns.Leftovers(prefix))
		// Routers a and b, vSwitches a-sw and b-sw, instances ecs-a, ecs-b.
		Expect(before.Namespaces).To(HaveLen(6))
		Expect(cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		Expect(cmd.Wait()).To(HaveOccurred())
		Expect(netns.CleanStale()).To(Succeed())
		after := must(netns.Leftovers(prefix))
		Expect(after.Empty()).To(BeTrue(), "left behind: %v", after)
	})
})

// runCloudHelper builds the peered VPCs A and B with a security group, a
// whitelist and a listener, prints the testbed's prefix and waits to be
// killed (the "cloud" helper).
func runCloudHelper() int {
	tb, err := netns.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	c := tb.Cloud()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, err)
		tb.Cleanup()
		return 3
	}
	for _, v := range []struct{ name, cidr, addr string }{{"a", "192.168.6.0/25", "192.168.6.76"}, {"b", "192.168.5.0/24", "192.168.5.130"}} {
		cidr := netip.MustParsePrefix(v.cidr)
		if _, err := c.AddVPC(netns.VPCSpec{Name: v.name, CIDR: cidr}); err != nil {
			return fail(err)
		}
		if _, err := c.AddVSwitch(netns.VSwitchSpec{Name: v.name + "-sw", VPC: v.name, CIDR: cidr}); err != nil {
			return fail(err)
		}
		if _, err := c.AddInstance(netns.InstanceSpec{Name: "ecs-" + v.name, VSwitch: v.name + "-sw", Addr: netip.MustParseAddr(v.addr), Listen: []uint16{8080}}); err != nil {
			return fail(err)
		}
	}
	if _, err := c.AddPeering(netns.PeeringSpec{Name: "pcx-ab", A: "a", B: "b"}); err != nil {
		return fail(err)
	}
	if err := c.SetSecurityGroup("ecs-a", netns.SecurityGroupSpec{Name: "sg"}); err != nil {
		return fail(err)
	}
	if err := c.SetWhitelist("ecs-b", []netns.WhitelistSpec{{Port: 8080}}); err != nil {
		return fail(err)
	}
	fmt.Println(tb.Prefix())
	select {}
}
