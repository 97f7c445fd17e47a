package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

// TestHostsNameServersAsTheLabDoes: servers named as a lab names them
// ("app-a:PORT") are connected to at the address Options.Hosts gives,
// for requests and health probes alike, and keep their names in the
// history.
func TestHostsNameServersAsTheLabDoes(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	named := func(name, addr string) string {
		_, port, _ := net.SplitHostPort(addr)
		return name + ":" + port
	}
	an, bn := named("app-a", a.addr), named("app-b", b.addr)
	interval := 40 * time.Millisecond
	g := proxy.Group{Name: "web", Servers: servers(an, bn),
		NextUpstream: &proxy.NextUpstream{On: []string{"off"}},
		HealthCheck: &proxy.HealthCheck{Path: "/health", Interval: units.Of(interval), Timeout: units.Of(5 * time.Second),
			HealthyThreshold: 2, UnhealthyThreshold: 2}}
	g.Servers[1].MaxFails = intp(0)
	lo := netip.MustParseAddr("127.0.0.1")
	p := startProxy(t, lb(g), Options{Hosts: map[string]netip.Addr{"app-a": lo, "app-b": lo}})
	c := client()
	seen := map[string]int{}
	for range 4 {
		st, be, _ := get(t, c, p.url+"/")
		if st != 200 {
			t.Fatalf("status %d from %q", st, be)
		}
		seen[be]++
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Fatalf("answers by backend %v, want 2 each", seen)
	}
	b.kill()
	waitFor(t, checkWait(interval, 2), "app-b marked down", func() bool { return !p.up("web", 1) })
	p.stop(t)
	backends := map[string]int{}
	var health []string
	for _, e := range p.hist.events(t) {
		switch e.Kind {
		case history.KindRequest:
			backends[e.Backend]++
		case history.KindHealth:
			health = append(health, e.Server+" "+e.To)
		}
	}
	if backends[an] != 2 || backends[bn] != 2 || len(backends) != 2 {
		t.Fatalf("request events by backend %v, want %s and %s twice each", backends, an, bn)
	}
	if len(health) != 1 || health[0] != bn+" down" {
		t.Fatalf("health events %q, want [%s down]", health, bn)
	}
}

func TestResolveKeepsOtherAddresses(t *testing.T) {
	o := Options{Hosts: map[string]netip.Addr{"p1": netip.MustParseAddr("10.1.2.3")}}
	for in, want := range map[string]string{
		"p1:80": "10.1.2.3:80", "p2:80": "p2:80", "127.0.0.1:9": "127.0.0.1:9", "p1": "p1", "[::1]:80": "[::1]:80",
	} {
		if got := o.resolve(in); got != want {
			t.Errorf("resolve(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (&Options{}).resolve("p1:80"); !strings.EqualFold(got, "p1:80") {
		t.Errorf("no hosts: %q", got)
	}
}

// TestEpochIsTheHistorysOrigin: with Epoch 5 s ago, the history's t
// counts from it.
func TestEpochIsTheHistorysOrigin(t *testing.T) {
	a := newBackend(t, "a", nil)
	epoch := time.Now().Add(-5 * time.Second)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(a.addr)}), Options{Epoch: time.Unix(0, epoch.UnixNano())})
	get(t, client(), p.url+"/")
	since := time.Since(epoch)
	p.stop(t)
	reqs := p.hist.requests(t)
	if len(reqs) != 1 {
		t.Fatalf("%d request events", len(reqs))
	}
	if e := reqs[0]; time.Duration(e.Start) < 5*time.Second || time.Duration(e.T) > since {
		t.Fatalf("event %+v, want start after 5 s and end before %s", e, since)
	}
}

// TestSetHealthPathThroughTheAdminAPI: checks of a wrong path take every
// server down; PUT /health-path with the right one brings them up after
// rise probes, and a bad path or group is refused.
func TestSetHealthPathThroughTheAdminAPI(t *testing.T) {
	h := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/right" && r.Header.Get("User-Agent") == "lblab-health" {
			http.NotFound(w, r)
		}
	}
	a := newBackend(t, "a", h)
	interval := 40 * time.Millisecond
	g := proxy.Group{Name: "web", Servers: servers(a.addr),
		HealthCheck: &proxy.HealthCheck{Path: "/wrong", Interval: units.Of(interval), Timeout: units.Of(5 * time.Second),
			HealthyThreshold: 2, UnhealthyThreshold: 2}}
	p := startProxy(t, lb(g), Options{Admin: "127.0.0.1:0"})
	waitFor(t, checkWait(interval, 2), "a marked down", func() bool { return !p.up("web", 0) })
	admin := "http://" + p.SideAddr("admin").String() + "/health-path"
	put := func(query string) int {
		req, _ := http.NewRequest("PUT", admin+"?"+query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, bad := range []string{"group=web&path=right", "group=nope&path=/right", "group=web&path=/a%20b"} {
		if st := put(bad); st != 400 {
			t.Errorf("PUT %s: %d, want 400", bad, st)
		}
	}
	if st := put("group=web&path=/right"); st != 200 {
		t.Fatalf("PUT: %d", st)
	}
	waitFor(t, checkWait(interval, 2), "a marked up", func() bool { return p.up("web", 0) })
	st, be, _ := get(t, client(), p.url+"/")
	if st != 200 || be != "a" {
		t.Fatalf("after the fix: %d from %q", st, be)
	}
}

// TestEpochAheadStartsTheChecksThen: with Epoch ahead (a run's time 0,
// a moment after the proxy is ready), the active checks start at it,
// not before.
func TestEpochAheadStartsTheChecksThen(t *testing.T) {
	var mu sync.Mutex
	var first time.Time
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "lblab-health" {
			mu.Lock()
			if first.IsZero() {
				first = time.Now()
			}
			mu.Unlock()
		}
	})
	interval := 20 * time.Millisecond
	g := proxy.Group{Name: "web", Servers: servers(a.addr),
		HealthCheck: &proxy.HealthCheck{Path: "/health", Interval: units.Of(interval), Timeout: units.Of(5 * time.Second),
			HealthyThreshold: 2, UnhealthyThreshold: 2}}
	epoch := time.Now().Add(400 * time.Millisecond)
	startProxy(t, lb(g), Options{Epoch: time.Unix(0, epoch.UnixNano())})
	waitFor(t, checkWait(interval, 2)+time.Second, "a first probe", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !first.IsZero()
	})
	mu.Lock()
	defer mu.Unlock()
	if first.Before(epoch) {
		t.Fatalf("first probe %s before the epoch", epoch.Sub(first))
	}
}
