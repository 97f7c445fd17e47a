package nginxconf

import (
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/lblab/lblab/proxy"
)

// httpServer is a server block in http.
type httpServer struct {
	line    int
	listens []httpListen
	names   []string // exact server names, in order
	routes  []*route
	sslOn   bool
	named   map[string]*namedLoc
}

type httpListen struct {
	addr     string // "" for a bare port
	port     int
	ssl, def bool
	line     int
}

// route is a location that proxies to a group.
type route struct {
	prefix string
	exact  bool
	line   int
	group  string
	set    settings
	// tryNamed is the @location a try_files falls back to, when the
	// location has no proxy_pass of its own.
	tryNamed string
	tryLine  int
}

// namedLoc is a location @NAME.
type namedLoc struct {
	line  int
	group string
	set   settings
	used  bool
}

// httpServer reads a server block of http.
func (im *importer) httpServer(n *node, parent settings) {
	s := im.scopeOf(n.block, parent)
	srv := &httpServer{line: n.line, named: map[string]*namedLoc{}}
	for _, d := range n.block {
		if isSetting(d.name) || !im.checkShape(d) {
			continue
		}
		switch d.name {
		case "listen":
			if l, ok := im.httpListen(d); ok {
				srv.listens = append(srv.listens, l)
			}
		case "server_name":
			im.serverName(d, srv)
		case "location":
			im.location(d, s, srv, "")
		case "if":
			im.ignoreBlock(d)
		case "ssl":
			if len(d.args) == 1 && d.args[0] == "on" {
				srv.sslOn = true
			}
		case "rewrite":
			im.rewrite(d, true)
		case "limit_except", "map", "types", "geo", "split_clients":
			im.errorf(d.line, "%q directive is not allowed here", d.name)
		case "server":
			im.errorf(d.line, "\"server\" directive is not allowed here")
		default:
			im.other(d)
		}
	}
	if len(srv.listens) == 0 {
		srv.listens = []httpListen{{port: 80, line: n.line}}
	}
	for _, r := range srv.routes {
		if r.group != "" || r.tryNamed == "" {
			continue
		}
		nl := srv.named[r.tryNamed]
		switch {
		case nl == nil:
			im.warnf(r.tryLine, "try_files: no location %s in this server; location %s not imported", r.tryNamed, r.prefix)
		case nl.group == "":
			nl.used = true
			im.warnf(r.tryLine, "try_files: location %s has no proxy_pass; location %s not imported", r.tryNamed, r.prefix)
		default:
			nl.used = true
			r.group, r.set = nl.group, nl.set
			im.warnf(r.tryLine, "try_files: imported as if no file exists: requests for %s go to location %s", r.prefix, r.tryNamed)
		}
	}
	var kept []*route
	for _, r := range srv.routes {
		if r.group != "" {
			kept = append(kept, r)
			im.byKey[strings.ToLower(r.group)].use(r.line, "location "+r.prefix, r.set)
		}
	}
	srv.routes = kept
	for name, nl := range srv.named {
		if !nl.used && nl.group != "" {
			im.warnf(nl.line, "ignored: location %s (reached only through try_files or error_page)", name)
		}
	}
	// nginx picks the longest matching prefix; lblab the first matching
	// rule. Exact locations, read as prefixes, go after a plain prefix of
	// the same text so that they do not capture its longer paths.
	sort.SliceStable(srv.routes, func(i, j int) bool {
		a, b := srv.routes[i], srv.routes[j]
		if len(a.prefix) != len(b.prefix) {
			return len(a.prefix) > len(b.prefix)
		}
		return !a.exact && b.exact
	})
	im.httpServers = append(im.httpServers, srv)
}

// serverName reads server_name: exact names become rule hosts.
func (im *importer) serverName(d *node, srv *httpServer) {
	for _, name := range d.args {
		switch {
		case name == "" || name == "_":
		case strings.HasPrefix(name, "~"), strings.Contains(name, "*"), strings.Contains(name, "$"):
			im.warnf(d.line, "server_name %s: only exact names are imported (rules match host names exactly)", name)
		case strings.HasPrefix(name, "."):
			im.warnf(d.line, "server_name %s: imported as %s only (rules match host names exactly)", name, name[1:])
			if name[1:] != "" {
				srv.names = append(srv.names, name[1:])
			}
		default:
			srv.names = append(srv.names, name)
		}
	}
}

