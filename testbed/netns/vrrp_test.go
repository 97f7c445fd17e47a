package netns_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/testbed/netns"
)

var _ = Describe("two lblab agents on one segment (VRRPv2, PASS, VRID 51, priorities 150 and 100, advert_int 1)", Label("netns"), Ordered, func() {
	var (
		l      *lab
		r1, r2 *router
		c1     *netns.Host
		flag   string // r1's track script fails while this file exists
	)

	BeforeAll(func() {
		l = newLab()
		flag = filepath.Join(l.dir, "r1-check-fails")
		r1 = l.router("lblab", "r1", "10.77.0.11/24", conf{version: 2, priority: 150, track: "test ! -e " + flag})
		r2 = l.router("lblab", "r2", "10.77.0.12/24", conf{version: 2, priority: 100})
		c1, _ = l.host("c1", "10.77.0.21/24")
		r1.startFirst()
		r2.start()
	})

	AfterAll(func() {
		for _, r := range []*router{r1, r2} {
			Expect(r.logText()).NotTo(ContainSubstring("drop:"), "%s discarded a packet", r.name)
		}
	})

	// clientSees waits for c1's neighbour entry of the VIP to become mac
	// without c1 sending anything: the new master's gratuitous ARP does it.
	clientSees := func(r *router, limit time.Duration) {
		GinkgoHelper()
		Eventually(func() string { return must(c1.Neighbor("eth0", vip)).String() }).
			WithTimeout(limit).WithPolling(10*time.Millisecond).Should(Equal(r.mac().String()), "c1's ARP entry for the VIP")
	}

	It("agree on one master, r1, MDI(150) after it starts, with the VIP on its interface only", func() {
		t1 := r1.awaitState("MASTER", 0, mdi150+3*time.Second)
		s1 := must2(r1.entered("BACKUP", 0))
		inWindow("r1 becomes master after startup (MDI(150))", t1-s1, mdi150, mdi150+slack)
		Eventually(func() bool { return r1.hasVIP() }).WithTimeout(time.Second).Should(BeTrue())
		Consistently(func(g Gomega) {
			g.Expect(r2.state()).To(Equal("BACKUP"))
			g.Expect(r1.state()).To(Equal("MASTER"))
			g.Expect(must(r1.host.HasAddr("eth0", vip))).To(BeTrue())
			g.Expect(must(r2.host.HasAddr("eth0", vip))).To(BeFalse())
		}).WithTimeout(1500 * time.Millisecond).WithPolling(100 * time.Millisecond).Should(Succeed())
		notify := string(must(os.ReadFile(r1.notify)))
		Expect(notify).To(MatchRegexp(`\d+ INSTANCE VI_1 BACKUP 150\n\d+ INSTANCE VI_1 MASTER 150\n`), "notify runs with keepalived's arguments")
		_, err := c1.Run("ping", "-c", "1", "-W", "1", vip.String())
		Expect(err).NotTo(HaveOccurred())
		Expect(must(c1.Neighbor("eth0", vip))).To(Equal(r1.mac()))
	})

	It("moves the master when r1's track script fails (weight −60: 150 → 90), and back when it passes", func() {
		tf := l.now()
		Expect(os.WriteFile(flag, nil, 0o644)).To(Succeed())
		// The script notices within an interval; r1 then advertises 90,
		// which r2 discards; r2 times out MDI(100) after r1's last 150.
		t2 := r2.awaitState("MASTER", tf, 2*interval+mdi100+time.Second)
		Expect(t2 - tf).To(BeNumerically("<=", 2*interval+mdi100+slack))
		Expect(priorityEvents(r1, tf)).To(ContainElement(90))
		r1.awaitState("BACKUP", tf, 2*time.Second)
		clientSees(r2, time.Second)

		to := l.now()
		Expect(os.Remove(flag)).To(Succeed())
		t1 := r1.awaitState("MASTER", to, interval+mdi150+time.Second)
		Expect(t1 - to).To(BeNumerically("<=", interval+mdi150+2*slack))
		Expect(priorityEvents(r1, to)).To(ContainElement(150))
		r2.awaitState("BACKUP", to, interval+mdi150+time.Second)
		clientSees(r1, time.Second)
		Eventually(func() bool { return r2.hasVIP() }).Should(BeFalse())
	})

	It("takes over a master whose link goes down within [MDI − 1 s, MDI] + 50 ms, and moves the VIP's MAC", func() {
		Expect(r1.state()).To(Equal("MASTER"))
		faultPhase()
		tf := l.now()
		Expect(r1.link.Down()).To(Succeed())
		// r1 sees its carrier go (netlink) and goes to FAULT at once, as
		// keepalived does; its priority-0 advert dies with the link.
		tFault := r1.awaitState("FAULT", tf, time.Second)
		Expect(tFault - tf).To(BeNumerically("<=", slack))
		Eventually(func() bool { return r1.hasVIP() }).WithTimeout(time.Second).Should(BeFalse(), "FAULT drops the VIP")
		t2 := r2.awaitState("MASTER", tf, mdi100+time.Second)
		inWindow("link down of the master: r2 takes over", t2-tf, mdi100-interval-early, mdi100+slack)
		clientSees(r2, time.Second)
		Expect(arpAnswer(c1)).To(Equal(macs(r2.mac())), "the VIP answers ARP with r2's MAC")

		By("link up again: r1 goes to BACKUP and preempts MDI(150) later")
		tu := l.now()
		Expect(r1.link.Up()).To(Succeed())
		s1 := r1.awaitState("BACKUP", tu, 2*time.Second)
		t1 := r1.awaitState("MASTER", tu, mdi150+2*time.Second)
		inWindow("r1 back from FAULT preempts (MDI(150) after its link returned)", t1-s1, mdi150, mdi150+slack)
		r2.awaitState("BACKUP", t1, time.Second)
		Eventually(func() bool { return r2.hasVIP() }).Should(BeFalse())
		Expect(r1.hasVIP()).To(BeTrue())
		clientSees(r1, 2*time.Second)
	})

	It("takes over a SIGKILLed master within [MDI − 1 s, MDI] + 50 ms; a restarted r1 clears the leftover VIP and preempts after MDI(150)", func() {
		faultPhase()
		tf := l.now()
		Expect(r1.proc.Kill()).To(Succeed())
		t2 := r2.awaitState("MASTER", tf, mdi100+time.Second)
		inWindow("SIGKILL of the master: r2 takes over", t2-tf, mdi100-interval-early, mdi100+slack)
		Expect(r1.hasVIP()).To(BeTrue(), "a killed agent leaves its VIP behind")
		clientSees(r2, time.Second)

		ts := r1.start()
		Eventually(func() bool { return r1.hasVIP() }).WithTimeout(2*time.Second).Should(BeFalse(), "removed at start")
		s1 := r1.awaitState("BACKUP", ts, 2*time.Second)
		t1 := r1.awaitState("MASTER", ts, mdi150+2*time.Second)
		inWindow("restarted r1 preempts (MDI(150) after its start)", t1-s1, mdi150, mdi150+slack)
		r2.awaitState("BACKUP", t1, time.Second)
		clientSees(r1, time.Second)
	})

	It("hands over on SIGTERM within Skew_Time + 50 ms; r1 removes its VIP, runs notify STOP and exits 0", func() {
		Expect(r1.state()).To(Equal("MASTER"))
		tf := l.now()
		Expect(r1.proc.Terminate()).To(Succeed())
		t2 := r2.awaitState("MASTER", tf, skew100+time.Second)
		inWindow("SIGTERM of the master: r2 takes over (Skew_Time(100))", t2-tf, skew100, skew100+slack)
		Expect(r1.proc.Wait(5*time.Second)).To(Succeed(), "exit status 0")
		Expect(r1.hasVIP()).To(BeFalse())
		Expect(r1.state()).To(Equal("STOP"))
		// Notify scripts run concurrently, as keepalived's do: the MASTER
		// one of r1's last takeover, just before, may append its line
		// after STOP's. The agent waits for its STOP notifies before it
		// exits, so the line is there now.
		Expect(notifiedAfter(r1, tf)).To(ContainElement("STOP 150"))
		clientSees(r2, time.Second)
		Expect(arpAnswer(c1)).To(Equal(macs(r2.mac())))
	})
})

