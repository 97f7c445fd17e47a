// Package netns is a small test bed of Linux network namespaces for labs
// that run the real lblab binaries (and peers such as keepalived) on one
// machine: L2 segments (a bridge in a namespace of its own), hosts (a
// namespace each) joined to segments by veth pairs, faults (link down,
// disconnect, signals to processes), and a cleanup that removes
// everything it made.
//
// Every name starts with NamePrefix and the testbed's own prefix,
// lbl-<pid>-<n>, so parallel runs never collide and leftovers can be
// found, with their owner (the process <pid>); a testbed's work folder is
// <tmp>/lblab-netns-<pid>-<n>-*. Clean removes what processes that are
// gone left behind (namespaces with the processes inside, links, work
// folders), or everything (CleanOptions.All).
// Nothing is created in the caller's network namespace: both ends of each
// veth pair are made directly in their namespaces.
//
// The faults of a lab map onto it as: crash = Host.Signal(SIGKILL) (every
// process of the host dies at once, leaving its addresses configured);
// clean stop = Process.Terminate; pause/resume = Process.Pause/Resume;
// link_down/link_up = Link.Down/Up (the host sees its carrier go);
// partition/heal = Link.Disconnect/Reconnect (the host sees nothing);
// a link's latency, jitter and loss = Link.Shape (netem, where the
// kernel has it: NetemAvailable), also changed at run time; a client
// population's source addresses = Link.AddAddrs with Link.RouteAll.
//
// Testbed.Cloud builds a cloud network on the same namespaces (vpc.go):
// VPC routers, vSwitches (segments), instances (hosts), peering
// connections, route tables, security groups and whitelists (nftables
// tables inside the namespaces, so the same cleanup removes them).
//
// It needs root and iproute2 (Available says why not).
package netns

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
)

// NamePrefix starts the name of every namespace and link a testbed makes.
const NamePrefix = "lbl-"

// WorkPrefix starts the name of a testbed's work folder (see
// Testbed.WorkDir) in os.TempDir(): lblab-netns-<pid>-<n>-<random>.
const WorkPrefix = "lblab-netns-"

// BridgeName is the bridge's name inside a segment's namespace.
const BridgeName = "br0"

// nsDir is where ip netns keeps its named namespaces.
const nsDir = "/run/netns"

var (
	counter   atomic.Int64
	validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,30}$`)
	validIf   = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,15}$`)
)

// Available returns nil when testbeds can be built here: running as root
// with the ip command of iproute2. Otherwise it says what is missing.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the ip command (iproute2) is not installed")
	}
	return nil
}

// Testbed owns the namespaces, links and processes it made.
type Testbed struct {
	prefix string

	mu     sync.Mutex
	nss    []*namespace
	procs  []*Process
	work   string // the work folder, "" until WorkDir makes it
	closed bool
	// cloud is the testbed's cloud network (Cloud, vpc.go), nil until
	// asked for; closers close what lives in its namespaces without a
	// process (listening sockets), first thing in Cleanup.
	cloud   *Cloud
	closers []func() error

	cleanup    sync.Once
	cleanupErr error
}

type namespace struct {
	name  string
	inode uint64 // nsfs inode: finds the processes inside even after deletion
}

// Segment is an L2 segment: a bridge in a namespace of its own.
type Segment struct {
	tb *Testbed
	// Name is the segment's name in the lab; NS its namespace.
	Name, NS string
	// fw holds the rules of its firewall (Block, firewall.go).
	fwMu sync.Mutex
	fw   map[fwRule]bool
}

// Host is a network namespace standing for one machine.
type Host struct {
	tb *Testbed
	// Name is the host's name in the lab; NS its namespace.
	Name, NS string
}

// Link is a veth pair joining a host's interface to a segment's bridge.
type Link struct {
	Host    *Host
	Segment *Segment
	// Iface is the interface's name in the host; Port the other end's
	// name in the segment (the host's name, then a number if needed).
	Iface, Port string
	// Addr is the interface's address.
	Addr netip.Prefix
}

// New makes an empty testbed with a prefix of its own, lbl-<pid>-<n>.
func New() (*Testbed, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	return &Testbed{prefix: fmt.Sprintf("%s%d-%d", NamePrefix, os.Getpid(), counter.Add(1))}, nil
}

// Prefix is the start of every namespace name of the testbed.
func (tb *Testbed) Prefix() string { return tb.prefix }

