package nginxconf

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

// ExportOptions says how Export writes what a proxy.Config leaves to the
// program that runs it: where it listens, how it finds servers, where its
// files go.
type ExportOptions struct {
	// Bind is the address of a listener that sets none (lblab proxy's
	// --bind). Default 0.0.0.0.
	Bind string
	// Resolve maps a server address's host part to the IP address nginx
	// connects to (lblab proxy's --resolve): nginx resolves names once,
	// when it reads its configuration, so names no resolver knows must be
	// given here. Default none: addresses are written as the config has
	// them.
	Resolve map[string]string
	// AccessLog is the file of the http requests' log, in LogFormat;
	// StreamAccessLog that of the tcp and udp sessions, in
	// StreamLogFormat. Default "": access_log off.
	AccessLog, StreamAccessLog string
	// ErrorLog is the error log's file. Default "": nginx's own.
	ErrorLog string
	// PID is the pid file. Default "": nginx's own.
	PID string
	// TempDir holds nginx's temporary files (request bodies, buffered
	// answers). Default "": nginx's own folders.
	TempDir string
	// StreamModule is the path of ngx_stream_module.so, loaded first
	// (load_module) when the config has tcp or udp listeners: Debian
	// builds the stream module as a dynamic module. Default "": none (a
	// build with stream built in).
	StreamModule string
	// Workers is worker_processes. Default 1: one process balances every
	// request, as lblab proxy does (several workers without a shared zone
	// would each keep their own round robin and failure counts).
	Workers int
	// Keepalive is the keepalive of each upstream: idle connections to
	// its servers each worker keeps (lblab proxy keeps 128 per server).
	// Default 0: none, a new connection per request.
	Keepalive int
	// KeepaliveTimeout is how long an idle upstream connection is kept
	// (keepalive_timeout in upstream). Default 0: nginx's (60s).
	KeepaliveTimeout time.Duration
}

// LogFormat and StreamLogFormat name the log formats Export defines: one
// JSON object per request (per tcp or udp session) with the fields of
// LogEntry.
const (
	LogFormat       = "lblab"
	StreamLogFormat = "lblab_stream"
)

// logFields are the variables of the http log, by their JSON name.
var logFields = []string{"msec", "request_time", "status", "remote_addr", "remote_port", "server_port",
	"proxy_host", "upstream_addr", "upstream_status", "upstream_connect_time", "upstream_response_time"}

// streamLogFields are those of the stream log ($session_time for
// $request_time; no $proxy_host or $upstream_status in stream).
var streamLogFields = []string{"msec", "session_time", "status", "remote_addr", "remote_port", "server_port",
	"upstream_addr", "upstream_connect_time", "bytes_sent", "bytes_received"}

// Refusal is a part of a proxy.Config that nginx (open source, as Debian
// ships it) cannot run as lblab means it: Field is its path in the
// config (groups[1].health_check), Text says why.
type Refusal struct {
	Field string
	Text  i18n.Text
}

// RefusalError is the error of Export for a config with Refusals.
type RefusalError []Refusal

func (e RefusalError) Error() string {
	parts := make([]string, len(e))
	for i, r := range e {
		parts[i] = i18n.T("%s: %v", r.Field, r.Text).String()
	}
	return strings.Join(parts, "; ")
}

