package netns_test

import (
	"net"
	"net/netip"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/testbed/netns"
)

var _ = Describe("a segment's firewall", Label("netns"), func() {
	It("drops one IP protocol between the named hosts only, and lets it pass again when cleared", func() {
		lan, a, b, c, la, lb, _ := threeHosts()
		ping := func(from interface {
			Run(string, ...string) ([]byte, error)
		}, to string) error {
			_, err := from.Run("ping", "-c", "1", "-W", "1", to)
			return err
		}
		Expect(ping(a, "10.9.0.2")).To(Succeed())
		Expect(ping(a, "10.9.0.3")).To(Succeed())

		By("ICMP (protocol 1) blocked between a and b")
		Expect(lan.Block(1, []string{la.Port, lb.Port})).To(Succeed())
		Expect(ping(a, "10.9.0.2")).NotTo(Succeed())
		Expect(ping(b, "10.9.0.1")).NotTo(Succeed())
		Expect(ping(a, "10.9.0.3")).To(Succeed(), "c is not behind the rule")
		Expect(ping(c, "10.9.0.2")).To(Succeed(), "c is not behind the rule")

		By("cleared")
		Expect(lan.Unblock([]string{la.Port, lb.Port})).To(Succeed())
		Eventually(func() error { return ping(a, "10.9.0.2") }).WithTimeout(5 * time.Second).Should(Succeed())

		By("another protocol (112, VRRP) blocked: ICMP passes")
		Expect(lan.Block(112, []string{la.Port, lb.Port})).To(Succeed())
		Expect(ping(a, "10.9.0.2")).To(Succeed())
	})

	It("drops only the multicast of a protocol with BlockMulticast: its unicast passes", func() {
		lan, a, b, c, la, lb, _ := threeHosts()
		for _, h := range []interface {
			Run(string, ...string) ([]byte, error)
		}{b, c} {
			must(h.Run("sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_broadcasts=0"))
		}
		// who answers an echo request to the all-hosts group from a
		mping := func() string {
			out, _ := a.Run("ping", "-c", "2", "-i", "0.2", "-W", "1", "-I", "eth0", "224.0.0.1")
			return string(out)
		}
		Expect(mping()).To(And(ContainSubstring("from 10.9.0.2"), ContainSubstring("from 10.9.0.3")))

		By("ICMP's multicast blocked between a and b")
		Expect(lan.BlockMulticast(1, []string{la.Port, lb.Port})).To(Succeed())
		out := mping()
		Expect(out).To(ContainSubstring("from 10.9.0.3"), "c is not behind the rule")
		Expect(out).NotTo(ContainSubstring("from 10.9.0.2"))
		_, err := a.Run("ping", "-c", "1", "-W", "1", "10.9.0.2")
		Expect(err).NotTo(HaveOccurred(), "unicast ICMP passes")

		By("cleared")
		Expect(lan.Unblock([]string{la.Port, lb.Port})).To(Succeed())
		Expect(mping()).To(ContainSubstring("from 10.9.0.2"))
	})

	It("drops the gratuitous ARP for an address with BlockGARP, not the ARP that resolves it", func() {
		lan, a, b, c, la, lb, lc := threeHosts()
		vip, bAddr := netip.MustParseAddr("10.9.0.100"), netip.MustParseAddr("10.9.0.2")
		must(a.Run("ip", "addr", "add", "10.9.0.100/24", "dev", "eth0"))
		must(c.Run("ping", "-c", "1", "-W", "1", vip.String()))
		must(c.Run("ping", "-c", "1", "-W", "1", bAddr.String()))
		aMAC := must(la.MAC())
		Expect(must(c.Neighbor("eth0", vip))).To(Equal(aMAC))

		// move moves the VIP to h and has h's kernel announce it: with
		// arp_notify, a new MAC makes it broadcast a gratuitous ARP
		// request for each of its addresses (as keepalived does for a VIP:
		// sender IP = target IP); it returns the new MAC.
		move := func(from, to interface {
			Run(string, ...string) ([]byte, error)
		}, mac string) net.HardwareAddr {
			must(from.Run("ip", "addr", "del", "10.9.0.100/24", "dev", "eth0"))
			must(to.Run("ip", "addr", "add", "10.9.0.100/24", "dev", "eth0"))
			must(to.Run("sysctl", "-q", "-w", "net.ipv4.conf.eth0.arp_notify=1"))
			must(to.Run("ip", "link", "set", "dev", "eth0", "address", mac))
			return must(net.ParseMAC(mac))
		}
		neighbor := func(ip netip.Addr) func() net.HardwareAddr {
			return func() net.HardwareAddr { return must(c.Neighbor("eth0", ip)) }
		}

		By("the VIP moves to b behind the rule: c hears b's gratuitous ARP for b's own address, not the VIP's")
		Expect(lan.BlockGARP([]netip.Addr{vip}, []string{la.Port, lb.Port, lc.Port})).To(Succeed())
		bMAC := move(a, b, "02:00:00:00:0b:02")
		// both announcements leave in one burst: once b's own is in, the
		// VIP's was dropped
		Eventually(neighbor(bAddr)).WithTimeout(3 * time.Second).WithPolling(20 * time.Millisecond).Should(Equal(bMAC))
		Expect(must(c.Neighbor("eth0", vip))).To(Equal(aMAC), "the gratuitous ARP for the VIP passed")

		By("a resolution of the VIP (broadcast request, b's unicast reply) passes")
		must(c.Run("ip", "neigh", "flush", "dev", "eth0", "to", vip.String()))
		must(c.Run("ping", "-c", "1", "-W", "1", vip.String()))
		Expect(must(c.Neighbor("eth0", vip))).To(Equal(bMAC))

		By("cleared: the VIP's gratuitous ARP passes again")
		Expect(lan.Unblock([]string{la.Port, lb.Port, lc.Port})).To(Succeed())
		aMAC = move(b, a, "02:00:00:00:0a:01")
		Eventually(neighbor(vip)).WithTimeout(3 * time.Second).WithPolling(20 * time.Millisecond).Should(Equal(aMAC))
	})
})

// threeHosts makes a testbed of hosts a, b and c (10.9.0.1, .2, .3/24)
// on segment lan, and returns the segment, the hosts and their links.
func threeHosts() (*netns.Segment, *netns.Host, *netns.Host, *netns.Host, *netns.Link, *netns.Link, *netns.Link) {
	GinkgoHelper()
	tb := newTestbed()
	DeferCleanup(tb.Cleanup)
	lan := must(tb.AddSegment("lan"))
	a, b, c := must(tb.AddHost("a")), must(tb.AddHost("b")), must(tb.AddHost("c"))
	la := must(tb.Connect(a, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
	lb := must(tb.Connect(b, "eth0", lan, netip.MustParsePrefix("10.9.0.2/24")))
	lc := must(tb.Connect(c, "eth0", lan, netip.MustParsePrefix("10.9.0.3/24")))
	return lan, a, b, c, la, lb, lc
}
