package flow_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/internal/poll"
	"github.com/lblab/lblab/loadgen/simload"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/flow"
	"github.com/lblab/lblab/proxy/server"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
)

// The flight drift tests: the retry loop's choices (which server each
// try went to, how many tries, the final status and class, the servers'
// counters) for the same input in the simulator and on loopback.

// tryLog lists the servers the tries of a test reached, in order: a
// server as a request reaches it, or as its connection is refused.
type tryLog struct {
	mu  sync.Mutex
	got []string
}

func (l *tryLog) add(addr string) {
	l.mu.Lock()
	l.got = append(l.got, addr)
	l.mu.Unlock()
}

func (l *tryLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// simServer is a simulated server that logs what reaches it.
type simServer struct {
	*simload.Backend
	log *tryLog
	// fresh counts the requests that came on new connections; probes are
	// the methods of the health probes; only, when set, is the one method
	// its health endpoint answers (another gets 405).
	fresh  int
	probes []string
	only   string
}

func (s *simServer) Connect() attempt.Outcome {
	out := s.Backend.Connect()
	if out == attempt.Refused {
		s.log.add(s.Address())
	}
	return out
}

func (s *simServer) Serve(reused bool, done func(simproxy.Reply)) {
	s.log.add(s.Address())
	if !reused {
		s.fresh++
	}
	s.Backend.Serve(reused, done)
}

func (s *simServer) Probe(pr flow.Probe) (int, attempt.Outcome) {
	s.probes = append(s.probes, pr.Method)
	status, out := s.Backend.Probe(pr)
	if out == attempt.Answered && pr.HTTP && s.only != "" && pr.Method != s.only {
		return 405, out
	}
	return status, out
}

// simWorld is the simulator's side of a drift test.
type simWorld struct {
	k   *sim.Kernel
	p   *simproxy.Proxy
	log *history.Log
	srv map[string]*simServer
}

// newSimWorld builds the simulated proxy for cfg over one logging
// simulated server per address, each from its spec in specs (a plain
// one when specs names none).
func newSimWorld(t *testing.T, cfg proxy.Config, addrs []string, specs map[string]workload.Backend, tries *tryLog) *simWorld {
	t.Helper()
	if ps := proxy.Validate(&cfg); len(ps) > 0 {
		t.Fatal(ps)
	}
	w := &simWorld{k: sim.NewKernel(1), log: &history.Log{}, srv: map[string]*simServer{}}
	var bs []simproxy.Server
	for _, a := range addrs {
		spec := specs[a]
		spec.Address = a
		s := &simServer{Backend: simload.NewBackend(w.k, spec), log: tries}
		w.srv[a] = s
		bs = append(bs, s)
	}
	p, err := simproxy.New(w.k, &cfg, bs, simproxy.Network{}, w.log)
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
	return w
}

// outcome is what a request's flight ended with.
type outcome struct {
	Backend string
	Status  int
	Error   string
	Tries   int
}

func (o outcome) String() string {
	return fmt.Sprintf("%s %d %s tries=%d", o.Backend, o.Status, o.Error, o.Tries)
}

// send makes the simulated client send req at at; the outcome lands in
// *out.
func (w *simWorld) send(at time.Duration, req simproxy.Request, out *outcome) {
	if req.Listener == "" {
		req.Listener = "web"
	}
	if req.Method == "" {
		req.Method = "GET"
	}
	if req.URI == "" {
		req.URI = "/"
	}
	req.Conn = netip.MustParseAddr("10.0.0.1")
	w.k.At(at, func() {
		w.p.Handle(req, func(r simproxy.Response) {
			*out = outcome{Backend: r.Backend, Status: r.Status, Error: r.Error, Tries: r.Tries}
		})
	})
}

// counters returns each server's fails and conns in the simulator's group.
func (w *simWorld) counters() string {
	g := w.p.Group("g")
	var parts []string
	for i, peer := range g.Peers() {
		parts = append(parts, fmt.Sprintf("%s fails=%d conns=%d out=%v", peer.Name(), peer.Fails(), peer.Conns(), g.PassiveDown(i)))
	}
	return strings.Join(parts, "; ")
}

// realCounters returns the same of the real server's group.
func realCounters(s *server.Server) string {
	var parts []string
	for _, srv := range s.Status().Groups[0].Servers {
		parts = append(parts, fmt.Sprintf("%s fails=%d conns=%d out=%v", srv.Address, srv.Fails, srv.Conns, srv.PassiveFailed))
	}
	return strings.Join(parts, "; ")
}

// outcomesOf returns the outcomes of the request events, in order.
func outcomesOf(evs []history.Event) []outcome {
	var out []outcome
	for _, e := range evs {
		if e.Kind == history.KindRequest {
			out = append(out, outcome{Backend: e.Backend, Status: e.Status, Error: e.Error, Tries: e.Tries})
		}
	}
	return out
}

// realRun sends the requests of methods (GET when nil, n of them) one
// after the other to cfg on loopback, and returns the outcomes the real
// proxy's history recorded, its health transitions (downs) and its
// servers' counters after the last request.
func realRun(t *testing.T, cfg proxy.Config, opt server.Options, methods []string) ([]outcome, map[string]string, string) {
	t.Helper()
	s, hist, addr := startRealWith(t, cfg, opt)
	c := &http.Client{Timeout: 5 * time.Second}
	for _, m := range methods {
		req, _ := http.NewRequest(m, "http://"+addr+"/", nil)
		do(t, c, req)
	}
	counters := realCounters(s)
	stopReal(s)
	evs := realHistory(t, hist)
	return outcomesOf(evs), downs(evs), counters
}

// same reports a difference between the simulator's and the real proxy's
// what, compared as printed.
func same(t *testing.T, what string, simV, realV any) {
	t.Helper()
	if s, r := fmt.Sprint(simV), fmt.Sprint(realV); s != r {
		t.Errorf("%s:\n  simulator %s\n  real      %s", what, s, r)
	}
}

// stopReal shuts s down, after which its history is complete.
func stopReal(s *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.Shutdown(ctx)
}

// refusedAddr returns a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// loggingDial connects as the proxy does, and logs the address of a
// connection refused.
func loggingDial(tries *tryLog) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			tries.add(addr)
		}
		return c, err
	}
}

