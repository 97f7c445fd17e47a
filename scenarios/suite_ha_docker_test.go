package scenarios_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/scenarios"
)

// The high-availability pair in Docker containers: the VRRP routers'
// containers on the lab's network, the proxies joined to them, the
// servers, the clients and the probes joined to holder containers of
// their hosts.
var _ = Describe("the high-availability pair in Docker containers", Label("docker", "lb"), Ordered, func() {
	binp := dockerBinary()

	It("ha-pair-master-crash: lb2 takes over, the requests and probes follow it, the users' outage is the simulator's within one advert interval plus 100 ms", func() {
		lab := load("ha-pair-master-crash")
		o, err := scenarios.Run(context.Background(), "docker", lab, 1, scenarios.Options{Binary: *binp})
		Expect(err).NotTo(HaveOccurred())
		Expect(o.Results.Mode).To(Equal("docker"))
		expectBootsTogether(lab, o.Events)
		expectServedAcrossCrash(o)
		expectProbesAnswered(o)
		expectSimOutage(lab, o)
	})
})
