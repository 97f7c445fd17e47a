package nginxconf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

func ptr(n int) *int { return &n }

// exportCases are configs that nginx runs as lblab means them: every
// balancing method, server parameter and proxy setting Export writes.
var exportCases = map[string]*proxy.Config{
	"everything": {
		Listeners: []proxy.Listener{
			{Name: "rr", Port: 18001, Group: "rr"},
			{Name: "lc", Protocol: "http", Address: "127.0.0.1", Port: 18002, Group: "lc"},
			{Port: 18003, Group: "ip"},
			{Port: 18004, Group: "h"},
			{Port: 18005, Group: "hc"},
			{Port: 18006, Group: "rnd"},
			{Port: 18007, Group: "r2"},
			{Port: 18008, Group: "r2lc"},
			{Name: "echo", Protocol: "tcp", Port: 18009, Group: "tcp"},
		},
		Groups: []proxy.Group{
			{Name: "rr", Servers: []proxy.Server{
				{Address: "a:80", Weight: ptr(5), MaxFails: ptr(2), FailTimeout: units.Of(5 * time.Second)},
				{Address: "b:80", Weight: ptr(0)},
				{Address: "c:80", Backup: true, MaxConns: 10},
				{Address: "d:80", Down: true, MaxFails: ptr(0)},
			}, NextUpstream: &proxy.NextUpstream{On: []string{"error", "timeout", "http_502"}, Tries: 2, Timeout: units.Of(1500 * time.Millisecond)},
				ConnectTimeout: units.Of(2 * time.Second), ReadTimeout: units.Of(250 * time.Millisecond)},
			{Name: "lc", Algorithm: "least_conn", Servers: []proxy.Server{{Address: "a:80"}, {Address: "b:80", Backup: true}},
				NextUpstream: &proxy.NextUpstream{On: []string{"off"}}},
			{Name: "ip", Algorithm: "ip_hash", Servers: []proxy.Server{{Address: "a:80"}, {Address: "b:80", Down: true}}},
			{Name: "h", Algorithm: "hash", HashKey: "$request_uri", Servers: []proxy.Server{{Address: "a:80"}}},
			{Name: "hc", Algorithm: "hash_consistent", HashKey: "$http_x_forwarded_for", Servers: []proxy.Server{{Address: "a:80"}, {Address: "b:80"}}},
			{Name: "rnd", Algorithm: "random", Servers: []proxy.Server{{Address: "a:80"}}},
			{Name: "r2", Algorithm: "random_two", Servers: []proxy.Server{{Address: "a:80"}, {Address: "b:80"}}},
			{Name: "r2lc", Algorithm: "random_two_least_conn", Servers: []proxy.Server{{Address: "a:80"}, {Address: "b:80"}}},
			{Name: "tcp", Algorithm: "hash", HashKey: "$remote_addr", Servers: []proxy.Server{{Address: "a:7"}, {Address: "b:7"}},
				NextUpstream: &proxy.NextUpstream{On: []string{"off"}}, ConnectTimeout: units.Of(time.Second)},
		},
	},
}

// exportResolve gives the servers of exportCases loopback addresses, so
// that nginx -t finds them.
var exportResolve = map[string]string{"a": "127.0.0.1", "b": "127.0.0.2", "c": "127.0.0.3", "d": "127.0.0.4"}

// TestExportRoundTrip: Import reads back what Export writes, and nginx -t
// accepts it (with its names resolved, logs and temporary files in a
// folder of the test's).
func TestExportRoundTrip(t *testing.T) {
	for name, cfg := range exportCases {
		t.Run(name, func(t *testing.T) {
			text, err := Export(cfg, ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := Import(name, text)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			want, got := Canonical(cfg, ""), Canonical(back, "")
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round trip differs:\nwant %+v\ngot  %+v\n%s", want, got, text)
			}
		})
	}
}

// TestExportNginxAccepts runs nginx -t on each export, with the options
// the netns world gives.
func TestExportNginxAccepts(t *testing.T) {
	n := findNginx(t)
	for name, cfg := range exportCases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			text, err := Export(cfg, ExportOptions{Resolve: exportResolve, AccessLog: dir + "/access.log",
				StreamAccessLog: dir + "/stream.log", ErrorLog: dir + "/error.log", TempDir: dir,
				Keepalive: 128, KeepaliveTimeout: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if ok, out := n.checkIn(t, dir, text); !ok {
				t.Errorf("nginx -t rejects the export:\n%s\n%s", out, text)
			}
		})
	}
}