// realServer starts an HTTP server on loopback whose requests (not the
// proxy's health probes) are logged in tries and answered by h; it names
// itself in X-Backend.
func realServer(t *testing.T, tries *tryLog, h func(addr string, w http.ResponseWriter, r *http.Request)) string {
	var addr string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", addr)
		if r.Header.Get("User-Agent") != "lblab-health" {
			tries.add(addr)
		}
		h(addr, w, r)
	}))
	addr = srv.Listener.Addr().String()
	t.Cleanup(srv.Close)
	return addr
}

func answer(status int) func(string, http.ResponseWriter, *http.Request) {
	return func(_ string, w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		io.WriteString(w, "body")
	}
}

// do sends one request to the real proxy and reads the response's body
// to the end.
func do(t *testing.T, c *http.Client, req *http.Request) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func maxFails(n int) *int { return &n }

// TestDriftRetry: a refused connection and a 502 (proxy_next_upstream
// error timeout http_502) pass the request on, server by server, in the
// same order in both worlds, with the same tries and final status; with
// next_upstream tries 2 the second try's answer is final; with max_fails 1
// the refused and the failing server are taken out by both, and the
// default policy (error timeout) hands the 502 to the client.
func TestDriftRetry(t *testing.T) {
	cases := []struct {
		name  string
		next  *proxy.NextUpstream
		fails *int
	}{
		{"passes on", &proxy.NextUpstream{On: []string{"error", "timeout", "http_502"}}, maxFails(0)},
		{"tries 2", &proxy.NextUpstream{On: []string{"error", "timeout", "http_502"}, Tries: 2}, maxFails(0)},
		{"max_fails 1", &proxy.NextUpstream{On: []string{"error", "timeout", "http_502"}}, nil},
		{"default policy", nil, maxFails(0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var realTries, simTries tryLog
			refused := refusedAddr(t)
			bad := realServer(t, &realTries, answer(502))
			good := realServer(t, &realTries, answer(200))
			addrs := []string{refused, bad, good}
			g := proxy.Group{Name: "g", NextUpstream: tc.next}
			for _, a := range addrs {
				g.Servers = append(g.Servers, proxy.Server{Address: a, MaxFails: tc.fails})
			}
			cfg := proxy.Config{Listeners: []proxy.Listener{{Name: "web", Port: 1, Group: "g"}}, Groups: []proxy.Group{g}}
			const n = 4

			w := newSimWorld(t, cfg, addrs, map[string]workload.Backend{
				bad: {Errors: []workload.ErrorRule{{Status: 502, Probability: 1}}}}, &simTries)
			w.srv[refused].Crash()
			simOut := make([]outcome, n)
			for i := range n {
				w.send(time.Duration(i)*100*time.Millisecond, simproxy.Request{}, &simOut[i])
			}
			w.k.Run(time.Second)

			realOut, realDown, realC := realRun(t, cfg, server.Options{Dial: loggingDial(&realTries)},
				slices.Repeat([]string{"GET"}, n))
			same(t, "outcomes", simOut, realOut)
			same(t, "tries went to", simTries.list(), realTries.list())
			same(t, "taken out", downs(w.log.Events()), realDown)
			same(t, "counters", w.counters(), realC)
			t.Logf("%v; tries %v", realOut, realTries.list())
		})
	}
}

