package scenarios

import (
	"cmp"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/probe"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/netns"
)

// A high-availability lab (labfile.Lab.HA) in network namespaces: the
// VRRP world (netns.go) builds the topology (a namespace per host, a
// bridge per segment, the lab's addresses) and runs the routers as for
// any VRRP lab; it hosts the load-balancer roles' player, lbWorld,
// through the lbBed seam (a netnsBed over its own hosts,
// lbworld_ha.go), and the probes (netnsProbes). One time 0 for all:
// the agents and probes get ready first, then the proxies start counting
// from an epoch a Lead ahead (lbWorld.startNodes), the clients start
// waiting for it (--start-at), and the start file releases the agents
// and probes at that same epoch.
//
// Faults, as the simulator has them on a node: crash (the node dies:
// every process of the host frozen, its links down, all SIGKILLed),
// restore (links up, a fresh agent, a fresh proxy, its servers back),
// stop (the agent leaves with priority 0, the proxy is killed), start
// (a fresh agent and proxy), pause/resume (every process of the host),
// proxy_crash (only the proxy SIGKILLed); a server's faults (target
// HOST:PORT) as the load-balancer labs have them (lbWorld.do).
//
// The history: the agents' (mergeAgents, with the faults), the requests
// (mergeLBHistories: each client's request joined with the proxy that
// served it, Src the client's host, Answer the node) and the probes' net
// events, in time order.

// netnsHA is the high-availability part of a netnsWorld.
type netnsHA struct {
	lb     *lbWorld
	probes *netnsProbes
	// pinned are the client hosts' interfaces whose reachable time
	// clientNeigh pinned to the lab's arp_timeout; unpin stops keeping
	// it there (keepPinned).
	pinned []*netns.Link
	unpin  func() int
}

// buildHA makes the load balancer's roles on the built topology (its
// servers start now, its proxies with the clock) and the probes.
func (w *netnsWorld) buildHA(ctx context.Context) error {
	lw, err := newLBWorld(w.lab, w.seed, &netnsBed{opt: w.opt, topo: w})
	if err != nil {
		return err
	}
	w.ha = &netnsHA{lb: lw.(*lbWorld)}
	if err := restartRefusal(w.lab); err != nil {
		return err
	}
	w.ha.lb.pidFile = w.proxyPidPath
	if err := w.writeRestartScripts(); err != nil {
		return err
	}
	if err := w.clientNeigh(); err != nil {
		return err
	}
	w.ha.unpin = w.keepPinned()
	specs, phases := labProbes(w.lab, w.seed)
	if w.ha.probes, err = newNetnsProbesAt(w.opt.Binary, w.opt.Work, w.startPath(), w.hosts, specs, phases); err != nil {
		return err
	}
	return w.ha.lb.Build(ctx)
}

// labProbes returns the probes of lab's clients (labfile.Lab.ClientProbes)
// and the first send time of each: its start plus the phase the
// simulator draws for it from seed (simprobe.go).
func labProbes(lab *labfile.Lab, seed uint64) ([]probe.Spec, []time.Duration) {
	var specs []probe.Spec
	var phases []time.Duration
	for _, p := range lab.ClientProbes() {
		specs = append(specs, probe.Spec{Name: p.Name, From: p.From, To: p.To, Kind: probe.Kind(p.Kind),
			Interval: p.Interval.D, Timeout: p.Timeout.D})
		phases = append(phases, p.Start.D+probePhase(seed, p))
	}
	return specs, phases
}

// haReady starts the probes (they wait for the start file, as the
// agents do) and waits until they are ready; it reports whether ctx
// ended the wait.
func (w *netnsWorld) haReady(ctx context.Context) (bool, error) {
	if err := w.ha.probes.start(); err != nil {
		return false, err
	}
	return w.ha.probes.waitReady(ctx, agentReadyWait)
}

