package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/health"
	"github.com/lblab/lblab/units"
)

// Problem is one thing wrong with a Config: a field path relative to the
// config (groups[0].servers[1].weight) and what is wrong.
type Problem struct {
	Path string
	Msg  string
	// Text is Msg as a message to say in other languages.
	Text i18n.Text
}

// Algorithms lists the selection algorithms a group may use.
var Algorithms = []string{"round_robin", "least_conn", "ip_hash", "hash", "hash_consistent",
	"random", "random_two", "random_two_least_conn", "least_time", "sch"}

// QuoteMax is how many bytes of a value a message quotes (Clip).
const QuoteMax = units.QuoteMax

// Clip shortens s for quoting in a message, so that a message quotes at
// most a line's worth of input: s itself when it has at most QuoteMax
// bytes, else its first QuoteMax bytes (cut at a rune boundary), "…" and
// its length in bytes (units.Cut).
func Clip(s string) string { return units.Cut(s) }

// ClipArgs returns args with every string and error clipped (Clip), for
// a message made with fmt. A message (an i18n.Localizer: an i18n.Text, an
// error of i18n.Errorf) stays whole, to be said in the reader's language:
// it clips its own arguments.
func ClipArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case i18n.Localizer:
			out[i] = a
		case string:
			out[i] = Clip(v)
		case error:
			out[i] = Clip(v.Error())
		default:
			out[i] = a
		}
	}
	return out
}

// Validate checks c and fills in defaults that later code relies on
// (listener names and protocols, canonical addresses). It returns every
// problem found; values are quoted at most QuoteMax bytes long.
func Validate(c *Config) []Problem {
	var ps []Problem
	bad := func(path, format string, args ...any) {
		t := i18n.T(format, ClipArgs(args)...)
		ps = append(ps, Problem{Path: path, Msg: t.String(), Text: t})
	}
	groups := map[string]*Group{}
	if len(c.Groups) == 0 {
		bad("groups", "at least one group is required")
	}
	for i := range c.Groups {
		g := &c.Groups[i]
		p := fmt.Sprintf("groups[%d]", i)
		if g.Name == "" || groups[g.Name] != nil {
			bad(p+".name", "want a unique group name, got %q", g.Name)
		}
		groups[g.Name] = g
		validateGroup(g, p, c.Discovery, bad)
	}
	if c.Discovery != "" && c.Discovery != DiscoveryDocker {
		bad("discovery", "want docker or nothing, got %q", c.Discovery)
	}
	if len(c.Listeners) == 0 {
		name := "NAME"
		if len(c.Groups) > 0 && c.Groups[0].Name != "" {
			name = c.Groups[0].Name
		}
		bad("listeners", "at least one listener is required: add one, in an lb section "+
			"listeners: [{port: 8080, group: %s}], in an nginx configuration "+
			"a server { listen 8080; location / { proxy_pass http://%s; } } block", name, name)
	}
	validateListeners(c, groups, bad)
	return ps
}

// listenSocket is a listener's socket: transport, address and port.
type listenSocket struct {
	transport string
	addr      netip.Addr // invalid when the listener names no address
	port      int
}

