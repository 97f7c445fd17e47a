package backend

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lblab/lblab/internal/poll"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/server"
	"github.com/lblab/lblab/units"
)

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func ms(n int) units.Duration { return units.Of(time.Duration(n) * time.Millisecond) }

func startSpec(t *testing.T, spec workload.Backend) (*Server, string) {
	t.Helper()
	cfg, err := FromSpec("b1", spec, 7)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, cfg, false)
}

// waitUntil polls cond until it holds or within passes (poll.Until).
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, within, what, cond)
}

// get sends one request on a new connection and returns the status and
// how long the answer took.
func get(t *testing.T, addr, path, agent string) (int, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	if agent != "" {
		req.Header.Set("User-Agent", agent)
	}
	t0 := time.Now()
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(t0)
}

// A spec without a service law waits the simulator's default, constant
// 10 ms; a constant law waits its mean, never less.
func TestSpecServiceLaw(t *testing.T) {
	for _, tc := range []struct {
		law  workload.Law
		want time.Duration
	}{
		{workload.Law{}, workload.DefaultService},
		{workload.Law{Mean: ms(40)}, 40 * time.Millisecond},
	} {
		_, addr := startSpec(t, workload.Backend{Address: "127.0.0.1:1", Service: tc.law})
		for range 3 {
			if st, d := get(t, addr, "/", ""); st != 200 || d < tc.want {
				t.Fatalf("%+v: %d after %s, want 200 after at least %s", tc.law, st, d, tc.want)
			}
		}
	}
	// The law's draws are the simulator's: the same function on the same
	// source gives the same times.
	l := workload.Law{Law: "lognormal", Median: ms(20), P99: ms(200)}
	a, b := LawOf(l), l
	ra, rb := newTestRand(), newTestRand()
	for range 100 {
		if x, y := a.Sample(ra), b.Sample(rb); x != y {
			t.Fatalf("LawOf draws %s, the lab's law %s", x, y)
		}
	}
}

// concurrency 2 and queue 2: two requests are served, two wait (and take
// a service time more), the fifth gets the overload answer at once.
func TestSpecConcurrencyAndQueue(t *testing.T) {
	const service = 400 * time.Millisecond
	q := 2
	s, addr := startSpec(t, workload.Backend{Address: "127.0.0.1:1", Service: workload.Law{Mean: units.Of(service)},
		Concurrency: 2, Queue: &q})
	type answer struct {
		status int
		end    time.Time
	}
	answers := make([]answer, 4)
	var wg sync.WaitGroup
	first := time.Now()
	for i := range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); st, _ := get(t, addr, "/", ""); answers[i] = answer{st, time.Now()} }()
		// One at a time, so that the first two are the ones served.
		waitUntil(t, service/2, fmt.Sprintf("request %d admitted", i+1), func() bool {
			st := s.Stats()
			return st.Active+st.Waiting == i+1
		})
	}
	if st := s.Stats(); st.Active != 2 || st.Waiting != 2 {
		t.Fatalf("active %d, waiting %d; want 2 and 2", st.Active, st.Waiting)
	}
	st, took := get(t, addr, "/", "")
	if st != workload.OverloadStatus || took >= service {
		t.Fatalf("the 5th request: %d after %s, want %d at once (before a service time of %s)", st, took, workload.OverloadStatus, service)
	}
	// A probe is never queued.
	if st, took := get(t, addr, "/", ProbeAgent); st != 200 || took >= service {
		t.Fatalf("probe while full: %d after %s", st, took)
	}
	wg.Wait()
	for i, a := range answers {
		want := service
		if i >= 2 {
			want = 2 * service // queued behind one of the first two
		}
		if took := a.end.Sub(first); a.status != 200 || took < want {
			t.Errorf("request %d: %d %s after the first was sent, want 200 after at least %s", i+1, a.status, took, want)
		}
	}
	if st := s.Stats(); st.Overloaded != 1 || st.Active != 0 || st.Waiting != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Error rules are tried in order: 502 with 0.2, then 500 with 0.25 of the
