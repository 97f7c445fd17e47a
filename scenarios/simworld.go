package scenarios

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/simload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/discovery"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/vrrpsim/simdriver"
)

// simWorld is a lab built in the simulator.
type simWorld struct {
	lab      *labfile.Lab
	k        *sim.Kernel
	net      *sim.Network
	log      *history.Log // nil when the history streams to sink alone
	sink     history.Sink // where the history goes: log, or streamed
	vrrp     map[string]*simdriver.Host
	hosts    map[string]*labfile.Host
	proxy    *simproxy.Proxy
	backends map[string]*simload.Backend
	clients  []*simload.Clients
	err      error // the first error of a function given to At

	// Container discovery (lb.discovery: docker): the services'
	// containers, by name; the discovery core's state; its delay.
	containers map[string]*simContainer
	running    map[string]int // service → containers running
	disc       *discovery.State
	discDelay  time.Duration

	// ha is the high-availability part of a lab that places its load
	// balancer on hosts (simworld_ha.go); nil otherwise.
	ha *haWorld
}

// simContainer is a container of a lab service: its backend and what
// discovery knows of it.
type simContainer struct {
	c discovery.Container
	b *simload.Backend
}

func init() {
	Register(Factory{Name: "sim", Doc: i18n.T("the deterministic discrete-event simulator: virtual time, no privileges"),
		Caps: Capabilities{
			Roles:             []Role{RoleVRRP, RoleProxy, RoleBackend, RoleClients},
			Faults:            labfile.FaultKinds,
			LinkShaping:       true,
			MulticastFirewall: true,
			Deterministic:     true,
			TCPListeners:      true,
			HA:                true,
			Cloud:             true,
		},
		New: func(lab *labfile.Lab, seed uint64, sink history.Sink, _ Options) (World, error) {
			return newSimWorld(lab, seed, sink), nil
		}})
}

var _ World = (*simWorld)(nil)

// newSimWorld is the lab on a new kernel seeded with seed, its history
// going to sink as it happens, in time order (the simulator records every
// event at the virtual time it happens at), or, with sink nil, kept for
// Finish.
func newSimWorld(lab *labfile.Lab, seed uint64, sink history.Sink) *simWorld {
	w := &simWorld{lab: lab, k: sim.NewKernel(seed), sink: sink,
		vrrp: map[string]*simdriver.Host{}, hosts: map[string]*labfile.Host{}}
	if sink == nil {
		w.log = &history.Log{}
		w.sink = w.log
	}
	return w
}

// Build builds the lab's network, routers, load balancer, backends and
// clients on the kernel (see World.Build).
func (w *simWorld) Build(ctx context.Context) error {
	lab := w.lab
	w.net = sim.NewNetwork(w.k)
	for _, s := range lab.Topology.Segments {
		if _, err := w.net.AddSegment(s.Name, sim.Link{Latency: s.Latency.D, Jitter: s.Jitter.D, Loss: s.Loss}); err != nil {
			return i18n.Errorf("segment %s: %w", s.Name, err)
		}
	}
	for i := range lab.Topology.Hosts {
		h := &lab.Topology.Hosts[i]
		w.hosts[h.Name] = h
		host, err := w.net.AddHost(h.Name)
		if err != nil {
			return i18n.Errorf("host %s: %w", h.Name, err)
		}
		for _, ifc := range h.Interfaces {
			if ifc.VSwitch != "" {
				continue // the cloud network: traced (simcloud.go), no L3 forwarding yet
			}
			addr, _ := netip.ParsePrefix(ifc.Address)
			link := sim.Link{Latency: ifc.Latency.D, Jitter: ifc.Jitter.D, Loss: ifc.Loss}
			if _, err := host.Attach(ifc.Name, w.net.Segment(ifc.Segment), addr, link); err != nil {
				return i18n.Errorf("host %s interface %s: %w", h.Name, ifc.Name, err)
			}
		}
	}
	if lab.VRRP != nil {
		journal := simdriver.NewJournal(w.sink)
		for i := range lab.VRRP.Instances {
			in := &lab.VRRP.Instances[i]
			vh := w.vrrp[in.Host]
			if vh == nil {
				vh = simdriver.NewHost(w.k, w.net.Host(in.Host), journal)
				w.vrrp[in.Host] = vh
				// In name order: the lab's scripts are a map, and the
				// order they run in when due together is part of the run.
				for _, name := range slices.Sorted(maps.Keys(lab.VRRP.Scripts)) {
					s := lab.VRRP.Scripts[name]
					sc := simdriver.Script{Name: name, Interval: s.Interval.D, OK: true}
					// A restarting script acts only where it is tracked
					// (elsewhere it would restart a proxy nothing watches).
					if r, ok := lab.RestartScript(in.Host); ok && r == name {
						sc.Run = w.restartRun(in.Host, s.RestartWait.D)
					}
					vh.AddScript(sc)
				}
			}
			if err := vh.AddInstance(in.Interface, labfile.InstanceConfig(lab, in, w.hosts[in.Host])); err != nil {
				return i18n.Errorf("vrrp_instance %s on %s: %w", in.Name, in.Host, err)
			}
		}
		// Every router boots at t=0, in the order of the lab file.
		for i := range lab.VRRP.Instances {
			vh := w.vrrp[lab.VRRP.Instances[i].Host]
			w.k.At(0, vh.Start)
		}
	}
	w.buildCloud()
	switch {
	case lab.HA():
		if err := w.buildHA(); err != nil {
			return err
		}
	case lab.LB != nil:
		if err := w.buildLB(); err != nil {
			return err
		}
	}
	return nil
}

