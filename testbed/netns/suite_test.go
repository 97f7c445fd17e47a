package netns_test

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/testbed/netns"
)

// The suite's helper processes (see helpers_test.go) run through TestMain.
func TestMain(m *testing.M) {
	if helper := os.Getenv(helperEnv); helper != "" {
		os.Exit(runHelper(helper))
	}
	os.Exit(m.Run())
}

func TestNetns(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "netns")
}

var (
	// lblabBin is the lblab binary built for the suite.
	lblabBin string
	// noKeepalived says why keepalived cannot run ("" when it can).
	noKeepalived string
	// haveArping: iputils arping is installed.
	haveArping bool
)

// prerequisite skips the suite (or, with CI=true, fails it) when
// something it needs is missing.
func prerequisite(msg string) {
	if os.Getenv("CI") == "true" {
		Fail("netns suite: " + msg + " (CI=true: a missing prerequisite is a failure)")
	}
	fmt.Println("netns suite skipped: " + msg)
	Skip("netns suite skipped: " + msg)
}

var _ = BeforeSuite(func() {
	if err := netns.Available(); err != nil {
		prerequisite(err.Error())
	}
	Expect(netns.CleanStale()).To(Succeed())
	noKeepalived = installPeers()
	if _, err := exec.LookPath("ping"); err != nil {
		prerequisite("ping (iputils-ping) is not installed")
	}
	_, err := exec.LookPath("arping")
	haveArping = err == nil
	lblabBin, err = gexec.Build("github.com/lblab/lblab/cmd/lblab")
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	gexec.CleanupBuildArtifacts()
	if netns.Available() != nil {
		return
	}
	left, err := netns.Leftovers(fmt.Sprintf("%s%d-", netns.NamePrefix, os.Getpid()))
	Expect(err).NotTo(HaveOccurred())
	Expect(left.Empty()).To(BeTrue(), "left behind: %v", left)
})

// installPeers installs keepalived, iputils-arping and iputils-ping from
// Debian's packages when missing, without letting a daemon start; it
// returns why keepalived cannot be used, or "".
func installPeers() string {
	var pkgs []string
	for cmd, pkg := range map[string]string{"keepalived": "keepalived", "arping": "iputils-arping", "ping": "iputils-ping"} {
		if _, err := exec.LookPath(cmd); err != nil {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) == 0 {
		return ""
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "keepalived is not installed and there is no apt-get"
	}
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); os.IsNotExist(err) {
		if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err == nil {
			defer os.Remove(policy)
		}
	}
	GinkgoWriter.Printf("installing %v from Debian\n", pkgs)
	install := exec.Command("apt-get", append([]string{"install", "-y", "-qq"}, pkgs...)...)
	install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := install.CombinedOutput(); err != nil {
		update := exec.Command("apt-get", "update", "-qq")
		update.Run()
		install = exec.Command("apt-get", append([]string{"install", "-y", "-qq"}, pkgs...)...)
		install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out2, err := install.CombinedOutput(); err != nil {
			GinkgoWriter.Printf("apt-get install %v: %v\n%s\n%s\n", pkgs, err, out, out2)
		}
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		return "keepalived is not installed and apt-get install keepalived failed"
	}
	return ""
}

// newTestbed makes a testbed cleaned up after the spec, whatever happens.
func newTestbed() *netns.Testbed {
	GinkgoHelper()
	tb, err := netns.New()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		Expect(tb.Cleanup()).To(Succeed())
		left, err := netns.Leftovers(tb.Prefix())
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Empty()).To(BeTrue(), "left behind: %v", left)
	})
	return tb
}

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}

// ---- VRRP theory (RFC 3768 / 5798, advert_int 1 s) ----

const (
	interval = time.Second
	// mdi100 and mdi150 are Master_Down_Interval = 3 × 1 s + (256 − p)/256 s.
	mdi100 = 3609375 * time.Microsecond
	mdi150 = 3414062 * time.Microsecond
	// skew100 is Skew_Time for priority 100: 156/256 s.
	skew100 = 609375 * time.Microsecond
	// slack is what the real world may add: scheduling, the veth, the
	// process noticing a signal.
	slack = 50 * time.Millisecond
	// early allows the master's advert gaps to exceed 1 s by its timer's
	// lateness (a few hundred µs), which can move a detection that much
	// below MDI − interval.
	early = 5 * time.Millisecond
)

var vip = netip.MustParseAddr("10.77.0.100")

// lab is one testbed with a segment, its time base and its files.
type lab struct {
	tb    *netns.Testbed
	lan   *netns.Segment
	epoch time.Time
	dir   string
}

