package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/netns"
)

// NetnsOptions configures a run on real hosts in network namespaces.
type NetnsOptions = Options

// netnsSlack widens theoretical windows on real hosts: timers fire late
// by a few milliseconds at most, and a process or socket adds latency.
// The tolerance: plus 50 ms (and 5 ms of early timer slack).
const (
	netnsLate  = 50 * time.Millisecond
	netnsEarly = 5 * time.Millisecond
)

func init() {
	Register(Factory{Name: "netns", Doc: i18n.T("real agents, proxies, backends and load generators as processes in Linux network namespaces, one per host, bridges for segments"),
		Caps: Capabilities{
			Roles: []Role{RoleVRRP, RoleProxy, RoleBackend, RoleClients},
			Faults: append(append(slices.Clone(agentFaults), lbFaultsOnly...),
				labfile.FaultProxyCrash, labfile.FaultFirewall, labfile.FaultFirewallClear, labfile.FaultGARPDrop),
			Root: true,
			// MulticastFirewall: a firewall's rule matches only multicast
			// destinations (netns.Segment.BlockMulticast).
			MulticastFirewall: true,
			// TCPListeners: lblab load tcp:// and lblab backend --mode tcp.
			TCPListeners: true,
			// HA: the load balancer's roles on the topology's hosts
			// (netns_ha.go).
			HA: true,
			// Cloud: the lab's VPCs, vswitches, peerings, routes,
			// security groups and whitelists built by BuildCloud, each
			// reach check a real probe at t = 0 (netns_cloud.go).
			Cloud: true,
			// Impls: the system's keepalived as the VRRP routers
			// (netns_keepalived.go), its nginx as the load balancer
			// (lb_nginx.go).
			Impls: map[Role][]string{RoleVRRP: {labfile.ImplKeepalived}, RoleProxy: {labfile.ImplNginx}},
			Early: netnsEarly,
			Late:  netnsLate,
		},
		Available: netns.Available,
		New: func(lab *labfile.Lab, seed uint64, _ history.Sink, opt Options) (World, error) {
			if err := checkKeepalived(lab); err != nil {
				return nil, err
			}
			if lab.LB != nil && !lab.HA() {
				return newNetnsLBWorld(lab, seed, opt) // netns_lb.go
			}
			if opt.Binary == "" {
				exe, err := os.Executable()
				if err != nil {
					return nil, err
				}
				opt.Binary = exe
			}
			return &netnsWorld{lab: lab, seed: seed, opt: opt, hosts: map[string]*netns.Host{}, links: map[string][]*netns.Link{},
				agents: map[string]*netns.Process{}, extra: &history.Log{}}, nil
		}})
}

var _ World = (*netnsWorld)(nil)

// RunNetns plays a lab on real hosts: a load-balancer lab as netns_lb.go
// says; a VRRP lab with each host a network namespace, each segment a
// bridge, each router an `lblab vrrp` process configured by a
// keepalived.conf generated from the lab, or with impl: {vrrp:
// keepalived} the system's keepalived (netns_keepalived.go). The fault
// timeline is applied on the wall clock (crash: link down and every
// process killed; restore: link up and a fresh agent; stop: SIGTERM;
// start: a fresh agent; link_down/link_up; script_fail/script_ok switch
// the generated check script). Everything made is removed afterwards, also
// on failure, by one cleanup (the testbed's), once.
//
// When ctx is done (a signal to lblab run) the run stops: the agents are
// stopped, and the outcome holds the history until then, checked up to
// that moment and marked interrupted. Whoever handles the signal must let
// RunNetns return: its cleanup runs on the way out. A run killed outright
// (SIGKILL) leaves its testbed to netns.Clean (lblab clean). It needs root.
func RunNetns(ctx context.Context, lab *labfile.Lab, seed uint64, opt NetnsOptions) (*Outcome, error) {
	return Run(ctx, "netns", lab, seed, opt)
}

