package nginxconf

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

func intp(n int) *int { return &n }

// warningLines renders warnings as "LINE: MSG" for comparison.
func warningLines(ws []Warning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = strings.TrimPrefix(strings.TrimPrefix(w.String(), w.File+":"), " ")
	}
	return out
}

func importTestdata(t *testing.T, name string) (*proxy.Config, []Warning) {
	t.Helper()
	path := filepath.Join("testdata", name)
	cfg, warns, err := ImportFile(path)
	if err != nil {
		t.Fatalf("ImportFile(%s): %v", path, err)
	}
	for _, w := range warns {
		if w.File != path && filepath.Dir(w.File) != filepath.Dir(path) {
			t.Errorf("warning %q: File = %q, want %q or a file it includes", w, w.File, path)
		}
	}
	checkConsistent(t, cfg)
	return cfg, warns
}

// checkConsistent fails unless every group a listener or rule names exists
// and group names are unique.
func checkConsistent(t testing.TB, cfg *proxy.Config) {
	t.Helper()
	if err := consistency(cfg); err != "" {
		t.Fatal(err)
	}
}

func consistency(cfg *proxy.Config) string {
	names := map[string]bool{}
	for _, g := range cfg.Groups {
		if names[g.Name] {
			return "duplicate group " + g.Name
		}
		names[g.Name] = true
		if len(g.Servers) == 0 {
			return "group " + g.Name + " has no servers"
		}
	}
	ports := map[string]bool{}
	for _, l := range cfg.Listeners {
		if !names[l.Group] {
			return "listener " + l.Name + " names missing group " + l.Group
		}
		if l.Port < 1 || l.Port > 65535 {
			return "listener " + l.Name + " has a bad port"
		}
		if ports[l.Name] {
			return "duplicate listener " + l.Name
		}
		ports[l.Name] = true
		for _, r := range l.Rules {
			if !names[r.Group] {
				return "rule of " + l.Name + " names missing group " + r.Group
			}
		}
	}
	return ""
}

func TestImportFull(t *testing.T) {
	cfg, warns := importTestdata(t, "full.conf")
	httpNext := &proxy.NextUpstream{On: []string{"error", "timeout", "http_502"}, Tries: 3}
	want := &proxy.Config{
		Listeners: []proxy.Listener{
			// listen 80 and listen [::]:80 are two sockets, as in nginx;
			// admin.example.com listens on IPv4 only.
			{Name: "http:0.0.0.0:80", Protocol: "http", Address: "0.0.0.0", Port: 80, Group: "web", Rules: []proxy.Rule{
				{Host: "example.com", PathPrefix: "/api/", Group: "api"},
				{Host: "example.com", PathPrefix: "/", Group: "web"},
				{Host: "admin.example.com", PathPrefix: "/", Group: "10.0.5.1:8081"},
				{PathPrefix: "/api/", Group: "api"},
				{PathPrefix: "/", Group: "web"},
			}},
			{Name: "http:[::]:80", Protocol: "http", Address: "::", Port: 80, Group: "web", Rules: []proxy.Rule{
				{Host: "example.com", PathPrefix: "/api/", Group: "api"},
				{Host: "example.com", PathPrefix: "/", Group: "web"},
				{PathPrefix: "/api/", Group: "api"},
				{PathPrefix: "/", Group: "web"},
			}},
			{Name: "https:443", Protocol: "https", Address: "0.0.0.0", Port: 443, Group: "10.0.5.1:8081", Rules: []proxy.Rule{
				{Host: "admin.example.com", PathPrefix: "/", Group: "10.0.5.1:8081"},
				{PathPrefix: "/", Group: "10.0.5.1:8081"},
			}},
			{Name: "udp:53", Protocol: "udp", Address: "0.0.0.0", Port: 53, Group: "dns"},
			{Name: "tcp:5432", Protocol: "tcp", Address: "0.0.0.0", Port: 5432, Group: "10.0.3.1:5432"},
		},
		Groups: []proxy.Group{
			{
				Name: "web", Algorithm: "round_robin",
				Servers: []proxy.Server{
					{Address: "10.0.0.1:8080", Weight: intp(5), MaxFails: intp(3), FailTimeout: units.Of(30 * time.Second)},
					{Address: "10.0.0.2:8080", Weight: intp(2)},
					{Address: "10.0.0.3:8080", Backup: true},
					{Address: "10.0.0.4:8080", Down: true},
				},
				NextUpstream: httpNext,
			},
			{
				Name: "api", Algorithm: "hash_consistent", HashKey: "$request_uri",
				Servers: []proxy.Server{
					{Address: "10.0.1.1:9000", MaxConns: 100},
					{Address: "10.0.1.2:9000", MaxFails: intp(0), FailTimeout: units.Of(90 * time.Second)},
				},
				NextUpstream:   httpNext,
				ConnectTimeout: units.Of(5 * time.Second),
				ReadTimeout:    units.Of(90 * time.Second),
			},
			{
				Name: "dns", Algorithm: "least_conn",
				Servers: []proxy.Server{
					{Address: "10.0.2.1:53"},
					{Address: "10.0.2.2:53", Backup: true},
				},
			},
			{
				Name: "10.0.5.1:8081", Algorithm: "round_robin",
				Servers:      []proxy.Server{{Address: "10.0.5.1:8081"}},
				NextUpstream: &proxy.NextUpstream{On: []string{"off"}, Tries: 3},
			},
			{
				Name: "10.0.3.1:5432", Algorithm: "round_robin",
				Servers:        []proxy.Server{{Address: "10.0.3.1:5432"}},
				ConnectTimeout: units.Of(time.Second),
			},
		},
	}
	if len(cfg.Listeners) != len(want.Listeners) {
		t.Fatalf("got %d listeners, want %d: %+v", len(cfg.Listeners), len(want.Listeners), cfg.Listeners)
	}
	for i := range want.Listeners {
		if !reflect.DeepEqual(cfg.Listeners[i], want.Listeners[i]) {
			t.Errorf("listener %d:\n got %+v\nwant %+v", i, cfg.Listeners[i], want.Listeners[i])
		}
	}
	if len(cfg.Groups) != len(want.Groups) {
		t.Fatalf("got %d groups, want %d: %+v", len(cfg.Groups), len(want.Groups), cfg.Groups)
	}
	for i := range want.Groups {
		if !reflect.DeepEqual(cfg.Groups[i], want.Groups[i]) {
			t.Errorf("group %d:\n got %+v\nwant %+v", i, cfg.Groups[i], want.Groups[i])
		}
	}
	wantWarns := []string{
		"3: ignored: worker_processes",
		"4: ignored: pid",
		"5: ignored: error_log",
		"7: ignored: events",
		"13: ignored: default_type",
		"14: ignored: log_format",
		"16: ignored: access_log",
		"17: ignored: sendfile",
		"18: ignored: keepalive_timeout",
		"28: keepalive: accepted, no effect on server selection",
		"37: ignored: map",
		"49: ignored: proxy_set_header",
		"53: proxy_pass http://api/v1/: the URI part /v1/ is not applied (lblab sends the request's own target)",
		"56: ignored: proxy_set_header",
		"57: ignored: proxy_set_header",
		"65: ignored: ssl_certificate",
		"66: ignored: ssl_certificate_key",
		"85: ignored: proxy_timeout (an idle timeout; lblab has no stream equivalent)",
		"3: ignored: types", // in mime.types, which line 12 includes
	}
	if warns[len(warns)-1].File != "testdata/mime.types" {
		t.Errorf("the last warning is in %s, want testdata/mime.types (included at line 12)", warns[len(warns)-1].File)
	}
	if got := warningLines(warns); !reflect.DeepEqual(got, wantWarns) {
		t.Errorf("warnings:\n got %q\nwant %q", got, wantWarns)
	}
}