// haStart starts the proxies, which set the lab's time 0 (the clock's
// epoch: epoch, or a Lead ahead when zero), and the clients, which wait
// for it, before the start file is written.
func (w *netnsWorld) haStart(ctx context.Context, end time.Duration, epoch time.Time) error {
	lb := w.ha.lb
	if err := lb.startNodes(ctx, epoch); err != nil {
		return err
	}
	w.epoch = lb.epoch
	return lb.startClients(ctx, end)
}

// haFinish stops the clients and the proxies and merges the requests
// (lbWorld.Finish), then stops the probes; it returns the requests, the
// probes' net events and how many requests were sent.
func (w *netnsWorld) haFinish(ctx context.Context, wait time.Duration) ([]history.Event, int, error) {
	if w.ha == nil {
		return nil, 0, nil
	}
	reqs, sent, err := w.ha.lb.Finish(ctx)
	w.ha.probes.stop(wait)
	if w.ha.unpin != nil {
		w.ha.unpin()
	}
	if err != nil {
		return nil, 0, err
	}
	macs, err := hostMACs(w.links)
	if err != nil {
		return nil, 0, err
	}
	nets, err := w.ha.probes.events(macs)
	if err != nil {
		return nil, 0, err
	}
	return append(reqs, nets...), sent, nil
}

// pinPoll is how often keepPinned looks at the clients' reachable time.
const pinPoll = 50 * time.Millisecond

// keepPinned pins the clients' reachable time to the lab's arp_timeout
// again whenever the kernel draws it anew during the run (Linux does
// every 300 s for every interface, neigh_periodic_work), looking every
// pinPoll, until the function it returns is called; that returns how
// many times it did.
func (w *netnsWorld) keepPinned() func() int {
	base := w.lab.ARPTimeoutOr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		n := 0
		t := time.NewTicker(pinPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- n
				return
			case <-t.C:
			}
			for _, l := range w.ha.pinned {
				got, err := l.Host.Reachable(l.Iface)
				if err != nil || (got-base).Abs() <= netns.ReachablePin {
					continue
				}
				if _, err := l.Host.PinReachable(l.Iface, base); err != nil {
					slog.Warn("the kernel drew the reachable time again, and it could not be pinned: the neighbour cache left the lab's model",
						"host", l.Host.Name, "iface", l.Iface, "drawn", got, "err", err)
					continue
				}
				n++
				slog.Info("the kernel drew the reachable time again: pinned back", "host", l.Host.Name, "iface", l.Iface, "drawn", got, "pinned", base)
			}
		}
	}()
	var once sync.Once
	var n int
	return func() int {
		once.Do(func() {
			cancel()
			n = <-done
		})
		return n
	}
}

// haDo carries out a segment's faults (firewall, firewall_clear,
// garp_drop: any lab's), and the faults of a high-availability lab that
// are not the VRRP world's alone: proxy_crash, and a server's faults
// (target HOST:PORT). It reports whether f was one, and when it took effect
// (time since the epoch; 0 for when haDo returned).
func (w *netnsWorld) haDo(f labfile.Fault) (bool, time.Duration, error) {
	if f.Kind == labfile.FaultFirewall || f.Kind == labfile.FaultFirewallClear || f.Kind == labfile.FaultGARPDrop {
		return true, 0, w.firewall(f) // a segment's: VRRP labs have them too
	}
	if w.ha == nil {
		return false, 0, nil
	}
	return w.ha.lb.haFault(f, w.proxyScripts, w.epoch)
}

// haHost follows a fault on a whole host (kind) with the load
// balancer's roles there: after a crash they are dead; a restore or a
// start brings them back; a stop kills the proxy (the node shuts down).
func (w *netnsWorld) haHost(kind labfile.FaultKind, host string) error {
	if w.ha == nil {
		return nil
	}
	if kind == labfile.FaultCrash {
		w.ha.lb.nodeDown(host)
		return nil
	}
	return w.ha.lb.hostFault(kind, host, w.proxyScripts)
}