// TestDriftClientAbort: a client that leaves while the server works gets
// nginx's 499 in both worlds (client_closed, the server of the try, one
// try); the try is not the server's failure (max_fails 1 does not take it
// out: the next requests still reach it) and least_conn's count of it is
// released.
func TestDriftClientAbort(t *testing.T) {
	var realTries, simTries tryLog
	arrived := make(chan struct{}, 1)
	slow := realServer(t, &realTries, func(_ string, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") == "" {
			io.WriteString(w, "quick")
			return
		}
		arrived <- struct{}{}
		select { // the proxy closes the connection when the client leaves
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	fast := realServer(t, &realTries, answer(200))
	addrs := []string{slow, fast}
	cfg := group(addrs, proxy.Group{Algorithm: "least_conn"})
	const n = 4 // the aborted request, then three

	w := newSimWorld(t, cfg, addrs, map[string]workload.Backend{slow: {Service: workload.Law{Mean: units.Of(5 * time.Second)}}}, &simTries)
	simOut := make([]outcome, n)
	w.send(0, simproxy.Request{Abort: 200 * time.Millisecond}, &simOut[0])
	var simMid string
	w.k.At(time.Second, func() {
		simMid = w.counters()
		w.srv[slow].Slow(0.001) // the next requests are quick (5 ms)
	})
	for i := 1; i < n; i++ {
		w.send(time.Second+time.Duration(i)*100*time.Millisecond, simproxy.Request{}, &simOut[i])
	}
	w.k.Run(2 * time.Second)

	s, hist, addr := startReal(t, cfg)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n\r\n")
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the server")
	}
	conn.Close()
	// The proxy watches the client once the server has taken 100 ms
	// (watchAfter): the 499 is recorded soon after.
	poll.Until(t, 5*time.Second, "the 499", func() bool { return s.Status().Groups[0].Servers[0].Requests == 1 })
	realMid := realCounters(s)
	c := &http.Client{Timeout: 5 * time.Second}
	for i := 1; i < n; i++ {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		do(t, c, req)
		poll.Until(t, time.Second, "the try's end", func() bool { return s.Status().Groups[0].Servers[i%2].Conns == 0 })
	}
	realEnd := realCounters(s)
	stopReal(s)
	realOut := outcomesOf(realHistory(t, hist))

	if fmt.Sprint(simOut) != fmt.Sprint(realOut) {
		t.Errorf("outcomes:\n  simulator %v\n  real      %v", simOut, realOut)
	}
	if simOut[0] != (outcome{Backend: slow, Status: 499, Error: flow.ClassClientClosed, Tries: 1}) {
		t.Errorf("the aborted request: %v", simOut[0])
	}
	if simMid != realMid {
		t.Errorf("after the 499:\n  simulator %s\n  real      %s", simMid, realMid)
	}
	if sc := w.counters(); sc != realEnd {
		t.Errorf("at the end:\n  simulator %s\n  real      %s", sc, realEnd)
	}
	if st, rt := simTries.list(), realTries.list(); !slices.Equal(st, rt) {
		t.Errorf("tries went to:\n  simulator %v\n  real      %v", st, rt)
	}
	t.Logf("%v; %s", realOut, realMid)
}

// closingServer starts a server on loopback that answers the first
// request of each connection (keep-alive) and closes the connection when
// a second request arrives on it, without an answer: its keep-alive
// timeout racing the proxy's reuse every time. It counts the connections
// it accepted.
func closingServer(t *testing.T, tries *tryLog) (addr string, conns func() int) {
	type served struct{ n int }
	var accepted atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.add(addr)
		io.Copy(io.Discard, r.Body)
		c := r.Context().Value(served{}).(*served)
		if c.n++; c.n > 1 {
			if nc, _, err := w.(http.Hijacker).Hijack(); err == nil {
				nc.Close() // closed as the request arrives
			}
			return
		}
		w.Header().Set("X-Backend", addr)
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		accepted.Add(1)
		return context.WithValue(ctx, served{}, &served{})
	}
	srv.Start()
	t.Cleanup(srv.Close)
	addr = srv.Listener.Addr().String()
	return addr, func() int { return int(accepted.Load()) }
}

