package scenarios

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/dockerbed"
)

// A high-availability lab (labfile.Lab.HA) in Docker containers, as the
// netns world plays one (netns_ha.go): the VRRP world (docker.go) builds
// the topology (a network per segment, a container per router with the
// lab's addresses, and here a holder container, lblab hold, for each
// other host: the servers' and the clients') and runs the routers; it
// hosts the load-balancer roles' player, lbWorld, through the lbBed seam
// (a dockerBed with topo set, whose AddHosts returns the topology's own
// containers by their lab names), each role a container joined to its
// host's container (network mode container:<host>). One time 0 for all:
// the proxies count from an epoch a Lead ahead (lbWorld.startNodes), the
// clients wait for it (--start-at), and the gate's start file releases
// the agents at that same epoch.
//
// Faults on a node: crash (its links down at the bridge, then its
// agent's container and its proxy killed), restore and start (a fresh
// agent's container, then a fresh proxy joined to it), stop (the agent
// leaves with priority 0, the proxy is killed), proxy_crash (only the
// proxy killed); a server's faults (target HOST:PORT) as the
// load-balancer labs have them (lbWorld.do).
//
// The probes: one `lblab probe` container per group (netnsProbes),
// joined to its host's container, its files in the gate's folder (the
// start file the agents read), started once the agents are ready; each
// net event's Answer is mapped from the MAC of the prober's neighbour
// entry to the host whose container's interface has it.

// dockerHA is the high-availability part of a dockerWorld.
type dockerHA struct {
	lb *lbWorld
	// holders are the containers of the hosts that run no router (lblab
	// hold), by the lab's name.
	holders map[string]*dockerbed.Container
	probes  *netnsProbes
	probeCs []*dockerbed.Container // the probers' containers made
	// macs are the hosts' interfaces' MAC addresses (lower case), read
	// before the run (a crashed router's container is gone after it).
	macs map[string]string
}

// buildHA makes a holder container for each topology host that runs no
// router, then the load balancer's roles on the topology (its servers
// start now, its proxies with the clock, joined to the routers'
// containers made after this).
func (w *dockerWorld) buildHA(ctx context.Context) error {
	w.ha = &dockerHA{holders: map[string]*dockerbed.Container{}}
	for _, h := range w.lab.Topology.Hosts {
		if w.routers()[h.Name] {
			continue
		}
		spec := dockerbed.Spec{Name: h.Name + "-host", Host: h.Name, Image: w.image.Ref, Args: []string{"hold"}}
		for _, ifc := range h.Interfaces {
			a, _ := netip.ParsePrefix(ifc.Address)
			spec.Endpoints = append(spec.Endpoints, dockerbed.Endpoint{Net: w.nets[ifc.Segment], Addr: a, Iface: ifc.Name})
		}
		c, err := w.bed.Start(ctx, spec)
		if err != nil {
			return err
		}
		w.ha.holders[h.Name] = c
	}
	lw, err := newLBWorld(w.lab, w.seed, &dockerBed{opt: w.opt, names: map[string]int{}, topo: w})
	if err != nil {
		return err
	}
	w.ha.lb = lw.(*lbWorld)
	if err := w.ha.lb.Build(ctx); err != nil {
		return err
	}
	specs, phases := labProbes(w.lab, w.seed)
	_, _, start := w.gate.paths("")
	ps := &netnsProbes{bin: "lblab", work: w.gate.dir, inside: dockerGateDir, startFile: start,
		has: func(host string) bool { _, ok := topoAddr(w.lab, host); return ok }, launch: w.launchProbe}
	if err := ps.group(specs, phases); err != nil {
		return err
	}
	w.ha.probes = ps
	// Started now, before the routers: they wait for the start file.
	return ps.start()
}

// launchProbe starts a prober's container (lblab args...) joined to
// host's container, with the gate's folder.
func (w *dockerWorld) launchProbe(host string, out io.Writer, args []string) (probeProc, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerOpWait)
	defer cancel()
	c, err := w.bed.Start(ctx, dockerbed.Spec{Name: fmt.Sprintf("%s-probe-%d", host, len(w.ha.probeCs)), Host: host, Image: w.image.Ref,
		Args: args, Join: w.hostContainer(host), Binds: w.gate.binds(), Caps: []string{"NET_RAW"}, Realtime: true})
	if err != nil {
		return nil, err
	}
	w.ha.probeCs = append(w.ha.probeCs, c)
	p := newDockerProc(context.Background(), c, true)
	go func() { <-p.done; _, _ = io.WriteString(out, p.Output()) }()
	return dockerProbe{p}, nil
}

// dockerProbe is a prober's container as a probeProc.
type dockerProbe struct{ p *dockerProc }

func (d dockerProbe) Done() <-chan struct{} { return d.p.done }
func (d dockerProbe) ExitCode() int         { _, code := d.p.Exited(); return code }
func (d dockerProbe) Terminate() error      { return d.p.Signal(syscall.SIGTERM) }
func (d dockerProbe) Wait(timeout time.Duration) error {
	if !d.p.Wait(timeout) {
		return i18n.Errorf("container %s does not end", d.p.c.Name)
	}
	return nil
}

// readMACs maps each MAC address of the topology's containers' interfaces
// (lower case) to its host.
func (w *dockerWorld) readMACs() (map[string]string, error) {
	macs := map[string]string{}
	for _, h := range w.lab.Topology.Hosts {
		c := w.hostContainer(h.Name)
		if c == nil {
			continue
		}
		for _, ep := range c.Endpoints {
			err := c.Do(func() error {
				ifc, err := net.InterfaceByName(ep.Iface)
				if err == nil {
					macs[strings.ToLower(ifc.HardwareAddr.String())] = h.Name
				}
				return err
			})
			if err != nil {
				return nil, i18n.Errorf("host %s: %w", h.Name, err)
			}
		}
	}
	return macs, nil
}

