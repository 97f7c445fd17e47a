package scenarios_test

import (
	"context"
	"os"
	"os/exec"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// ha-pair-nginx-dies with the system's keepalived and nginx (impl
// keepalived + impl nginx): pair C's check_nginx.sh is run by keepalived
// itself, finds the host's nginx gone, cannot start it (its
// configuration is broken), and stops keepalived, which leaves with
// priority 0. One run of the lab, seed 1 (about 25 s of wall time).
var _ = Describe("ha-pair-nginx-dies with keepalived and nginx on real hosts (network namespaces)", Label("netns", "lb"), Ordered, func() {
	binp := netnsBinary()

	It("passes every expectation; keepalived stops on c-lb1 by its script and each pair's outage is the simulator's within one advert interval plus 100 ms", Label("slow"), func() {
		if os.Getenv(slowEnv) != "1" {
			Skip("a slow real-host lab: " + slowEnv + "=1 runs it (go tool task test:slow)")
		}
		for _, bin := range []string{"keepalived", "nginx"} {
			if _, err := exec.LookPath(bin); err != nil {
				if os.Getenv("CI") == "true" {
					Fail("CI=true but " + bin + " is not installed: " + err.Error())
				}
				Skip(bin + " is not installed")
			}
		}
		lab := load("ha-pair-nginx-dies")
		lab.Impl = &labfile.Impl{VRRP: labfile.ImplKeepalived, Proxy: labfile.ImplNginx}
		o, err := scenarios.RunNetns(context.Background(), lab, 1, scenarios.NetnsOptions{Binary: *binp})
		Expect(err).NotTo(HaveOccurred())
		Expect(failures(o)).To(BeEmpty())
		expectScriptStop(o)
		expectPairOutages(o)
	})
})

// expectScriptStop checks that c-lb1's router left MASTER for STOP (its
// keepalived stopped by check_nginx.sh, no fault of the lab stops it)
// after the crash of its proxy, and that c-lb2 took the VIP then.
func expectScriptStop(o *scenarios.Outcome) {
	GinkgoHelper()
	var crash, stop, takeover history.Stamp
	for _, e := range o.Events {
		switch {
		case e.Kind == history.KindFault && e.Name == "c nginx dies":
			crash = e.T
		case e.Kind == history.KindVRRP && e.Router == "c-lb1" && e.From == "MASTER" && e.To == "STOP" && stop == 0:
			stop = e.T
		case e.Kind == history.KindVIP && e.Owner == "c-lb2" && takeover == 0:
			takeover = e.T
		}
	}
	Expect(crash).To(BeNumerically(">", 0), "no crash of c-lb1's proxy")
	Expect(stop).To(BeNumerically(">", crash), "c-lb1's keepalived did not stop after the crash")
	Expect(takeover).To(BeNumerically(">", stop), "c-lb2 did not take the VIP after c-lb1 stopped")
}

// expectPairOutages checks each client's outage of a real run with seed
// 1 against the simulator's within one advert interval plus 100 ms, and
// prints them side by side.
func expectPairOutages(o *scenarios.Outcome) {
	GinkgoHelper()
	sim := run(load("ha-pair-nginx-dies"), 1)
	for _, client := range []string{"client-a", "client-b", "client-c"} {
		got, simulated := clientOutage(o, client), clientOutage(sim, client)
		GinkgoWriter.Printf("%s outage of seed 1: %s %.3f s, sim %.3f s\n", client, o.Results.Mode, got, simulated)
		Expect(got).To(BeNumerically("~", simulated, 1.1), client)
	}
}

// clientOutage is the outage of client's host in seconds (outage_s_HOST).
func clientOutage(o *scenarios.Outcome, client string) float64 {
	GinkgoHelper()
	v, ok := o.Results.Metrics["outage_s_"+client].(float64)
	Expect(ok).To(BeTrue(), "no outage_s_%s in %v", client, o.Results.Metrics)
	return v
}
