package nginxconf

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lblab/lblab/proxy"
)

// The listen directive, read as nginx 1.22 reads it on Linux
// (ngx_http_core_listen, ngx_stream_core_listen, ngx_parse_url): the
// address forms PORT, ADDR, ADDR:PORT, *:PORT, [V6], [V6]:PORT and
// unix:PATH, and the parameters of each module, with nginx's refusals
// and its messages. A bare port, *, and a server without listen mean
// every IPv4 address (0.0.0.0), as in nginx; [::] means every IPv6
// address and IPv6 only, unless ipv6only=off.

var (
	any4 = netip.IPv4Unspecified()
	any6 = netip.IPv6Unspecified()
)

// listenAt is the socket address of a listen directive.
type listenAt struct {
	addr netip.Addr // 0.0.0.0 or :: for every address of the family
	port int
}

func (a listenAt) String() string { return net.JoinHostPort(a.addr.String(), strconv.Itoa(a.port)) }

// listenParams are the parameters of a listen directive lblab acts on.
type listenParams struct {
	def, ssl, udp bool
	// sockopt is set when the directive sets socket options (bind,
	// backlog, ...): nginx refuses two such listens on one address.
	sockopt bool
	// dual is ipv6only=off on [::]: the socket takes IPv4 too.
	dual bool
	// ignored are the parameters that change nothing lblab models.
	ignored []string
}

// listenAddress reads the address of a listen directive. http has a
// default port (80); stream has none (nginx then binds a random port,
// which lblab refuses).
func (im *importer) listenAddress(d *node, stream bool) (listenAt, bool) {
	if len(d.args) == 0 {
		im.errorf(d.line, "invalid number of arguments in \"listen\" directive")
		return listenAt{}, false
	}
	a := d.args[0]
	bad := func(what string) (listenAt, bool) {
		im.errorf(d.line, "%s in %q of the \"listen\" directive", what, a)
		return listenAt{}, false
	}
	if path, ok := strings.CutPrefix(a, "unix:"); ok {
		if path == "" {
			return bad("no path in the unix domain socket")
		}
		im.errorf(d.line, "listen %s: unix domain sockets are not supported (lblab listens on TCP and UDP ports): listen on a port instead", a)
		return listenAt{}, false
	}
	if strings.ContainsAny(a, "/?") {
		return bad("invalid host") // a URI part (ngx_parse_inet_url)
	}
	defPort := 80
	if stream {
		defPort = 0
	}
	var host, port string
	switch {
	case strings.HasPrefix(a, "["):
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return bad("invalid host")
		}
		host = a[1:end]
		rest := a[end+1:]
		switch {
		case rest == "":
		case rest[0] != ':':
			return bad("invalid host")
		default:
			port = rest[1:]
			if n, err := atoi(port); err != nil || n < 1 || n > 65535 {
				return bad("invalid port")
			}
		}
		if host == "" {
			return bad("no host")
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.Is4() || ip.Zone() != "" {
			return bad("invalid IPv6 address")
		}
		at := listenAt{addr: ip, port: defPort}
		if port != "" {
			at.port, _ = atoi(port)
		}
		return im.listenPort(d, at)
	case strings.Contains(a, ":"):
		host, port, _ = strings.Cut(a, ":")
		n, err := atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("invalid port")
		}
		if host == "" {
			return bad("no host")
		}
		return im.listenHost(d, host, n)
	}
	if n, err := atoi(a); err == nil {
		if n < 1 || n > 65535 {
			return bad("invalid port")
		}
		return listenAt{addr: any4, port: n}, true
	}
	return im.listenHost(d, a, defPort)
}

// listenHost reads the host of ADDR:PORT or ADDR: *, an IPv4 address in
// the dotted form nginx reads itself (ngx_inet_addr), or localhost.
// nginx looks other names up; lblab resolves none.
func (im *importer) listenHost(d *node, host string, port int) (listenAt, bool) {
	at := listenAt{port: port}
	switch ip, ok := inetAddr(host); {
	case host == "*":
		at.addr = any4
	case ok:
		at.addr = ip
	case host == "localhost":
		at.addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		im.warnf(d.line, "listen %s: imported as 127.0.0.1 (nginx listens on every address localhost resolves to, ::1 too where /etc/hosts says so)", d.args[0])
	default:
		im.errorf(d.line, "host not found in %q of the \"listen\" directive: write an IP address, * or localhost (lblab resolves no host names)", d.args[0])
		return listenAt{}, false
	}
	return im.listenPort(d, at)
}

