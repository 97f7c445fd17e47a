package nginxconf

import (
	"net"
	"net/netip"
	"sort"
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
	at       listenAt
	ssl, def bool
	sockopt  bool // sets socket options (bind, backlog, ...)
	implied  bool // the IPv4 socket of listen [::]:PORT ipv6only=off
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
			srv.listens = append(srv.listens, im.httpListen(d)...)
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
		// nginx: listen *:80 (*:8000 when not started as root).
		srv.listens = []httpListen{{at: listenAt{addr: any4, port: 80}, line: n.line}}
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

// httpListen reads a listen directive of an http server: its socket, and
// for [::]:PORT ipv6only=off the IPv4 socket it takes too (nil after an
// error).
func (im *importer) httpListen(d *node) []httpListen {
	at, ok := im.listenAddress(d, false)
	if !ok {
		return nil
	}
	p, ok := im.listenParams(d, at, false)
	if !ok {
		return nil
	}
	l := httpListen{at: at, ssl: p.ssl, def: p.def, sockopt: p.sockopt, line: d.line}
	out := []httpListen{l}
	if p.dual {
		l.at.addr, l.implied = any4, true
		out = append(out, l)
	}
	return out
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
	if uri := rest[len(hostport):]; uri != "" && uri != "/" {
		im.warnf(d.line, "proxy_pass %s: the URI part %s is not applied (lblab sends the request's own target)", u, uri)
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

// httpListeners makes the listeners of the http servers: one per socket
// nginx would bind (socketsOf), after nginx's checks of the listens.
func (im *importer) httpListeners() []proxy.Listener {
	var ats []listenAt
	first := map[listenAt]httpListen{} // the first listen of each address
	for _, srv := range im.httpServers {
		mine := map[listenAt]bool{}
		for _, l := range srv.listens {
			f, seen := first[l.at]
			switch {
			case seen && (f.implied || l.implied):
				im.errorf(l.line, "listen [::]:%d ipv6only=off takes IPv4 port %d too, and so does the listen at line %d: nginx cannot bind both (address already in use)",
					l.at.port, l.at.port, f.line)
				continue
			case mine[l.at]:
				im.errorf(l.line, "a duplicate listen %s", l.at)
				continue
			case seen && l.sockopt && f.sockopt:
				im.errorf(l.line, "duplicate listen options for %s (first at line %d)", l.at, f.line)
			}
			mine[l.at] = true
			if !seen || (l.sockopt && !f.sockopt) {
				first[l.at] = l
			}
			ats = append(ats, l.at)
		}
	}
	order, socketOf := socketsOf(ats)
	perPort := map[int]int{}
	for _, sock := range order {
		perPort[sock.port]++
	}
	var out []proxy.Listener
	for _, sock := range order {
		if l, ok := im.httpListener(sock, socketOf, perPort[sock.port] > 1); ok {
			out = append(out, l)
		}
	}
	return out
}

// httpListener makes the listener of socket sock from the servers that
// listen on its addresses (socketOf).
func (im *importer) httpListener(sock listenAt, socketOf map[listenAt]listenAt, shared bool) (proxy.Listener, bool) {
	var srvs []*httpServer
	var def *httpServer
	var defListen httpListen
	https := false
	addrs := map[netip.Addr]int{}
	var addrOrder []string
	for _, srv := range im.httpServers {
		in := false
		for _, l := range srv.listens {
			if socketOf[l.at] != sock {
				continue
			}
			in = true
			https = https || l.ssl || srv.sslOn
			if _, ok := addrs[l.at.addr]; !ok {
				addrs[l.at.addr] = l.line
				addrOrder = append(addrOrder, l.at.addr.String())
			}
			if !l.def {
				continue
			}
			switch {
			case def == nil:
				def, defListen = srv, l
			case def == srv:
			case l.at == defListen.at:
				im.errorf(l.line, "a duplicate default server for %s (first at line %d)", l.at, defListen.line)
			default:
				im.warnf(l.line, "default server for %s: lblab listens on %s for it and keeps the default server of line %d", l.at, sock, defListen.line)
			}
		}
		if in {
			srvs = append(srvs, srv)
		}
	}
	port := sock.port
	if len(addrOrder) > 1 {
		im.warnf(addrs[netip.MustParseAddr(addrOrder[1])], "port %d is listened on at several addresses (%s): nginx binds %s and picks the server by the address a connection came to; lblab routes them as one listener",
			port, wordList(addrOrder), sock)
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
		Name:     listenerName(proto, sock, shared),
		Protocol: proto,
		Address:  sock.addr.String(),
		Port:     port,
		Group:    group,
		Rules:    rules,
	}, true
}