// WorkDir returns the testbed's work folder, made on the first call in
// os.TempDir() as lblab-netns-<pid>-<n>-<random> (its owner's pid in the
// name, for Clean) and removed by Cleanup.
func (tb *Testbed) WorkDir() (string, error) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.closed {
		return "", errors.New("netns: testbed already cleaned up")
	}
	if tb.work == "" {
		dir, err := os.MkdirTemp("", workPrefix(tb.prefix)+"-*")
		if err != nil {
			return "", fmt.Errorf("netns: work folder: %w", err)
		}
		tb.work = dir
	}
	return tb.work, nil
}

// workPrefix is the start of the work folders' names of the testbeds
// whose names start with prefix.
func workPrefix(prefix string) string { return WorkPrefix + strings.TrimPrefix(prefix, NamePrefix) }

// AddSegment makes an L2 segment: namespace <prefix>-<name> holding the
// bridge br0, up.
func (tb *Testbed) AddSegment(name string) (*Segment, error) {
	ns, err := tb.addNamespace(name)
	if err != nil {
		return nil, err
	}
	s := &Segment{tb: tb, Name: name, NS: ns}
	if err := ipCmd("-n", ns, "link", "add", "name", BridgeName, "type", "bridge"); err != nil {
		return nil, err
	}
	// No STP and no forwarding delay: a port forwards as soon as it is up.
	if err := ipCmd("-n", ns, "link", "set", "dev", BridgeName, "type", "bridge", "forward_delay", "0", "stp_state", "0"); err != nil {
		return nil, err
	}
	if err := ipCmd("-n", ns, "link", "set", "dev", BridgeName, "up"); err != nil {
		return nil, err
	}
	return s, nil
}

// AddHost makes a host: namespace <prefix>-<name> with its loopback up
// and IPv4 forwarding off (net.ipv4.ip_forward 0, as Linux boots): a lab
// host is not a router, whatever the machine's own setting, which a new
// namespace copies (a Docker host has it on). A host that forwarded
// would pass a packet for an address it gave up (a VIP after its VRRP
// router left MASTER) on to the address's new holder, where the
// simulator and a plain host drop it.
func (tb *Testbed) AddHost(name string) (*Host, error) {
	ns, err := tb.addNamespace(name)
	if err != nil {
		return nil, err
	}
	if err := ipCmd("-n", ns, "link", "set", "dev", "lo", "up"); err != nil {
		return nil, err
	}
	h := &Host{tb: tb, Name: name, NS: ns}
	if err := h.Do(func() error { return os.WriteFile(ipForward, []byte("0\n"), 0o644) }); err != nil {
		return nil, fmt.Errorf("netns: host %s: forwarding off: %w", name, err)
	}
	return h, nil
}

// ipForward is the sysctl of IPv4 forwarding, for the namespace of the
// thread that opens it (all of its interfaces, and those to come).
const ipForward = "/proc/sys/net/ipv4/ip_forward"

func (tb *Testbed) addNamespace(name string) (string, error) {
	if !validName.MatchString(name) {
		return "", fmt.Errorf("netns: bad name %q (lower-case letters, digits, - and _, at most 31)", name)
	}
	ns := tb.prefix + "-" + name
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.closed {
		return "", errors.New("netns: testbed already cleaned up")
	}
	for _, n := range tb.nss {
		if n.name == ns {
			return "", fmt.Errorf("netns: %s exists already", name)
		}
	}
	if err := ipCmd("netns", "add", ns); err != nil {
		return "", err
	}
	n := &namespace{name: ns}
	var st syscall.Stat_t
	if err := syscall.Stat(nsDir+"/"+ns, &st); err == nil {
		n.inode = st.Ino
	}
	remember(tb.prefix, 0, n.inode)
	tb.nss = append(tb.nss, n)
	return ns, nil
}

