package backend

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, cfg Config, echo bool) (*Server, string) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln, echo)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, ln.Addr().String()
}

// exchange writes raw to a new connection and reads until the server
// closes it or wait passes.
func exchange(t *testing.T, addr, raw string, wait time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestParseLaw(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		in     string
		median time.Duration
	}{
		{"0", 0}, {"", 0}, {"none", 0}, {"10ms", 10 * time.Millisecond}, {"constant:5ms", 5 * time.Millisecond},
		{"0.002", 2 * time.Millisecond}, {"exp:10ms", 6931 * time.Microsecond}, {"lognormal:20ms,200ms", 20 * time.Millisecond},
	} {
		l, err := ParseLaw(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		var xs []time.Duration
		for range 20001 {
			xs = append(xs, l.Sample(rnd))
		}
		slices.Sort(xs)
		med := xs[len(xs)/2]
		if d := med - tc.median; d < -tc.median/20-1 || d > tc.median/20+1 {
			t.Errorf("%q: median %s, want %s", tc.in, med, tc.median)
		}
		if tc.in == "lognormal:20ms,200ms" {
			if p99 := xs[len(xs)*99/100]; p99 < 180*time.Millisecond || p99 > 220*time.Millisecond {
				t.Errorf("%q: p99 %s, want 200ms", tc.in, p99)
			}
		}
	}
	for _, in := range []string{"fast", "exp:", "lognormal:20ms", "lognormal:200ms,20ms", "gamma:1s", "-5ms"} {
		if _, err := ParseLaw(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestHTTPProtocol(t *testing.T) {
	_, addr := start(t, Config{Name: "a"}, false)
	// Two pipelined requests, the second closing.
	got := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2*time.Second)
	if strings.Count(got, "HTTP/1.1 200 OK\r\n") != 2 || strings.Count(got, "X-Backend: a\r\n") != 2 ||
		!strings.HasSuffix(got, "Connection: close\r\n\r\n") || strings.Count(got, "\r\n\r\na\n") != 1 {
		t.Fatalf("pipelined GET and HEAD:\n%q", got)
	}
	// HTTP/1.0 closes unless asked; bodies, chunked or not, are read.
	got = exchange(t, addr, "POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", 2*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !strings.Contains(got, "Connection: close\r\n") {
		t.Fatalf("HTTP/1.0:\n%q", got)
	}
	got = exchange(t, addr, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"+
		"5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nTrailer: 1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n") || strings.Count(got, "200 OK") != 2 {
		t.Fatalf("chunked body:\n%q", got)
	}
	for raw, want := range map[string]string{
		"GARBAGE\r\n\r\n":                      "HTTP/1.1 400 ",
		"GET / HTTP/2.0\r\n\r\n":               "HTTP/1.1 505 ",
		"GET / HTTP/1.1\r\nbad header\r\n\r\n": "HTTP/1.1 400 ",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n": "HTTP/1.1 400 ",
		"GET /" + strings.Repeat("x", 5000) + " HTTP/1.1\r\n\r\n":                   "HTTP/1.1 414 ",
	} {
		if got := exchange(t, addr, raw, 2*time.Second); !strings.HasPrefix(got, want) {
			t.Errorf("%.40q: got %.60q, want %q", raw, got, want)
		}
	}
	// A long header line (a big cookie) is skipped.
	got = exchange(t, addr, "GET / HTTP/1.1\r\nCookie: "+strings.Repeat("c", 10000)+"\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
		t.Fatalf("long header: %.60q", got)
	}
}

func TestHealthAndControl(t *testing.T) {
	s, addr := start(t, Config{Name: "a", HealthPath: "/hc"}, false)
	get := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("X-Backend") != "a" {
			t.Errorf("%s %s: X-Backend %q", method, path, resp.Header.Get("X-Backend"))
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("GET", "/hc"); code != 200 || body != "ok\n" {
		t.Fatalf("health: %d %q", code, body)
	}
	if code, _ := get("PUT", "/_lblab/health?status=503"); code != 200 {
		t.Fatalf("switch: %d", code)
	}
	if code, body := get("GET", "/hc"); code != 503 || body != "unhealthy\n" {
		t.Fatalf("health after the switch: %d %q", code, body)
	}
	if code, _ := get("GET", "/"); code != 200 {
		t.Fatalf("an unhealthy backend still answers requests: %d", code)
	}
	if code, _ := get("PUT", "/_lblab/health?status=99"); code != 400 {
		t.Fatalf("bad status: %d", code)
	}
	if code, _ := get("PUT", "/_lblab/error-rate?p=1&status=502"); code != 200 {
		t.Fatal("error-rate")
	}
	if code, body := get("GET", "/"); code != 502 || body != "a error 502\n" {
		t.Fatalf("error rate 1: %d %q", code, body)
	}
	if code, _ := get("PUT", "/_lblab/latency?law=30ms"); code != 200 {
		t.Fatal("latency")
	}
	t0 := time.Now()
	get("GET", "/")
	if d := time.Since(t0); d < 30*time.Millisecond {
		t.Fatalf("latency 30ms: answered in %s", d)
	}
	if code, body := get("GET", "/_lblab/stats"); code != 200 || !strings.Contains(body, `"errors":2`) || !strings.Contains(body, `"health":503`) {
		t.Fatalf("stats: %d %s", code, body)
	}
	if code, _ := get("GET", "/_lblab/nope"); code != 404 {
		t.Fatalf("unknown control path: %d", code)
	}
	if s.Health() != 503 {
		t.Fatal("Health")
	}
}

func TestStallHoldsRequestsArrivingDuringIt(t *testing.T) {
	// The stall is long enough that "held again" and "answered at once"
	// stay apart on a loaded machine.
	const stall = time.Second
	s, addr := start(t, Config{Name: "a"}, false)
	t0 := time.Now() // the stall ends stall after Stall is called, so not before t0+stall
	s.Stall(stall)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(t0); d < stall {
		t.Fatalf("answered in %s during a %s stall", d, stall)
	}
	t0 = time.Now()
	resp, err = http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(t0); d >= stall {
		t.Fatalf("answered in %s after the stall: held again", d)
	}
}

// readSignalListener tells on read when one of its connections has read
// bytes: the server holds a request.
type readSignalListener struct {
	net.Listener
	read chan struct{}
}

func (l *readSignalListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &readSignalConn{Conn: c, read: l.read}, nil
}

type readSignalConn struct {
	net.Conn
	read chan struct{}
}

func (c *readSignalConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		select {
		case c.read <- struct{}{}:
		default:
		}
	}
	return n, err
}

func TestShutdownFinishesAnswersUnderWay(t *testing.T) {
	law, _ := ParseLaw("200ms")
	s, err := New(Config{Name: "a", Latency: law})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{}, 1)
	go s.Serve(&readSignalListener{Listener: ln, read: read}, false)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	addr := ln.Addr().String()
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET / HTTP/1.1\r\n\r\n")
	// Shut down once the server has the request (the idle connection
	// sends nothing): a request still in the socket is not under way.
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not read the request")
	}
	done := make(chan error)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the answer under way: %v %v", resp, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("the idle connection was not closed: %d, %v", n, err)
	}
	if _, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

func TestEcho(t *testing.T) {
	_, addr := start(t, Config{Name: "e"}, true)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if line, _ := br.ReadString('\n'); line != "e\n" {
		t.Fatalf("greeting %q", line)
	}
	io.WriteString(c, "hello\n")
	if line, _ := br.ReadString('\n'); line != "hello\n" {
		t.Fatalf("echo %q", line)
	}

	s, err := New(Config{Name: "u"})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error)
	go func() { served <- s.ServeUDP(pc) }()
	u, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write([]byte("ping"))
	u.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 100)
	n, err := u.Read(buf)
	if err != nil || string(buf[:n]) != "u:ping" {
		t.Fatalf("udp echo %q %v", buf[:n], err)
	}
	s.Shutdown(context.Background())
	if err := <-served; err != ErrClosed {
		t.Fatalf("ServeUDP after Shutdown: %v", err)
	}
}