type agentRun struct {
	host   string
	p      *netns.Process
	out    *bytes.Buffer
	killed bool
}

type netnsWorld struct {
	lab    *labfile.Lab
	seed   uint64
	tb     *netns.Testbed
	opt    NetnsOptions
	hosts  map[string]*netns.Host
	links  map[string][]*netns.Link // by host
	agents map[string]*netns.Process
	// runs is every agent process started, with its output and whether the
	// runner itself ended it (a crash fault).
	runs []*agentRun
	wallClock
	closed bool
	extra  *history.Log // fault events and silent deaths, written by the runner
	// segs are the lab's segments, by name.
	segs map[string]*netns.Segment
	// ha is a high-availability lab's load balancer and probes
	// (netns_ha.go); nil for a VRRP lab.
	ha *netnsHA
	// kaProcs are the keepalived processes started, in order (impl:
	// {vrrp: keepalived}; netns_keepalived.go).
	kaProcs []*kaProc
	// cloud is a cloud lab's network (netns_cloud.go), nil without one;
	// cloudCtx is Build's context, which its probes obey.
	cloud    *CloudNet
	cloudCtx context.Context
}

// Build makes the testbed, the lab's segments and hosts, and writes the
// routers' configurations; it gives up with ctx's error once ctx is done.
func (w *netnsWorld) Build(ctx context.Context) error {
	var err error
	if w.tb, err = newTestbed(&w.opt); err != nil {
		return err
	}
	segs := map[string]*netns.Segment{}
	w.segs = segs
	for _, s := range w.lab.Topology.Segments {
		if err := ctx.Err(); err != nil {
			return err
		}
		seg, err := w.tb.AddSegment(s.Name)
		if err != nil {
			return err
		}
		segs[s.Name] = seg
	}
	for _, h := range w.lab.Topology.Hosts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if cloudHost(h) {
			continue // an instance: buildCloud makes it
		}
		host, err := w.tb.AddHost(h.Name)
		if err != nil {
			return err
		}
		w.hosts[h.Name] = host
		for _, ifc := range h.Interfaces {
			addr, _ := netip.ParsePrefix(ifc.Address)
			l, err := w.tb.Connect(host, ifc.Name, segs[ifc.Segment], addr)
			if err != nil {
				return err
			}
			w.links[h.Name] = append(w.links[h.Name], l)
		}
	}
	for host := range w.routers() {
		text := []byte(keepalivedConf(w.lab, host, w.flagPath))
		if w.usesKeepalived() {
			// Exported now, so that a configuration keepalived cannot
			// read is refused before anything runs; each process gets
			// its own copy (startKeepalived).
			var err error
			if _, text, err = w.keepalivedText(host, 0); err != nil {
				return err
			}
		}
		if err := os.WriteFile(w.confPath(host), text, 0o644); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.buildCloud(ctx); err != nil {
		return err
	}
	if w.lab.HA() {
		return w.buildHA(ctx)
	}
	return nil
}

// newTestbed makes a run's testbed, after removing what dead runs left,
// and sets opt.Work to the testbed's work folder when it is not given.
func newTestbed(opt *Options) (*netns.Testbed, error) {
	_ = netns.CleanStale()
	tb, err := netns.New()
	if err != nil {
		return nil, i18n.Errorf("netns mode: %w", err)
	}
	if opt.Work == "" {
		if opt.Work, err = tb.WorkDir(); err != nil {
			tb.Cleanup()
			return nil, err
		}
	}
	return tb, nil
}

// Close removes the testbed: namespaces, links, processes, the work
// folder. It runs once; later calls do nothing.
func (w *netnsWorld) Close() error {
	if w.tb == nil || w.closed {
		return nil
	}
	w.closed = true
	w.haClose()
	err := w.tb.Cleanup()
	w.closeKeepalived()
	return err
}

