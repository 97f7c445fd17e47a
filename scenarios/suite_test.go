package scenarios_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/vrrpsim"
)

func TestLabs(t *testing.T) {
	RegisterFailHandler(Fail)
	suite, reporter := GinkgoConfiguration()
	if f := os.Getenv(labelFilterEnv); f != "" {
		// Joined with -ginkgo.label-filter, which it narrows.
		if suite.LabelFilter != "" {
			f = "(" + suite.LabelFilter + ") && (" + f + ")"
		}
		suite.LabelFilter = f
	}
	RunSpecs(t, "Labs", suite, reporter)
}

// labelFilterEnv names a Ginkgo label filter for the lab suites, given
// by the environment because go test ./... passes no -args to one
// package alone: the test task runs the real-host load-balancer labs
// (labels lb and netns or docker), which measure latency, apart from
// everything else.
const labelFilterEnv = "LBLAB_LABEL_FILTER"

// mdi is Master_Down_Interval for priority 100 and 1 s: 3 + 156/256 s.
const mdi = 3609375 * time.Microsecond

// latency is the one-way delay of the catalog labs' LAN.
const latency = 100 * time.Microsecond

func load(name string, sets ...string) *labfile.Lab {
	GinkgoHelper()
	lab, err := scenarios.Load(name, sets)
	Expect(err).NotTo(HaveOccurred())
	return lab
}

func run(lab *labfile.Lab, seed uint64) *scenarios.Outcome {
	GinkgoHelper()
	o, err := scenarios.RunSim(lab, seed)
	Expect(err).NotTo(HaveOccurred())
	return o
}

func metric(o *scenarios.Outcome, name string) time.Duration {
	GinkgoHelper()
	v, ok := o.Results.Metrics[name].(float64)
	Expect(ok).To(BeTrue(), "metric %s missing from %v", name, o.Results.Metrics)
	return time.Duration(v*1e9 + 0.5)
}

func failures(o *scenarios.Outcome) []string {
	var bad []string
	for _, e := range o.Results.Expectations {
		if !e.Passed {
			bad = append(bad, e.Name+": observed "+e.Observed+", expected "+e.Expected)
		}
	}
	return bad
}

