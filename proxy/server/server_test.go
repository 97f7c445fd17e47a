package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

func TestWeightsDistribution(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	ss := servers(a.addr, b.addr)
	ss[0].Weight = intp(3)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: ss}), Options{})
	c := client()
	count := map[string]int{}
	const n = 4000
	for range n {
		st, be, body := get(t, c, p.url+"/")
		if st != 200 || body != "hello from "+be {
			t.Fatalf("got %d %q from %q", st, body, be)
		}
		count[be]++
	}
	share := float64(count["a"]) / n
	if share < 0.75-0.02 || share > 0.75+0.02 {
		t.Fatalf("a got %d of %d requests (%.3f), want 3/4 within 2%%", count["a"], n, share)
	}
}

// loadRecord is one request of a load run.
type loadRecord struct {
	start, end time.Time
	status     int
	backend    string
}

// runLoad sends GETs from workers until stop is closed.
func runLoad(t *testing.T, url string, workers int, stop chan struct{}) func() []loadRecord {
	var mu sync.Mutex
	var recs []loadRecord
	var wg sync.WaitGroup
	c := client()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := loadRecord{start: time.Now()}
				resp, err := c.Get(url)
				if err != nil {
					r.status = -1
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					r.status, r.backend = resp.StatusCode, resp.Header.Get("X-Backend")
				}
				r.end = time.Now()
				mu.Lock()
				recs = append(recs, r)
				mu.Unlock()
			}
		}()
	}
	return func() []loadRecord {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return recs
	}
}

func TestKillBackendUnderLoad(t *testing.T) {
	const workers = 8
	cases := []struct {
		name  string
		next  *proxy.NextUpstream
		check func(t *testing.T, killed time.Time, recs []loadRecord)
	}{
		{"default retries", nil, func(t *testing.T, killed time.Time, recs []loadRecord) {
			// error and timeout pass the request on: no client sees an error.
			for _, r := range recs {
				if r.status != 200 {
					t.Fatalf("a request got %d, want none but 200 with nginx's default retries", r.status)
				}
				if r.start.After(killed) && r.backend != "a" {
					t.Fatalf("a request sent after the kill went to %q", r.backend)
				}
			}
		}},
		{"next_upstream off", &proxy.NextUpstream{On: []string{"off"}}, func(t *testing.T, killed time.Time, recs []loadRecord) {
			// No retry: each try on the dead server is a 502 until the
			// passive accounting (max_fails 1) takes it out for
			// fail_timeout; that is at most one try per worker in flight.
			var first time.Time
			n502 := 0
			for _, r := range recs {
				switch r.status {
				case 200:
				case 502:
					n502++
					if first.IsZero() || r.end.Before(first) {
						first = r.end
					}
				default:
					t.Fatalf("a request got %d, want 200 or 502", r.status)
				}
			}
			if n502 < 1 || n502 > workers {
				t.Fatalf("%d 502s, want 1..%d", n502, workers)
			}
			for _, r := range recs {
				if r.start.After(first) && (r.status != 200 || r.backend != "a") {
					t.Fatalf("after the first 502 a request got %d from %q", r.status, r.backend)
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
			ss := servers(a.addr, b.addr)
			// Once out, the dead server stays out for the whole test, however
			// slowly a loaded machine runs it (nginx's default is 10 s).
			for i := range ss {
				ss[i].FailTimeout = units.Of(time.Hour)
			}
			p := startProxy(t, lb(proxy.Group{Name: "web", Servers: ss, NextUpstream: tc.next}), Options{})
			stop := make(chan struct{})
			wait := runLoad(t, p.url+"/", workers, stop)
			waitFor(t, 30*time.Second, "b serves", func() bool { return b.hits.Load() >= 100 })
			b.kill()
			killed := time.Now()
			after := a.hits.Load()
			waitFor(t, 30*time.Second, "300 requests after the kill", func() bool { return a.hits.Load() >= after+300 })
			close(stop)
			tc.check(t, killed, wait())
		})
	}
}

func TestHealthCheckDownAndUp(t *testing.T) {
	interval := 40 * time.Millisecond
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	// The probe timeout is far above the interval: the live server's
	// probes must not time out on a loaded machine (the killed one's are
	// refused at once).
	g := proxy.Group{Name: "web", Servers: servers(a.addr, b.addr),
		NextUpstream: &proxy.NextUpstream{On: []string{"off"}},
		HealthCheck: &proxy.HealthCheck{Path: "/health", Interval: units.Of(interval), Timeout: units.Of(5 * time.Second),
			HealthyThreshold: 2, UnhealthyThreshold: 2}}
	g.Servers[1].MaxFails = intp(0) // active checks only
	p := startProxy(t, lb(g), Options{})
	// A probe every interval: fall failures take the server down within
	// (fall+1) intervals of the kill (one probe may be in flight), plus
	// however late a starved machine runs the probes.
	b.kill()
	killed := time.Now()
	waitFor(t, checkWait(interval, 2), "b marked down", func() bool { return !p.up("web", 1) })
	down := time.Since(killed)
	c := client()
	for range 20 {
		if st, be, _ := get(t, c, p.url+"/"); st != 200 || be != "a" {
			t.Fatalf("after b went down: %d from %q", st, be)
		}
	}
	// Back on the same port: rise passes bring it up.
	l, err := net.Listen("tcp", b.addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", b.addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "b")
	})}
	go srv.Serve(l)
	defer srv.Close()
	waitFor(t, checkWait(interval, 2), "b marked up", func() bool { return p.up("web", 1) })
	p.stop(t)
	var transitions []string
	for _, e := range p.hist.events(t) {
		if e.Kind == history.KindHealth {
			transitions = append(transitions, e.Server+" "+e.To+" ("+e.Reason+")")
		}
	}
	if len(transitions) != 2 || !strings.HasPrefix(transitions[0], b.addr+" down (2 check(s) failed") ||
		!strings.HasPrefix(transitions[1], b.addr+" up (2 check(s) passed") {
		t.Fatalf("health history %q", transitions)
	}
	t.Logf("down %v after the kill", down)
}