// Refusals lists what of cfg nginx cannot run with the same meaning, in
// field order; nil when Export can write all of it.
func Refusals(cfg *proxy.Config) []Refusal {
	var out []Refusal
	bad := func(field, format string, args ...any) {
		out = append(out, Refusal{Field: field, Text: i18n.T(format, args...)})
	}
	if cfg.Discovery != "" {
		bad("discovery", "nginx has no discovery of servers by container labels")
	}
	stream := map[string]bool{} // groups of tcp and udp listeners
	web := map[string]bool{}    // groups of http listeners
	for i, l := range cfg.Listeners {
		p := fmt.Sprintf("listeners[%d]", i)
		switch l.Protocol {
		case "", proxy.ProtoHTTP:
			web[l.Group] = true
		case proxy.ProtoTCP, proxy.ProtoUDP:
			stream[l.Group] = true
		default:
			bad(p+".protocol", "lblab does not write nginx's %s listeners (certificates) yet", l.Protocol)
		}
		if slices.ContainsFunc(l.Rules, func(r proxy.Rule) bool { return !catchAll(l, r) }) {
			bad(p+".rules", "lblab does not write rules as nginx's server_name and location blocks yet (nginx picks the longest prefix, lblab the first rule)")
		}
		for _, r := range l.Rules {
			web[r.Group] = true
		}
	}
	for i, g := range cfg.Groups {
		p := fmt.Sprintf("groups[%d]", i)
		if !upstreamName(g.Name) {
			bad(p+".name", "nginx reads an upstream's name as a host name: letters, digits, '-', '_' and '.', not %q", g.Name)
		}
		if web[g.Name] && stream[g.Name] {
			bad(p+".name", "group %s serves http and tcp or udp listeners: nginx's http and stream upstreams are apart", g.Name)
		}
		switch g.Algorithm {
		case "", "round_robin", "least_conn", "hash", "hash_consistent", "random", "random_two", "random_two_least_conn":
		case "ip_hash":
			if stream[g.Name] {
				bad(p+".algorithm", "nginx's stream upstreams have no ip_hash (hash $remote_addr is another spread)")
			}
		case "least_time":
			bad(p+".algorithm", "least_time is NGINX Plus's, not in nginx open source")
		default:
			bad(p+".algorithm", "nginx has no %s balancing", g.Algorithm)
		}
		if stream[g.Name] && g.HashKey != "" && g.HashKey != "$remote_addr" {
			bad(p+".hash_key", "nginx's stream module has no request variables: only $remote_addr")
		}
		if g.HealthCheck != nil {
			bad(p+".health_check", "active health checks (health_check) are NGINX Plus's; nginx open source checks servers only passively (max_fails, fail_timeout)")
		}
		if ps := g.Persistence; ps != nil && ps.Mode != "" && ps.Mode != "none" {
			if ps.Mode == "cookie" {
				bad(p+".persistence", "an inserted cookie (sticky cookie) is NGINX Plus's, not in nginx open source")
			} else {
				bad(p+".persistence", "nginx open source has no %s persistence table", ps.Mode)
			}
		}
		switch g.NoServer {
		case "", proxy.NoServer502:
		case proxy.NoServerFailOpen:
			bad(p+".no_server", "nginx does not fail open: with no server left it answers 502")
		default:
			bad(p+".no_server", "nginx answers %s when no server is left, not %s", proxy.NoServer502, g.NoServer)
		}
		if nu := g.NextUpstream; nu != nil && stream[g.Name] {
			for _, on := range nu.On {
				if on != "error" && on != "timeout" && on != "off" {
					bad(p+".next_upstream.on", "nginx's stream proxy_next_upstream is on (error and timeout) or off, not %s", on)
					break
				}
			}
		}
		if nu := g.NextUpstream; nu != nil && msec(nu.Timeout) == "" {
			bad(p+".next_upstream.timeout", "nginx counts this time in whole milliseconds, not %s", nu.Timeout.D)
		}
		if msec(g.ConnectTimeout) == "" {
			bad(p+".connect_timeout", "nginx counts this time in whole milliseconds, not %s", g.ConnectTimeout.D)
		}
		if msec(g.ReadTimeout) == "" {
			bad(p+".read_timeout", "nginx counts this time in whole milliseconds, not %s", g.ReadTimeout.D)
		}
		if stream[g.Name] && g.ReadTimeout.IsSet() {
			bad(p+".read_timeout", "nginx's stream module has no proxy_read_timeout")
		}
		for j, s := range g.Servers {
			sp := fmt.Sprintf("%s.servers[%d]", p, j)
			if s.Backup && noBackup[g.Algorithm] {
				bad(sp+".backup", "nginx refuses backup servers with %s", g.Algorithm)
			}
			if ft := s.FailTimeout; ft.IsSet() && (ft.D < 0 || ft.D%time.Second != 0) {
				bad(sp+".fail_timeout", "nginx counts fail_timeout in whole seconds, not %s", ft.D)
			}
			if w := s.Weight; w != nil && *w < 0 {
				bad(sp+".weight", "nginx's weights are 1 and up, not %d", *w)
			}
		}
	}
	return out
}