// Connect joins host to segment with a veth pair: iface in the host, with
// address addr, and a port on the segment's bridge, both up.
func (tb *Testbed) Connect(h *Host, iface string, s *Segment, addr netip.Prefix) (*Link, error) {
	if !validIf.MatchString(iface) {
		return nil, fmt.Errorf("netns: bad interface name %q", iface)
	}
	if !addr.IsValid() {
		return nil, fmt.Errorf("netns: %s:%s needs an address", h.Name, iface)
	}
	port := portName(h.Name, s)
	l := &Link{Host: h, Segment: s, Iface: iface, Port: port, Addr: addr}
	steps := [][]string{
		{"-n", h.NS, "link", "add", "name", iface, "type", "veth", "peer", "name", port, "netns", s.NS},
		{"-n", s.NS, "link", "set", "dev", port, "master", BridgeName, "up"},
		{"-n", h.NS, "addr", "add", addr.String(), "dev", iface},
		{"-n", h.NS, "link", "set", "dev", iface, "up"},
	}
	for _, st := range steps {
		if err := ipCmd(st...); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// portName is a free name for host's port in segment s (at most 15 bytes).
func portName(host string, s *Segment) string {
	base := host
	if len(base) > 12 {
		base = base[:12]
	}
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name = base + strconv.Itoa(i)
		}
		if exec.Command("ip", "-n", s.NS, "link", "show", "dev", name).Run() != nil {
			return name
		}
	}
}

// Down sets the segment's end of the link down, like a cable pulled at
// the switch: nothing passes and the host sees its carrier go. It is one
// netlink request from this process (not an ip command, which takes
// milliseconds to start under load), so the link is down within
// microseconds of Down returning: callers stamp faults around it.
func (l *Link) Down() error { return l.setPort(false) }

// Up undoes Down (also one netlink request).
func (l *Link) Up() error { return l.setPort(true) }

// setPort sets the segment's end of the link up or down.
func (l *Link) setPort(up bool) error {
	nl, err := handleIn(l.Segment.NS)
	if err != nil {
		return err
	}
	defer nl.Close()
	port, err := nl.LinkByName(l.Port)
	if err != nil {
		return fmt.Errorf("%s:%s: %w", l.Segment.NS, l.Port, err)
	}
	if up {
		err = nl.LinkSetUp(port)
	} else {
		err = nl.LinkSetDown(port)
	}
	if err != nil {
		return fmt.Errorf("%s:%s: set up=%v: %w", l.Segment.NS, l.Port, up, err)
	}
	return nil
}

// Disconnect takes the port off the bridge but leaves it up: nothing
// passes and the host sees no change at all (a partition further away).
func (l *Link) Disconnect() error {
	return ipCmd("-n", l.Segment.NS, "link", "set", "dev", l.Port, "nomaster")
}

// Reconnect undoes Disconnect.
func (l *Link) Reconnect() error {
	return ipCmd("-n", l.Segment.NS, "link", "set", "dev", l.Port, "master", BridgeName, "up")
}

// MAC is the hardware address of the host's interface.
func (l *Link) MAC() (net.HardwareAddr, error) { return l.Host.MAC(l.Iface) }

