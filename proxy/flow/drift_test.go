package flow_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen/simload"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/server"
	"github.com/lblab/lblab/proxy/simproxy"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/units"
)

// The drift tests run the same input through the simulator
// (proxy/simproxy) and the real server on loopback (proxy/server) and
// compare the choices: both drive this package's core, so they must
// agree.

// realBackends starts n HTTP servers on 127.0.0.1:0 that name themselves
// (their address) in X-Backend, and returns their addresses.
func realBackends(t *testing.T, n int) []string {
	var addrs []string
	for range n {
		var addr string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend", addr)
			io.WriteString(w, "ok")
		}))
		addr = srv.Listener.Addr().String()
		t.Cleanup(srv.Close)
		addrs = append(addrs, addr)
	}
	return addrs
}

// realHistory reads the real server's history file (complete once the
// server has shut down).
func realHistory(t *testing.T, path string) []history.Event {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := history.ReadJSONL(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// startReal runs cfg (a copy: validation fills it in) on loopback.
func startReal(t *testing.T, cfg proxy.Config) (*server.Server, string, string) {
	return startRealWith(t, cfg, server.Options{})
}

// startRealWith runs cfg on loopback with opt (its history, logger and
// listeners set here).
func startRealWith(t *testing.T, cfg proxy.Config, opt server.Options) (*server.Server, string, string) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	hist, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hist.Close() })
	opt.History, opt.Logger = hist, slog.New(slog.DiscardHandler)
	opt.Listen = func(proxy.Listener) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
	s, err := server.New(&cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, path, s.Addr(cfg.Listeners[0].Name).String()
}

// startSim builds the simulator's proxy for cfg (a copy) over running
// simulated backends at addrs.
func startSim(t *testing.T, cfg proxy.Config, addrs []string) (*sim.Kernel, *simproxy.Proxy, *history.Log) {
	if ps := proxy.Validate(&cfg); len(ps) > 0 {
		t.Fatal(ps)
	}
	k := sim.NewKernel(1)
	var bs []simproxy.Server
	for _, a := range addrs {
		bs = append(bs, simload.NewBackend(k, workload.Backend{Address: a}))
	}
	log := &history.Log{}
	p, err := simproxy.New(k, &cfg, bs, simproxy.Network{}, log)
	if err != nil {
		t.Fatal(err)
	}
	return k, p, log
}

func group(addrs []string, g proxy.Group) proxy.Config {
	g.Name = "g"
	for _, a := range addrs {
		g.Servers = append(g.Servers, proxy.Server{Address: a})
	}
	return proxy.Config{Listeners: []proxy.Listener{{Name: "web", Port: 1, Group: "g"}}, Groups: []proxy.Group{g}}
}

// TestDriftHashKeyHeader: hash_key $http_x_user sends each user to one
// server in both worlds, the same server. Before the one core the
// simulated request had no header fields: the key was "" for every user
// and the simulator spread them round robin (33/33/33) while the real
// proxy hashed the header.
func TestDriftHashKeyHeader(t *testing.T) {
	addrs := realBackends(t, 3)
	for _, alg := range []string{"hash", "hash_consistent"} {
		t.Run(alg, func(t *testing.T) {
			cfg := group(addrs, proxy.Group{Algorithm: alg, HashKey: "$http_x_user"})
			const users = 30
			// the simulator: user i sends two requests, 1 ms apart
			k, p, _ := startSim(t, cfg, addrs)
			simPick := map[string]string{}
			for i := range 2 * users {
				user := fmt.Sprintf("u%d", i%users)
				k.At(time.Duration(i)*time.Millisecond, func() {
					p.Handle(simproxy.Request{Listener: "web", Conn: netip.MustParseAddr("10.0.0.1"), Method: "GET", URI: "/",
						Headers: map[string]string{"x-user": user}}, func(r simproxy.Response) {
						if prev, ok := simPick[user]; ok && prev != r.Backend {
							t.Errorf("sim: %s went to %s, then %s", user, prev, r.Backend)
						}
						simPick[user] = r.Backend
					})
				})
			}
			k.Run(time.Second)
			// the real proxy, the same requests
			_, _, addr := startReal(t, cfg)
			realPick := map[string]string{}
			c := &http.Client{Timeout: 5 * time.Second}
			for i := range 2 * users {
				user := fmt.Sprintf("u%d", i%users)
				req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
				req.Header.Set("X-User", user)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				got := resp.Header.Get("X-Backend")
				if prev, ok := realPick[user]; ok && prev != got {
					t.Errorf("real: %s went to %s, then %s", user, prev, got)
				}
				realPick[user] = got
			}
			spread := map[string]int{}
			for u := range users {
				user := fmt.Sprintf("u%d", u)
				if simPick[user] != realPick[user] {
					t.Errorf("%s: simulator picked %s, real proxy %s", user, simPick[user], realPick[user])
				}
				spread[realPick[user]]++
			}
			if len(spread) < 2 {
				t.Errorf("every user on one server: %v", spread)
			}
		})
	}
}

// TestDriftHealthCheckPort: a health check on a port where nothing
// listens takes every server down in both worlds (refused), as nginx's
// and the cloud balancers' checks of health_check port do. Before, the
// simulator probed the server's own port and kept them up.
func TestDriftHealthCheckPort(t *testing.T) {
	addrs := realBackends(t, 2)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	var p int
	fmt.Sscan(port, &p)
	interval := 100 * time.Millisecond
	cfg := group(addrs, proxy.Group{HealthCheck: &proxy.HealthCheck{Port: p, Interval: units.Of(interval),
		Timeout: units.Of(time.Second), UnhealthyThreshold: 2}})
	k, _, log := startSim(t, cfg, addrs)
	k.Run(time.Second)
	simDown := downs(log.Events())

	s, hist, _ := startReal(t, cfg)
	// Both servers fail their second probe after about 2 intervals; wait
	// for the transitions with a bound of 20 intervals.
	deadline := time.Now().Add(20 * interval)
	for time.Now().Before(deadline) {
		st := s.Status()
		down := 0
		for _, srv := range st.Groups[0].Servers {
			if srv.Active == "down" {
				down++
			}
		}
		if down == len(addrs) {
			break
		}
		time.Sleep(interval / 4)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.Shutdown(ctx) // the history is complete afterwards
	realDown := downs(realHistory(t, hist))
	if len(simDown) != len(addrs) || fmt.Sprint(simDown) != fmt.Sprint(realDown) {
		t.Errorf("servers down: simulator %v, real proxy %v", simDown, realDown)
	}
}

// downs returns server → reason of the health events that took it down.
func downs(evs []history.Event) map[string]string {
	out := map[string]string{}
	for _, e := range evs {
		if e.Kind == history.KindHealth && e.To == "down" {
			out[e.Server] = e.Reason
		}
	}
	return out
}