// routers returns the hosts that run VRRP instances.
func (w *netnsWorld) routers() map[string]bool {
	rs := map[string]bool{}
	if w.lab.VRRP == nil {
		return rs // a high-availability lab of one proxy host
	}
	for _, in := range w.lab.VRRP.Instances {
		rs[in.Host] = true
	}
	return rs
}

func (w *netnsWorld) confPath(host string) string {
	return filepath.Join(w.opt.Work, host+".conf")
}

func (w *netnsWorld) historyPath(host string) string {
	return filepath.Join(w.opt.Work, host+".history.jsonl")
}

// readyPath is the file host's agent writes once its sockets are open and
// joined (lblab vrrp --ready-file); startPath the one every agent waits
// for, written at the lab's time 0 with the epoch (--start-file).
func (w *netnsWorld) readyPath(host string) string { return filepath.Join(w.opt.Work, host+".ready") }

func (w *netnsWorld) startPath() string { return filepath.Join(w.opt.Work, "start") }

// agentStartLead is how far ahead of writing the start file the lab's
// time 0 is: the agents, ready and polling for the file every
// millisecond, read it before time 0 and start their instances at time 0
// (lblab vrrp waits for a future epoch), though this process, not
// real-time, may be delayed between stamping the epoch and writing the
// file: by 145 ms and by more than 250 ms, seen on a loaded 2-core
// machine. Delayed longer still, the agents start together as soon as
// they read it. One second, as lbStartLead.
const agentStartLead = time.Second

// agentReadyWait bounds the wait for the agents' sockets at the start: a
// process start, not a protocol time (the lab's clock has not started).
const agentReadyWait = 30 * time.Second

// flagPath is the file whose presence makes a host's script fail.
// For a vrrp_script that restarts the proxy it is the script itself
// (netns_restart.go).
func (w *netnsWorld) flagPath(host, script string) string {
	if p := w.restartFlag(host, script); p != "" {
		return p
	}
	return filepath.Join(w.opt.Work, host+"."+script+".fail")
}

// startAgent runs a fresh agent on host: lblab vrrp, or keepalived
// (startKeepalived).
func (w *netnsWorld) startAgent(host string) error {
	if w.usesKeepalived() {
		return w.startKeepalived(host)
	}
	if p := w.agents[host]; p != nil {
		select {
		case <-p.Done():
		default:
			return nil // still running
		}
	}
	if err := os.Remove(w.readyPath(host)); err != nil && !os.IsNotExist(err) {
		return err
	}
	out := &bytes.Buffer{}
	// Real-time (see netns.Realtime): the checks measure the protocol's
	// timers, not the machine's other load. The agent opens its sockets,
	// says so in its ready file and starts when the start file holds the
	// epoch: at once for an agent started after time 0 (restore, start).
	name, args := netns.Realtime(w.opt.Binary, "vrrp", "--config", w.confPath(host),
		"--history", w.historyPath(host), "--name", host, "--ready-file", w.readyPath(host), "--start-file", w.startPath())
	p, err := w.hosts[host].Start(out, out, name, args...)
	if err != nil {
		return i18n.Errorf("host %s: starting its agent: %w", host, err)
	}
	w.agents[host] = p
	w.runs = append(w.runs, &agentRun{host: host, p: p, out: out})
	return w.agentStarted(host, p)
}

// waitReady waits until the agent of every host has written its ready
// file, at most agentReadyWait; an agent that exits meanwhile is an
// error with its output. It reports whether ctx ended the wait.
func (w *netnsWorld) waitReady(ctx context.Context, hosts []string) (bool, error) {
	deadline := time.Now().Add(agentReadyWait)
	for _, host := range hosts {
		for {
			if _, err := os.Stat(w.readyPath(host)); err == nil {
				break
			}
			p := w.agents[host]
			select {
			case <-p.Done():
				var out string
				for _, r := range w.runs {
					if r.p == p {
						out = strings.TrimSpace(r.out.String())
					}
				}
				return false, i18n.Errorf("the agent on %s (%s vrrp) exited with status %d before it was ready:\n%s",
					host, w.opt.Binary, p.ExitCode(), out)
			case <-ctx.Done():
				return true, nil
			case <-time.After(time.Millisecond):
			}
			if time.Now().After(deadline) {
				return false, i18n.Errorf("the agent on %s (%s vrrp) not ready after %v", host, w.opt.Binary, agentReadyWait)
			}
		}
	}
	return false, nil
}

