package nginxconf

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
)

// inHTTP is an http server whose listen directive (line 3) is listen.
func inHTTP(listen string) string {
	return "http {\n  server {\n    listen " + listen + ";\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n}\n"
}

// inStream is a stream server whose listen directive (line 3) is listen.
func inStream(listen string) string {
	return "stream {\n  server {\n    listen " + listen + ";\n    proxy_pass 10.0.0.1:9000;\n  }\n}\n"
}

// The listen directives nginx 1.22 refuses (nginx -t, Debian's build, on
// Linux), refused with nginx's message and the line; and those lblab
// refuses where nginx does not (nginxSays ""). TestNginxAgrees runs them
// through nginx -t.
func init() {
	refused := func(name, src, msg, nginxSays string) errorCase {
		return errorCase{name: "listen: " + name, src: src, line: 3, msg: msg, nginxSays: nginxSays}
	}
	same := func(listen, msg string) errorCase { return refused(listen, inHTTP(listen), msg, msg) }
	errorCases = append(errorCases,
		same("abc", `host not found in "abc" of the "listen" directive`),
		same("8080x", `host not found in "8080x" of the "listen" directive`),
		same("-1", `host not found in "-1" of the "listen" directive`),
		same("+80", `host not found in "+80" of the "listen" directive`),
		same("12345678901234567890", `host not found in "12345678901234567890" of the "listen" directive`),
		same("999.1.1.1:8080", `host not found in "999.1.1.1:8080" of the "listen" directive`),
		same("0", `invalid port in "0" of the "listen" directive`),
		same("65536", `invalid port in "65536" of the "listen" directive`),
		same("127.0.0.1:", `invalid port in "127.0.0.1:" of the "listen" directive`),
		same("127.0.0.1:0", `invalid port in "127.0.0.1:0" of the "listen" directive`),
		same("127.0.0.1:80x", `invalid port in "127.0.0.1:80x" of the "listen" directive`),
		same("::1", `invalid port in "::1" of the "listen" directive`),
		same("*:", `invalid port in "*:" of the "listen" directive`),
		same(":80", `no host in ":80" of the "listen" directive`),
		same("[::1", `invalid host in "[::1" of the "listen" directive`),
		same("http://127.0.0.1:8080", `invalid host in "http://127.0.0.1:8080" of the "listen" directive`),
		same("[fe80::1%lo]:8080", `invalid IPv6 address in "[fe80::1%lo]:8080" of the "listen" directive`),
		same("unix:", `no path in the unix domain socket in "unix:" of the "listen" directive`),
		same("8080 foo", `invalid parameter "foo"`),
		same("8080 BIND", `invalid parameter "BIND"`),
		same("8080 udp", `invalid parameter "udp"`),
		same("8080 spdy", `invalid parameter "spdy"`),
		same("8080 quic", `invalid parameter "quic"`),
		same("8080 http3", `invalid parameter "http3"`),
		same("8080 setfib=1", `invalid parameter "setfib=1"`),
		same("8080 multipath", `invalid parameter "multipath"`),
		same("8080 default_server=1", `invalid parameter "default_server=1"`),
		same("8080 http2=on", `invalid parameter "http2=on"`),
		same("8080 backlog", `invalid parameter "backlog"`),
		same("8080 ipv6only=x", `invalid parameter "ipv6only=x"`),
		same("8080 backlog=0", `invalid backlog "backlog=0"`),
		same("8080 backlog=x", `invalid backlog "backlog=x"`),
		same("8080 rcvbuf=1g", `invalid rcvbuf "rcvbuf=1g"`),
		same("8080 sndbuf=-1", `invalid sndbuf "sndbuf=-1"`),
		same("8080 fastopen=x", `invalid fastopen "fastopen=x"`),
		same("8080 so_keepalive=x", `invalid so_keepalive value: "x"`),
		same("8080 so_keepalive=::", `invalid so_keepalive value: "::"`),
		same("8080 so_keepalive=1:2:3:4", `invalid so_keepalive value: "1:2:3:4"`),
		refused("a duplicate listen", "http {\n  server {\n    listen 8080;\n    listen 8080;\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n}\n",
			"", ""),
		refused("duplicate listen options", "http {\n  server {\n    listen 8080 backlog=5;\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n  server {\n    listen 8080 backlog=6;\n  }\n}\n",
			"duplicate listen options for 0.0.0.0:8080 (first at line 3)", "duplicate listen options for 0.0.0.0:8080"),
		refused("stream default_server", inStream("9000 default_server"), `the invalid "default_server" parameter`, `the invalid "default_server" parameter`),
		refused("stream deferred", inStream("9000 deferred"), `the invalid "deferred" parameter`, `the invalid "deferred" parameter`),
		refused("stream abc", inStream("abc"), `host not found in "abc"`, `host not found in "abc"`),
		refused("stream 0", inStream("0"), `invalid port in "0"`, `invalid port in "0"`),
		refused("stream udp backlog", inStream("9000 udp backlog=10"), `"listen" directive "backlog" parameter is incompatible with "udp"`,
			`"listen" directive "backlog" parameter is incompatible with "udp"`),
		refused("stream udp so_keepalive", inStream("9000 udp so_keepalive=on"), `"listen" directive "so_keepalive" parameter is incompatible with "udp"`,
			`"listen" directive "so_keepalive" parameter is incompatible with "udp"`),
		// lblab's limits: nginx accepts these.
		refused("proxy_protocol", inHTTP("8080 proxy_protocol"), "proxy_protocol is not supported", ""),
		refused("stream proxy_protocol", inStream("9000 proxy_protocol"), "proxy_protocol is not supported", ""),
		refused("stream wildcard and address on one port",
			"stream {\n  server {\n    listen 9000;\n    proxy_pass 10.0.0.1:9000;\n  }\n  server {\n    listen 127.0.0.1:9000;\n    proxy_pass 10.0.0.2:9000;\n  }\n}\n",
			"stream listen 127.0.0.1:9000 shares a socket with the listen on 0.0.0.0:9000 (line 3)", ""),
	)
	// The duplicate listen is at line 4, the second stream listen at 7.
	for i := range errorCases {
		switch errorCases[i].name {
		case "listen: a duplicate listen":
			errorCases[i].line, errorCases[i].msg, errorCases[i].nginxSays = 4, "a duplicate listen 0.0.0.0:8080", "a duplicate listen 0.0.0.0:8080"
		case "listen: stream wildcard and address on one port", "listen: duplicate listen options":
			errorCases[i].line = 7
		}
	}
}

