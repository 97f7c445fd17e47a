package netns_test

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/testbed/netns"
)

// helperEnv makes the test binary a helper process: "signal" builds a
// testbed, cleans it up on SIGINT and waits; "leak" builds one and exits
// without cleaning up once its stdin closes; "cloud" builds a cloud
// network (vpc_test.go) and waits to be killed. Each prints the testbed's
// prefix when ready.
const helperEnv = "LBLAB_NETNS_HELPER"

func runHelper(kind string) int {
	if kind == "cloud" {
		return runCloudHelper()
	}
	tb, err := netns.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if kind == "signal" {
		netns.CleanupOnSignal(tb)
	}
	lan, err1 := tb.AddSegment("lan")
	h, err2 := tb.AddHost("h1")
	if err := firstErr(err1, err2); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if _, err := tb.Connect(h, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	// The background sleep is not the helper's child: only a cleanup that
	// looks inside the namespace finds it.
	if _, err := h.Start(nil, nil, "sh", "-c", "sleep 300 & sleep 300"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if left, _ := netns.Leftovers(tb.Prefix()); len(left.Pids) >= 2 || time.Since(start) > 5*time.Second {
			break
		}
	}
	fmt.Println(tb.Prefix())
	if kind == "leak" {
		// Exit when told: until then the testbed's owner is alive, so no
		// CleanStale (of another package's tests running meanwhile)
		// removes it before the spec has looked at it.
		io.Copy(io.Discard, os.Stdin)
		return 0
	}
	select {}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// startHelper runs a helper and returns it with its testbed's prefix and
// its stdin (closing it makes a "leak" helper exit).
func startHelper(kind string) (*exec.Cmd, string, io.WriteCloser) {
	GinkgoHelper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+kind)
	cmd.Stderr = GinkgoWriter
	in := must(cmd.StdinPipe())
	out := must(cmd.StdoutPipe())
	Expect(cmd.Start()).To(Succeed())
	DeferCleanup(func() { in.Close() }) // a second Close is harmless
	line, err := bufio.NewReader(out).ReadString('\n')
	Expect(err).NotTo(HaveOccurred(), "helper %s did not get ready", kind)
	return cmd, strings.TrimSpace(line), in
}

func pidsAlive(pids []int) []int {
	var alive []int
	for _, pid := range pids {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			s := string(b)
			if i := strings.LastIndexByte(s, ')'); i > 0 && i+2 < len(s) && s[i+2] != 'Z' {
				alive = append(alive, pid)
			}
		}
	}
	return alive
}

