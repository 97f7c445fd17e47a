//go:build linux

package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

// restartBackend is an HTTP server on a fixed loopback port that can be
// restarted as a process restart does it: the listener and every
// connection closed, then a new listener on the same port. It answers
// "METHOD BODYLEN" with X-Backend (its name) and X-Gen (how many times it
// has been started).
type restartBackend struct {
	name string
	addr string
	gen  atomic.Int64
	mu   sync.Mutex
	l    net.Listener
	srv  *http.Server
	// conns are the open connections of the running generation.
	conns map[*net.TCPConn]struct{}
}

func newRestartBackend(t *testing.T, name string) *restartBackend {
	t.Helper()
	b := &restartBackend{name: name, addr: "127.0.0.1:0"}
	b.listen(t)
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.srv.Close()
	})
	return b
}

func (b *restartBackend) listen(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", b.addr)
	if err != nil {
		t.Fatalf("backend %s: listen again on %s: %v", b.name, b.addr, err)
	}
	gen := strconv.FormatInt(b.gen.Add(1), 10)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			w.Header().Set("X-Backend", b.name)
			w.Header().Set("X-Gen", gen)
			fmt.Fprintf(w, "%s %d", r.Method, n)
		}),
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(c net.Conn, s http.ConnState) {
			tc := c.(*net.TCPConn)
			b.mu.Lock()
			defer b.mu.Unlock()
			switch s {
			case http.StateNew:
				b.conns[tc] = struct{}{}
			case http.StateClosed, http.StateHijacked:
				delete(b.conns, tc)
			}
		},
	}
	b.mu.Lock()
	b.addr, b.l, b.srv, b.conns = l.Addr().String(), l, srv, map[*net.TCPConn]struct{}{}
	b.mu.Unlock()
	go srv.Serve(l)
}

// tcpFinWait1 is Linux's TCP_FIN_WAIT1 state (include/net/tcp_states.h):
// a FIN sent and not yet acknowledged.
const tcpFinWait1 = 4

// restart closes the listener and every connection, then listens on the
// same port again. Each connection is half-closed first and restart waits
// until the peer's kernel acknowledged the FIN: the proxy's socket has then
// seen the end of file, as it has after a real restart some time ago, so
// the test does not depend on when loopback delivers the FIN.
func (b *restartBackend) restart(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	l, srv := b.l, b.srv
	b.mu.Unlock()
	l.Close()
	b.mu.Lock()
	var conns []*net.TCPConn
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.CloseWrite()
	}
	waitFor(t, 5*time.Second, "the proxy's kernel acknowledges the backend's FINs", func() bool {
		for _, c := range conns {
			if tcpState(c) == tcpFinWait1 {
				return false
			}
		}
		return true
	})
	srv.Close()
	b.listen(t)
}

// tcpState returns the kernel's TCP state of c (0 when unknown).
func tcpState(c *net.TCPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	state := 0
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = int(info.State)
		}
	})
	return state
}

// restartRecord is one request of restartUnderLoad.
type restartRecord struct {
	kind    string
	after   bool // sent after the restart
	status  int
	backend string
	gen     string
	err     string
}

// open returns how many connections the running generation has open.
func (b *restartBackend) open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// front is the proxy restartUnderLoad drives: lblab or nginx, in front of
// the backends a and b (max_fails 1, fail_timeout 1 h, kept-alive
// connections to them).
type front struct {
	url string
	// disabled returns what the proxy said when it took a server out
	// ("" while it took none out).
	disabled func() string
	// stop stops the proxy; disabled is complete afterwards.
	stop func()
}

