package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lblab/lblab/loadgen/backend"
)

// startBackend runs an lblab backend on a free loopback port and returns
// it with its address.
func startBackend(t testing.TB, cfg backend.Config, echo bool) (*backend.Server, string) {
	t.Helper()
	srv, err := backend.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln, echo)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, ln.Addr().String()
}

// rawServer runs handle on each connection of a loopback listener.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); handle(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// readRequest reads one request head (and no body) from br.
func readRequest(br *bufio.Reader) error {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			return nil
		}
	}
}

func run(t *testing.T, ctx context.Context, cfg Config) *Result {
	t.Helper()
	cfg.Record = true
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkAccounting(t, res)
	return res
}

// checkAccounting checks that every request sent is in exactly one
// bucket, and that the records say the same as the counts.
func checkAccounting(t *testing.T, res *Result) {
	t.Helper()
	if u := res.Unaccounted(); u != 0 || res.Sent != res.Completed+res.Failed+res.TimedOut+res.Cancelled {
		t.Fatalf("%s: %d unaccounted", res.AccountingLine(), u)
	}
	if int64(len(res.Records)) != res.Sent {
		t.Fatalf("%d records for %d requests sent", len(res.Records), res.Sent)
	}
	var completed, failed, timedOut, cancelled int64
	for i, r := range res.Records {
		switch {
		case r.Error == ClassTimeout:
			timedOut++
		case r.Error == ClassCancelled:
			cancelled++
		case r.Error == "" && (res.TCP || r.Status >= 200 && r.Status < 400):
			completed++
		default:
			failed++
		}
		if r.End < r.Start {
			t.Fatalf("record %d ends before it starts: %+v", i, r)
		}
		if i > 0 && r.End < res.Records[i-1].End {
			t.Fatalf("records not ordered by end at %d", i)
		}
	}
	if completed != res.Completed || failed != res.Failed || timedOut != res.TimedOut || cancelled != res.Cancelled {
		t.Fatalf("records: %d completed, %d failed, %d timed out, %d cancelled; counts: %s",
			completed, failed, timedOut, cancelled, res.AccountingLine())
	}
}

func TestClosedLoopAccountsForEveryRequest(t *testing.T) {
	_, addr := startBackend(t, backend.Config{Name: "a"}, false)
	res := run(t, t.Context(), Config{Target: "http://" + addr + "/", Requests: 2000, Concurrency: 20, KeepAlive: true})
	if res.Sent != 2000 || res.Completed != 2000 || !res.OK() {
		t.Fatalf("%s, want 2000 completed", res.AccountingLine())
	}
	if res.Backends["a"] != 2000 || res.Statuses[200] != 2000 || res.Answered() != 2000 {
		t.Fatalf("backends %v, statuses %v, answered %d", res.Backends, res.Statuses, res.Answered())
	}
	var sb strings.Builder
	res.WriteSummary(&sb)
	if !strings.Contains(sb.String(), "sent 2000 = completed 2000 + failed 0 + timed out 0\n") {
		t.Fatalf("summary:\n%s", sb.String())
	}
}

func TestClosedLoopWithoutKeepAliveAndWithDuration(t *testing.T) {
	_, addr := startBackend(t, backend.Config{Name: "a"}, false)
	start := time.Now()
	res := run(t, t.Context(), Config{Target: "http://" + addr + "/x?y=1", Duration: 300 * time.Millisecond, Concurrency: 4})
	if took := time.Since(start); took < 300*time.Millisecond || took > 2*time.Second {
		t.Fatalf("a 300 ms run took %s", took)
	}
	if res.Sent == 0 || !res.OK() {
		t.Fatalf("%s", res.AccountingLine())
	}
	clients := map[string]bool{}
	for _, r := range res.Records {
		clients[r.Client] = true
	}
	if len(clients) < int(res.Sent)/2 {
		t.Fatalf("%d requests from %d client addresses: connections were reused without -k", res.Sent, len(clients))
	}
}

func TestOpenLoopSendsAtTheRate(t *testing.T) {
	_, addr := startBackend(t, backend.Config{Name: "a"}, false)
	res := run(t, t.Context(), Config{Target: "http://" + addr + "/", Rate: 2000, Duration: time.Second, KeepAlive: true})
	if res.Sent < 1998 || res.Sent > 2002 || !res.OK() {
		t.Fatalf("%s, want 2000±2 sent and completed", res.AccountingLine())
	}
	// The last request is meant for 999.5 ms; the upper bound leaves room
	// for a loaded machine.
	if res.Elapsed < time.Second-time.Millisecond || res.Elapsed > 3*time.Second {
		t.Fatalf("elapsed %s for 1 s at 2000 req/s", res.Elapsed)
	}
	// The intended send times are the schedule, i × 0.5 ms.
	seen := map[time.Duration]bool{}
	for _, r := range res.Records {
		seen[r.Start] = true
	}
	for i := range res.Sent {
		if at := time.Duration(i) * 500 * time.Microsecond; !seen[at] {
			t.Fatalf("no request meant for %s", at)
		}
	}
}

