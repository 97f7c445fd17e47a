package labfile

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
	"github.com/lblab/lblab/vrrpsim"
)

type problem struct {
	path string
	text i18n.Text
}

type validator struct {
	problems []problem
	// written holds the field paths the lab's file writes (writtenPaths),
	// to tell an explicit 0 from a field left out.
	written map[string]bool
	// nonFinite holds the paths of NaN and infinite floats, reported
	// once: the range checks of those fields say nothing more.
	nonFinite map[string]bool
}

// bad records a problem; input values quoted with %q are cut to a line's
// worth.
func (v *validator) bad(path, format string, args ...any) {
	if v.nonFinite[path] {
		return
	}
	v.problems = append(v.problems, problem{path, i18n.T(format, units.CutArgs(format, args)...)})
}

// finite refuses every NaN or infinite float of cfg (a decoded lab or lb
// section whose field path starts with prefix), and keeps the range checks
// of those fields from reporting them again.
func (v *validator) finite(prefix string, cfg any) {
	units.NonFinite(cfg, func(path string, f float64) {
		v.bad(prefix+path, "want a finite number, got %s", units.FloatText(f))
		if v.nonFinite == nil {
			v.nonFinite = map[string]bool{}
		}
		v.nonFinite[prefix+path] = true
	})
}

func (v *validator) duration(path string, d units.Duration, positive bool) {
	switch {
	case d.Problem() != "":
		v.bad(path, "%s", d.ProblemText())
	case d.D < 0:
		v.bad(path, "must not be negative")
	case positive && d.IsSet() && d.D == 0:
		v.bad(path, "must be more than 0")
	}
}

func (v *validator) probability(path string, p float64) {
	if !(p >= 0 && p <= 1) {
		v.bad(path, "%v is not a probability (0..1)", p)
	}
}

// MaxDuration is the longest a lab may run: 24 hours (of virtual time in
// the simulator, of real time on real hosts).
const MaxDuration = 24 * time.Hour

