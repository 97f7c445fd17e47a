package netns_test

import (
	"net/netip"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("a segment's firewall", Label("netns"), func() {
	It("drops one IP protocol between the named hosts only, and lets it pass again when cleared", func() {
		tb := newTestbed()
		DeferCleanup(tb.Cleanup)
		lan := must(tb.AddSegment("lan"))
		a, b, c := must(tb.AddHost("a")), must(tb.AddHost("b")), must(tb.AddHost("c"))
		la := must(tb.Connect(a, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
		lb := must(tb.Connect(b, "eth0", lan, netip.MustParsePrefix("10.9.0.2/24")))
		must(tb.Connect(c, "eth0", lan, netip.MustParsePrefix("10.9.0.3/24")))
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
})