// Command makes `ip netns exec NS name args...` in a process group of its
// own. It is killed (Pdeathsig) if the OS thread that starts it dies, so
// that a crashed test leaves no orphan: do not start processes from a
// goroutine that locks its thread and exits locked.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Run runs name with args in the host and returns its combined output.
func (h *Host) Run(name string, args ...string) ([]byte, error) {
	out, err := h.Command(name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(args, " "), h.Name, err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// Start starts name with args in the host, in a process group of its
// own, with stdout and stderr going where given (nil: discarded). The
// testbed kills it on Cleanup.
func (h *Host) Start(stdout, stderr io.Writer, name string, args ...string) (*Process, error) {
	h.tb.mu.Lock()
	defer h.tb.mu.Unlock()
	if h.tb.closed {
		return nil, errors.New("netns: testbed already cleaned up")
	}
	cmd := h.Command(name, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s in %s: %w", name, h.Name, err)
	}
	p := &Process{Host: h, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	h.tb.procs = append(h.tb.procs, p)
	remember(h.tb.prefix, p.Pid(), 0)
	return p, nil
}

// Realtime returns the command that runs name with args under the
// real-time round-robin policy (chrt --rr 1), or name and args unchanged
// where that cannot be done (no chrt, or no right to use it).
//
// Labs start the routers under test so (keepalived has vrrp_rt_priority
// for the same reason): their timers then fire on time even when other
// processes (the other test packages of a CI run, a build) keep every
// CPU busy, and a real run measures the protocol rather than the
// machine's load. Round-robin at the lowest real-time priority cannot
// lock up the machine: the kernel keeps 5% of each second for the rest.
func Realtime(name string, args ...string) (string, []string) {
	rtOnce.Do(func() { rtOK = exec.Command("chrt", "--rr", "1", "true").Run() == nil })
	if !rtOK {
		return name, args
	}
	return "chrt", append([]string{"--rr", "1", name}, args...)
}

var (
	rtOnce sync.Once
	rtOK   bool
)

// Signal sends sig to every process in the host's namespace (SIGKILL: the
// host crashes; SIGSTOP/SIGCONT: it freezes and thaws).
func (h *Host) Signal(sig syscall.Signal) error {
	ino := nsInode(h.NS)
	if ino == 0 {
		return fmt.Errorf("netns: host %s has no namespace", h.Name)
	}
	var errs []error
	for _, pid := range pidsIn(map[uint64]bool{ino: true}) {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// handle opens a netlink handle inside the host's namespace.
func (h *Host) handle() (*netlink.Handle, error) { return handleIn(h.NS) }

// handleIn opens a netlink handle inside the named namespace.
func handleIn(name string) (*netlink.Handle, error) {
	ns, err := vns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

// Addrs returns the IPv4 addresses of the host's interface (a netlink
// query inside the namespace).
func (h *Host) Addrs(iface string) ([]netip.Prefix, error) {
	nl, err := h.handle()
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	link, err := nl.LinkByName(iface)
	if err != nil {
		return nil, fmt.Errorf("%s:%s: %w", h.Name, iface, err)
	}
	addrs, err := dump(func() ([]netlink.Addr, error) { return nl.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if !ok {
			continue
		}
		bits, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip, bits))
	}
	return out, nil
}

// HasAddr reports whether the host's interface holds ip.
func (h *Host) HasAddr(iface string, ip netip.Addr) (bool, error) {
	addrs, err := h.Addrs(iface)
	for _, a := range addrs {
		if a.Addr() == ip {
			return true, nil
		}
	}
	return false, err
}

// MAC is the hardware address of the host's interface.
func (h *Host) MAC(iface string) (net.HardwareAddr, error) {
	nl, err := h.handle()
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	link, err := nl.LinkByName(iface)
	if err != nil {
		return nil, fmt.Errorf("%s:%s: %w", h.Name, iface, err)
	}
	return link.Attrs().HardwareAddr, nil
}

// Neighbor returns the hardware address the host's neighbour table holds
// for ip on iface, or nil when it has none (or only a failed one).
func (h *Host) Neighbor(iface string, ip netip.Addr) (net.HardwareAddr, error) {
	nl, err := h.handle()
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	link, err := nl.LinkByName(iface)
	if err != nil {
		return nil, fmt.Errorf("%s:%s: %w", h.Name, iface, err)
	}
	neighs, err := dump(func() ([]netlink.Neigh, error) { return nl.NeighList(link.Attrs().Index, netlink.FAMILY_V4) })
	if err != nil {
		return nil, err
	}
	for _, n := range neighs {
		if a, ok := netip.AddrFromSlice(n.IP.To4()); ok && a == ip &&
			n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 && len(n.HardwareAddr) > 0 {
			return n.HardwareAddr, nil
		}
	}
	return nil, nil
}

// Process is a command running in a host.
type Process struct {
	Host *Host
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Pid is its process ID (also its process group ID).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process's group: the command and its children.
func (p *Process) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return os.ErrProcessDone
	default:
	}
	return syscall.Kill(-p.Pid(), sig)
}

// Kill sends SIGKILL: a silent death.
func (p *Process) Kill() error { return p.Signal(syscall.SIGKILL) }

// Terminate sends SIGTERM: a clean stop.
func (p *Process) Terminate() error { return p.Signal(syscall.SIGTERM) }

// Pause sends SIGSTOP: the process freezes (and says nothing).
func (p *Process) Pause() error { return p.Signal(syscall.SIGSTOP) }

// Resume sends SIGCONT.
func (p *Process) Resume() error { return p.Signal(syscall.SIGCONT) }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits up to timeout for the process to exit and returns its exit
// status: nil for 0, an *exec.ExitError otherwise, or an error saying it
// is still running.
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("process %d in %s still running after %v", p.Pid(), p.Host.Name, timeout)
	}
}

// ExitCode is the exit status once it has exited (-1 if it died of a
// signal or still runs).
func (p *Process) ExitCode() int {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Cleanup kills every process the testbed started and every process left
// in its namespaces, deletes the namespaces (which deletes their links)
// and removes its work folder. It runs once: a later or concurrent call
// (a signal handler's, while the testbed is in use) waits for the first
// to finish and returns its result, so that whoever returns from Cleanup
// knows everything is gone.
func (tb *Testbed) Cleanup() error {
	tb.cleanup.Do(func() { tb.cleanupErr = tb.clean() })
	return tb.cleanupErr
}

func (tb *Testbed) clean() error {
	tb.mu.Lock()
	tb.closed = true
	procs, nss, work, closers := tb.procs, tb.nss, tb.work, tb.closers
	tb.procs, tb.nss, tb.closers = nil, nil, nil
	tb.mu.Unlock()

	var errs []error
	// A socket holds its namespace: one left open would keep a deleted
	// namespace alive, invisible to ip netns list.
	for _, c := range closers {
		errs = append(errs, c())
	}
	for _, p := range procs {
		if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
		}
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("netns: process %d in %s does not die", p.Pid(), p.Host.Name))
		}
	}
	for _, n := range nss {
		errs = append(errs, removeNamespace(n.name, n.inode))
	}
	errs = append(errs, deleteRootLinks(func(name string) bool { return strings.HasPrefix(name, tb.prefix) }))
	if work != "" {
		errs = append(errs, os.RemoveAll(work))
	}
	return errors.Join(errs...)
}