func TestImportMethods(t *testing.T) {
	cfg, warns := importTestdata(t, "methods.conf")
	type alg struct{ algorithm, key string }
	want := map[string]alg{
		"rr": {"round_robin", ""}, "iph": {"ip_hash", ""}, "h": {"hash", "$remote_addr"},
		"hc": {"hash_consistent", "$cookie_session"}, "lc": {"least_conn", ""},
		"r": {"random", ""}, "r2": {"random_two", ""}, "r2lc": {"random_two_least_conn", ""},
		"xff": {"hash", "$http_x_forwarded_for"},
		"sh":  {"hash_consistent", "$remote_addr"}, "sr": {"random_two_least_conn", ""},
	}
	if len(cfg.Groups) != len(want) {
		t.Errorf("got %d groups, want %d", len(cfg.Groups), len(want))
	}
	for _, g := range cfg.Groups {
		if w, ok := want[g.Name]; !ok || g.Algorithm != w.algorithm || g.HashKey != w.key {
			t.Errorf("group %s: algorithm %q key %q, want %+v", g.Name, g.Algorithm, g.HashKey, w)
		}
	}
	byName := map[string]proxy.Group{}
	for _, g := range cfg.Groups {
		byName[g.Name] = g
	}
	if s := byName["iph"].Servers; len(s) != 2 || *s[0].Weight != 3 || !s[1].Down {
		t.Errorf("iph servers = %+v", s)
	}
	if s := byName["r2"].Servers; s[0].MaxConns != 5 {
		t.Errorf("r2 servers = %+v", s)
	}
	if g := byName["sh"]; !reflect.DeepEqual(g.NextUpstream, &proxy.NextUpstream{On: []string{"off"}}) ||
		g.ConnectTimeout != units.Of(2*time.Second) {
		t.Errorf("sh: next upstream %+v, connect %v", g.NextUpstream, g.ConnectTimeout)
	}
	if g := byName["sr"]; !reflect.DeepEqual(g.NextUpstream, &proxy.NextUpstream{Tries: 2, Timeout: units.Of(500 * time.Millisecond)}) {
		t.Errorf("sr: next upstream %+v", g.NextUpstream)
	}
	wantListeners := []proxy.Listener{
		{Name: "udp:5353", Protocol: "udp", Address: "0.0.0.0", Port: 5353, Group: "sh"},
		{Name: "tcp:5353", Protocol: "tcp", Address: "127.0.0.1", Port: 5353, Group: "sr"},
	}
	if len(cfg.Listeners) != 3 || !reflect.DeepEqual(cfg.Listeners[1:], wantListeners) {
		t.Errorf("listeners = %+v", cfg.Listeners)
	}
	l := cfg.Listeners[0]
	if l.Name != "http:8080" || l.Group != "rr" || len(l.Rules) != 9 || l.Rules[8] != (proxy.Rule{PathPrefix: "/", Group: "rr"}) {
		t.Errorf("http listener = %+v", l)
	}
	for _, r := range l.Rules[:8] {
		if r.Host != "" || r.PathPrefix != "/"+r.Group+"/" {
			t.Errorf("rule %+v", r)
		}
	}
	if got, want := warningLines(warns), []string{"35: zone: accepted, no effect on server selection"}; !reflect.DeepEqual(got, want) {
		t.Errorf("warnings = %q, want %q", got, want)
	}
}

