package balance

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNginxConformance runs a real nginx (the Debian 12 package, 1.22) in
// front of tiny Go backends and checks that, request by request, nginx tries
// the same peers in the same order as this package does for the same
// configuration and inputs. nginx reports the peers it tried in
// $upstream_addr ("a, b, c"; the upstream's name when it found no live
// peer), which it sends back in a header.
//
// Enable with LBLAB_NGINX_CONFORMANCE=1 (install nginx with
// `apt-get install -y nginx`); LBLAB_NGINX=/path/to/nginx picks the binary.
func TestNginxConformance(t *testing.T) {
	if os.Getenv("LBLAB_NGINX_CONFORMANCE") != "1" {
		t.Skip("set LBLAB_NGINX_CONFORMANCE=1 to compare with a real nginx 1.22")
	}
	bin := findNginx()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("LBLAB_NGINX_CONFORMANCE=1 but no nginx binary found ($LBLAB_NGINX, PATH, /usr/sbin): apt-get install -y nginx")
		}
		t.Skip("nginx not found (apt-get install -y nginx)")
	}
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	version := strings.TrimSpace(string(out))
	t.Logf("nginx: %s (%s)", version, bin)
	if !strings.Contains(version, "nginx/1.22.") {
		t.Logf("warning: this package mirrors nginx 1.22; %s may differ", version)
	}

	dir := t.TempDir()

	// Live backends answer with their name; dead ones refuse connections.
	const nLive, nDead = 5, 2
	live := make([]string, nLive)
	for i := range live {
		live[i] = startBackend(t)
	}
	dead := make([]string, nDead)
	isDead := map[string]bool{}
	for i := range dead {
		dead[i] = "127.0.0.1:" + fmt.Sprint(freePort(t))
		isDead[dead[i]] = true
	}
	A, B, C, D, E := live[0], live[1], live[2], live[3], live[4]
	X, Y := dead[0], dead[1]

	srv := func(name string, opts ...string) Server {
		s, err := ParseServer(name + " " + strings.Join(opts, " "))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Dead peers get a long fail_timeout so that no probe falls inside the
	// run (nginx's and our second boundaries are read at slightly
	// different instants).
	type upstream struct {
		name, directive, desc string
		kind                  string // "seq", "key", "client"
		n                     int
		cfg                   Config
	}
	ups := []upstream{
		{name: "rr511", desc: "round robin 5,1,1", kind: "seq", n: 50, cfg: Config{Algorithm: RoundRobin, Servers: []Server{
			srv(A, "weight=5"), srv(B), srv(C)}}},
		{name: "rr32", desc: "round robin 3,2", kind: "seq", n: 50, cfg: Config{Algorithm: RoundRobin, Servers: []Server{
			srv(A, "weight=3"), srv(B, "weight=2")}}},
		{name: "rrfail", desc: "round robin 3,3(dead, max_fails=3),1,2", kind: "seq", n: 50, cfg: Config{Algorithm: RoundRobin, Servers: []Server{
			srv(A, "weight=3"), srv(X, "weight=3", "max_fails=3", "fail_timeout=300s"), srv(B), srv(C, "weight=2")}}},
		{name: "rrbackup", desc: "round robin, dead primaries, backups 1,2", kind: "seq", n: 30, cfg: Config{Algorithm: RoundRobin, Servers: []Server{
			srv(X, "fail_timeout=300s"), srv(D, "backup"), srv(Y, "weight=2", "max_fails=2", "fail_timeout=300s"), srv(E, "weight=2", "backup")}}},
		{name: "rrdown", desc: "round robin, all primaries down, no backup", kind: "seq", n: 3, cfg: Config{Algorithm: RoundRobin, Servers: []Server{
			srv(A, "down"), srv(B, "down")}}},
		{name: "lc", desc: "least_conn 5,1,1 + dead", kind: "seq", n: 50, cfg: Config{Algorithm: LeastConn, Servers: []Server{
			srv(A, "weight=5"), srv(B), srv(X, "weight=2", "max_fails=2", "fail_timeout=300s"), srv(C)}}},
		{name: "iph", directive: "ip_hash;", desc: "ip_hash 3,1,2,(down),(dead)", kind: "client", n: 200, cfg: Config{Algorithm: IPHash, Servers: []Server{
			srv(A, "weight=3"), srv(B), srv(C, "weight=2"), srv(D, "down"), srv(X, "weight=2", "fail_timeout=300s")}}},
		{name: "hash", directive: "hash $arg_k;", desc: "hash $arg_k 1,2,1,(down),(dead)", kind: "key", n: 200, cfg: Config{Algorithm: Hash, Servers: []Server{
			srv(A), srv(B, "weight=2"), srv(C), srv(D, "down"), srv(X, "fail_timeout=300s")}}},
		{name: "chash", directive: "hash $arg_k consistent;", desc: "hash $arg_k consistent 1,2,1,(down),(dead)", kind: "key", n: 200, cfg: Config{Algorithm: HashConsistent, Servers: []Server{
			srv(A), srv(B, "weight=2"), srv(C), srv(D, "down"), srv(X, "fail_timeout=300s")}}},
		{name: "chash5", directive: "hash $arg_k consistent;", desc: "hash $arg_k consistent, 5 live", kind: "key", n: 200, cfg: Config{Algorithm: HashConsistent, Servers: []Server{
			srv(A), srv(B), srv(C), srv(D), srv(E, "weight=3")}}},
		// A dead peer with max_fails=0 is never marked failed: every
		// request that lands on it is retried within the request.
		{name: "rr0", desc: "round robin 2,2(dead, max_fails=0),1", kind: "seq", n: 50, cfg: Config{Algorithm: RoundRobin, Servers: []Server{
			srv(A, "weight=2"), srv(Y, "weight=2", "max_fails=0"), srv(B)}}},
		{name: "iph0", directive: "ip_hash;", desc: "ip_hash 1,3(dead, max_fails=0),1,1", kind: "client", n: 200, cfg: Config{Algorithm: IPHash, Servers: []Server{
			srv(A), srv(Y, "weight=3", "max_fails=0"), srv(B), srv(C)}}},
		{name: "hash0", directive: "hash $arg_k;", desc: "hash $arg_k 1,3(dead, max_fails=0),1,1", kind: "key", n: 200, cfg: Config{Algorithm: Hash, Servers: []Server{
			srv(A), srv(Y, "weight=3", "max_fails=0"), srv(B), srv(C)}}},
		{name: "chash0", directive: "hash $arg_k consistent;", desc: "hash $arg_k consistent 1,3(dead, max_fails=0),1,1", kind: "key", n: 200, cfg: Config{Algorithm: HashConsistent, Servers: []Server{
			srv(A), srv(Y, "weight=3", "max_fails=0"), srv(B), srv(C)}}},
		{name: "sch", directive: "hash $remote_addr consistent;", desc: "sch = hash $remote_addr consistent 1,2,1,(down)", kind: "client", n: 200, cfg: Config{Algorithm: SourceHash, Servers: []Server{
			srv(A), srv(B, "weight=2"), srv(C), srv(D, "down")}}},
	}

	port := freePort(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
`, dir)
	for _, u := range ups {
		fmt.Fprintf(&conf, "    upstream %s {\n", u.name)
		if u.directive != "" {
			fmt.Fprintf(&conf, "        %s\n", u.directive)
		}
		for _, s := range u.cfg.Servers {
			fmt.Fprintf(&conf, "        server %s;\n", s)
		}
		conf.WriteString("    }\n")
	}
	fmt.Fprintf(&conf, "    server {\n        listen 127.0.0.1:%d;\n", port)
	conf.WriteString("        add_header X-Upstream $upstream_addr always;\n")
	conf.WriteString("        location = /ready { return 200 \"ready\\n\"; }\n")
	for _, u := range ups {
		fmt.Fprintf(&conf, "        location /%s { proxy_pass http://%s; }\n", u.name, u.name)
	}
	conf.WriteString("    }\n}\n")
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-p", dir+"/", "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	var stderr strings.Builder
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	errorLog := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return stderr.String() + string(b)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, body, err := get(netip.Addr{}, port, "/ready"); err == nil && body == "ready\n" {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("nginx exited: %v\n%s\nconfig:\n%s", err, errorLog(), conf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on 127.0.0.1:%d within 15s\n%s", port, errorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}

	for _, u := range ups {
		g, err := NewGroup(u.cfg)
		if err != nil {
			t.Fatalf("%s: %v", u.name, err)
		}
		agree := 0
		shown := 0
		a := g.Start(Request{})
		for i := 0; i < u.n; i++ {
			var req Request
			var local netip.Addr
			path := "/" + u.name
			switch u.kind {
			case "key":
				req.Key = conformanceKey(i)
				path += "?k=" + req.Key
			case "client":
				local = conformanceClient(i)
				req.Client = local
			}
			gotHdr, _, err := get(local, port, path)
			if err != nil {
				t.Fatalf("%s request %d: %v\n%s", u.name, i, err, errorLog())
			}
			// The same request through this package. nginx reads
			// ngx_time() (whole epoch seconds); pass the same clock.
			now := time.Duration(time.Now().Unix()) * time.Second
			var want []string
			a.Reset(req)
			for {
				p, err := a.Next(now, nil)
				if errors.Is(err, ErrNoPeer) {
					want = append(want, u.name)
					break
				}
				if err != nil {
					break
				}
				want = append(want, p.Name())
				failed := isDead[p.Name()]
				a.Done(now, p, failed, 0)
				if !failed {
					break
				}
			}
			got := strings.Split(gotHdr, ", ")
			if strings.Join(got, ", ") == strings.Join(want, ", ") {
				agree++
			} else if shown < 5 {
				shown++
				t.Errorf("%s request %d (%s): nginx tried [%s], package tried [%s]", u.name, i, describe(req, u.kind), strings.Join(got, ", "), strings.Join(want, ", "))
			}
		}
		t.Logf("%-9s %-50s %d/%d requests agree", u.name, u.desc, agree, u.n)
		if agree != u.n {
			t.Errorf("%s: %d of %d requests disagree", u.name, u.n-agree, u.n)
		}
	}
}

func describe(r Request, kind string) string {
	switch kind {
	case "key":
		return "k=" + r.Key
	case "client":
		return "client " + r.Client.String()
	}
	return "sequential"
}

// conformanceKey is the i-th hash key: mixed short and long, URL-safe.
func conformanceKey(i int) string {
	switch i % 4 {
	case 0:
		return fmt.Sprint(i)
	case 1:
		return fmt.Sprintf("user-%d", i)
	case 2:
		return fmt.Sprintf("%08x", uint32(i)*2654435761)
	}
	return fmt.Sprintf("/static/img/%d.png", i*7919)
}

// conformanceClient is the i-th client address, in 127.0.0.0/8 (all local
// on Linux); every fifth shares its /24 with the previous one.
func conformanceClient(i int) netip.Addr {
	j := i
	if i%5 == 4 {
		j = i - 1
	}
	return netip.AddrFrom4([4]byte{127, byte(1 + j*37%250), byte(j * 11 % 256), byte(1 + i%200)})
}

// findNginx returns $LBLAB_NGINX if set (empty if it is not a file), else
// nginx from PATH or the usual sbin directories.
func findNginx() string {
	if p := os.Getenv("LBLAB_NGINX"); p != "" {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		return ""
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startBackend serves its own name ("127.0.0.1:PORT") until the test ends.
func startBackend(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	name := l.Addr().String()
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, name)
	})}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return name
}

// get sends one HTTP/1.0 request from the local address (if valid) and
// returns the X-Upstream header and the body.
func get(local netip.Addr, port int, path string) (upstream, body string, err error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
	}
	c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: lblab\r\n\r\n", path); err != nil {
		return "", "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.Header.Get("X-Upstream"), string(b), err
}