// listenCases are listen forms nginx accepts, and the sockets lblab
// listens on for them: nginx's.
var listenCases = []struct {
	name string
	src  string
	want []proxy.Listener // Name, Protocol, Address, Port
	warn string           // a warning contains this
}{
	{"bare port: every IPv4 address", inHTTP("27184"),
		[]proxy.Listener{{Name: "http:27184", Protocol: "http", Address: "0.0.0.0", Port: 27184}}, ""},
	{"address and port", inHTTP("127.0.0.1:27184"),
		[]proxy.Listener{{Name: "http:27184", Protocol: "http", Address: "127.0.0.1", Port: 27184}}, ""},
	{"*:port", inHTTP("*:27184"),
		[]proxy.Listener{{Name: "http:27184", Protocol: "http", Address: "0.0.0.0", Port: 27184}}, ""},
	{"[::]:port: every IPv6 address", inHTTP("[::]:27184"),
		[]proxy.Listener{{Name: "http:27184", Protocol: "http", Address: "::", Port: 27184}}, ""},
	{"[::1]:port", inHTTP("[::1]:27184"),
		[]proxy.Listener{{Name: "http:27184", Protocol: "http", Address: "::1", Port: 27184}}, ""},
	{"localhost:port", inHTTP("localhost:27184"),
		[]proxy.Listener{{Name: "http:27184", Protocol: "http", Address: "127.0.0.1", Port: 27184}}, "imported as 127.0.0.1"},
	{"address alone: port 80", inHTTP("127.0.0.1"),
		[]proxy.Listener{{Name: "http:80", Protocol: "http", Address: "127.0.0.1", Port: 80}}, ""},
	{"* alone: port 80", inHTTP("*"),
		[]proxy.Listener{{Name: "http:80", Protocol: "http", Address: "0.0.0.0", Port: 80}}, ""},
	{"[::1] alone: port 80", inHTTP("[::1]"),
		[]proxy.Listener{{Name: "http:80", Protocol: "http", Address: "::1", Port: 80}}, ""},
	{"leading zero", inHTTP("0080"),
		[]proxy.Listener{{Name: "http:80", Protocol: "http", Address: "0.0.0.0", Port: 80}}, ""},
	{"no listen: *:80", "http {\n  server {\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n}\n",
		[]proxy.Listener{{Name: "http:80", Protocol: "http", Address: "0.0.0.0", Port: 80}}, ""},
	{"every parameter", "http {\n  server {\n    listen 127.0.0.1:27184 default_server ssl http2 reuseport backlog=511 rcvbuf=64k sndbuf=1M deferred fastopen=3 so_keepalive=30m::10 ipv6only=on bind;\n" +
		"    ssl_certificate certs/admin.crt;\n    ssl_certificate_key certs/admin.key;\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n}\n",
		[]proxy.Listener{{Name: "https:27184", Protocol: "https", Address: "127.0.0.1", Port: 27184}},
		"ignored: reuseport, backlog=511, rcvbuf=64k, sndbuf=1M, deferred, fastopen=3, so_keepalive=30m::10, bind"},
	{"http2 is a warning", inHTTP("27184 http2"),
		[]proxy.Listener{{Name: "http:27184", Protocol: "http", Address: "0.0.0.0", Port: 27184}}, "http2: ignored (lblab speaks HTTP/1.1 to clients)"},
	{"[::] ipv6only=off takes IPv4 too", inHTTP("[::]:27184 ipv6only=off"),
		[]proxy.Listener{
			{Name: "http:[::]:27184", Protocol: "http", Address: "::", Port: 27184},
			{Name: "http:0.0.0.0:27184", Protocol: "http", Address: "0.0.0.0", Port: 27184},
		}, ""},
	{"listen 80 and [::]:80: two sockets", "http {\n  server {\n    listen 27184;\n    listen [::]:27184;\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n}\n",
		[]proxy.Listener{
			{Name: "http:0.0.0.0:27184", Protocol: "http", Address: "0.0.0.0", Port: 27184},
			{Name: "http:[::]:27184", Protocol: "http", Address: "::", Port: 27184},
		}, ""},
	{"two addresses of one port: two sockets", "http {\n  server {\n    listen 127.0.0.1:27184;\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n" +
		"  server {\n    listen 127.0.0.2:27184;\n    location / { proxy_pass http://10.0.0.2:80; }\n  }\n}\n",
		[]proxy.Listener{
			{Name: "http:127.0.0.1:27184", Protocol: "http", Address: "127.0.0.1", Port: 27184},
			{Name: "http:127.0.0.2:27184", Protocol: "http", Address: "127.0.0.2", Port: 27184},
		}, ""},
	{"stream udp", inStream("27153 udp"),
		[]proxy.Listener{{Name: "udp:27153", Protocol: "udp", Address: "0.0.0.0", Port: 27153}}, ""},
	{"stream address", inStream("127.0.0.1:27184"),
		[]proxy.Listener{{Name: "tcp:27184", Protocol: "tcp", Address: "127.0.0.1", Port: 27184}}, ""},
	{"stream [::1] udp reuseport", inStream("[::1]:27184 udp reuseport"),
		[]proxy.Listener{{Name: "udp:27184", Protocol: "udp", Address: "::1", Port: 27184}}, "ignored: reuseport"},
}