// release writes the start file with the clock's epoch (whole, by a
// rename): every agent waiting for it starts.
func (w *netnsWorld) release() error {
	tmp := w.startPath() + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d\n", w.epoch.UnixNano()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, w.startPath())
}

// silent records that host's routers stopped without a word (the agents
// cannot say it themselves).
func (w *netnsWorld) silent(host, reason string) {
	silentDeaths(w.lab, w.extra, w.Since(), host, reason)
}

// Run starts the agents, waits until every one has its sockets open and
// joined, then releases them together at the lab's time 0 (the start
// file, agentStartLead ahead), applies the faults on time (At) and waits
// until end. An agent process takes from milliseconds to a second to get
// there on a loaded machine: were the clock and the agents' timers
// started one by one as they came up, a higher-priority router could
// start its timer a skew (0.195 s for priorities 150 and 100) after a
// lower one and lose the startup election. When ctx is done first it
// returns, interrupted (reached 0 before time 0); Finish then stops the
// agents.
func (w *netnsWorld) Run(ctx context.Context, end time.Duration) (time.Duration, bool, error) {
	if w.usesKeepalived() {
		return w.runKeepalived(ctx, end)
	}
	hosts := slices.Sorted(maps.Keys(w.routers()))
	for _, host := range hosts {
		if ctx.Err() != nil {
			return 0, true, nil
		}
		if err := w.startAgent(host); err != nil {
			return 0, false, err
		}
	}
	if interrupted, err := w.waitReady(ctx, hosts); err != nil || interrupted {
		return 0, interrupted, err
	}
	if w.ha != nil {
		if interrupted, err := w.haReady(ctx); err != nil || interrupted {
			return 0, interrupted, err
		}
		if err := w.haStart(ctx, end, time.Time{}); err != nil {
			return 0, false, err
		}
	} else if len(hosts) > 0 {
		w.epoch = time.Now().Add(agentStartLead)
	} else {
		w.start() // no agent to start together (a cloud lab): t = 0 now
	}
	if err := w.release(); err != nil {
		return 0, false, err
	}
	return w.runAgents(ctx, end)
}

// runAgents runs the clock to end (runClock) once the agents run; an
// agent that ended on its own before then failed: it says why.
func (w *netnsWorld) runAgents(ctx context.Context, end time.Duration) (time.Duration, bool, error) {
	reached, interrupted, err := w.runClock(ctx, end)
	reached = max(reached, 0)
	if w.ha != nil {
		w.ha.lb.reached = reached // the requests' merge: unknown after it
	}
	if err != nil || interrupted {
		return reached, interrupted, err
	}
	for _, r := range w.runs {
		select {
		case <-r.p.Done():
			if !r.killed && r.p.ExitCode() != 0 {
				if w.usesKeepalived() {
					return reached, false, i18n.Errorf("keepalived on %s exited with status %d:\n%s",
						r.host, r.p.ExitCode(), strings.TrimSpace(r.out.String()))
				}
				return reached, false, i18n.Errorf("the agent on %s (%s vrrp) exited with status %d:\n%s",
					r.host, w.opt.Binary, r.p.ExitCode(), strings.TrimSpace(r.out.String()))
			}
		default:
		}
	}
	return reached, false, nil
}

