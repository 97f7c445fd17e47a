package scenarios_test

import (
	"context"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// exchanges returns the request events of group, each checked to be a
// tcp exchange: status 0, an error class or none.
func exchanges(events []history.Event, group string) []history.Event {
	GinkgoHelper()
	var out []history.Event
	for _, e := range events {
		if e.Kind == history.KindRequest && e.Group == group {
			Expect(e.Status).To(BeZero(), "a tcp exchange has no status: %+v", e)
			out = append(out, e)
		}
	}
	Expect(out).NotTo(BeEmpty())
	return out
}

var _ = Describe("tcp listeners in the simulator", Label("sim"), func() {
	It("plays tcp-echo: exchanges echoed by round robin, a crash resets those r3 held and refuses one connect", func() {
		lab, err := labfile.LoadFile("testdata/tcp-echo.yaml", nil)
		Expect(err).NotTo(HaveOccurred())
		o := run(lab, 1)
		Expect(failures(o)).To(BeEmpty())
		Expect(o.Results.Passed).To(BeTrue())
		crash := 10 * time.Second
		var failed []history.Event
		after := map[string]int{}
		for _, e := range exchanges(o.Events, "redis") {
			switch {
			case e.Error == "in_flight":
			case e.Error != "":
				failed = append(failed, e)
			case e.Start.Duration() >= crash:
				after[e.Backend]++
			}
		}
		Expect(failed).NotTo(BeEmpty())
		for _, e := range failed {
			Expect(e.Error).To(Equal("reset"))
			Expect(e.Backend).To(Equal("r3:6379"))
			Expect(e.Start.Duration()).To(BeNumerically(">=", crash-50*time.Millisecond))
		}
		// The refused connect took r3 out (max_fails 1) for the rest of the run.
		Expect(after).To(HaveLen(2))
		Expect(after).To(HaveKey("r1:6379"))
		Expect(after).To(HaveKey("r2:6379"))
		passive := false
		for _, e := range o.Events {
			passive = passive || e.Kind == history.KindHealth && e.Server == "r3:6379" && e.To == "down"
		}
		Expect(passive).To(BeTrue(), "no health event takes r3 down")
	})

	It("plays container-labels' cache service, registered by a tcp:// label: scale-up loses nothing, the die event takes the killed one out", func() {
		o := run(load("container-labels"), 1)
		Expect(failures(o)).To(BeEmpty())
		said := false
		for _, x := range o.Results.Expectations {
			if strings.HasPrefix(x.Name, "cache: the die event") {
				said = strings.Contains(x.Observed, "requests with status 5xx (tcp exchanges: failed) sent in [25 s, 40 s)")
			}
		}
		Expect(said).To(BeTrue(), "the cache kill check does not say it counts failed tcp exchanges")
		got := map[string]int{}
		var failed []history.Event
		for _, e := range exchanges(o.Events, "cache") {
			s := e.Start.Duration()
			if e.Error == "" && s > 11*time.Second && s < 24*time.Second {
				got[e.Backend]++
			}
			if e.Error != "" && e.Error != "in_flight" {
				failed = append(failed, e)
			}
		}
		Expect(got).To(HaveLen(4))
		Expect(got["cache-4:6379"]).To(BeNumerically(">", 250))
		Expect(failed).NotTo(BeEmpty())
		for _, e := range failed {
			s := e.Start.Duration()
			killed := e.Backend == "cache-3:6379" && s >= 25*time.Second-50*time.Millisecond && s < 25200*time.Millisecond
			scaledDown := (e.Backend == "cache-3:6379" || e.Backend == "cache-4:6379") && s >= 40*time.Second-50*time.Millisecond &&
				s < 40200*time.Millisecond
			Expect(killed || scaledDown).To(BeTrue(), "failed exchange %+v", e)
			Expect(e.Error).To(Equal("reset"))
		}
	})

	It("fails container-labels' cache check when only its tcp health checks take the killed container out", func() {
		o := run(load("container-labels", "lb.groups[2].deregister=destroy"), 1)
		Expect(failures(o)).To(ConsistOf(ContainSubstring("cache: the die event takes the killed container out")))
	})
})

var _ = Describe("tcp listeners in a lab file", Label("sim"), func() {
	It("refuses an echo backend with a concurrency limit, at its line, with its field", func() {
		b, err := os.ReadFile("testdata/tcp-echo.yaml")
		Expect(err).NotTo(HaveOccurred())
		src := strings.Replace(string(b), `{address: "r2:6379", service:`, `{address: "r2:6379", concurrency: 4, service:`, 1)
		_, err = labfile.Parse("tcp-echo.yaml", []byte(src), nil)
		Expect(err).To(MatchError(ContainSubstring(
			"tcp-echo.yaml:21:39: backends[1].concurrency: backend r2:6379 serves tcp listener redis: the tcp echo answers every line at once")))
	})
})

var _ = Describe("tcp listeners in the worlds", Label("sim"), func() {
	It("are refused by a world that does not play them, before anything starts", func() {
		lab, err := labfile.LoadFile("testdata/tcp-echo.yaml", nil)
		Expect(err).NotTo(HaveOccurred())
		caps := scenarios.Capabilities{Roles: []scenarios.Role{scenarios.RoleProxy, scenarios.RoleBackend, scenarios.RoleClients},
			Faults: labfile.FaultKinds, LinkShaping: true}
		Expect(caps.Refuse("real", lab)).To(MatchError(ContainSubstring(
			"lab tcp-echo: the real world cannot play tcp listener redis (its clients' TCP exchanges)")))
		caps.TCPListeners = true
		Expect(caps.Refuse("real", lab)).To(Succeed())
	})
})

// realTCPEcho runs tcp-echo in the real world mode (lblab binary bin)
// and checks it as the simulator's run: every check passes, every
// exchange that ended has the proxy's side of it (its tries), and the
// failed ones are r3's, reset.
func realTCPEcho(mode, bin string) {
	GinkgoHelper()
	lab, err := labfile.LoadFile("testdata/tcp-echo.yaml", nil)
	Expect(err).NotTo(HaveOccurred())
	o, err := scenarios.Run(context.Background(), mode, lab, 1, scenarios.Options{Binary: bin})
	Expect(err).NotTo(HaveOccurred())
	Expect(failures(o)).To(BeEmpty())
	failed, unmatched, n := 0, 0, 0
	for _, e := range exchanges(o.Events, "redis") {
		if e.Error == "in_flight" {
			continue
		}
		n++
		if e.Tries == 0 {
			unmatched++
		}
		if e.Error != "" {
			failed++
			Expect(e.Error).To(Equal("reset"))
			Expect(e.Backend).To(Equal("r3:6379"))
		}
	}
	GinkgoWriter.Printf("%s: %d exchanges, %d failed, %d without the proxy's side\n", mode, n, failed, unmatched)
	Expect(n).To(BeNumerically(">", 5000))
	Expect(failed).To(BeNumerically(">=", 1))
	Expect(unmatched).To(BeZero())
}