func TestOpenLoopLimitedByCount(t *testing.T) {
	_, addr := startBackend(t, backend.Config{Name: "a"}, false)
	res := run(t, t.Context(), Config{Target: "http://" + addr + "/", Rate: 1000, Requests: 100, KeepAlive: true})
	if res.Sent != 100 || !res.OK() || res.Elapsed < 99*time.Millisecond || res.Elapsed > time.Second {
		t.Fatalf("%s in %s, want 100 in 0.1 s", res.AccountingLine(), res.Elapsed)
	}
}

// A backend that freezes for 200 ms once: the open loop's latencies,
// measured from the intended send times, show the stall for every
// request meant to leave during it; a closed loop shows it once per client.
func TestOpenLoopLatencyIncludesAStall(t *testing.T) {
	const stall = 200 * time.Millisecond
	// The stall begins inside Stall, between before and after (since the
	// run's start): a request sent from after+10 ms on arrives during it,
	// and none is answered before before+stall.
	stalled := func(cfg Config) (res *Result, before, after time.Duration) {
		srv, addr := startBackend(t, backend.Config{Name: "a"}, false)
		cfg.Target, cfg.KeepAlive, cfg.Duration = "http://"+addr+"/", true, time.Second
		var t0, t1 time.Time
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(300 * time.Millisecond)
			t0 = time.Now()
			srv.Stall(stall)
			t1 = time.Now()
		}()
		res = run(t, t.Context(), cfg)
		<-done
		return res, t0.Sub(res.Start), t1.Sub(res.Start)
	}

	open, before, after := stalled(Config{Rate: 2000})
	if !open.OK() {
		t.Fatalf("open loop: %s", open.AccountingLine())
	}
	lo, hi := after+10*time.Millisecond, before+150*time.Millisecond
	inStall, slow := 0, 0
	for _, r := range open.Records {
		lat := r.End - r.Start
		if lat >= 50*time.Millisecond {
			slow++
		}
		if r.Start < lo || r.Start > hi {
			continue
		}
		inStall++
		// It cannot have been answered before the stall ended.
		if want := before + stall - r.Start; lat < want {
			t.Errorf("request meant for %s (stall from %s): latency %s, want at least %s", r.Start, before, lat, want)
		}
	}
	// Every request of the schedule (one per 0.5 ms) in the window is
	// there: the open loop omits none for the stall.
	if want := int((min(hi, open.Duration)-lo)/(500*time.Microsecond)) - 1; inStall < want || want < 50 {
		t.Fatalf("%d requests meant to leave during the stall (window %s..%s), want %d", inStall, lo, hi, want)
	}
	if p99 := open.Percentile(99); p99 < 150*time.Millisecond {
		t.Errorf("open loop p99 %s: the stall is hidden", p99)
	}

	// The closed loop hardly sends during the stall: a client that sends
	// then waits until the stall ends, so it sends at most one request in
	// it. That is the omission the open loop does not make.
	const clients = 20
	closed, cbefore, cafter := stalled(Config{Concurrency: clients})
	if !closed.OK() {
		t.Fatalf("closed loop: %s", closed.AccountingLine())
	}
	closedInStall := 0
	for _, r := range closed.Records {
		if r.Start >= cafter+10*time.Millisecond && r.Start <= cbefore+150*time.Millisecond {
			closedInStall++
		}
	}
	if closedInStall > clients {
		t.Errorf("closed loop: %d requests sent during the stall, want at most one per client (%d)", closedInStall, clients)
	}
	t.Logf("stall of %s: open loop sent %d requests during it (%d of its requests took ≥ 50 ms, p99 %s); "+
		"closed loop sent %d (p99 %s over %d requests)",
		stall, inStall, slow, open.Percentile(99), closedInStall, closed.Percentile(99), closed.Sent)
}

func forwarder(t *testing.T, backends ...string) string {
	t.Helper()
	var mu sync.Mutex
	next := 0
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		mu.Lock()
		to := backends[next%len(backends)]
		next++
		mu.Unlock()
		up, err := net.Dial("tcp", to)
		if err != nil {
			return
		}
		defer up.Close()
		go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
		io.Copy(c, up)
	})
}