// listenPort refuses a listen without a port where nginx would bind a
// random one (stream).
func (im *importer) listenPort(d *node, at listenAt) (listenAt, bool) {
	if at.port == 0 {
		im.errorf(d.line, "no port in %q of the \"listen\" directive (nginx would listen on a random port)", d.args[0])
		return listenAt{}, false
	}
	return at, true
}

// inetAddr reads a dotted IPv4 address as ngx_inet_addr does: four
// decimal numbers up to 255 (leading zeros allowed, an empty one is 0).
func inetAddr(s string) (netip.Addr, bool) {
	var b [4]byte
	n, octet := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			octet = octet*10 + int(c-'0')
			if octet > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && n < 3:
			b[n] = byte(octet)
			n, octet = n+1, 0
		default:
			return netip.Addr{}, false
		}
	}
	if n != 3 {
		return netip.Addr{}, false
	}
	b[3] = byte(octet)
	return netip.AddrFrom4(b), true
}

// listenParams reads the parameters of a listen directive, refusing what
// nginx refuses with its message (http: invalid parameter "X"; stream:
// the invalid "X" parameter) and what lblab cannot do (proxy_protocol,
// ssl in stream).
func (im *importer) listenParams(d *node, at listenAt, stream bool) (listenParams, bool) {
	var p listenParams
	ok := true
	fail := func(format string, args ...any) {
		im.errorf(d.line, format, args...)
		ok = false
	}
	invalid := func(param string) {
		if stream {
			fail("the invalid %q parameter", param)
		} else {
			fail("invalid parameter %q", param)
		}
	}
	var backlog, keepalive, fastopen, proxyProtocol, http2 bool
	for _, param := range d.args[1:] {
		name, value, hasValue := strings.Cut(param, "=")
		if !hasValue {
			name = param
		}
		switch {
		case !stream && !hasValue && (name == "default_server" || name == "default"):
			p.def = true
		case !hasValue && name == "ssl":
			p.ssl = true
		case stream && !hasValue && name == "udp":
			p.udp = true
		case !stream && !hasValue && name == "http2":
			http2 = true
		case !hasValue && name == "proxy_protocol":
			proxyProtocol = true
		case !hasValue && (name == "bind" || name == "reuseport" || (!stream && name == "deferred")):
			p.sockopt = true
			p.ignored = append(p.ignored, param)
		case hasValue && name == "backlog":
			if n, err := atoi(value); err != nil || n == 0 {
				fail("invalid backlog %q", param)
			}
			backlog, p.sockopt = true, true
			p.ignored = append(p.ignored, param)
		case hasValue && (name == "rcvbuf" || name == "sndbuf"):
			if !validSize(value) {
				fail("invalid %s %q", name, param)
			}
			p.sockopt = true
			p.ignored = append(p.ignored, param)
		case hasValue && name == "fastopen":
			if _, err := atoi(value); err != nil {
				fail("invalid fastopen %q", param)
			}
			fastopen, p.sockopt = true, true
			p.ignored = append(p.ignored, param)
		case hasValue && name == "ipv6only" && (value == "on" || value == "off"):
			p.sockopt = true
			if value == "off" && at.addr == any6 {
				p.dual = true
			}
		case hasValue && name == "so_keepalive":
			if !validKeepalive(value) {
				fail("invalid so_keepalive value: %q", value)
			}
			keepalive, p.sockopt = true, true
			p.ignored = append(p.ignored, param)
		case !stream && hasValue && name == "accept_filter":
			// nginx on Linux: "accept filters ... are not supported on
			// this platform, ignored".
			p.sockopt = true
			p.ignored = append(p.ignored, param)
		default:
			invalid(param)
		}
	}
	if stream && p.udp {
		for _, c := range []struct {
			set  bool
			name string
		}{{backlog, "backlog"}, {p.ssl, "ssl"}, {keepalive, "so_keepalive"}, {proxyProtocol, "proxy_protocol"}, {fastopen, "fastopen"}} {
			if c.set {
				fail("\"listen\" directive %q parameter is incompatible with \"udp\"", c.name)
				return p, false
			}
		}
	}
	if !ok {
		return p, false
	}
	if proxyProtocol {
		im.errorf(d.line, "listen %s proxy_protocol is not supported: lblab does not read the PROXY protocol header clients would send", d.args[0])
		return p, false
	}
	if stream && p.ssl {
		im.errorf(d.line, "listen %s ssl in stream is not supported: lblab's tcp listeners pass bytes through and do not terminate TLS", d.args[0])
		return p, false
	}
	if http2 {
		im.warnf(d.line, "listen %s http2: ignored (lblab speaks HTTP/1.1 to clients)", d.args[0])
	}
	if len(p.ignored) > 0 {
		im.warnf(d.line, "listen %s: ignored: %s (lblab opens its sockets with default options)", d.args[0], wordList(p.ignored))
	}
	return p, true
}

