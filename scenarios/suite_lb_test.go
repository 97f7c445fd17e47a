package scenarios_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// requests returns the request events of a group sent in [from, to).
func requests(o *scenarios.Outcome, group string, from, to time.Duration) []history.Event {
	var out []history.Event
	for _, e := range o.Events {
		if e.Kind == history.KindRequest && e.Group == group && e.Start.Duration() >= from && e.Start.Duration() < to {
			out = append(out, e)
		}
	}
	return out
}

var _ = Describe("load-balancer labs", Label("sim"), func() {
	entries, err := scenarios.Catalog()
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		lab, err := scenarios.Load(e.Name, nil)
		if err != nil || lab.LB == nil {
			continue
		}
		It(e.Name+" writes a report with every load-balancer plot", func() {
			dir := GinkgoT().TempDir()
			o := run(lab, 1)
			_, err := o.Write(dir)
			Expect(err).NotTo(HaveOccurred())
			for _, plot := range []string{"latency", "percentiles", "shares", "shares_over_time", "statuses"} {
				Expect(filepath.Join(dir, plot+".png")).To(BeAnExistingFile())
				Expect(filepath.Join(dir, plot+".svg")).To(BeAnExistingFile())
			}
			hasHealth := false
			for _, ev := range o.Events {
				hasHealth = hasHealth || ev.Kind == history.KindHealth
			}
			if hasHealth {
				Expect(filepath.Join(dir, "health.png")).To(BeAnExistingFile())
			}
			page, err := os.ReadFile(filepath.Join(dir, "report.html"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(page)).To(ContainSubstring(`<svg class="plot" role="img" aria-label="latency"`))
		})
	}

	It("counts requests in flight at the end as unknown, not failed (least-conn-vs-round-robin)", func() {
		o := run(load("least-conn-vs-round-robin"), 1)
		m := o.Results.Metrics
		Expect(m["requests_unknown"]).To(BeNumerically(">", 0))
		// One name for them, never an error class.
		Expect(m).NotTo(HaveKey("requests_in_flight"))
		Expect(m).NotTo(HaveKey("errors_in_flight"))
		Expect(m["requests_failed"]).To(Equal(0))
		Expect(m["success_ratio"]).To(BeNumerically(">", 0.99))
		// The requests in flight may never finish: the mean of every
		// request is open above, so it is null beside its lower bound.
		Expect(m).To(HaveKeyWithValue("mean_ms", BeNil()))
		Expect(m["mean_lower_bound_ms"]).To(BeNumerically(">=", m["mean_finished_ms"]))
		Expect(m["mean_finished_ms"]).To(BeNumerically(">", 0))
		dir := GinkgoT().TempDir()
		_, err := o.Write(dir)
		Expect(err).NotTo(HaveOccurred())
		svg, err := os.ReadFile(filepath.Join(dir, "latency.svg"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(svg)).To(ContainSubstring("failed: 5xx or no answer (all 0)"))
		Expect(string(svg)).To(ContainSubstring("unknown: in flight at the end"))
	})

	It("gives byte-identical histories for the same seed", func() {
		lab := load("backend-crash")
		text := func(seed uint64) string {
			var b bytes.Buffer
			Expect(history.WriteJSONL(&b, run(lab, seed).Events)).To(Succeed())
			return b.String()
		}
		Expect(text(9)).To(Equal(text(9)))
		Expect(text(9)).NotTo(Equal(text(10)))
	})

	It("loses, with active checks and no retries, a third of the requests for as long as detection takes", func() {
		o := run(load("backend-crash"), 1)
		delay := metric(o, "health_down_delay_s")
		errors := float64(o.Results.Metrics["errors_active"].(int))
		expected := 100.0 / 3 * delay.Seconds() // rate × share of a3 × time to detect
		Expect(errors).To(BeNumerically("~", expected, expected*0.25))
	})

	It("answers nothing but 502 only after the third failed probe of every server", func() {
		// Each server's probes start at its phase, drawn from the seed in
		// [0, interval); its third failure comes (fall − 1) × interval = 4 s
		// later, plus a round trip (0.5 ms): no 502 may be sent before 4 s,
		// and nothing but 502 once the last server is down, by fall ×
		// interval + RTT = 6.0005 s, whatever the seed.
		lab := load("healthcheck-502")
		for seed := uint64(1); seed <= 3; seed++ {
			o := run(lab, seed)
			for _, e := range requests(o, "nginx", 0, 4*time.Second) {
				Expect(e.Status).To(Equal(200), "seed %d: request sent at %v", seed, e.Start.Duration())
			}
			for _, e := range requests(o, "nginx", 6*time.Second+500*time.Microsecond, 30*time.Second) {
				Expect(e.Status).To(Equal(502), "seed %d: request sent at %v", seed, e.Start.Duration())
				Expect(e.Error).To(Equal("no_server"))
			}
		}
	})

	It("shows nginx's smooth order for weights 5, 1, 1", func() {
		o := run(load("weighted"), 1)
		picks := o.Results.Metrics["first_picks"].(map[string][]string)
		Expect(picks["smooth"]).To(Equal([]string{"a:80", "a:80", "b:80", "a:80", "c:80", "a:80", "a:80",
			"a:80", "a:80", "b:80", "a:80", "c:80", "a:80", "a:80"}))
	})

	It("times out a hung server after proxy_read_timeout with 504, and retries it with the default policy", func() {
		lab := load("backend-crash",
			"faults[1].kind=hang", "lb.groups[1].read_timeout=2s", "lb.groups[2].read_timeout=2s",
			"faults[2].kind=hang", "expect=[]")
		o := run(lab, 1)
		var timeouts, lateOK int
		for _, e := range requests(o, "active", 20*time.Second, 25*time.Second) {
			if e.Backend == "a3:80" {
				Expect(e.Status).To(Equal(504))
				Expect(e.Error).To(Equal("timeout"))
				Expect(e.Latency.Duration()).To(BeNumerically(">=", 2*time.Second))
				timeouts++
			}
		}
		Expect(timeouts).To(BeNumerically(">", 50))
		for _, e := range requests(o, "both", 20*time.Second, 25*time.Second) {
			Expect(e.Status).To(Equal(200)) // timeout is in proxy_next_upstream: passed on
			if e.Tries > 1 {
				Expect(e.Latency.Duration()).To(BeNumerically(">=", 2*time.Second))
				lateOK++
			}
		}
		Expect(lateOK).To(BeNumerically(">", 0))
	})

	It("does not pass a sent POST on after a timeout, unless non_idempotent is on", func() {
		base := []string{"faults[2].kind=hang", "lb.groups[2].read_timeout=1s", "clients[2].method=POST", "expect=[]"}
		o := run(load("backend-crash", base...), 1)
		posts := requests(o, "both", 20*time.Second, 22*time.Second)
		failed := 0
		for _, e := range posts {
			if e.Status == 504 {
				failed++
			}
		}
		Expect(failed).To(BeNumerically(">", 0))
		o = run(load("backend-crash", append(base, "lb.groups[2].next_upstream={on: [error, timeout, non_idempotent]}")...), 1)
		for _, e := range requests(o, "both", 20*time.Second, 22*time.Second) {
			Expect(e.Status).To(Equal(200))
		}
	})

	It("runs closed-loop users: each asks again one think time after its answer", func() {
		// The whole client, as closed clients refuse the open ones' rate and arrival.
		lab := load("weighted", "clients[1]={listener: smooth, mode: closed, users: 5, think: 10ms}", "expect=[]")
		o := run(lab, 1)
		reqs := requests(o, "smooth", 0, 30*time.Second)
		// Each cycle: 1 ms to the load balancer, 250 µs to the server, 10 ms
		// of service, the way back (1.25 ms), and 10 ms of thought.
		cycle := 2*(time.Millisecond+250*time.Microsecond) + 10*time.Millisecond + 10*time.Millisecond
		want := 5 * int(30*time.Second/cycle)
		Expect(len(reqs)).To(BeNumerically("~", want, 5))
		inFlight := 0
		for _, e := range reqs {
			if e.Error == "in_flight" {
				inFlight++
			}
		}
		Expect(inFlight).To(BeNumerically("<=", 5))
	})
})

// sameBackendCrash checks a real world's figures of backend-crash (r)
// against the simulator's for the same seed (s), within what the
// physics lets them differ by.
func sameBackendCrash(s, r map[string]any) {
	// 300 requests a second for 60 s, Poisson: σ = 134; 5σ.
	ExpectWithOffset(1, r["requests_sent"]).To(BeNumerically("~", s["requests_sent"], 670))
	// The real load generator sends the simulator's arrivals for the
	// seed, and a server's checks start at the simulator's phases: each
	// group's errors are the simulator's within the issue's ±15%
	// (active: a third of 100 requests a second until detection, which
	// the real world may end a few ms apart). A count of 3 (passive: the
	// requests in flight at the crash, then one per fail_timeout) cannot
	// be held to ±0.45: two requests more or less in flight during the
	// kill (10 ms, more on a loaded machine: 5 against 3 was seen) are
	// allowed.
	within := func(group string, floor float64) {
		want, got := toFloat(s["errors_"+group]), toFloat(r["errors_"+group])
		ExpectWithOffset(2, got).To(BeNumerically("~", want, max(0.15*want, floor)), "errors_%s: simulator %v, real %v", group, want, got)
	}
	within("active", 0)
	within("passive", 2)
	ExpectWithOffset(1, r["errors_both"]).To(Equal(0))
}

// toFloat reads a metric's number (an int or a float64 of results.json).
func toFloat(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case float64:
		return n
	}
	Fail(fmt.Sprintf("metric %v (%T) is not a number", v, v))
	return 0
}

// everyServerFault plays testdata/real-faults.yaml (every fault a server
// can get) in the simulator and in world, with the lblab binary bin:
// both pass, and each fault is in the real history once.
func everyServerFault(world, bin string) {
	lab, err := labfile.LoadFile("testdata/real-faults.yaml", nil)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	sim, err := scenarios.RunSim(lab, 1)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	ExpectWithOffset(1, failures(sim)).To(BeEmpty())
	real, err := scenarios.Run(context.Background(), world, lab, 1, scenarios.Options{Binary: bin})
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	ExpectWithOffset(1, failures(real)).To(BeEmpty())
	var faults []string
	for _, e := range real.Events {
		if e.Kind == history.KindFault {
			faults = append(faults, e.Name)
		}
	}
	ExpectWithOffset(1, faults).To(HaveLen(len(lab.Faults)))
}
