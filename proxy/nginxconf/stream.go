package nginxconf

import (
	"strconv"
	"strings"

	"github.com/lblab/lblab/proxy"
)

// streamServer is a server block in stream.
type streamServer struct {
	line    int
	listens []streamListen
	group   string
}

type streamListen struct {
	port int
	udp  bool
	line int
}

// walkStream reads a stream block.
func (im *importer) walkStream(nodes []*node) {
	s := im.scopeOf(nodes, streamDefaults())
	for _, n := range nodes {
		if isSetting(n.name) || !im.checkShape(n) {
			continue
		}
		switch n.name {
		case "upstream":
			if n.isBlock && len(n.args) != 1 {
				im.errorf(n.line, "invalid number of arguments in \"upstream\" directive")
			}
		case "server":
			im.streamServer(n, s)
		case "map", "geo", "split_clients":
			im.warnf(n.line, "ignored: %s", n.name)
		default:
			im.other(n)
		}
	}
}

// streamServer reads a server block of stream.
func (im *importer) streamServer(n *node, parent settings) {
	s := im.scopeOf(n.block, parent)
	srv := &streamServer{line: n.line}
	passes := 0
	for _, d := range n.block {
		if isSetting(d.name) || !im.checkShape(d) {
			continue
		}
		switch d.name {
		case "listen":
			if l, ok := im.streamListen(d); ok {
				srv.listens = append(srv.listens, l)
			}
		case "proxy_pass":
			im.proxyPasses++
			passes++
			if passes > 1 {
				im.errorf(d.line, "\"proxy_pass\" directive is duplicate")
				continue
			}
			srv.group = im.streamPass(d)
		case "location", "if":
			im.errorf(d.line, "%q directive is not allowed here", d.name)
		case "server_name":
			im.warnf(d.line, "ignored: server_name")
		case "proxy_timeout":
			im.warnf(d.line, "ignored: proxy_timeout (an idle timeout; lblab has no stream equivalent)")
		default:
			im.other(d)
		}
	}
	if len(srv.listens) == 0 {
		im.errorf(n.line, "no \"listen\" is defined for server")
		return
	}
	if passes == 0 {
		im.warnf(n.line, "ignored: stream server without proxy_pass")
		return
	}
	if srv.group == "" {
		return
	}
	im.byKey[strings.ToLower(srv.group)].use(n.line, "stream server", s)
	im.streamServers = append(im.streamServers, srv)
}

// streamListen reads a listen directive of a stream server.
func (im *importer) streamListen(d *node) (streamListen, bool) {
	if !im.listenable(d) {
		return streamListen{}, false
	}
	_, port, ok := im.listenAddr(d, 0)
	if !ok {
		return streamListen{}, false
	}
	l := streamListen{port: port, line: d.line}
	for _, p := range d.args[1:] {
		name, _, _ := strings.Cut(p, "=")
		switch name {
		case "udp":
			l.udp = true
		case "ssl", "proxy_protocol", "reuseport", "bind", "backlog", "rcvbuf",
			"sndbuf", "ipv6only", "so_keepalive", "fastopen", "multipath":
		default:
			im.warnf(d.line, "ignored: listen parameter %s", p)
		}
	}
	return l, true
}

// streamPass resolves proxy_pass in a stream server to a group name (""
// after an error).
func (im *importer) streamPass(d *node) string {
	if len(d.args) != 1 {
		im.errorf(d.line, "invalid number of arguments in \"proxy_pass\" directive")
		return ""
	}
	u := d.args[0]
	if strings.Contains(u, "$") {
		im.errorf(d.line, "proxy_pass with variables is not supported (%s)", u)
		return ""
	}
	if gi := im.streamUps[strings.ToLower(u)]; gi != nil {
		return gi.g.Name
	}
	if strings.HasPrefix(u, "unix:") {
		if len(u) == len("unix:") {
			im.errorf(d.line, "no path in the unix domain socket %q", u)
			return ""
		}
		return im.implicitGroup(u, d.line)
	}
	host, port := splitHostPort(u)
	if port == "" {
		im.errorf(d.line, "no port in upstream %q", u)
		return ""
	}
	if im.streamUps[strings.ToLower(host)] != nil {
		im.errorf(d.line, "upstream %q may not have port %s", host, port)
		return ""
	}
	if n, err := atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		im.errorf(d.line, "invalid address in upstream %q", u)
		return ""
	}
	return im.implicitGroup(u, d.line)
}

// streamListeners makes a tcp or udp listener per listen of the stream
// servers.
func (im *importer) streamListeners() []proxy.Listener {
	httpPorts := map[int]int{}
	for _, srv := range im.httpServers {
		for _, l := range srv.listens {
			if _, ok := httpPorts[l.port]; !ok {
				httpPorts[l.port] = l.line
			}
		}
	}
	type key struct {
		port int
		udp  bool
	}
	taken := map[key]int{}
	var out []proxy.Listener
	for _, srv := range im.streamServers {
		for _, l := range srv.listens {
			k := key{l.port, l.udp}
			if first, dup := taken[k]; dup {
				im.errorf(l.line, "duplicate listen on port %d (first at line %d)", l.port, first)
				continue
			}
			taken[k] = l.line
			if hl, clash := httpPorts[l.port]; clash && !l.udp {
				im.errorf(l.line, "port %d is used by both http (line %d) and stream", l.port, hl)
				continue
			}
			proto := proxy.ProtoTCP
			if l.udp {
				proto = proxy.ProtoUDP
			}
			out = append(out, proxy.Listener{
				Name:     proto + ":" + strconv.Itoa(l.port),
				Protocol: proto,
				Port:     l.port,
				Group:    srv.group,
			})
		}
	}
	return out
}
