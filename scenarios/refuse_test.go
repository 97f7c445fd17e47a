package scenarios_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// refusal is one edit of a catalog lab, old replaced by new, that must be
// refused with one error: at the first occurrence of at within new, in
// field, with msg.
type refusal struct {
	name, src, old, new, at, field, msg string
}

func wantRefusals(t *testing.T, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := variant(t, tc.src, tc.old, tc.new)
			errs := parseErrors(t, src, nil)
			if len(errs) != 1 {
				t.Fatalf("want one error, got %d:\n%v", len(errs), errs)
			}
			e := errs[0]
			if i := strings.Index(tc.new, tc.at); i < 0 {
				t.Fatalf("%q is not in %q", tc.at, tc.new)
			} else if line, col := position(src, strings.Index(src, tc.new)+i); e.Line != line || e.Column != col {
				t.Errorf("error at %d:%d, want %d:%d (%q): %v", e.Line, e.Column, line, col, tc.at, e)
			}
			if e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %v; want field %s and a message with %q", e, tc.field, tc.msg)
			}
		})
	}
}

// A number written otherwise than as a plain decimal is refused with what
// the YAML library would read and what to write: 010 was octal 8 (nginx
// reads 10), 0x10 16, 1_000 1000, +5 5; null left the default; -.inf in a
// whole number was the smallest int64; a merge key (<<) bypassed the
// checks (2.9 ran as 2).
func TestParseRefusesNumberForms(t *testing.T) {
	weighted := catalogSource(t, "weighted")
	crash := catalogSource(t, "backend-crash")
	vrrp := failoverSource(t)
	wantRefusals(t, []refusal{
		{"octal weight", weighted, `{address: "a:80", weight: 5}`, `{address: "a:80", weight: 010}`, "010",
			"lb.groups[1].servers[0].weight", "010 is not a plain decimal number (YAML would read 8): write 10, not 010"},
		{"hex port", weighted, "port: 8001", "port: 0x1F41", "0x1F41", "lb.listeners[0].port",
			"(YAML would read 8001): write 8001, not 0x1F41"},
		{"0o threshold", crash, "unhealthy_threshold: 3}", "unhealthy_threshold: 0o3}", "0o3",
			"lb.groups[1].health_check.unhealthy_threshold", "write 3, not 0o3"},
		{"underscores in a rate", crash, "listener: passive, rate: 100}", "listener: passive, rate: 1_00}", "1_00",
			"clients[0].rate", "write 100, not 1_00"},
		{"plus sign", vrrp, "priority: 150", "priority: +150", "+150", "vrrp.vrrp_instance[0].priority", "write 150, not +150"},
		{"octal duration", vrrp, "at: 10s", "at: 010", "010", "faults[0].at", "(YAML would read 8): write 10, not 010"},
		{"octal fraction", crash, "tolerance: 0.05}", "tolerance: 00.05}", "00.05", "expect[5].share.tolerance", "write 0.05, not 00.05"},
		{"null duration", vrrp, "duration: 20s", "duration: ~", "~", "duration", "~ is not a duration: leave the field out for its default"},
		{"null count", crash, "min: 2, max: 12,", "min: 2, max: null,", "null", "expect[0].status_count.max", "null is not a whole number"},
		{"null number", crash, "listener: passive, rate: 100}", "listener: passive, rate: ~}", "~", "clients[0].rate", "~ is not a number"},
		{"-.inf weight", weighted, `{address: "a:80", weight: 5}`, `{address: "a:80", weight: -.inf}`, "-.inf",
			"lb.groups[1].servers[0].weight", "-.inf is not a whole number"},
		{"merge key", weighted, `{address: "b:80", weight: 1}`, `{<<: {weight: 2.9}, address: "b:80"}`, "2.9",
			"lb.groups[1].servers[1].<<.weight", "2.9 is not a whole number"},
	})
	t.Run("plain numbers load", func(t *testing.T) {
		src := variant(t, crash, "tolerance: 0.05}", "tolerance: .05}")
		src = variant(t, src, "listener: passive, rate: 100}", "listener: passive, rate: 1e2}")
		if _, err := labfile.Parse(labFile, []byte(src), nil); err != nil {
			t.Fatal(err)
		}
	})
}