// location reads a location block (and the locations nested in it).
func (im *importer) location(d *node, parent settings, srv *httpServer, outer string) {
	var mod, path string
	switch len(d.args) {
	case 1:
		a := d.args[0]
		switch {
		case strings.HasPrefix(a, "@"):
			mod, path = "@", a
		case strings.HasPrefix(a, "="):
			mod, path = "=", a[1:]
		case strings.HasPrefix(a, "^~"):
			mod, path = "^~", a[2:]
		case strings.HasPrefix(a, "~*"):
			mod, path = "~*", a[2:]
		case strings.HasPrefix(a, "~"):
			mod, path = "~", a[1:]
		default:
			path = a
		}
	case 2:
		mod, path = d.args[0], d.args[1]
		switch mod {
		case "=", "^~", "~", "~*":
		default:
			im.errorf(d.line, "invalid location modifier %q", mod)
			return
		}
	default:
		im.errorf(d.line, "invalid number of arguments in \"location\" directive")
		return
	}
	switch {
	case mod == "~" || mod == "~*":
		im.errorf(d.line, "regex locations are not supported (location %s %s)", mod, path)
		return
	case mod == "@":
		if outer != "" {
			im.errorf(d.line, "named location %q can be on the server level only", path)
			return
		}
		if _, dup := srv.named[path]; dup {
			im.errorf(d.line, "duplicate location %q", path)
			return
		}
		s := im.scopeOf(d.block, parent)
		nl := &namedLoc{line: d.line, set: s}
		srv.named[path] = nl
		for _, c := range d.block {
			if isSetting(c.name) || !im.checkShape(c) {
				continue
			}
			switch c.name {
			case "proxy_pass":
				im.proxyPasses++
				if nl.group != "" {
					im.errorf(c.line, "\"proxy_pass\" directive is duplicate")
					continue
				}
				nl.group = im.httpPass(c)
			case "location":
				im.errorf(c.line, "location is not allowed inside named location %q", path)
			case "if", "limit_except":
				im.ignoreBlock(c)
			case "rewrite":
				im.rewrite(c, false)
			default:
				im.other(c)
			}
		}
		return
	}
	if path == "" {
		im.errorf(d.line, "location has an empty path")
		return
	}
	if outer != "" && !strings.HasPrefix(path, outer) {
		im.errorf(d.line, "location %q is outside location %q", path, outer)
		return
	}
	if mod == "=" {
		im.warnf(d.line, "exact location = %s imported as prefix %s", path, path)
	}
	s := im.scopeOf(d.block, parent)
	r := &route{prefix: path, exact: mod == "=", line: d.line, set: s}
	passes := 0
	for _, c := range d.block {
		if isSetting(c.name) || !im.checkShape(c) {
			continue
		}
		switch c.name {
		case "proxy_pass":
			im.proxyPasses++
			passes++
			if passes > 1 {
				im.errorf(c.line, "\"proxy_pass\" directive is duplicate")
				continue
			}
			r.group = im.httpPass(c)
		case "location":
			if mod == "=" {
				im.errorf(c.line, "location is not allowed inside the exact location \"= %s\"", path)
				continue
			}
			im.location(c, s, srv, path)
		case "if", "limit_except":
			im.ignoreBlock(c)
		case "try_files":
			if len(c.args) >= 2 && strings.HasPrefix(c.args[len(c.args)-1], "@") {
				r.tryNamed, r.tryLine = c.args[len(c.args)-1], c.line
			} else {
				im.warnf(c.line, "ignored: try_files")
			}
		case "rewrite":
			im.rewrite(c, false)
		case "server_name", "listen", "upstream", "server":
			im.errorf(c.line, "%q directive is not allowed here", c.name)
		default:
			im.other(c)
		}
	}
	if passes == 0 && r.tryNamed == "" {
		im.warnf(d.line, "ignored: location %s (no proxy_pass)", path)
		return
	}
	if passes > 0 && r.tryNamed != "" {
		im.warnf(r.tryLine, "ignored: try_files")
		r.tryNamed = ""
	}
	srv.routes = append(srv.routes, r)
}

// rewrite accepts redirects, and rewrites that keep the location (break in
// a location); others change which location serves the request.
func (im *importer) rewrite(d *node, serverLevel bool) {
	if len(d.args) < 2 || len(d.args) > 3 {
		im.errorf(d.line, "invalid number of arguments in \"rewrite\" directive")
		return
	}
	repl, flag := d.args[1], ""
	if len(d.args) == 3 {
		flag = d.args[2]
	}
	switch {
	case flag == "redirect" || flag == "permanent" ||
		strings.HasPrefix(repl, "http://") || strings.HasPrefix(repl, "https://") ||
		strings.HasPrefix(repl, "$scheme"):
		im.warnf(d.line, "ignored: rewrite (a redirect)")
	case flag == "break" && !serverLevel:
		im.warnf(d.line, "ignored: rewrite ... break (changes the URI sent upstream, not the location)")
	default:
		im.errorf(d.line, "rewrite that changes which location serves the request is not supported")
	}
}