// asNginx reports the real proxy's what when it is not nginx's.
func asNginx(t *testing.T, what string, nginx, real any) {
	t.Helper()
	if n, r := fmt.Sprint(nginx), fmt.Sprint(real); n != r {
		t.Errorf("%s:\n  nginx %s\n  real  %s", what, n, r)
	}
}

// TestDriftStaleKeepAlive: a try on an idle keep-alive connection the
// server closed as the request went out is decided as nginx 1.22's
// ngx_http_upstream_next decides it, in both worlds: the server is freed
// as failed (max_fails 1 takes it out), the try is not counted against
// the tries (proxy_next_upstream_tries 1 still lets a GET pass on), and
// the balancer picks the next server; a POST is not passed on (502,
// reset); a group of a single server tries it again (on a new
// connection), without failure accounting.
func TestDriftStaleKeepAlive(t *testing.T) {
	type want struct {
		backend string // "a", "b" or "" (none)
		status  int
		class   string
		tries   int
	}
	cases := []struct {
		name    string
		single  bool
		methods []string
		want    []want
		reached []string // the servers the requests reached, in order
		downs   []string
	}{
		{"GET passes on", false, []string{"GET", "GET", "GET", "GET"},
			[]want{{"a", 200, "", 1}, {"b", 200, "", 1}, {"b", 200, "", 2}, {"b", 200, "", 1}},
			[]string{"a", "b", "a", "b", "b"}, []string{"a"}},
		{"POST ends", false, []string{"GET", "GET", "POST", "GET"},
			[]want{{"a", 200, "", 1}, {"b", 200, "", 1}, {"a", 502, "reset", 1}, {"b", 200, "", 1}},
			[]string{"a", "b", "a", "b"}, []string{"a"}},
		{"single server", true, []string{"GET", "GET", "GET"},
			[]want{{"a", 200, "", 1}, {"a", 200, "", 2}, {"a", 200, "", 2}},
			[]string{"a", "a", "a", "a", "a"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var realTries, simTries tryLog
			a, aConns := closingServer(t, &realTries)
			addrs := []string{a}
			name := map[string]string{a: "a", "": ""}
			if !tc.single {
				b := realServer(t, &realTries, answer(200))
				addrs = append(addrs, b)
				name[b] = "b"
			}
			cfg := group(addrs, proxy.Group{NextUpstream: &proxy.NextUpstream{Tries: 1}})

			w := newSimWorld(t, cfg, addrs, nil, &simTries)
			w.srv[a].CloseReused(true)
			simOut := make([]outcome, len(tc.methods))
			for i, m := range tc.methods {
				w.send(time.Duration(i)*100*time.Millisecond, simproxy.Request{Method: m}, &simOut[i])
			}
			w.k.Run(time.Second)

			realOut, realDowns, realC := realRun(t, cfg, server.Options{}, tc.methods)
			same(t, "outcomes", simOut, realOut)
			same(t, "counters", w.counters(), realC)
			same(t, "new connections to a", w.srv[a].fresh, aConns())
			same(t, "requests reached", simTries.list(), realTries.list())
			same(t, "servers taken out", downs(w.log.Events()), realDowns)

			var got []want
			for _, o := range realOut {
				got = append(got, want{name[o.Backend], o.Status, o.Error, o.Tries})
			}
			asNginx(t, "nginx's outcomes", tc.want, got)
			var reached, out []string
			for _, r := range realTries.list() {
				reached = append(reached, name[r])
			}
			for s := range realDowns {
				out = append(out, name[s])
			}
			slices.Sort(out)
			asNginx(t, "nginx's servers reached", tc.reached, reached)
			asNginx(t, "nginx's servers taken out", tc.downs, out)
			t.Logf("%v; %s; connections to a %d", realOut, realC, aConns())
		})
	}
}