// A check that cannot fail, or whose explicit value was replaced by a
// default, is refused: percentile 0 ran as p99, a slow factor 0 as 10, a
// count min -1 or a tolerance holding every share cannot fail, max below
// min cannot pass, status 999 is no HTTP status.
func TestParseRefusesChecksThatCannotFail(t *testing.T) {
	crash := catalogSource(t, "backend-crash")
	lc := catalogSource(t, "least-conn-vs-round-robin")
	weighted := catalogSource(t, "weighted")
	vrrp := failoverSource(t)
	preempt := catalogSource(t, "vrrp-preempt")
	slow := `{name: c3 returns, name_zh: "c3 恢复", at: 40s, kind: restore, target: "c3:80"}`
	wantRefusals(t, []refusal{
		{"percentile 0", lc, "percentile: 99, min: 300ms", "percentile: 0, min: 300ms", "0", "expect[0].latency.percentile",
			"want a percentile more than 0 and at most 100 (100: the largest), got 0 (leave it out for 99)"},
		{"slow factor 0", crash, slow, slow + "\n  - {at: 50s, kind: slow, target: \"c1:80\", factor: 0}", "0}", "faults[6].factor",
			"want a factor more than 0, got 0 (leave it out for 10)"},
		{"factor on a crash", crash, `kind: crash, target: "p3:80"}`, `kind: crash, target: "p3:80", factor: 5}`, "5}",
			"faults[0].factor", "a crash fault has no factor (only slow faults do)"},
		{"path on a crash", crash, `kind: crash, target: "p3:80"}`, `kind: crash, target: "p3:80", path: /x}`, "/x}",
			"faults[0].path", "a crash fault has no path"},
		{"min -1", crash, "min: 2, max: 12,", "min: -1, max: 12,", "-1", "expect[0].status_count.min", "min -1 cannot fail"},
		{"max below min", crash, "min: 2, max: 12,", "min: 13, max: 12,", "12", "expect[0].status_count.max", "max 12 is below min 13"},
		{"max -1", crash, "class: 5xx, max: 0,", "class: 5xx, max: -1,", "-1", "expect[4].status_count.max", "max -1 cannot pass"},
		{"no bound", crash, "{group: both, class: 5xx, max: 0, metric: errors_both}", "{group: both, class: 5xx, metric: errors_both}", "{", "expect[4].status_count",
			"neither min (more than 0) nor max cannot fail"},
		{"status 999", crash, "class: 5xx, max: 0,", "status: 999, max: 0,", "999", "expect[4].status_count.status",
			"want an HTTP status 100..599, got 999"},
		{"latency max below min", lc, "percentile: 99, min: 300ms", "percentile: 99, min: 300ms, max: 100ms", "100ms",
			"expect[0].latency.max", "max 100ms is below min 300ms"},
		{"latency without bounds", lc, "{group: rr, percentile: 99, min: 300ms,", "{group: rr, percentile: 99,", "{", "expect[0].latency",
			"cannot fail"},
		{"tolerance 1", weighted, `server: "a:80", tolerance: 0.002}`, `server: "a:80", tolerance: 1}`, "1}",
			"expect[2].share.tolerance", "holds every share, so the check cannot fail"},
		{"count -1", vrrp, "count: 1}", "count: -1}", "-1", "expect[1].vip_owner_changes.count", "never below 0"},
		{"failover max below min", vrrp, "by: r2, window: theory}", "by: r2, min: 3s, max: 2s}", "2s", "expect[0].failover.max",
			"max 2s is below min 3s"},
		{"window none with a metric", preempt, "by: r3, window: none}", "by: r3, window: none, metric: x_s}", "x_s",
			"expect[5].failover.metric", "window: none checks that the router does not become master: it has no metric"},
		{"ks_max 0", vrrp, "ks_max: 0.05", "ks_max: 0", "0", "sweep.ks_max", "got 0 (leave it out for 0.05)"},
		{"ks_max without uniform", vrrp, "uniform: true\n  ks_max: 0.05", "uniform: false\n  ks_max: 0.05", "0.05", "sweep.ks_max", "set uniform: true"},
	})
}

