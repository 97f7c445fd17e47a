package scenarios

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/dockerbed"
)

// The docker world's tolerances are the netns world's: its agents are the
// same processes, in containers of the same kernel.
const (
	dockerLate  = netnsLate
	dockerEarly = netnsEarly
)

// dockerOpWait bounds one call to the engine made while the lab runs (a
// fault, the end): the run must not hang on a stuck engine.
const dockerOpWait = 30 * time.Second

// dockerFlags is where the containers see the host's flag folder (script
// faults), bind-mounted read-only.
const dockerFlags = "/lblab/flags"

// dockerNamesFile is the file an agent waits for before it opens
// anything (lblab vrrp --wait-file), written once its container's
// interfaces have the lab's names; dockerReadyFile the one it writes
// when its sockets are open and joined (--ready-file); dockerStartFile
// the one it then waits for, holding the lab's epoch (--start-file);
// dockerHistory the file it writes its history to.
const (
	dockerNamesFile = "/lblab/names"
	dockerReadyFile = "/lblab/ready"
	dockerStartFile = "/lblab/start"
	dockerHistory   = "/lblab/history.jsonl"
)

// rtWarn says once a process that the agents run without the real-time
// policy.
var rtWarn sync.Once

// dockerStartLead is how far ahead of writing the start files the lab's
// time 0 is on a remote engine: the engine copies a file into a
// container in tens of milliseconds, and in more than a second on a
// loaded 2-core machine (here, a local engine copying: agents booted 97
// to 207 ms after a time 0 one second ahead, and up to 1.2 s after one
// three seconds ahead); on a local engine the start file is one file
// every container sees (dockerGate) and the lead is agentStartLead's.
const dockerStartLead = 3 * time.Second

// dockerReadyPoll is how often the agents' ready files are looked for
// (one engine call per container each time).
const dockerReadyPoll = 20 * time.Millisecond

// dockerCaps is what the docker world can do: VRRP routers and
// load-balancer labs (docker_lb.go), every fault the netns world
// applies. Link shaping would need netem, which this machine's kernel
// lacks, as for netns. A lab's services run as labelled containers
// (lbservices.go).
var dockerCaps = Capabilities{
	Roles: []Role{RoleVRRP, RoleProxy, RoleBackend, RoleClients},
	// scale: a lab's services, containers registered by their labels.
	Faults: append(append(slices.Clone(agentFaults), lbFaultsOnly...), labfile.FaultScale, labfile.FaultProxyCrash),
	Root:   true,
	// TCPListeners: lblab load tcp:// and lblab backend --mode tcp.
	TCPListeners: true,
	// HA: the load balancer's roles in containers joined to the
	// topology's (docker_ha.go).
	HA:    true,
	Early: dockerEarly,
	Late:  dockerLate,
}

func init() {
	Register(Factory{Name: "docker", Doc: i18n.T("real agents, proxies, backends and load generators in Docker containers (testcontainers-go), a bridge network per segment; DOCKER_HOST for another engine"),
		Caps:      dockerCaps,
		Available: dockerAvailable,
		New: func(lab *labfile.Lab, seed uint64, _ history.Sink, opt Options) (World, error) {
			if lab.LB != nil && !lab.HA() {
				return newDockerLBWorld(lab, seed, opt) // docker_lb.go
			}
			if lab.HA() && !dockerbed.Local() {
				return nil, &labfile.InputError{Err: i18n.Errorf("lab %s: the %s world cannot %s", lab.Name, "docker",
					i18n.T("run a high-availability lab on a remote Docker engine (DOCKER_HOST): its roles need the engine on this machine"))}
			}
			return &dockerWorld{lab: lab, seed: seed, opt: opt, hosts: map[string]*dockerRun{}, nets: map[string]*dockerbed.Network{},
				extra: &history.Log{}}, nil
		}})
}

var _ World = (*dockerWorld)(nil)

// dockerRun is one container of a host: a host gets a fresh one at each
// restore or start after its agent ended.
type dockerRun struct {
	host   string
	name   string // its spec name (host-N)
	c      *dockerbed.Container
	killed bool // the runner ended it (a crash)
}

