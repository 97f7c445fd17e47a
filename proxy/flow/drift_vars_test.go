package flow_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen"
	"github.com/lblab/lblab/loadgen/simload"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
)

// backendsOf returns the servers of the request events, in order.
func backendsOf(evs []history.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Kind == history.KindRequest {
			out = append(out, e.Backend)
		}
	}
	return out
}

// driftSpec runs spec (one user, three requests) through the simulated
// clients and proxy and through the real load generator and proxy on
// loopback, and returns the servers each world's requests went to.
func driftSpec(t *testing.T, addrs []string, cfg proxy.Config, spec workload.Clients) (simPicks, realPicks []string) {
	t.Helper()
	spec.Mode, spec.Users = "closed", 1
	k, p, log := startSim(t, cfg, addrs)
	c := simload.NewClients(k, p, spec, 0, time.Second, log)
	c.Start()
	k.Run(time.Second)
	simPicks = backendsOf(log.Events())[:3]

	s, hist, addr := startReal(t, cfg)
	if _, err := loadgen.Run(context.Background(), loadgen.Config{Target: "http://" + addr + "/",
		Clients: &spec, Requests: 3, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.Shutdown(ctx)
	realPicks = backendsOf(realHistory(t, hist))
	return simPicks, realPicks
}

// TestDriftHashKeyGeneratorFields: every request variable the load
// generator sends (Host, User-Agent, a Cookie or X-Forwarded-For given in
// the clients' headers:, X-Forwarded-For from via joined to one in
// headers:) hashes the same in the simulator and the real proxy: the same
// spec picks the same server in both worlds, request by request. Before,
// the simulated request had no Host or User-Agent and read a Cookie or
// X-Forwarded-For of headers: as absent: the key was "" and the simulator
// went round robin (3 servers for 3 requests) where the real proxy hashed
// (one server).
func TestDriftHashKeyGeneratorFields(t *testing.T) {
	addrs := realBackends(t, 3)
	cases := []struct {
		key  string
		spec func(i int) workload.Clients
	}{
		{"$http_host", func(i int) workload.Clients { return workload.Clients{Host: fmt.Sprintf("site%d.example", i)} }},
		{"$http_host", func(i int) workload.Clients {
			return workload.Clients{Headers: []string{fmt.Sprintf("Host: h%d.example", i)}}
		}},
		{"$http_user_agent", func(i int) workload.Clients { return workload.Clients{Host: fmt.Sprintf("s%d", i)} }},
		{"$http_user_agent", func(i int) workload.Clients {
			return workload.Clients{Headers: []string{fmt.Sprintf("User-Agent: agent/%d", i)}}
		}},
		{"$cookie_sid", func(i int) workload.Clients {
			return workload.Clients{Headers: []string{fmt.Sprintf("Cookie: a=1; SID=\"v%d\" ; b=2", i)}}
		}},
		{"$http_cookie", func(i int) workload.Clients {
			return workload.Clients{Headers: []string{fmt.Sprintf("Cookie: sid=%d", i)}}
		}},
		{"$http_x_forwarded_for", func(i int) workload.Clients {
			return workload.Clients{Headers: []string{fmt.Sprintf("X-Forwarded-For: 10.9.0.%d", i)}}
		}},
		{"$http_x_forwarded_for", func(i int) workload.Clients {
			return workload.Clients{Via: "127.0.0.1", Addresses: "127.0.0.1/32",
				Headers: []string{fmt.Sprintf("X-Forwarded-For: 10.9.0.%d", i)}}
		}},
		{"$http_connection", func(i int) workload.Clients { return workload.Clients{Host: fmt.Sprintf("s%d", i)} }},
		{"$http_content_length", func(i int) workload.Clients {
			return workload.Clients{Method: "POST", Host: fmt.Sprintf("s%d", i)}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			cfg := group(addrs, proxy.Group{Algorithm: "hash", HashKey: tc.key})
			spread := map[string]int{}
			for i := range 4 {
				simPicks, realPicks := driftSpec(t, addrs, cfg, tc.spec(i))
				if fmt.Sprint(simPicks) != fmt.Sprint(realPicks) {
					t.Errorf("spec %d: simulator picked %v, real proxy %v", i, simPicks, realPicks)
				}
				for _, b := range realPicks {
					spread[b]++
				}
			}
			t.Logf("real spread %v", spread)
		})
	}
}