func TestListenForms(t *testing.T) {
	for _, tc := range listenCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, warns, err := Import("case.conf", []byte(tc.src))
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			var got []proxy.Listener
			for _, l := range cfg.Listeners {
				got = append(got, proxy.Listener{Name: l.Name, Protocol: l.Protocol, Address: l.Address, Port: l.Port})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("listeners\n got %+v\nwant %+v", got, tc.want)
			}
			if ps := proxy.Validate(cfg); len(ps) > 0 {
				t.Errorf("the imported load balancer does not validate: %+v", ps)
			}
			found := tc.warn == ""
			for _, w := range warns {
				found = found || strings.Contains(w.Msg, tc.warn)
			}
			if !found {
				t.Errorf("no warning says %q: %v", tc.warn, warns)
			}
		})
	}
}

// TestNginxAcceptsListenForms proves the forms of TestListenForms are
// nginx's: nginx -t accepts each.
func TestNginxAcceptsListenForms(t *testing.T) {
	n := findNginx(t)
	for _, tc := range listenCases {
		t.Run(tc.name, func(t *testing.T) {
			if ok, out := n.check(t, []byte(tc.src)); !ok {
				t.Errorf("nginx -t rejects it:\n%s", out)
			}
		})
	}
}

func TestListenRefusedByLblabOnly(t *testing.T) {
	for _, tc := range []struct{ src, msg string }{
		{inHTTP("unix:/run/lblab.sock"), "listen unix:/run/lblab.sock: unix domain sockets are not supported"},
		{inStream("unix:/run/lblab.sock"), "listen unix:/run/lblab.sock: unix domain sockets are not supported"},
		{inStream("9000 ssl"), "listen 9000 ssl in stream is not supported"},
		{inStream("127.0.0.1"), `no port in "127.0.0.1" of the "listen" directive (nginx would listen on a random port)`},
		{inHTTP("example.com:8080"), `host not found in "example.com:8080" of the "listen" directive: write an IP address, * or localhost (lblab resolves no host names)`},
		{"http {\n  server {\n    listen 8080;\n    listen [::]:8080 ipv6only=off;\n    location / { proxy_pass http://10.0.0.1:80; }\n  }\n}\n",
			"listen [::]:8080 ipv6only=off takes IPv4 port 8080 too, and so does the listen at line 3"},
	} {
		_, _, err := Import("case.conf", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.msg)
		}
	}
}

