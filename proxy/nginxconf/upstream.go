package nginxconf

import (
	"strconv"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

// upstreamNoEffect are accepted in upstream blocks but do not change which
// server gets a request.
var upstreamNoEffect = map[string]bool{
	"keepalive": true, "keepalive_timeout": true, "keepalive_requests": true,
	"keepalive_time": true, "zone": true,
}

// noBackup are the methods whose modules leave NGX_HTTP_UPSTREAM_BACKUP out
// of the upstream's flags (ngx_http_upstream_hash_module.c,
// ngx_http_upstream_ip_hash_module.c, ngx_http_upstream_random_module.c and
// their stream twins), so that nginx refuses "backup" on the servers that
// follow them.
var noBackup = map[string]bool{
	"ip_hash": true, "hash": true, "hash_consistent": true,
	"random": true, "random_two": true, "random_two_least_conn": true,
}

// upstream reads an upstream block into a group.
func (im *importer) upstream(n *node, ctx string) {
	if len(n.args) != 1 {
		return // reported by the second walk
	}
	name := n.args[0]
	key := strings.ToLower(name)
	if prev := im.byKey[key]; prev != nil {
		if prev.ctx == ctx {
			im.errorf(n.line, "duplicate upstream %q (first at line %d)", name, prev.line)
		} else {
			im.errorf(n.line, "upstream %q is defined in both %s (line %d) and %s: lblab groups share one namespace, rename one",
				name, prev.ctx, prev.line, ctx)
		}
		return
	}
	gi := &groupInfo{g: proxy.Group{Name: name}, ctx: ctx, line: n.line}
	method, directive, methodLine := "", "", 0
	type backupAt struct {
		line, methodLine int
		method           string
	}
	var backups []backupAt
	servers := 0
	setMethod := func(d *node, m string) {
		if method != "" {
			im.warnf(d.line, "load balancing method redefined")
		}
		method, directive, methodLine = m, d.name, d.line
	}
	for _, d := range n.block {
		if d.isBlock {
			im.errorf(d.line, "unsupported in upstream: %s { ... }", d.name)
			continue
		}
		switch d.name {
		case "server":
			servers++
			s, ok := im.upstreamServer(d, ctx)
			if !ok {
				continue
			}
			if s.Backup {
				backups = append(backups, backupAt{d.line, methodLine, method})
			}
			gi.g.Servers = append(gi.g.Servers, s)
		case "ip_hash":
			if ctx == ctxStream {
				im.errorf(d.line, "ip_hash is not available in stream upstreams (use hash $remote_addr)")
				continue
			}
			if len(d.args) != 0 {
				im.errorf(d.line, "invalid number of arguments in \"ip_hash\" directive")
				continue
			}
			setMethod(d, "ip_hash")
		case "least_conn":
			if len(d.args) != 0 {
				im.errorf(d.line, "invalid number of arguments in \"least_conn\" directive")
				continue
			}
			setMethod(d, "least_conn")
		case "hash":
			if len(d.args) < 1 || len(d.args) > 2 {
				im.errorf(d.line, "invalid number of arguments in \"hash\" directive")
				continue
			}
			m := "hash"
			if len(d.args) == 2 {
				if d.args[1] != "consistent" {
					im.errorf(d.line, "invalid parameter %q", d.args[1])
					continue
				}
				m = "hash_consistent"
			}
			k, ok := hashKey(d.args[0], ctx == ctxStream)
			if !ok {
				if ctx == ctxStream {
					im.errorf(d.line, "hash key %q is not supported: lblab hashes $remote_addr in stream upstreams", d.args[0])
				} else {
					im.errorf(d.line, "hash key %q is not supported: lblab hashes %s", d.args[0], proxy.HashKeys)
				}
				continue
			}
			setMethod(d, m)
			gi.g.HashKey = k
		case "random":
			if len(d.args) > 2 {
				im.errorf(d.line, "invalid number of arguments in \"random\" directive")
				continue
			}
			m := "random"
			if len(d.args) >= 1 {
				if d.args[0] != "two" {
					im.errorf(d.line, "invalid parameter %q", d.args[0])
					continue
				}
				m = "random_two"
			}
			if len(d.args) == 2 {
				if d.args[1] != "least_conn" {
					im.errorf(d.line, "invalid parameter %q", d.args[1])
					continue
				}
				m = "random_two_least_conn"
			}
			setMethod(d, m)
		default:
			if upstreamNoEffect[d.name] {
				im.warnf(d.line, "%s: accepted, no effect on server selection", d.name)
				continue
			}
			im.errorf(d.line, "unsupported in upstream: %s", d.name)
		}
	}
	if method != "hash" && method != "hash_consistent" {
		gi.g.HashKey = ""
	}
	for _, b := range backups {
		switch {
		case noBackup[b.method]:
			im.errorf(b.line, "balancing method does not support parameter \"backup\" (%s at line %d; nginx rejects this too)",
				directiveText(b.method), b.methodLine)
		case noBackup[method]:
			im.errorf(b.line, "\"backup\" is not supported with %s (line %d): nginx refuses it on servers after that directive, and lblab on servers before it",
				directive, methodLine)
		}
	}
	if servers == 0 {
		im.errorf(n.line, "empty upstream %q: no servers are inside upstream", name)
	}
	if method == "" {
		method = "round_robin"
	}
	gi.g.Algorithm = method
	im.addGroup(gi)
	if ctx == ctxStream {
		im.streamUps[key] = gi
	} else {
		im.httpUps[key] = gi
	}
}

// directiveText names the directive that selects a method.
func directiveText(method string) string {
	switch method {
	case "hash_consistent":
		return "hash"
	case "random_two", "random_two_least_conn":
		return "random"
	}
	return method
}

// hashKey checks a hash key against the keys lblab's balancer can hash
// (proxy.ParseHashKey; in a stream upstream only $remote_addr), and
// returns it with ${name} written as $name.
func hashKey(key string, stream bool) (string, bool) {
	k := key
	if strings.HasPrefix(k, "${") && strings.HasSuffix(k, "}") && strings.Count(k, "$") == 1 {
		k = "$" + k[2:len(k)-1]
	}
	hk, err := proxy.ParseHashKey(k)
	if err != nil || hk.Kind == proxy.KeyNone {
		return k, false
	}
	return k, !stream || hk.Kind == proxy.KeyRemoteAddr
}

// unsupportedServerParams are server parameters of nginx (or NGINX Plus)
// that lblab does not model.
var unsupportedServerParams = []string{"resolve", "drain", "slow_start=", "route=", "service="}

// upstreamServer reads `server ADDRESS [parameters]` in an upstream block.
func (im *importer) upstreamServer(d *node, ctx string) (proxy.Server, bool) {
	if len(d.args) < 1 {
		im.errorf(d.line, "invalid number of arguments in \"server\" directive")
		return proxy.Server{}, false
	}
	addr := d.args[0]
	ok := true
	if ctx == ctxStream && !strings.HasPrefix(addr, "unix:") {
		if _, port := splitHostPort(addr); port == "" {
			im.errorf(d.line, "no port in upstream %q", addr)
			ok = false
		}
	}
	s := proxy.Server{Address: addr}
	bad := func(p string) {
		im.errorf(d.line, "invalid parameter %q", p)
		ok = false
	}
	for _, p := range d.args[1:] {
		name, val, hasVal := strings.Cut(p, "=")
		switch {
		case hasVal && name == "weight":
			n, err := atoi(val)
			if err != nil || n < 1 {
				bad(p)
				continue
			}
			s.Weight = &n
		case hasVal && name == "max_fails":
			n, err := atoi(val)
			if err != nil {
				bad(p)
				continue
			}
			s.MaxFails = &n
		case hasVal && name == "max_conns":
			n, err := atoi(val)
			if err != nil {
				bad(p)
				continue
			}
			s.MaxConns = n
		case hasVal && name == "fail_timeout":
			t, err := parseTime(val, true)
			if err != nil {
				bad(p)
				continue
			}
			s.FailTimeout = units.Of(t)
		case p == "backup":
			s.Backup = true
		case p == "down":
			s.Down = true
		default:
			known := false
			for _, u := range unsupportedServerParams {
				if p == u || strings.HasSuffix(u, "=") && strings.HasPrefix(p, u) {
					known = true
				}
			}
			if known {
				im.errorf(d.line, "server parameter %q is not supported", p)
			} else {
				im.errorf(d.line, "unknown server parameter %q", p)
			}
			ok = false
		}
	}
	return s, ok
}

var errNumber = i18n.Errorf("not a number")

// atoi reads a non-negative decimal number as ngx_atoi does: digits only.
func atoi(s string) (int, error) {
	if s == "" {
		return 0, errNumber
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errNumber
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errNumber
	}
	return n, nil
}

// splitHostPort splits host:port, [v6]:port, [v6], host or a bare port
// number (port only). The port is "" when none is written.
func splitHostPort(addr string) (host, port string) {
	if strings.HasPrefix(addr, "[") {
		end := strings.IndexByte(addr, ']')
		if end < 0 {
			return addr, ""
		}
		host, rest := addr[:end+1], addr[end+1:]
		if strings.HasPrefix(rest, ":") {
			return host, rest[1:]
		}
		return host, ""
	}
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[:i], addr[i+1:]
	}
	return addr, ""
}