// TestDriftSpentBody: a request already sent is not passed on after a
// 502 (http_502) when it is a POST (nginx: unless non_idempotent) or when
// its streamed body went out (no other server can get it); a streamed
// body whose first server refused the connection was not spent and goes
// on. The same in both worlds.
func TestDriftSpentBody(t *testing.T) {
	on := []string{"error", "timeout", "http_502"}
	cases := []struct {
		name     string
		method   string
		streamed bool
		refuse   bool // the first server refuses, instead of 502
		extra    []string
	}{
		{"POST", "POST", false, false, nil},
		{"POST non_idempotent", "POST", false, false, []string{"non_idempotent"}},
		{"PUT", "PUT", false, false, nil},
		{"PUT streamed", "PUT", true, false, nil},
		{"POST streamed non_idempotent", "POST", true, false, []string{"non_idempotent"}},
		{"PUT streamed refused", "PUT", true, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var realTries, simTries tryLog
			first := refusedAddr(t)
			if !tc.refuse {
				first = realServer(t, &realTries, answer(502))
			}
			good := realServer(t, &realTries, answer(200))
			addrs := []string{first, good}
			g := proxy.Group{Name: "g", NextUpstream: &proxy.NextUpstream{On: append(slices.Clone(on), tc.extra...)}}
			for _, a := range addrs {
				g.Servers = append(g.Servers, proxy.Server{Address: a, MaxFails: maxFails(0)})
			}
			cfg := proxy.Config{Listeners: []proxy.Listener{{Name: "web", Port: 1, Group: "g"}}, Groups: []proxy.Group{g}}

			w := newSimWorld(t, cfg, addrs, map[string]workload.Backend{
				first: {Errors: []workload.ErrorRule{{Status: 502, Probability: 1}}}}, &simTries)
			if tc.refuse {
				w.srv[first].Crash()
			}
			var simOut [1]outcome
			w.send(0, simproxy.Request{Method: tc.method, Streamed: tc.streamed}, &simOut[0])
			w.k.Run(time.Second)

			s, hist, addr := startRealWith(t, cfg, server.Options{Dial: loggingDial(&realTries)})
			body := "payload"
			req, _ := http.NewRequest(tc.method, "http://"+addr+"/", strings.NewReader(body))
			if tc.streamed {
				// chunked: the proxy streams it, it cannot send it twice
				req.Body, req.ContentLength = io.NopCloser(strings.NewReader(body)), -1
				req.TransferEncoding = []string{"chunked"}
			}
			do(t, &http.Client{Timeout: 5 * time.Second}, req)
			stopReal(s)
			realOut := outcomesOf(realHistory(t, hist))

			if fmt.Sprint(simOut[:]) != fmt.Sprint(realOut) {
				t.Errorf("outcomes:\n  simulator %v\n  real      %v", simOut, realOut)
			}
			if st, rt := simTries.list(), realTries.list(); !slices.Equal(st, rt) {
				t.Errorf("tries went to:\n  simulator %v\n  real      %v", st, rt)
			}
			t.Logf("%v", realOut)
		})
	}
}