func validateListeners(c *Config, groups map[string]*Group, bad func(path, format string, args ...any)) {
	sockets := map[listenSocket]string{}
	names := map[string]bool{}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		p := fmt.Sprintf("listeners[%d]", i)
		if l.Protocol == "" {
			l.Protocol = ProtoHTTP
		}
		switch l.Protocol {
		case ProtoHTTP, ProtoHTTPS, ProtoTCP, ProtoUDP:
		default:
			bad(p+".protocol", "want http, https, tcp or udp, got %q", l.Protocol)
		}
		if l.Port < 1 || l.Port > 65535 {
			bad(p+".port", "want a port 1..65535, got %d", l.Port)
		}
		sock := listenSocket{transport: "tcp", port: l.Port}
		if l.Protocol == ProtoUDP {
			sock.transport = "udp"
		}
		if l.Address != "" {
			a, err := netip.ParseAddr(l.Address)
			if err != nil || a.Zone() != "" {
				bad(p+".address", "want an IP address (127.0.0.1, ::1, 0.0.0.0 for every IPv4 address, :: for every IPv6 address), got %q", l.Address)
			} else {
				sock.addr = a
				l.Address = a.String()
			}
		}
		if l.Name == "" {
			l.Name = l.Protocol + ":" + strconv.Itoa(l.Port)
			if l.Address != "" {
				l.Name = l.Protocol + ":" + net.JoinHostPort(l.Address, strconv.Itoa(l.Port))
			}
		}
		if names[l.Name] {
			bad(p+".name", "listener name %q is used twice", l.Name)
		}
		names[l.Name] = true
		if other, dup := sockets[sock]; dup {
			where := ""
			if sock.addr.IsValid() {
				where = " on " + sock.addr.String()
			}
			bad(p+".port", "%s port %d%s is also used by listener %s", sock.transport, l.Port, where, other)
		} else if other := overlapping(c.Listeners[:i], sock); other != "" {
			bad(p+".address", "%s port %d on %s overlaps listener %s (a socket on every address of a family takes the port on all of them)",
				sock.transport, l.Port, sock.addr, other)
		}
		sockets[sock] = l.Name
		if g := groups[l.Group]; g == nil {
			bad(p+".group", "no group %q", l.Group)
		} else if k, err := ParseHashKey(g.HashKey); err == nil && k.Kind != KeyNone && k.Kind != KeyRemoteAddr &&
			(l.Protocol == ProtoTCP || l.Protocol == ProtoUDP) && (g.Algorithm == "hash" || g.Algorithm == "hash_consistent") {
			// nginx's stream module has no request variables
			bad(p+".group", "group %q hashes %s, which a %s session does not have: use $remote_addr", l.Group, g.HashKey, l.Protocol)
		}
		for j, r := range l.Rules {
			rp := fmt.Sprintf("%s.rules[%d]", p, j)
			if l.Protocol == ProtoTCP || l.Protocol == ProtoUDP {
				bad(rp, "rules need an http or https listener")
			}
			if groups[r.Group] == nil {
				bad(rp+".group", "no group %q", r.Group)
			}
			if r.PathPrefix != "" && !strings.HasPrefix(r.PathPrefix, "/") {
				bad(rp+".path_prefix", "a path prefix starts with /, got %q", r.PathPrefix)
			}
		}
	}
}

// overlapping returns the first of before (listeners already validated)
// whose socket cannot be bound beside sock: one on every address of
// sock's family and port when sock names one address, or one on an
// address of the family when sock takes them all.
func overlapping(before []Listener, sock listenSocket) string {
	if !sock.addr.IsValid() {
		return ""
	}
	for _, o := range before {
		a, err := netip.ParseAddr(o.Address)
		if err != nil || o.Port != sock.port || (o.Protocol == ProtoUDP) != (sock.transport == "udp") ||
			a.Is4() != sock.addr.Is4() || a == sock.addr {
			continue
		}
		if a.IsUnspecified() || sock.addr.IsUnspecified() {
			return o.Name
		}
	}
	return ""
}