// rest, so 20% 502, 20% 500 and 60% 200, within 5 sigma of 4000 draws.
func TestSpecErrorRules(t *testing.T) {
	spec := workload.Backend{Address: "127.0.0.1:1", Service: workload.Law{Mean: ms(0)},
		Errors: []workload.ErrorRule{{Status: 502, Probability: 0.2}, {Status: 500, Probability: 0.25}}}
	_, addr := startSpec(t, spec)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 4000
	go func() {
		for range n {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		}
	}()
	br := bufio.NewReader(c)
	counts := map[int]int{}
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		counts[resp.StatusCode]++
	}
	for status, p := range map[int]float64{502: 0.2, 500: 0.2, 200: 0.6} {
		mean, sigma := n*p, math.Sqrt(n*p*(1-p))
		if got := float64(counts[status]); math.Abs(got-mean) > 5*sigma {
			t.Errorf("status %d: %v of %d, want %.0f ± %.0f (5 sigma)", status, got, n, mean, 5*sigma)
		}
	}
	t.Logf("statuses %v", counts)
}

// A probe (lblab proxy's User-Agent) of health_path answers the health
// status, of another path 404; errors and the service time do not apply
// to it. Without health_path any path is the health endpoint for a probe.
func TestSpecHealthProbes(t *testing.T) {
	s, addr := startSpec(t, workload.Backend{Address: "127.0.0.1:1", HealthPath: "/hc", Service: workload.Law{Mean: units.Of(time.Second)},
		Errors: []workload.ErrorRule{{Status: 500, Probability: 1}}})
	for _, tc := range []struct {
		path, agent string
		health      int
		want        int
	}{
		{"/hc", ProbeAgent, 200, 200},
		{"/hc?x=1", ProbeAgent, 200, 200},
		{"/other", ProbeAgent, 200, 404},
		{"/hc", ProbeAgent, 503, 503},
		{"/hc", "curl", 503, 503}, // the path itself, by anyone
		{"/other", ProbeAgent, 503, 404},
	} {
		if err := s.SetHealth(tc.health); err != nil {
			t.Fatal(err)
		}
		if st, took := get(t, addr, tc.path, tc.agent); st != tc.want || took >= time.Second {
			t.Errorf("%s by %s, health %d: %d after %s, want %d at once", tc.path, tc.agent, tc.health, st, took, tc.want)
		}
	}
	s2, addr2 := startSpec(t, workload.Backend{Address: "127.0.0.1:1", Service: workload.Law{Mean: ms(0)}})
	s2.SetHealth(503)
	if st, _ := get(t, addr2, "/anything", ProbeAgent); st != 503 {
		t.Errorf("probe of any path without health_path: %d, want 503", st)
	}
	if st, _ := get(t, addr2, "/anything", ""); st != 200 {
		t.Errorf("a request while unhealthy: %d, want 200", st)
	}
}

// The health endpoint switched at run time through the control path
// takes the backend out of the real proxy's rotation within fall checks,
// and back in within rise checks.
func TestSpecHealthSwitchFlipsTheProxy(t *testing.T) {
	s, addr := startSpec(t, workload.Backend{Address: "127.0.0.1:1", HealthPath: "/hc", Service: workload.Law{Mean: ms(0)}})
	interval := 50 * time.Millisecond
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Name: "web", Address: "127.0.0.1", Port: 1, Group: "g"}},
		Groups: []proxy.Group{{Name: "g", Servers: []proxy.Server{{Address: addr}},
			HealthCheck: &proxy.HealthCheck{Path: "/hc", Interval: units.Of(interval), Timeout: units.Of(2 * time.Second),
				HealthyThreshold: 2, UnhealthyThreshold: 2}}}}
	p, err := server.New(cfg, server.Options{Logger: slog.New(slog.DiscardHandler),
		Listen: func(proxy.Listener) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		p.Shutdown(ctx)
	})
	active := func() string { return p.Status().Groups[0].Servers[0].Active }
	// fall (or rise) checks, one more in flight, and a starved machine's slack.
	within := 3*interval + 5*time.Second
	waitUntil(t, within, "up at first", func() bool { return active() == "up" })
	put := func(status int) {
		req, _ := http.NewRequest("PUT", fmt.Sprintf("http://%s/_lblab/health?status=%d", addr, status), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("switch to %d: %v %v", status, resp, err)
		}
		resp.Body.Close()
	}
	put(503)
	waitUntil(t, within, "marked down after the switch to 503", func() bool { return active() == "down" })
	if s.Health() != 503 {
		t.Fatal("health")
	}
	put(200)
	waitUntil(t, within, "marked up after the switch back", func() bool { return active() == "up" })
}
