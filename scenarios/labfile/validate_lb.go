package labfile

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/discovery"
	"github.com/lblab/lblab/units"
)

// MaxRequests bounds what a lab's open-loop clients may send, rate × time
// summed over the clients: 100 million requests, a few minutes of
// simulation.
const MaxRequests = 100_000_000

// lbNames is what expectations and faults of a load-balancer lab may name.
type lbNames struct {
	groups   map[string]*proxy.Group
	servers  map[string][]string // server address → groups that list it
	backends map[string]bool
	services map[string]*Service
}

// validateLB checks the lb, backends, clients and network sections.
func validateLB(v *validator, lab *Lab) lbNames {
	n := lbNames{groups: map[string]*proxy.Group{}, servers: map[string][]string{}, backends: map[string]bool{}}
	if lab.LB != nil && lab.Nginx != "" && !lab.imported {
		v.bad("nginx", "give the load balancer as lb or as nginx, not both")
	}
	if lab.LB == nil {
		if len(lab.Backends) > 0 || len(lab.Clients) > 0 || len(lab.Services) > 0 {
			v.bad("lb", "backends and clients need a load balancer: an lb section (or nginx)")
		}
		return n
	}
	for _, pr := range proxy.Validate(lab.LB) {
		v.bad("lb."+pr.Path, "%s", pr.Text)
	}
	for i := range lab.LB.Groups {
		g := &lab.LB.Groups[i]
		n.groups[g.Name] = g
		for _, s := range g.Servers {
			n.servers[s.Address] = append(n.servers[s.Address], g.Name)
		}
	}
	for i, b := range lab.Backends {
		p := fmt.Sprintf("backends[%d]", i)
		if _, _, err := net.SplitHostPort(b.Address); err != nil {
			v.bad(p+".address", "want host:port as the lb's servers write it, got %q", b.Address)
		} else if n.backends[b.Address] {
			v.bad(p+".address", "backend %s is listed twice", b.Address)
		} else if len(n.servers[b.Address]) == 0 {
			v.bad(p+".address", "no group has a server %s", b.Address)
		}
		n.backends[b.Address] = true
		checkBackend(v, p, b)
	}
	validateServices(v, lab, &n)
	unmatchedServers(v, lab, n.backends)
	listeners := map[string]bool{}
	for i, l := range lab.LB.Listeners {
		listeners[l.Name] = true
		if l.Protocol == proxy.ProtoUDP {
			// The simulator models HTTP requests and tcp sessions; the
			// real relay records a udp session that it does not.
			v.bad(fmt.Sprintf("lb.listeners[%d].protocol", i),
				"listener %s is udp: a lab runs its load balancer in the simulator, which models http, https and tcp listeners only (run a udp listener with lblab proxy)", l.Name)
		}
	}
	validateTCP(v, lab)
	if len(lab.Clients) == 0 {
		v.bad("clients", "a load-balancer lab needs clients")
	}
	requests := 0.0 // the most the open-loop clients may send
	for i, c := range lab.Clients {
		p := fmt.Sprintf("clients[%d]", i)
		peak := checkClients(v, p, c)
		if c.Listener != "" && !listeners[c.Listener] {
			v.bad(p+".listener", "no listener %q", c.Listener)
		}
		if c.Mode != "closed" {
			span := c.Stop.Or(lab.Duration.Or(defaultDuration)) - c.Start.D
			requests += peak * span.Seconds()
		}
	}
	if requests > MaxRequests && !math.IsInf(requests, 1) { // an infinite rate is refused on its own
		v.bad("clients", "the clients send up to %.3g requests (rate × time), more than the %.0g a lab may send", requests, float64(MaxRequests))
	}
	if nw := lab.Network; nw != nil {
		// 0 is refused: the simulator would take its default instead.
		v.duration("network.client_latency", nw.ClientLatency, true)
		v.duration("network.backend_latency", nw.BackendLatency, true)
		v.duration("network.discovery_delay", nw.DiscoveryDelay, true)
	}
	return n
}