// CleanupOnSignal runs tb.Cleanup when one of sigs arrives (default
// SIGINT and SIGTERM), then dies of that signal as if it had not been
// caught. stop undoes it.
func CleanupOnSignal(tb *Testbed, sigs ...os.Signal) (stop func()) {
	if len(sigs) == 0 {
		sigs = []os.Signal{os.Interrupt, syscall.SIGTERM}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	quit := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			tb.Cleanup()
			signal.Reset(sig)
			if s, ok := sig.(syscall.Signal); ok {
				syscall.Kill(os.Getpid(), s)
				time.Sleep(time.Second) // the signal is on its way
			}
			os.Exit(1)
		case <-quit:
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(quit)
		})
	}
}

// CleanAll removes everything every testbed left, whoever made it, also
// the testbeds of runs still going (which then fail): Clean with All.
func CleanAll() error {
	_, _, err := Clean(CleanOptions{All: true})
	return err
}

// CleanStale removes what the testbeds of processes that are gone left
// behind (Clean with no options): safe while other runs are going on.
func CleanStale() error {
	_, _, err := Clean(CleanOptions{})
	return err
}

// CleanOptions chooses what Clean removes.
type CleanOptions struct {
	// Owner, when not 0, restricts Clean to the testbeds of that process
	// (the <pid> in their names).
	Owner int
	// All removes the testbeds of processes still running too (those runs
	// fail), and the lbl-* namespaces and lblab-netns-* folders that name
	// no owner.
	All bool
}

// Clean removes the remains of testbeds: lbl-<pid>-* namespaces (killing
// every process inside; a VIP or any other address goes with them),
// lbl-* links of the calling namespace and lblab-netns-<pid>-* work
// folders in os.TempDir(), of the processes <pid> that are gone (pid
// reuse can only make it keep too much). It returns what it removed and
// what it kept because its owner still runs or is not known.
func Clean(opt CleanOptions) (removed, kept Remains, err error) {
	var errs []error
	// decide removes each of names that is the caller's to remove (with
	// rm), and lists it in removed, or else in kept.
	decide := func(names []string, removed, kept *[]string, rm func(name string) error) {
		for _, name := range names {
			pid, ok := ownerPid(filepath.Base(name))
			switch {
			case opt.Owner != 0 && (!ok || pid != opt.Owner):
			case !opt.All && (!ok || alive(pid)):
				*kept = append(*kept, name)
			default:
				if err := rm(name); err != nil {
					errs = append(errs, err)
				} else {
					*removed = append(*removed, name)
				}
			}
		}
	}
	names, err := namespaces()
	errs = append(errs, err)
	decide(names, &removed.Namespaces, &kept.Namespaces, func(name string) error {
		ino := nsInode(name)
		removed.Pids = append(removed.Pids, pidsIn(map[uint64]bool{ino: true})...)
		return removeNamespace(name, ino)
	})
	links, err := rootLinks()
	errs = append(errs, err)
	decide(links, &removed.Links, &kept.Links, func(name string) error {
		l, err := netlink.LinkByName(name)
		if err == nil {
			err = netlink.LinkDel(l)
		}
		if err != nil && !errors.Is(err, syscall.ENODEV) {
			return fmt.Errorf("netns: delete link %s: %w", name, err)
		}
		return nil
	})
	folders, err := workFolders(WorkPrefix)
	errs = append(errs, err)
	decide(folders, &removed.Folders, &kept.Folders, func(dir string) error {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("netns: remove %s: %w", dir, err)
		}
		return nil
	})
	return removed, kept, errors.Join(errs...)
}