// listenable reports whether a listen directive (http or stream) has an
// address lblab can import: it must have arguments (an error otherwise),
// and a unix socket is skipped with a warning.
func (im *importer) listenable(d *node) bool {
	if len(d.args) == 0 {
		im.errorf(d.line, "invalid number of arguments in \"listen\" directive")
		return false
	}
	if strings.HasPrefix(d.args[0], "unix:") {
		im.warnf(d.line, "ignored: listen %s (unix sockets are not imported)", d.args[0])
		return false
	}
	return true
}

// httpListen reads a listen directive of an http server.
func (im *importer) httpListen(d *node) (httpListen, bool) {
	if !im.listenable(d) {
		return httpListen{}, false
	}
	addr, port, ok := im.listenAddr(d, 80)
	if !ok {
		return httpListen{}, false
	}
	l := httpListen{addr: addr, port: port, line: d.line}
	for _, p := range d.args[1:] {
		name, _, _ := strings.Cut(p, "=")
		switch name {
		case "default_server", "default":
			l.def = true
		case "ssl":
			l.ssl = true
		case "quic":
			im.warnf(d.line, "ignored: listen %s quic (HTTP/3 is not imported)", d.args[0])
			return httpListen{}, false
		case "http2", "spdy", "proxy_protocol", "reuseport", "deferred", "bind",
			"backlog", "rcvbuf", "sndbuf", "ipv6only", "so_keepalive",
			"fastopen", "accept_filter", "setfib", "multipath":
		default:
			im.warnf(d.line, "ignored: listen parameter %s", p)
		}
	}
	return l, true
}

// listenAddr reads the address of a listen directive: PORT, ADDR:PORT,
// [V6]:PORT, or an address alone (port def, or an error when def is 0).
func (im *importer) listenAddr(d *node, def int) (addr string, port int, ok bool) {
	a := d.args[0]
	host, p := splitHostPort(a)
	if p == "" && !strings.HasPrefix(a, "[") {
		if _, err := atoi(a); err == nil {
			host, p = "", a
		}
	}
	if p == "" {
		if def == 0 {
			im.errorf(d.line, "no port in %q of the \"listen\" directive", a)
			return "", 0, false
		}
		return host, def, true
	}
	n, err := atoi(p)
	if err != nil || n < 1 || n > 65535 {
		im.errorf(d.line, "invalid port in %q of the \"listen\" directive", a)
		return "", 0, false
	}
	return host, n, true
}

// httpPass resolves proxy_pass in a location to a group name ("" after
// an error).
func (im *importer) httpPass(d *node) string {
	if len(d.args) != 1 {
		im.errorf(d.line, "invalid number of arguments in \"proxy_pass\" directive")
		return ""
	}
	u := d.args[0]
	if strings.Contains(u, "$") {
		im.errorf(d.line, "proxy_pass with variables is not supported (%s)", u)
		return ""
	}
	lower := strings.ToLower(u)
	var rest, defPort string
	switch {
	case strings.HasPrefix(lower, "http://"):
		rest, defPort = u[len("http://"):], "80"
	case strings.HasPrefix(lower, "https://"):
		rest, defPort = u[len("https://"):], "443"
	default:
		im.errorf(d.line, "invalid URL prefix in %q", u)
		return ""
	}
	if strings.HasPrefix(rest, "unix:") {
		path := rest[len("unix:"):]
		if i := strings.IndexByte(path, ':'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			im.errorf(d.line, "no path in the unix domain socket %q", u)
			return ""
		}
		return im.implicitGroup("unix:"+path, d.line)
	}
	hostport := rest
	if strings.HasPrefix(hostport, "[") {
		if end := strings.IndexByte(hostport, ']'); end >= 0 {
			if i := strings.IndexAny(hostport[end:], "/?"); i >= 0 {
				hostport = hostport[:end+i]
			}
		}
	} else if i := strings.IndexAny(hostport, "/?"); i >= 0 {
		hostport = hostport[:i]
	}
	if hostport == "" {
		im.errorf(d.line, "no host in %q", u)
		return ""
	}
	if gi := im.httpUps[strings.ToLower(hostport)]; gi != nil {
		return gi.g.Name
	}
	host, port := splitHostPort(hostport)
	if host == "" {
		im.errorf(d.line, "no host in %q", u)
		return ""
	}
	if port != "" {
		if im.httpUps[strings.ToLower(host)] != nil {
			im.errorf(d.line, "upstream %q may not have port %s", host, port)
			return ""
		}
		if n, err := atoi(port); err != nil || n < 1 || n > 65535 {
			im.errorf(d.line, "invalid port in upstream %q", hostport)
			return ""
		}
	} else {
		port = defPort
		if net.ParseIP(strings.Trim(host, "[]")) == nil {
			im.warnf(d.line, "proxy_pass %s: no upstream %q in this file; imported as the single server %s:%s", u, host, host, port)
		}
	}
	return im.implicitGroup(host+":"+port, d.line)
}