func TestCountsPerBackend(t *testing.T) {
	_, a := startBackend(t, backend.Config{Name: "a"}, false)
	_, b := startBackend(t, backend.Config{Name: "b"}, false)
	front := forwarder(t, a, b)
	res := run(t, t.Context(), Config{Target: "http://" + front + "/", Requests: 400, Concurrency: 1})
	if !res.OK() || res.Backends["a"] != 200 || res.Backends["b"] != 200 || len(res.Backends) != 2 {
		t.Fatalf("%s; backends %v, want a 200 and b 200", res.AccountingLine(), res.Backends)
	}
	m := res.Metrics()
	if s := m["share_by_backend"].(map[string]any); s["a"] != 0.5 || s["b"] != 0.5 {
		t.Fatalf("share_by_backend %v", s)
	}
}

func TestErrorTaxonomy(t *testing.T) {
	closedPort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	silent := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	cut := rawServer(t, func(c net.Conn) {
		defer c.Close()
		if readRequest(bufio.NewReader(c)) == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Backend: cut\r\nContent-Length: 100\r\n\r\nabc")
		}
	})
	rst := rawServer(t, func(c net.Conn) {
		if readRequest(bufio.NewReader(c)) == nil {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
	})
	garbage := rawServer(t, func(c net.Conn) {
		defer c.Close()
		if readRequest(bufio.NewReader(c)) == nil {
			io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n")
		}
	})
	_, failing := startBackend(t, backend.Config{Name: "f", ErrorRate: 1, ErrorStatus: 503}, false)
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)

	for _, tc := range []struct {
		name, addr string
		timeout    time.Duration
		class      string
		status     int
	}{
		{"refused", closedPort(), 0, ClassRefused, 0},
		{"timeout", silent, 200 * time.Millisecond, ClassTimeout, 0},
		{"closed mid-answer", cut, 0, ClassReset, 0},
		{"reset", rst, 0, ClassReset, 0},
		{"not HTTP", garbage, 0, ClassProtocol, 0},
		{"503", failing, 0, "", 503},
		{"404", strings.TrimPrefix(notFound.URL, "http://"), 0, "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20
			res := run(t, t.Context(), Config{Target: "http://" + tc.addr + "/", Requests: n, Concurrency: 5,
				KeepAlive: true, Timeout: tc.timeout})
			if res.OK() || res.Completed != 0 {
				t.Fatalf("%s: want no request completed", res.AccountingLine())
			}
			switch {
			case tc.class == ClassTimeout:
				if res.TimedOut != n || res.Errors[ClassTimeout] != n {
					t.Fatalf("%s, errors %v: want %d timed out", res.AccountingLine(), res.Errors, n)
				}
			case tc.class != "":
				if res.Failed != n || res.Errors[tc.class] != n || len(res.Errors) != 1 {
					t.Fatalf("%s, errors %v: want %d %s", res.AccountingLine(), res.Errors, n, tc.class)
				}
			default:
				if res.Failed != n || res.Statuses[tc.status] != n || len(res.Errors) != 0 {
					t.Fatalf("%s, statuses %v, errors %v: want %d × %d", res.AccountingLine(), res.Statuses, res.Errors, n, tc.status)
				}
				if m := res.Metrics(); m[fmt.Sprintf("errors_%d", tc.status)] != int64(n) {
					t.Fatalf("metrics %v", m)
				}
			}
			for _, r := range res.Records {
				if r.Error != tc.class || r.Status != tc.status {
					t.Fatalf("record %+v, want error %q status %d", r, tc.class, tc.status)
				}
			}
		})
	}
}

// A keep-alive connection the server closed after an answer (without
// saying so) is replaced, not counted as a failure.
func TestStaleKeepAliveConnectionIsReplaced(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		defer c.Close()
		if readRequest(bufio.NewReader(c)) == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Backend: once\r\nContent-Length: 2\r\n\r\nok")
			time.Sleep(20 * time.Millisecond) // let the client go back to the idle connection
		}
	})
	res := run(t, t.Context(), Config{Target: "http://" + addr + "/", Requests: 20, KeepAlive: true})
	if !res.OK() || res.Backends["once"] != 20 {
		t.Fatalf("%s, errors %v", res.AccountingLine(), res.Errors)
	}
}