func TestAllServersDown(t *testing.T) {
	d1, d2 := deadAddr(t), deadAddr(t)
	t.Run("502 then no_server 502", func(t *testing.T) {
		p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(d1, d2)}), Options{})
		c := client()
		// Both refuse: tried in turn, 502 (error refused); both are then
		// skipped for fail_timeout and the next request has no server.
		for i, want := range []int{502, 502} {
			if st, _, _ := get(t, c, p.url+"/"); st != want {
				t.Fatalf("request %d: %d, want %d", i, st, want)
			}
		}
		p.stop(t)
		reqs := p.hist.requests(t)
		if len(reqs) != 2 || reqs[0].Error != "refused" || reqs[0].Tries != 2 || reqs[1].Error != "no_server" || reqs[1].Tries != 0 {
			t.Fatalf("history %+v", reqs)
		}
	})
	t.Run("no_server 503", func(t *testing.T) {
		p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(d1, d2), NoServer: "503"}), Options{})
		c := client()
		for i, want := range []int{502, 503, 503} {
			if st, _, _ := get(t, c, p.url+"/"); st != want {
				t.Fatalf("request %d: %d, want %d", i, st, want)
			}
		}
	})
	t.Run("health down 503 and fail-open", func(t *testing.T) {
		// Servers that are alive but fail the check (wrong path).
		a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" {
				w.WriteHeader(404)
			}
		})
		interval := 30 * time.Millisecond
		hc := &proxy.HealthCheck{Path: "/health", Interval: units.Of(interval), UnhealthyThreshold: 1, HealthyThreshold: 1}
		p := startProxy(t, &proxy.Config{
			Listeners: []proxy.Listener{{Port: 1, Group: "closed", Rules: []proxy.Rule{{PathPrefix: "/open", Group: "open"}}}},
			Groups: []proxy.Group{
				{Name: "closed", Servers: servers(a.addr), HealthCheck: hc, NoServer: "503"},
				{Name: "open", Servers: servers(a.addr), HealthCheck: hc, NoServer: "fail-open"},
			}}, Options{})
		waitFor(t, checkWait(interval, 1), "a marked down", func() bool { return !p.up("closed", 0) && !p.up("open", 0) })
		c := client()
		if st, _, _ := get(t, c, p.url+"/"); st != 503 {
			t.Fatalf("every server down, no_server 503: got %d", st)
		}
		if st, be, _ := get(t, c, p.url+"/open"); st != 200 || be != "a" {
			t.Fatalf("every server down, fail-open: got %d from %q", st, be)
		}
	})
}

