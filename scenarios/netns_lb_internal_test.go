package scenarios

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/scenarios/labfile"
)

// writeSpecFile writes v as a role's spec file (specFile) at path.
func writeSpecFile(path string, v any) error {
	f, err := specFile(filepath.Base(path), v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, f.Data, 0o644)
}

// TestSpecFilesReadBack: the files a real load-balancer run writes for
// its roles (the proxy's lb section, each server's and each client
// group's spec) read back as the lab has them, for every catalog lab.
func TestSpecFilesReadBack(t *testing.T) {
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		lab, err := Load(e.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if lab.LB == nil {
			continue
		}
		n++
		dir := t.TempDir()
		lb := filepath.Join(dir, "lb.yaml")
		if err := writeSpecFile(lb, lab.LB); err != nil {
			t.Fatal(err)
		}
		got, err := labfile.LoadLB(lb, nil)
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		if !reflect.DeepEqual(got, lab.LB) {
			t.Errorf("%s: lb reads back as\n%+v, want\n%+v", e.Name, got, lab.LB)
		}
		for _, b := range lab.Backends {
			p := filepath.Join(dir, "b.yaml")
			if err := writeSpecFile(p, map[string]any{"backends": []workload.Backend{b}}); err != nil {
				t.Fatal(err)
			}
			got, err := labfile.LoadBackend(p, "")
			if err != nil || !reflect.DeepEqual(*got, b) {
				t.Errorf("%s: backend %s reads back as %+v (%v)", e.Name, b.Address, got, err)
			}
		}
		for i, c := range lab.Clients {
			p := filepath.Join(dir, "c.yaml")
			if err := writeSpecFile(p, map[string]any{"clients": []workload.Clients{c}}); err != nil {
				t.Fatal(err)
			}
			got, err := labfile.LoadClients(p, "")
			if c.Name == "" {
				c.Name = "clients0" // the simulator's name of the file's only element
			}
			if err != nil || !reflect.DeepEqual(*got, c) {
				t.Errorf("%s: clients[%d] reads back as %+v (%v)", e.Name, i, got, err)
			}
		}
	}
	if n < 8 {
		t.Fatalf("%d load-balancer labs in the catalog, want at least 8", n)
	}
}

// TestLBNetnsRefusals: what a load-balancer lab cannot do on real hosts
// is refused before anything starts, naming it.
func TestLBNetnsRefusals(t *testing.T) {
	base := `name: x
title: x
duration: 5s
lb:
  listeners: [{port: 8000, group: web}]
  groups: [{name: web, servers: [{address: "a:80"}]}]
backends: [{address: "a:80"}]
`
	for what, src := range map[string]string{
		"198.18.0.9 is in 198.18.0.0/16":      base + "clients: [{rate: 10, via: 198.18.0.9}]\n",
		"198.18.128.0/17 is in 198.18.0.0/16": base + "clients: [{rate: 10, users: 5, addresses: 198.18.128.0/17}]\n",
	} {
		lab, err := labfile.Parse("x.yaml", []byte(src), nil)
		if err != nil {
			t.Fatalf("%s: the lab itself is refused: %v", what, err)
		}
		if err := lbRealRefusal(lab); err == nil || !strings.Contains(err.Error(), what) {
			t.Errorf("want a refusal saying %q, got %v", what, err)
		}
	}
	vrrp, err := Load("vrrp-failover", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := lbRealRefusal(vrrp); err == nil {
		t.Error("a VRRP lab is not a load-balancer lab")
	}
}

// TestLBClientAddrs: the source addresses a client host must hold are
// those lblab load draws for the same seed: its users' with addresses:,
// the proxy's with via:, none otherwise.
func TestLBClientAddrs(t *testing.T) {
	if got := lbClientAddrs(workload.Clients{Rate: 10}, 1); len(got) != 0 {
		t.Errorf("no population: %v", got)
	}
	if got := lbClientAddrs(workload.Clients{Rate: 10, Users: 1000, Via: "192.0.2.10"}, 1); len(got) != 1 || got[0] != netip.MustParseAddr("192.0.2.10") {
		t.Errorf("via: %v", got)
	}
	got := lbClientAddrs(workload.Clients{Rate: 10, Users: 300, Addresses: "10.0.0.0/8"}, 7)
	if len(got) < 290 || len(got) > 300 {
		t.Fatalf("300 users in 10.0.0.0/8: %d addresses", len(got))
	}
	for _, a := range got {
		if !netip.MustParsePrefix("10.0.0.0/8").Contains(a) {
			t.Fatalf("%s outside 10.0.0.0/8", a)
		}
	}
	if again := lbClientAddrs(workload.Clients{Rate: 10, Users: 300, Addresses: "10.0.0.0/8"}, 7); !reflect.DeepEqual(again, got) {
		t.Error("the same seed draws other addresses")
	}
}

// TestCompareWithLoadBalancerMetrics: a sweep compared with the
// simulator's gets, per metric, the reference values and their KS
// distance (metric ks_to_sim), and a check per group's error count
// against the simulator's range widened by one health interval's worth
// of the failing server's requests: passing for the same law, failing
// for a count far outside; the report holds the reference.
func TestCompareWithLoadBalancerMetrics(t *testing.T) {
	lab, err := Load("backend-crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := lbErrorSlack(lab, "active"); got != 67 {
		t.Errorf("active: one interval (2 s) of a third of 100 req/s is 67 requests, got %v", got)
	}
	if got := lbErrorSlack(lab, "passive"); got != 0 {
		t.Errorf("passive (no active checks): %v, want 0", got)
	}
	sweep := func(first uint64, n int) *SweepOutcome {
		s, err := RunSweep(context.Background(), lab, first, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ref := sweep(100, 30)
	real := sweep(1, 5)
	real.CompareWith(ref)
	ks, _ := real.Results.Metrics["ks_to_sim"].(map[string]any)
	for _, m := range []string{"errors_active", "errors_passive", "health_down_delay_s", "requests_failed"} {
		if d, ok := ks[m].(float64); !ok || d < 0 || d > 1 {
			t.Errorf("ks_to_sim[%s] = %v", m, ks[m])
		}
	}
	for _, m := range real.Metrics {
		if m.Name == "errors_active" && (len(m.Reference) != 30 || m.ReferenceLabel != "simulator, 30 seeds") {
			t.Errorf("errors_active's reference: %d values, label %q", len(m.Reference), m.ReferenceLabel)
		}
	}
	var checks []string
	for _, x := range real.Results.Expectations {
		if strings.HasSuffix(x.Name, ": as in the simulator") {
			checks = append(checks, x.Name)
			if !x.Passed {
				t.Errorf("%s: %s, expected %s", x.Name, x.Observed, x.Expected)
			}
		}
	}
	if len(checks) != 3 {
		t.Errorf("checks %q, want one per group's error count", checks)
	}
	dir := t.TempDir()
	if _, err := real.Write(dir); err != nil {
		t.Fatal(err)
	}
	rep, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || !strings.Contains(string(rep), `"reference"`) || !strings.Contains(string(rep), `"ks_reference"`) {
		t.Errorf("report.json without the reference: %v", err)
	}

	far := sweep(1, 5)
	for i := range far.Metrics {
		if far.Metrics[i].Name == "errors_active" {
			far.Metrics[i].Values[0] += 500
		}
	}
	far.CompareWith(ref)
	if far.Results.Passed {
		t.Error("an error count 500 above the simulator's range passes")
	}
}
