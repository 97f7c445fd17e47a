package netns_test

import (
	"fmt"
	"net/netip"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/testbed/netns"
)

var _ = Describe("a host's neighbour cache", Label("netns"), func() {
	It("takes the timers and pins the kernel's random reachable time to the base", func() {
		tb := newTestbed()
		DeferCleanup(tb.Cleanup)
		lan := must(tb.AddSegment("lan"))
		a := must(tb.AddHost("a"))
		must(tb.Connect(a, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
		for range 3 {
			got := must(a.SetNeigh("eth0", netns.NeighTimers{Reachable: 10 * time.Second, DelayFirstProbe: 5 * time.Second}))
			Expect(got).To(BeNumerically("~", 10*time.Second, netns.ReachablePin))
			Expect(must(a.Reachable("eth0"))).To(Equal(got))
			// what ip ntable prints agrees
			out := string(must(a.Run("ip", "ntable", "show", "dev", "eth0", "name", "arp_cache")))
			Expect(out).To(ContainSubstring(fmt.Sprintf(" reachable %d ", got.Milliseconds())))
			Expect(out).To(ContainSubstring("base_reachable 10000 "))
			Expect(out).To(ContainSubstring("delay_probe 5000 "))
			Expect(out).To(ContainSubstring("ucast_probes 3 mcast_probes 3"))
		}

		By("drawn again (as Linux does every 300 s), PinReachable pins it back")
		for range 20 {
			must(a.Run("sysctl", "-q", "-w", "net.ipv4.neigh.eth0.base_reachable_time_ms=10000"))
			if (must(a.Reachable("eth0")) - 10*time.Second).Abs() > netns.ReachablePin {
				break
			}
		}
		Expect(must(a.Reachable("eth0"))).NotTo(BeNumerically("~", 10*time.Second, netns.ReachablePin))
		Expect(must(a.PinReachable("eth0", 10*time.Second))).To(BeNumerically("~", 10*time.Second, netns.ReachablePin))
		Expect(must(a.Reachable("eth0"))).To(BeNumerically("~", 10*time.Second, netns.ReachablePin))
	})
})