// TestDriftLeastConnBody: least_conn counts a server's request until its
// response body has been relayed, not only its header, in both worlds:
// while a's slow body is on its way a counts 1 and the next requests go
// to b; once it is through, a counts 0 again.
func TestDriftLeastConnBody(t *testing.T) {
	var realTries, simTries tryLog
	headerOut := make(chan struct{}, 1)
	release := make(chan struct{})
	var slowOnce sync.Once
	slow := realServer(t, &realTries, func(addr string, w http.ResponseWriter, r *http.Request) {
		first := false
		slowOnce.Do(func() { first = true })
		w.WriteHeader(200)
		if !first {
			io.WriteString(w, "quick")
			return
		}
		io.WriteString(w, "slow ")
		w.(http.Flusher).Flush()
		headerOut <- struct{}{}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "body")
	})
	fast := realServer(t, &realTries, answer(200))
	addrs := []string{slow, fast}
	cfg := group(addrs, proxy.Group{Algorithm: "least_conn"})

	// The simulator: a's first body takes 300 ms; requests at 0, 100 ms
	// and 200 ms (during it) and 600 ms (after it).
	w := newSimWorld(t, cfg, addrs, nil, &simTries)
	w.srv[slow].SlowBody(300 * time.Millisecond)
	var simOut [4]outcome
	w.send(0, simproxy.Request{}, &simOut[0])
	w.k.At(50*time.Millisecond, func() { w.srv[slow].SlowBody(0) })
	var simMid, simAfter string
	w.send(100*time.Millisecond, simproxy.Request{}, &simOut[1])
	w.send(200*time.Millisecond, simproxy.Request{}, &simOut[2])
	w.k.At(250*time.Millisecond, func() { simMid = w.counters() })
	w.k.At(550*time.Millisecond, func() { simAfter = w.counters() })
	w.send(600*time.Millisecond, simproxy.Request{}, &simOut[3])
	w.k.Run(time.Second)

	s, _, addr := startReal(t, cfg)
	c := &http.Client{Timeout: 5 * time.Second}
	var realOut [4]string
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	realOut[0] = resp.Header.Get("X-Backend")
	<-headerOut
	conns := func(i int) func() bool { return func() bool { return s.Status().Groups[0].Servers[i].Conns == 0 } }
	for i := 1; i <= 2; i++ {
		r, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		realOut[i] = r.Header.Get("X-Backend")
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		// the proxy ends the try just after the client has the body
		poll.Until(t, time.Second, "b's try to end", conns(1))
	}
	realMid := realCounters(s)
	close(release)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	poll.Until(t, time.Second, "a's try to end", conns(0))
	realAfter := realCounters(s)
	r, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	realOut[3] = r.Header.Get("X-Backend")
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	stopReal(s)

	var simPicks [4]string
	for i, o := range simOut {
		simPicks[i] = o.Backend
	}
	if simPicks != realOut {
		t.Errorf("picks:\n  simulator %v\n  real      %v", simPicks, realOut)
	}
	if simMid != realMid || simAfter != realAfter {
		t.Errorf("counters during a's body and after:\n  simulator %s | %s\n  real      %s | %s", simMid, simAfter, realMid, realAfter)
	}
	t.Logf("picks %v; during %s", realOut, realMid)
}

// TestDriftHealthCheckMethod: the health check's method reaches the
// server in both worlds, and a server whose health endpoint answers only
// GET (405 to HEAD) stays up under a GET check and is taken down under
// HEAD (the default), the same in both.
func TestDriftHealthCheckMethod(t *testing.T) {
	for _, method := range []string{"GET", "HEAD", ""} {
		t.Run("method="+method, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			var realTries, simTries tryLog
			addr := realServer(t, &realTries, func(_ string, w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("User-Agent") == "lblab-health" {
					mu.Lock()
					seen = append(seen, r.Method)
					mu.Unlock()
				}
				if r.Method != "GET" {
					w.WriteHeader(405)
				}
			})
			seenNow := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(seen) }
			interval := 100 * time.Millisecond
			cfg := group([]string{addr}, proxy.Group{HealthCheck: &proxy.HealthCheck{Type: "http", Method: method,
				Interval: units.Of(interval), Timeout: units.Of(time.Second), UnhealthyThreshold: 2}})

			w := newSimWorld(t, cfg, []string{addr}, nil, &simTries)
			w.srv[addr].only = "GET"
			w.k.Run(450 * time.Millisecond) // probes at 0, 100, …, 400 ms
			simDown := downs(w.log.Events())
			simSeen := w.srv[addr].probes

			s, hist, _ := startReal(t, cfg)
			// The transitions come after 2 probes; wait for the same 5
			// probes the simulator made, with a bound of 20 intervals.
			poll.Until(t, 20*interval, "5 probes", func() bool { return len(seenNow()) >= len(simSeen) })
			stopReal(s)
			realDown := downs(realHistory(t, hist))
			realSeen := seenNow()[:len(simSeen)]

			if !slices.Equal(simSeen, realSeen) {
				t.Errorf("probe methods: simulator %v, real %v", simSeen, realSeen)
			}
			if fmt.Sprint(simDown) != fmt.Sprint(realDown) {
				t.Errorf("taken down: simulator %v, real %v", simDown, realDown)
			}
			if wantDown := method != "GET"; (len(simDown) == 1) != wantDown {
				t.Errorf("taken down %v, want down %v", simDown, wantDown)
			}
		})
	}
}