func TestKeepAliveReuse(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr, b.addr)}), Options{})
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 200 {
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		resp, _ := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("request %d: %d close=%v", i, resp.StatusCode, resp.Close)
		}
	}
	// One client connection, and one connection to each server, reused.
	if a.conns.Load() != 1 || b.conns.Load() != 1 {
		t.Fatalf("server connections: a %d, b %d; want 1 each", a.conns.Load(), b.conns.Load())
	}
	// Pipelined requests on the same connection.
	fmt.Fprint(c, "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\n")
	for range 2 {
		if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 200 {
			t.Fatalf("pipelined: %d", resp.StatusCode)
		}
	}
	// HTTP/1.0 with keep-alive, and HEAD.
	fmt.Fprint(c, "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	if resp, body := readResponse(t, br, "HEAD"); resp.StatusCode != 200 || body != "" || resp.Header.Get("Connection") != "keep-alive" {
		t.Fatalf("HEAD 1.0: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if resp, _ := readResponse(t, br, "GET"); !resp.Close {
		t.Fatal("Connection: close not honoured")
	}
}

func TestChunkedBodiesStream(t *testing.T) {
	got := make(chan string, 10)
	next := make(chan struct{})
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		// Echo the request body chunk by chunk as it arrives, then stream
		// two chunks of our own, the second only when told.
		buf := make([]byte, 64)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				got <- string(buf[:n])
			}
			if err != nil {
				break
			}
		}
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		<-next
		io.WriteString(w, "second")
	})
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr)}), Options{})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", p.url+"/echo", pr)
	req.ContentLength = -1 // chunked
	respc := make(chan *http.Response, 1)
	errc := make(chan error, 1)
	go func() {
		resp, err := client().Do(req)
		if err != nil {
			errc <- err
			return
		}
		respc <- resp
	}()
	// Each request chunk reaches the server before the next is written.
	for _, part := range []string{"one", "two", "three"} {
		io.WriteString(pw, part)
		select {
		case g := <-got:
			if g != part {
				t.Fatalf("server got %q, want %q", g, part)
			}
		case err := <-errc:
			t.Fatal(err)
		case <-time.After(5 * time.Second):
			t.Fatalf("request chunk %q did not stream through", part)
		}
	}
	pw.Close()
	var resp *http.Response
	select {
	case resp = <-respc:
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no response")
	}
	defer resp.Body.Close()
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("response transfer encoding %v", resp.TransferEncoding)
	}
	// The first response chunk arrives while the server holds the second.
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("first chunk %q %v", buf, err)
	}
	close(next)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second" {
		t.Fatalf("rest %q %v", rest, err)
	}
}

func TestForwardedAndHopByHopHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("Host", r.Host)
		seen <- h
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Kept", "yes")
	})
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr)}), Options{})
	out := raw(t, p.addr, "GET /x HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-For: 203.0.113.7\r\n"+
		"X-Real-IP: 6.6.6.6\r\nConnection: close, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=9\r\n"+
		"Proxy-Authorization: Basic eA==\r\nTE: trailers\r\nUpgrade: websocket\r\nX-Custom: kept\r\n\r\n", 5*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || strings.Contains(out, "Keep-Alive") || !strings.Contains(out, "X-Kept: yes") {
		t.Fatalf("response:\n%s", out)
	}
	h := <-seen
	want := map[string]string{"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Real-Ip": "127.0.0.1",
		"X-Forwarded-Proto": "http", "X-Custom": "kept", "Host": "app.example"}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	for _, k := range []string{"X-Secret", "Keep-Alive", "Proxy-Authorization", "Te", "Upgrade", "Connection"} {
		if h.Get(k) != "" {
			t.Errorf("hop-by-hop %s reached the server: %q", k, h.Get(k))
		}
	}
}