// haReady reads the hosts' MAC addresses and waits until the probes
// (started by buildHA, waiting for the start file as the agents do) are
// ready; it reports whether ctx ended the wait.
func (w *dockerWorld) haReady(ctx context.Context) (bool, error) {
	var err error
	if w.ha.macs, err = w.readMACs(); err != nil {
		return false, err
	}
	return w.ha.probes.waitReady(ctx, agentReadyWait)
}

// hostContainer is the container that is host's network namespace now:
// its router's current container, or its holder.
func (w *dockerWorld) hostContainer(host string) *dockerbed.Container {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.hosts[host]; r != nil {
		return r.c
	}
	if w.ha != nil {
		return w.ha.holders[host]
	}
	return nil
}

// haStart starts the proxies, counting from the lab's time 0 (epoch, a
// Lead ahead), and the clients, which wait for it, after the start file
// was written.
func (w *dockerWorld) haStart(ctx context.Context, end time.Duration, epoch time.Time) error {
	lb := w.ha.lb
	if err := lb.startNodes(ctx, epoch); err != nil {
		return err
	}
	return lb.startClients(ctx, end)
}

// haFinish stops the clients and the proxies and merges the requests
// (lbWorld.Finish); it returns them and how many requests were sent.
func (w *dockerWorld) haFinish(ctx context.Context) ([]history.Event, int, error) {
	if w.ha == nil || w.ha.lb == nil {
		return nil, 0, nil
	}
	reqs, sent, err := w.ha.lb.Finish(ctx)
	wait := dockerStopWait
	if ctx.Err() != nil {
		wait = dockerStopWaitStopped
	}
	if w.ha.probes != nil {
		w.ha.probes.stop(wait)
	}
	if err != nil || w.ha.probes == nil {
		return reqs, sent, err
	}
	nets, err := w.ha.probes.events(w.ha.macs)
	if err != nil {
		return nil, 0, err
	}
	return append(reqs, nets...), sent, nil
}

// haDo carries out the faults of a high-availability lab that are not
// the VRRP world's alone: proxy_crash, and a server's faults (target
// HOST:PORT). It reports whether f was one, and when it took effect
// (time since the epoch; 0 for when haDo returned).
func (w *dockerWorld) haDo(f labfile.Fault) (bool, time.Duration, error) {
	if w.ha == nil {
		return false, 0, nil
	}
	return w.ha.lb.haFault(f, w.proxyScripts, w.epoch)
}

// freezeAgent SIGSTOPs the agent of container r (from this machine: a
// local engine) and returns when every thread of it is stopped; the
// moment returned is when the signal was sent.
func (w *dockerWorld) freezeAgent(ctx context.Context, r *dockerRun) (time.Duration, error) {
	if err := r.c.Signal(ctx, syscall.SIGSTOP); err != nil {
		return 0, i18n.Errorf("host %s: freeze: %w", r.host, err)
	}
	sent := w.Since()
	deadline := time.Now().Add(freezeWait)
	for pid := r.c.Pid(); pid > 0 && !stopped(pid); {
		if time.Now().After(deadline) {
			return 0, i18n.Errorf("host %s: agent %d not stopped %v after SIGSTOP", r.host, pid, freezeWait)
		}
		time.Sleep(time.Millisecond)
	}
	return sent, nil
}

// haCrash kills the load balancer's roles on a crashed host (after its
// links went down and its agent died): the proxy, whose container keeps
// the host's namespace otherwise, and the servers.
func (w *dockerWorld) haCrash(host string) error {
	if w.ha == nil {
		return nil
	}
	lb := w.ha.lb
	if lb.node(host) != nil {
		if _, err := lb.crashNode(host); err != nil {
			return err
		}
	}
	for _, b := range w.lab.Backends {
		if be := lb.backends[b.Address]; be.host.name == host && !be.dead && be.run != nil && be.run.p != nil {
			_, _ = be.run.p.Kill()
		}
	}
	lb.nodeDown(host)
	return nil
}

// haHost follows a stop, restore or start of a whole host with the load
// balancer's roles there: a stop kills the proxy (the node shuts down);
// a restore or a start brings them back, joined to the host's fresh
// container.
func (w *dockerWorld) haHost(kind labfile.FaultKind, host string) error {
	if w.ha == nil {
		return nil
	}
	return w.ha.lb.hostFault(kind, host, w.proxyScripts)
}

// proxyScripts makes the vrrp_scripts of host that check its proxy
// (labfile.Lab.ProxyScripts: chk_nginx) pass (up) or fail, through the
// flag folder the containers see (flagPath).
func (w *dockerWorld) proxyScripts(host string, up bool) error {
	for _, name := range w.lab.ProxyScripts(host) {
		kind := labfile.FaultScriptOK
		if !up {
			kind = labfile.FaultScriptFail
		}
		if _, err := w.do(labfile.Fault{Kind: kind, Target: host, Script: name}); err != nil {
			return err
		}
	}
	return nil
}

// haClose ends the load balancer's roles (their standbys too) before
// the bed goes.
func (w *dockerWorld) haClose() {
	if w.ha != nil && w.ha.lb != nil {
		_ = w.ha.lb.Close()
	}
}
