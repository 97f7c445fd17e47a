package nginxconf

import (
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
	at   listenAt
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
			srv.listens = append(srv.listens, im.streamListen(d)...)
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

// streamListen reads a listen directive of a stream server: its socket,
// and for [::]:PORT ipv6only=off the IPv4 socket it takes too (nil after
// an error).
func (im *importer) streamListen(d *node) []streamListen {
	at, ok := im.listenAddress(d, true)
	if !ok {
		return nil
	}
	p, ok := im.listenParams(d, at, true)
	if !ok {
		return nil
	}
	out := []streamListen{{at: at, udp: p.udp, line: d.line}}
	if p.dual {
		out = append(out, streamListen{at: listenAt{addr: any4, port: at.port}, udp: p.udp, line: d.line})
	}
	return out
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
// servers. nginx picks a stream server by the address a connection came
// to; lblab has one server per socket, so a port listened on at its
// family's wildcard address and at another address of that family is
// refused.
func (im *importer) streamListeners() []proxy.Listener {
	httpLine := map[listenAt]int{} // the first http listen of each address
	for _, srv := range im.httpServers {
		for _, l := range srv.listens {
			if _, ok := httpLine[l.at]; !ok {
				httpLine[l.at] = l.line
			}
		}
	}
	// clash returns the line of the first http listen whose socket
	// cannot be bound beside a tcp socket at at, or 0.
	clash := func(at listenAt) int {
		line := 0
		for h, hl := range httpLine {
			if overlaps(h, at) && (line == 0 || hl < line) {
				line = hl
			}
		}
		return line
	}
	type key struct {
		at  listenAt
		udp bool
	}
	taken := map[key]int{}
	var tcp, udp []listenAt
	for _, srv := range im.streamServers {
		for _, l := range srv.listens {
			k := key{l.at, l.udp}
			if first, dup := taken[k]; dup {
				im.errorf(l.line, "duplicate %q address and port pair (first at line %d)", l.at.String(), first)
				continue
			}
			taken[k] = l.line
			if l.udp {
				udp = append(udp, l.at)
			} else {
				tcp = append(tcp, l.at)
			}
		}
	}
	tcpOrder, tcpSocket := socketsOf(tcp)
	udpOrder, udpSocket := socketsOf(udp)
	perPort := map[key]int{}
	for _, s := range tcpOrder {
		perPort[key{listenAt{port: s.port}, false}]++
	}
	for _, s := range udpOrder {
		perPort[key{listenAt{port: s.port}, true}]++
	}
	var out []proxy.Listener
	for _, srv := range im.streamServers {
		for _, l := range srv.listens {
			k := key{l.at, l.udp}
			if taken[k] != l.line {
				continue // a duplicate, reported
			}
			sock := tcpSocket[l.at]
			if l.udp {
				sock = udpSocket[l.at]
			}
			if sock != l.at {
				im.errorf(l.line, "stream listen %s shares a socket with the listen on %s (line %d): nginx picks the server by the address a connection came to, lblab cannot; listen on another port",
					l.at, sock, taken[key{sock, l.udp}])
				continue
			}
			if hl := clash(l.at); hl > 0 && !l.udp {
				im.errorf(l.line, "port %d is used by both http (line %d) and stream", l.at.port, hl)
				continue
			}
			proto := proxy.ProtoTCP
			if l.udp {
				proto = proxy.ProtoUDP
			}
			out = append(out, proxy.Listener{
				Name:     listenerName(proto, l.at, perPort[key{listenAt{port: l.at.port}, l.udp}] > 1),
				Protocol: proto,
				Address:  l.at.addr.String(),
				Port:     l.at.port,
				Group:    srv.group,
			})
		}
	}
	return out
}
