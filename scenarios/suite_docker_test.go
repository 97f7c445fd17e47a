package scenarios_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/testbed/dockerbed"
)

// dockerBound bounds a docker run's build (the image found by its hash,
// two networks and containers: about a second) and its cleanup (the
// agents get a second to stop, then the containers are removed).
const dockerBound = 60 * time.Second

// dockerBinary skips the specs (with CI=true: fails them) when no Docker
// engine answers, and builds the static lblab binary their images hold;
// it returns where the binary is, and checks after the specs that this
// process left no container or network behind.
func dockerBinary() *string {
	var bin string
	BeforeAll(func() {
		if err := dockerbed.Available(); err != nil {
			if os.Getenv("CI") == "true" {
				Fail("CI=true but the docker labs cannot run: " + err.Error())
			}
			Skip("docker labs skipped: " + err.Error())
		}
		// A FROM scratch image needs a statically linked lblab.
		bin = filepath.Join(GinkgoT().TempDir(), "lblab")
		build := exec.Command("go", "build", "-o", bin, "../cmd/lblab")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "building lblab: %s", out)
	})
	AfterAll(func() {
		if bin == "" {
			return
		}
		// Only this process's runs: other runs may be going on.
		left, err := dockerbed.LeftoversOf(context.Background(), os.Getpid())
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Empty()).To(BeTrue(), "left behind: %s", left)
	})
	return &bin
}

// startDockerRun starts lblab run lab --mode docker and waits until at
// least containers of its containers and its one network exist.
func startDockerRun(bin, lab, out string, containers int) *exec.Cmd {
	cmd := exec.Command(bin, "run", lab, "--mode", "docker", "--out", out)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	Expect(cmd.Start()).To(Succeed())
	DeferCleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	Eventually(func() dockerbed.Remains {
		r, err := dockerbed.LeftoversOf(context.Background(), cmd.Process.Pid)
		Expect(err).NotTo(HaveOccurred())
		return r
	}).WithTimeout(dockerBound).WithPolling(100*time.Millisecond).Should(
		And(HaveField("Containers", WithTransform(func(c []string) int { return len(c) }, BeNumerically(">=", containers))),
			HaveField("Networks", HaveLen(1))), "the run's containers; output: %s", &stderr)
	return cmd
}

var _ = Describe("VRRP labs in Docker containers", Label("docker"), Ordered, func() {
	binp := dockerBinary()
	var bin string
	BeforeAll(func() { bin = *binp })
	for _, name := range []string{"vrrp-failover", "vrrp-graceful-shutdown"} {
		// Label lb: these runs measure the agents' start within 50 ms of
		// each other, which the engine missed beside the other packages'
		// tests (773 ms in a CI run): the test task runs them alone, with
		// the load-balancer labs.
		It(name+" passes every expectation on real agents in containers, with the netns tolerances", Label("lb"), func() {
			o, err := scenarios.Run(context.Background(), "docker", load(name), 1, scenarios.Options{Binary: bin})
			Expect(err).NotTo(HaveOccurred())
			Expect(failures(o)).To(BeEmpty())
			Expect(o.Results.Mode).To(Equal("docker"))
			expectBootsTogether(load(name), o.Events)
			sim := run(load(name), 1)
			GinkgoWriter.Printf("%s failover_s: docker %.6f, sim %.6f\n", name, o.Results.Metrics["failover_s"], sim.Results.Metrics["failover_s"])
			left, err := dockerbed.LeftoversOf(context.Background(), os.Getpid())
			Expect(err).NotTo(HaveOccurred())
			Expect(left.Empty()).To(BeTrue(), "left behind: %s", left)
		})
	}

	// vrrp-failover has two containers; backend-crash has one holder
	// container per host (13) and one per role (13): killed with 20 or
	// more, it is building or running.
	for _, c := range []struct {
		lab        string
		containers int
	}{{"vrrp-failover", 2}, {"backend-crash", 20}} {
		It(c.lab+": a run killed with SIGKILL leaves containers and a network that lblab clean removes, and only those of gone runs", func() {
			dir := GinkgoT().TempDir()
			cmd := startDockerRun(bin, c.lab, filepath.Join(dir, "out"), c.containers)
			pid := cmd.Process.Pid
			out, err := exec.Command(bin, "clean", "--pid", strconv.Itoa(pid)).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), "%s", out)
			Expect(string(out)).To(ContainSubstring("nothing to clean"))
			Expect(string(out)).To(ContainSubstring("kept"))
			live, err := dockerbed.LeftoversOf(context.Background(), pid)
			Expect(err).NotTo(HaveOccurred())
			Expect(len(live.Containers)).To(BeNumerically(">=", c.containers), "lblab clean touched a live run")

			Expect(cmd.Process.Kill()).To(Succeed())
			_ = cmd.Wait()
			left, err := dockerbed.LeftoversOf(context.Background(), pid)
			Expect(err).NotTo(HaveOccurred())
			Expect(left.Empty()).To(BeFalse(), "a SIGKILL leaves the run's containers and network")

			out, err = exec.Command(bin, "clean", "--pid", strconv.Itoa(pid)).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), "%s", out)
			Expect(string(out)).To(ContainSubstring("removed docker containers"))
			left, err = dockerbed.LeftoversOf(context.Background(), pid)
			Expect(err).NotTo(HaveOccurred())
			Expect(left.Empty()).To(BeTrue(), "after lblab clean: %s", left)
			folders, err := filepath.Glob(filepath.Join(os.TempDir(), dockerbed.WorkPrefix+strconv.Itoa(pid)+"-*"))
			Expect(err).NotTo(HaveOccurred())
			Expect(folders).To(BeEmpty(), "the killed run's work folder")
		})
	}

	It("a run stopped by SIGINT removes its containers and network and still writes its results, interrupted", func() {
		dir := GinkgoT().TempDir()
		cmd := startDockerRun(bin, "vrrp-failover", filepath.Join(dir, "out"), 2)
		Expect(cmd.Process.Signal(syscall.SIGINT)).To(Succeed())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		Eventually(done).WithTimeout(dockerBound).Should(Receive())
		Expect(cmd.ProcessState.ExitCode()).To(Equal(130))
		left, err := dockerbed.LeftoversOf(context.Background(), cmd.Process.Pid)
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Empty()).To(BeTrue(), "left behind: %s", left)
		b, err := os.ReadFile(filepath.Join(dir, "out", "results.json"))
		Expect(err).NotTo(HaveOccurred())
		var r reports.Results
		Expect(json.Unmarshal(b, &r)).To(Succeed())
		Expect(r.Interrupted).To(BeTrue())
		Expect(r.Passed).To(BeFalse())
	})
})