var labName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// validate checks a decoded lab and fills in derived names (fault names,
// instance names, interface names). It returns every problem found.
func validate(lab *Lab) []problem {
	v := &validator{written: lab.written}
	v.finite("", lab)
	explicitDefaults(v, lab)
	if !labName.MatchString(lab.Name) {
		v.bad("name", "want a short name of lowercase letters, digits and dashes, got %q", lab.Name)
	}
	if strings.TrimSpace(lab.Title) == "" {
		v.bad("title", "a title is required")
	}
	v.duration("duration", lab.Duration, true)
	if lab.Duration.D > MaxDuration {
		v.bad("duration", "want at most %v, got %v", MaxDuration, lab.Duration.D)
	}

	segments := map[string]bool{}
	needTopology := lab.VRRP != nil || lab.LB == nil
	if needTopology && len(lab.Topology.Segments) == 0 && !lab.InCloud() {
		v.bad("topology.segments", "at least one segment is required")
	}
	for i, s := range lab.Topology.Segments {
		p := fmt.Sprintf("topology.segments[%d]", i)
		if s.Name == "" || segments[s.Name] {
			v.bad(p+".name", "want a unique name, got %q", s.Name)
		}
		segments[s.Name] = true
		v.duration(p+".latency", s.Latency, false)
		v.duration(p+".jitter", s.Jitter, false)
		v.probability(p+".loss", s.Loss)
	}
	hosts := map[string]*Host{}
	addrs := map[netip.Addr]string{}
	if needTopology && len(lab.Topology.Hosts) == 0 {
		v.bad("topology.hosts", "at least one host is required")
	}
	for i := range lab.Topology.Hosts {
		h := &lab.Topology.Hosts[i]
		p := fmt.Sprintf("topology.hosts[%d]", i)
		if h.Name == "" || hosts[h.Name] != nil || strings.Contains(h.Name, ":") {
			v.bad(p+".name", "want a unique name without ':', got %q", h.Name)
		}
		hosts[h.Name] = h
		if len(h.Interfaces) == 0 {
			v.bad(p+".interfaces", "at least one interface is required")
		}
		ifnames := map[string]bool{}
		for j := range h.Interfaces {
			ifc := &h.Interfaces[j]
			ip := fmt.Sprintf("%s.interfaces[%d]", p, j)
			if ifc.Name == "" {
				ifc.Name = fmt.Sprintf("eth%d", j)
			}
			if ifnames[ifc.Name] {
				v.bad(ip+".name", "interface %q is named twice", ifc.Name)
			}
			ifnames[ifc.Name] = true
			if ifc.VSwitch != "" { // a cloud instance's NIC: validateCloud
				if ifc.Segment != "" {
					v.bad(ip+".segment", "an interface is in a segment or in a vswitch, not both")
				}
				continue
			}
			if !segments[ifc.Segment] {
				v.bad(ip+".segment", "no segment %q in topology.segments", ifc.Segment)
			}
			pfx, err := netip.ParsePrefix(ifc.Address)
			switch {
			case err != nil || !pfx.Addr().Is4():
				v.bad(ip+".address", "want an IPv4 address with prefix length like 10.77.0.11/24, got %q", ifc.Address)
			case addrs[pfx.Addr()] != "":
				v.bad(ip+".address", "%v is also the address of %s", pfx.Addr(), addrs[pfx.Addr()])
			default:
				addrs[pfx.Addr()] = h.Name
			}
			v.duration(ip+".latency", ifc.Latency, false)
			v.duration(ip+".jitter", ifc.Jitter, false)
			v.probability(ip+".loss", ifc.Loss)
		}
	}

	validateCloud(v, lab)
	routers := map[string]bool{}
	vrids := map[int]bool{}
	vips := map[string]bool{}
	if lab.VRRP != nil {
		validateVRRP(v, lab, hosts, routers, vrids, vips)
	}

	validateHA(v, lab, hosts, addrs, vips)
	lbs := validateLB(v, lab)
	if im := lab.Impl; im != nil {
		if im.VRRP != "" && im.VRRP != ImplLblab && im.VRRP != ImplKeepalived {
			v.bad("impl.vrrp", "want %s or %s, got %q", ImplLblab, ImplKeepalived, im.VRRP)
		} else if im.VRRP != "" && im.VRRP != ImplLblab && lab.VRRP == nil {
			v.bad("impl.vrrp", "the lab has no vrrp section for %s to play", im.VRRP)
		}
		if im.Proxy != "" && im.Proxy != ImplLblab && im.Proxy != ImplNginx {
			v.bad("impl.proxy", "want %s or %s, got %q", ImplLblab, ImplNginx, im.Proxy)
		} else if im.Proxy != "" && im.Proxy != ImplLblab && lab.LB == nil {
			v.bad("impl.proxy", "the lab has no load balancer (lb, nginx) for %s to play", im.Proxy)
		} else if im.Proxy == ImplNginx {
			validateNginxImpl(v, lab) // nginx_impl.go
		}
	}

	faults := map[string]Fault{}
	for i := range lab.Faults {
		f := &lab.Faults[i]
		p := fmt.Sprintf("faults[%d]", i)
		if f.Name == "" {
			f.Name = strings.TrimSpace(string(f.Kind) + " " + f.Target)
		}
		if _, dup := faults[f.Name]; dup {
			v.bad(p+".name", "two faults are named %q; give one a name", f.Name)
		}
		faults[f.Name] = *f
		if !f.At.IsSet() {
			v.bad(p+".at", "the time of the fault is required")
		}
		v.duration(p+".at", f.At, false)
		v.duration(p+".jitter", f.Jitter, false)
		// (A bad duration is reported once, not again for every fault.)
		if end := lab.Duration.Or(defaultDuration); lab.Duration.Bad() == "" && end > 0 && f.At.D+f.Jitter.D > end {
			v.bad(p+".at", "%v is after the end of the lab (%v)", f.At.D+f.Jitter.D, lab.Duration.Or(defaultDuration))
		}
		host, _, _ := strings.Cut(f.Target, ":")
		switch f.Kind {
		case FaultScale:
			if lbs.services[f.Target] == nil {
				v.bad(p+".target", "no service %q in services", f.Target)
			}
			if f.Count == nil {
				v.bad(p+".count", "a scale fault needs the count of containers to run")
			} else if *f.Count < 0 || *f.Count > MaxReplicas {
				v.bad(p+".count", "want 0..%d containers, got %d", MaxReplicas, *f.Count)
			}
		case FaultCrash, FaultRestore:
			if hosts[f.Target] == nil && !lbs.backends[f.Target] {
				v.bad(p+".target", "no host or backend %q", f.Target)
			}
		case FaultPowerOff, FaultHang, FaultSlow, FaultHealthFail, FaultHealthOK:
			if !lbs.backends[f.Target] {
				v.bad(p+".target", "no backend %q in backends", f.Target)
			}
			if f.Kind == FaultSlow && f.Factor == 0 { // an explicit 0 is refused (faultFields)
				f.Factor = 10
			}
		case FaultHealthPath:
			if lbs.groups[f.Target] == nil || lbs.groups[f.Target].HealthCheck == nil {
				v.bad(p+".target", "no group %q with a health_check", f.Target)
			}
			if !strings.HasPrefix(f.Path, "/") {
				v.bad(p+".path", "want a path starting with /, got %q", f.Path)
			}
		case FaultStop, FaultStart, FaultPause, FaultResume:
			if hosts[f.Target] == nil {
				v.bad(p+".target", "no host %q", f.Target)
			}
		case FaultProxyCrash:
			if h := hosts[f.Target]; h == nil || !slices.Contains(h.Roles, RoleProxy) {
				v.bad(p+".target", "no host %q with the proxy role", f.Target)
			}
		case FaultFirewall, FaultFirewallClear, FaultGARPDrop:
			if !segments[f.Target] {
				v.bad(p+".target", "no segment %q", f.Target)
			}
			if f.Kind == FaultGARPDrop && (lab.VRRP == nil || len(lab.VRRP.Instances) == 0) {
				v.bad(p+".kind", "garp_drop drops the gratuitous ARP of the lab's VIPs, and the lab has no vrrp instance")
			}
			if f.Kind == FaultFirewall && (f.Proto < 1 || f.Proto > 255) {
				v.bad(p+".proto", "want an IP protocol number 1..255 (112 is VRRP), got %d", f.Proto)
			}
			if len(f.Between) < 2 {
				v.bad(p+".between", "name at least two hosts the rule stands between")
			}
			for hi, name := range f.Between {
				if hosts[name] == nil {
					v.bad(fmt.Sprintf("%s.between[%d]", p, hi), "no host %q", name)
				}
			}
		case FaultLinkDown, FaultLinkUp:
			h := hosts[host]
			if h == nil {
				v.bad(p+".target", "no host %q (write HOST or HOST:IFACE)", host)
			} else if _, ifname, ok := strings.Cut(f.Target, ":"); ok && !hasIface(h, ifname) {
				v.bad(p+".target", "host %s has no interface %q", host, ifname)
			}
		case FaultPartition, FaultHeal:
			if !segments[f.Target] {
				v.bad(p+".target", "no segment %q", f.Target)
			}
			if f.Kind == FaultPartition && len(f.Groups) == 0 {
				v.bad(p+".groups", "a partition needs groups of host names")
			}
			for gi, g := range f.Groups {
				for hi, name := range g {
					if hosts[name] == nil {
						v.bad(fmt.Sprintf("%s.groups[%d][%d]", p, gi, hi), "no host %q", name)
					}
				}
			}
		case FaultScriptFail, FaultScriptOK:
			if hosts[f.Target] == nil {
				v.bad(p+".target", "no host %q", f.Target)
			}
			if lab.VRRP == nil || !hasScript(lab, f.Script) {
				v.bad(p+".script", "no vrrp_script %q", f.Script)
			}
		default:
			v.bad(p+".kind", "unknown fault kind %q (one of %s)", f.Kind, kindList())
		}
	}

	for i := range lab.Expect {
		validateExpectation(v, lab, i, faults, routers, vrids, vips, lbs)
	}
	if s := lab.Sweep; s != nil {
		if s.Metric == "" {
			s.Metric = "failover_s"
		}
		if s.KSMax == 0 {
			s.KSMax = 0.05
		}
		if !(s.KSMax > 0 && s.KSMax <= 1) {
			v.bad("sweep.ks_max", "want a distance in (0, 1], got %v", s.KSMax)
		}
	}
	return v.problems
}

