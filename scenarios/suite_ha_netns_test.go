package scenarios_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
)

// The high-availability pair on real hosts: the VRRP routers, the
// proxies on the same hosts, the servers and the clients each in their
// own namespace of the lab's topology. One run of the lab (CI runs it).
var _ = Describe("the high-availability pair on real hosts (network namespaces)", Label("netns"), Ordered, func() {
	binp := netnsBinary()

	It("ha-pair-master-crash: the users' outage is the simulator's, within one advert interval plus 100 ms", func() {
		bin := *binp
		lab := load("ha-pair-master-crash")
		o, err := scenarios.RunNetns(context.Background(), lab, 1, scenarios.NetnsOptions{Binary: bin})
		Expect(err).NotTo(HaveOccurred())
		Expect(o.Results.Mode).To(Equal("netns"))
		// Every expectation, among them: every request sent is accounted
		// for, the takeover and the outage within their windows.
		Expect(failures(o)).To(BeEmpty())
		expectBootsTogether(lab, o.Events)

		var crash, takeover history.Stamp
		for _, e := range o.Events {
			switch {
			case e.Kind == history.KindFault && e.Fault == "crash" && crash == 0:
				crash = e.T
			case e.Kind == history.KindVIP && e.Owner == "lb2" && takeover == 0:
				takeover = e.T
			}
		}
		Expect(crash).To(BeNumerically(">", 0), "no crash in the history")
		Expect(takeover).To(BeNumerically(">", crash), "lb2 never took the VIP")
		// Each request comes from client1's host and, when a proxy
		// served it, names the node: lb1 until the crash, lb2 once it
		// holds the VIP.
		served := map[string]int{}
		for _, e := range o.Events {
			if e.Kind != history.KindRequest {
				continue
			}
			Expect(e.Src).To(Equal("client1"))
			if e.Answer == "" {
				continue
			}
			served[e.Answer]++
			switch e.Answer {
			case "lb1":
				Expect(e.Start).To(BeNumerically("<", crash), "lb1 served a request sent at %v, after its crash at %v", e.Start, crash)
			case "lb2":
				Expect(e.T).To(BeNumerically(">", takeover), "lb2 served a request ending at %v, before it took the VIP at %v", e.T, takeover)
			default:
				Fail("a request answered by " + e.Answer)
			}
		}
		Expect(served["lb1"]).To(BeNumerically(">", 100), "%v", served)
		Expect(served["lb2"]).To(BeNumerically(">", 100), "%v", served)
		// The probes of client1: icmp and tcp, the answers by node.
		answered := map[string]map[string]int{"icmp": {}, "tcp": {}}
		for _, e := range o.Events {
			if e.Kind == history.KindNet && e.OK != nil && *e.OK {
				Expect(e.Src).To(Equal("client1"))
				answered[e.Probe][e.Answer]++
			}
		}
		for _, kind := range []string{"icmp", "tcp"} {
			Expect(answered[kind]["lb1"]).To(BeNumerically(">", 0), "%s probes: %v", kind, answered[kind])
			Expect(answered[kind]["lb2"]).To(BeNumerically(">", 0), "%s probes: %v", kind, answered[kind])
		}
		// The outage the users saw, beside the simulator's of the same
		// seed: within one advert interval plus 100 ms.
		sim := run(lab, 1)
		got, simulated := o.Results.Metrics["outage_s"].(float64), sim.Results.Metrics["outage_s"].(float64)
		GinkgoWriter.Printf("outage of seed 1: netns %.3f s, sim %.3f s\n", got, simulated)
		Expect(got).To(BeNumerically("~", simulated, (time.Second + 100*time.Millisecond).Seconds()))
	})
})