var _ = Describe("load-balancer labs in Docker containers", Label("docker", "lb"), Ordered, func() {
	binp := dockerBinary()

	It("backend-crash passes every expectation in containers, with the figures of the simulator and of netns", func() {
		lab := load("backend-crash")
		sim := run(lab, 1)
		Expect(failures(sim)).To(BeEmpty())
		real, err := scenarios.Run(context.Background(), "docker", lab, 1, scenarios.Options{Binary: *binp})
		Expect(err).NotTo(HaveOccurred())
		Expect(failures(real)).To(BeEmpty())
		Expect(real.Results.Mode).To(Equal("docker"))
		GinkgoWriter.Printf("sim %v\ndocker %v\n", sim.Results.Metrics, real.Results.Metrics)
		sameBackendCrash(sim.Results.Metrics, real.Results.Metrics)
		left, err := dockerbed.LeftoversOf(context.Background(), os.Getpid())
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Empty()).To(BeTrue(), "left behind: %s", left)
	})

	It("healthcheck-502 passes every expectation in containers", func() {
		o, err := scenarios.Run(context.Background(), "docker", load("healthcheck-502"), 1, scenarios.Options{Binary: *binp})
		Expect(err).NotTo(HaveOccurred())
		Expect(failures(o)).To(BeEmpty())
	})

	It("applies every fault a server can get (health_fail, health_ok, hang, power_off, slow, restore) as the simulator does", func() {
		everyServerFault("docker", *binp)
	})

	// 84 s of wall time here (60 s of lab, a dozen containers): CI's
	// representative of the container-label registration. Its cache p99
	// (18 ms here) needs the cores to itself: the test task runs this
	// package before the others.
	It("container-labels passes in containers: the proxy learns the replicas from the engine, no request fails on scale-up", func() {
		o, err := scenarios.Run(context.Background(), "docker", load("container-labels"), 1, scenarios.Options{Binary: *binp})
		Expect(err).NotTo(HaveOccurred())
		// Scale-up at 10 s: every request sent until 24 s (the lab's
		// checks: one sent later may meet the kill at 25 s) was answered,
		// and the new containers (web-3, web-4, ...) answered their share
		// of it, named as the simulator names them.
		got := map[string]int{}
		for _, e := range o.Events {
			if e.Kind != history.KindRequest || e.Start.Duration() >= 24*time.Second || e.Error == "in_flight" {
				continue
			}
			Expect(e.Error).To(BeEmpty(), "a request failed before the kill: %+v", e)
			if e.Start.Duration() >= 11*time.Second {
				got[e.Backend]++
			}
		}
		GinkgoWriter.Printf("answered in [11 s, 24 s) by server: %v\n", got)
		for _, s := range []string{"web-%d:80", "hc-%d:80", "cache-%d:6379"} {
			for i := 1; i <= 4; i++ {
				Expect(got).To(HaveKeyWithValue(fmt.Sprintf(s, i), BeNumerically(">", 100)))
			}
		}
		scales := 0
		for _, e := range o.Events {
			if e.Kind == history.KindFault && e.Fault == "scale" {
				scales++
			}
		}
		Expect(scales).To(Equal(6))
		Expect(failures(o)).To(BeEmpty())
		left, err := dockerbed.LeftoversOf(context.Background(), os.Getpid())
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Empty()).To(BeTrue(), "left behind: %s", left)
	})

	// Not yet seen to pass here (a load average of 9 to 16 from other
	// work: p99 55 ms to 400 ms, 8 to 12 exchanges reset at the crash):
	// slow until it has on an idle machine.
	It("plays tcp-echo's tcp listener: every exchange echoed and matched with the proxy's session, the crash resets r3's", Label("slow"), func() {
		if os.Getenv(slowEnv) != "1" {
			Skip("a slow real-host lab: " + slowEnv + "=1 runs it (go tool task test:slow)")
		}
		realTCPEcho("docker", *binp)
	})

	for _, name := range []string{"backup-server", "ip-hash-behind-proxy", "least-conn-vs-round-robin",
		"nginx-config", "sticky-session", "weighted"} {
		It(name+" passes every expectation in containers", Label("slow"), func() {
			if os.Getenv(slowEnv) != "1" {
				Skip("a slow real-host lab: " + slowEnv + "=1 runs it (go tool task test:slow)")
			}
			o, err := scenarios.Run(context.Background(), "docker", load(name), 1, scenarios.Options{Binary: *binp})
			Expect(err).NotTo(HaveOccurred())
			Expect(failures(o)).To(BeEmpty())
		})
	}
})