// dockerWorld plays a VRRP lab with each router a container of a FROM
// scratch image holding the lblab binary, running lblab vrrp with the
// keepalived.conf the netns world writes, and each segment a bridge
// network with the lab's subnet.
type dockerWorld struct {
	lab   *labfile.Lab
	seed  uint64
	opt   Options
	bed   *dockerbed.Bed
	image dockerbed.Image
	nets  map[string]*dockerbed.Network
	hosts map[string]*dockerRun // each host's current container
	runs  []*dockerRun          // every container made, in order
	flags string                // the host's flag folder ("" on a remote engine)
	gate  dockerGate            // holds the agents until time 0
	wallClock
	extra *history.Log
	// ha is a high-availability lab's load balancer (docker_ha.go); nil
	// for a VRRP lab.
	ha     *dockerHA
	mu     sync.Mutex
	closed bool
}

// Build finds or builds the image, makes the lab's networks and one
// container per router, its agent waiting for the start file (Run).
func (w *dockerWorld) Build(ctx context.Context) error {
	if err := w.refuseRemote(); err != nil {
		return err
	}
	for _, h := range w.lab.Topology.Hosts {
		if name, ok := w.lab.RestartScript(h.Name); ok {
			return &labfile.InputError{Err: i18n.Errorf("lab %s: the %s world cannot %s", w.lab.Name, "docker",
				i18n.T("run vrrp_script %s, which restarts the proxy (restart_wait), on %s: it runs in netns only", name, h.Name))}
		}
	}
	var err error
	w.image, err = openDockerBed(ctx, w.opt.Binary, func(b *dockerbed.Bed) error { w.bed = b; return nil })
	if err != nil {
		return err
	}
	bed := w.bed
	if !w.image.Shell && labScripts(w.lab) {
		return i18n.Errorf("docker mode: the lab runs vrrp scripts, and the image has no /bin/sh: install a static busybox (Debian's busybox-static) so that the image gets one")
	}
	if bed.Local() {
		work, err := bed.WorkDir()
		if err != nil {
			return err
		}
		w.flags = filepath.Join(work, "flags")
		if err := os.Mkdir(w.flags, 0o755); err != nil {
			return err
		}
		w.gate.dir = filepath.Join(work, "gate")
		if err := os.Mkdir(w.gate.dir, 0o755); err != nil {
			return err
		}
	}
	subnets, err := segmentSubnets(w.lab)
	if err != nil {
		return err
	}
	for _, s := range w.lab.Topology.Segments {
		sn, ok := subnets[s.Name]
		if !ok {
			continue // no host on it
		}
		n, err := addNetwork(ctx, w.bed, s.Name, sn)
		if err != nil {
			return err
		}
		w.nets[s.Name] = n
	}
	if w.lab.HA() {
		// The other hosts and the servers first: the agents, once
		// ready, poll for the start file, spending their real-time
		// share (dockerbed.RealtimeShare), until it comes.
		if err := w.buildHA(ctx); err != nil {
			return err
		}
	}
	for _, h := range w.lab.Topology.Hosts {
		if !w.routers()[h.Name] {
			continue
		}
		if err := w.newContainer(ctx, h.Name); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// openDockerBed removes what killed runs left (their networks hold
// subnets: Docker refuses a network overlapping one that exists), makes
// a bed, hands it to keep at once (so that the world's Close removes
// what follows; an error from keep ends the build), and finds or builds
// the image of a static lblab (binary when it is static, else one
// built: staticLblab).
func openDockerBed(ctx context.Context, binary string, keep func(*dockerbed.Bed) error) (dockerbed.Image, error) {
	_, _, _ = dockerbed.Clean(ctx, dockerbed.CleanOptions{})
	bin, err := staticLblab(ctx, binary)
	if err != nil {
		return dockerbed.Image{}, err
	}
	bed, err := dockerbed.New()
	if err != nil {
		return dockerbed.Image{}, i18n.Errorf("docker mode: %w", err)
	}
	if err := keep(bed); err != nil {
		return dockerbed.Image{}, err
	}
	return bed.Image(ctx, bin)
}

// dockerBusyWait bounds the wait for another run's network holding a
// subnet the lab needs (Docker refuses overlapping subnets): a few of
// the catalog's runs, one after the other.
const dockerBusyWait = 5 * time.Minute

// addNetwork makes segment name's network; while another lblab run's
// network holds its subnet, it waits for that run to end (up to
// dockerBusyWait, saying so once).
func addNetwork(ctx context.Context, bed *dockerbed.Bed, name string, sn subnet) (*dockerbed.Network, error) {
	deadline := time.Now().Add(dockerBusyWait)
	said := false
	for {
		n, err := bed.AddNetwork(ctx, name, sn.prefix, sn.gateway)
		var busy *dockerbed.BusyError
		if !errors.As(err, &busy) || time.Now().After(deadline) {
			return n, err
		}
		if !said {
			slog.Warn("docker: waiting for another lblab run to free a subnet", "subnet", sn.prefix.String(), "run", busy.Run)
			said = true
		}
		_, _, _ = dockerbed.Clean(ctx, dockerbed.CleanOptions{}) // the run may have been killed
		if sleepUntil(ctx, time.Now().Add(time.Second)) != nil {
			return nil, ctx.Err()
		}
	}
}

// refuseRemote returns an input error for what a lab asks that a remote
// engine cannot do: link faults and script faults (netlink and the flag
// folder need the engine's machine), and interfaces other than one eth0
// per host (their names are Docker's there).
func (w *dockerWorld) refuseRemote() error {
	if dockerbed.Local() {
		return nil
	}
	refuse := func(what i18n.Text) error {
		return &labfile.InputError{Err: i18n.Errorf("lab %s: the %s world cannot %s", w.lab.Name, "docker", what)}
	}
	for _, f := range w.lab.Faults {
		switch f.Kind {
		case labfile.FaultLinkDown, labfile.FaultLinkUp, labfile.FaultScriptFail, labfile.FaultScriptOK:
			return refuse(i18n.T("apply fault %s on a remote Docker engine (DOCKER_HOST): faults of kind %s need the engine on this machine", f.Name, string(f.Kind)))
		}
	}
	for _, h := range w.lab.Topology.Hosts {
		if len(h.Interfaces) > 1 || (len(h.Interfaces) == 1 && h.Interfaces[0].Name != "eth0") {
			return refuse(i18n.T("name host %s's interfaces on a remote Docker engine (DOCKER_HOST): only one interface, eth0, keeps its name there", h.Name))
		}
	}
	return nil
}

// labScripts reports whether a router of lab runs a script (vrrp_script
// or notify).
func labScripts(lab *labfile.Lab) bool {
	for _, in := range lab.VRRP.Instances {
		if len(in.TrackScript) > 0 || len(in.NotifyScripts()) > 0 {
			return true
		}
	}
	return false
}

// subnet is a segment's subnet and the gateway Docker puts on its bridge.
type subnet struct {
	prefix  netip.Prefix
	gateway netip.Addr
}

// segmentSubnets returns each segment's subnet, from its hosts'
// addresses (they must agree), with the highest address of it that no
// host and no virtual address uses as the bridge's gateway.
func segmentSubnets(lab *labfile.Lab) (map[string]subnet, error) {
	used := map[netip.Addr]bool{}
	out := map[string]subnet{}
	for _, h := range lab.Topology.Hosts {
		for _, ifc := range h.Interfaces {
			a, err := netip.ParsePrefix(ifc.Address)
			if err != nil {
				return nil, err
			}
			used[a.Addr()] = true
			p := a.Masked()
			if s, ok := out[ifc.Segment]; ok && s.prefix != p {
				return nil, &labfile.InputError{Err: i18n.Errorf("lab %s: segment %s: host %s's %s is not in %s, the subnet of the segment's other hosts: a Docker network has one subnet",
					lab.Name, ifc.Segment, h.Name, ifc.Address, s.prefix)}
			}
			out[ifc.Segment] = subnet{prefix: p}
		}
	}
	for _, in := range lab.VRRP.Instances {
		for _, v := range in.VirtualIPAddress {
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			if p, err := netip.ParsePrefix(f[0]); err == nil {
				used[p.Addr()] = true
			} else if a, err := netip.ParseAddr(f[0]); err == nil {
				used[a] = true
			}
		}
	}
	for name, s := range out {
		gw := lastAddr(s.prefix)
		for gw.IsValid() && s.prefix.Contains(gw) && used[gw] {
			gw = gw.Prev()
		}
		if !gw.IsValid() || !s.prefix.Contains(gw) || gw == s.prefix.Addr() {
			return nil, &labfile.InputError{Err: i18n.Errorf("lab %s: segment %s: no address of %s is free for the Docker network's gateway", lab.Name, name, s.prefix)}
		}
		s.gateway = gw
		out[name] = s
	}
	return out, nil
}

// lastAddr is the highest address of p below its broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := bits; i < 32; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(a).Prev()
}

// routers returns the hosts that run VRRP instances.
func (w *dockerWorld) routers() map[string]bool {
	rs := map[string]bool{}
	for _, in := range w.lab.VRRP.Instances {
		rs[in.Host] = true
	}
	return rs
}

// flagPath is, in the containers, the file whose presence makes a
// host's script fail.
func (w *dockerWorld) flagPath(host, script string) string {
	return dockerFlags + "/" + host + "." + script + ".fail"
}

// newContainer starts a fresh container for host, its agent waiting for
// the start file.
func (w *dockerWorld) newContainer(ctx context.Context, host string) error {
	var h *labfile.Host
	for i := range w.lab.Topology.Hosts {
		if w.lab.Topology.Hosts[i].Name == host {
			h = &w.lab.Topology.Hosts[i]
		}
	}
	name := fmt.Sprintf("%s-%d", host, len(w.runs))
	spec := dockerbed.Spec{
		Name:  name,
		Host:  host,
		Image: w.image.Ref,
		Args: append([]string{"vrrp", "--config", "/lblab/keepalived.conf", "--history", dockerHistory, "--name", host},
			w.gate.args(name)...),
		Files: []dockerbed.File{{Path: "/lblab/keepalived.conf", Data: []byte(keepalivedConf(w.lab, host, w.flagPath))}},
		Caps:  []string{"NET_ADMIN", "NET_RAW"},
		// Real-time, as in the netns world (netns.Realtime): the checks
		// measure the protocol's timers, not the machine's other load
		// (not so, agents booted up to 0.3 s after time 0 on a loaded
		// machine).
		Realtime: true,
	}
	if w.flags != "" {
		spec.Binds = []string{w.flags + ":" + dockerFlags + ":ro"}
	}
	spec.Binds = append(spec.Binds, w.gate.binds()...)
	for _, ifc := range h.Interfaces {
		a, _ := netip.ParsePrefix(ifc.Address)
		spec.Endpoints = append(spec.Endpoints, dockerbed.Endpoint{Net: w.nets[ifc.Segment], Addr: a, Iface: ifc.Name})
	}
	c, err := w.bed.Start(ctx, spec)
	if err != nil {
		return err
	}
	if c.Realtime != nil {
		rtWarn.Do(func() {
			slog.Warn("docker: the agents run without the real-time policy: their timers may fire late on a loaded machine", "container", c.Name, "err", c.Realtime)
		})
	}
	r := &dockerRun{host: host, name: name, c: c}
	w.mu.Lock()
	w.hosts[host] = r
	w.runs = append(w.runs, r)
	w.mu.Unlock()
	// Its interfaces have the lab's names now (Start): the agent may
	// open its sockets.
	return w.gate.named(ctx, c, name)
}

// waitReady waits until the agent of every host has written its ready
// file (its sockets open and joined), at most agentReadyWait; an agent
// that exits meanwhile is an error with its output. It reports whether
// ctx ended the wait.
func (w *dockerWorld) waitReady(ctx context.Context, hosts []string) (bool, error) {
	deadline := time.Now().Add(agentReadyWait)
	for _, host := range hosts {
		r := w.hosts[host]
		for {
			ok, err := w.gate.ready(ctx, r.c, r.name)
			if ok {
				break
			}
			if ctx.Err() != nil {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			if running, _, code, err := r.c.State(ctx); err == nil && !running {
				return false, i18n.Errorf("the agent on %s (container %s, lblab vrrp) exited with status %d before it was ready:\n%s",
					host, r.c.Name, code, strings.TrimSpace(r.c.Logs(ctx)))
			}
			if time.Now().After(deadline) {
				return false, i18n.Errorf("the agent on %s (container %s, lblab vrrp) not ready after %v:\n%s",
					host, r.c.Name, agentReadyWait, strings.TrimSpace(r.c.Logs(ctx)))
			}
			if sleepUntil(ctx, time.Now().Add(dockerReadyPoll)) != nil {
				return true, nil
			}
		}
	}
	return false, nil
}

// release writes the start file, with the clock's epoch, for the
// agents of hosts: they start (dockerGate.release).
func (w *dockerWorld) release(ctx context.Context, hosts ...string) error {
	var cs []*dockerbed.Container
	var names []string
	for _, h := range hosts {
		cs, names = append(cs, w.hosts[h].c), append(names, w.hosts[h].name)
	}
	return w.gate.release(ctx, cs, names, w.epoch.UnixNano())
}

// Run waits until every agent has its sockets open and joined, then
// releases them together at the lab's time 0 (the start file, holding an
// epoch dockerStartLead ahead, written into each container: the engine
// takes tens to hundreds of milliseconds a file, and agents started one
// by one as their files arrived could hand the startup election to a
// lower priority, as the netns world's did), applies the faults on time
// (At) and waits until end. When ctx is done first it returns,
// interrupted; Finish then stops the agents.
func (w *dockerWorld) Run(ctx context.Context, end time.Duration) (time.Duration, bool, error) {
	var hosts []string
	for h := range w.hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	if interrupted, err := w.waitReady(ctx, hosts); err != nil || interrupted {
		return 0, interrupted, err
	}
	if w.ha != nil {
		if interrupted, err := w.haReady(ctx); err != nil || interrupted {
			return 0, interrupted, err
		}
	}
	lead := dockerStartLead
	if w.gate.dir != "" {
		lead = agentStartLead // one file, read by every agent at once
	}
	if w.ha != nil {
		lead = w.ha.lb.bed.Lead(len(w.ha.lb.clients))
	}
	w.epoch = time.Now().Add(lead)
	// The start file first: the agents sleep until the epoch from then
	// on. Polling for it while the proxies and clients start (seconds)
	// spent their real-time share (dockerbed.RealtimeShare: a backup
	// booted a second late, throttled until the next period).
	err := w.release(ctx, hosts...)
	if err == nil && w.ha != nil {
		err = w.haStart(ctx, end, w.epoch)
	}
	if ctx.Err() != nil {
		return max(w.Since(), 0), true, nil
	}
	if err != nil {
		return max(w.Since(), 0), false, err
	}
	if late := w.Since(); late > 0 {
		// Some agents read their start file after time 0: they started
		// late, apart from the others.
		slog.Warn("docker: the start files reached the containers after the lab's time 0", "late", late, "lead", lead)
	}
	reached, interrupted, err := w.runClock(ctx, end)
	reached = max(reached, 0)
	if w.ha != nil {
		w.ha.lb.reached = reached // the requests' merge: unknown after it
	}
	if err != nil || interrupted {
		return reached, interrupted, err
	}
	// An agent that ended on its own before now failed: say why.
	opctx, cancel := context.WithTimeout(context.Background(), dockerOpWait)
	defer cancel()
	for _, r := range w.runs {
		running, _, code, err := r.c.State(opctx)
		if err != nil {
			return reached, false, err
		}
		if !running && !r.killed && code != 0 {
			return reached, false, i18n.Errorf("the agent on %s (container %s, lblab vrrp) exited with status %d:\n%s",
				r.host, r.c.Name, code, strings.TrimSpace(r.c.Logs(opctx)))
		}
	}
	return reached, false, nil
}

// Apply carries out one fault now, stamped when it took effect
// (applyStamped): a crash when the SIGKILL returned (dockerbed's
// Container.Kill: on a local engine the container is dead then), or on a
// remote engine when the kill was sent; a restore
// or start when the new agent booted (mergeAgents).
func (w *dockerWorld) Apply(f labfile.Fault) error {
	return applyStamped(w.Since, w.extra, f, w.do)
}

// do carries out one fault. It returns when the fault took effect (time
// since the epoch), or 0 for "when do returned".
func (w *dockerWorld) do(f labfile.Fault) (time.Duration, error) {
	if ok, at, err := w.haDo(f); ok {
		return at, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerOpWait)
	defer cancel()
	hostName, ifname, _ := strings.Cut(f.Target, ":")
	r := w.hosts[hostName]
	if r == nil {
		return 0, i18n.Errorf("host %s runs no container in the docker world (only VRRP routers do)", hostName)
	}
	links := func(up bool) error {
		for _, ep := range r.c.Endpoints {
			if ifname == "" || ep.Iface == ifname {
				if err := r.c.SetLink(ep.Iface, up); err != nil {
					return err
				}
			}
		}
		return nil
	}
	switch f.Kind {
	case labfile.FaultCrash:
		r.killed = true
		if w.ha != nil {
			// The node's proxy shares the agent's namespace and would
			// keep it (and the VIP on it) alive: the agent is frozen
			// first (a dead host does not hear its link go down: its
			// agent would leave master in its history), the links go
			// down, the host silent from then on, and every role dies
			// after.
			effect, err := w.freezeAgent(ctx, r)
			if err != nil {
				return 0, err
			}
			if err := links(false); err != nil {
				return 0, err
			}
			if err := r.c.Kill(ctx); err != nil {
				return 0, err
			}
			silentDeaths(w.lab, w.extra, effect, hostName, "host crashed")
			return effect, w.haCrash(hostName)
		}
		began := w.Since()
		if err := r.c.Kill(ctx); err != nil {
			return 0, err
		}
		effect := w.Since()
		if !w.bed.Local() {
			// The engine's kill returns once it has torn the container
			// down, long after its death; the request reached it a
			// network's one-way delay after it was sent.
			effect = began
		}
		silentDeaths(w.lab, w.extra, effect, hostName, "host crashed")
		return effect, nil
	case labfile.FaultRestore, labfile.FaultStart:
		if running, _, _, err := r.c.State(ctx); err == nil && running {
			return 0, nil // still running
		}
		// Stamped before the container is made: its agent may boot
		// before the engine's calls return (on a local engine the start
		// file is there already), and the merge moves the stamp to the
		// boot that follows it (bootStamp).
		at := w.Since()
		if err := w.newContainer(ctx, hostName); err != nil {
			return 0, err
		}
		if err := w.release(ctx, hostName); err != nil {
			return at, err
		}
		return at, w.haHost(f.Kind, hostName)
	case labfile.FaultStop:
		// Stamped when the signal is sent on a remote engine (the
		// engine's answer comes after the delivery), when kill(2)
		// returns on a local one (delivered then).
		began := w.Since()
		if err := r.c.Signal(ctx, syscall.SIGTERM); err != nil {
			return 0, err
		}
		if !w.bed.Local() {
			return began, w.haHost(f.Kind, hostName)
		}
		return w.Since(), w.haHost(f.Kind, hostName)
	case labfile.FaultPause:
		return 0, r.c.Pause(ctx)
	case labfile.FaultResume:
		return 0, r.c.Unpause(ctx)
	case labfile.FaultLinkDown:
		return 0, links(false)
	case labfile.FaultLinkUp:
		return 0, links(true)
	case labfile.FaultScriptFail:
		return 0, os.WriteFile(filepath.Join(w.flags, hostName+"."+f.Script+".fail"), nil, 0o644)
	case labfile.FaultScriptOK:
		err := os.Remove(filepath.Join(w.flags, hostName+"."+f.Script+".fail"))
		if os.IsNotExist(err) {
			return 0, nil
		}
		return 0, err
	}
	return 0, nil
}

// dockerStopWait bounds the wait for the agents to stop at the end (a
// short one when the user interrupted the run).
const (
	dockerStopWait        = 5 * time.Second
	dockerStopWaitStopped = time.Second
)

// Finish ends the agents (SIGTERM: they write the end of their
// histories; a paused container is thawed first, and Close kills what is
// left), copies every container's history out and merges them.
func (w *dockerWorld) Finish(ctx context.Context) ([]history.Event, int, error) {
	wait := dockerStopWait
	if ctx.Err() != nil {
		wait = dockerStopWaitStopped
	}
	more, sent, err := w.haFinish(ctx)
	if err != nil {
		return nil, 0, err
	}
	opctx, cancel := context.WithTimeout(context.Background(), dockerOpWait)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range w.hosts {
		wg.Go(func() {
			running, paused, _, err := r.c.State(opctx)
			if err != nil || !running {
				return
			}
			if paused {
				_ = r.c.Unpause(opctx)
			}
			_ = r.c.Signal(opctx, syscall.SIGTERM)
			wctx, wcancel := context.WithTimeout(opctx, wait)
			defer wcancel()
			_, _ = r.c.Wait(wctx)
		})
	}
	wg.Wait()
	histories := make([][]history.Event, len(w.runs))
	errs := make([]error, len(w.runs))
	for i, r := range w.runs {
		wg.Go(func() {
			b, err := r.c.ReadFile(opctx, dockerHistory)
			if errors.Is(err, os.ErrNotExist) {
				return
			}
			if err != nil {
				errs[i] = err
				return
			}
			histories[i], errs[i] = history.ReadJSONL(strings.NewReader(string(b)), r.c.Name+":"+dockerHistory)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	return haMerge(mergeAgents(histories, w.extra.Events()), more), sent, nil
}

// Close removes the containers and networks (by the run's label, also
// those a cancelled build was making) and the bed's work folder. It runs
// once; later calls do nothing.
func (w *dockerWorld) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	w.haClose()
	if w.bed == nil {
		return nil
	}
	return w.bed.Cleanup()
}

// staticLblab returns a statically linked lblab for the image: bin (by
// default this process's executable) when it is static, else one built
// with CGO_ENABLED=0 from the lblab module the working folder is in,
// into the user's cache folder.
func staticLblab(ctx context.Context, bin string) (string, error) {
	bin, root, err := staticSource(ctx, bin)
	if err != nil || root == "" {
		return bin, err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "lblab", "lblab-static")
	build := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/lblab")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := build.CombinedOutput(); err != nil {
		return "", i18n.Errorf("docker mode: building a static lblab: %w\n%s", err, msg)
	}
	return out, nil
}

// staticSource says where a static lblab comes from, without building
// anything: bin itself (by default this process's executable) when it is
// static (root ""), else the lblab source folder root to build one in;
// an error when neither is at hand.
func staticSource(ctx context.Context, bin string) (string, string, error) {
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", "", err
		}
		bin = exe
	}
	if ok, err := dockerbed.Static(bin); err == nil && ok {
		return bin, "", nil
	}
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if err != nil || !isLblabModule(filepath.Join(root, "go.mod")) {
		return "", "", i18n.Errorf("docker mode: %s is dynamically linked, and a FROM scratch image needs a static lblab: build one with CGO_ENABLED=0 go build ./cmd/lblab (or run from the lblab source folder, where lblab builds it)", bin)
	}
	return bin, root, nil
}

// dockerAvailable is the docker world's Available: an engine answers, and
// a static lblab is at hand for the image (checked before any world of a
// run starts, so that lblab compare does not find out after the others).
func dockerAvailable() error {
	if err := dockerbed.Available(); err != nil {
		return err
	}
	_, _, err := staticSource(context.Background(), "")
	return err
}

// isLblabModule reports whether the go.mod at path is lblab's.
func isLblabModule(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(first) == "module github.com/lblab/lblab"
}
