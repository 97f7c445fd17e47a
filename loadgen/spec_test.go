package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lblab/lblab/loadgen/backend"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/units"
)

// seen is what a test server saw of one request.
type seen struct {
	src, path, host, method, xff, user, cookie string
}

// recorder is an HTTP server on loopback that records every request,
// waits service before answering, and gives a user (X-User) without a
// sid cookie one.
type recorder struct {
	url string
	mu  sync.Mutex
	got []seen
}

func newRecorder(t *testing.T, service time.Duration) *recorder {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src, _, _ := net.SplitHostPort(r.RemoteAddr)
		s := seen{src: src, path: r.URL.RequestURI(), host: r.Host, method: r.Method,
			xff: r.Header.Get("X-Forwarded-For"), user: r.Header.Get("X-User")}
		if c, err := r.Cookie("sid"); err == nil {
			s.cookie = c.Value
		} else if s.user != "" {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "for-" + s.user})
		}
		rec.mu.Lock()
		rec.got = append(rec.got, s)
		rec.mu.Unlock()
		if service > 0 {
			time.Sleep(service)
		}
		w.Header().Set("X-Backend", "r")
	}))
	t.Cleanup(srv.Close)
	rec.url = srv.URL
	return rec
}

func (rec *recorder) requests() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.got)
}

func dur(d time.Duration) units.Duration { return units.Of(d) }