var _ = Describe("the catalog in the simulator", Label("sim"), func() {
	entries, err := scenarios.Catalog()
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		It(e.Name+" passes every expectation with seed 1", func() {
			o := run(load(e.Name), 1)
			Expect(failures(o)).To(BeEmpty())
			Expect(o.Results.Passed).To(BeTrue())
		})
	}

	It("records the adverts a wrong password discards, one vrrp_stats event per router, and the report tables them", func() {
		o := run(load("vrrp-failover", "vrrp.vrrp_instance[1].authentication.auth_pass=2222"), 1)
		var stats []history.Event
		for _, e := range o.Events {
			if e.Kind == history.KindVRRPStats {
				stats = append(stats, e)
			}
		}
		Expect(stats).To(HaveLen(2))
		for _, e := range stats {
			Expect(e.Counter).To(Equal("auth_failure"))
			Expect(e.Count).To(BeNumerically(">", 5))
		}
		dir := GinkgoT().TempDir()
		_, err := o.Write(dir)
		Expect(err).NotTo(HaveOccurred())
		page, err := os.ReadFile(filepath.Join(dir, "report.html"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(page)).To(ContainSubstring("<th>adverts discarded: cause</th>"))
		Expect(string(page)).To(ContainSubstring("<td>auth_failure</td><td class=\"num\">r2</td>"))
		// Agreeing routers discard nothing, and their history has no such event.
		for _, e := range run(load("vrrp-failover"), 1).Events {
			Expect(e.Kind).NotTo(Equal(history.KindVRRPStats))
		}
	})

	It("gives byte-identical histories for the same seed and different ones for another", func() {
		lab := load("vrrp-failover")
		text := func(seed uint64) string {
			var b bytes.Buffer
			Expect(history.WriteJSONL(&b, run(lab, seed).Events)).To(Succeed())
			return b.String()
		}
		Expect(text(42)).To(Equal(text(42)))
		Expect(text(42)).NotTo(Equal(text(43)))
	})

	// Every catalog lab, on a few seeds, run after run and side by side
	// (a sweep runs seeds on all cores, sharing the lab): the history and
	// results.json must come out byte for byte the same. Seed 7 of
	// nginx-config and seed 2 of backend-crash and backup-server reset
	// several requests at one crash, whose retries a map used to order.
	It("gives byte-identical histories and results in every catalog lab, run after run and side by side", func() {
		entries, err := scenarios.Catalog()
		Expect(err).NotTo(HaveOccurred())
		type key struct {
			lab  string
			seed uint64
		}
		labs := map[string]*labfile.Lab{}
		var keys []key
		for _, e := range entries {
			labs[e.Name] = load(e.Name)
			for _, seed := range []uint64{1, 2, 7} {
				keys = append(keys, key{e.Name, seed})
			}
		}
		encode := func(k key) ([]byte, error) {
			o, err := scenarios.RunSim(labs[k.lab], k.seed)
			if err != nil {
				return nil, err
			}
			var b bytes.Buffer
			if err := history.WriteJSONL(&b, o.Events); err != nil {
				return nil, err
			}
			res, err := json.Marshal(o.Results)
			return append(b.Bytes(), res...), err
		}
		ref := map[key][]byte{}
		for _, k := range keys {
			text, err := encode(k)
			Expect(err).NotTo(HaveOccurred())
			ref[k] = text
		}
		var diffs []string
		compare := func(k key, how string, text []byte) {
			if d := firstDifference(ref[k], text); d != "" {
				diffs = append(diffs, fmt.Sprintf("%s seed %d, %s: %s", k.lab, k.seed, how, d))
			}
		}
		for _, k := range keys {
			text, err := encode(k)
			Expect(err).NotTo(HaveOccurred())
			compare(k, "second run", text)
		}
		// Side by side: every lab and seed twice more, on more workers
		// than cores, each run compared as it ends.
		jobs := append(slices.Clone(keys), keys...)
		var mu sync.Mutex
		var wg sync.WaitGroup
		var next atomic.Int64
		for range max(2, runtime.GOMAXPROCS(0)+1) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < len(jobs); i = int(next.Add(1) - 1) {
					text, err := encode(jobs[i])
					mu.Lock()
					if err != nil {
						diffs = append(diffs, fmt.Sprintf("%s seed %d: %v", jobs[i].lab, jobs[i].seed, err))
					} else {
						compare(jobs[i], "concurrent run", text)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		Expect(diffs).To(BeEmpty())
	})
})

var _ = Describe("VRRP timing against the RFC", Label("sim"), func() {
	It("takes over from a silent master within [MDI − interval, MDI] + latency, on every seed", func() {
		sw, err := scenarios.RunSweep(context.Background(), load("vrrp-failover"), 1, 300, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(sw.Values).To(HaveLen(300))
		for _, v := range sw.Values {
			d := time.Duration(v*1e9 + 0.5)
			Expect(d).To(BeNumerically(">=", mdi-time.Second+latency))
			Expect(d).To(BeNumerically("<=", mdi+latency))
		}
		Expect(sw.Results.Metrics["ks_distance"]).To(BeNumerically("<", 0.08)) // 300 runs: 5% critical value 0.078
		Expect(sw.Results.Passed).To(BeTrue())
	})

	It("detects the death as late as MDI when the crash comes just after an advert", func() {
		// r1 becomes master at 3.414062 s and sends at 3.414062 + k s; a
		// crash 1 µs after the advert of 10.414062 s is seen MDI later,
		// counted from that advert's arrival.
		o := run(load("vrrp-failover", "faults[0].at=10.414063s", "faults[0].jitter=0s"), 1)
		Expect(metric(o, "failover_s")).To(Equal(mdi + latency - time.Microsecond))
	})

	It("hands over after Skew_Time plus latency on a clean stop", func() {
		o := run(load("vrrp-graceful-shutdown"), 1)
		Expect(metric(o, "failover_s")).To(Equal(609375*time.Microsecond + latency))
	})

	It("preempts MDI(150) after the old master boots, and not with nopreempt", func() {
		o := run(load("vrrp-preempt"), 1)
		Expect(metric(o, "preempt_s")).To(Equal(3*time.Second + 414062*time.Microsecond))
		Expect(failures(o)).To(BeEmpty())
	})

	It("fails the nopreempt check if preemption is turned back on", func() {
		o := run(load("vrrp-preempt", "vrrp.vrrp_instance[2].nopreempt=false"), 1)
		Expect(o.Results.Passed).To(BeFalse())
		Expect(failures(o)).To(ContainElement(ContainSubstring("with nopreempt r3 does not take the address back")))
	})

	It("elects the larger address when priorities tie", func() {
		o := run(load("vrrp-failover", "vrrp.vrrp_instance[1].priority=150", "faults=[]", "expect=[]"), 1)
		masters := map[string]bool{}
		for _, e := range o.Events {
			if e.Kind == history.KindVRRP && e.To == "MASTER" {
				masters[e.Router] = true
			}
		}
		// Both time out together at startup; r2 (10.77.0.12) wins the tie.
		Expect(masters).To(HaveKey("r2"))
		last := map[string]string{}
		for _, e := range o.Events {
			if e.Kind == history.KindVRRP {
				last[e.Router] = e.To
			}
		}
		Expect(last).To(Equal(map[string]string{"r1": "BACKUP", "r2": "MASTER"}))
	})

	It("leaves the VIP with the old master on a partition: both are master", func() {
		lab := load("vrrp-failover", "faults[0].kind=partition", "faults[0].target=lan", "faults[0].groups=[[r1], [r2]]",
			"faults[0].jitter=0s", "expect=[]")
		o := run(lab, 1)
		last := map[string]string{}
		for _, e := range o.Events {
			if e.Kind == history.KindVRRP {
				last[e.Router] = e.To
			}
		}
		// A cut between the switches is silent: r1 keeps believing it is
		// master, r2 takes over.
		Expect(last).To(Equal(map[string]string{"r1": "MASTER", "r2": "MASTER"}))
	})

	It("puts a master whose own link goes down in FAULT at once, and lets it preempt when the link returns", func() {
		lab := load("vrrp-failover",
			"faults=[{name: cut, at: 10s, kind: link_down, target: r1}, {name: mend, at: 15s, kind: link_up, target: r1}]",
			"expect=[{name: r2 takes over, failover: {fault: cut, by: r2, window: theory}}]")
		o := run(lab, 1)
		Expect(failures(o)).To(BeEmpty())
		var r1 []string
		var fault, backup, master time.Duration
		for _, e := range o.Events {
			if e.Kind != history.KindVRRP || e.Router != "r1" || e.From == e.To {
				continue
			}
			r1 = append(r1, e.To)
			switch {
			case e.To == "FAULT":
				fault = e.T.Duration()
				Expect(e.Reason).To(Equal("interface eth0 down"))
			case e.From == "FAULT":
				backup = e.T.Duration()
			case e.To == "MASTER":
				master = e.T.Duration()
			}
		}
		// keepalived hears the carrier go through netlink: FAULT with the
		// fault itself, BACKUP with the link's return, and MASTER one
		// Master_Down_Interval (of priority 150) later, r2's adverts
		// (priority 100) being ignored meanwhile.
		Expect(r1).To(Equal([]string{"BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"}))
		Expect(fault).To(Equal(10 * time.Second))
		Expect(backup).To(Equal(15 * time.Second))
		Expect(master).To(Equal(15*time.Second + vrrpsim.MasterDownInterval(2, 150, time.Second)))
	})

	It("hands over after Skew_Time when a weight-0 tracked uplink faults a master whose LAN is alive", func() {
		o := run(load("vrrp-track-interface", "vrrp.vrrp_instance[0].track_interface=[eth1]", "faults[0].jitter=0s"), 1)
		Expect(failures(o)).To(BeEmpty())
		// FAULT at the cut; the priority-0 adverts cross the LAN, and r2
		// waits only Skew_Time(100).
		Expect(o.Results.Metrics["failover_s"]).To(Equal((vrrpsim.SkewTime(2, 100, time.Second) + latency).Seconds()))
	})

	It("refuses a theory window for a link cut that moves no priority past the backup's", func() {
		// At validation: the theory is known before the run.
		_, err := scenarios.Load("vrrp-track-interface", []string{`vrrp.vrrp_instance[0].track_interface=["eth1 weight -20"]`})
		Expect(err).To(MatchError(ContainSubstring("expect[0].failover: a link_down of r1:eth1 does not take r1's priority below r2's 100")))
	})

	It("treats a frozen master (SIGSTOP) as dead, and lets it win again the moment it thaws", func() {
		o := run(load("vrrp-failover",
			"faults=[{name: freeze, at: 10s, jitter: 1s, kind: pause, target: r1}, {name: thaw, at: 16s, kind: resume, target: r1}]",
			"expect=[{name: r2 takes over, failover: {fault: freeze, by: r2, window: theory}}]"), 1)
		Expect(failures(o)).To(BeEmpty())
		var stepDown time.Duration
		for _, e := range o.Events {
			if e.Kind == history.KindVRRP && e.Router == "r2" && e.From == "MASTER" && e.To == "BACKUP" {
				stepDown = e.T.Duration()
			}
		}
		// On SIGCONT the overdue advert timer fires at once: r2 hears
		// priority 150 one link latency later and yields.
		Expect(stepDown).To(Equal(16*time.Second + latency))
	})
})

// firstDifference describes where b first departs from a, line by line
// ("" when they are equal).
func firstDifference(a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return fmt.Sprintf("line %d differs:\n  %s\n  %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("%d lines, then %d", len(la), len(lb))
}
