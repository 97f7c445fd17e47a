package main

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runningProxy is an `lblab proxy` command running in a goroutine.
type runningProxy struct {
	log  *syncBuffer
	stop func() int
}

// listeningLog is the startup line of one listener.
var listeningLog = regexp.MustCompile(`msg=listening listener=\S+ protocol=\S+ addr=(\S+)`)

// startLblabProxy runs `lblab proxy ARGS…` and waits until n listeners
// log that they listen; it returns the addresses they log.
func startLblabProxy(t *testing.T, n int, args ...string) (*runningProxy, []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	var exit int
	done := make(chan struct{})
	go func() {
		defer close(done)
		exit = execute(ctx, append([]string{"proxy"}, args...), out, errOut)
	}()
	rp := &runningProxy{log: errOut}
	rp.stop = func() int {
		cancel()
		<-done
		return exit
	}
	t.Cleanup(func() { rp.stop() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ms := listeningLog.FindAllStringSubmatch(errOut.String(), -1); len(ms) >= n {
			var addrs []string
			for _, m := range ms {
				addrs = append(addrs, m[1])
			}
			return rp, addrs
		}
		select {
		case <-done:
			t.Fatalf("lblab proxy exited with %d:\n%s%s", exit, out, errOut)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("lblab proxy did not log %d listeners:\n%s%s", n, out, errOut)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// freePort returns a port that nothing listens on at 127.0.0.1 now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// accepts reports whether a TCP connection to host:port is accepted.
// Every 127.0.0.0/8 address is the loopback interface: a socket on
// 127.0.0.1 refuses 127.0.0.2, one on every address accepts it.
func accepts(host string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestProxyListensWhereNginxSays(t *testing.T) {
	p1, p2 := freePort(t), freePort(t)
	conf := writeFile(t, "nginx.conf", fmt.Sprintf(`events {}
http {
  server { listen 127.0.0.1:%d; location / { proxy_pass http://127.0.0.1:9; } }
  server { listen %d; location / { proxy_pass http://127.0.0.1:9; } }
}
`, p1, p2))
	_, addrs := startLblabProxy(t, 2, "--config", conf)
	want := []string{fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("0.0.0.0:%d", p2)}
	if strings.Join(addrs, " ") != strings.Join(want, " ") {
		t.Errorf("logged listeners on %q, want %q", addrs, want)
	}
	if accepts("127.0.0.2", p1) {
		t.Errorf("listen 127.0.0.1:%d also accepts connections to 127.0.0.2", p1)
	}
	if !accepts("127.0.0.1", p1) {
		t.Errorf("listen 127.0.0.1:%d refuses 127.0.0.1", p1)
	}
	if !accepts("127.0.0.2", p2) {
		t.Errorf("listen %d (every IPv4 address, as nginx) refuses 127.0.0.2", p2)
	}
}

// TestProxyListensOnIPv6Only: listen [::]:PORT takes IPv6 only, as in
// nginx (ipv6only=on is its default); ipv6only=off takes IPv4 too.
func TestProxyListensOnIPv6Only(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		ln.Close()
	}
	p1, p2 := freePort(t), freePort(t)
	conf := writeFile(t, "nginx.conf", fmt.Sprintf(`events {}
http {
  server { listen [::]:%d; location / { proxy_pass http://127.0.0.1:9; } }
  server { listen [::]:%d ipv6only=off; location / { proxy_pass http://127.0.0.1:9; } }
}
`, p1, p2))
	_, addrs := startLblabProxy(t, 3, "--config", conf)
	want := []string{fmt.Sprintf("[::]:%d", p1), fmt.Sprintf("[::]:%d", p2), fmt.Sprintf("0.0.0.0:%d", p2)}
	if strings.Join(addrs, " ") != strings.Join(want, " ") {
		t.Errorf("logged listeners on %q, want %q", addrs, want)
	}
	if !accepts("::1", p1) || accepts("127.0.0.1", p1) {
		t.Errorf("listen [::]:%d: ::1 accepted %v (want true), 127.0.0.1 accepted %v (want false)", p1, accepts("::1", p1), accepts("127.0.0.1", p1))
	}
	if !accepts("::1", p2) || !accepts("127.0.0.1", p2) {
		t.Errorf("listen [::]:%d ipv6only=off: ::1 accepted %v, 127.0.0.1 accepted %v (want both)", p2, accepts("::1", p2), accepts("127.0.0.1", p2))
	}
}

func TestProxyBindsLoopbackByDefault(t *testing.T) {
	for _, form := range []string{"lb", "lab"} {
		t.Run(form, func(t *testing.T) {
			port := freePort(t)
			lb := fmt.Sprintf("listeners: [{port: %d, group: g}]\ngroups: [{name: g, servers: [{address: \"127.0.0.1:9\"}]}]\n", port)
			if form == "lab" {
				lb = "name: x\nlb:\n  " + strings.ReplaceAll(strings.TrimSpace(lb), "\n", "\n  ") + "\n"
			}
			_, addrs := startLblabProxy(t, 1, "--config", writeFile(t, form+".yaml", lb))
			if want := fmt.Sprintf("127.0.0.1:%d", port); len(addrs) != 1 || addrs[0] != want {
				t.Errorf("logged listeners on %q, want [%s]", addrs, want)
			}
			if accepts("127.0.0.2", port) {
				t.Errorf("the default --bind takes every address: 127.0.0.2:%d accepts", port)
			}
		})
	}
	t.Run("--bind 0.0.0.0", func(t *testing.T) {
		port := freePort(t)
		lb := fmt.Sprintf("listeners: [{port: %d, group: g}]\ngroups: [{name: g, servers: [{address: \"127.0.0.1:9\"}]}]\n", port)
		_, addrs := startLblabProxy(t, 1, "--config", writeFile(t, "lb.yaml", lb), "--bind", "0.0.0.0")
		if want := fmt.Sprintf("0.0.0.0:%d", port); len(addrs) != 1 || addrs[0] != want {
			t.Errorf("logged listeners on %q, want [%s]", addrs, want)
		}
	})
	t.Run("address", func(t *testing.T) {
		port := freePort(t)
		lb := fmt.Sprintf("listeners: [{address: 127.0.0.2, port: %d, group: g}]\ngroups: [{name: g, servers: [{address: \"127.0.0.1:9\"}]}]\n", port)
		_, addrs := startLblabProxy(t, 1, "--config", writeFile(t, "lb.yaml", lb))
		if want := fmt.Sprintf("127.0.0.2:%d", port); len(addrs) != 1 || addrs[0] != want {
			t.Errorf("logged listeners on %q, want [%s]", addrs, want)
		}
		if accepts("127.0.0.1", port) {
			t.Errorf("address 127.0.0.2 also accepts 127.0.0.1:%d", port)
		}
	})
}

// proxyExit runs `lblab proxy ARGS…` for at most 5 s (a configuration
// that loads runs until then) and returns its exit status and stderr.
func proxyExit(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	code := execute(ctx, append([]string{"proxy"}, args...), out, errOut)
	return code, errOut.String()
}

func TestProxyRefusesWhatNginxRefuses(t *testing.T) {
	for _, tc := range []struct{ listen, msg string }{
		{"abc", `host not found in "abc" of the "listen" directive`},
		{"8080x", `host not found in "8080x" of the "listen" directive`},
		{"-1", `host not found in "-1" of the "listen" directive`},
		{"12345678901234567890", `host not found in "12345678901234567890"`},
		{"0", `invalid port in "0" of the "listen" directive`},
		{"127.0.0.1:80x", `invalid port in "127.0.0.1:80x"`},
		{"unix:/tmp/lblab-test.sock", "listen unix:/tmp/lblab-test.sock: unix domain sockets are not supported"},
		{"127.0.0.1:8080 foo", `invalid parameter "foo"`},
	} {
		t.Run(tc.listen, func(t *testing.T) {
			conf := writeFile(t, "nginx.conf", "events {}\nhttp {\n  server {\n    listen "+tc.listen+
				";\n    location / { proxy_pass http://127.0.0.1:9; }\n  }\n}\n")
			code, stderr := proxyExit(t, "--config", conf)
			if code != 2 || !strings.Contains(stderr, conf+":4: "+tc.msg) {
				t.Errorf("exit %d, want 2 with %q at line 4; stderr:\n%s", code, tc.msg, stderr)
			}
		})
	}
}

func TestBareUpstreamIsRefused(t *testing.T) {
	const upstream = "upstream app {\n  server 127.0.0.1:9001;\n}\n"
	wantAll := []string{"at least one listener is required", "listen 8080", "proxy_pass http://app"}
	check := func(t *testing.T, code int, stderr string) {
		t.Helper()
		if code != 2 {
			t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
		}
		for _, w := range wantAll {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr does not say %q:\n%s", w, stderr)
			}
		}
	}
	t.Run("lblab proxy", func(t *testing.T) {
		code, stderr := proxyExit(t, "--config", writeFile(t, "nginx.conf", upstream))
		check(t, code, stderr)
	})
	t.Run("a lab's nginx field", func(t *testing.T) {
		lab := "name: bare\ntitle: bare upstream\nnginx: |\n  " + strings.ReplaceAll(strings.TrimSpace(upstream), "\n", "\n  ") +
			"\nbackends:\n  - {address: \"127.0.0.1:9001\"}\nclients:\n  - {rate: 10}\n"
		code, _, stderr := lblab(t, "validate", writeFile(t, "lab.yaml", lab))
		check(t, code, stderr)
	})
}

// TestNginxConfIsNotReadAsYAMLFirst: an nginx configuration is told from
// a YAML file by its first line, so that a large one is not parsed as
// YAML (a 50 MB nginx.conf took 30 s and 1.5 GB in the YAML parser).
func TestNginxConfIsNotReadAsYAMLFirst(t *testing.T) {
	// (scenarios.TestLooksLikeYAML checks how the first line tells them.)
	var b strings.Builder
	b.WriteString("upstream a { server 127.0.0.1:1; }\n")
	for range 200_000 {
		b.WriteString("gzip on;\n")
	}
	start := time.Now()
	code, stderr := proxyExit(t, "--config", writeFile(t, "big.conf", b.String()))
	if code != 2 || !strings.Contains(stderr, "at least one listener is required") {
		t.Errorf("exit %d, stderr %.300q", code, stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a 2 MB nginx.conf took %v", took)
	}
	if len(stderr) > 40_000 {
		t.Errorf("stderr has %d bytes for 200k ignored directives", len(stderr))
	}
}