func runSpec(t *testing.T, url string, c workload.Clients, seed uint64) *Result {
	t.Helper()
	res, err := Run(context.Background(), Config{Target: url, Clients: &c, Seed: seed, Record: true, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unaccounted() != 0 {
		t.Fatal(res.AccountingLine())
	}
	return res
}

func starts(res *Result) []time.Duration {
	var out []time.Duration
	for _, r := range res.Records {
		out = append(out, r.Start)
	}
	slices.Sort(out)
	return out
}

// Poisson arrivals at rate R over T: the count is within 5 sigma of R×T
// (sigma √(R×T)), the gaps' mean is 1/R within 5 sigma, and the schedule
// is the seed's: the same seed gives the same intended send times.
func TestSpecPoissonArrivals(t *testing.T) {
	rec := newRecorder(t, 0)
	const rate, span = 400.0, time.Second
	spec := workload.Clients{Rate: rate, Stop: dur(span)}
	res := runSpec(t, rec.url, spec, 1)
	want := rate * span.Seconds()
	if n := float64(res.Sent); math.Abs(n-want) > 5*math.Sqrt(want) {
		t.Fatalf("sent %v, want %v ± %.0f (5 sigma)", n, want, 5*math.Sqrt(want))
	}
	s1 := starts(res)
	if res2 := runSpec(t, rec.url, spec, 1); !slices.Equal(s1, starts(res2)) {
		t.Fatal("the same seed gave another schedule")
	}
	if res3 := runSpec(t, rec.url, spec, 2); slices.Equal(s1, starts(res3)) {
		t.Fatal("another seed gave the same schedule")
	}
	// The gaps are exponential: their coefficient of variation is 1.
	var sum, sq float64
	for i := 1; i < len(s1); i++ {
		g := (s1[i] - s1[i-1]).Seconds()
		sum, sq = sum+g, sq+g*g
	}
	n := float64(len(s1) - 1)
	mean := sum / n
	cv := math.Sqrt(sq/n-mean*mean) / mean
	if math.Abs(mean-1/rate) > 5/rate/math.Sqrt(n) || math.Abs(cv-1) > 0.25 {
		t.Fatalf("gaps: mean %.5f s (want %.5f), coefficient of variation %.2f (want 1)", mean, 1/rate, cv)
	}
}

// Constant arrivals with a ramp to 0 and up again: exactly the
// simulator's times, 10 ms apart to 0.5 s, none while paused, 5 ms apart
// from 1 s to the stop.
func TestSpecConstantArrivalsWithRamp(t *testing.T) {
	rec := newRecorder(t, 0)
	spec := workload.Clients{Rate: 100, Arrival: "constant", Stop: dur(1500 * time.Millisecond),
		Ramp: []workload.RampStep{{At: dur(500 * time.Millisecond), Rate: 0}, {At: dur(time.Second), Rate: 200}}}
	var want []time.Duration
	for at := time.Duration(0); at < 500*time.Millisecond; at += 10 * time.Millisecond {
		want = append(want, at)
	}
	for at := time.Second; at < 1500*time.Millisecond; at += 5 * time.Millisecond {
		want = append(want, at)
	}
	if got := starts(runSpec(t, rec.url, spec, 1)); !slices.Equal(got, want) {
		t.Fatalf("intended send times (%d):\n%v\nwant (%d):\n%v", len(got), got, len(want), want)
	}
	if n := len(rec.requests()); n != len(want) {
		t.Fatalf("the server saw %d requests, want %d", n, len(want))
	}
}

// A closed loop of U users with think time Z against service S runs at
// U/(Z+S) requests per second (the interactive response time law): never
// more, and at least 70% of it on a loaded machine.
func TestSpecClosedLoopThroughput(t *testing.T) {
	const users, think, service, span = 4, 40 * time.Millisecond, 60 * time.Millisecond, 1500 * time.Millisecond
	rec := newRecorder(t, service)
	res := runSpec(t, rec.url, workload.Clients{Mode: "closed", Users: users, Think: dur(think), Stop: dur(span)}, 1)
	law := float64(users) * span.Seconds() / (think + service).Seconds()
	if n := float64(res.Sent); n > law+users || n < 0.7*law {
		t.Fatalf("sent %v in %s, want about %v (users/(think+service) × time)", n, span, law)
	}
	// Each user waits for its answer: at most users requests at once.
	if res.Concurrency != users {
		t.Fatalf("concurrency %d, want %d", res.Concurrency, users)
	}
}

// A population of 50 users drawn from 127.0.1.0/26: the server sees
// connections from exactly the addresses the simulator's draw gives for
// the seed, and the history names them.
func TestSpecSourceAddressPopulation(t *testing.T) {
	rec := newRecorder(t, 0)
	spec := workload.Clients{Mode: "closed", Users: 50, Addresses: "127.0.1.0/26", Stop: dur(300 * time.Millisecond)}
	res := runSpec(t, rec.url, spec, 9)
	want := map[string]bool{}
	for _, a := range spec.UserAddrs(50, Draws(spec, 9)) {
		want[a.String()] = true
	}
	got, recorded := map[string]bool{}, map[string]bool{}
	for _, s := range rec.requests() {
		got[s.src] = true
	}
	for _, r := range res.Records {
		recorded[r.Client] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(recorded) != fmt.Sprint(want) {
		t.Fatalf("the server saw %d addresses %v,\nthe history %v,\nwant the %d drawn %v", len(got), got, recorded, len(want), want)
	}
}

// Addresses the host does not have are refused before anything is sent,
// with their list.
func TestSpecRefusesMissingSourceAddresses(t *testing.T) {
	rec := newRecorder(t, 0)
	c := workload.Clients{Users: 20, Addresses: "198.51.100.0/30"}
	_, err := Run(context.Background(), Config{Target: rec.url, Clients: &c})
	have := map[string]bool{} // the host's own addresses, by another way than binding
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				have[ipn.IP.String()] = true
			}
		}
	}
	var drawn []string
	for _, a := range c.UserAddrs(20, Draws(c, 0)) {
		if !have[a.String()] && !slices.Contains(drawn, a.String()) {
			drawn = append(drawn, a.String())
		}
	}
	slices.Sort(drawn)
	var bi BadInput
	if !errors.As(err, &bi) || !strings.Contains(err.Error(), "addresses: connections must come from addresses this host does not have: "+strings.Join(drawn, ", ")+" (") {
		t.Fatalf("got %v, want the list %v", err, drawn)
	}
	c = workload.Clients{Via: "198.51.100.7"}
	if _, err := Run(context.Background(), Config{Target: rec.url, Clients: &c}); err == nil || !strings.Contains(err.Error(), "via: connections must come from addresses this host does not have: 198.51.100.7") {
		t.Fatalf("via: got %v", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// Through another proxy (via): every connection comes from the via
// address, the user's address (from the population) is in
// X-Forwarded-For; paths are drawn from the list, headers carry the
// user's number, the Host and method are the spec's, and each user sends
// back the cookie it was given.
func TestSpecViaPathsHeadersCookies(t *testing.T) {
	rec := newRecorder(t, 0)
	spec := workload.Clients{Mode: "closed", Users: 3, Via: "127.0.2.9", Addresses: "10.9.0.0/24", Method: "POST",
		Paths: []string{"/a", "/b?x=1"}, Host: "shop.example", Headers: []string{"X-User: u{user}"},
		Think: dur(5 * time.Millisecond), Stop: dur(400 * time.Millisecond)}
	res := runSpec(t, rec.url, spec, 3)
	users := map[string]bool{}
	for _, a := range spec.UserAddrs(3, Draws(spec, 3)) {
		users[a.String()] = true
	}
	paths, names := map[string]int{}, map[string]int{}
	firstOf := map[string]bool{}
	for _, s := range rec.requests() {
		if s.src != "127.0.2.9" || !users[s.xff] || s.host != "shop.example" || s.method != "POST" {
			t.Fatalf("request %+v: want from 127.0.2.9, X-Forwarded-For one of %v, Host shop.example, POST", s, users)
		}
		paths[s.path]++
		names[s.user]++
		switch {
		case !firstOf[s.user]:
			firstOf[s.user] = true
			if s.cookie != "" {
				t.Fatalf("%s's first request already had cookie %q", s.user, s.cookie)
			}
		case s.cookie != "for-"+s.user:
			t.Fatalf("%s sent cookie %q, want for-%s", s.user, s.cookie, s.user)
		}
	}
	if len(names) != 3 || names["u1"] == 0 || names["u3"] == 0 || paths["/a"] == 0 || paths["/b?x=1"] == 0 || len(paths) != 2 {
		t.Fatalf("users %v, paths %v", names, paths)
	}
	for _, r := range res.Records {
		if !users[r.Client] {
			t.Fatalf("the history names client %q, want a user's address", r.Client)
		}
	}
}

// Every spec run is bounded: by its stop, by Duration (the earlier), by
// Requests, or by DefaultDuration.
func TestSpecIsBounded(t *testing.T) {
	for _, tc := range []struct {
		c        workload.Clients
		duration time.Duration
		requests int64
		want     time.Duration
	}{
		{workload.Clients{}, 0, 0, DefaultDuration},
		{workload.Clients{Stop: dur(3 * time.Second)}, 0, 0, 3 * time.Second},
		{workload.Clients{Stop: dur(3 * time.Second)}, time.Second, 0, time.Second},
		{workload.Clients{Stop: dur(3 * time.Second)}, 5 * time.Second, 0, 3 * time.Second},
		{workload.Clients{}, 0, 10, 0},
	} {
		cfg := Config{Target: "http://127.0.0.1:1/", Clients: &tc.c, Duration: tc.duration, Requests: tc.requests}
		if _, _, err := cfg.normalise(); err != nil || cfg.Duration != tc.want {
			t.Errorf("%+v: duration %s (%v), want %s", tc, cfg.Duration, err, tc.want)
		}
	}
	for _, cfg := range []Config{
		{Target: "http://127.0.0.1:1/", Clients: &workload.Clients{}, Rate: 5},
		{Target: "http://127.0.0.1:1/", Clients: &workload.Clients{Mode: "sideways"}},
		{Target: "tcp://127.0.0.1:1", Clients: &workload.Clients{Paths: []string{"/a"}}},
		{Target: "tcp://127.0.0.1:1", Clients: &workload.Clients{Method: "POST"}},
		{Target: "http://127.0.0.1:1/", Clients: &workload.Clients{Start: dur(time.Second), Stop: dur(time.Second)}},
	} {
		if _, _, err := cfg.normalise(); err == nil {
			t.Errorf("%+v: accepted", cfg)
		}
	}
}

// A lab's clients of a tcp listener, as `lblab load --spec` sends them to
// a tcp:// target: each request a TCP exchange (without -k a connection
// of its own) from the user's address, recorded as the simulator records
// it: status 0, the server's greeting as the backend, the user.
func TestSpecTCPExchanges(t *testing.T) {
	_, addr := startBackend(t, backend.Config{Name: "echo1"}, true)
	c := workload.Clients{Mode: "closed", Users: 5, Addresses: "127.0.2.0/29", Stop: dur(200 * time.Millisecond)}
	res, err := Run(t.Context(), Config{Target: "tcp://" + addr, Clients: &c, Seed: 3, Record: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unaccounted() != 0 || !res.OK() || len(res.Records) == 0 {
		t.Fatalf("%s; %d records", res.AccountingLine(), len(res.Records))
	}
	users := map[string]bool{}
	for _, a := range c.UserAddrs(5, Draws(c, 3)) {
		users[a.String()] = true
	}
	for _, r := range res.Records {
		if r.Status != 0 || r.Error != "" || r.Backend != "echo1" || !users[r.Client] {
			t.Fatalf("record %+v: want status 0, no error, backend echo1, a user's address of %v", r, users)
		}
	}
}