// Ratios outside [0, 1] were refused before this change and still are.
func TestParseRefusesRatiosOutside01(t *testing.T) {
	crash := catalogSource(t, "backend-crash")
	vrrp := failoverSource(t)
	wantRefusals(t, []refusal{
		{"expected", crash, "expected: 0.5,", "expected: 1.5,", "1.5", "expect[5].share.expected", "want a share 0..1"},
		{"tolerance", crash, "tolerance: 0.05}", "tolerance: -0.05}", "-0.05", "expect[5].share.tolerance", "want 0..1"},
		{"loss", vrrp, "latency: 100us\n", "latency: 100us\n      loss: 1.5\n", "1.5", "topology.segments[0].loss", "not a probability"},
	})
}

// Zero where zero would be replaced by a default is refused, naming the
// default: a health check's thresholds, interval and port, a client's
// rate, users and timeout, the network's latencies, a router's priority and
// version, a script's fall.
func TestParseRefusesExplicitZeroDefaults(t *testing.T) {
	crash := catalogSource(t, "backend-crash")
	weighted := catalogSource(t, "weighted")
	vrrp := failoverSource(t)
	track := catalogSource(t, "vrrp-track-script")
	wantRefusals(t, []refusal{
		{"unhealthy_threshold 0", crash, "unhealthy_threshold: 3}", "unhealthy_threshold: 0}", "0}",
			"lb.groups[1].health_check.unhealthy_threshold", "must be at least 1, got 0 (leave it out for 3)"},
		{"interval 0", crash, "interval: 2s,", "interval: 0,", "0,", "lb.groups[1].health_check.interval", "must be more than 0 (leave it out for 2s)"},
		{"check port 0", crash, "path: /health, interval", "path: /health, port: 0, interval", "0,",
			"lb.groups[1].health_check.port", "want a port 1..65535, got 0"},
		{"check port 70000", crash, "path: /health, interval", "path: /health, port: 70000, interval", "70000",
			"lb.groups[1].health_check.port", "want a port 1..65535, got 70000"},
		{"rate 0", weighted, "{listener: smooth, rate: 70,", "{listener: smooth, rate: 0,", "0,", "clients[1].rate",
			"got 0 (leave it out for 100"},
		{"users 0", weighted, "{listener: smooth, rate: 70,", "{listener: smooth, users: 0, rate: 70,", "0,", "clients[1].users",
			"want at least 1 user, got 0"},
		{"timeout 0", weighted, "{listener: smooth, rate: 70,", "{listener: smooth, timeout: 0, rate: 70,", "0,", "clients[1].timeout",
			"a client's timeout must be more than 0, got 0s (leave it out for 10s)"},
		{"timeout negative", weighted, "{listener: smooth, rate: 70,", "{listener: smooth, timeout: -1s, rate: 70,", "-1s",
			"clients[1].timeout", "a client's timeout must be more than 0, got -1s (leave it out for 10s)"},
		{"timeout not a duration", weighted, "{listener: smooth, rate: 70,", "{listener: smooth, timeout: soon, rate: 70,", "soon",
			"clients[1].timeout", "soon"},
		{"client latency 0", weighted, "clients:\n", "network: {client_latency: 0}\nclients:\n", "0}", "network.client_latency",
			"must be more than 0"},
		{"priority 0", vrrp, "priority: 150", "priority: 0", "0", "vrrp.vrrp_instance[0].priority", "must be 1..255, got 0"},
		{"script fall 0", track, "fall: 2", "fall: 0", "0", "vrrp.vrrp_script.chk_nginx.fall", "must be at least 1, got 0"},
	})
}

// Two expectations that store the same metric (results.json and a sweep
// key metrics by name), or one that stores a metric a run stores itself,
// are refused, naming both.
func TestParseRefusesMetricCollisions(t *testing.T) {
	crash := catalogSource(t, "backend-crash")
	src := variant(t, crash, "metric: errors_active", "metric: errors_passive")
	errs := parseErrors(t, src, nil)
	if len(errs) != 2 {
		t.Fatalf("want two errors, got %v", errs)
	}
	wantError(t, src, "", "expect[0].status_count.metric", "metric errors_passive is also stored by expect[1].status_count.metric")
	wantError(t, src, "errors_passive}", "expect[1].status_count.metric", "metric errors_passive is also stored by expect[0].status_count.metric")
	// Two failover checks with the default metric, failover_s.
	preempt := catalogSource(t, "vrrp-preempt")
	src = variant(t, preempt, "window: theory, metric: preempt_s}", "window: theory}")
	wantError(t, src, "", "expect[1].failover", "metric failover_s is also stored by expect[0].failover")
	lc := catalogSource(t, "least-conn-vs-round-robin")
	wantRefusals(t, []refusal{
		{"a run's own metric", lc, "metric: p99_rr_ms", "metric: p99_ms", "p99_ms", "expect[0].latency.metric",
			"metric p99_ms is one a run stores itself"},
	})
}

