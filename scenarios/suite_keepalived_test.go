package scenarios_test

import (
	"context"
	"os"
	"os/exec"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
)

// The catalog's VRRP lab with the system's keepalived as its routers
// (impl: {vrrp: keepalived}): the same checks pass on keepalived's own
// history (its notify FIFO), and no keepalived is left running.
var _ = Describe("VRRP labs with keepalived on real hosts (network namespaces)", Label("netns"), Ordered, func() {
	binp := netnsBinary()
	BeforeAll(func() {
		if _, err := exec.LookPath("keepalived"); err != nil {
			if os.Getenv("CI") == "true" {
				Fail("CI=true but keepalived is not installed: " + err.Error())
			}
			Skip("keepalived labs skipped: keepalived is not installed")
		}
	})
	It("vrrp-failover passes every expectation with keepalived as the routers", func() {
		lab := load("vrrp-failover", "impl={vrrp: keepalived}")
		work := GinkgoT().TempDir()
		o, err := scenarios.RunNetns(context.Background(), lab, 1, scenarios.NetnsOptions{Binary: *binp, Work: work})
		Expect(err).NotTo(HaveOccurred())
		Expect(failures(o)).To(BeEmpty())
		Expect(o.Results.Passed).To(BeTrue())
		// The transitions are keepalived's: each router's startup from
		// INIT, r2's takeover, each said by keepalived's FIFO with its
		// priority.
		var said []string
		for _, e := range o.Events {
			if e.Kind == history.KindVRRP && strings.HasPrefix(e.Reason, "keepalived: ") {
				said = append(said, e.Router+" "+e.From+">"+e.To)
				Expect(e.Priority).To(BeNumerically(">", 0), "keepalived says the priority: %+v", e)
			}
		}
		Expect(said).To(ContainElements("r1 INIT>BACKUP", "r2 INIT>BACKUP", "r1 BACKUP>MASTER", "r2 BACKUP>MASTER"))
		// Nothing of the run's keepalived processes is left (their
		// command lines name the run's work folder).
		out, err := exec.Command("pgrep", "-f", work).Output()
		Expect(err).To(HaveOccurred(), "keepalived left running: %s", out)
	})
})