func hasIface(h *Host, name string) bool {
	for _, i := range h.Interfaces {
		if i.Name == name {
			return true
		}
	}
	return false
}

func hasScript(lab *Lab, name string) bool {
	_, ok := lab.VRRP.Scripts[name]
	return ok
}

func validateVRRP(v *validator, lab *Lab, hosts map[string]*Host, routers map[string]bool, vrids map[int]bool, vips map[string]bool) {
	g := lab.VRRP
	if g.Version != 0 && g.Version != 2 && g.Version != 3 {
		v.bad("vrrp.vrrp_version", "must be 2 or 3, got %d", g.Version)
	}
	for name, s := range g.Scripts {
		p := "vrrp.vrrp_script." + name
		v.duration(p+".interval", s.Interval, true)
		if s.Interval.IsSet() && s.Interval.D > 0 && s.Interval.D < time.Millisecond {
			v.bad(p+".interval", "must be at least 1ms, got %v", s.Interval.D)
		}
		v.duration(p+".timeout", s.Timeout, false)
		if s.Weight < -253 || s.Weight > 253 {
			v.bad(p+".weight", "must be -253..253, got %d", s.Weight)
		}
		if s.Fall < 0 || s.Rise < 0 {
			v.bad(p, "fall and rise must be at least 1")
		}
		v.duration(p+".restart_wait", s.RestartWait, false)
		if to := s.Timeout.Or(s.Interval.Or(time.Second)); s.RestartWait.D > 0 && s.RestartWait.D >= to {
			v.bad(p+".restart_wait", "%v is not less than the script's timeout %v (default its interval): the agent kills the script before it looks again; set timeout above it", s.RestartWait.D, to)
		}
	}
	if len(g.Instances) == 0 {
		v.bad("vrrp.vrrp_instance", "at least one vrrp_instance is required")
	}
	v.duration("vrrp.vrrp_garp_master_delay", g.GARPMasterDelay, false)
	if g.GARPMasterRepeat < 0 || g.GARPMasterRepeat > 1000 {
		v.bad("vrrp.vrrp_garp_master_repeat", "must be 1..1000, got %d", g.GARPMasterRepeat)
	}
	for i := range g.Instances {
		in := &g.Instances[i]
		p := fmt.Sprintf("vrrp.vrrp_instance[%d]", i)
		h := hosts[in.Host]
		if h == nil {
			v.bad(p+".host", "no host %q in topology.hosts", in.Host)
			continue
		}
		if routers[in.Host+"/"+fmt.Sprint(in.VirtualRouterID)] {
			v.bad(p+".virtual_router_id", "host %s already runs VRID %d", in.Host, in.VirtualRouterID)
		}
		routers[in.Host] = true
		routers[in.Host+"/"+fmt.Sprint(in.VirtualRouterID)] = true
		vrids[in.VirtualRouterID] = true
		if in.Interface == "" && len(h.Interfaces) > 0 {
			in.Interface = h.Interfaces[0].Name
		}
		if !hasIface(h, in.Interface) {
			v.bad(p+".interface", "host %s has no interface %q", in.Host, in.Interface)
		}
		if in.Name == "" {
			in.Name = fmt.Sprintf("VI_%d", in.VirtualRouterID)
		}
		state := strings.ToUpper(in.State)
		if state != "" && state != "MASTER" && state != "BACKUP" {
			v.bad(p+".state", "want MASTER or BACKUP, got %q", in.State)
		}
		if state == "MASTER" && (in.NoPreempt || in.PreemptDelay.D > 0) {
			v.bad(p+".nopreempt", "keepalived ignores nopreempt and preempt_delay with state MASTER; use state BACKUP")
		}
		if in.VirtualRouterID < 1 || in.VirtualRouterID > 255 {
			v.bad(p+".virtual_router_id", "must be 1..255, got %d", in.VirtualRouterID)
		}
		if in.Priority < 0 || in.Priority > 255 {
			v.bad(p+".priority", "must be 1..255, got %d", in.Priority)
		}
		v.duration(p+".advert_int", in.AdvertInt, true)
		v.duration(p+".preempt_delay", in.PreemptDelay, false)
		if in.Version != 0 && in.Version != 2 && in.Version != 3 {
			v.bad(p+".vrrp_version", "must be 2 or 3, got %d", in.Version)
		}
		if a := in.Authentication; a != nil {
			switch strings.ToUpper(a.AuthType) {
			case "PASS":
				if a.AuthPass == "" {
					v.bad(p+".authentication.auth_pass", "PASS needs a password")
				}
			case "AH":
				v.bad(p+".authentication.auth_type", "AH authentication is not supported (keepalived deprecates it); use PASS or none")
			default:
				v.bad(p+".authentication.auth_type", "want PASS, got %q", a.AuthType)
			}
		}
		if len(in.VirtualIPAddress) == 0 {
			v.bad(p+".virtual_ipaddress", "at least one virtual address is required")
		}
		for j, s := range in.VirtualIPAddress {
			pfx, err := ParseVIP(s)
			if err != nil {
				v.bad(fmt.Sprintf("%s.virtual_ipaddress[%d]", p, j), "%v", err)
				continue
			}
			vips[pfx.Addr().String()] = true
		}
		for j, name := range in.TrackScript {
			if s, ok := g.Scripts[name]; !ok {
				v.bad(fmt.Sprintf("%s.track_script[%d]", p, j), "no vrrp_script %q in vrrp.vrrp_script", name)
			} else if s.RestartWait.D > 0 && !slices.Contains(h.Roles, RoleProxy) {
				v.bad(fmt.Sprintf("%s.track_script[%d]", p, j), "vrrp_script %q restarts the proxy (restart_wait), but host %q has no proxy role", name, in.Host)
			}
		}
		if s := in.UnicastSrcIP; s != "" {
			if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
				v.bad(p+".unicast_src_ip", "want an IPv4 address, got %q", s)
			}
		}
		for j, s := range in.UnicastPeer {
			if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
				v.bad(fmt.Sprintf("%s.unicast_peer[%d]", p, j), "want an IPv4 address, got %q", s)
			}
		}
		for j, s := range in.TrackInterface {
			f := fmt.Sprintf("%s.track_interface[%d]", p, j)
			t, err := parseTrackInterface(s)
			if err != nil {
				v.bad(f, "%v", err)
				continue
			}
			if !hasIface(h, t.Name) {
				v.bad(f, "host %s has no interface %q", in.Host, t.Name)
			}
		}
		if len(v.problems) == 0 {
			if _, err := vrrpsim.New(InstanceConfig(lab, in, h)); err != nil {
				v.bad(p, "%v", err)
			}
		}
	}
}