// rootLinks lists the lbl-* links of the calling namespace.
func rootLinks() ([]string, error) {
	links, err := dump(netlink.LinkList)
	if err != nil {
		return nil, fmt.Errorf("netns: list links: %w", err)
	}
	var names []string
	for _, l := range links {
		if name := l.Attrs().Name; strings.HasPrefix(name, NamePrefix) {
			names = append(names, name)
		}
	}
	return names, nil
}

// workFolders lists the folders of os.TempDir() whose names start with
// prefix.
func workFolders(prefix string) ([]string, error) {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return nil, fmt.Errorf("netns: list work folders: %w", err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			dirs = append(dirs, filepath.Join(os.TempDir(), e.Name()))
		}
	}
	return dirs, nil
}

// Remains is what is left of testbeds.
type Remains struct {
	Namespaces []string
	Links      []string
	Pids       []int
	// Folders are work folders (full paths).
	Folders []string
}

// Empty reports whether nothing remains.
func (r Remains) Empty() bool {
	return len(r.Namespaces)+len(r.Links)+len(r.Pids)+len(r.Folders) == 0
}

// String lists what remains, "nothing" when nothing does.
func (r Remains) String() string {
	var parts []string
	for _, p := range []struct {
		what string
		n    int
		list any
	}{{"namespaces", len(r.Namespaces), r.Namespaces}, {"links", len(r.Links), r.Links},
		{"processes", len(r.Pids), r.Pids}, {"folders", len(r.Folders), r.Folders}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %v", p.what, p.list))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// Leftovers lists the namespaces and the links of the calling namespace
// whose names start with prefix (NamePrefix for every testbed's), the
// processes still running in those namespaces, and the work folders of
// the same testbeds; with a testbed's prefix, also the processes that
// testbed started and those still inside the namespaces it deleted.
func Leftovers(prefix string) (Remains, error) {
	var r Remains
	folders, err := workFolders(workPrefix(prefix))
	if err != nil {
		return r, err
	}
	r.Folders = folders
	names, err := namespaces()
	if err != nil {
		return r, err
	}
	inodes := map[uint64]bool{}
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			r.Namespaces = append(r.Namespaces, n)
			if ino := nsInode(n); ino != 0 {
				inodes[ino] = true
			}
		}
	}
	links, err := dump(netlink.LinkList)
	if err != nil {
		return r, err
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			r.Links = append(r.Links, l.Attrs().Name)
		}
	}
	pids := map[int]bool{}
	for _, pid := range pidsIn(inodes) {
		pids[pid] = true
	}
	for _, pid := range knownPids(prefix) {
		if alive(pid) {
			pids[pid] = true
		}
	}
	for pid := range pids {
		r.Pids = append(r.Pids, pid)
	}
	return r, nil
}

// known remembers, per testbed prefix, the processes it started and the
// inodes of its namespaces, for Leftovers after Cleanup.
var known sync.Map // prefix → *knownSet

type knownSet struct {
	mu     sync.Mutex
	procs  []procID
	inodes []uint64
}

// procID names a process across pid reuse: its pid and its start time in
// clock ticks since boot (field 22 of /proc/PID/stat).
type procID struct {
	pid   int
	start uint64
}

// startTime returns a process's start time, or 0 if it is gone.
func startTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); the start time is field 22.
	if len(fields) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64)
	return v
}

func remember(prefix string, pid int, inode uint64) {
	v, _ := known.LoadOrStore(prefix, &knownSet{})
	k := v.(*knownSet)
	k.mu.Lock()
	defer k.mu.Unlock()
	if pid > 0 {
		k.procs = append(k.procs, procID{pid, startTime(pid)})
	}
	if inode > 0 {
		k.inodes = append(k.inodes, inode)
	}
}

func knownPids(prefix string) []int {
	var pids []int
	set := map[uint64]bool{}
	known.Range(func(key, v any) bool {
		if !strings.HasPrefix(key.(string), prefix) {
			return true
		}
		k := v.(*knownSet)
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, p := range k.procs {
			// A pid counts only while it is still the same process: pids
			// are reused, by other test processes among others.
			if p.start != 0 && startTime(p.pid) == p.start {
				pids = append(pids, p.pid)
			}
		}
		for _, ino := range k.inodes {
			set[ino] = true
		}
		return true
	})
	return append(pids, strayPids(set)...)
}