func validateGroup(g *Group, p, discovery string, bad func(path, format string, args ...any)) {
	switch g.Algorithm {
	case "":
		g.Algorithm = "round_robin"
	case "hash", "hash_consistent":
		if k, err := ParseHashKey(g.HashKey); err != nil || k.Kind == KeyNone {
			bad(p+".hash_key", "want %s, got %q", HashKeys, g.HashKey)
		}
	}
	if g.HashKey != "" && g.Algorithm != "hash" && g.Algorithm != "hash_consistent" {
		bad(p+".hash_key", "only hash and hash_consistent read a hash_key, not %s", g.Algorithm)
	}
	known := false
	for _, a := range Algorithms {
		known = known || a == g.Algorithm
	}
	if !known {
		bad(p+".algorithm", "unknown algorithm %q (one of %s)", g.Algorithm, strings.Join(Algorithms, ", "))
	}
	if len(g.Servers) == 0 && discovery == "" {
		bad(p+".servers", "at least one server is required (or discovery: docker)")
	}
	switch g.Deregister {
	case "", "die", "destroy":
		if g.Deregister != "" && discovery == "" {
			bad(p+".deregister", "deregister needs discovery: docker")
		}
	default:
		bad(p+".deregister", "want die or destroy, got %q", g.Deregister)
	}
	seen := map[string]bool{}
	for j, s := range g.Servers {
		sp := fmt.Sprintf("%s.servers[%d]", p, j)
		if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
			bad(sp+".address", "want host:port, got %q", s.Address)
		}
		if seen[s.Address] {
			bad(sp+".address", "server %s is listed twice", s.Address)
		}
		seen[s.Address] = true
		if w := s.WeightOr(); w < 0 || w > 1000 {
			bad(sp+".weight", "want 0..1000, got %d", w)
		}
		if s.MaxFailsOr() < 0 {
			bad(sp+".max_fails", "must not be negative")
		}
		duration(sp+".fail_timeout", s.FailTimeout, bad)
		if s.MaxConns < 0 {
			bad(sp+".max_conns", "must not be negative")
		}
		if s.Backend != "" && s.Backend != NoBackend {
			bad(sp+".backend", "want none (a server with no simulated backend) or nothing, got %q", s.Backend)
		}
		if s.Backup && (g.Algorithm != "round_robin" && g.Algorithm != "least_conn" && g.Algorithm != "least_time") {
			bad(sp+".backup", "backup servers work with round_robin, least_conn and least_time only (nginx refuses them with %s)", g.Algorithm)
		}
	}
	if h := g.HealthCheck; h != nil {
		hp := p + ".health_check"
		switch h.Type {
		case "":
			h.Type = "http"
		case "http", "tcp":
		default:
			bad(hp+".type", "want http or tcp, got %q", h.Type)
		}
		if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
			bad(hp+".path", "a path starts with /, got %q", h.Path)
		}
		switch strings.ToUpper(h.Method) {
		case "", "GET", "HEAD":
		default:
			bad(hp+".method", "want GET or HEAD, got %q", h.Method)
		}
		if _, err := health.ParseCodes(h.ExpectedCodes); err != nil {
			bad(hp+".expected_codes", "%v", err)
		}
		if h.Type == "tcp" {
			// A TCP check only connects: these would be ignored.
			for _, f := range []struct{ name, v string }{{"path", h.Path}, {"method", h.Method}, {"expected_codes", h.ExpectedCodes}} {
				if f.v != "" {
					bad(hp+"."+f.name, "a tcp health check only connects: it has no %s (use type http)", f.name)
				}
			}
		}
		duration(hp+".interval", h.Interval, bad)
		duration(hp+".timeout", h.Timeout, bad)
		for _, f := range []struct {
			name string
			d    units.Duration
			def  string
		}{{"interval", h.Interval, "2s"}, {"timeout", h.Timeout, "5s"}} {
			if f.d.IsSet() && f.d.What() == "" && f.d.D == 0 {
				bad(hp+"."+f.name, "must be more than 0 (leave it out for %s)", f.def)
			}
		}
		if h.HealthyThreshold < 0 || h.UnhealthyThreshold < 0 {
			bad(hp, "thresholds must be at least 1")
		}
	}
	if ps := g.Persistence; ps != nil {
		switch ps.Mode {
		case "", "none", "source_ip", "cookie":
		default:
			bad(p+".persistence.mode", "want none, source_ip or cookie, got %q", ps.Mode)
		}
		duration(p+".persistence.lifetime", ps.Lifetime, bad)
		if ps.Cookie != "" && ps.Mode != "cookie" {
			bad(p+".persistence.cookie", "only mode cookie inserts a cookie, got mode %q", ps.Mode)
		}
		if ps.Lifetime.IsSet() && (ps.Mode == "" || ps.Mode == "none") {
			bad(p+".persistence.lifetime", "mode none keeps no client: it has no lifetime")
		}
	}
	if n := g.NextUpstream; n != nil {
		if _, err := attempt.ParseConditions(n.On); err != nil {
			bad(p+".next_upstream.on", "%v", err)
		}
		if n.Tries < 0 {
			bad(p+".next_upstream.tries", "must not be negative")
		}
		duration(p+".next_upstream.timeout", n.Timeout, bad)
	}
	switch g.NoServer {
	case "":
		g.NoServer = NoServer502
	case NoServer502, NoServer503, NoServerFailOpen:
	default:
		bad(p+".no_server", "want 502, 503 or fail-open, got %q", g.NoServer)
	}
	duration(p+".connect_timeout", g.ConnectTimeout, bad)
	duration(p+".read_timeout", g.ReadTimeout, bad)
}

func duration(path string, d units.Duration, bad func(path, format string, args ...any)) {
	switch {
	case d.What() != "":
		bad(path, "%s", d.ProblemText()) // What is cut already
	case d.D < 0:
		bad(path, "must not be negative")
	}
}
