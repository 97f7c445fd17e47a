package scenarios_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
)

// ha-pair-split-brain on real hosts: one run of the lab (CI runs it).
var _ = Describe("a split brain of the high-availability pair on real hosts (network namespaces)", Label("netns", "lb"), Ordered, func() {
	binp := netnsBinary()

	It("ha-pair-split-brain: both nodes serve, client1 follows lb1 back, every request ends; the outage is the simulator's", func() {
		lab := load("ha-pair-split-brain")
		began := time.Now()
		o, err := scenarios.RunNetns(context.Background(), lab, 1, scenarios.NetnsOptions{Binary: *binp})
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("ha-pair-split-brain in netns: %v\n", time.Since(began).Round(time.Millisecond))
		Expect(o.Results.Mode).To(Equal("netns"))
		// Every expectation, among them: two masters at 11 s, lb2 back to
		// BACKUP, client1's outage under 1 s, every request accounted for.
		Expect(failures(o)).To(BeEmpty())
		expectSplitBrainServed(o, lab.Duration.D)
		expectSimOutage(lab, o)
	})
})

// splitSlack is how far the agents' and the clients' stamps of one
// moment may be apart on real hosts, and how long a request may have
// been on a node at a moment (five times the lab's backends' p99 of
// 20 ms).
const splitSlack = 100 * time.Millisecond

// expectSplitBrainServed checks a netns run of ha-pair-split-brain from
// its history: lb2 served requests only while it held the VIP, lb1 none
// in the split brain (client1 followed lb2's gratuitous ARP) and again
// after lb2 yielded; client1's probes were answered by lb1 after lb2
// yielded (it followed lb1's gratuitous ARP back: had it stayed on lb2,
// which no longer holds the VIP, its requests on lb2's connections
// would hang, neither answered nor reset, until the end of the run); a
// request still in flight at the end (unknown, never failed) is one sent
// in the run's last splitSlack, or one lb2 held when it gave up the VIP
// (its response can no longer leave from the VIP).
func expectSplitBrainServed(o *scenarios.Outcome, d time.Duration) {
	GinkgoHelper()
	var master, yield history.Stamp
	for _, e := range o.Events {
		if e.Kind == history.KindVRRP && e.Router == "lb2" {
			switch {
			case e.To == "MASTER" && master == 0:
				master = e.T
			case e.From == "MASTER" && e.To == "BACKUP" && yield == 0:
				yield = e.T
			}
		}
	}
	Expect(master).To(BeNumerically(">", 0), "lb2 never became master")
	Expect(yield).To(BeNumerically(">", master), "lb2 never yielded")
	slack, end := history.Stamp(splitSlack), history.Stamp(d)
	served := map[string]int{}
	var ok, failed, unknown int
	for _, e := range o.Events {
		if e.Kind != history.KindRequest {
			continue
		}
		Expect(e.Src).To(Equal("client1"))
		switch {
		case e.Error == "in_flight":
			unknown++
			held := e.Start > yield-slack && e.Start < yield+slack
			Expect(e.Start > end-slack || held).To(BeTrue(),
				"a request sent at %v in flight at the end: neither in the run's last %v nor on lb2 when it yielded at %v", e.Start, splitSlack, yield)
		case e.Error != "" || e.Status >= 500:
			failed++
		default:
			ok++
		}
		if e.Answer == "" {
			continue
		}
		served[e.Answer]++
		switch e.Answer {
		case "lb1":
			Expect(e.Start < master+slack || e.Start > yield-slack).To(BeTrue(),
				"lb1 served a request sent at %v, in the split brain (%v to %v)", e.Start, master, yield)
		case "lb2":
			Expect(e.T).To(BeNumerically(">", master), "lb2 served a request ending at %v, before it became master at %v", e.T, master)
			Expect(e.Start).To(BeNumerically("<", yield+slack), "lb2 served a request sent at %v, after it yielded at %v", e.Start, yield)
		default:
			Fail("a request answered by " + e.Answer)
		}
	}
	GinkgoWriter.Printf("requests: %d ok, %d failed, %d unknown; served %v\n", ok, failed, unknown, served)
	Expect(served["lb1"]).To(BeNumerically(">", 100), "%v", served)
	Expect(served["lb2"]).To(BeNumerically(">", 100), "%v", served)
	probes := map[string]int{}
	for _, e := range o.Events {
		if e.Kind == history.KindNet && e.OK != nil && *e.OK && e.Start > yield+slack {
			probes[e.Answer]++
		}
	}
	Expect(probes).To(HaveKey("lb1"))
	Expect(probes).To(HaveLen(1), "client1's probes after lb2 yielded at %v were answered by %v", yield, probes)
}
