package scenarios_test

import (
	"context"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// The high-availability pair on real hosts: the VRRP routers, the
// proxies on the same hosts, the servers and the clients each in their
// own namespace of the lab's topology. One run of the lab (CI runs it).
var _ = Describe("the high-availability pair on real hosts (network namespaces)", Label("netns", "lb"), Ordered, func() {
	binp := netnsBinary()

	It("ha-pair-master-crash: the users' outage is the simulator's, within one advert interval plus 100 ms", func() {
		lab := load("ha-pair-master-crash")
		o, err := scenarios.RunNetns(context.Background(), lab, 1, scenarios.NetnsOptions{Binary: *binp})
		Expect(err).NotTo(HaveOccurred())
		expectBootsTogether(lab, o.Events)
		expectMasterCrash(lab, o)
	})

	It("ha-pair-master-crash with keepalived and nginx: the same, with the system's peers", Label("slow"), func() {
		if os.Getenv(slowEnv) != "1" {
			Skip("a slow real-host lab: " + slowEnv + "=1 runs it (go tool task test:slow)")
		}
		lab := load("ha-pair-master-crash")
		lab.Impl = &labfile.Impl{VRRP: labfile.ImplKeepalived, Proxy: labfile.ImplNginx}
		o, err := scenarios.RunNetns(context.Background(), lab, 1, scenarios.NetnsOptions{Binary: *binp})
		Expect(err).NotTo(HaveOccurred())
		expectMasterCrash(lab, o)
	})

	for _, name := range []string{"ha-pair-graceful", "ha-pair-nginx-dies"} {
		It(name+" passes every expectation on real hosts", Label("slow"), func() {
			if os.Getenv(slowEnv) != "1" {
				Skip("a slow real-host lab: " + slowEnv + "=1 runs it (go tool task test:slow)")
			}
			o, err := scenarios.RunNetns(context.Background(), load(name), 1, scenarios.NetnsOptions{Binary: *binp})
			Expect(err).NotTo(HaveOccurred())
			Expect(failures(o)).To(BeEmpty())
		})
	}
})

// expectMasterCrash checks a netns run of ha-pair-master-crash with seed
// 1: every expectation passes; each request comes from client1's host
// and, when a proxy served it, names lb1 before the crash and lb2 once
// it took the VIP over; client1's probes were answered by both; the
// users' outage is the simulator's of the seed within one advert
// interval plus 100 ms.
func expectMasterCrash(lab *labfile.Lab, o *scenarios.Outcome) {
	GinkgoHelper()
	Expect(o.Results.Mode).To(Equal("netns"))
	expectServedAcrossCrash(o)
	expectProbesAnswered(o)
	expectSimOutage(lab, o)
}

// expectProbesAnswered checks that client1's icmp and tcp probes were
// answered by lb1 and by lb2.
func expectProbesAnswered(o *scenarios.Outcome) {
	GinkgoHelper()
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
}

// expectServedAcrossCrash checks a real run of ha-pair-master-crash:
// every expectation passes; each request comes from client1's host and,
// when a proxy served it, names lb1 before the crash and lb2 once it took
// the VIP over, each more than 100 times.
func expectServedAcrossCrash(o *scenarios.Outcome) {
	GinkgoHelper()
	// Every expectation, among them: every request sent is accounted
	// for, the takeover and the outage within their windows.
	Expect(failures(o)).To(BeEmpty())
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
}

// expectSimOutage checks that the users' outage of a real run with seed
// 1 is the simulator's within one advert interval plus 100 ms.
func expectSimOutage(lab *labfile.Lab, o *scenarios.Outcome) {
	GinkgoHelper()
	sim := run(load(lab.Name), 1) // the simulator runs lblab's model, whatever the impl
	got, simulated := o.Results.Metrics["outage_s"].(float64), sim.Results.Metrics["outage_s"].(float64)
	GinkgoWriter.Printf("outage of seed 1: %s %.3f s, sim %.3f s\n", o.Results.Mode, got, simulated)
	Expect(got).To(BeNumerically("~", simulated, (time.Second + 100*time.Millisecond).Seconds()))
}