// ParseVIP reads a virtual_ipaddress entry: an IPv4 address with an
// optional prefix length (default /32).
func ParseVIP(s string) (netip.Prefix, error) {
	s = strings.Fields(s + " ")[0]
	if !strings.Contains(s, "/") {
		s += "/32"
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil || !pfx.Addr().Is4() {
		return netip.Prefix{}, i18n.Errorf("want an IPv4 address like 10.77.0.100/24, got %q", s)
	}
	return pfx, nil
}

var windows = map[string]bool{"": true, "theory": true, "none": true}

func validateExpectation(v *validator, lab *Lab, i int, faults map[string]Fault, routers map[string]bool, vrids map[int]bool, vips map[string]bool, lbs lbNames) {
	e := &lab.Expect[i]
	p := fmt.Sprintf("expect[%d]", i)
	if strings.TrimSpace(e.Name) == "" {
		v.bad(p+".name", "every expectation needs a name")
	}
	n := 0
	for _, set := range []bool{e.Failover != nil, e.SingleMaster != nil, e.VIPOwnerChanges != nil, e.State != nil,
		e.StatusCount != nil, e.Share != nil, e.Latency != nil, e.HealthDelay != nil, e.OutageWithin != nil, e.Reach != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.bad(p, "want exactly one of failover, single_master, vip_owner_changes, state, status_count, share, latency, health_delay, outage_within, reach; got %d", n)
		return
	}
	if e.Reach != nil {
		validateReach(v, lab, p+".reach", e.Reach)
		return
	}
	if e.OutageWithin != nil {
		validateOutage(v, lab, p, e.OutageWithin, faults)
		return
	}
	if validateLBExpectation(v, lab, p, e, faults, lbs) {
		return
	}
	switch {
	case e.Failover != nil:
		f := e.Failover
		if _, ok := faults[f.Fault]; !ok {
			v.bad(p+".failover.fault", "no fault named %q", f.Fault)
		}
		if !routers[f.By] {
			v.bad(p+".failover.by", "no VRRP router on host %q", f.By)
		}
		if !windows[f.Window] {
			v.bad(p+".failover.window", "want theory or none, got %q", f.Window)
		}
		v.duration(p+".failover.min", f.Min, false)
		v.duration(p+".failover.max", f.Max, false)
		if fault, ok := faults[f.Fault]; ok && routers[f.By] && f.Window != "none" && !f.Min.IsSet() && !f.Max.IsSet() && len(v.problems) == 0 {
			// The theory is known before the run: a fault it has none for
			// is refused now, not after the run.
			if _, err := lab.TheoryFor(fault, f.By); err != nil {
				v.bad(p+".failover", "%v", err)
			}
		}
		if f.Metric == "" {
			f.Metric = "failover_s"
		}
	case e.SingleMaster != nil:
		if !vrids[e.SingleMaster.VRID] {
			v.bad(p+".single_master.vrid", "no vrrp_instance has VRID %d", e.SingleMaster.VRID)
		}
		v.duration(p+".single_master.overlap", e.SingleMaster.Overlap, false)
	case e.VIPOwnerChanges != nil:
		if !vips[e.VIPOwnerChanges.VIP] {
			v.bad(p+".vip_owner_changes.vip", "no vrrp_instance has the virtual address %q (write it without prefix length)", e.VIPOwnerChanges.VIP)
		}
		v.duration(p+".vip_owner_changes.overlap", e.VIPOwnerChanges.Overlap, false)
	case e.State != nil:
		if !routers[e.State.Router] {
			v.bad(p+".state.router", "no VRRP router on host %q", e.State.Router)
		}
		if _, err := vrrpsim.ParseState(strings.ToUpper(e.State.State)); err != nil {
			v.bad(p+".state.state", "want INIT, BACKUP, MASTER, FAULT or STOP, got %q", e.State.State)
		}
		v.duration(p+".state.at", e.State.At, false)
		if end := lab.Duration.Or(defaultDuration); lab.Duration.Bad() == "" && e.State.At.D > end {
			v.bad(p+".state.at", "%v is after the end of the lab (%v)", e.State.At.D, end)
		}
	}
}