func TestBodiesChunkedAndUntilClose(t *testing.T) {
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "chunky")
		io.WriteString(w, "part one ")
		w.(http.Flusher).Flush()
		io.WriteString(w, strings.Repeat("x", 10000))
	}))
	t.Cleanup(chunked.Close)
	untilClose := rawServer(t, func(c net.Conn) {
		defer c.Close()
		if readRequest(bufio.NewReader(c)) == nil {
			io.WriteString(c, "HTTP/1.0 200 OK\r\nX-Backend: old\r\n\r\n"+strings.Repeat("y", 5000))
		}
	})
	for _, target := range []string{chunked.URL + "/", "http://" + untilClose + "/"} {
		res := run(t, t.Context(), Config{Target: target, Requests: 100, Concurrency: 4, KeepAlive: true})
		if !res.OK() || len(res.Backends) != 1 {
			t.Fatalf("%s: %s, errors %v, backends %v", target, res.AccountingLine(), res.Errors, res.Backends)
		}
	}
}

func TestPostBodyAndHeaders(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Host+" "+r.Header.Get("X-Test")+" "+string(b))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	res := run(t, t.Context(), Config{Target: srv.URL + "/p?q=1", Method: "POST", Body: []byte("hello"),
		Headers: []string{"X-Test: yes", "Host: example.test"}, Requests: 3, KeepAlive: true})
	if !res.OK() || len(got) != 3 || got[0] != "POST /p?q=1 example.test yes hello" {
		t.Fatalf("%s; server saw %q", res.AccountingLine(), got)
	}
}

func TestTCPEcho(t *testing.T) {
	_, addr := startBackend(t, backend.Config{Name: "echo1"}, true)
	for _, keep := range []bool{true, false} {
		res := run(t, t.Context(), Config{Target: "tcp://" + addr, Requests: 300, Concurrency: 4, KeepAlive: keep})
		if !res.OK() || res.Backends["echo1"] != 300 || res.Answered() != 300 {
			t.Fatalf("keep-alive %v: %s, errors %v, backends %v", keep, res.AccountingLine(), res.Errors, res.Backends)
		}
	}
	// A server that echoes something else.
	liar := rawServer(t, func(c net.Conn) {
		defer c.Close()
		io.WriteString(c, "liar\n")
		br := bufio.NewReader(c)
		for {
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
			io.WriteString(c, "pong\n")
		}
	})
	res := run(t, t.Context(), Config{Target: "tcp://" + liar, Requests: 10, KeepAlive: true})
	if res.Failed != 10 || res.Errors[ClassProtocol] != 10 {
		t.Fatalf("%s, errors %v", res.AccountingLine(), res.Errors)
	}
}

// Cancelling a run (SIGINT) in the middle: the requests under way and
// queued are cancelled, and the sum still holds.
func TestCancelMidRunStillSums(t *testing.T) {
	_, addr := startBackend(t, backend.Config{Name: "slow", Latency: mustLaw(t, "20ms")}, false)
	for _, cfg := range []Config{
		{Requests: 1_000_000, Concurrency: 10, KeepAlive: true},
		// 5000 req/s on 10 connections that manage 500: a queue builds up.
		{Rate: 5000, Duration: 10 * time.Second, Concurrency: 10, KeepAlive: true},
		{Requests: 1_000_000, Concurrency: 10},
	} {
		cfg.Target = "http://" + addr + "/"
		// Interrupt the run once some requests have completed (however
		// slowly a loaded machine gets there), with more under way.
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		var cancelledAt atomic.Int64
		cfg.ProgressEvery = 10 * time.Millisecond
		cfg.Progress = func(p Progress) {
			if p.Done-p.NotOK >= 20 && cancelledAt.Load() == 0 {
				cancelledAt.Store(time.Now().UnixNano())
				cancel()
			}
		}
		res := run(t, ctx, cfg)
		returned := time.Now()
		cancel()
		if cancelledAt.Load() == 0 {
			t.Fatalf("rate %v: %s: the run was not interrupted", cfg.Rate, res.AccountingLine())
		}
		// The requests under way are cut at once: far sooner than they
		// would end on their own (the run's 10 s, or its timeout).
		if took := returned.Sub(time.Unix(0, cancelledAt.Load())); took > 5*time.Second {
			t.Fatalf("an interrupted run took %s to return", took)
		}
		if !res.Interrupted || res.Cancelled == 0 || res.Completed == 0 || res.OK() {
			t.Fatalf("rate %v: %s: want an interrupted run with some completed and some cancelled", cfg.Rate, res.AccountingLine())
		}
		if !strings.Contains(res.AccountingLine(), fmt.Sprintf(" + cancelled %d", res.Cancelled)) {
			t.Fatalf("accounting line %q", res.AccountingLine())
		}
		t.Logf("rate %v: %s", cfg.Rate, res.AccountingLine())
	}
}

