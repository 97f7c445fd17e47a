package scenarios_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// haSource is the text of the catalog's high-availability pair.
func haSource(t *testing.T) string { return catalogSource(t, "ha-pair-master-crash") }

// A clients element whose to no host or VIP holds is refused at its to,
// with its line; so are the other misplacements of the HA pair.
func TestHARefusesMisplacedRoles(t *testing.T) {
	src := haSource(t)
	for _, tc := range []struct{ name, old, new, at, field, msg string }{
		{"to nobody holds", "to: 10.80.0.100, rate", "to: 10.80.0.200, rate", "10.80.0.200", "clients[0].to",
			"no host or VIP holds 10.80.0.200"},
		{"to not an address", "to: 10.80.0.100, rate", "to: lb1, rate", "lb1, rate", "clients[0].to", "want an IPv4 address"},
		{"from no host", "from: client1,", "from: client9,", "client9", "clients[0].from", `no host "client9"`},
		{"unfilled backend role", "roles: [client]", "roles: [client, backend]", "backend]", "topology.hosts[4].roles[1]",
			"no backend's address names client1"},
		{"unknown role", "roles: [client]", "roles: [client, dns]", "dns]", "topology.hosts[4].roles[1]",
			`want proxy, vrrp, backend or client, got "dns"`},
		{"proxy_crash of a host without a proxy", "kind: crash\n    target: lb1", "kind: proxy_crash\n    target: web1",
			"web1\nexpect", "faults[0].target", `no host "web1" with the proxy role`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, variant(t, src, tc.old, tc.new), tc.at, tc.field, tc.msg)
		})
	}
}

// A lab with vrrp and a load balancer but no proxy host is refused at
// lb; its clients without from are then not blamed on their own.
func TestHARefusesUnplacedProxy(t *testing.T) {
	src := strings.ReplaceAll(haSource(t), "roles: [vrrp, proxy]", "roles: [vrrp]")
	errs := parseErrors(t, src, nil)
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	if len(errs) != 2 || fields[0] != "lb" || fields[1] != "clients[0].from" {
		t.Fatalf("want errors at lb and clients[0].from, got %v", errs)
	}
}

// The simulator plays the HA pair; the real worlds refuse it (their
// capabilities have no HA) before anything starts.
func TestHAWorldsRefuse(t *testing.T) {
	lab, err := scenarios.Load("ha-pair-master-crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !lab.HA() {
		t.Fatal("the lab is not HA")
	}
	if err := (scenarios.Capabilities{Roles: []scenarios.Role{scenarios.RoleVRRP, scenarios.RoleProxy, scenarios.RoleBackend, scenarios.RoleClients},
		Faults: labfile.FaultKinds, LinkShaping: true}).Refuse("netns", lab); err == nil || !strings.Contains(err.Error(), "high-availability") {
		t.Fatalf("a world without HA: want a refusal naming the high-availability lab, got %v", err)
	}
}

// haRun runs the HA pair in the simulator, its fault of kind kind ("":
// as written; another kind drops the expectations, whose theory is the
// crash's).
func haRun(t *testing.T, seed uint64, kind string) *scenarios.Outcome {
	t.Helper()
	src := haSource(t)
	if kind != "" {
		src = strings.Replace(src, "kind: crash", "kind: "+kind, 1)
		src = src[:strings.Index(src, "expect:")] + src[strings.Index(src, "\n# In Chinese"):]
	}
	return runCatalogSource(t, "ha-pair-master-crash", src, seed)
}

// The master's crash: client1's requests carry their host and who
// answered; before the crash lb1 answers, after the takeover lb2; the
// probes see lb1, then timeouts, then lb2; no request is lost from the
// books.
func TestHAMasterCrashTraffic(t *testing.T) {
	o := haRun(t, 1, "")
	var crash, takeover history.Stamp
	for _, e := range o.Events {
		if e.Kind == history.KindFault {
			crash = e.T
		}
		if e.Kind == history.KindVIP && e.Owner == "lb2" {
			takeover = e.T
		}
	}
	if crash == 0 || takeover <= crash {
		t.Fatalf("crash %v, takeover %v", crash, takeover)
	}
	answered := map[string]int{}
	var probesDown, probesLB2 int
	for _, e := range o.Events {
		switch e.Kind {
		case history.KindRequest:
			if e.Src != "client1" {
				t.Fatalf("request without its host: %+v", e)
			}
			if e.Error == "" {
				answered[e.Answer]++
				if e.Answer == "lb1" && e.T > crash || e.Answer == "lb2" && e.T < takeover {
					t.Fatalf("answered by %s at %v (crash %v, takeover %v)", e.Answer, e.T, crash, takeover)
				}
			}
		case history.KindNet:
			if !*e.OK && e.Error == "timeout" && e.T > crash {
				probesDown++
			}
			if *e.OK && e.Answer == "lb2" {
				probesLB2++
				if e.T < takeover {
					t.Fatalf("probe answered by lb2 before it took over: %+v", e)
				}
			}
		}
	}
	if answered["lb1"] == 0 || answered["lb2"] == 0 || probesDown == 0 || probesLB2 == 0 {
		t.Fatalf("answered %v, probes timed out %d, answered by lb2 %d", answered, probesDown, probesLB2)
	}
	if o.Results.Metrics["outage_s"].(float64) < (takeover - crash).Seconds() {
		t.Fatalf("outage %v shorter than the takeover %v", o.Results.Metrics["outage_s"], (takeover - crash).Seconds())
	}
}

// proxy_crash on the master: the VIP stays on lb1, whose kernel refuses
// every new connection and resets the old ones: errors until the end,
// none a timeout once the resets are in; the outage runs to the end.
func TestHAProxyCrashRefuses(t *testing.T) {
	o := haRun(t, 1, "proxy_crash")
	classes := o.Results.Metrics["requests_failed_by_class"].(map[string]any)
	if classes["refused"] == nil || classes["refused"].(int) < 1000 {
		t.Fatalf("want over a thousand refused requests, got %v", classes)
	}
	var crash history.Stamp
	for _, e := range o.Events {
		if e.Kind == history.KindFault {
			crash = e.T
		}
	}
	b, _ := json.Marshal(o.Results.Metrics)
	if left := o.Lab.RunDuration().Seconds() - crash.Seconds(); o.Results.Metrics["outage_s"].(float64) < left-0.01 {
		t.Fatalf("want the outage to run from the fault to the end (%.3f s), got %s", left, b)
	}
}

// The same seed gives the same history byte for byte (the catalog's
// suite checks every lab; this one with a pause of the master too).
func TestHADeterministic(t *testing.T) {
	for _, kind := range []string{"", "pause"} {
		a, b := haRun(t, 3, kind), haRun(t, 3, kind)
		ja, _ := json.Marshal(a.Events)
		jb, _ := json.Marshal(b.Events)
		if string(ja) != string(jb) || len(a.Events) < 1000 {
			t.Fatalf("%q: two runs of seed 3 differ (or hold only %d events)", kind, len(a.Events))
		}
	}
}