func TestHostAndPathRules(t *testing.T) {
	api, static, web := newBackend(t, "api", nil), newBackend(t, "static", nil), newBackend(t, "web", nil)
	p := startProxy(t, &proxy.Config{
		Listeners: []proxy.Listener{{Port: 1, Group: "web", Rules: []proxy.Rule{
			{Host: "API.example.com", Group: "api"},
			{PathPrefix: "/static/", Group: "static"},
		}}},
		Groups: []proxy.Group{
			{Name: "api", Servers: servers(api.addr)},
			{Name: "static", Servers: servers(static.addr)},
			{Name: "web", Servers: servers(web.addr)},
		}}, Options{})
	for _, tc := range []struct{ host, path, want string }{
		{"api.example.com", "/static/x", "api"}, // the first rule wins
		{"api.example.com:8080", "/", "api"},
		{"api.example.com.", "/", "api"}, // nginx drops a trailing dot
		{"api.example.com.:8080", "/", "api"},
		{"www.example.com", "/static/app.js?v=1", "static"},
		{"www.example.com", "/static", "web"},
		{"www.example.com", "/?x=/static/", "web"},
		{"other", "/", "web"},
		// Rules match the path as nginx's locations do: decoded, with
		// "." and ".." segments resolved and slashes merged.
		{"www.example.com", "/static/../admin", "web"},
		{"www.example.com", "/static/%2e%2e/admin", "web"},
		{"www.example.com", "/x/../static/app.js", "static"},
		{"www.example.com", "/%73tatic/app.js", "static"},
		{"www.example.com", "//static//app.js", "static"},
		{"www.example.com", "/./static/app.js", "static"},
		{"www.example.com", "/static%2fapp.js", "static"},
		{"www.example.com", "/static%3f/x", "web"},
		{"www.example.com", "/static#/x", "web"},
	} {
		out := raw(t, p.addr, "GET "+tc.path+" HTTP/1.1\r\nHost: "+tc.host+"\r\nConnection: close\r\n\r\n", 5*time.Second)
		if !strings.Contains(out, "X-Backend: "+tc.want+"\r\n") {
			t.Errorf("Host %s path %s: want %s, got\n%s", tc.host, tc.path, tc.want, out)
		}
	}
	// An absolute-form target routes by its own host.
	out := raw(t, p.addr, "GET http://api.example.com/v1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n", 5*time.Second)
	if !strings.Contains(out, "X-Backend: api\r\n") {
		t.Errorf("absolute form: %s", out)
	}
}

func TestSlowlorisCut(t *testing.T) {
	a := newBackend(t, "a", nil)
	const ht = 150 * time.Millisecond
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr)}), Options{HeaderTimeout: ht})
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	begin := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, c)
		closed <- time.Since(begin)
	}()
	cut := func(d time.Duration) {
		t.Helper()
		// The header timeout counts from the first byte, which is sent
		// after begin; the upper bound only leaves room for a loaded
		// machine (the trickle below would last 20 s uncut).
		if d < ht || d > ht+5*time.Second {
			t.Fatalf("cut after %v, want about %v", d, ht)
		}
		if a.hits.Load() != 0 {
			t.Fatal("the server got a request")
		}
		p.stop(t)
		reqs := p.hist.requests(t)
		if len(reqs) != 1 || reqs[0].Error != "header_timeout" {
			t.Fatalf("history %+v", reqs)
		}
	}
	// One byte every 20 ms, never finishing the header.
	req := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
	for i := 0; i < len(req); i++ {
		if _, err := c.Write([]byte{req[i]}); err != nil {
			// The proxy has closed the connection already: the reader
			// sees it too (a write fails only after the close).
			select {
			case d := <-closed:
				cut(d)
				return
			case <-time.After(10 * time.Second):
				t.Fatalf("a write failed (%v) but the connection did not end", err)
			}
		}
		select {
		case d := <-closed:
			cut(d)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("the slow client was not cut")
}

func TestBadRequests(t *testing.T) {
	a := newBackend(t, "a", nil)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr)}), Options{})
	for _, tc := range []struct {
		name, req, want string
	}{
		{"64 KiB header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 64<<10) + "\r\n\r\n", "431"},
		{"long request line", "GET /" + strings.Repeat("p", 9<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", "414"},
		{"too many fields", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", 101) + "\r\n", "431"},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n", "400"},
		{"no version", "GET /\r\n\r\n", "400"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "400"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", "400"},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "400"},
		{"folded line", "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "400"},
		{"bad length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", "400"},
		{"two lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400"},
		{"length and chunked", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "501"},
	} {
		out := raw(t, p.addr, tc.req, 5*time.Second)
		if !strings.HasPrefix(out, "HTTP/1.1 "+tc.want+" ") {
			t.Errorf("%s: got %q, want %s", tc.name, statusLine(out), tc.want)
		}
	}
	if n := a.hits.Load(); n != 0 {
		t.Fatalf("the server got %d bad requests", n)
	}
	// A bad chunked body: the try fails on the client's side.
	out := raw(t, p.addr, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 5*time.Second)
	if strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("bad chunked body answered %q", statusLine(out))
	}
}

// rawBackend is a TCP server that runs serve on each connection.
func rawBackend(t testing.TB, serve func(c *net.TCPConn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c.(*net.TCPConn))
			}()
		}
	}()
	return l.Addr().String()
}

