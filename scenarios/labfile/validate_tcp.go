package labfile

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/discovery"
)

// tcpGroups returns the groups a tcp listener of lab's load balancer
// sends its sessions to, each with the first such listener's name.
func tcpGroups(lb *proxy.Config) map[string]string {
	out := map[string]string{}
	if lb == nil {
		return out
	}
	for _, l := range lb.Listeners {
		if l.Protocol == proxy.ProtoTCP {
			if _, ok := out[l.Group]; !ok {
				out[l.Group] = l.Name
			}
		}
	}
	return out
}

// TCPListeners returns the names of the tcp listeners of lab's load
// balancer: their clients' request events are tcp exchanges (status 0;
// an error class when the exchange failed).
func TCPListeners(lab *Lab) map[string]bool {
	out := map[string]bool{}
	if lab.LB == nil {
		return out
	}
	for _, l := range lab.LB.Listeners {
		if l.Protocol == proxy.ProtoTCP {
			out[l.Name] = true
		}
	}
	return out
}

// TCPGroup reports whether group of lab's load balancer serves a tcp
// listener ("" serves none).
func TCPGroup(lab *Lab, group string) bool {
	_, ok := tcpGroups(lab.LB)[group]
	return ok && group != ""
}

// validateTCP refuses what a tcp listener's sessions cannot have, as
// nginx's stream module (which proxies tcp) has none of it: a group that
// serves a tcp listener and an http one too (stream and http upstreams
// are apart), an HTTP health check, a retry on an HTTP status, cookie
// persistence, a read timeout (stream's proxy_timeout is an idle timeout,
// not modelled); backends of its servers with what only an HTTP backend
// has (the tcp echo answers every line, at once: no injected statuses,
// no concurrency limit or queue, no health endpoint); clients with what
// only an HTTP request has (a tcp client sends a line).
func validateTCP(v *validator, lab *Lab) {
	tcp := tcpGroups(lab.LB)
	if len(tcp) == 0 {
		return
	}
	for i, l := range lab.LB.Listeners {
		if l.Protocol == proxy.ProtoTCP || l.Protocol == proxy.ProtoUDP {
			continue
		}
		p := fmt.Sprintf("lb.listeners[%d]", i)
		if other, ok := tcp[l.Group]; ok {
			v.bad(p+".group", "group %s serves tcp listener %s and %s listener %s: nginx keeps stream (tcp) and http upstreams apart; give each its own group",
				l.Group, other, cmp.Or(l.Protocol, proxy.ProtoHTTP), l.Name)
		}
		for j, r := range l.Rules {
			if other, ok := tcp[r.Group]; ok {
				v.bad(fmt.Sprintf("%s.rules[%d].group", p, j), "group %s serves tcp listener %s and %s listener %s: nginx keeps stream (tcp) and http upstreams apart; give each its own group",
					r.Group, other, cmp.Or(l.Protocol, proxy.ProtoHTTP), l.Name)
			}
		}
	}
	for i := range lab.LB.Groups {
		g := &lab.LB.Groups[i]
		l, ok := tcp[g.Name]
		if !ok {
			continue
		}
		p := fmt.Sprintf("lb.groups[%d]", i)
		if hc := g.HealthCheck; hc != nil && hc.Type != "tcp" {
			v.bad(p+".health_check.type", "group %s serves tcp listener %s: a tcp server is checked by connecting (nginx's stream health checks): want type tcp, got %q",
				g.Name, l, cmp.Or(hc.Type, "http"))
		}
		if n := g.NextUpstream; n != nil {
			for j, w := range n.On {
				switch strings.ToLower(strings.TrimSpace(w)) {
				case "error", "timeout", "off":
				default:
					v.bad(fmt.Sprintf("%s.next_upstream.on[%d]", p, j), "group %s serves tcp listener %s: a tcp session passes on after a failed connect only (error, timeout or off), got %q",
						g.Name, l, w)
				}
			}
		}
		if ps := g.Persistence; ps != nil && ps.Mode == "cookie" {
			v.bad(p+".persistence.mode", "group %s serves tcp listener %s: a tcp session has no cookie (use source_ip)", g.Name, l)
		}
		if g.ReadTimeout.IsSet() {
			v.bad(p+".read_timeout", "group %s serves tcp listener %s: a tcp session waits for no response header (nginx's stream proxy_timeout is not modelled)", g.Name, l)
		}
	}
	echo := func(p, addr, group string, b workload.Backend) {
		l := tcp[group]
		switch {
		case len(b.Errors) > 0:
			v.bad(p+".errors", "backend %s serves tcp listener %s: the tcp echo injects no status", addr, l)
		case b.Concurrency != 0 || b.Queue != nil:
			v.bad(p+".concurrency", "backend %s serves tcp listener %s: the tcp echo answers every line at once (no concurrency limit, no queue)", addr, l)
		case b.HealthPath != "":
			v.bad(p+".health_path", "backend %s serves tcp listener %s: the tcp echo has no health endpoint", addr, l)
		}
	}
	for i, b := range lab.Backends {
		for _, g := range lab.LB.Groups {
			if _, ok := tcp[g.Name]; ok && hasServer(&g, b.Address) {
				echo(fmt.Sprintf("backends[%d]", i), b.Address, g.Name, b)
				break
			}
		}
	}
	for i := range lab.Services {
		s := &lab.Services[i]
		c := discovery.Container{ID: s.Name, Name: s.Container(1), Host: s.Container(1), Labels: s.Labels}
		regs, _ := discovery.Labels(lab.LB, c)
		for _, r := range regs {
			if _, ok := tcp[r.Group]; ok {
				echo(fmt.Sprintf("services[%d].backend", i), r.Server.Address, r.Group, s.Backend)
				break
			}
		}
	}
	tcpListeners := TCPListeners(lab)
	for i, c := range lab.Clients {
		if !tcpListeners[c.Listener] && (c.Listener != "" || lab.LB.Listeners[0].Protocol != proxy.ProtoTCP) {
			continue
		}
		p := fmt.Sprintf("clients[%d]", i)
		for _, f := range []struct {
			name string
			set  bool
		}{{"method", c.Method != ""}, {"paths", len(c.Paths) > 0}, {"host", c.Host != ""},
			{"headers", len(c.Headers) > 0}, {"via", c.Via != ""}} {
			if f.set {
				v.bad(p+"."+f.name, "clients of tcp listener %s send a line, not an HTTP request: they have no %s", cmp.Or(c.Listener, lab.LB.Listeners[0].Name), f.name)
			}
		}
	}
}

// tcpStatusCount refuses a status_count of a tcp listener's group that
// names a status or a class other than 2xx and 5xx: a tcp exchange has
// no status; class 2xx counts the exchanges echoed, 5xx those that
// failed (any error class but in_flight: refused, reset, timeout, …).
func tcpStatusCount(v *validator, lab *Lab, pp string, c *StatusCountCheck) {
	l, ok := tcpGroups(lab.LB)[c.Group]
	if !ok {
		return
	}
	switch {
	case c.Status != 0:
		v.bad(pp+".status", "group %s serves tcp listener %s: a tcp exchange has no status: count class 5xx (failed) or 2xx (echoed), or an error", c.Group, l)
	case c.Class != "" && c.Class != "2xx" && c.Class != "5xx":
		v.bad(pp+".class", "group %s serves tcp listener %s: a tcp exchange has no status: count class 5xx (failed) or 2xx (echoed), or an error", c.Group, l)
	}
}
