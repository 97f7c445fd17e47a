package scenarios_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/testbed/netns"
	"github.com/lblab/lblab/units"
)

var _ = Describe("VRRP labs on real hosts (network namespaces)", Label("netns"), Ordered, func() {
	var bin string
	BeforeAll(func() {
		if err := netns.Available(); err != nil {
			if os.Getenv("CI") == "true" {
				Fail("CI=true but the netns labs cannot run: " + err.Error())
			}
			Skip("netns labs skipped: " + err.Error())
		}
		bin = filepath.Join(GinkgoT().TempDir(), "lblab")
		build := exec.Command("go", "build", "-o", bin, "../cmd/lblab")
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "building lblab: %s", out)
	})
	AfterAll(func() {
		if bin == "" {
			return
		}
		// Only this process's testbeds: other runs may be going on.
		left, err := netns.Leftovers(fmt.Sprintf("%s%d-", netns.NamePrefix, os.Getpid()))
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Empty()).To(BeTrue(), "left behind: %s", left)
	})
	for _, name := range []string{"vrrp-failover", "vrrp-graceful-shutdown", "vrrp-preempt", "vrrp-track-script", "vrrp-track-interface"} {
		It(name+" passes every expectation on real agents", func() {
			o, err := scenarios.RunNetns(context.Background(), load(name), 1, scenarios.NetnsOptions{Binary: bin})
			Expect(err).NotTo(HaveOccurred())
			Expect(failures(o)).To(BeEmpty())
			Expect(o.Results.Mode).To(Equal("netns"))
		})
	}
	It("a unicast pair whose unicast_peer nobody holds splits its brain, as in the simulator", func() {
		lab, err := scenarios.Parse("u.yaml", []byte(unicastLab("10.77.0.91", "10.77.0.92")), nil)
		Expect(err).NotTo(HaveOccurred())
		lab.Duration = units.Of(8 * time.Second)
		o, err := scenarios.RunNetns(context.Background(), lab, 1, scenarios.NetnsOptions{Binary: bin})
		Expect(err).NotTo(HaveOccurred())
		Expect(masters(o.Events)).To(Equal([]string{"r1", "r2"}))
		Expect(o.Results.Passed).To(BeFalse())
	})
})