// A backend restarted under load: the proxy's pool holds keep-alive
// connections that the old process closed. None of them may be used
// (nginx drops an idle cached connection when its close event comes), so
// once the backend listens again every request of every method is
// answered by it, 200, and it is never marked down (max_fails 1 with a
// fail_timeout of an hour: a single failure counted would take it out for
// the rest of the test). nginx, given the same backends and load, must
// pass the same test.
func TestBackendRestartUnderLoad(t *testing.T) {
	t.Run("lblab", func(t *testing.T) {
		a, b := newRestartBackend(t, "a"), newRestartBackend(t, "b")
		ss := servers(a.addr, b.addr)
		for i := range ss {
			ss[i].FailTimeout = units.Of(time.Hour)
		}
		p := startProxy(t, lb(proxy.Group{Name: "web", Servers: ss}), Options{})
		restartUnderLoad(t, a, front{url: p.url, stop: func() { p.stop(t) }, disabled: func() string {
			// Read as the history is flushed (once a second), so only
			// whole lines.
			p.hist.mu.Lock()
			h := p.hist.b.Bytes()
			h = h[:bytes.LastIndexByte(h, '\n')+1]
			p.hist.mu.Unlock()
			evs, err := history.ReadJSONL(bytes.NewReader(h), "history")
			if err != nil {
				return err.Error()
			}
			for _, e := range evs {
				if e.Kind == history.KindHealth {
					return fmt.Sprintf("health event: %s %s -> %s (%s)", e.Server, e.From, e.To, e.Reason)
				}
			}
			return ""
		}})
	})
	t.Run("nginx", func(t *testing.T) {
		bin := nginxBinary(t)
		a, b := newRestartBackend(t, "a"), newRestartBackend(t, "b")
		restartUnderLoad(t, a, startNginxFront(t, bin, a.addr, b.addr))
	})
}

// restartUnderLoad runs the load of TestBackendRestartUnderLoad through f
// and restarts a under it. The workers keep their client connections and
// loop without pause; the restart happens between two of their requests
// (each request holds a read lock, the restart the write lock), so that
// no request is in flight on the backend when it goes away: those get
// what nginx gives them (a retry or a 502) and are not this test's
// subject.
func restartUnderLoad(t *testing.T, a *restartBackend, f front) {
	const workers = 8
	big := strings.Repeat("x", 100<<10) // above replayMax: streamed, not kept for a retry
	kinds := []struct {
		name, method, body string
	}{{"GET", "GET", ""}, {"POST", "POST", "x=1"}, {"POST 100KB", "POST", big}, {"PUT", "PUT", "y=2"}}
	var (
		gate      sync.RWMutex
		restarted atomic.Bool
		mu        sync.Mutex
		recs      []restartRecord
		wg        sync.WaitGroup
		stop      = make(chan struct{})
	)
	// seen counts answers from the restarted a, by kind.
	seen := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		m := map[string]int{}
		for _, r := range recs {
			if r.after && r.status == 200 && r.backend == "a" && r.gen == "2" {
				m[r.kind]++
			}
		}
		return m
	}
	c := client()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sawRestart := false
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				gate.RLock()
				r := restartRecord{after: restarted.Load()}
				if r.after && !sawRestart {
					// Every worker's first request after the restart is a
					// POST: some of them meet the pooled connections.
					sawRestart, i = true, 1
				}
				k := kinds[i%len(kinds)]
				r.kind = k.name
				req, _ := http.NewRequest(k.method, f.url+"/", strings.NewReader(k.body))
				resp, err := c.Do(req)
				if err != nil {
					r.err = err.Error()
				} else {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					r.status, r.backend, r.gen = resp.StatusCode, resp.Header.Get("X-Backend"), resp.Header.Get("X-Gen")
					if want := fmt.Sprintf("%s %d", k.method, len(k.body)); r.status == 200 && string(body) != want {
						r.err = fmt.Sprintf("body %q, want %q", body, want)
					}
				}
				gate.RUnlock()
				mu.Lock()
				recs = append(recs, r)
				mu.Unlock()
			}
		}()
	}
	stopLoad := func() []restartRecord {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return recs
	}
	defer stopLoad()

	// Under load, the proxy keeps connections to a open.
	waitFor(t, 30*time.Second, "kept-alive connections to a", func() bool {
		mu.Lock()
		n := len(recs)
		mu.Unlock()
		return n >= 50*workers && a.open() >= workers/2
	})
	gate.Lock()
	pooled := a.open() // no request in flight: all of them idle in the pool
	a.restart(t)
	restarted.Store(true)
	gate.Unlock()

	// Until the restarted a has answered 50 requests of every kind, or a
	// server was taken out.
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := seen()
		done := true
		for _, k := range kinds {
			done = done && m[k.name] >= 50
		}
		if done {
			break
		}
		if f.disabled() != "" || time.Now().After(deadline) {
			t.Errorf("the restarted a answered %v, want 50 of every kind", m)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	all := stopLoad()
	f.stop()

	count := map[string]int{}
	var bad []string
	for _, r := range all {
		phase := "before"
		if r.after {
			phase = "after"
		}
		count[fmt.Sprintf("%s %s %d", phase, r.kind, r.status)]++
		if r.status != 200 || r.err != "" {
			bad = append(bad, fmt.Sprintf("%s %s: status %d from %q (%s)", phase, r.kind, r.status, r.backend, r.err))
		}
	}
	t.Logf("%d pooled connections to a at the restart; requests by phase, kind and status: %v", pooled, count)
	if len(bad) > 0 {
		t.Errorf("%d requests failed, the first: %s", len(bad), strings.Join(bad[:min(len(bad), 5)], "; "))
	}
	if d := f.disabled(); d != "" {
		t.Errorf("a server was taken out: %s", d)
	}
}

