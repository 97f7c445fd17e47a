package netns_test

import (
	"net/netip"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("a host of the testbed", Label("netns"), func() {
	It("forwards nothing, whatever the machine's net.ipv4.ip_forward (a new namespace copies it)", func() {
		tb := newTestbed()
		lan := must(tb.AddSegment("lan"))
		h := must(tb.AddHost("h1"))
		must(tb.Connect(h, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
		for _, sysctl := range []string{"net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding", "net.ipv4.conf.eth0.forwarding"} {
			out, err := h.Run("sysctl", "-n", sysctl)
			Expect(err).NotTo(HaveOccurred(), "%s", out)
			Expect(strings.TrimSpace(string(out))).To(Equal("0"), sysctl)
		}
	})
})