// readRequestHeader reads up to the end of a request header.
func readRequestHeader(c net.Conn) error {
	var buf []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
		if _, err := c.Read(one); err != nil {
			return err
		}
		buf = append(buf, one[0])
	}
	return nil
}

func TestServerResetMidResponse(t *testing.T) {
	reset := func(c *net.TCPConn) {
		c.SetLinger(0) // close sends RST
	}
	t.Run("before the header ends: 502", func(t *testing.T) {
		addr := rawBackend(t, func(c *net.TCPConn) {
			if readRequestHeader(c) == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Le")
				reset(c)
			}
		})
		p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(addr)}), Options{})
		if st, _, _ := get(t, client(), p.url+"/"); st != 502 {
			t.Fatalf("got %d, want 502", st)
		}
		p.stop(t)
		reqs := p.hist.requests(t)
		if len(reqs) != 1 || reqs[0].Status != 502 || reqs[0].Error != "reset" || reqs[0].Backend != addr || reqs[0].Tries != 1 {
			t.Fatalf("history %+v", reqs)
		}
	})
	t.Run("after the header, before the body: 502", func(t *testing.T) {
		addr := rawBackend(t, func(c *net.TCPConn) {
			if readRequestHeader(c) == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
				time.Sleep(20 * time.Millisecond)
				reset(c)
			}
		})
		p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(addr)}), Options{})
		if st, _, _ := get(t, client(), p.url+"/"); st != 502 {
			t.Fatalf("got %d, want 502", st)
		}
	})
	t.Run("in the body: the connection is closed", func(t *testing.T) {
		addr := rawBackend(t, func(c *net.TCPConn) {
			if readRequestHeader(c) == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
				time.Sleep(20 * time.Millisecond)
				reset(c)
			}
		})
		p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(addr)}), Options{})
		out := raw(t, p.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second)
		if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(out, "\r\n\r\npartial") {
			t.Fatalf("got %q", out)
		}
		p.stop(t)
		reqs := p.hist.requests(t)
		if len(reqs) != 1 || reqs[0].Status != 200 || reqs[0].Error != "reset" {
			t.Fatalf("history %+v", reqs)
		}
	})
	t.Run("garbage and a hung server do not take the proxy down", func(t *testing.T) {
		garbage := rawBackend(t, func(c *net.TCPConn) {
			if readRequestHeader(c) == nil {
				io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n\r\n")
			}
		})
		hung := rawBackend(t, func(c *net.TCPConn) { io.Copy(io.Discard, c) })
		good := newBackend(t, "good", nil)
		p := startProxy(t, &proxy.Config{
			Listeners: []proxy.Listener{{Port: 1, Group: "g", Rules: []proxy.Rule{{PathPrefix: "/hung", Group: "h"}}}},
			Groups: []proxy.Group{
				{Name: "g", Servers: servers(garbage, good.addr)},
				{Name: "h", Servers: servers(hung), ReadTimeout: units.Of(150 * time.Millisecond)},
			}}, Options{})
		c := client()
		// invalid_header is not in the default next_upstream: 502.
		if st, _, _ := get(t, c, p.url+"/"); st != 502 {
			t.Fatalf("garbage: %d, want 502", st)
		}
		if st, be, _ := get(t, c, p.url+"/"); st != 200 || be != "good" {
			t.Fatalf("after garbage: %d from %q", st, be)
		}
		if st, _, _ := get(t, c, p.url+"/hung"); st != 504 {
			t.Fatalf("hung: %d, want 504", st)
		}
	})
}