// In the open loop a request that waited its whole timeout for a free
// connection is timed out without being sent.
func TestOpenLoopQueueTimesOut(t *testing.T) {
	_, addr := startBackend(t, backend.Config{Name: "slow", Latency: mustLaw(t, "100ms")}, false)
	res := run(t, t.Context(), Config{Target: "http://" + addr + "/", Rate: 200, Duration: 500 * time.Millisecond,
		Concurrency: 2, KeepAlive: true, Timeout: 250 * time.Millisecond})
	if res.TimedOut == 0 || res.Completed == 0 {
		t.Fatalf("%s: want some completed and some timed out", res.AccountingLine())
	}
	// The last request is meant for 495 ms, and times out 250 ms later;
	// without the cut the queue would take 5 s (100 requests, 2
	// connections, 100 ms each). The bound leaves room for a loaded machine.
	if res.Elapsed > 2500*time.Millisecond {
		t.Fatalf("elapsed %s: the queue was not cut at the timeout", res.Elapsed)
	}
}

func TestBadInput(t *testing.T) {
	for _, cfg := range []Config{
		{Target: "ftp://127.0.0.1/"},
		{Target: "127.0.0.1:80"},
		{Target: "tcp://127.0.0.1"},
		{Target: "http://127.0.0.1/", Requests: -1},
		{Target: "http://127.0.0.1/", Rate: -5},
		{Target: "http://127.0.0.1/", Concurrency: -1},
		{Target: "http://127.0.0.1/", Headers: []string{"no colon"}},
		{Target: "http://127.0.0.1/", Method: "GE T"},
		{Target: "http://127.0.0.1/", Rate: 10, Think: time.Second},
		{Target: "tcp://127.0.0.1:1", Body: []byte("x")},
	} {
		_, err := Run(t.Context(), cfg)
		var b BadInput
		if !errors.As(err, &b) {
			t.Errorf("%+v: got %v, want a BadInput", cfg, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg := Config{Target: "http://127.0.0.1/"}
	if _, _, err := cfg.normalise(); err != nil {
		t.Fatal(err)
	}
	if cfg.Duration != DefaultDuration || cfg.Timeout != DefaultTimeout || cfg.Concurrency != 1 || cfg.Method != "GET" {
		t.Fatalf("defaults %+v", cfg)
	}
	open := Config{Target: "http://127.0.0.1/", Rate: 10, Requests: 1000}
	if _, _, err := open.normalise(); err != nil {
		t.Fatal(err)
	}
	if open.Duration != 0 || open.Concurrency != DefaultOpenConcurrency {
		t.Fatalf("open defaults %+v", open)
	}
}

func mustLaw(t *testing.T, s string) backend.Law {
	t.Helper()
	l, err := backend.ParseLaw(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "tls")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	res := run(t, t.Context(), Config{Target: srv.URL + "/", Requests: 50, Concurrency: 2, KeepAlive: true, Insecure: true})
	if !res.OK() || res.Backends["tls"] != 50 {
		t.Fatalf("%s, errors %v", res.AccountingLine(), res.Errors)
	}
	// Its certificate is not signed by a known authority.
	res = run(t, t.Context(), Config{Target: srv.URL + "/", Requests: 5})
	if res.Failed != 5 || res.Errors[ClassOther] != 5 {
		t.Fatalf("unverified certificate: %s, errors %v", res.AccountingLine(), res.Errors)
	}
}

func TestProgress(t *testing.T) {
	_, addr := startBackend(t, backend.Config{Name: "a"}, false)
	var mu sync.Mutex
	var calls []Progress
	// About 30 calls in the run: a few even if a loaded machine starves
	// the progress ticker (which drops the ticks it misses).
	res := run(t, t.Context(), Config{Target: "http://" + addr + "/", Rate: 500, Duration: 300 * time.Millisecond,
		ProgressEvery: 10 * time.Millisecond, Progress: func(p Progress) {
			mu.Lock()
			calls = append(calls, p)
			mu.Unlock()
		}})
	mu.Lock()
	defer mu.Unlock()
	if len(calls) < 3 {
		t.Fatalf("%d progress calls", len(calls))
	}
	last := calls[len(calls)-1]
	if !last.Final || last.Done != res.Sent || last.Fraction() != 1 {
		t.Fatalf("last progress %+v for %s", last, res.AccountingLine())
	}
	for _, p := range calls[:len(calls)-1] {
		if p.Final || p.Fraction() > 1 {
			t.Fatalf("progress %+v", p)
		}
	}
}