// msec writes a time of a milliseconds slot (proxy_connect_timeout …),
// "" when nginx cannot say it (less than a millisecond's precision).
func msec(d units.Duration) string {
	switch {
	case !d.IsSet():
		return "-"
	case d.D < 0 || d.D%time.Millisecond != 0:
		return ""
	case d.D%time.Second == 0:
		return strconv.FormatInt(int64(d.D/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(d.D/time.Millisecond), 10) + "ms"
}

// Export writes cfg as an nginx.conf that nginx runs as lblab proxy runs
// cfg: the same listeners, upstream blocks with the same servers,
// weights, failure accounting and balancing, the same retries and
// timeouts; its requests logged in LogFormat (StreamLogFormat) so that
// lblab can rebuild the proxy's side of each (ParseLogLine). A config
// with Refusals is refused with a RefusalError. A server of weight 0
// (never picked) is written down; Import reads it back so.
func Export(cfg *proxy.Config, opt ExportOptions) ([]byte, error) {
	if r := Refusals(cfg); len(r) > 0 {
		return nil, RefusalError(r)
	}
	if opt.Bind == "" {
		opt.Bind = "0.0.0.0"
	}
	if opt.Workers <= 0 {
		opt.Workers = 1
	}
	streamGroup := map[string]bool{}
	hasStream, hasHTTP := false, false
	for _, l := range cfg.Listeners {
		if l.Protocol == proxy.ProtoTCP || l.Protocol == proxy.ProtoUDP {
			streamGroup[l.Group], hasStream = true, true
		} else {
			hasHTTP = true
		}
	}
	var b strings.Builder
	w := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("    ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	w(0, "# Written by lblab from a load balancer's config (nginxconf.Export).")
	if hasStream && opt.StreamModule != "" {
		w(0, "load_module %s;", quote(opt.StreamModule))
	}
	w(0, "worker_processes %d;", opt.Workers)
	if opt.PID != "" {
		w(0, "pid %s;", quote(opt.PID))
	}
	if opt.ErrorLog != "" {
		w(0, "error_log %s info;", quote(opt.ErrorLog))
	}
	w(0, "events {")
	w(1, "worker_connections 4096;")
	w(0, "}")
	httpGroups := func(yield func(int, proxy.Group) bool) {
		for i, g := range cfg.Groups {
			if !streamGroup[g.Name] && !yield(i, g) {
				return
			}
		}
	}
	if hasHTTP || len(cfg.Groups) > len(streamGroup) {
		w(0, "http {")
		w(1, "log_format %s escape=json '%s';", LogFormat, logJSON(logFields, map[string]string{}))
		if opt.AccessLog != "" {
			w(1, "access_log %s %s;", quote(opt.AccessLog), LogFormat)
		} else {
			w(1, "access_log off;")
		}
		writeTemp(w, opt.TempDir)
		for _, g := range httpGroups {
			exportUpstream(w, g, opt, false)
		}
		for _, l := range cfg.Listeners {
			if l.Protocol == proxy.ProtoTCP || l.Protocol == proxy.ProtoUDP {
				continue
			}
			g := groupNamed(cfg, l.Group)
			w(1, "server {")
			w(2, "listen %s;", listenAddr(l, opt.Bind))
			w(2, "location / {")
			w(3, "proxy_pass http://%s;", l.Group)
			if opt.Keepalive > 0 {
				w(3, "proxy_http_version 1.1;")
				w(3, "proxy_set_header Connection \"\";")
			}
			exportSettings(w, 3, g, false)
			w(2, "}")
			w(1, "}")
		}
		w(0, "}")
	}
	if hasStream {
		w(0, "stream {")
		w(1, "log_format %s escape=json '%s';", StreamLogFormat, logJSON(streamLogFields, map[string]string{"session_time": "request_time"}))
		if opt.StreamAccessLog != "" {
			w(1, "access_log %s %s;", quote(opt.StreamAccessLog), StreamLogFormat)
		} else {
			w(1, "access_log off;")
		}
		for _, g := range cfg.Groups {
			if streamGroup[g.Name] {
				exportUpstream(w, g, opt, true)
			}
		}
		for _, l := range cfg.Listeners {
			if l.Protocol != proxy.ProtoTCP && l.Protocol != proxy.ProtoUDP {
				continue
			}
			udp := ""
			if l.Protocol == proxy.ProtoUDP {
				udp = " udp"
			}
			w(1, "server {")
			w(2, "listen %s%s;", listenAddr(l, opt.Bind), udp)
			w(2, "proxy_pass %s;", l.Group)
			exportSettings(w, 2, groupNamed(cfg, l.Group), true)
			w(1, "}")
		}
		w(0, "}")
	}
	return []byte(b.String()), nil
}

// logJSON is the escape=json format of fields: {"msec":"$msec",...},
// each field under its own name or the one rename gives.
func logJSON(fields []string, rename map[string]string) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		name := f
		if r, ok := rename[f]; ok {
			name = r
		}
		parts[i] = fmt.Sprintf(`"%s":"$%s"`, name, f)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// writeTemp points nginx's temporary folders of http into dir.
func writeTemp(w func(int, string, ...any), dir string) {
	if dir == "" {
		return
	}
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		w(1, "%s_temp_path %s;", d, quote(dir+"/"+d))
	}
}

func groupNamed(cfg *proxy.Config, name string) proxy.Group {
	for _, g := range cfg.Groups {
		if g.Name == name {
			return g
		}
	}
	return proxy.Group{Name: name}
}

// listenAddr is a listener's address as listen takes it.
func listenAddr(l proxy.Listener, bind string) string {
	a := l.Address
	if a == "" {
		a = bind
	}
	if ip, err := netip.ParseAddr(a); err == nil && ip.Is6() {
		return "[" + ip.String() + "]:" + strconv.Itoa(l.Port)
	}
	return a + ":" + strconv.Itoa(l.Port)
}

// exportUpstream writes a group's upstream block.
func exportUpstream(w func(int, string, ...any), g proxy.Group, opt ExportOptions, stream bool) {
	w(1, "upstream %s {", g.Name)
	switch g.Algorithm {
	case "least_conn":
		w(2, "least_conn;")
	case "ip_hash":
		w(2, "ip_hash;")
	case "hash":
		w(2, "hash %s;", g.HashKey)
	case "hash_consistent":
		w(2, "hash %s consistent;", g.HashKey)
	case "random":
		w(2, "random;")
	case "random_two":
		w(2, "random two;")
	case "random_two_least_conn":
		w(2, "random two least_conn;")
	}
	for _, s := range g.Servers {
		params := []string{serverAddr(s.Address, opt.Resolve)}
		switch wt := s.Weight; {
		case wt != nil && *wt == 0:
			// Weight 0 is never picked: nginx's down.
		case wt != nil:
			params = append(params, "weight="+strconv.Itoa(*wt))
		}
		if s.MaxFails != nil {
			params = append(params, "max_fails="+strconv.Itoa(*s.MaxFails))
		}
		if s.FailTimeout.IsSet() {
			params = append(params, "fail_timeout="+strconv.FormatInt(int64(s.FailTimeout.D/time.Second), 10)+"s")
		}
		if s.MaxConns > 0 {
			params = append(params, "max_conns="+strconv.Itoa(s.MaxConns))
		}
		if s.Backup {
			params = append(params, "backup")
		}
		if s.Down || s.Weight != nil && *s.Weight == 0 {
			params = append(params, "down")
		}
		w(2, "server %s;", strings.Join(params, " "))
	}
	if opt.Keepalive > 0 && !stream {
		w(2, "keepalive %d;", opt.Keepalive)
		if opt.KeepaliveTimeout > 0 {
			w(2, "keepalive_timeout %dms;", opt.KeepaliveTimeout.Milliseconds())
		}
	}
	w(1, "}")
}

// serverAddr writes a server's address with its host part resolved.
func serverAddr(addr string, resolve map[string]string) string {
	host, port := splitHostPort(addr)
	if ip, ok := resolve[host]; ok && port != "" {
		if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
			ip = "[" + ip + "]"
		}
		return ip + ":" + port
	}
	return addr
}

// exportSettings writes the proxy directives of a group in the place
// that proxies to it.
func exportSettings(w func(int, string, ...any), in int, g proxy.Group, stream bool) {
	if nu := g.NextUpstream; nu != nil {
		if len(nu.On) > 0 {
			on := nu.On
			if stream {
				on = []string{"on"}
				if slices.Contains(nu.On, "off") {
					on = []string{"off"}
				}
			}
			w(in, "proxy_next_upstream %s;", strings.Join(on, " "))
		}
		if nu.Tries != 0 {
			w(in, "proxy_next_upstream_tries %d;", nu.Tries)
		}
		if nu.Timeout.IsSet() {
			w(in, "proxy_next_upstream_timeout %s;", msec(nu.Timeout))
		}
	}
	if g.ConnectTimeout.IsSet() {
		w(in, "proxy_connect_timeout %s;", msec(g.ConnectTimeout))
	}
	if g.ReadTimeout.IsSet() && !stream {
		w(in, "proxy_read_timeout %s;", msec(g.ReadTimeout))
	}
}

// quote writes a file name as one nginx token.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n;{}\"'\\$#") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(s) + `"`
}