var _ = Describe("the testbed", Label("netns"), func() {
	It("joins hosts on a segment, cuts and restores links, and leaves nothing after Cleanup", func() {
		tb := newTestbed()
		Expect(tb.Prefix()).To(HavePrefix(fmt.Sprintf("%s%d-", netns.NamePrefix, os.Getpid())))
		lan := must(tb.AddSegment("lan"))
		a := must(tb.AddHost("a"))
		b := must(tb.AddHost("b"))
		la := must(tb.Connect(a, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
		must(tb.Connect(b, "eth0", lan, netip.MustParsePrefix("10.9.0.2/24")))
		Expect(a.NS).To(Equal(tb.Prefix() + "-a"))
		Expect(must(a.Addrs("eth0"))).To(ConsistOf(netip.MustParsePrefix("10.9.0.1/24")))

		ping := func() error { _, err := a.Run("ping", "-c", "1", "-W", "1", "10.9.0.2"); return err }
		Expect(ping()).To(Succeed())
		Expect(must(a.Neighbor("eth0", netip.MustParseAddr("10.9.0.2")))).To(Equal(must(b.MAC("eth0"))))

		By("link down: nothing passes and the host loses its carrier")
		Expect(la.Down()).To(Succeed())
		Expect(ping()).NotTo(Succeed())
		Expect(string(must(a.Run("cat", "/sys/class/net/eth0/carrier")))).To(Equal("0\n"))
		Expect(la.Up()).To(Succeed())
		Eventually(ping).WithTimeout(5 * time.Second).Should(Succeed())

		By("disconnect: nothing passes and the host sees nothing")
		Expect(la.Disconnect()).To(Succeed())
		Expect(ping()).NotTo(Succeed())
		Expect(string(must(a.Run("cat", "/sys/class/net/eth0/carrier")))).To(Equal("1\n"))
		Expect(la.Reconnect()).To(Succeed())
		Eventually(ping).WithTimeout(5 * time.Second).Should(Succeed())

		By("processes get signals and are killed by Cleanup, with their children")
		p := must(a.Start(nil, nil, "sh", "-c", "sleep 300 & sleep 300"))
		Eventually(func() int { return len(must(netns.Leftovers(tb.Prefix())).Pids) }).Should(BeNumerically(">=", 2))
		Expect(p.Pause()).To(Succeed())
		Expect(p.Resume()).To(Succeed())
		q := must(b.Start(nil, nil, "sleep", "300"))
		Expect(q.Terminate()).To(Succeed())
		Expect(q.Wait(5 * time.Second)).To(HaveOccurred()) // died of SIGTERM
		Expect(q.ExitCode()).To(Equal(-1))
		q = must(b.Start(nil, nil, "sh", "-c", "sleep 300 & sleep 300"))
		Eventually(func() int { return len(must(netns.Leftovers(b.NS)).Pids) }).Should(BeNumerically(">=", 2))
		Expect(b.Signal(syscall.SIGKILL)).To(Succeed(), "a host crash kills everything inside")
		Eventually(func() int { return len(must(netns.Leftovers(b.NS)).Pids) }).Should(BeZero())
		Expect(q.Wait(time.Second)).To(HaveOccurred())

		before := must(netns.Leftovers(tb.Prefix()))
		Expect(before.Namespaces).To(ConsistOf(tb.Prefix()+"-lan", tb.Prefix()+"-a", tb.Prefix()+"-b"))
		Expect(tb.Cleanup()).To(Succeed())
		after := must(netns.Leftovers(tb.Prefix()))
		Expect(after.Empty()).To(BeTrue(), "left behind: %v", after)
		Expect(pidsAlive(before.Pids)).To(BeEmpty())
		Expect(p.Wait(time.Second)).To(HaveOccurred())
		Expect(tb.Cleanup()).To(Succeed(), "a second Cleanup is harmless")
		_, err := tb.AddHost("c")
		Expect(err).To(HaveOccurred(), "a cleaned-up testbed makes nothing more")
	})

	It("cleans up once: Cleanups at once each return when everything is gone, the work folder too", func() {
		tb := newTestbed()
		lan := must(tb.AddSegment("lan"))
		h := must(tb.AddHost("h1"))
		must(tb.Connect(h, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
		must(h.Start(nil, nil, "sh", "-c", "sleep 300 & sleep 300"))
		work := must(tb.WorkDir())
		Expect(work).To(HavePrefix(filepath.Join(os.TempDir(), netns.WorkPrefix+strings.TrimPrefix(tb.Prefix(), netns.NamePrefix)+"-")))
		Expect(must(tb.WorkDir())).To(Equal(work), "one folder per testbed")
		Eventually(func() int { return len(must(netns.Leftovers(tb.Prefix())).Pids) }).Should(BeNumerically(">=", 2))
		before := must(netns.Leftovers(tb.Prefix()))
		Expect(before.Folders).To(ConsistOf(work))
		// As a signal handler and the run's own deferred cleanup would.
		seen := make(chan netns.Remains, 2)
		for range 2 {
			go func() {
				defer GinkgoRecover()
				Expect(tb.Cleanup()).To(Succeed())
				seen <- must(netns.Leftovers(tb.Prefix()))
			}()
		}
		for range 2 {
			left := <-seen
			Expect(left.Empty()).To(BeTrue(), "a Cleanup returned before everything was gone: %v", left)
		}
		Expect(pidsAlive(before.Pids)).To(BeEmpty())
	})

	It("cleans up everything when its process gets SIGINT", func() {
		cmd, prefix, _ := startHelper("signal")
		before := must(netns.Leftovers(prefix))
		Expect(before.Namespaces).To(HaveLen(2))
		Expect(len(before.Pids)).To(BeNumerically(">=", 2))
		Expect(cmd.Process.Signal(syscall.SIGINT)).To(Succeed())
		err := cmd.Wait()
		Expect(err).To(HaveOccurred())
		Expect(cmd.ProcessState.Sys().(syscall.WaitStatus).Signal()).To(Equal(syscall.SIGINT), "dies of the signal after cleaning up")
		after := must(netns.Leftovers(prefix))
		Expect(after.Empty()).To(BeTrue(), "left behind: %v", after)
		Expect(pidsAlive(before.Pids)).To(BeEmpty())
	})

	It("CleanStale removes what a dead run left behind and spares live runs", func() {
		live := newTestbed()
		must(live.AddHost("mine"))
		cmd, prefix, stdin := startHelper("leak")
		// Looked at while the helper still runs: once it is gone, any
		// CleanStale (the scenarios package's tests call it too, maybe
		// right now) may remove its remains.
		before := must(netns.Leftovers(prefix))
		Expect(before.Namespaces).To(HaveLen(2), "the run leaves its namespaces")
		Expect(before.Pids).NotTo(BeEmpty(), "and a process inside")
		Expect(stdin.Close()).To(Succeed())
		Expect(cmd.Wait()).To(Succeed())
		Expect(netns.CleanStale()).To(Succeed())
		after := must(netns.Leftovers(prefix))
		Expect(after.Empty()).To(BeTrue(), "left behind: %v", after)
		Expect(pidsAlive(before.Pids)).To(BeEmpty())
		Expect(must(netns.Leftovers(live.Prefix())).Namespaces).To(ConsistOf(live.Prefix()+"-mine"), "a live run is spared")
	})
})
