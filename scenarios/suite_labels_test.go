package scenarios_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

var _ = Describe("container-labels", Label("sim"), func() {
	// errors counts the failed requests of group sent in [from, to).
	errors := func(events []history.Event, group string, from, to time.Duration) int {
		n := 0
		for _, e := range events {
			if e.Kind == history.KindRequest && e.Group == group && e.Status >= 500 &&
				e.Start.Duration() >= from && e.Start.Duration() < to {
				n++
			}
		}
		return n
	}

	It("passes at seed 1: scale-up loses nothing, the die event costs a handful of errors, health checks alone many more", func() {
		o := run(load("container-labels"), 1)
		Expect(failures(o)).To(BeEmpty())
		Expect(o.Results.Passed).To(BeTrue())
		web, hc := errors(o.Events, "web", 25*time.Second, 40*time.Second), errors(o.Events, "hc", 25*time.Second, 40*time.Second)
		GinkgoWriter.Printf("kill: web (discovery) %d errors, hc (health checks only) %d\n", web, hc)
		Expect(web * 10).To(BeNumerically("<", hc))
		// The new containers took their share after the scale-up.
		got := map[string]int{}
		for _, e := range o.Events {
			if e.Kind == history.KindRequest && e.Group == "web" && e.Start.Duration() > 11*time.Second && e.Start.Duration() < 24*time.Second {
				got[e.Backend]++
			}
		}
		Expect(got).To(HaveLen(4))
		Expect(got["web-4:80"]).To(BeNumerically(">", 250))
		Expect(errors(o.Events, "web", 0, 24*time.Second)).To(BeZero())
	})

	It("fails its checks without discovery's die event (web deregistered on destroy only)", func() {
		o := run(load("container-labels", "lb.groups[0].deregister=destroy"), 1)
		Expect(o.Results.Passed).To(BeFalse())
		Expect(failures(o)).To(ContainElement(ContainSubstring("web: the die event takes the killed container out")))
	})

	It("fails its checks when the event takes as long as the health checks", func() {
		o := run(load("container-labels", "network.discovery_delay=6s"), 1)
		Expect(failures(o)).To(ContainElement(ContainSubstring("web: the die event takes the killed container out")))
	})

	It("is refused by the worlds that cannot run its services (netns; docker runs them), before anything starts", func() {
		_, err := scenarios.Run(context.Background(), "netns", load("container-labels"), 1, scenarios.Options{})
		Expect(err).To(MatchError(ContainSubstring("the netns world cannot")))
		Expect(scenarios.CheckWorld("docker", load("container-labels"))).To(Succeed())
		// A world playing every role without scale faults is refused the services.
		caps := scenarios.Capabilities{Roles: []scenarios.Role{scenarios.RoleProxy, scenarios.RoleBackend, scenarios.RoleClients},
			Faults: []labfile.FaultKind{labfile.FaultCrash, labfile.FaultRestore}}
		Expect(caps.Refuse("real", load("container-labels"))).To(MatchError(ContainSubstring("cannot run the lab's services")))
	})
})