func TestImportRouting(t *testing.T) {
	cfg, warns := importTestdata(t, "routing.conf")
	var rules []proxy.Rule
	for _, host := range []string{"www.example.org", "example.org"} {
		rules = append(rules,
			proxy.Rule{Host: host, PathPrefix: "/static/big/", Group: "127.0.0.1:9004"},
			proxy.Rule{Host: host, PathPrefix: "/static/", Group: "static"},
			proxy.Rule{Host: host, PathPrefix: "/health", Group: "127.0.0.1:9003"},
			proxy.Rule{Host: host, PathPrefix: "/", Group: "app"},
		)
	}
	rules = append(rules, proxy.Rule{PathPrefix: "/", Group: "127.0.0.1:9005"})
	wantListeners := []proxy.Listener{{Name: "http:8080", Protocol: "http", Address: "0.0.0.0", Port: 8080, Group: "127.0.0.1:9005", Rules: rules}}
	if !reflect.DeepEqual(cfg.Listeners, wantListeners) {
		t.Errorf("listeners:\n got %+v\nwant %+v", cfg.Listeners, wantListeners)
	}
	var names []string
	for _, g := range cfg.Groups {
		names = append(names, g.Name)
		if g.Name == "127.0.0.1:9004" {
			if g.ReadTimeout != units.Of(5*time.Minute) || len(g.Servers) != 1 || g.Servers[0].Address != "127.0.0.1:9004" {
				t.Errorf("group %+v", g)
			}
		} else if g.ReadTimeout.IsSet() {
			t.Errorf("group %s has a read timeout", g.Name)
		}
	}
	wantNames := []string{"app", "static", "127.0.0.1:9003", "127.0.0.1:9004", "127.0.0.1:9005"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("groups %q, want %q", names, wantNames)
	}
	wantWarns := []string{
		"11: server_name *.example.org: only exact names are imported (rules match host names exactly)",
		"13: try_files: imported as if no file exists: requests for / go to location @app",
		"18: exact location = /health imported as prefix /health",
		"28: ignored: location /images/ (no proxy_pass)",
		"29: ignored: root",
		"34: port 8080 is listened on at several addresses (0.0.0.0, 127.0.0.1): nginx binds 0.0.0.0:8080 and picks the server by the address a connection came to; lblab routes them as one listener",
		"41: port 8081: no location proxies requests; listener not imported",
		"43: ignored: return",
	}
	if got := warningLines(warns); !reflect.DeepEqual(got, wantWarns) {
		t.Errorf("warnings:\n got %q\nwant %q", got, wantWarns)
	}
}