func newLab() *lab {
	GinkgoHelper()
	// The folder first: cleanups run last-in first-out, so the testbed
	// (and the agents still writing their logs and histories into the
	// folder) is gone before the folder is removed.
	dir := GinkgoT().TempDir()
	tb := newTestbed()
	return &lab{tb: tb, lan: must(tb.AddSegment("lan")), epoch: time.Now(), dir: dir}
}

// now is the time since the lab's epoch, the agents' history time base.
func (l *lab) now() time.Duration { return time.Since(l.epoch) }

func (l *lab) host(name, addr string) (*netns.Host, *netns.Link) {
	GinkgoHelper()
	h := must(l.tb.AddHost(name))
	link := must(l.tb.Connect(h, "eth0", l.lan, netip.MustParsePrefix(addr)))
	return h, link
}

// notifyScript writes a notify script that appends "UNIXNANOS ARGS..."
// to file.
func (l *lab) notifyScript(file string) string {
	GinkgoHelper()
	path := filepath.Join(l.dir, "notify-"+filepath.Base(file)+".sh")
	script := fmt.Sprintf("#!/bin/sh\necho \"$(date +%%s%%N) $*\" >> %s\n", file)
	Expect(os.WriteFile(path, []byte(script), 0o755)).To(Succeed())
	return path
}

// conf is a keepalived.conf both lblab and keepalived run.
type conf struct {
	version  int
	priority int
	notify   string
	track    string   // a vrrp_script command, weight -60
	peers    []string // unicast_peer addresses (multicast when empty)
}

func (c conf) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  script_user root\n  vrrp_version %d\n}\n", c.version)
	if c.track != "" {
		fmt.Fprintf(&b, "vrrp_script chk {\n  script %q\n  interval 1\n  weight -60\n}\n", c.track)
	}
	fmt.Fprintf(&b, "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority %d\n  advert_int 1\n", c.priority)
	if c.version == 2 {
		b.WriteString("  authentication {\n    auth_type PASS\n    auth_pass 1111\n  }\n")
	}
	fmt.Fprintf(&b, "  virtual_ipaddress {\n    %v/24\n  }\n", vip)
	if c.track != "" {
		b.WriteString("  track_script {\n    chk\n  }\n")
	}
	if c.notify != "" {
		fmt.Fprintf(&b, "  notify %s\n", c.notify)
	}
	if len(c.peers) > 0 {
		fmt.Fprintf(&b, "  unicast_peer {\n    %s\n  }\n", strings.Join(c.peers, "\n    "))
	}
	b.WriteString("}\n")
	return b.String()
}

// router is a VRRP router of a lab: lblab or keepalived on a host.
type router struct {
	l      *lab
	name   string
	host   *netns.Host
	link   *netns.Link
	conf   string
	log    string // its stdout and stderr
	notify string // what its notify script wrote
	hist   string // lblab's history
	kind   string // "lblab" or "keepalived"
	proc   *netns.Process
}

func (l *lab) router(kind, name, addr string, c conf) *router {
	GinkgoHelper()
	r := &router{l: l, name: name, kind: kind,
		conf:   filepath.Join(l.dir, name+".conf"),
		log:    filepath.Join(l.dir, name+".log"),
		notify: filepath.Join(l.dir, name+".notify"),
		hist:   filepath.Join(l.dir, name+".jsonl")}
	r.host, r.link = l.host(name, addr)
	c.notify = l.notifyScript(r.notify)
	Expect(os.WriteFile(r.conf, []byte(c.String()), 0o644)).To(Succeed())
	return r
}

// startFirst starts the router that must win the startup election and,
// when it is lblab's, waits until it has started (BACKUP, its down timer
// running), at most processStart: a process started later cannot then
// start its timer first, however long each takes to come up on a loaded
// machine. keepalived's start is not waited for (its notify at startup
// is not relied on here).
func (r *router) startFirst() time.Duration {
	GinkgoHelper()
	t := r.start()
	if r.kind == "lblab" {
		r.awaitState("BACKUP", t, processStart)
	}
	return t
}

// processStart bounds the wait for an agent's process to start: not a
// protocol time.
const processStart = 30 * time.Second