func TestRetries(t *testing.T) {
	// A server that reads the request and closes: GET passes on, POST
	// does not (non_idempotent is off).
	closer := rawBackend(t, func(c *net.TCPConn) {
		readRequestHeader(c)
		c.SetLinger(0)
	})
	good := newBackend(t, "good", nil)
	g := proxy.Group{Name: "web", Servers: servers(closer, good.addr)}
	g.Servers[0].MaxFails = intp(0)
	p := startProxy(t, lb(g), Options{})
	c := client()
	for i := range 4 {
		if st, be, _ := get(t, c, p.url+"/"); st != 200 || be != "good" {
			t.Fatalf("GET %d: %d from %q", i, st, be)
		}
	}
	statuses := map[int]int{}
	for range 4 {
		resp, err := c.Post(p.url+"/", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses[resp.StatusCode]++
	}
	// Round robin alternates: two POSTs hit the closer and are not passed on.
	if statuses[502] != 2 || statuses[200] != 2 {
		t.Fatalf("POST statuses %v, want two 502 and two 200", statuses)
	}
	p.stop(t)
	for _, e := range p.hist.requests(t) {
		if e.Status == 502 && (e.Tries != 1 || e.Error != "reset") {
			t.Fatalf("POST 502 with %+v", e)
		}
	}
}

func TestCookiePersistence(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr, b.addr),
		Persistence: &proxy.Persistence{Mode: "cookie"}}), Options{})
	c := client()
	resp, err := c.Get(p.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	first := resp.Header.Get("X-Backend")
	ck := resp.Cookies()
	if len(ck) != 1 || ck[0].Name != "SERVERID" {
		t.Fatalf("cookies %v", ck)
	}
	for range 6 {
		req, _ := http.NewRequest("GET", p.url+"/", nil)
		req.AddCookie(ck[0])
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if be := resp.Header.Get("X-Backend"); be != first || resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("pinned to %s, got %s (Set-Cookie %q)", first, be, resp.Header.Get("Set-Cookie"))
		}
	}
}

func TestClientDisconnectLeaksNothing(t *testing.T) {
	got := make(chan struct{}, 1)
	released := make(chan struct{})
	addr := rawBackend(t, func(c *net.TCPConn) {
		if readRequestHeader(c) != nil {
			return
		}
		got <- struct{}{}
		// Hang until the proxy closes the connection.
		io.Copy(io.Discard, c)
		close(released)
	})
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(addr)}), Options{})
	baseline := runtime.NumGoroutine()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-got
	c.Close()
	// The proxy notices within watchAfter and closes the server connection.
	select {
	case <-released:
	case <-time.After(watchAfter + 10*time.Second):
		t.Fatal("the server connection was not closed after the client left")
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("goroutines back to %d", baseline), func() bool {
		return runtime.NumGoroutine() <= baseline
	})
	p.stop(t)
	reqs := p.hist.requests(t)
	if len(reqs) != 1 || reqs[0].Error != "client_closed" {
		t.Fatalf("history %+v", reqs)
	}
}

func TestShutdownDrains(t *testing.T) {
	inside := make(chan struct{}, 1)
	release := make(chan struct{})
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			inside <- struct{}{}
			// Answer only once Shutdown is under way (or give up).
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		io.WriteString(w, "done")
	})
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr)}), Options{})
	// An idle keep-alive connection, and one with a slow request.
	idle, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	ibr := bufio.NewReader(idle)
	readResponse(t, ibr, "GET")

	busy, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-inside
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- p.Shutdown(ctx)
	}()
	p.shut = true
	// The idle connection is closed at once (well before its idle
	// timeout, and before the slow request ends).
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := ibr.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %q, %v; want it closed", n, err)
	}
	// Shutdown is under way: the slow request finishes, told to close.
	close(release)
	busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, body := readResponse(t, bufio.NewReader(busy), "GET")
	if resp.StatusCode != 200 || body != "done" || !resp.Close {
		t.Fatalf("in flight: %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
		t.Fatal("still accepting after shutdown")
	}
	if reqs := p.hist.requests(t); len(reqs) != 2 || reqs[1].Status != 200 {
		t.Fatalf("history %+v", reqs)
	}
}

func TestHistoryLines(t *testing.T) {
	a := newBackend(t, "a", nil)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr)}), Options{})
	c := client()
	for range 3 {
		get(t, c, p.url+"/")
	}
	p.stop(t)
	reqs := p.hist.requests(t)
	if len(reqs) != 3 {
		t.Fatalf("%d request events", len(reqs))
	}
	for _, e := range reqs {
		if e.Client != "127.0.0.1" || e.Listener != "http:1" || e.Group != "web" || e.Backend != a.addr ||
			e.Status != 200 || e.Error != "" || e.Tries != 1 || e.Latency <= 0 || e.Start+e.Latency != e.T {
			t.Fatalf("event %+v", e)
		}
	}
}