func TestNewChecks(t *testing.T) {
	for _, cfg := range []Config{
		{}, {Name: "a\nb"}, {Name: "a", ErrorRate: 2}, {Name: "a", ErrorStatus: 700},
		{Name: "a", HealthPath: "healthz"}, {Name: "a", BodySize: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// TestSlowMultipliesServiceTimes: the slow fault as the simulator has
// it: a constant 20 ms service time, slowed by 5, takes 100 ms; factor 1
// is normal again; a factor of 0 or less is refused.
func TestSlowMultipliesServiceTimes(t *testing.T) {
	law, err := ParseLaw("20ms")
	if err != nil {
		t.Fatal(err)
	}
	_, addr := start(t, Config{Name: "a", Latency: law}, false)
	do := func(method, path string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	timed := func() time.Duration {
		t.Helper()
		t0 := time.Now()
		if code := do("GET", "/"); code != 200 {
			t.Fatalf("status %d", code)
		}
		return time.Since(t0)
	}
	if code := do("PUT", "/_lblab/slow?factor=5"); code != 200 {
		t.Fatalf("slow: %d", code)
	}
	if d := timed(); d < 100*time.Millisecond {
		t.Fatalf("slowed by 5: answered in %s, want at least 100 ms", d)
	}
	if code := do("PUT", "/_lblab/slow?factor=1"); code != 200 {
		t.Fatalf("slow 1: %d", code)
	}
	if d := timed(); d < 20*time.Millisecond || d >= 100*time.Millisecond {
		t.Fatalf("normal again: answered in %s, want 20 ms", d)
	}
	for _, bad := range []string{"0", "-1", "x", "NaN", "1e9"} {
		if code := do("PUT", "/_lblab/slow?factor="+bad); code != 400 {
			t.Errorf("factor %s: %d, want 400", bad, code)
		}
	}
}
