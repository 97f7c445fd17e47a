package scenarios_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/testbed/netns"
)

// The catalog's VPC labs in the netns world: each lab's cloud network
// built once (BuildCloud), each reach check a real probe at t = 0 whose
// verdict and drop place come from the kernel's counters. A check passes
// for the simulator's reason: the net event's outcome code is the
// model's only when the real probe agrees (scenarios.Verdict).
var _ = Describe("the catalog's VPC labs on real hosts (network namespaces)", Label("netns"), Ordered, func() {
	BeforeAll(func() {
		if err := netns.Available(); err != nil {
			if os.Getenv("CI") == "true" {
				Fail("CI=true but the netns labs cannot run: " + err.Error())
			}
			Skip("netns labs skipped: " + err.Error())
		}
	})
	AfterAll(func() {
		// Only this process's testbeds: other runs may be going on.
		left, err := netns.Leftovers(fmt.Sprintf("%s%d-", netns.NamePrefix, os.Getpid()))
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Empty()).To(BeTrue(), "left behind: %s", left)
	})
	for _, name := range []string{"vpc-isolation", "vpc-peering", "vpc-overlap"} {
		It(name+" passes every reach check with real probes, for the simulator's reasons", func() {
			o, err := scenarios.RunNetns(context.Background(), load(name), 1, scenarios.NetnsOptions{})
			Expect(err).NotTo(HaveOccurred())
			Expect(o.Results.Mode).To(Equal("netns"))
			Expect(failures(o)).To(BeEmpty())
			sim := run(load(name), 1)
			model := map[string]history.Event{}
			for _, e := range sim.Events {
				if e.Kind == history.KindNet {
					model[e.Src+" → "+e.Dst] = e
				}
			}
			n := 0
			for _, e := range o.Events {
				if e.Kind != history.KindNet {
					continue
				}
				n++
				m, ok := model[e.Src+" → "+e.Dst]
				Expect(ok).To(BeTrue(), "no model probe for %s → %s", e.Src, e.Dst)
				Expect(e.Reason).To(Equal(m.Reason), "%s → %s", e.Src, e.Dst)
				Expect(*e.OK).To(Equal(*m.OK), "%s → %s", e.Src, e.Dst)
				// The real path holds what the counters saw, not the
				// model's hops; a drop is placed by a counter.
				Expect(e.Path).NotTo(Equal(m.Path), "%s → %s: the model's path copied", e.Src, e.Dst)
				if !*e.OK && e.Error == "timeout" {
					Expect(e.Rule).To(HavePrefix("real: "), "%s → %s", e.Src, e.Dst)
					Expect(e.Rule).NotTo(ContainSubstring("no counter says where"))
					Expect(strings.Count(e.Path, "✗")).To(Equal(1), "%s → %s: %s", e.Src, e.Dst, e.Path)
				}
			}
			Expect(n).To(Equal(len(model)), "one real probe per reach check")
		})
	}
})