// cpuTime is the user and system CPU time of this process.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestHugeInputGivesShortAnswers: what the importer says quotes at most a
// line's worth of the input, and a configuration with half a million
// problems gets a short answer, in bounded time.
func TestHugeInputGivesShortAnswers(t *testing.T) {
	const limit = 1024
	// took is the CPU time of the process (the machine may be shared:
	// its wall time says little); each case takes a few seconds of it.
	short := func(t *testing.T, what string, took time.Duration, warns []Warning, err error) {
		t.Helper()
		t.Logf("%s: %v of CPU", what, took)
		if took > 15*time.Second {
			t.Errorf("%s: took %v of CPU", what, took)
		}
		if err != nil && len(err.Error()) >= limit {
			t.Errorf("%s: the error has %d bytes: %.300s…", what, len(err.Error()), err.Error())
		}
		for _, w := range warns {
			if len(w.String()) >= limit {
				t.Errorf("%s: a warning has %d bytes: %.300s…", what, len(w.String()), w.String())
			}
		}
	}
	run := func(src []byte) (time.Duration, []Warning, error) {
		start := cpuTime(t)
		_, warns, err := Import("huge.conf", src)
		return cpuTime(t) - start, warns, err
	}
	ok := "upstream a { server 10.0.0.1:80; }\nserver { listen 8080; location / { proxy_pass http://a; } }\n"

	t.Run("a 50 MB token", func(t *testing.T) {
		src := []byte(ok + strings.Repeat("A", 50<<20) + ";\n")
		took, warns, err := run(src)
		short(t, "50 MB directive", took, warns, err)
		var es Errors
		if !errors.As(err, &es) || es[0].Line != 3 || es[0].Msg != `too long parameter "AAAAAAAAAA..." started` {
			t.Errorf("error %.200v, want nginx's too long parameter at line 3", err)
		}
	})
	t.Run("a 4000-byte word in a warning and in errors", func(t *testing.T) {
		long := strings.Repeat("B", 4000)
		src := ok + "server { listen 8081; location " + long + " { } }\nserver { listen " + long + "; }\nupstream " + long + " { }\n"
		took, warns, err := run([]byte(src))
		short(t, "4000-byte words", took, warns, err)
		if err == nil || !strings.Contains(err.Error(), "…(4000 bytes)") {
			t.Errorf("error does not clip the word: %.300v", err)
		}
		if len(warns) == 0 || !strings.Contains(warns[0].Msg, "…(4000 bytes)") {
			t.Errorf("warnings do not clip the word: %.300v", warns)
		}
	})
	t.Run("500k empty upstreams", func(t *testing.T) {
		var b strings.Builder
		for i := range 500_000 {
			fmt.Fprintf(&b, "upstream u%d { }\n", i)
		}
		took, warns, err := run([]byte(b.String()))
		short(t, "500k empty upstreams", took, warns, err)
		var es Errors
		if !errors.As(err, &es) || len(es) != maxErrors+1 || !strings.Contains(es[maxErrors].Msg, "and 499990 more errors") {
			t.Errorf("error %.600v, want %d errors and a count of the others", err, maxErrors)
		}
	})
	t.Run("500k ignored directives", func(t *testing.T) {
		src := []byte(ok + strings.Repeat("gzip on;\n", 500_000))
		took, warns, err := run(src)
		short(t, "500k warnings", took, warns, err)
		if len(warns) != maxWarnings+1 || !strings.Contains(warns[maxWarnings].Msg, "and 499900 more warnings") {
			t.Errorf("%d warnings, want %d and a count of the others", len(warns), maxWarnings)
		}
	})
}