// Canonical returns a copy of cfg in the form Import gives for the text
// Export writes of it with bind as ExportOptions.Bind: what nginx has no
// word for dropped (listener names, a server's lab-only backend: none,
// NoServer 502 and Persistence none, nginx's only ways), defaults
// written out (round_robin, http, the bind address), a weight of 0 as
// down, a listener's catch-all rule to its own group left out, groups
// sorted by name. Export and Import keep a config that Refusals accepts:
// Canonical(Import(Export(cfg))) equals Canonical(cfg).
func Canonical(cfg *proxy.Config, bind string) *proxy.Config {
	if bind == "" {
		bind = "0.0.0.0"
	}
	out := &proxy.Config{Discovery: cfg.Discovery}
	for _, l := range cfg.Listeners {
		l.Name = ""
		if l.Protocol == "" {
			l.Protocol = proxy.ProtoHTTP
		}
		if l.Address == "" {
			l.Address = bind
		}
		var rules []proxy.Rule
		for _, r := range l.Rules {
			if catchAll(l, r) {
				continue
			}
			rules = append(rules, r)
		}
		l.Rules = rules
		out.Listeners = append(out.Listeners, l)
	}
	for _, g := range cfg.Groups {
		if g.Algorithm == "" {
			g.Algorithm = "round_robin"
		}
		if strings.HasPrefix(g.HashKey, "${") && strings.HasSuffix(g.HashKey, "}") {
			g.HashKey = "$" + g.HashKey[2:len(g.HashKey)-1]
		}
		if g.NoServer == proxy.NoServer502 {
			g.NoServer = ""
		}
		if g.Persistence != nil && (g.Persistence.Mode == "" || g.Persistence.Mode == "none") {
			g.Persistence = nil
		}
		g.Deregister = ""
		servers := make([]proxy.Server, len(g.Servers))
		for i, s := range g.Servers {
			if s.Weight != nil && *s.Weight == 0 {
				s.Weight, s.Down = nil, true
			}
			s.Backend, s.Source = "", ""
			servers[i] = s
		}
		g.Servers = servers
		out.Groups = append(out.Groups, g)
	}
	slices.SortStableFunc(out.Groups, func(a, b proxy.Group) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// StreamModule reads the output of nginx -V: whether that nginx has the
// stream module, and the module file to load (ExportOptions.StreamModule)
// when it is a dynamic one ("" when built in). Debian builds it
// --with-stream=dynamic into --modules-path (libnginx-mod-stream installs
// the file).
func StreamModule(v string) (path string, ok bool) {
	opt := func(name string) string {
		for _, f := range strings.Fields(v) {
			if val, found := strings.CutPrefix(f, name+"="); found {
				return val
			}
		}
		return ""
	}
	switch {
	case strings.Contains(v, "--with-stream=dynamic"):
		dir := opt("--modules-path")
		if dir == "" {
			if p := opt("--prefix"); p != "" {
				dir = p + "/modules"
			} else {
				dir = "modules"
			}
		}
		return dir + "/ngx_stream_module.so", true
	case slices.Contains(strings.Fields(v), "--with-stream"):
		return "", true
	}
	return "", false
}

// catchAll reports whether rule r of listener l sends every request to
// the listener's own group: nginx's location / of its server, what
// Import makes of it.
func catchAll(l proxy.Listener, r proxy.Rule) bool {
	return r.Host == "" && (r.PathPrefix == "" || r.PathPrefix == "/") && r.Group == l.Group
}

// upstreamName reports whether name can be an upstream's name that
// proxy_pass http://NAME finds: a host name's characters.
func upstreamName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