// TestExportRefuses: what nginx open source cannot run as lblab means it
// is refused at its field.
func TestExportRefuses(t *testing.T) {
	base := func(g proxy.Group) *proxy.Config {
		g.Name = "g"
		if g.Servers == nil {
			g.Servers = []proxy.Server{{Address: "a:80"}}
		}
		return &proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "g"}}, Groups: []proxy.Group{g}}
	}
	for _, tt := range []struct {
		cfg   *proxy.Config
		field string
		says  string
	}{
		{base(proxy.Group{HealthCheck: &proxy.HealthCheck{}}), "groups[0].health_check", "NGINX Plus"},
		{&proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "a b;"}}, Groups: []proxy.Group{{Name: "a b;"}}}, "groups[0].name", "host name"},
		{base(proxy.Group{Persistence: &proxy.Persistence{Mode: "cookie"}}), "groups[0].persistence", "sticky cookie"},
		{base(proxy.Group{NoServer: "fail-open"}), "groups[0].no_server", "fail open"},
		{base(proxy.Group{NoServer: "503"}), "groups[0].no_server", "502"},
		{base(proxy.Group{Algorithm: "least_time"}), "groups[0].algorithm", "NGINX Plus"},
		{base(proxy.Group{Algorithm: "sch"}), "groups[0].algorithm", "sch"},
		{base(proxy.Group{Algorithm: "ip_hash", Servers: []proxy.Server{{Address: "a:80", Backup: true}}}), "groups[0].servers[0].backup", "backup"},
		{base(proxy.Group{Servers: []proxy.Server{{Address: "a:80", FailTimeout: units.Of(1500 * time.Millisecond)}}}), "groups[0].servers[0].fail_timeout", "whole seconds"},
		{base(proxy.Group{ConnectTimeout: units.Of(time.Microsecond)}), "groups[0].connect_timeout", "milliseconds"},
		{&proxy.Config{Discovery: "docker", Listeners: []proxy.Listener{{Port: 80, Group: "g"}}, Groups: []proxy.Group{{Name: "g"}}}, "discovery", "container"},
		{&proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "g", Protocol: "https"}}, Groups: []proxy.Group{{Name: "g"}}}, "listeners[0].protocol", "https"},
		{&proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: "g", Protocol: "tcp"}},
			Groups: []proxy.Group{{Name: "g", Algorithm: "ip_hash"}}}, "groups[0].algorithm", "stream"},
	} {
		t.Run(tt.field+" "+tt.says, func(t *testing.T) {
			_, err := Export(tt.cfg, ExportOptions{})
			var re RefusalError
			if !errors.As(err, &re) {
				t.Fatalf("want a RefusalError, got %v", err)
			}
			if re[0].Field != tt.field || !strings.Contains(re[0].Text.String(), tt.says) {
				t.Errorf("got %s: %s; want %s: …%s…", re[0].Field, re[0].Text, tt.field, tt.says)
			}
		})
	}
}

// TestParseLogLine reads the lines nginx writes in Export's formats,
// retries included, and refuses hostile ones.
func TestParseLogLine(t *testing.T) {
	e, err := ParseLogLine([]byte(`{"msec":"1712345678.123","request_time":"0.045","status":"200","remote_addr":"198.18.2.1","remote_port":"40000","server_port":"8000","proxy_host":"app","upstream_addr":"198.18.1.1:80, 198.18.1.2:80","upstream_status":"502, 200","upstream_connect_time":"-, 0.001","upstream_response_time":"0.000, 0.044"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := LogEntry{End: 1712345678123 * time.Millisecond, Elapsed: 45 * time.Millisecond, Status: 200, Client: "198.18.2.1",
		Port: 8000, Group: "app", Tries: []LogTry{{"198.18.1.1:80", 502, false}, {"198.18.1.2:80", 200, true}}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %+v\nwant %+v", e, want)
	}
	for _, bad := range []string{``, `{`, `{"msec":"x"}`, `{"msec":"1.1234","request_time":"0","status":"200"}`,
		`{"msec":"-1","request_time":"0","status":"200"}`, `{"msec":"1","request_time":"0","status":"ok"}`, strings.Repeat(" ", maxLogLine+1)} {
		if _, err := ParseLogLine([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzParseLogLine: any line is read or refused, without a panic.
func FuzzParseLogLine(f *testing.F) {
	f.Add([]byte(`{"msec":"1.001","request_time":"0.000","status":"502","upstream_addr":"a, b : c","upstream_status":"502","upstream_connect_time":"-"}`))
	f.Add([]byte(`{"msec":"99999999999.9"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseLogLine(line)
		if err == nil && (e.End < 0 || e.Elapsed < 0) {
			t.Errorf("negative times from %q: %+v", line, e)
		}
	})
}