// implicitGroup returns the single-server group for a proxy_pass address,
// made on first use.
func (im *importer) implicitGroup(addr string, line int) string {
	if gi := im.byKey[strings.ToLower(addr)]; gi != nil {
		if gi.ctx == ctxProxy {
			return gi.g.Name
		}
		im.errorf(line, "proxy_pass address %s has the name of upstream %q (line %d): rename the upstream", addr, gi.g.Name, gi.line)
		return ""
	}
	im.addGroup(&groupInfo{
		g: proxy.Group{
			Name:      addr,
			Algorithm: "round_robin",
			Servers:   []proxy.Server{{Address: addr}},
		},
		ctx:  ctxProxy,
		line: line,
	})
	return addr
}

// httpListeners makes one listener per port of the http servers.
func (im *importer) httpListeners() []proxy.Listener {
	var ports []int
	seen := map[int]bool{}
	for _, srv := range im.httpServers {
		for _, l := range srv.listens {
			if !seen[l.port] {
				seen[l.port] = true
				ports = append(ports, l.port)
			}
		}
	}
	var out []proxy.Listener
	for _, port := range ports {
		if l, ok := im.httpListener(port); ok {
			out = append(out, l)
		}
	}
	return out
}

func wildcard(addr string) bool { return addr == "" || addr == "*" || addr == "[::]" }

func (im *importer) httpListener(port int) (proxy.Listener, bool) {
	var srvs []*httpServer
	var def *httpServer
	var defListen httpListen
	https := false
	addrs := map[string]int{}
	var addrOrder []string
	for _, srv := range im.httpServers {
		in := false
		for _, l := range srv.listens {
			if l.port != port {
				continue
			}
			in = true
			https = https || l.ssl || srv.sslOn
			a := l.addr
			if wildcard(a) {
				a = "*"
			}
			if _, ok := addrs[a]; !ok {
				addrs[a] = l.line
				addrOrder = append(addrOrder, a)
			}
			if !l.def {
				continue
			}
			switch {
			case def == nil:
				def, defListen = srv, l
			case def == srv:
			case wildcard(l.addr) == wildcard(defListen.addr) && (wildcard(l.addr) || l.addr == defListen.addr):
				im.errorf(l.line, "a duplicate default server for port %d (first at line %d)", port, defListen.line)
			default:
				im.warnf(l.line, "default server for port %d on another address than at line %d: lblab has one listener per port and keeps the first", port, defListen.line)
			}
		}
		if in {
			srvs = append(srvs, srv)
		}
	}
	if len(addrOrder) > 1 {
		im.warnf(addrs[addrOrder[1]], "port %d is listened on at several addresses (%s): lblab merges them into one listener",
			port, strings.Join(addrOrder, ", "))
	}
	if def == nil {
		def = srvs[0]
	}
	var rules []proxy.Rule
	for _, srv := range srvs {
		if len(srv.names) == 0 && srv != def {
			if len(srv.routes) > 0 {
				im.warnf(srv.line, "server has no exact server_name and is not the default server for port %d: its locations are not imported", port)
			}
			continue
		}
		for _, name := range srv.names {
			for _, r := range srv.routes {
				rules = append(rules, proxy.Rule{Host: name, PathPrefix: r.prefix, Group: r.group})
			}
		}
	}
	// Requests for host names no server claims go to the default server.
	for _, r := range def.routes {
		rules = append(rules, proxy.Rule{PathPrefix: r.prefix, Group: r.group})
	}
	group := ""
	for _, exact := range []bool{false, true} {
		for _, r := range def.routes {
			if r.prefix == "/" && r.exact == exact && group == "" {
				group = r.group
			}
		}
	}
	if group == "" {
		switch {
		case len(def.routes) > 0:
			group = def.routes[len(def.routes)-1].group
		case len(rules) > 0:
			group = rules[0].Group
		default:
			im.warnf(def.line, "port %d: no location proxies requests; listener not imported", port)
			return proxy.Listener{}, false
		}
		im.warnf(def.line, "default server for port %d has no \"location /\" with proxy_pass: requests that match no rule go to group %q", port, group)
	}
	proto := proxy.ProtoHTTP
	if https {
		proto = proxy.ProtoHTTPS
	}
	return proxy.Listener{
		Name:     proto + ":" + strconv.Itoa(port),
		Protocol: proto,
		Port:     port,
		Group:    group,
		Rules:    rules,
	}, true
}