// notifiedAfter lists the "STATE PRIORITY" of the lines r's notify
// script wrote (stamped by the script) at or after t.
func notifiedAfter(r *router, after time.Duration) []string {
	GinkgoHelper()
	var out []string
	for _, line := range strings.Split(string(must(os.ReadFile(r.notify))), "\n") {
		w := strings.Fields(line)
		if len(w) != 5 || w[1] != "INSTANCE" {
			continue
		}
		ns, err := strconv.ParseInt(w[0], 10, 64)
		if err == nil && time.Unix(0, ns).Sub(r.l.epoch) >= after {
			out = append(out, w[3]+" "+w[4])
		}
	}
	return out
}

// priorityEvents lists the priorities r's history moved to after t.
func priorityEvents(r *router, after time.Duration) []int {
	GinkgoHelper()
	b := must(os.ReadFile(r.hist))
	evs := must(history.ReadJSONL(bytes.NewReader(b), r.hist))
	var ps []int
	for _, e := range evs {
		if e.Kind == history.KindVRRP && e.From == e.To && e.T.Duration() >= after {
			ps = append(ps, e.Priority)
		}
	}
	return ps
}

func must2[T any](v T, ok bool) T {
	GinkgoHelper()
	Expect(ok).To(BeTrue())
	return v
}

var _ = Describe("two lblab agents with unicast peers (VRRPv3, priorities 150 and 100)", Label("netns"), func() {
	It("agree on one master and hand over on SIGTERM within Skew_Time + 50 ms", func() {
		l := newLab()
		r1 := l.router("lblab", "r1", "10.77.0.11/24", conf{version: 3, priority: 150, peers: []string{"10.77.0.12"}})
		r2 := l.router("lblab", "r2", "10.77.0.12/24", conf{version: 3, priority: 100, peers: []string{"10.77.0.11"}})
		r1.startFirst()
		r2.start()
		r1.awaitState("MASTER", 0, mdi150+3*time.Second)
		singleMaster(r1, r2)
		tf := l.now()
		Expect(r1.proc.Terminate()).To(Succeed())
		t2 := r2.awaitState("MASTER", tf, skew100+time.Second)
		inWindow("unicast v3: SIGTERM of the master: r2 takes over (Skew_Time(100))", t2-tf, skew100, skew100+slack)
		Expect(r1.proc.Wait(5 * time.Second)).To(Succeed())
		for _, r := range []*router{r1, r2} {
			Expect(r.logText()).NotTo(ContainSubstring("drop"), "%s discarded a packet", r.name)
		}
	})
})
