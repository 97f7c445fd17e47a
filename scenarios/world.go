package scenarios

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/simload"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
	"github.com/lblab/lblab/vrrpsim"
	"github.com/lblab/lblab/vrrpsim/simdriver"
)

// defaultDuration is how long a lab runs when it does not say.
const defaultDuration = 30 * time.Second

// instanceConfig turns a lab's vrrp_instance into the state machine's
// configuration; what the lab leaves out gets keepalived's defaults from
// vrrpsim.Config (priority 255 for state MASTER, else 100; advert_int 1 s),
// and the version comes from vrrp.vrrp_version.
func instanceConfig(lab *Lab, in *Instance, h *Host) vrrpsim.Config {
	state := vrrpsim.StateBackup
	if strings.EqualFold(in.State, "MASTER") {
		state = vrrpsim.StateMaster
	}
	version := in.Version
	if version == 0 {
		version = lab.VRRP.Version
	}
	c := vrrpsim.Config{
		Name:         in.Name,
		VRID:         uint8(in.VirtualRouterID),
		Version:      version,
		Priority:     uint8(in.Priority),
		Interval:     in.AdvertInt.D,
		NoPreempt:    in.NoPreempt,
		PreemptDelay: in.PreemptDelay.D,
		InitialState: state,
	}
	for _, ifc := range h.Interfaces {
		if ifc.Name == in.Interface {
			if p, err := netip.ParsePrefix(ifc.Address); err == nil {
				c.PrimaryIP = p.Addr()
			}
		}
	}
	if a, err := netip.ParseAddr(in.UnicastSrcIP); err == nil {
		c.PrimaryIP = a
	}
	for _, s := range in.UnicastPeer {
		if a, err := netip.ParseAddr(s); err == nil { // checked by validate
			c.UnicastPeers = append(c.UnicastPeers, a)
		}
	}
	c.CheckUnicastSrc = in.CheckUnicastSrc && len(c.UnicastPeers) > 0
	c.Notify = in.notifyScripts()
	c.GARPRepeat = lab.VRRP.GARPMasterRepeat
	if g := lab.VRRP.GARPMasterDelay; g.IsSet() {
		c.GARPDelay = g.D
		if g.D == 0 {
			c.GARPDelay = -1 // keepalived's 0: no second burst
		}
	}
	for _, s := range in.VirtualIPAddress {
		if p, err := parseVIP(s); err == nil {
			c.VIPs = append(c.VIPs, p)
		}
	}
	if a := in.Authentication; a != nil && strings.EqualFold(a.AuthType, "PASS") {
		c.AuthType, c.AuthPass = vrrpsim.AuthPass, a.AuthPass
	}
	for _, name := range in.TrackScript {
		s := lab.VRRP.Scripts[name]
		c.Tracks = append(c.Tracks, vrrpsim.Track{Name: name, Weight: s.Weight, Fall: s.Fall, Rise: s.Rise, InitFail: s.InitFail})
	}
	c.Interface, c.DontTrackPrimary = in.Interface, in.DontTrackPrimary
	for _, s := range in.TrackInterface {
		if t, err := parseTrackInterface(s); err == nil { // checked by validate
			c.TrackInterfaces = append(c.TrackInterfaces, t)
		}
	}
	return c
}

// parseTrackInterface reads a track_interface entry: "IFACE" or
// "IFACE weight N".
func parseTrackInterface(s string) (vrrpsim.TrackInterface, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 1:
		return vrrpsim.TrackInterface{Name: f[0]}, nil
	case len(f) == 3 && f[1] == "weight":
		w, err := strconv.Atoi(f[2])
		if err != nil || w < -253 || w > 253 {
			if hint := units.Lookalike(f[2]); !hint.IsZero() {
				return vrrpsim.TrackInterface{}, i18n.Errorf("weight must be -253..253, got %q (%s)", f[2], hint)
			}
			return vrrpsim.TrackInterface{}, i18n.Errorf("weight must be -253..253, got %q", f[2])
		}
		return vrrpsim.TrackInterface{Name: f[0], Weight: w}, nil
	}
	if hint := units.Lookalike(s); !hint.IsZero() {
		return vrrpsim.TrackInterface{}, i18n.Errorf("want IFACE or \"IFACE weight N\", got %q (%s)", s, hint)
	}
	return vrrpsim.TrackInterface{}, i18n.Errorf("want IFACE or \"IFACE weight N\", got %q", s)
}