func TestImportSyntax(t *testing.T) {
	cfg, warns := importTestdata(t, "syntax.conf")
	want := &proxy.Config{
		Listeners: []proxy.Listener{{Name: "http:80", Protocol: "http", Address: "0.0.0.0", Port: 80, Group: "quoted-name", Rules: []proxy.Rule{
			{Host: "example.test", PathPrefix: "/", Group: "quoted-name"},
			{PathPrefix: "/", Group: "quoted-name"},
		}}},
		Groups: []proxy.Group{{Name: "quoted-name", Algorithm: "round_robin", Servers: []proxy.Server{
			{Address: "10.0.0.1:80", Weight: intp(2)},
			{Address: "10.0.0.2:80"},
		}}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config:\n got %+v\nwant %+v", cfg, want)
	}
	wantWarns := []string{"6: ignored: log_format", "7: ignored: map", "15: ignored: add_header", "17: ignored: if", "20: ignored: set"}
	if got := warningLines(warns); !reflect.DeepEqual(got, wantWarns) {
		t.Errorf("warnings:\n got %q\nwant %q", got, wantWarns)
	}
}

// TestImportSmall covers one feature per case, on inline configurations.
func TestImportSmall(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, cfg *proxy.Config)
		warns []string
	}{
		{
			name: "upstream-only snippet",
			src:  "upstream u {\n  server backend.internal:8080;\n}\n",
			check: func(t *testing.T, cfg *proxy.Config) {
				if len(cfg.Listeners) != 0 || len(cfg.Groups) != 1 || cfg.Groups[0].Servers[0].Address != "backend.internal:8080" {
					t.Errorf("config %+v", cfg)
				}
			},
			warns: []string{"no server block proxies to a group: the imported load balancer has groups but no listeners (add a server { listen 8080; location / { proxy_pass http://u; } } block)"},
		},
		{
			name: "proxy_pass to a name without upstream",
			src:  "http {\n server {\n  location / {\n   proxy_pass http://backend;\n  }\n }\n}\n",
			check: func(t *testing.T, cfg *proxy.Config) {
				want := []proxy.Group{{Name: "backend:80", Algorithm: "round_robin", Servers: []proxy.Server{{Address: "backend:80"}}}}
				if !reflect.DeepEqual(cfg.Groups, want) || cfg.Listeners[0].Port != 80 || cfg.Listeners[0].Group != "backend:80" {
					t.Errorf("config %+v", cfg)
				}
			},
			warns: []string{`4: proxy_pass http://backend: no upstream "backend" in this file; imported as the single server backend:80`},
		},
		{
			name: "https proxy_pass default port and IPv6 listen",
			src:  "server {\n listen [::]:8443 ssl;\n location / { proxy_pass https://[::1]/x; }\n}\n",
			check: func(t *testing.T, cfg *proxy.Config) {
				l := cfg.Listeners[0]
				if l.Protocol != "https" || l.Port != 8443 || l.Group != "[::1]:443" || cfg.Groups[0].Servers[0].Address != "[::1]:443" {
					t.Errorf("config %+v", cfg)
				}
			},
			warns: []string{"3: proxy_pass https://[::1]/x: the URI part /x is not applied (lblab sends the request's own target)"},
		},
		{
			name: "upstream names match case-insensitively and may follow their use",
			src:  "http {\n server { location / { proxy_pass http://Backend; } }\n upstream backend { server 10.0.0.1:80; }\n}\n",
			check: func(t *testing.T, cfg *proxy.Config) {
				if len(cfg.Groups) != 1 || cfg.Listeners[0].Group != "backend" {
					t.Errorf("config %+v", cfg)
				}
			},
		},
		{
			name: "settings inherit from http and server, wherever they stand",
			src: `http {
  server {
    location / { proxy_pass http://a; }
    proxy_connect_timeout 3s;
  }
  proxy_read_timeout 1m;
  upstream a { server 10.0.0.1:80; }
}
`,
			check: func(t *testing.T, cfg *proxy.Config) {
				g := cfg.Groups[0]
				if g.ConnectTimeout != units.Of(3*time.Second) || g.ReadTimeout != units.Of(time.Minute) || g.NextUpstream != nil {
					t.Errorf("group %+v", g)
				}
			},
		},
		{
			name: "two locations agreeing on a group's settings",
			src: `http {
  proxy_read_timeout 60s;
  upstream a { server 10.0.0.1:80; }
  server {
    location / { proxy_pass http://a; }
    location /b/ { proxy_pass http://a; proxy_read_timeout 1m; }
  }
}
`,
			check: func(t *testing.T, cfg *proxy.Config) {
				if g := cfg.Groups[0]; g.ReadTimeout != units.Of(time.Minute) {
					t.Errorf("group %+v", g)
				}
			},
		},
		{
			name: "default_server picks the listener group; exact location read as prefix",
			src: `http {
  server { listen 80; server_name a.test; location / { proxy_pass http://10.0.0.1:80; } }
  server {
    listen 80 default_server;
    location = / { proxy_pass http://10.0.0.3:80; }
    location / { proxy_pass http://10.0.0.2:80; }
  }
}
`,
			check: func(t *testing.T, cfg *proxy.Config) {
				l := cfg.Listeners[0]
				want := []proxy.Rule{
					{Host: "a.test", PathPrefix: "/", Group: "10.0.0.1:80"},
					{PathPrefix: "/", Group: "10.0.0.2:80"},
					{PathPrefix: "/", Group: "10.0.0.3:80"},
				}
				if l.Group != "10.0.0.2:80" || !reflect.DeepEqual(l.Rules, want) {
					t.Errorf("listener %+v", l)
				}
			},
			warns: []string{"5: exact location = / imported as prefix /"},
		},
		{
			name: "default server without location /",
			src:  "server {\n listen 81;\n location /api/ { proxy_pass http://10.0.0.1:80; }\n}\n",
			check: func(t *testing.T, cfg *proxy.Config) {
				if l := cfg.Listeners[0]; l.Group != "10.0.0.1:80" || l.Name != "http:81" {
					t.Errorf("listener %+v", l)
				}
			},
			warns: []string{`1: default server for port 81 has no "location /" with proxy_pass: requests that match no rule go to group "10.0.0.1:80"`},
		},
		{
			name: "redefined method, duplicate and updating next_upstream values, stream server_name",
			src: `upstream a {
  least_conn;
  ip_hash;
  server 10.0.0.1:80;
}
server {
  location / {
    proxy_pass http://a;
    proxy_next_upstream error error updating http_429 non_idempotent;
  }
}
`,
			check: func(t *testing.T, cfg *proxy.Config) {
				g := cfg.Groups[0]
				if g.Algorithm != "ip_hash" || !reflect.DeepEqual(g.NextUpstream.On, []string{"error", "http_429", "non_idempotent"}) {
					t.Errorf("group %+v", g)
				}
			},
			warns: []string{
				"3: load balancing method redefined",
				`9: duplicate value "error" in "proxy_next_upstream"`,
				"9: proxy_next_upstream updating: only matters with a cache; dropped",
			},
		},
		{
			name: "proxy_pass to a unix socket",
			src:  "server {\n listen 8080;\n location / { proxy_pass http://unix:/run/app.sock:/; }\n}\n",
			check: func(t *testing.T, cfg *proxy.Config) {
				if len(cfg.Listeners) != 1 || cfg.Listeners[0].Port != 8080 || cfg.Groups[0].Name != "unix:/run/app.sock" {
					t.Errorf("config %+v", cfg)
				}
			},
		},
		{
			name: "rewrite that redirects or keeps the location",
			src:  "server {\n rewrite ^ https://example.com$request_uri permanent;\n location / {\n  rewrite ^/a(.*)$ /b$1 break;\n  proxy_pass http://10.0.0.1:80;\n }\n}\n",
			warns: []string{
				"2: ignored: rewrite (a redirect)",
				"4: ignored: rewrite ... break (changes the URI sent upstream, not the location)",
			},
		},
		{
			name: "stream snippet",
			src:  "stream {\n server {\n  listen 9000;\n  listen 9000 udp;\n  proxy_timeout 1s;\n  proxy_pass 10.0.0.1:9000;\n }\n}\n",
			check: func(t *testing.T, cfg *proxy.Config) {
				want := []proxy.Listener{
					{Name: "tcp:9000", Protocol: "tcp", Address: "0.0.0.0", Port: 9000, Group: "10.0.0.1:9000"},
					{Name: "udp:9000", Protocol: "udp", Address: "0.0.0.0", Port: 9000, Group: "10.0.0.1:9000"},
				}
				if !reflect.DeepEqual(cfg.Listeners, want) {
					t.Errorf("listeners %+v", cfg.Listeners)
				}
			},
			warns: []string{"5: ignored: proxy_timeout (an idle timeout; lblab has no stream equivalent)"},
		},
		{
			name: "CRLF line ends and escapes",
			src:  "upstream \"a\\\"b\" {\r\n server 10.0.0.1:80;\r\n}\r\nserver {\r\n location / { proxy_pass 'http://a\"b'; }\r\n}\r\n",
			check: func(t *testing.T, cfg *proxy.Config) {
				if cfg.Groups[0].Name != `a"b` || cfg.Listeners[0].Group != `a"b` {
					t.Errorf("config %+v", cfg)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, warns, err := Import("test.conf", []byte(tt.src))
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			checkConsistent(t, cfg)
			if tt.check != nil {
				tt.check(t, cfg)
			}
			if got := warningLines(warns); !reflect.DeepEqual(got, tt.warns) && !(len(got) == 0 && len(tt.warns) == 0) {
				t.Errorf("warnings:\n got %q\nwant %q", got, tt.warns)
			}
		})
	}
}

