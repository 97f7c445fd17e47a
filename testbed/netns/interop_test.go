package netns_test

import (
	"net"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func macs(m ...net.HardwareAddr) []net.HardwareAddr { return m }

// singleMaster checks for a while that master holds the VIP and is
// MASTER, and backup is BACKUP without it.
func singleMaster(master, backup *router) {
	GinkgoHelper()
	Eventually(func() bool { return master.hasVIP() }).WithTimeout(time.Second).Should(BeTrue(), "the master adds the VIP")
	Consistently(func(g Gomega) {
		g.Expect(master.state()).To(Equal("MASTER"))
		g.Expect(backup.state()).To(Equal("BACKUP"))
		g.Expect(must(master.host.HasAddr("eth0", vip))).To(BeTrue())
		g.Expect(must(backup.host.HasAddr("eth0", vip))).To(BeFalse())
	}).WithTimeout(1500*time.Millisecond).WithPolling(100*time.Millisecond).Should(Succeed(),
		"%s log:\n%s\n%s log:\n%s", master.name, master.logText(), backup.name, backup.logText())
}

var _ = Describe("interoperating with keepalived", Label("netns"), func() {
	BeforeEach(func() {
		if noKeepalived != "" {
			prerequisite(noKeepalived)
		}
	})

	It("VRRPv2 with PASS: lblab (100) backs up keepalived (150), takes over when it is killed, and yields when it returns", func() {
		l := newLab()
		k := l.router("keepalived", "k1", "10.77.0.11/24", conf{version: 2, priority: 150})
		r := l.router("lblab", "r2", "10.77.0.12/24", conf{version: 2, priority: 100})
		k.start()
		r.start()
		k.awaitState("MASTER", 0, mdi150+3*time.Second)
		singleMaster(k, r)

		faultPhase()
		tf := l.now()
		Expect(k.proc.Kill()).To(Succeed())
		t := r.awaitState("MASTER", tf, mdi100+time.Second)
		inWindow("v2: SIGKILL of keepalived (master): lblab takes over", t-tf, mdi100-interval-early, mdi100+slack)

		ts := k.start()
		k.awaitState("MASTER", ts, mdi150+3*time.Second)
		r.awaitState("BACKUP", ts, time.Second)
		singleMaster(k, r)
		Expect(k.logText()).To(ContainSubstring("received lower priority (100) advert from 10.77.0.12"), "keepalived read lblab's VRRPv2 adverts")
		Expect(r.logText()).NotTo(ContainSubstring("drop:"), "lblab discarded none of keepalived's adverts")
	})

	It("VRRPv3: keepalived (100) backs up lblab (150), takes over when it is killed, and yields when it returns", func() {
		l := newLab()
		r := l.router("lblab", "r1", "10.77.0.11/24", conf{version: 3, priority: 150})
		k := l.router("keepalived", "k2", "10.77.0.12/24", conf{version: 3, priority: 100})
		k.start()
		r.start()
		r.awaitState("MASTER", 0, mdi150+3*time.Second)
		singleMaster(r, k)

		faultPhase()
		tf := l.now()
		Expect(r.proc.Kill()).To(Succeed())
		t := k.awaitState("MASTER", tf, mdi100+time.Second)
		inWindow("v3: SIGKILL of lblab (master): keepalived takes over", t-tf, mdi100-interval-early, mdi100+slack)

		ts := r.start()
		r.awaitState("MASTER", ts, mdi150+3*time.Second)
		k.awaitState("BACKUP", ts, time.Second)
		singleMaster(r, k)
		Expect(k.logText()).To(ContainSubstring("Master received advert from 10.77.0.11 with higher priority 150, ours 100"),
			"keepalived read lblab's VRRPv3 adverts (pseudo-header checksum)")
		Expect(r.logText()).NotTo(ContainSubstring("drop:"), "lblab discarded none of keepalived's VRRPv3 adverts")
	})
})

var _ = Describe("link tracking, against keepalived", Label("netns"), func() {
	BeforeEach(func() {
		if noKeepalived != "" {
			prerequisite(noKeepalived)
		}
	})

	// faultAndBack cuts the master's link: it must go to FAULT at once
	// (netlink tells it the carrier went), the backup take over as after a
	// silent death, and on the link's return the old master go to BACKUP
	// and preempt one MDI(150) later, from a fresh down timer.
	faultAndBack := func(l *lab, master, backup *router) {
		GinkgoHelper()
		faultPhase()
		tf := l.now()
		Expect(master.link.Down()).To(Succeed())
		tFault := master.awaitState("FAULT", tf, time.Second)
		Expect(tFault-tf).To(BeNumerically("<=", slack), "%s goes to FAULT as its link goes down", master.name)
		t := backup.awaitState("MASTER", tf, mdi100+time.Second)
		inWindow(backup.name+" takes over from "+master.name+" whose link went down", t-tf, mdi100-interval-early, mdi100+slack)

		tu := l.now()
		Expect(master.link.Up()).To(Succeed())
		s := master.awaitState("BACKUP", tu, time.Second)
		Expect(s-tu).To(BeNumerically("<=", slack), "%s leaves FAULT as its link returns", master.name)
		m := master.awaitState("MASTER", tu, mdi150+2*time.Second)
		inWindow(master.name+" back from FAULT preempts MDI(150) after its BACKUP", m-s, mdi150, mdi150+slack)
		// From s on: keepalived's transitions are stamped by its notify
		// script, a few ms after the fact, so the backup may step down
		// before the master's stamp.
		backup.awaitState("BACKUP", s, time.Second)
		singleMaster(master, backup)
	}

	// lblab's side of the same is in vrrp_test.go (two lblab agents); this
	// checks that keepalived does what the model says.
	It("keepalived goes to FAULT on its own link's loss, and preempts MDI(150) after its return, as lblab does", func() {
		l := newLab()
		k := l.router("keepalived", "k1", "10.77.0.11/24", conf{version: 2, priority: 150})
		r := l.router("lblab", "r2", "10.77.0.12/24", conf{version: 2, priority: 100})
		k.start()
		r.start()
		k.awaitState("MASTER", 0, mdi150+3*time.Second)
		singleMaster(k, r)
		By("keepalived (150) loses its link")
		faultAndBack(l, k, r)
	})
})
