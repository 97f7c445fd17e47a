package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/internal/poll"
	"github.com/lblab/lblab/proxy"
)

// backend is a real HTTP server on 127.0.0.1:0 that names itself in the
// X-Backend header and counts its connections.
type backend struct {
	name  string
	addr  string
	srv   *httptest.Server
	conns atomic.Int64 // connections accepted
	hits  atomic.Int64 // requests served
	dead  atomic.Bool  // killed: nothing more is answered
}

func newBackend(t *testing.T, name string, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.dead.Load() {
			panic(http.ErrAbortHandler) // a connection kill missed: cut it
		}
		b.hits.Add(1)
		w.Header().Set("X-Backend", name)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "hello from "+name)
	}))
	b.srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			if b.dead.Load() {
				c.Close() // accepted just before the kill
			}
			b.conns.Add(1)
		}
	}
	b.srv.Config.ErrorLog = nil
	b.srv.Start()
	b.addr = b.srv.Listener.Addr().String()
	t.Cleanup(b.kill)
	return b
}

// kill makes the backend vanish: the listener and every connection are
// closed at once, as when the process dies. A connection accepted just
// before, which CloseClientConnections does not know yet, is closed as
// soon as the server sees it, and answers nothing.
func (b *backend) kill() {
	b.dead.Store(true)
	b.srv.Listener.Close()
	b.srv.CloseClientConnections()
}

// deadAddr returns an address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// syncBuffer is a bytes.Buffer safe for the history writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) events(t *testing.T) []history.Event {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	evs, err := history.ReadJSONL(bytes.NewReader(s.b.Bytes()), "history")
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (s *syncBuffer) requests(t *testing.T) []history.Event {
	var out []history.Event
	for _, e := range s.events(t) {
		if e.Kind == history.KindRequest {
			out = append(out, e)
		}
	}
	return out
}

// testProxy is a running server with its first listener's address.
type testProxy struct {
	*Server
	addr string
	url  string
	hist *syncBuffer
	shut bool
}

func lb(groups ...proxy.Group) *proxy.Config {
	return &proxy.Config{Listeners: []proxy.Listener{{Port: 1, Group: groups[0].Name}}, Groups: groups}
}

func servers(addrs ...string) []proxy.Server {
	var ss []proxy.Server
	for _, a := range addrs {
		ss = append(ss, proxy.Server{Address: a})
	}
	return ss
}

func intp(i int) *int { return &i }

// startProxy runs cfg with every listener on 127.0.0.1:0 and a history
// kept in memory.
func startProxy(t testing.TB, cfg *proxy.Config, opt Options) *testProxy {
	t.Helper()
	hist := &syncBuffer{}
	opt.History = hist
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	opt.Listen = func(proxy.Listener) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
	s, err := New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	p := &testProxy{Server: s, hist: hist}
	p.addr = s.Addr(cfg.Listeners[0].Name).String()
	p.url = "http://" + p.addr
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop shuts the proxy down (draining for at most 2 s); the history is
// complete afterwards.
func (p *testProxy) stop(t testing.TB) {
	if p.shut {
		return
	}
	p.shut = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// up reports the active health state of a group's server.
func (p *testProxy) up(group string, i int) bool {
	g := p.groups[group]
	g.mu.Lock()
	defer g.mu.Unlock()
	up, _ := g.fg.ActiveUp(i)
	return up
}

// client is an HTTP client with keep-alive to the proxy.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
		Timeout: 10 * time.Second}
}

// get does a GET and returns the status, the X-Backend header and the
// body.
func get(t *testing.T, c *http.Client, url string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("X-Backend"), string(body)
}

// waitFor polls cond until it holds or the deadline passes (poll.Until).
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, within, what, cond)
}

// raw sends bytes on a new connection and reads the whole answer until
// the proxy closes the connection (or the timeout).
func raw(t *testing.T, addr, req string, timeout time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	return string(out)
}

// readResponse reads one response from br.
func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func statusLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// checkWait bounds the wait for n health-check results in a row: n+1
// intervals (a probe may be in flight), plus slack for a loaded machine
// that runs the probes late. waitFor returns as soon as the state is
// reached, so the slack costs nothing when all is well.
func checkWait(interval time.Duration, n int) time.Duration {
	return time.Duration(n+1)*interval + 10*time.Second
}