// validateServices checks the services: their names, replicas, ports and
// labels (a label the load balancer cannot use is a warning at run time,
// as a real container's is: here it is refused, a lab's own typo), and
// adds their containers' backends (NAME-i:PORT) to n.
func validateServices(v *validator, lab *Lab, n *lbNames) {
	if len(lab.Services) > 0 && lab.LB.Discovery != proxy.DiscoveryDocker {
		v.bad("services", "services register by their labels: the lb needs discovery: docker")
	}
	n.services = map[string]*Service{}
	for i := range lab.Services {
		s := &lab.Services[i]
		p := fmt.Sprintf("services[%d]", i)
		if !labName.MatchString(s.Name) {
			v.bad(p+".name", "want lowercase letters, digits and dashes, got %q", s.Name)
		} else if n.services[s.Name] != nil {
			v.bad(p+".name", "service %s is listed twice", s.Name)
		}
		n.services[s.Name] = s
		if r := s.ReplicasOr(); r < 0 || r > MaxReplicas {
			v.bad(p+".replicas", "want 0..%d containers, got %d", MaxReplicas, r)
		}
		if s.Port < 0 || s.Port > 65535 {
			v.bad(p+".port", "want a port 1..65535, got %d", s.Port)
		}
		if s.Backend.Address != "" {
			v.bad(p+".backend.address", "a service's containers are addressed %s-1:%d, %s-2:%d, …: leave the address out", s.Name, s.PortOr(), s.Name, s.PortOr())
		}
		checkBackend(v, p+".backend", s.Backend)
		c := discovery.Container{ID: s.Name, Name: s.Container(1), Host: s.Container(1), Labels: s.Labels}
		regs, warns := discovery.Labels(lab.LB, c)
		for _, w := range warns {
			v.bad(p+".labels", "%s", w)
		}
		if len(regs) == 0 && len(warns) == 0 {
			v.bad(p+".labels", "no lblab.lb.port_<port> label: its containers would register with no load balancer")
		}
		for j := 1; j <= s.Slots(lab); j++ {
			addr := net.JoinHostPort(s.Container(j), strconv.Itoa(s.PortOr()))
			if n.backends[addr] {
				v.bad(p+".name", "container %s is also a backend of backends", addr)
			}
			n.backends[addr] = true
		}
	}
}

// checkBackend checks a backends: element at field path p on its own
// (lab or spec file alike).
func checkBackend(v *validator, p string, b workload.Backend) {
	if err := b.Check(); err != nil {
		v.fieldError(p, err)
	}
	v.duration(p+".service.mean", b.Service.Mean, false)
	v.duration(p+".service.median", b.Service.Median, false)
	v.duration(p+".service.p99", b.Service.P99, false)
}

// checkClients checks a clients: element at field path p on its own (lab
// or spec file alike) and returns its peak rate (requests per second).
func checkClients(v *validator, p string, c workload.Clients) (peak float64) {
	if c.Timeout.IsSet() {
		if c.Timeout.Problem() != "" {
			v.duration(p+".timeout", c.Timeout, true)
		} else if c.Timeout.D <= 0 {
			v.bad(p+".timeout", "a client's timeout must be more than 0, got %s (leave it out for %s)",
				c.Timeout.D.String(), workload.DefaultTimeout.String())
		}
		c.Timeout = units.Duration{} // checked here, in the lab's words
	}
	if err := c.Check(); err != nil {
		v.fieldError(p, err)
	}
	v.duration(p+".think", c.Think, false)
	v.duration(p+".start", c.Start, false)
	v.duration(p+".stop", c.Stop, false)
	peak = c.Rate
	if peak == 0 {
		peak = workload.DefaultRate
	}
	for j, r := range c.Ramp {
		v.duration(fmt.Sprintf("%s.ramp[%d].at", p, j), r.At, false)
		if !(r.Rate >= 0 && r.Rate <= 1e7) {
			v.bad(fmt.Sprintf("%s.ramp[%d].rate", p, j), "want 0..1e7 requests per second, got %v", r.Rate)
		}
		peak = max(peak, r.Rate)
	}
	return peak
}

