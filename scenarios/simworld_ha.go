package scenarios

import (
	"net/netip"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/simload"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/vrrpsim"
)

// A high-availability lab in the simulator (labfile.Lab.HA): the load
// balancer runs on each host with the proxy role (a simproxy.Node: the
// proxy process and the host's connections), beside the host's VRRP
// router when it has one; each clients element sends from its host
// across the simulated network to its address (a VIP), through the
// host's neighbour cache (simload.Stack); probes go the same way
// (simprobe.go). The proxy's hop to its servers is still the lab's
// backend latency (simproxy.Network), not the segments.

// haWorld is the high-availability part of a simWorld.
type haWorld struct {
	wire   *simproxy.Wire
	nodes  map[string]*simproxy.Node
	stacks map[string]*simload.Stack
	order  []string // the proxy hosts, in the lab's order
	// broken are the proxy hosts whose proxy cannot start again (a
	// proxy_crash with start_fails), until a restore or a start.
	broken map[string]bool
}

// buildHA builds the proxies on their hosts, the backends, the client
// hosts' stacks, the clients and the probes.
func (w *simWorld) buildHA() error {
	lab := w.lab
	w.ha = &haWorld{wire: simproxy.NewWire(), nodes: map[string]*simproxy.Node{}, stacks: map[string]*simload.Stack{}, broken: map[string]bool{}}
	bs, nw := w.buildBackends()
	for _, name := range lab.ProxyHosts() {
		name := name
		node, err := simproxy.NewNode(w.net.Host(name), w.ha.wire, func() (*simproxy.Proxy, error) {
			return simproxy.NewOn(w.k, lab.LB, bs, nw, w.sink, name)
		})
		if err != nil {
			return i18n.Errorf("lb on %s: %w", name, err)
		}
		w.ha.nodes[name] = node
		w.ha.order = append(w.ha.order, name)
	}
	// Every other host answers echo requests (its kernel does).
	for _, h := range lab.Topology.Hosts {
		if w.ha.nodes[h.Name] == nil {
			w.net.Host(h.Name).Listen(simproxy.ProtoICMP, simproxy.AnswerEcho)
		}
	}
	cfg := sim.NeighConfig{ReachableTime: lab.ARPTimeoutOr()}
	first := w.ha.nodes[w.ha.order[0]].Proxy()
	for i, spec := range lab.Clients {
		st := w.stack(spec.From, cfg)
		c := simload.NewClients(w.k, first, spec, i, lab.RunDuration(), w.sink)
		to, _ := netip.ParseAddr(spec.To) // checked by validate
		c.Via(st, to, spec.KeepaliveOr())
		w.clients = append(w.clients, c)
		c.Start()
	}
	for _, p := range lab.ClientProbes() {
		w.startProbe(p, w.stack(p.From, cfg))
	}
	return nil
}

// stack returns the stack of the host named name, made once.
func (w *simWorld) stack(name string, cfg sim.NeighConfig) *simload.Stack {
	st := w.ha.stacks[name]
	if st == nil {
		st = simload.NewStack(w.k, w.net.Host(name), w.ha.wire, cfg)
		w.ha.stacks[name] = st
	}
	return st
}

// applyHA carries out a segment's fault (firewall, firewall_clear,
// garp_drop: any lab's, as the netns world does) or a fault on a proxy
// host of a high-availability lab; it reports whether f was one (the
// rest is apply's).
func (w *simWorld) applyHA(f labfile.Fault) bool {
	switch f.Kind {
	case labfile.FaultFirewall:
		if f.Multicast {
			_ = w.net.Segment(f.Target).BlockMulticast(uint8(f.Proto), f.Between) // checked by validate
		} else {
			_ = w.net.Segment(f.Target).Block(uint8(f.Proto), f.Between)
		}
		return true
	case labfile.FaultGARPDrop:
		_ = w.net.Segment(f.Target).BlockGARP(f.Between) // checked by validate
		return true
	case labfile.FaultFirewallClear:
		w.net.Segment(f.Target).Unblock(f.Between)
		return true
	}
	if w.ha == nil {
		return false
	}
	node := w.ha.nodes[f.Target]
	if node == nil {
		return false
	}
	vh := w.vrrp[f.Target]
	switch f.Kind {
	case labfile.FaultProxyCrash:
		node.Crash()
		w.ha.broken[f.Target] = f.StartFails
		w.proxyScripts(f.Target, false)
	case labfile.FaultStop:
		// The node is shut down cleanly: the router leaves (priority
		// 0), the proxy stops (its connections are reset).
		if vh != nil {
			vh.Stop()
		}
		node.Crash()
	case labfile.FaultStart:
		w.ha.broken[f.Target] = false
		if err := node.Start(); err != nil && w.err == nil {
			w.err = i18n.Errorf("lb on %s: %w", f.Target, err)
		}
		w.proxyScripts(f.Target, true)
		if vh != nil {
			vh.Start()
		}
	case labfile.FaultPause:
		node.Pause()
		if vh != nil {
			vh.Pause()
		}
	case labfile.FaultResume:
		node.Resume()
		if vh != nil {
			vh.Resume()
		}
	case labfile.FaultRestore:
		// A restored host restarts its proxy (Node's OnUp); a crashed
		// proxy on a running host starts again.
		w.net.Host(f.Target).Restore()
		w.ha.broken[f.Target] = false
		if err := node.Start(); err != nil && w.err == nil {
			w.err = i18n.Errorf("lb on %s: %w", f.Target, err)
		}
		w.proxyScripts(f.Target, true)
	default:
		return false
	}
	return true
}

// proxyScripts sets the result of the host's scripts that check its
// proxy (labfile.Lab.ProxyScripts): they pass while it runs.
func (w *simWorld) proxyScripts(host string, running bool) {
	vh := w.vrrp[host]
	if vh == nil {
		return
	}
	for _, name := range w.lab.ProxyScripts(host) {
		_ = vh.SetScript(name, running) // the lab's scripts are on every router's host
	}
}

// restartRun is the body of a vrrp_script on host that restarts its
// proxy (labfile.Script.RestartWait): the seed's check_nginx.sh, whose
// decisions are vrrpsim.RestartCheck's. The world carries them out: it
// starts the proxy (which fails while the host's proxy is broken: a
// proxy_crash with start_fails) and, when the look after the wait finds
// it still down, stops the host's router cleanly. The script exits 0.
func (w *simWorld) restartRun(host string, wait time.Duration) func() bool {
	c := &vrrpsim.RestartCheck{Wait: wait}
	return func() bool {
		if w.ha == nil || w.ha.nodes[host] == nil {
			return true
		}
		node := w.ha.nodes[host]
		act, due := c.Run(w.k.Now(), node.Proxy() != nil)
		if act != vrrpsim.RestartStartProxy {
			return true
		}
		if !w.ha.broken[host] {
			if err := node.Start(); err != nil && w.err == nil {
				w.err = i18n.Errorf("lb on %s: %w", host, err)
			}
		}
		w.k.At(due, func() {
			if c.Look(w.k.Now(), node.Proxy() != nil) == vrrpsim.RestartStopAgent && w.vrrp[host] != nil {
				w.vrrp[host].Stop()
			}
		})
		return true
	}
}