func TestExpectContinueAndBodies(t *testing.T) {
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d:%s", len(b), b[:min(len(b), 5)])
	})
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr)}), Options{})
	c := client()
	for _, n := range []int{0, 10, 5000, 70 << 10, 1 << 20} {
		body := strings.Repeat("x", n)
		req, _ := http.NewRequest("PUT", p.url+"/", strings.NewReader(body))
		req.Header.Set("Expect", "100-continue")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%d:%s", n, body[:min(n, 5)]); string(got) != want {
			t.Fatalf("body of %d: got %q", n, got)
		}
	}
	// A large response body.
	big := newBackend(t, "big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3000000")
		w.Write(bytes.Repeat([]byte("y"), 3000000))
	})
	p2 := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(big.addr)}), Options{})
	if _, _, body := get(t, c, p2.url+"/"); len(body) != 3000000 {
		t.Fatalf("big body: %d bytes", len(body))
	}
}

var _ = atomic.Int64{}

func TestSourceIPPersistence(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr, b.addr),
		Persistence: &proxy.Persistence{Mode: "source_ip"}}), Options{})
	c := client()
	_, first, _ := get(t, c, p.url+"/")
	for range 6 {
		if _, be, _ := get(t, c, p.url+"/"); be != first {
			t.Fatalf("source_ip pinned the client to %s, got %s", first, be)
		}
	}
}

func TestReadTimeoutPassesOn(t *testing.T) {
	const readTO = 100 * time.Millisecond
	hung := rawBackend(t, func(c *net.TCPConn) { io.Copy(io.Discard, c) })
	good := newBackend(t, "good", nil)
	g := proxy.Group{Name: "web", Servers: servers(hung, good.addr), ReadTimeout: units.Of(readTO)}
	g.Servers[0].MaxFails = intp(0)
	p := startProxy(t, lb(g), Options{})
	c := client()
	// Round robin starts with the hung server: the read timeout passes
	// the request on (timeout is in the default next_upstream).
	begin := time.Now()
	if st, be, _ := get(t, c, p.url+"/"); st != 200 || be != "good" {
		t.Fatalf("got %d from %q", st, be)
	}
	// At least the read timeout; far less than the default one (60 s),
	// with room for a loaded machine.
	if d := time.Since(begin); d < readTO || d > readTO+5*time.Second {
		t.Fatalf("took %v, want about the read timeout %v", d, readTO)
	}
	p.stop(t)
	reqs := p.hist.requests(t)
	if len(reqs) != 1 || reqs[0].Tries != 2 || reqs[0].Status != 200 {
		t.Fatalf("history %+v", reqs)
	}
}

func TestIdleKeepAliveTimeout(t *testing.T) {
	a := newBackend(t, "a", nil)
	const idle = 100 * time.Millisecond
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr)}), Options{IdleTimeout: idle})
	// The proxy arms the idle timer from its own clock (the connection's
	// accept, or the end of the last request), never earlier than begin:
	// a client slow to read the response does not shorten what it sees.
	begin := time.Now()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	readResponse(t, br, "GET")
	c.SetReadDeadline(time.Now().Add(idle + 10*time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want the proxy to close it", err)
	}
	if d := time.Since(begin); d < idle || d > idle+5*time.Second {
		t.Fatalf("closed after %v, want about %v", d, idle)
	}
}

func TestTCPHealthCheck(t *testing.T) {
	interval := 30 * time.Millisecond
	a := newBackend(t, "a", nil)
	dead := deadAddr(t)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr, dead),
		HealthCheck: &proxy.HealthCheck{Type: "tcp", Interval: units.Of(interval), UnhealthyThreshold: 2}}), Options{})
	// The checks start with every server up; two refused connects in a
	// row, one interval apart, take the dead one down.
	waitFor(t, checkWait(interval, 2), "the dead server marked down", func() bool { return !p.up("web", 1) })
	if !p.up("web", 0) {
		t.Fatal("the live server is down")
	}
	p.stop(t)
	for _, e := range p.hist.events(t) {
		if e.Kind == history.KindHealth && (e.Server != dead || e.To != "down" || !strings.Contains(e.Reason, "refused")) {
			t.Fatalf("health event %+v", e)
		}
	}
}