// errorCase is a configuration Import refuses. nginxSays is what `nginx -t`
// says about it ("" when nginx accepts it: lblab's limit, not nginx's);
// TestNginxAgrees checks that.
type errorCase struct {
	name      string
	src       string
	line      int
	msg       string // the error's message contains this
	nginxSays string
}

var errorCases = []errorCase{
	{
		name: "deny",
		src:  "server {\n listen 8080;\n location /admin/ {\n  deny all;\n  proxy_pass http://127.0.0.1:9;\n }\n location / { proxy_pass http://127.0.0.1:9; }\n}\n",
		line: 4,
		msg:  "deny all is not supported: lblab would pass on the requests nginx refuses here",
	},
	{
		name: "a location that answers 403 itself",
		src:  "server {\n listen 8080;\n location /admin/ { return 403; }\n location / { proxy_pass http://127.0.0.1:9; }\n}\n",
		line: 3,
		msg:  "return 403 is not supported",
	},
	{
		name: "auth_basic at the server",
		src:  "server {\n listen 8080;\n auth_basic \"x\";\n location / { proxy_pass http://127.0.0.1:9; }\n}\n",
		line: 3,
		msg:  "auth_basic x is not supported",
	},
	{
		name:      "unknown server parameter",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80 weight=2 slowly;\n  }\n}\n",
		line:      3,
		msg:       `unknown server parameter "slowly"`,
		nginxSays: `invalid parameter "slowly"`,
	},
	{
		name:      "weight=0",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80;\n    server 10.0.0.2:80 weight=0;\n  }\n}\n",
		line:      4,
		msg:       `invalid parameter "weight=0"`,
		nginxSays: `invalid parameter "weight=0"`,
	},
	{
		name:      "weight not a number",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80 weight=two;\n  }\n}\n",
		line:      3,
		msg:       `invalid parameter "weight=two"`,
		nginxSays: `invalid parameter "weight=two"`,
	},
	{
		name:      "fail_timeout=abc",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80 fail_timeout=abc;\n  }\n}\n",
		line:      3,
		msg:       `invalid parameter "fail_timeout=abc"`,
		nginxSays: `invalid parameter "fail_timeout=abc"`,
	},
	{
		name:      "fail_timeout in ms (nginx reads it in seconds)",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80 fail_timeout=500ms;\n  }\n}\n",
		line:      3,
		msg:       `invalid parameter "fail_timeout=500ms"`,
		nginxSays: `invalid parameter "fail_timeout=500ms"`,
	},
	{
		name:      "max_fails negative",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80 max_fails=-1;\n  }\n}\n",
		line:      3,
		msg:       `invalid parameter "max_fails=-1"`,
		nginxSays: `invalid parameter "max_fails=-1"`,
	},
	{
		name:      "server parameter of NGINX Plus",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80 slow_start=30s;\n  }\n}\n",
		line:      3,
		msg:       `server parameter "slow_start=30s" is not supported`,
		nginxSays: `invalid parameter "slow_start=30s"`,
	},
	{
		name:      "backup after hash",
		src:       "http {\n  upstream u {\n    hash $request_uri;\n    server 10.0.0.1:80;\n    server 10.0.0.2:80 backup;\n  }\n}\n",
		line:      5,
		msg:       `balancing method does not support parameter "backup" (hash at line 3; nginx rejects this too)`,
		nginxSays: `balancing method does not support parameter "backup"`,
	},
	{
		name:      "backup after hash consistent",
		src:       "http {\n  upstream u {\n    hash $remote_addr consistent;\n    server 10.0.0.1:80 backup;\n  }\n}\n",
		line:      4,
		msg:       `balancing method does not support parameter "backup" (hash at line 3`,
		nginxSays: `balancing method does not support parameter "backup"`,
	},
	{
		name:      "backup after ip_hash",
		src:       "http {\n  upstream u {\n    ip_hash;\n    server 10.0.0.1:80;\n    server 10.0.0.2:80 backup;\n  }\n}\n",
		line:      5,
		msg:       `balancing method does not support parameter "backup" (ip_hash at line 3`,
		nginxSays: `balancing method does not support parameter "backup"`,
	},
	{
		name:      "backup after random two",
		src:       "http {\n  upstream u {\n    random two least_conn;\n    server 10.0.0.1:80;\n    server 10.0.0.2:80 backup;\n  }\n}\n",
		line:      5,
		msg:       `balancing method does not support parameter "backup" (random at line 3`,
		nginxSays: `balancing method does not support parameter "backup"`,
	},
	{
		name:      "backup after hash in stream",
		src:       "stream {\n  upstream u {\n    hash $remote_addr;\n    server 10.0.0.1:53;\n    server 10.0.0.2:53 backup;\n  }\n}\n",
		line:      5,
		msg:       `balancing method does not support parameter "backup"`,
		nginxSays: `balancing method does not support parameter "backup"`,
	},
	{
		name: "backup before hash (nginx accepts the order)",
		src:  "http {\n  upstream u {\n    server 10.0.0.1:80;\n    server 10.0.0.2:80 backup;\n    hash $request_uri;\n  }\n}\n",
		line: 4,
		msg:  `"backup" is not supported with hash (line 5)`,
	},
	{
		name:      "duplicate upstream",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80;\n  }\n  upstream u {\n    server 10.0.0.2:80;\n  }\n}\n",
		line:      5,
		msg:       `duplicate upstream "u" (first at line 2)`,
		nginxSays: `duplicate upstream "u"`,
	},
	{
		name: "same upstream name in http and stream",
		src:  "http {\n  upstream u {\n    server 10.0.0.1:80;\n  }\n}\nstream {\n  upstream u {\n    server 10.0.0.2:80;\n  }\n}\n",
		line: 7,
		msg:  `upstream "u" is defined in both http (line 2) and stream`,
	},
	{
		name:      "empty upstream",
		src:       "http {\n  upstream u {\n  }\n}\n",
		line:      2,
		msg:       `empty upstream "u"`,
		nginxSays: "no servers are inside upstream",
	},
	{
		name:      "upstream with keepalive only",
		src:       "http {\n  upstream u {\n    keepalive 8;\n  }\n}\n",
		line:      2,
		msg:       `empty upstream "u"`,
		nginxSays: "no servers are inside upstream",
	},
	{
		name:      "sticky",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80;\n    sticky cookie srv_id expires=1h;\n  }\n}\n",
		line:      4,
		msg:       `unknown directive "sticky" (an NGINX Plus directive`,
		nginxSays: `unknown directive "sticky"`,
	},
	{
		name:      "ntlm",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80;\n    ntlm;\n  }\n}\n",
		line:      4,
		msg:       `unknown directive "ntlm" (an NGINX Plus directive`,
		nginxSays: `unknown directive "ntlm"`,
	},
	{
		name:      "server_name in upstream",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80;\n    server_name x;\n  }\n}\n",
		line:      4,
		msg:       `"server_name" directive is not allowed here`,
		nginxSays: `"server_name" directive is not allowed here`,
	},
	{
		name:      "hash with an unknown variable",
		src:       "http {\n  upstream u {\n    hash $no_such_variable;\n    server 10.0.0.1:80;\n  }\n}\n",
		line:      3,
		msg:       `hash key "$no_such_variable" is not supported`,
		nginxSays: `unknown "no_such_variable" variable`,
	},
	{
		name: "hash with a key lblab does not hash",
		src:  "http {\n  upstream u {\n    hash $host$request_uri;\n    server 10.0.0.1:80;\n  }\n}\n",
		line: 3,
		msg:  `hash key "$host$request_uri" is not supported`,
	},
	{
		name:      "hash with a bad second parameter",
		src:       "http {\n  upstream u {\n    hash $request_uri ketama;\n    server 10.0.0.1:80;\n  }\n}\n",
		line:      3,
		msg:       `invalid parameter "ketama"`,
		nginxSays: `invalid parameter "ketama"`,
	},
	{
		name:      "ip_hash in stream",
		src:       "stream {\n  upstream u {\n    ip_hash;\n    server 10.0.0.1:53;\n  }\n}\n",
		line:      3,
		msg:       `"ip_hash" directive is not allowed here`,
		nginxSays: `"ip_hash" directive is not allowed here`,
	},
	{
		name:      "stream server without a port",
		src:       "stream {\n  upstream u {\n    server 10.0.0.1;\n  }\n}\n",
		line:      3,
		msg:       `no port in upstream "10.0.0.1"`,
		nginxSays: `no port in upstream "10.0.0.1"`,
	},
	{
		name: "regex location",
		src:  "http {\n  server {\n    listen 80;\n    location ~* \\.php$ {\n      proxy_pass http://10.0.0.1:80;\n    }\n  }\n}\n",
		line: 4,
		msg:  "regex locations are not supported",
	},
	{
		name: "regex location without a space",
		src:  "http {\n  server {\n    location ~^/api {\n      proxy_pass http://10.0.0.1:80;\n    }\n  }\n}\n",
		line: 3,
		msg:  "regex locations are not supported",
	},
	{
		name: "one group, two read timeouts",
		src: `http {
  upstream app {
    server 10.0.0.1:80;
  }
  server {
    location / {
      proxy_pass http://app;
      proxy_read_timeout 30s;
    }
    location /slow/ {
      proxy_pass http://app;
      proxy_read_timeout 5m;
    }
  }
}
`,
		line: 12,
		msg:  `group "app" gets proxy_read_timeout 5m0s at line 12 (for location /slow/) but 30s at line 8 (for location /)`,
	},
	{
		name: "one group, a timeout and the default",
		src: `http {
  upstream app {
    server 10.0.0.1:80;
  }
  server {
    location / {
      proxy_pass http://app;
    }
    location /api/ {
      proxy_pass http://app;
      proxy_connect_timeout 2s;
    }
  }
}
`,
		line: 11,
		msg:  `group "app" gets proxy_connect_timeout 2s at line 11 (for location /api/) but 1m0s by default (for location / at line 6)`,
	},
	{
		name: "one group, two next_upstream settings",
		src: `http {
  upstream app {
    server 10.0.0.1:80;
  }
  proxy_next_upstream error timeout;
  server {
    location / {
      proxy_pass http://app;
    }
    location /api/ {
      proxy_pass http://app;
      proxy_next_upstream_tries 2;
      proxy_next_upstream error;
    }
  }
}
`,
		line: 13,
		msg:  `group "app" gets proxy_next_upstream error at line 13 (for location /api/) but error timeout at line 5 (for location /)`,
	},
	{
		name:      "no upstream and no proxy_pass",
		src:       "events {}\nhttp {\n  server {\n    listen 80;\n    root /srv/www;\n  }\n}\n",
		line:      0,
		msg:       "no upstream or proxy_pass found",
		nginxSays: "",
	},
	{
		name: "proxy_pass with a variable",
		src:  "http {\n  server {\n    location / {\n      proxy_pass http://$host;\n    }\n  }\n}\n",
		line: 4,
		msg:  "proxy_pass with variables is not supported",
	},
	{
		name: "proxy_pass inside if",
		src:  "http {\n  server {\n    location / {\n      if ($arg_x) {\n        proxy_pass http://10.0.0.1:80;\n      }\n    }\n  }\n}\n",
		line: 5,
		msg:  "proxy_pass inside if is not supported",
	},
	{
		name:      "proxy_pass in a server block",
		src:       "http {\n  server {\n    proxy_pass http://10.0.0.1:80;\n  }\n}\n",
		line:      3,
		msg:       `"proxy_pass" directive is not allowed here`,
		nginxSays: `"proxy_pass" directive is not allowed here`,
	},
	{
		name:      "proxy_pass with a port to an upstream",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80;\n  }\n  server {\n    location / {\n      proxy_pass http://u:8080;\n    }\n  }\n}\n",
		line:      7,
		msg:       `upstream "u" may not have port 8080`,
		nginxSays: `upstream "u" may not have port 8080`,
	},
	{
		name:      "proxy_pass without a scheme",
		src:       "http {\n  server {\n    location / {\n      proxy_pass 10.0.0.1:80;\n    }\n  }\n}\n",
		line:      4,
		msg:       `invalid URL prefix in "10.0.0.1:80"`,
		nginxSays: "invalid URL prefix",
	},
	{
		name: "fastcgi_pass",
		src:  "http {\n  server {\n    location / {\n      fastcgi_pass 127.0.0.1:9000;\n    }\n  }\n}\n",
		line: 4,
		msg:  "fastcgi_pass is not supported",
	},
	{
		name:      "bad proxy_next_upstream condition",
		src:       "http {\n  proxy_next_upstream error http_418;\n  server {\n    location / {\n      proxy_pass http://10.0.0.1:80;\n    }\n  }\n}\n",
		line:      2,
		msg:       `invalid value "http_418" in "proxy_next_upstream"`,
		nginxSays: `invalid value "http_418"`,
	},
	{
		name:      "bad stream proxy_next_upstream",
		src:       "stream {\n  server {\n    listen 9000;\n    proxy_pass 10.0.0.1:9000;\n    proxy_next_upstream error;\n  }\n}\n",
		line:      5,
		msg:       `invalid value "error" in "proxy_next_upstream": it must be "on" or "off"`,
		nginxSays: `it must be "on" or "off"`,
	},
	{
		name:      "timeout in years",
		src:       "http {\n  server {\n    location / {\n      proxy_pass http://10.0.0.1:80;\n      proxy_connect_timeout 1y;\n    }\n  }\n}\n",
		line:      5,
		msg:       `invalid value "1y" in "proxy_connect_timeout"`,
		nginxSays: `"proxy_connect_timeout" directive invalid value`,
	},
	{
		name:      "bad tries",
		src:       "http {\n  server {\n    location / {\n      proxy_pass http://10.0.0.1:80;\n      proxy_next_upstream_tries many;\n    }\n  }\n}\n",
		line:      5,
		msg:       `invalid number "many" in "proxy_next_upstream_tries"`,
		nginxSays: "invalid number",
	},
	{
		name:      "duplicate directive",
		src:       "http {\n  server {\n    location / {\n      proxy_pass http://10.0.0.1:80;\n      proxy_read_timeout 1s;\n      proxy_read_timeout 2s;\n    }\n  }\n}\n",
		line:      6,
		msg:       `"proxy_read_timeout" directive is duplicate (first at line 5)`,
		nginxSays: `"proxy_read_timeout" directive is duplicate`,
	},
	{
		name:      "duplicate default server",
		src:       "http {\n  server {\n    listen 80 default_server;\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n  server {\n    listen 80 default_server;\n  }\n}\n",
		line:      7,
		msg:       "a duplicate default server for 0.0.0.0:80 (first at line 3)",
		nginxSays: "a duplicate default server",
	},
	{
		name:      "duplicate stream listen",
		src:       "stream {\n  server {\n    listen 9000;\n    proxy_pass 10.0.0.1:9000;\n  }\n  server {\n    listen 9000;\n    proxy_pass 10.0.0.2:9000;\n  }\n}\n",
		line:      7,
		msg:       `duplicate "0.0.0.0:9000" address and port pair (first at line 3)`,
		nginxSays: `duplicate "0.0.0.0:9000" address and port pair`,
	},
	{
		name: "rewrite last",
		src:  "http {\n  server {\n    location / {\n      rewrite ^/old/(.*)$ /new/$1 last;\n      proxy_pass http://10.0.0.1:80;\n    }\n  }\n}\n",
		line: 4,
		msg:  "rewrite that changes which location serves the request is not supported",
	},
	{
		name: "stream listen without a port (nginx binds an ephemeral port)",
		src:  "stream {\n  server {\n    listen 127.0.0.1;\n    proxy_pass 10.0.0.1:9000;\n  }\n}\n",
		line: 3,
		msg:  `no port in "127.0.0.1" of the "listen" directive`,
	},
	{
		name:      "listen port out of range",
		src:       "http {\n  server {\n    listen 70000;\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n}\n",
		line:      3,
		msg:       `invalid port in "70000" of the "listen" directive`,
		nginxSays: "invalid port",
	},
	{
		name:      "unexpected }",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80;\n  }\n}\n}\n",
		line:      6,
		msg:       `unexpected "}"`,
		nginxSays: `unexpected "}"`,
	},
	{
		name:      "missing }",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80;\n  }\n",
		line:      5,
		msg:       `unexpected end of file, expecting "}"`,
		nginxSays: `unexpected end of file, expecting "}"`,
	},
	{
		name:      "missing ;",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80\n  }\n}\n",
		line:      4,
		msg:       `unexpected "}"`,
		nginxSays: `unexpected "}"`,
	},
	{
		name:      "unterminated quote",
		src:       "http {\n  upstream u {\n    server \"10.0.0.1:80;\n  }\n}\n",
		line:      6,
		msg:       `unexpected end of file, expecting ";" or "}"`,
		nginxSays: "unexpected end of file",
	},
	{
		name:      "text right after a quote",
		src:       "http {\n  log_format x \"a\"b;\n}\n",
		line:      2,
		msg:       `unexpected "b"`,
		nginxSays: `unexpected "b"`,
	},
	{
		name:      "statement without a name",
		src:       "http {\n  ;\n}\n",
		line:      2,
		msg:       `unexpected ";"`,
		nginxSays: `unexpected ";"`,
	},
	{
		name:      "http without a block",
		src:       "http;\n",
		line:      1,
		msg:       `directive "http" has no opening "{"`,
		nginxSays: `directive "http" has no opening "{"`,
	},
	{
		name:      "full-width digit in a weight",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80 weight=\uff15;\n  }\n}\n",
		line:      3,
		msg:       `invalid parameter "weight=５" ("５" looks like a full-width digit (U+FF15); use '5')`,
		nginxSays: `invalid parameter "weight=５"`,
	},
	{
		name:      "full-width space between parameters",
		src:       "http {\n  upstream u {\n    server 10.0.0.1:80 weight=2\u3000max_fails=3;\n  }\n}\n",
		line:      3,
		msg:       `looks like a full-width space (U+3000); use an ASCII space`,
		nginxSays: `invalid parameter "weight=2`,
	},
}

