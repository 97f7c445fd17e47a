package scenarios_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
)

// Pair C of ha-pair-nginx-dies in the simulator: the seed's restarting
// check_nginx.sh (restart_wait) finds no nginx, cannot start it
// (start_fails), stops keepalived, and c-lb2 takes over after the
// script's detection + wait + Skew_Time; when the restart works, the
// VIP stays and the users' outage is the detection alone.
var _ = Describe("a vrrp_script that restarts the proxy (check_nginx.sh)", Label("sim"), func() {
	It("stops the agent when the restart fails: c-lb1 leaves with priority 0, c-lb2 takes over in the theory window, for 20 seeds", func() {
		lab := load("ha-pair-nginx-dies")
		for seed := uint64(1); seed <= 20; seed++ {
			o := run(lab, seed)
			Expect(failures(o)).To(BeEmpty(), "seed %d", seed)
			var crash, stop, takeover history.Stamp
			for _, e := range o.Events {
				switch {
				case e.Kind == history.KindFault && e.Name == "c nginx dies":
					crash = e.T
				case e.Kind == history.KindVRRP && e.Router == "c-lb1" && e.From == "MASTER" && stop == 0:
					stop = e.T
				case e.Kind == history.KindVIP && e.Owner == "c-lb2" && takeover == 0:
					takeover = e.T
				}
			}
			Expect(crash).To(BeNumerically(">", 0), "seed %d: no crash of c-lb1's proxy", seed)
			// The script's run finds nginx gone within one interval (2 s),
			// then waits 2 s before it stops keepalived.
			Expect((stop - crash).Duration()).To(BeNumerically(">=", 2*time.Second), "seed %d", seed)
			Expect((stop - crash).Duration()).To(BeNumerically("<=", 4*time.Second), "seed %d", seed)
			skew := time.Duration(float64(time.Second) * (256 - 90) / 256)
			Expect((takeover - stop).Duration()).To(BeNumerically("~", skew, time.Millisecond), "seed %d", seed)
		}
	})

	It("leaves the VIP where it is when the restart works: client-c's outage is the detection, at most one interval", func() {
		lab := load("ha-pair-nginx-dies", "faults[2].start_fails=false", "expect=[]")
		o := run(lab, 1)
		var crash, back history.Stamp
		for _, e := range o.Events {
			if e.Kind == history.KindFault && e.Name == "c nginx dies" {
				crash = e.T
			}
			if e.Kind == history.KindVRRP && e.Router == "c-lb2" && e.To == "MASTER" {
				Fail("c-lb2 became master though nginx restarted")
			}
			if e.Kind == history.KindRequest && e.Src == "client-c" && e.Answer == "c-lb1" && crash > 0 && e.Start > crash && back == 0 {
				back = e.Start
			}
		}
		Expect(back).To(BeNumerically(">", crash), "c-lb1 never served client-c again")
		Expect((back - crash).Duration()).To(BeNumerically("<=", 2*time.Second+100*time.Millisecond))
	})
})

// A restarting script's wait must be shorter than its timeout (the
// agent kills the script in its sleep otherwise), it runs only on a
// proxy host, and start_fails is a proxy_crash's field.
func TestRestartScriptRefused(t *testing.T) {
	src := catalogSource(t, "ha-pair-nginx-dies")
	wantOneError(t, src, "", "vrrp.vrrp_script.check_nginx_sh.restart_wait", "agent kills the script",
		"vrrp.vrrp_script.check_nginx_sh.timeout=2s")
	wantOneError(t, src, "", "faults[0].start_fails", "only proxy_crash faults do",
		"faults[0]={name: a nginx dies, at: 6s, kind: crash, target: a-lb1, start_fails: true}")
}