// strayPids returns the live processes inside the namespaces of inodes
// that have no name any more (the testbeds deleted them); the named ones
// are Leftovers' business, or someone else's.
//
// A deleted namespace's inode number is soon reused, by the next
// namespace anyone makes: another test package running at the same time
// makes some with `ip netns add`, which creates the namespace (and runs
// in it) a moment before it names it. So a process found in a namespace
// that has no name counts only if its namespace still has none a moment
// later (up to a second: a real leftover stays where it is).
func strayPids(set map[uint64]bool) []int {
	deadline := time.Now().Add(time.Second)
	for {
		for _, ino := range namedInodes() {
			delete(set, ino)
		}
		pids := pidsIn(set)
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeNamespace kills every process in the namespace (found by its
// inode, so also the ones whose namespace was already deleted) and
// deletes it.
func removeNamespace(name string, inode uint64) error {
	set := map[uint64]bool{}
	if inode != 0 {
		set[inode] = true
	}
	for range 50 {
		pids := pidsIn(set)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if left := pidsIn(set); len(left) > 0 {
		return fmt.Errorf("netns: processes %v in %s do not die", left, name)
	}
	gone := func() bool {
		_, err := os.Stat(nsDir + "/" + name)
		return errors.Is(err, os.ErrNotExist)
	}
	if gone() {
		return nil
	}
	if err := ipCmd("netns", "del", name); err != nil && !gone() {
		return err
	}
	// Deleted, by us or meanwhile by another run's CleanStale (every run
	// cleans stale testbeds as it starts, and test packages run at once).
	return nil
}

// deleteRootLinks deletes the links of the calling namespace whose names
// match.
func deleteRootLinks(match func(string) bool) error {
	links, err := dump(netlink.LinkList)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range links {
		if match(l.Attrs().Name) {
			if err := netlink.LinkDel(l); err != nil && !errors.Is(err, syscall.ENODEV) {
				errs = append(errs, fmt.Errorf("delete link %s: %w", l.Attrs().Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// namespaces lists the lbl-* named namespaces.
func namespaces() ([]string, error) {
	entries, err := os.ReadDir(nsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), NamePrefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func nsInode(name string) uint64 {
	var st syscall.Stat_t
	if syscall.Stat(nsDir+"/"+name, &st) != nil {
		return 0
	}
	return st.Ino
}

// pidsIn returns the live processes (not zombies) whose network namespace
// is one of inodes.
func pidsIn(inodes map[uint64]bool) []int {
	if len(inodes) == 0 {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name()+"/ns/net", &st) != nil || !inodes[st.Ino] {
			continue
		}
		if alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid runs (and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) STATE ...: comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// namedInodes returns the inodes of every named namespace (whoever named
// it, whatever its name).
func namedInodes() []uint64 {
	entries, err := os.ReadDir(nsDir)
	if err != nil {
		return nil
	}
	var inos []uint64
	for _, e := range entries {
		if ino := nsInode(e.Name()); ino != 0 {
			inos = append(inos, ino)
		}
	}
	return inos
}

// ownerPid reads the pid of lbl-<pid>-<n>-... (a namespace or a link)
// or lblab-netns-<pid>-<n>-... (a work folder; one named by an older
// lblab, lblab-netns-<random>, has no owner).
func ownerPid(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, WorkPrefix)
	if !ok {
		if rest, ok = strings.CutPrefix(name, NamePrefix); !ok {
			return 0, false
		}
	}
	num, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(num)
	return pid, ok && err == nil && pid > 0
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// dumpTries bounds the retries of an interrupted netlink dump.
const dumpTries = 20

// dump runs a netlink dump (a list of links, addresses, neighbours,
// qdiscs) again while the kernel says another change interrupted it
// (netlink.ErrDumpInterrupted: the list may be incomplete): other runs
// and test packages make and delete links and namespaces meanwhile.
func dump[T any](list func() ([]T, error)) ([]T, error) {
	var (
		out []T
		err error
	)
	for range dumpTries {
		if out, err = list(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return out, fmt.Errorf("netns: netlink dump interrupted %d times in a row: %w", dumpTries, err)
}