func TestImportErrors(t *testing.T) {
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := Import("case.conf", []byte(tt.src))
			if err == nil {
				t.Fatalf("Import succeeded: %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("Import returned a config with its errors")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors", err)
			}
			var bad interface{ BadInput() }
			if !errors.As(err, &bad) {
				t.Errorf("Errors has no BadInput method")
			}
			for _, e := range es {
				if e.Line == tt.line && strings.Contains(e.Msg, tt.msg) && e.File == "case.conf" {
					return
				}
			}
			t.Errorf("want an error at line %d containing %q, got:\n%v", tt.line, tt.msg, err)
		})
	}
}

func TestErrorsAllAtOnceSortedByLine(t *testing.T) {
	src := `http {
  server {
    location ~ \.php$ { proxy_pass http://a; }
  }
  upstream a {
    server 10.0.0.1:80 weight=0;
    sticky;
  }
  upstream b {
  }
}
`
	_, warns, err := Import("x.conf", []byte(src))
	want := `x.conf:3: regex locations are not supported (location ~ \.php$)
x.conf:6: invalid parameter "weight=0"
x.conf:7: unknown directive "sticky" (an NGINX Plus directive: nginx 1.22 refuses it)
x.conf:9: empty upstream "b": no servers are inside upstream`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
}

