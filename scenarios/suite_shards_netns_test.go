package scenarios_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// measured are the figures of a real run that vary from run to run: every
// decimal number (delays, their summaries, KS distances).
var measured = regexp.MustCompile(`-?\d+\.\d+(e-?\d+)?`)

var _ = Describe("a sweep on real hosts in shards", Label("netns", "slow"), Ordered, func() {
	binp := netnsBinary()
	It("merges 4 shards of 2 seeds into one sweep of those 8 seeds, equal in all but the measured times", func() {
		if os.Getenv(slowEnv) != "1" {
			Skip("a slow real-host sweep (16 runs, about 6 minutes): " + slowEnv + "=1 runs it (go tool task test:slow)")
		}
		bin := *binp
		lblab := func(args ...string) {
			GinkgoHelper()
			out, err := exec.Command(bin, args...).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), "lblab %v:\n%s", args, out)
		}
		dir := GinkgoT().TempDir()
		one, shards, merged := filepath.Join(dir, "one"), filepath.Join(dir, "shards"), filepath.Join(dir, "merged")
		lblab("run", "vrrp-failover", "--mode", "netns", "--seeds", "8", "--out", one)
		// One shard at a time: a real world's timing must not share the machine.
		for i := range 4 {
			lblab("run", "vrrp-failover", "--mode", "netns", "--seeds", "8", "--shard-size", "2", "--shard-index", strconv.Itoa(i), "--out", shards)
		}
		dirs, err := filepath.Glob(filepath.Join(shards, "shard-*"))
		Expect(err).NotTo(HaveOccurred())
		Expect(dirs).To(HaveLen(4))
		lblab(append([]string{"merge", "-o", merged}, dirs...)...)
		for _, f := range []string{"results.json", "seeds.jsonl"} {
			a, err := os.ReadFile(filepath.Join(one, f))
			Expect(err).NotTo(HaveOccurred())
			b, err := os.ReadFile(filepath.Join(merged, f))
			Expect(err).NotTo(HaveOccurred())
			Expect(measured.ReplaceAllString(string(b), "#")).To(Equal(measured.ReplaceAllString(string(a), "#")), f)
			Expect(string(b)).To(MatchRegexp(`"mode": ?"netns"`), f)
		}
	})
})