// Finish ends the agents (they write the end of their histories: a
// short wait when ctx is done, as the user waits; Close kills what is
// left) and merges the histories.
func (w *netnsWorld) Finish(ctx context.Context) ([]history.Event, int, error) {
	wait := 5 * time.Second
	if ctx.Err() != nil {
		wait = time.Second
	}
	more, sent, err := w.haFinish(ctx, wait)
	if err != nil {
		return nil, 0, err
	}
	for _, p := range w.agents {
		_ = p.Terminate()
	}
	for _, p := range w.agents {
		_ = p.Wait(wait)
	}
	events, err := w.merge()
	return haMerge(events, more), sent, err
}

// Apply carries out one fault now. Its history event is stamped when the
// fault took effect (a link is down, a signal sent), not when the runner
// began to apply it, nor when it finished: a crash takes effect when the
// host falls silent (frozen), before the runner sees it stopped, cuts its
// links and kills its processes. A restore or start takes effect when the
// new agent has booted: merge moves the event to the agent's own startup.
func (w *netnsWorld) Apply(f labfile.Fault) error {
	return applyStamped(w.Since, w.extra, f, w.do)
}

// freezeWait bounds the wait for SIGSTOP to take hold; the kernel stops a
// process at its next return to user space, microseconds away.
const freezeWait = time.Second

