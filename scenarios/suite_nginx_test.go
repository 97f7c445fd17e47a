package scenarios_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
)

// nginxOfThisRun reports whether an nginx master started by this test
// process's netns world runs (its -c names the world's work folder,
// /tmp/lblab-netns-PID-...).
func nginxOfThisRun() bool {
	err := exec.Command("pgrep", "-f", "nginx: master process .*lblab-netns-"+strconv.Itoa(os.Getpid())+"-").Run()
	return err == nil
}

var _ = Describe("nginx as the load balancer on real hosts (impl: {proxy: nginx})", Label("netns"), Ordered, func() {
	binp := netnsBinary()

	It("plays nginx-config with the system's nginx: the same expectations pass, every request has nginx's side, no nginx is left", func() {
		if _, err := exec.LookPath("nginx"); err != nil {
			if os.Getenv("CI") == "true" {
				Fail("CI=true but nginx is not installed (apt-get install nginx libnginx-mod-stream)")
			}
			Skip("nginx is not installed")
		}
		lab := load("nginx-config", "impl={proxy: nginx}")
		var seen atomic.Bool
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			for {
				select {
				case <-done:
					return
				case <-time.After(500 * time.Millisecond):
					if nginxOfThisRun() {
						seen.Store(true)
					}
				}
			}
		}()
		o, err := scenarios.RunNetns(context.Background(), lab, 1, scenarios.NetnsOptions{Binary: *binp})
		close(done)
		Expect(err).NotTo(HaveOccurred())
		Expect(seen.Load()).To(BeTrue(), "no nginx of this run was seen running")
		Expect(nginxOfThisRun()).To(BeFalse(), "nginx is left running")
		Expect(failures(o)).To(BeEmpty())
		// nginx's access log gave nearly every finished request its
		// side: the tries it made (98.9% here on a loaded machine: nginx
		// stamps in whole milliseconds, and the merge allows 10 ms). The crash of app1 with fail_timeout
		// 5s: a few requests take two tries.
		matched, finished, retried := 0, 0, 0
		for _, e := range o.Events {
			if e.Kind != history.KindRequest || e.Error == "in_flight" {
				continue
			}
			finished++
			if e.Tries > 0 {
				matched++
			} else if finished-matched <= 10 {
				GinkgoWriter.Printf("unmatched: %+v\n", e)
			}
			if e.Tries > 1 {
				retried++
			}
		}
		GinkgoWriter.Printf("%d finished, %d matched with nginx's log, %d retried; metrics %v\n", finished, matched, retried, o.Results.Metrics)
		Expect(finished).To(BeNumerically(">", 2500))
		Expect(float64(matched)).To(BeNumerically(">=", 0.97*float64(finished)))
		Expect(retried).To(BeNumerically(">", 0))
	})
})