// validSize reports whether s is a size as ngx_parse_size reads it: a
// decimal number with an optional k, K, m or M.
func validSize(s string) bool {
	if s != "" && strings.ContainsRune("kKmM", rune(s[len(s)-1])) {
		s = s[:len(s)-1]
	}
	_, err := atoi(s)
	return err == nil
}

// validKeepalive reports whether s is an so_keepalive value nginx takes:
// on, off, or [keepidle]:[keepintvl]:[keepcnt] with at least one of them
// not zero.
func validKeepalive(s string) bool {
	if s == "on" || s == "off" {
		return true
	}
	parts := strings.SplitN(s, ":", 3)
	nonzero := false
	for i, part := range parts {
		if part == "" {
			continue
		}
		if i < 2 {
			d, err := parseTime(part, true)
			if err != nil {
				return false
			}
			nonzero = nonzero || d != 0
			continue
		}
		n, err := atoi(part)
		if err != nil {
			return false
		}
		nonzero = nonzero || n != 0
	}
	return nonzero
}

// socketsOf groups the addresses listened on at each port as nginx binds
// them (ngx_http_init_listening, ngx_stream_optimize_servers): per port
// and address family, one socket on the wildcard address when a listen
// names it, which then also takes the family's other addresses of that
// port; otherwise one socket per address. It returns, in order of first
// appearance, the socket of each address.
func socketsOf(ats []listenAt) (order []listenAt, socketOf map[listenAt]listenAt) {
	type fam struct {
		port int
		v4   bool
	}
	wild := map[fam]bool{}
	for _, a := range ats {
		if a.addr.IsUnspecified() {
			wild[fam{a.port, a.addr.Is4()}] = true
		}
	}
	socketOf = map[listenAt]listenAt{}
	seen := map[listenAt]bool{}
	for _, a := range ats {
		s := a
		if f := (fam{a.port, a.addr.Is4()}); wild[f] {
			s.addr = any4
			if !f.v4 {
				s.addr = any6
			}
		}
		socketOf[a] = s
		if !seen[s] {
			seen[s] = true
			order = append(order, s)
		}
	}
	return order, socketOf
}

// wordList prints words of the input joined by ", ", each clipped
// (proxy.Clip): a message quotes a line's worth of each.
type wordList []string

func (w wordList) String() string {
	out := make([]string, len(w))
	for i, s := range w {
		out[i] = proxy.Clip(s)
	}
	return strings.Join(out, ", ")
}

// overlaps reports whether sockets on a and b cannot both be bound: the
// same port and address, or the same port and family with one on the
// family's wildcard address.
func overlaps(a, b listenAt) bool {
	if a.port != b.port || a.addr.Is4() != b.addr.Is4() {
		return false
	}
	return a.addr == b.addr || a.addr.IsUnspecified() || b.addr.IsUnspecified()
}

// listenerName is PROTO:PORT, or PROTO:ADDR:PORT when the port has
// sockets on several addresses.
func listenerName(proto string, at listenAt, shared bool) string {
	if shared {
		return proto + ":" + at.String()
	}
	return fmt.Sprintf("%s:%d", proto, at.port)
}
