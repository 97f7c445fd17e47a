package netns_test

import (
	"fmt"
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

// pairOf starts a master (priority 150, at .11) and a backup (100, at .12)
// of the given kinds (keepalived or lblab), both of VRRP version, and
// waits until the master is the one master. Names: k1/r1 for the master,
// k2/r2 for the backup.
func pairOf(version int, masterKind, backupKind string) (*lab, *router, *router) {
	GinkgoHelper()
	name := func(kind string, n int) string { return fmt.Sprintf("%c%d", kind[0], n) }
	l := newLab()
	m := l.router(masterKind, name(masterKind, 1), "10.77.0.11/24", conf{version: version, priority: 150})
	b := l.router(backupKind, name(backupKind, 2), "10.77.0.12/24", conf{version: version, priority: 100})
	m.startFirst()
	b.start()
	m.awaitState("MASTER", 0, mdi150+3*time.Second)
	singleMaster(m, b)
	return l, m, b
}

var _ = Describe("interoperating with keepalived", Label("netns"), func() {
	BeforeEach(func() {
		if noKeepalived != "" {
			prerequisite(noKeepalived)
		}
	})

	It("VRRPv2 with PASS: lblab (100) backs up keepalived (150), takes over when it is killed, and yields when it returns", func() {
		l, k, r := pairOf(2, "keepalived", "lblab")
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
		l, r, k := pairOf(3, "lblab", "keepalived")
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

	// lblab's side of this is in vrrp_test.go (two lblab agents); here
	// keepalived shows that the model is its behaviour.
	It("keepalived goes to FAULT on its own link's loss, and preempts MDI(150) after its return, as lblab does", func() {
		l, k, r := pairOf(2, "keepalived", "lblab")
		faultPhase()
		tf := l.now()
		Expect(k.link.Down()).To(Succeed())
		tFault := k.awaitState("FAULT", tf, time.Second)
		Expect(tFault-tf).To(BeNumerically("<=", slack), "keepalived goes to FAULT as its link goes down")
		t := r.awaitState("MASTER", tf, mdi100+time.Second)
		inWindow("lblab takes over from keepalived whose link went down", t-tf, mdi100-interval-early, mdi100+slack)

		tu := l.now()
		Expect(k.link.Up()).To(Succeed())
		s := k.awaitState("BACKUP", tu, time.Second)
		Expect(s-tu).To(BeNumerically("<=", slack), "keepalived leaves FAULT as its link returns")
		m := k.awaitState("MASTER", tu, mdi150+2*time.Second)
		// Measured from tu, taken before the link came up: keepalived can
		// be BACKUP no earlier, so MASTER comes at least MDI(150) after tu.
		// Not from s: a notify stamp is late by the script's start, and by
		// more for BACKUP than for MASTER on a loaded host (seen: 14 ms),
		// which made m − s shorter than MDI.
		inWindow("keepalived back from FAULT preempts MDI(150) after its BACKUP", m-tu, mdi150-early, (s-tu)+mdi150+slack)
		// From s on: keepalived's transitions are stamped by its notify
		// script, a few ms after the fact, so lblab may step down before
		// keepalived's MASTER stamp.
		r.awaitState("BACKUP", s, time.Second)
		singleMaster(k, r)
	})
})