// backend: none on a server whose address has a simulated backend is a
// contradiction; fields the chosen service law, the client mode, the
// health check type, the persistence mode or the algorithm do not read
// are refused, not ignored.
func TestParseRefusesIgnoredFields(t *testing.T) {
	weighted := catalogSource(t, "weighted")
	crash := catalogSource(t, "backend-crash")
	wantRefusals(t, []refusal{
		{"backend none with a backend", weighted, `{address: "b:80", weight: 1}`, `{address: "b:80", weight: 1, backend: none}`, "none}",
			"lb.groups[1].servers[1].backend", "backend: none says no simulated backend answers b:80, but backends has one"},
		{"mean with lognormal", crash, "{law: lognormal, median: 20ms, p99: 80ms}}", "{law: lognormal, mean: 5ms, median: 20ms, p99: 80ms}}",
			"5ms", "backends[0].service.mean", "law lognormal has no mean"},
		{"p99 with constant", weighted, `  - {address: "a:80"}`, `  - {address: "a:80", service: {mean: 5ms, p99: 50ms}}`, "50ms",
			"backends[2].service.p99", "law constant has no p99"},
		{"rate of closed clients", weighted, "{listener: smooth, rate: 70, arrival: constant}", "{listener: smooth, mode: closed, rate: 70}", "70",
			"clients[1].rate", "closed clients have no rate"},
		{"think of open clients", weighted, "{listener: smooth, rate: 70, arrival: constant}", "{listener: smooth, rate: 70, think: 1s}", "1s",
			"clients[1].think", "open clients do not wait for answers"},
		{"path of a tcp check", crash, "{type: http, path: /health, interval: 2s, timeout: 5s, healthy_threshold: 3, unhealthy_threshold: 3}\n      next",
			"{type: tcp, path: /health, interval: 2s, timeout: 5s, healthy_threshold: 3, unhealthy_threshold: 3}\n      next", "/health",
			"lb.groups[1].health_check.path", "a tcp health check only connects: it has no path"},
		{"cookie of source_ip", weighted, "    - name: smooth\n", "    - name: smooth\n      persistence: {mode: source_ip, cookie: X}\n", "X}",
			"lb.groups[1].persistence.cookie", "only mode cookie inserts a cookie"},
		{"hash_key of round_robin", weighted, "    - name: smooth\n", "    - name: smooth\n      hash_key: $request_uri\n", "$request_uri",
			"lb.groups[1].hash_key", "only hash and hash_consistent read a hash_key"},
		// The simulator has no udp relay: it ran such a listener as HTTP
		// (status 200, an HTTP latency, 5xx checks accepted).
		{"udp listener", weighted, "{name: smooth, port: 8002, group: smooth}", "{name: smooth, port: 8002, protocol: udp, group: smooth}", "udp,",
			"lb.listeners[1].protocol", "listener smooth is udp"},
	})
}

// A sweep of more than MaxSeeds seeds, or one whose last seed passes the
// largest seed and wraps to 0, is refused before anything is allocated.
func TestSweepRefusesTooManySeedsAndWrap(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a sweep that started would stop at once
	lab, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		first uint64
		n     int
		msg   string
	}{
		{1, scenarios.MaxSeeds + 1, "--seeds must be at most 100000, got 100001"},
		{1, 100_000_000, "at most 100000"},
		{math.MaxUint64, 2, "--seed 18446744073709551615 with --seeds 2 runs past the largest seed (18446744073709551615): start at 18446744073709551614 at most"},
	} {
		runs := 0
		_, err := scenarios.RunSweepWith(ctx, lab, tc.first, tc.n, 1, func(context.Context, uint64) (*scenarios.Outcome, error) {
			runs++
			return nil, ctx.Err()
		}, nil)
		var bad labfile.BadInput
		if err == nil || !errors.As(err, &bad) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("seeds %d from %d: %v, want bad input %q", tc.n, tc.first, err, tc.msg)
		}
	}
	if err := scenarios.CheckSeeds(math.MaxUint64-9, 10); err != nil {
		t.Errorf("the last ten seeds: %v", err)
	}
}