// start starts the router; it returns the lab time just before.
func (r *router) start() time.Duration {
	GinkgoHelper()
	out, err := os.OpenFile(r.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	Expect(err).NotTo(HaveOccurred())
	defer out.Close()
	t := r.l.now()
	// Real-time, as netns.Realtime says: the windows are the protocol's,
	// not those of a machine busy with other test packages.
	var name string
	var args []string
	if r.kind == "keepalived" {
		name, args = netns.Realtime("keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
			"--use-file", r.conf, "--pid", filepath.Join(r.l.dir, r.name+".pid"), "--vrrp_pid", filepath.Join(r.l.dir, r.name+"-vrrp.pid"))
	} else {
		name, args = netns.Realtime(lblabBin, "vrrp", "--config", r.conf, "--name", r.name,
			"--history", r.hist, "--epoch", strconv.FormatInt(r.l.epoch.UnixNano(), 10))
	}
	r.proc = must(r.host.Start(out, out, name, args...))
	return t
}

// transition is a state change of a router in lab time.
type transition struct {
	t        time.Duration
	from, to string
	priority int
}

// transitions reads lblab's history, or keepalived's notify lines (which
// carry only the new state, stamped by the script).
func (r *router) transitions() []transition {
	GinkgoHelper()
	var out []transition
	if r.kind == "lblab" {
		b, err := os.ReadFile(r.hist)
		if os.IsNotExist(err) {
			return nil
		}
		Expect(err).NotTo(HaveOccurred())
		b = b[:bytes.LastIndexByte(b, '\n')+1] // a line being written
		evs, err := history.ReadJSONL(bytes.NewReader(b), r.hist)
		Expect(err).NotTo(HaveOccurred())
		for _, e := range evs {
			if e.Kind == history.KindVRRP && e.From != e.To {
				out = append(out, transition{e.T.Duration(), e.From, e.To, e.Priority})
			}
		}
		return out
	}
	f, err := os.Open(r.notify)
	if os.IsNotExist(err) {
		return nil
	}
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	sc := bufio.NewScanner(f)
	prev := "INIT"
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) != 5 || w[1] != "INSTANCE" {
			continue
		}
		ns, _ := strconv.ParseInt(w[0], 10, 64)
		prio, _ := strconv.Atoi(w[4])
		out = append(out, transition{time.Unix(0, ns).Sub(r.l.epoch), prev, w[3], prio})
		prev = w[3]
	}
	return out
}

// state is the router's last state.
func (r *router) state() string {
	GinkgoHelper()
	ts := r.transitions()
	if len(ts) == 0 {
		return "INIT"
	}
	return ts[len(ts)-1].to
}

// entered returns when the router first entered state at or after t.
func (r *router) entered(state string, after time.Duration) (time.Duration, bool) {
	GinkgoHelper()
	for _, tr := range r.transitions() {
		if tr.to == state && tr.t >= after {
			return tr.t, true
		}
	}
	return 0, false
}

// awaitState waits up to limit for the router to enter state at or after
// t, and returns when it did.
func (r *router) awaitState(state string, after, limit time.Duration) time.Duration {
	GinkgoHelper()
	var at time.Duration
	Eventually(func() bool {
		var ok bool
		at, ok = r.entered(state, after)
		return ok
	}).WithTimeout(limit).WithPolling(10*time.Millisecond).Should(BeTrue(),
		"%s did not enter %s within %v; its transitions: %+v\nlog:\n%s", r.name, state, limit, r.transitions(), r.logText())
	return at
}

func (r *router) hasVIP() bool {
	GinkgoHelper()
	return must(r.host.HasAddr("eth0", vip))
}

func (r *router) mac() net.HardwareAddr {
	GinkgoHelper()
	return must(r.link.MAC())
}

func (r *router) logText() string {
	b, _ := os.ReadFile(r.log)
	return string(b)
}

// inWindow checks a measured delay against its theoretical window and
// reports it.
func inWindow(what string, d, lo, hi time.Duration) {
	GinkgoHelper()
	AddReportEntry(what, fmt.Sprintf("%.1f ms (window %.1f–%.1f ms)", ms(d), ms(lo), ms(hi)))
	GinkgoWriter.Printf("%s: %.1f ms, window [%.1f, %.1f] ms\n", what, ms(d), ms(lo), ms(hi))
	Expect(d).To(BeNumerically(">=", lo), what)
	Expect(d).To(BeNumerically("<=", hi), what)
}

// faultPhase waits a random part of an advert interval before a fault,
// so that runs meet the master at every phase of its advert cycle and the
// measured delays spread over their window (this is not waiting for an
// outcome).
func faultPhase() { time.Sleep(rand.N(interval)) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var macInBrackets = regexp.MustCompile(`\[([0-9A-Fa-f:]{17})\]`)

// arpAnswer asks for the VIP from client and returns who answered: with
// arping when there is one, else from the neighbour table after a ping.
func arpAnswer(client *netns.Host) []net.HardwareAddr {
	GinkgoHelper()
	if haveArping {
		out, _ := client.Run("arping", "-c", "1", "-w", "2", "-I", "eth0", vip.String())
		var macs []net.HardwareAddr
		for _, m := range macInBrackets.FindAllStringSubmatch(string(out), -1) {
			macs = append(macs, must(net.ParseMAC(m[1])))
		}
		return macs
	}
	client.Run("ip", "neigh", "flush", "dev", "eth0")
	client.Run("ping", "-c", "1", "-W", "1", vip.String())
	if m := must(client.Neighbor("eth0", vip)); m != nil {
		return []net.HardwareAddr{m}
	}
	return nil
}