// simWorld is a lab built in the simulator.
type simWorld struct {
	lab      *Lab
	k        *sim.Kernel
	net      *sim.Network
	log      *history.Log // nil when the history streams to sink alone
	sink     history.Sink // where the history goes: log, or streamed
	vrrp     map[string]*simdriver.Host
	hosts    map[string]*Host
	proxy    *simproxy.Proxy
	backends map[string]*simload.Backend
	clients  []*simload.Clients
}

// buildSim builds the lab's network, routers and fault timeline on a new
// kernel seeded with seed.
func buildSim(lab *Lab, seed uint64) (*simWorld, error) {
	log := &history.Log{}
	w, err := buildSimTo(lab, seed, log)
	if err != nil {
		return nil, err
	}
	w.log = log
	return w, nil
}

// buildSimTo is buildSim whose history goes to sink as it happens, in
// time order (the simulator records every event at the virtual time it
// happens at).
func buildSimTo(lab *Lab, seed uint64, sink history.Sink) (*simWorld, error) {
	w := &simWorld{lab: lab, k: sim.NewKernel(seed), sink: sink,
		vrrp: map[string]*simdriver.Host{}, hosts: map[string]*Host{}}
	w.net = sim.NewNetwork(w.k)
	for _, s := range lab.Topology.Segments {
		if _, err := w.net.AddSegment(s.Name, sim.Link{Latency: s.Latency.D, Jitter: s.Jitter.D, Loss: s.Loss}); err != nil {
			return nil, i18n.Errorf("segment %s: %w", s.Name, err)
		}
	}
	for i := range lab.Topology.Hosts {
		h := &lab.Topology.Hosts[i]
		w.hosts[h.Name] = h
		host, err := w.net.AddHost(h.Name)
		if err != nil {
			return nil, i18n.Errorf("host %s: %w", h.Name, err)
		}
		for _, ifc := range h.Interfaces {
			addr, _ := netip.ParsePrefix(ifc.Address)
			link := sim.Link{Latency: ifc.Latency.D, Jitter: ifc.Jitter.D, Loss: ifc.Loss}
			if _, err := host.Attach(ifc.Name, w.net.Segment(ifc.Segment), addr, link); err != nil {
				return nil, i18n.Errorf("host %s interface %s: %w", h.Name, ifc.Name, err)
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
					vh.AddScript(simdriver.Script{Name: name, Interval: s.Interval.D, OK: true})
				}
			}
			if err := vh.AddInstance(in.Interface, instanceConfig(lab, in, w.hosts[in.Host])); err != nil {
				return nil, i18n.Errorf("vrrp_instance %s on %s: %w", in.Name, in.Host, err)
			}
		}
		// Every router boots at t=0, in the order of the lab file.
		for i := range lab.VRRP.Instances {
			vh := w.vrrp[lab.VRRP.Instances[i].Host]
			w.k.At(0, vh.Start)
		}
	}
	if lab.LB != nil {
		if err := w.buildLB(); err != nil {
			return nil, err
		}
	}
	for i := range lab.Faults {
		f := lab.Faults[i]
		at := f.At.D
		if f.Jitter.D > 0 {
			at += time.Duration(w.k.Rand("fault/" + f.Name).Int64N(int64(f.Jitter.D)))
		}
		w.k.At(at, func() { w.apply(f) })
	}
	return w, nil
}

// apply carries out one fault now and records it.
func (w *simWorld) apply(f Fault) {
	w.sink.Add(history.Event{T: history.Stamp(w.k.Now()), Kind: history.KindFault, Fault: f.Kind, Target: f.Target, Name: f.Name})
	if b := w.backends[f.Target]; b != nil {
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
	p, err := simproxy.New(w.k, lab.LB, bs, nw, w.sink)
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

// run plays the lab to its end, or until ctx is done, and returns the
// history (nil when it streamed) and the virtual time it reached;
// interrupted says ctx stopped it first.
func (w *simWorld) run(ctx context.Context) (events []history.Event, reached time.Duration, interrupted bool) {
	interrupted = w.k.RunContext(ctx, w.lab.Duration.Or(defaultDuration)) != nil
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
	if w.log != nil {
		events = w.log.Events()
	}
	return events, w.k.Now(), interrupted
}

// sent returns how many requests the clients sent.
func (w *simWorld) sent() int {
	n := 0
	for _, c := range w.clients {
		n += c.Sent
	}
	return n
}