// fieldError reports err of a spec's Check under the field it starts
// with ("service: median: ..." is at p.service.median), or at p.
func (v *validator) fieldError(p string, err error) {
	msg := err.Error()
	for {
		field, rest, ok := strings.Cut(msg, ": ")
		if !ok || field == "" || strings.ContainsAny(field, " \"'") {
			break
		}
		p, msg = p+"."+field, rest
	}
	v.bad(p, "%s", msg)
}

// unmatchedServers refuses a group's server that no simulated backend
// answers for: a typo in an address would otherwise run as a dead server
// (refused connections, 502s, shares against the wrong total). A server
// marked down never gets a request; one with backend: none is dead on
// purpose.
func unmatchedServers(v *validator, lab *Lab, backends map[string]bool) {
	var have []string
	for _, b := range lab.Backends[:min(len(lab.Backends), 10)] {
		have = append(have, units.CutN(b.Address, units.QuoteMax))
	}
	there := i18n.T("the lab has no backends")
	switch {
	case len(lab.Backends) > len(have):
		there = i18n.T("the backends are %s, … (%d in all)", strings.Join(have, ", "), len(lab.Backends))
	case len(have) > 0:
		there = i18n.T("the backends are %s", strings.Join(have, ", "))
	}
	for i, g := range lab.LB.Groups {
		for j, s := range g.Servers {
			if backends[s.Address] && s.Backend == proxy.NoBackend {
				v.bad(fmt.Sprintf("lb.groups[%d].servers[%d].backend", i, j),
					"backend: none says no simulated backend answers %s, but backends has one of that address: remove one of the two",
					s.Address)
			}
			if backends[s.Address] || s.Down || s.Backend == proxy.NoBackend {
				continue
			}
			v.bad(fmt.Sprintf("lb.groups[%d].servers[%d].address", i, j),
				"no simulated backend %q in backends (%s): add one, or write backend: none on a server that is never up (or crash its backend at 0s)",
				s.Address, there)
		}
	}
}