// At schedules fn at virtual time t (see World.At). fn's error is kept:
// the first one ends Run.
func (w *simWorld) At(t time.Duration, fn func() error) {
	w.k.At(t, func() {
		if err := fn(); err != nil && w.err == nil {
			w.err = err
		}
	})
}

// Run plays the lab to end in virtual time, or until ctx is done (see
// World.Run).
func (w *simWorld) Run(ctx context.Context, end time.Duration) (time.Duration, bool, error) {
	interrupted := w.k.RunContext(ctx, end) != nil
	return w.k.Now(), interrupted, w.err
}

// Apply carries out one fault now and records it (see World.Apply): in
// the simulator a fault takes effect at the instant it is applied.
func (w *simWorld) Apply(f labfile.Fault) error {
	w.apply(f)
	return nil
}

// Finish ends the clients (a request in flight is recorded as such) and
// records the routers' dropped adverts; it returns the history when it
// was kept, and how many requests the clients sent.
func (w *simWorld) Finish(context.Context) ([]history.Event, int, error) {
	for _, c := range w.clients {
		c.Finish()
	}
	hosts := make([]string, 0, len(w.vrrp))
	for name := range w.vrrp {
		hosts = append(hosts, name)
	}
	slices.Sort(hosts) // map order is random; the history must not be
	for _, name := range hosts {
		w.vrrp[name].RecordDrops()
	}
	var events []history.Event
	if w.log != nil {
		events = w.log.Events()
	}
	return events, w.sent(), nil
}

// Close does nothing: the simulator holds nothing outside memory.
func (w *simWorld) Close() error { return nil }

// apply carries out one fault now and records it.
func (w *simWorld) apply(f labfile.Fault) {
	w.sink.Add(history.Event{T: history.Stamp(w.k.Now()), Kind: history.KindFault, Fault: string(f.Kind), Target: f.Target, Name: f.Name})
	if w.applyHA(f) {
		return
	}
	if b := w.backends[f.Target]; b != nil {
		if c := w.containerAt(f.Target); c != nil {
			switch f.Kind {
			case "crash": // the process dies: docker's die event
				w.discover(discovery.ActionDie, c)
			case "restore":
				w.discover(discovery.ActionStart, c)
			}
		}
		switch f.Kind {
		case "crash":
			b.Crash()
		case "power_off":
			b.PowerOff()
		case "hang":
			b.Hang()
		case "slow":
			b.Slow(f.Factor)
		case "restore":
			b.Restore()
		case "health_fail", "health_ok":
			b.SetHealth(f.Kind == "health_ok")
		}
		return
	}
	if f.Kind == labfile.FaultScale {
		w.scale(f.Target, *f.Count)
		return
	}
	if f.Kind == "health_path" {
		_ = w.proxy.SetHealthPath(f.Target, f.Path) // checked by validate
		return
	}
	hostName, ifname, _ := strings.Cut(f.Target, ":")
	host := w.net.Host(hostName)
	switch f.Kind {
	case "crash":
		host.Crash()
	case "restore":
		host.Restore()
	case "stop":
		if vh := w.vrrp[f.Target]; vh != nil {
			vh.Stop()
		}
	case "start":
		if vh := w.vrrp[f.Target]; vh != nil {
			vh.Start()
		}
	case "pause", "resume":
		if vh := w.vrrp[f.Target]; vh != nil {
			if f.Kind == "pause" {
				vh.Pause()
			} else {
				vh.Resume()
			}
		}
	case "link_down", "link_up":
		for _, ifc := range host.Ifaces() {
			if ifname == "" || ifc.Name() == ifname {
				ifc.SetUp(f.Kind == "link_up")
			}
		}
	case "partition":
		_ = w.net.Segment(f.Target).Partition(f.Groups) // names checked by validate
	case "heal":
		w.net.Segment(f.Target).Heal()
	case "script_fail", "script_ok":
		if vh := w.vrrp[f.Target]; vh != nil {
			_ = vh.SetScript(f.Script, f.Kind == "script_ok") // checked by validate
		}
	}
}