// freeze stops every process of the host with SIGSTOP and waits until
// each agent's threads are all stopped. It returns when the signals were
// sent (time since the epoch): the host falls silent then, the kernel
// stopping each process microseconds later, while seeing it stopped
// means polling /proc.
func (w *netnsWorld) freeze(hostName string) (time.Duration, error) {
	if err := w.hosts[hostName].Signal(syscall.SIGSTOP); err != nil {
		return 0, i18n.Errorf("host %s: freeze: %w", hostName, err)
	}
	sent := w.Since()
	deadline := time.Now().Add(freezeWait)
	for _, r := range w.runs {
		if r.host != hostName || r.killed {
			continue
		}
		for !stopped(r.p.Pid()) {
			if time.Now().After(deadline) {
				return 0, i18n.Errorf("host %s: agent %d not stopped %v after SIGSTOP", hostName, r.p.Pid(), freezeWait)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return sent, nil
}

// stopped reports whether every thread of pid is stopped (state T or t),
// or has exited (Z, X, or gone).
func stopped(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return true // gone
	}
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/stat")
		if err != nil {
			continue // the thread exited
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || !strings.ContainsRune("TtZX", rune(b[i+2])) {
			return false
		}
	}
	return true
}

// do carries out one fault. It returns when the fault took effect (time
// since the epoch), or 0 for "when do returned".
func (w *netnsWorld) do(f labfile.Fault) (time.Duration, error) {
	if ok, at, err := w.haDo(f); ok {
		return at, err
	}
	hostName, ifname, _ := strings.Cut(f.Target, ":")
	host := w.hosts[hostName]
	links := func(fn func(*netns.Link) error) error {
		for _, l := range w.links[hostName] {
			if ifname == "" || l.Iface == ifname {
				if err := fn(l); err != nil {
					return err
				}
			}
		}
		return nil
	}
	switch f.Kind {
	case "crash":
		// Freeze first: a dead host does not hear its own link go down
		// (its agent would go to FAULT and drop its addresses).
		// The host says nothing more from the SIGSTOP on: that is the
		// crash for the others. Seeing it stopped, the link going down
		// and killing its processes come after and take milliseconds.
		effect, err := w.freeze(hostName)
		if err != nil {
			return 0, err
		}
		if err := links((*netns.Link).Down); err != nil {
			return 0, err
		}
		for _, r := range w.runs {
			if r.host == hostName {
				r.killed = true
			}
		}
		_ = host.Signal(syscall.SIGKILL)
		w.silent(hostName, "host crashed")
		return effect, w.haHost(f.Kind, hostName)
	case "restore":
		// A node that died and boots again holds no virtual address:
		// the killed agent (keepalived, lblab vrrp) left its addresses
		// on the interfaces, which would answer ARP as soon as the link
		// is up, before the fresh agent removes them.
		if err := w.dropVIPs(hostName); err != nil {
			return 0, err
		}
		if err := links((*netns.Link).Up); err != nil {
			return 0, err
		}
		if w.routers()[hostName] {
			if err := w.startAgent(hostName); err != nil {
				return 0, err
			}
		}
		return 0, w.haHost(f.Kind, hostName)
	case "stop":
		if p := w.agents[hostName]; p != nil {
			if err := p.Terminate(); err != nil {
				return 0, err
			}
		}
		// The stop takes effect when the agent is told to leave; the
		// node's proxy goes after it.
		effect := w.Since()
		return effect, w.haHost(f.Kind, hostName)
	case "start":
		if err := w.startAgent(hostName); err != nil {
			return 0, err
		}
		return 0, w.haHost(f.Kind, hostName)
	case "pause":
		return 0, host.Signal(syscall.SIGSTOP)
	case "resume":
		return 0, host.Signal(syscall.SIGCONT)
	case "link_down":
		return 0, links((*netns.Link).Down)
	case "link_up":
		return 0, links((*netns.Link).Up)
	case "script_fail":
		return 0, os.WriteFile(w.flagPath(hostName, f.Script), nil, 0o644)
	case "script_ok":
		err := os.Remove(w.flagPath(hostName, f.Script))
		if os.IsNotExist(err) {
			return 0, nil
		}
		return 0, err
	}
	return 0, nil
}

// dropVIPs removes the virtual addresses of host's instances from its
// interfaces, where they are.
func (w *netnsWorld) dropVIPs(hostName string) error {
	host := w.hosts[hostName]
	for _, in := range w.lab.VRRP.Instances {
		if in.Host != hostName {
			continue
		}
		for _, v := range in.VirtualIPAddress {
			if !strings.Contains(v, "/") {
				v += "/32" // as the agents add it
			}
			p, err := netip.ParsePrefix(v)
			if err != nil {
				continue // validated before: not an address an agent added
			}
			if held, err := host.HasAddr(in.Interface, p.Addr()); err != nil || !held {
				continue
			}
			if _, err := host.Run("ip", "addr", "del", p.String(), "dev", in.Interface); err != nil {
				return i18n.Errorf("host %s: removing the virtual address %s its agent left: %w", hostName, v, err)
			}
		}
	}
	return nil
}

// merge reads the agents' histories and merges them with the runner's
// events (mergeAgents).
func (w *netnsWorld) merge() ([]history.Event, error) {
	if w.usesKeepalived() {
		return mergeAgents(w.keepalivedHistories(), w.extra.Events()), nil
	}
	hosts := make([]string, 0, len(w.routers()))
	for host := range w.routers() {
		hosts = append(hosts, host)
	}
	sort.Strings(hosts) // the same merge whatever the map's order
	var histories [][]history.Event
	for _, host := range hosts {
		f, err := os.Open(w.historyPath(host))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		evs, err := history.ReadJSONL(f, w.historyPath(host))
		f.Close()
		if err != nil {
			return nil, err
		}
		histories = append(histories, evs)
	}
	return mergeAgents(histories, w.extra.Events()), nil
}

// keepalivedConf writes a host's VRRP instances as a keepalived.conf, with
// each vrrp_script replaced by a check of a flag file (flag(host, name))
// that script_fail creates and script_ok removes.
func keepalivedConf(lab *labfile.Lab, host string, flag func(host, script string) string) string {
	var b strings.Builder
	version := lab.VRRP.Version
	if version == 0 {
		version = 2
	}
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n    vrrp_version %d\n", host, version)
	if g := lab.VRRP.GARPMasterDelay; g.IsSet() {
		fmt.Fprintf(&b, "    vrrp_garp_master_delay %g\n", g.D.Seconds())
	}
	if n := lab.VRRP.GARPMasterRepeat; n != 0 {
		fmt.Fprintf(&b, "    vrrp_garp_master_repeat %d\n", n)
	}
	b.WriteString("}\n")
	used := map[string]bool{}
	for _, in := range lab.VRRP.Instances {
		if in.Host == host {
			for _, t := range in.TrackScript {
				used[t] = true
			}
		}
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s := lab.VRRP.Scripts[name]
		fmt.Fprintf(&b, "vrrp_script %s {\n    script \"%s\"\n    interval %g\n    weight %d\n    fall %d\n    rise %d\n",
			name, scriptCommand(lab, host, name, flag), s.Interval.Or(time.Second).Seconds(), s.Weight, max(s.Fall, 1), max(s.Rise, 1))
		if s.Timeout.IsSet() {
			fmt.Fprintf(&b, "    timeout %g\n", s.Timeout.D.Seconds())
		}
		if s.InitFail {
			b.WriteString("    init_fail\n")
		}
		b.WriteString("}\n")
	}
	for i := range lab.VRRP.Instances {
		in := &lab.VRRP.Instances[i]
		if in.Host != host {
			continue
		}
		fmt.Fprintf(&b, "vrrp_instance %s {\n    interface %s\n    virtual_router_id %d\n    advert_int %g\n",
			in.Name, in.Interface, in.VirtualRouterID, in.AdvertInt.Or(time.Second).Seconds())
		if in.State != "" {
			fmt.Fprintf(&b, "    state %s\n", strings.ToUpper(in.State))
		}
		if in.Priority != 0 {
			fmt.Fprintf(&b, "    priority %d\n", in.Priority)
		}
		if in.Version != 0 {
			fmt.Fprintf(&b, "    version %d\n", in.Version)
		}
		if in.NoPreempt {
			b.WriteString("    nopreempt\n")
		}
		if in.PreemptDelay.D > 0 {
			fmt.Fprintf(&b, "    preempt_delay %g\n", in.PreemptDelay.D.Seconds())
		}
		if a := in.Authentication; a != nil {
			fmt.Fprintf(&b, "    authentication {\n        auth_type %s\n        auth_pass %s\n    }\n", strings.ToUpper(a.AuthType), a.AuthPass)
		}
		b.WriteString("    virtual_ipaddress {\n")
		for _, v := range in.VirtualIPAddress {
			fmt.Fprintf(&b, "        %s\n", v)
		}
		b.WriteString("    }\n")
		if len(in.TrackScript) > 0 {
			b.WriteString("    track_script {\n")
			for _, t := range in.TrackScript {
				fmt.Fprintf(&b, "        %s\n", t)
			}
			b.WriteString("    }\n")
		}
		if len(in.TrackInterface) > 0 {
			b.WriteString("    track_interface {\n")
			for _, t := range in.TrackInterface {
				fmt.Fprintf(&b, "        %s\n", strings.Join(strings.Fields(t), " "))
			}
			b.WriteString("    }\n")
		}
		if in.DontTrackPrimary {
			b.WriteString("    dont_track_primary\n")
		}
		if in.UnicastSrcIP != "" {
			fmt.Fprintf(&b, "    unicast_src_ip %s\n", in.UnicastSrcIP)
		}
		if len(in.UnicastPeer) > 0 {
			b.WriteString("    unicast_peer {\n")
			for _, a := range in.UnicastPeer {
				fmt.Fprintf(&b, "        %s\n", a)
			}
			b.WriteString("    }\n")
		}
		if in.CheckUnicastSrc {
			b.WriteString("    check_unicast_src\n")
		}
		notify := in.NotifyScripts()
		for _, k := range slices.Sorted(maps.Keys(notify)) {
			fmt.Fprintf(&b, "    %s \"%s\"\n", k, notify[k])
		}
		b.WriteString("}\n")
	}
	return b.String()
}