// validateLBExpectation checks the load-balancer expectation kinds; it
// returns false when e is of another kind.
func validateLBExpectation(v *validator, lab *Lab, p string, e *Expectation, faults map[string]Fault, n lbNames) bool {
	group := func(path, name string, required bool) {
		if (name != "" || required) && n.groups[name] == nil {
			v.bad(path, "no group %q in lb.groups", name)
		}
	}
	window := func(path string, w Window) { validWindow(v, lab, path, w) }
	switch {
	case e.StatusCount != nil:
		c := e.StatusCount
		pp := p + ".status_count"
		set := 0
		for _, b := range []bool{c.Status != 0, c.Class != "", c.Error != ""} {
			if b {
				set++
			}
		}
		if set != 1 {
			v.bad(pp, "want exactly one of status, class, error")
		}
		if c.Class != "" && (len(c.Class) != 3 || c.Class[1:] != "xx" || c.Class[0] < '1' || c.Class[0] > '5') {
			v.bad(pp+".class", "want a class like 5xx, got %q", c.Class)
		}
		switch c.Error {
		case "", "refused", "reset", "timeout", "invalid", "no_server", "in_flight":
		default:
			v.bad(pp+".error", "want refused, reset, timeout, invalid, no_server or in_flight, got %q", c.Error)
		}
		group(pp+".group", c.Group, false)
		tcpStatusCount(v, lab, pp, c)
		window(pp, c.Window)
	case e.Share != nil:
		c := e.Share
		pp := p + ".share"
		group(pp+".group", c.Group, true)
		if g := n.groups[c.Group]; g != nil && !hasServer(g, c.Server) {
			v.bad(pp+".server", "group %s has no server %q", c.Group, c.Server)
		}
		if c.Expected != nil && !(*c.Expected >= 0 && *c.Expected <= 1) {
			v.bad(pp+".expected", "want a share 0..1, got %v", *c.Expected)
		}
		if c.Tolerance == nil {
			def := 0.02
			c.Tolerance = &def
		} else if !(*c.Tolerance >= 0 && *c.Tolerance <= 1) {
			v.bad(pp+".tolerance", "want 0..1, got %v", *c.Tolerance)
		}
		window(pp, c.Window)
	case e.Latency != nil:
		c := e.Latency
		pp := p + ".latency"
		group(pp+".group", c.Group, false)
		if c.Percentile == 0 && !v.wrote(pp+".percentile") {
			c.Percentile = 99
		}
		if !(c.Percentile > 0 && c.Percentile <= 100) {
			v.bad(pp+".percentile", "want a percentile more than 0 and at most 100 (100: the largest), got %v (leave it out for 99)", c.Percentile)
		}
		v.duration(pp+".min", c.Min, false)
		v.duration(pp+".max", c.Max, false)
		window(pp, c.Window)
	case e.HealthDelay != nil:
		c := e.HealthDelay
		pp := p + ".health_delay"
		if _, ok := faults[c.Fault]; !ok {
			v.bad(pp+".fault", "no fault named %q", c.Fault)
		}
		gs := n.servers[c.Server]
		switch {
		case len(gs) == 0:
			v.bad(pp+".server", "no group has a server %q", c.Server)
		case c.Group == "" && len(gs) > 1:
			v.bad(pp+".group", "server %s is in groups %s: say which", c.Server, strings.Join(gs, ", "))
		case c.Group == "":
			c.Group = gs[0]
		}
		if g := n.groups[c.Group]; c.Group != "" && (g == nil || g.HealthCheck == nil) {
			v.bad(pp+".group", "group %q has no health_check", c.Group)
		}
		if c.To != "up" && c.To != "down" {
			v.bad(pp+".to", "want up or down, got %q", c.To)
		}
		if c.Node != "" && !slices.Contains(lab.ProxyHosts(), c.Node) {
			v.bad(pp+".node", "no host %q with the proxy role", c.Node)
		}
		if !windows[c.Window] || c.Window == "none" {
			v.bad(pp+".window", "want theory, or min and max")
		}
		if c.Metric == "" {
			c.Metric = "health_" + c.To + "_delay_s"
		}
	default:
		return false
	}
	return true
}

// validWindow refuses a check's window that holds no time of the lab
// (to at or before from, or from at or after the lab's end), or that
// ends after the lab (part of it would hold no request, said as if it
// did).
func validWindow(v *validator, lab *Lab, path string, w Window) {
	v.duration(path+".from", w.From, false)
	v.duration(path+".to", w.To, false)
	if w.From.Bad() != "" || w.To.Bad() != "" || lab.Duration.Bad() != "" {
		return
	}
	end := lab.Duration.Or(defaultDuration)
	switch {
	case w.To.IsSet() && w.To.D <= w.From.D:
		v.bad(path+".to", "the window [%v, %v) is empty: to must be after from", w.From.D, w.To.D)
	case w.From.D >= end:
		v.bad(path+".from", "the window starts at %v, at or after the end of the lab (duration %v): it would hold no request", w.From.D, end)
	case w.To.IsSet() && w.To.D > end:
		v.bad(path+".to", "the window ends at %v, after the end of the lab (duration %v): write %v or less, or leave to out for the end", w.To.D, end, end)
	}
}

func hasServer(g *proxy.Group, addr string) bool {
	for _, s := range g.Servers {
		if s.Address == addr {
			return true
		}
	}
	return false
}