func TestErrorStrings(t *testing.T) {
	e := &Error{File: "a.conf", Line: 3, Msg: "bad"}
	if e.Error() != "a.conf:3: bad" {
		t.Errorf("Error() = %q", e.Error())
	}
	if s := (&Error{File: "a.conf", Msg: "bad"}).Error(); s != "a.conf: bad" {
		t.Errorf("Error() without a line = %q", s)
	}
	if s := (Warning{File: "a.conf", Line: 7, Msg: "ignored: gzip"}).String(); s != "a.conf:7: ignored: gzip" {
		t.Errorf("String() = %q", s)
	}
	var _ interface{ BadInput() } = e
	var _ interface{ BadInput() } = Errors{e}
}

func TestImportFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.conf")
	_, _, err := ImportFile(path)
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].File != path || !strings.Contains(es[0].Msg, "no such file") {
		t.Errorf("ImportFile(missing) = %v", err)
	}
}

func TestNestedLocationConflictNamesOuterFirst(t *testing.T) {
	src := `server {
  location /a/ {
    proxy_pass http://10.0.0.1:80;
    location /a/b/ {
      proxy_pass http://10.0.0.1:80;
      proxy_read_timeout 5s;
    }
  }
}
`
	_, _, err := Import("n.conf", []byte(src))
	want := `n.conf:6: group "10.0.0.1:80" gets proxy_read_timeout 5s at line 6 (for location /a/b/) but 1m0s by default (for location /a/ at line 2): lblab keeps one value per group`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}