// nginxBinary returns the nginx binary ($LBLAB_NGINX, else from PATH or
// /usr/sbin), or skips the test (fails it with CI=true: CI installs
// nginx).
func nginxBinary(t *testing.T) string {
	t.Helper()
	bin, err := os.Getenv("LBLAB_NGINX"), error(nil)
	if bin == "" {
		bin, err = exec.LookPath("nginx")
	}
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr == nil {
			bin, err = "/usr/sbin/nginx", nil
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but nginx is not installed (go tool task deps:peers installs it)")
		}
		t.Skip("nginx is not installed: skipping the comparison with nginx")
	}
	return bin
}

// startNginxFront runs nginx (one process, in the foreground) on a free
// loopback port in front of a and b as lblab is configured in
// TestBackendRestartUnderLoad: max_fails=1 fail_timeout=1h, a keepalive
// pool.
func startNginxFront(t *testing.T, bin, a, b string) front {
	t.Helper()
	n := startNginx(t, bin, func(listen string) string {
		return fmt.Sprintf(`  upstream web {
    server %[1]s max_fails=1 fail_timeout=1h;
    server %[2]s max_fails=1 fail_timeout=1h;
    keepalive 64;
  }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`, a, b, listen)
	})
	return front{url: "http://" + n.addr, stop: n.stop, disabled: func() string {
		log, _ := os.ReadFile(n.errLog)
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, "upstream server temporarily disabled") {
				return line
			}
		}
		return ""
	}}
}

