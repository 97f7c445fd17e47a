package labfile

import (
	"fmt"
	"github.com/lblab/lblab/loadgen/probe"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HA reports whether the lab places its load balancer on topology hosts
// (a host with the proxy role): a high-availability lab, whose clients
// send from hosts across the simulated network to an address (a VIP).
func (lab *Lab) HA() bool { return len(lab.ProxyHosts()) > 0 }

// ProxyHosts returns the names of the hosts that list the proxy role, in
// the lab's order.
func (lab *Lab) ProxyHosts() []string {
	var out []string
	for _, h := range lab.Topology.Hosts {
		if slices.Contains(h.Roles, RoleProxy) {
			out = append(out, h.Name)
		}
	}
	return out
}

// ClientProbes returns the lab's probes: its probes list, then an icmp
// and a tcp probe (to its listener's port) for each clients element with
// from and to, unless it says probe: off; defaults filled in.
func (lab *Lab) ClientProbes() []Probe {
	out := make([]Probe, 0, len(lab.Probes)+2*len(lab.Clients))
	for _, p := range lab.Probes {
		out = append(out, p.withDefaults())
	}
	for _, c := range lab.Clients {
		if c.From == "" || c.To == "" || c.Probe == "off" || lab.LB == nil || len(lab.LB.Listeners) == 0 {
			continue
		}
		l := lab.LB.Listeners[0]
		for _, x := range lab.LB.Listeners {
			if c.Listener != "" && x.Name == c.Listener {
				l = x
			}
		}
		out = append(out, Probe{From: c.From, To: c.To, Kind: "icmp", Start: c.Start}.withDefaults(),
			Probe{From: c.From, To: net.JoinHostPort(c.To, strconv.Itoa(l.Port)), Kind: "tcp", Start: c.Start}.withDefaults())
	}
	return out
}

// withDefaults fills in the probe's kind (tcp when To has a port, else
// icmp), name, interval and timeout: the probe core's defaults
// (probe.Spec.Defaults).
func (p Probe) withDefaults() Probe {
	d := p.spec().Defaults()
	p.Kind, p.Name = string(d.Kind), d.Name
	p.Interval.D, p.Timeout.D = d.Interval, d.Timeout
	return p
}

// spec is the probe as the probe core takes it (defaults not filled in).
func (p Probe) spec() probe.Spec {
	return probe.Spec{Name: p.Name, From: p.From, To: p.To, Kind: probe.Kind(p.Kind), Interval: p.Interval.D, Timeout: p.Timeout.D}
}

// addrOf returns the address part of ADDR or ADDR:PORT.
func addrOf(to string) string {
	if h, _, err := net.SplitHostPort(to); err == nil {
		return h
	}
	return to
}

// ARPTimeoutOr returns the lab's network.arp_timeout, or DefaultARPTimeout.
func (lab *Lab) ARPTimeoutOr() time.Duration {
	if lab.Network != nil && lab.Network.ARPTimeout.D > 0 {
		return lab.Network.ARPTimeout.D
	}
	return DefaultARPTimeout
}

// validateHA checks what places the lab's roles on its hosts: the hosts'
// roles, the clients' from and to, the probes and the ARP timeout; a lab
// with both vrrp and a load balancer must place its proxy (else it
// would run nowhere near the VIP) and send its clients from hosts.
func validateHA(v *validator, lab *Lab, hosts map[string]*Host, addrs map[netip.Addr]string, vips map[string]bool) {
	proxies := lab.ProxyHosts()
	field := "lb"
	if lab.imported {
		field = "nginx"
	}
	if lab.VRRP != nil && lab.LB != nil && len(proxies) == 0 {
		v.bad(field, "a lab with vrrp and a load balancer must place the load balancer: give roles: [proxy] to the hosts that run it (else it runs nowhere)")
	}
	held := func(a netip.Addr) bool { return addrs[a] != "" || vips[a.String()] }
	froms := map[string]bool{}
	for i := range lab.Clients {
		c := &lab.Clients[i]
		p := fmt.Sprintf("clients[%d]", i)
		switch {
		case c.From == "" && c.To != "":
			v.bad(p+".to", "to needs from: the topology host the clients send from")
		case c.From == "" && len(proxies) > 0:
			v.bad(p+".from", "the load balancer runs on topology hosts: say which host the clients send from")
		case c.From != "" && hosts[c.From] == nil:
			v.bad(p+".from", "no host %q in topology.hosts", c.From)
		case c.From != "" && len(proxies) == 0:
			v.bad(p+".from", "clients on a host need the load balancer on hosts too: give roles: [proxy] to the hosts that run it")
		}
		froms[c.From] = true
		if c.From != "" && c.To == "" && len(proxies) > 0 {
			if h := hosts[proxies[0]]; h != nil && len(h.Interfaces) > 0 {
				if pfx, err := netip.ParsePrefix(h.Interfaces[0].Address); err == nil {
					c.To = pfx.Addr().String()
				}
			}
		}
		if c.To != "" {
			a, err := netip.ParseAddr(c.To)
			switch {
			case err != nil || !a.Is4():
				v.bad(p+".to", "want an IPv4 address (a VIP or a host's address; the port is the listener's), got %q", c.To)
			case !held(a):
				v.bad(p+".to", "no host or VIP holds %s: the clients would send to nobody", a)
			}
		}
		if c.Probe != "" && c.Probe != "off" && c.Probe != "on" {
			v.bad(p+".probe", "want on or off, got %q", c.Probe)
		}
	}
	backendHosts := map[string]bool{}
	for _, b := range lab.Backends {
		if h, _, err := net.SplitHostPort(b.Address); err == nil {
			backendHosts[h] = true
		}
	}
	for i, h := range lab.Topology.Hosts {
		seen := map[string]bool{}
		for j, r := range h.Roles {
			p := fmt.Sprintf("topology.hosts[%d].roles[%d]", i, j)
			if seen[r] {
				v.bad(p, "role %s is listed twice", r)
			}
			seen[r] = true
			switch r {
			case RoleProxy:
				if lab.LB == nil {
					v.bad(p, "the lab has no load balancer (lb, nginx) for this host to run")
				}
			case RoleVRRP:
				if in, _ := lab.InstanceOn(h.Name); in == nil {
					v.bad(p, "no vrrp_instance runs on %s", h.Name)
				}
			case RoleBackend:
				if !backendHosts[h.Name] {
					v.bad(p, "no backend's address names %s (write it as %s:PORT)", h.Name, h.Name)
				}
			case RoleClient:
				if !froms[h.Name] {
					v.bad(p, "no clients element sends from %s (from: %s)", h.Name, h.Name)
				}
			default:
				v.bad(p, "want proxy, vrrp, backend or client, got %q", r)
			}
		}
	}
	for i := range lab.Probes {
		pr := &lab.Probes[i]
		p := fmt.Sprintf("probes[%d]", i)
		if hosts[pr.From] == nil {
			v.bad(p+".from", "no host %q in topology.hosts", pr.From)
		}
		// The probe core's rules (kind, to's form, interval and timeout
		// bounds, names), each at its field here.
		for _, fe := range pr.spec().Problems() {
			// A missing host, a zero or negative duration: said once, here.
			skip := (fe.Field == "from" && hosts[pr.From] == nil) || (fe.Field == "interval" && pr.Interval.D <= 0) ||
				(fe.Field == "timeout" && pr.Timeout.D <= 0)
			if !skip {
				v.problems = append(v.problems, problem{p + "." + fe.Field, fe.Text})
			}
		}
		if a, err := netip.ParseAddr(addrOf(pr.To)); err == nil && a.Is4() && !held(a) {
			v.bad(p+".to", "no host or VIP holds %s: the probe would go to nobody", a)
		}
		v.duration(p+".start", pr.Start, false)
		v.duration(p+".interval", pr.Interval, true)
		v.duration(p+".timeout", pr.Timeout, true)
	}
	if nw := lab.Network; nw != nil {
		v.duration("network.arp_timeout", nw.ARPTimeout, true)
	}
}

// ProxyScripts returns the names of the vrrp_scripts tracked on host
// that check the load balancer's process: their command names it
// (nginx, haproxy, lblab proxy), as keepalived users write chk_nginx
// ("killall -0 nginx", "pidof nginx"). In a high-availability lab such a
// script's result follows the proxy on its host: it fails while the
// proxy is not running (proxy_crash), and passes again when it runs. A
// script that restarts the proxy (RestartScript) is not one of them.
func (lab *Lab) ProxyScripts(host string) []string {
	in, _ := lab.InstanceOn(host)
	if in == nil {
		return nil
	}
	var out []string
	for _, name := range in.TrackScript {
		cmd := lab.VRRP.Scripts[name].Script
		if lab.VRRP.Scripts[name].RestartWait.D > 0 {
			continue
		}
		if strings.Contains(cmd, "nginx") || strings.Contains(cmd, "haproxy") || strings.Contains(cmd, "lblab proxy") {
			out = append(out, name)
		}
	}
	return out
}

// RestartScript returns the name of the first vrrp_script tracked on
// host that restarts its proxy (Script.RestartWait, the seed's
// check_nginx.sh that starts nginx and stops keepalived when that
// fails), and whether there is one.
func (lab *Lab) RestartScript(host string) (string, bool) {
	in, _ := lab.InstanceOn(host)
	if in == nil {
		return "", false
	}
	for _, name := range in.TrackScript {
		if lab.VRRP.Scripts[name].RestartWait.D > 0 {
			return name, true
		}
	}
	return "", false
}