// buildLB builds the load balancer, its backends and its clients.
func (w *simWorld) buildLB() error {
	lab := w.lab
	bs, nw := w.buildBackends()
	cfg := lab.LB
	if len(lab.Services) > 0 {
		cfg, bs = w.buildServices(bs)
	}
	p, err := simproxy.New(w.k, cfg, bs, nw, w.sink)
	if err != nil {
		return i18n.Errorf("lb: %w", err)
	}
	w.proxy = p
	for i, spec := range lab.Clients {
		c := simload.NewClients(w.k, p, spec, i, lab.RunDuration(), w.sink)
		w.clients = append(w.clients, c)
		c.Start()
	}
	return nil
}

// buildBackends makes the lab's backends and returns them with the load
// balancer's latencies.
func (w *simWorld) buildBackends() ([]simproxy.Server, simproxy.Network) {
	lab := w.lab
	w.backends = map[string]*simload.Backend{}
	var bs []simproxy.Server
	for _, spec := range lab.Backends {
		b := simload.NewBackend(w.k, spec)
		w.backends[spec.Address] = b
		bs = append(bs, b)
	}
	var nw simproxy.Network
	if lab.Network != nil {
		nw = simproxy.Network{ClientLatency: lab.Network.ClientLatency.D, BackendLatency: lab.Network.BackendLatency.D}
	}
	return bs, nw
}

// buildServices makes every container the lab's services ever run (the
// most of their replicas and scale counts), as backends, those beyond
// the replicas stopped; the running ones are registered from the start
// (the container list discovery reads when it starts). It returns the
// configuration with their servers and the backends with theirs.
func (w *simWorld) buildServices(bs []simproxy.Server) (*proxy.Config, []simproxy.Server) {
	lab := w.lab
	w.containers, w.running, w.disc = map[string]*simContainer{}, map[string]int{}, discovery.NewState()
	w.discDelay = labfile.DefaultDiscoveryDelay
	if lab.Network != nil && lab.Network.DiscoveryDelay.D > 0 {
		w.discDelay = lab.Network.DiscoveryDelay.D
	}
	for _, s := range lab.Services {
		for i := 1; i <= s.Slots(lab); i++ {
			spec := s.Backend
			name := s.Container(i)
			spec.Address = net.JoinHostPort(name, strconv.Itoa(s.PortOr()))
			b := simload.NewBackend(w.k, spec)
			w.backends[spec.Address] = b
			bs = append(bs, b)
			c := &simContainer{c: discovery.Container{ID: name, Name: name, Host: name, Labels: s.Labels}, b: b}
			w.containers[name] = c
			if i <= s.ReplicasOr() {
				w.disc.Apply(discovery.Event{Action: discovery.ActionStart, Container: c.c})
			} else {
				b.Crash()
			}
		}
		w.running[s.Name] = min(s.ReplicasOr(), s.Slots(lab))
	}
	cfg, _ := discovery.Servers(lab.LB, w.disc) // the labels were checked by validate
	return cfg, bs
}

// containerAt returns the service container whose backend is at addr, or
// nil.
func (w *simWorld) containerAt(addr string) *simContainer {
	host, _, _ := strings.Cut(addr, ":")
	return w.containers[host]
}

// scale runs n containers of service from now: new ones start (restored
// backends, start events), the highest-numbered running ones stop (their
// backends die; die, stop and destroy events: compose removes them).
func (w *simWorld) scale(service string, n int) {
	var s *labfile.Service
	for i := range w.lab.Services {
		if w.lab.Services[i].Name == service {
			s = &w.lab.Services[i]
		}
	}
	if s == nil {
		return // checked by validate
	}
	cur := w.running[service]
	for i := cur + 1; i <= n; i++ {
		c := w.containers[s.Container(i)]
		c.b.Restore()
		w.discover(discovery.ActionStart, c)
	}
	for i := cur; i > n; i-- {
		c := w.containers[s.Container(i)]
		c.b.Crash()
		w.discover(discovery.ActionDie, c)
		w.discover(discovery.ActionStop, c)
		w.discover(discovery.ActionDestroy, c)
	}
	w.running[service] = n
}

// discover delivers a container event to the load balancer's discovery
// after the Docker event delay: the state takes it, and the proxy the
// servers it maps to.
func (w *simWorld) discover(action string, c *simContainer) {
	ev := discovery.Event{Action: action, Container: c.c}
	w.At(w.k.Now()+w.discDelay, func() error {
		if !w.disc.Apply(ev) {
			return nil
		}
		cfg, _ := discovery.Servers(w.lab.LB, w.disc)
		if err := w.proxy.SetConfig(cfg, nil); err != nil {
			return i18n.Errorf("lb: container %s %s: %w", c.c.Name, action, err)
		}
		return nil
	})
}

// sent returns how many requests the clients sent.
func (w *simWorld) sent() int {
	n := 0
	for _, c := range w.clients {
		n += c.Sent
	}
	return n
}