// proxyScripts makes the vrrp_scripts of host that check its proxy
// (labfile.Lab.ProxyScripts: chk_nginx) pass (up) or fail, as their
// commands would with the proxy running or gone: the generated
// configuration checks a flag file instead of running them (flagPath).
func (w *netnsWorld) proxyScripts(host string, up bool) error {
	for _, name := range w.lab.ProxyScripts(host) {
		flag := w.flagPath(host, name)
		if !up {
			if err := os.WriteFile(flag, nil, 0o644); err != nil {
				return err
			}
			continue
		}
		if err := os.Remove(flag); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// haMerge puts the requests and net events (haFinish) among the agents'
// merged history, in time order (each list keeps its order on a tie).
func haMerge(agents, more []history.Event) []history.Event {
	if len(more) == 0 {
		return agents
	}
	out := append(slices.Clone(agents), more...)
	slices.SortStableFunc(out, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
	return out
}

// haClose ends the load balancer's roles (their standbys too) before
// the testbed goes.
func (w *netnsWorld) haClose() {
	if w.ha != nil {
		if w.ha.unpin != nil {
			w.ha.unpin()
		}
		_ = w.ha.lb.Close()
		w.ha.probes.stop(time.Second)
	}
}

// firewall blocks (firewall) or unblocks (firewall_clear) IP protocol
// f.Proto between the hosts f.Between on segment f.Target, or only its
// multicast (multicast: true), or their gratuitous ARP for the lab's
// VIPs (garp_drop): the bridge drops what it would forward from one of
// their ports to another (netns.Segment.Block, BlockMulticast,
// BlockGARP); the others pass.
func (w *netnsWorld) firewall(f labfile.Fault) error {
	seg := w.segs[f.Target]
	if seg == nil {
		return i18n.Errorf("no segment %s", f.Target)
	}
	var ports []string
	for _, host := range f.Between {
		for _, l := range w.links[host] {
			if l.Segment == seg {
				ports = append(ports, l.Port)
			}
		}
	}
	switch {
	case f.Kind == labfile.FaultFirewallClear:
		return seg.Unblock(ports)
	case f.Kind == labfile.FaultGARPDrop:
		return seg.BlockGARP(labVIPs(w.lab), ports)
	case f.Multicast:
		return seg.BlockMulticast(uint8(f.Proto), ports)
	}
	return seg.Block(uint8(f.Proto), ports)
}

// labVIPs returns the addresses of the lab's VIPs, each once, in the
// order of its instances.
func labVIPs(lab *labfile.Lab) []netip.Addr {
	var out []netip.Addr
	if lab.VRRP == nil {
		return nil // refused by validation; no VIP to guard
	}
	for _, in := range lab.VRRP.Instances {
		for _, s := range in.VirtualIPAddress {
			if p, err := labfile.ParseVIP(s); err == nil && !slices.Contains(out, p.Addr()) {
				out = append(out, p.Addr())
			}
		}
	}
	return out
}

// clientNeigh sets the neighbour caches of the hosts of the lab's
// clients and probes to the lab's model (labfile.LBNetwork.ARPTimeout):
// base_reachable_time arp_timeout, pinned without Linux's random factor,
// and Linux's default delay_first_probe_time, retrans_time, ucast_solicit
// and mcast_solicit written out (netns.Host.SetNeigh), as the simulator's
// sim.NeighConfig has them.
func (w *netnsWorld) clientNeigh() error {
	var hosts []string
	for _, c := range w.lab.Clients {
		hosts = append(hosts, c.From)
	}
	for _, p := range w.lab.ClientProbes() {
		hosts = append(hosts, p.From)
	}
	slices.Sort(hosts)
	for _, name := range slices.Compact(hosts) {
		for _, l := range w.links[name] {
			got, err := l.Host.SetNeigh(l.Iface, netns.NeighTimers{Reachable: w.lab.ARPTimeoutOr()})
			if err != nil {
				return err
			}
			slog.Debug("neighbour cache pinned", "host", name, "iface", l.Iface, "reachable", got)
			w.ha.pinned = append(w.ha.pinned, l)
		}
	}
	return nil
}