// A server that closes a kept-alive connection just as a request goes out
// on it (its own keep-alive timeout, a restart a moment later than the
// proxy's check): the request got nothing back. As nginx 1.22's
// ngx_http_upstream_next, the server is freed as failed (max_fails 2
// counts it), the try is not counted against the tries, and the request
// passes on to the balancer's next server when it may: a POST does not
// (502), a PUT does (to good, not again to once).
func TestStaleConnectionAsNginx(t *testing.T) {
	var served atomic.Int64
	// once answers the first request of each connection and closes the
	// connection after reading the second, without answering it.
	once := rawBackend(t, func(c *net.TCPConn) {
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if i == 1 {
				return
			}
			served.Add(1)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Backend: once\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	good := newBackend(t, "good", nil)
	ss := servers(once, good.addr)
	two := 2
	for i := range ss {
		ss[i].FailTimeout = units.Of(time.Hour)
		ss[i].MaxFails = &two
	}
	// tries 1: only an uncounted (stale) try leaves room for another.
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: ss, NextUpstream: &proxy.NextUpstream{Tries: 1}}), Options{})
	c := client()
	// Round robin alternates: once gets the 1st, 3rd, 5th and 7th.
	steps := []struct {
		method  string
		status  int
		backend string
	}{
		{"GET", 200, "once"}, {"GET", 200, "good"},
		{"POST", 502, ""}, {"GET", 200, "good"}, // the kept-alive connection, closed as the POST went out: once fails 1
		{"GET", 200, "once"}, {"GET", 200, "good"}, // a new connection
		{"PUT", 200, "good"},                       // closed as the PUT went out: once fails 2 (out), the PUT passes on
		{"GET", 200, "good"}, {"GET", 200, "good"}, // once is out for fail_timeout
	}
	for i, s := range steps {
		req, _ := http.NewRequest(s.method, p.url+"/", strings.NewReader("x"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("request %d %s: %v", i+1, s.method, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if be := resp.Header.Get("X-Backend"); resp.StatusCode != s.status || be != s.backend {
			t.Fatalf("request %d %s: %d from %q, want %d from %q", i+1, s.method, resp.StatusCode, be, s.status, s.backend)
		}
	}
	p.stop(t)
	var downs, puts int
	for _, e := range p.hist.events(t) {
		switch {
		case e.Kind == history.KindHealth:
			downs++
			if e.Server != once || e.To != "down" {
				t.Errorf("health event: %s %s -> %s (%s)", e.Server, e.From, e.To, e.Reason)
			}
		case e.Status == 502 && (e.Error != "reset" || e.Tries != 1 || e.Backend != once):
			t.Errorf("the POST's record: %+v", e)
		case e.Tries > 1: // the PUT's
			puts++
			if e.Tries != 2 || e.Status != 200 || e.Backend != good.addr {
				t.Errorf("the PUT's record: %+v", e)
			}
		}
	}
	if downs != 1 || puts != 1 {
		t.Errorf("%d health events, %d records of 2 tries; want 1 (once down) and 1 (the PUT)", downs, puts)
	}
	if n := served.Load(); n != 2 {
		t.Errorf("once answered %d requests, want 2", n)
	}
}

// A server whose keep-alive timeout is shorter than the proxy's pool's
// (nginx's keepalive_timeout is 75 s, Go's net/http none, many servers
// 5 s; the proxy keeps idle connections 30 s): each POST after a pause
// finds the pooled connection closed by the server, and must not get a
// 502 for it.
func TestServerKeepAliveTimeoutShorterThanPool(t *testing.T) {
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Backend", "short")
	}))
	be.Config.IdleTimeout = 20 * time.Millisecond
	be.Start()
	defer be.Close()
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(be.Listener.Addr().String())}), Options{})
	u := p.upstreams[be.Listener.Addr().String()]
	c := client()
	for i := range 5 {
		resp, err := c.Post(p.url+"/", "text/plain", strings.NewReader("x=1"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %d after the server closed the pooled connection: %d", i+1, resp.StatusCode)
		}
		// The pause: until the server's idle timeout has closed the
		// pooled connection and the proxy's kernel has its FIN.
		waitFor(t, 5*time.Second, "the server closes the pooled connection", func() bool {
			u.mu.Lock()
			defer u.mu.Unlock()
			return len(u.idle) == 1 && peerClosed(u.idle[0].nc)
		})
	}
}

// peerClosed reports whether the peer of c has closed it (poll(2) says
// POLLRDHUP), without reading.
func peerClosed(c net.Conn) bool {
	r := newRawIO(c)
	if r == nil {
		return false
	}
	closed := false
	r.rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		if n, err := unix.Poll(fds, 0); err == nil && n == 1 {
			closed = fds[0].Revents&unix.POLLRDHUP != 0
		}
	})
	return closed
}
