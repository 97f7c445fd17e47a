package labfile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
)

// writtenPaths returns the field path (as errors print it:
// faults[2].factor) of every value written under node, with merge keys
// (<<: *base) and aliases resolved as the YAML library decodes them. It
// tells an explicit 0 from a field left out, where 0 is not the default.
func writtenPaths(node ast.Node, prefix string) map[string]bool {
	var v any
	if err := yaml.NodeToValue(node, &v); err != nil {
		return nil // decoded once already: not reached
	}
	paths := map[string]bool{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		if path != "" {
			paths[path] = true
		}
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(x, joinPath(path, k))
			}
		case map[any]any:
			for k, x := range v {
				walk(x, joinPath(path, fmt.Sprint(k)))
			}
		case []any:
			for i, x := range v {
				walk(x, path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(v, prefix)
	return paths
}

// wrote reports whether the lab's file writes the field at path (always
// false for a lab not read from a file, or a field imported from nginx or
// keepalived text).
func (v *validator) wrote(path string) bool { return v.written[path] }

// zeroCounts refuses each count of counts (by field name, under p) that
// is written as 0 where 0 would run as the default def.
func (v *validator) zeroCounts(p string, def int, counts map[string]int) {
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if v.wrote(p+"."+name) && counts[name] == 0 {
			v.bad(p+"."+name, "must be at least 1, got 0 (leave it out for %d)", def)
		}
	}
}

// explicitDefaults refuses a field written with a value that the lab
// would otherwise replace by its default (factor: 0 ran as 10,
// percentile: 0 as 99, rate: 0 as 100) or that cannot be what it says.
// It runs before validation fills the defaults in.
func explicitDefaults(v *validator, lab *Lab) {
	if lab.VRRP != nil {
		if v.wrote("vrrp.vrrp_version") && lab.VRRP.Version == 0 {
			v.bad("vrrp.vrrp_version", "must be 2 or 3, got 0 (leave it out for 2)")
		}
		for name, s := range lab.VRRP.Scripts {
			v.zeroCounts("vrrp.vrrp_script."+name, 1, map[string]int{"fall": s.Fall, "rise": s.Rise})
		}
		for i, in := range lab.VRRP.Instances {
			p := fmt.Sprintf("vrrp.vrrp_instance[%d]", i)
			if v.wrote(p+".priority") && in.Priority == 0 {
				v.bad(p+".priority", "must be 1..255, got 0 (leave it out for 100, or 255 with state MASTER)")
			}
			if v.wrote(p+".vrrp_version") && in.Version == 0 {
				v.bad(p+".vrrp_version", "must be 2 or 3, got 0 (leave it out for vrrp.vrrp_version)")
			}
		}
	}
	for i, c := range lab.Clients {
		clientsZeros(v, fmt.Sprintf("clients[%d]", i), c)
	}
	if lab.LB != nil && !lab.imported {
		lbExplicit(v, "lb.", lab.LB)
	}
	if s := lab.Sweep; s != nil && v.wrote("sweep.ks_max") && s.KSMax == 0 {
		v.bad("sweep.ks_max", "want a distance in (0, 1], got 0 (leave it out for 0.05)")
	}
	faultFields(v, lab)
	expectFields(v, lab)
}

// clientsZeros refuses a clients: element's rate or users written as 0
// (the simulator would take the default); p is its field path.
func clientsZeros(v *validator, p string, c workload.Clients) {
	if v.wrote(p+".rate") && c.Rate == 0 {
		v.bad(p+".rate", "want more than 0 requests per second, got 0 (leave it out for 100; to send nothing at first, set start or ramp from a later time)")
	}
	if v.wrote(p+".users") && c.Users == 0 {
		v.bad(p+".users", "want at least 1 user, got 0 (leave it out for 1000, or 10 closed)")
	}
}

// lbExplicit refuses an lb section's health-check fields written with 0,
// which the checker would replace by its default (3 passes, 3 failures)
// or by the server's port; prefix is the section's field path ("lb.").
func lbExplicit(v *validator, prefix string, cfg *proxy.Config) {
	for i, g := range cfg.Groups {
		h := g.HealthCheck
		if h == nil {
			continue
		}
		p := fmt.Sprintf("%sgroups[%d].health_check", prefix, i)
		v.zeroCounts(p, 3, map[string]int{"healthy_threshold": h.HealthyThreshold, "unhealthy_threshold": h.UnhealthyThreshold})
		if (v.wrote(p+".port") && h.Port == 0) || h.Port < 0 || h.Port > 65535 {
			v.bad(p+".port", "want a port 1..65535, got %d (leave it out for the server's port)", h.Port)
		}
	}
}

// faultKindFields are the fault fields that only some kinds read.
var faultKindFields = []struct {
	field string
	kinds map[string]bool
	what  string
}{
	{"factor", map[string]bool{"slow": true}, "slow"},
	{"path", map[string]bool{"health_path": true}, "health_path"},
	{"script", map[string]bool{"script_fail": true, "script_ok": true}, "script_fail and script_ok"},
	{"groups", map[string]bool{"partition": true}, "partition"},
	{"count", map[string]bool{"scale": true}, "scale"},
	{"proto", map[string]bool{"firewall": true}, "firewall"},
	{"multicast", map[string]bool{"firewall": true}, "firewall"},
	{"between", map[string]bool{"firewall": true, "firewall_clear": true, "garp_drop": true}, "firewall, firewall_clear and garp_drop"},
	{"start_fails", map[string]bool{"proxy_crash": true}, "proxy_crash"},
}

// faultFields refuses a fault field its kind does not read (a crash with
// factor: 5 would be a crash and nothing more), and a slow fault's factor
// written as 0 or less (0 ran as the default 10).
func faultFields(v *validator, lab *Lab) {
	for i, f := range lab.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		for _, kf := range faultKindFields {
			if v.wrote(p+"."+kf.field) && !kf.kinds[string(f.Kind)] && f.Kind != "" {
				v.bad(p+"."+kf.field, "a %s fault has no %s (only %s faults do)", f.Kind, kf.field, kf.what)
			}
		}
		if f.Kind == FaultSlow && v.wrote(p+".factor") && !(f.Factor > 0) {
			v.bad(p+".factor", "want a factor more than 0, got %v (leave it out for 10)", f.Factor)
		}
	}
}

// builtinMetrics are the metrics a run or a sweep stores itself; an
// expectation storing one of them would be overwritten (or overwrite it).
var builtinMetrics = map[string]bool{
	"requests_sent": true, "requests_ok": true, "requests_failed": true, "requests_unknown": true,
	"success_ratio": true, "p50_ms": true, "p99_ms": true, "max_ms": true, "mean_ms": true, "share_by_backend": true,
	"first_picks": true, "sessions_moved": true, "max_masters": true, "vip_owner_changes": true, "vrrp_transitions": true,
	"ks_distance": true, "ks_distance_to_sim": true, "seeds_passed": true, "seeds_requested": true, "ran_s": true,
	"errors_500": true, "errors_502": true, "errors_503": true, "errors_504": true,
	"errors_refused": true, "errors_reset": true, "errors_timeout": true, "errors_invalid": true,
	"errors_no_server": true,
	"outage_s":         true, "requests_failed_by_class": true, "connections_reset": true,
}

// msName is a latency metric's name without its unit, wherever it was
// written (p99_ms_rr: p99_rr).
func msName(name string) string {
	if base, ok := strings.CutSuffix(name, "_ms"); ok {
		return base
	}
	return strings.Replace(name, "_ms_", "_", 1)
}

// metricOf is a metric an expectation stores: its name and the field path
// that names it (the metric field, or the check when the name is its
// default).
type metricOf struct{ name, path string }

// expectFields refuses expectation fields that contradict each other or
// make a check that cannot fail, and two expectations that store the same
// metric (results.json and a sweep's distributions key them by name).
func expectFields(v *validator, lab *Lab) {
	var metrics []metricOf
	stores := func(p, kind, name, def string) {
		path := p + "." + kind + ".metric"
		if name == "" {
			name, path = def, p+"."+kind
		}
		metrics = append(metrics, metricOf{name, path})
	}
	for i, e := range lab.Expect {
		p := fmt.Sprintf("expect[%d]", i)
		switch {
		case e.Failover != nil:
			c, pp := e.Failover, p+".failover"
			if c.Window == "none" {
				for _, f := range []string{"min", "max", "metric"} {
					if v.wrote(pp + "." + f) {
						v.bad(pp+"."+f, "window: none checks that the router does not become master: it has no %s", f)
					}
				}
				continue
			}
			windowFields(v, pp, c.Min.D, c.Max.D, c.Min.IsSet(), c.Max.IsSet())
			stores(p, "failover", c.Metric, "failover_s")
		case e.HealthDelay != nil:
			c, pp := e.HealthDelay, p+".health_delay"
			windowFields(v, pp, c.Min.D, c.Max.D, c.Min.IsSet(), c.Max.IsSet())
			stores(p, "health_delay", c.Metric, "health_"+c.To+"_delay_s")
		case e.StatusCount != nil:
			c, pp := e.StatusCount, p+".status_count"
			if v.wrote(pp+".status") && (c.Status < 100 || c.Status > 599) {
				v.bad(pp+".status", "want an HTTP status 100..599, got %d", c.Status)
			}
			switch {
			case c.Min < 0:
				v.bad(pp+".min", "a count is never below 0: min %d cannot fail (leave it out)", c.Min)
			case c.Max != nil && *c.Max < 0:
				v.bad(pp+".max", "a count is never below 0: max %d cannot pass (leave it out for no bound)", *c.Max)
			case c.Max != nil && *c.Max < c.Min:
				v.bad(pp+".max", "max %d is below min %d: no count passes", *c.Max, c.Min)
			case c.Min == 0 && c.Max == nil:
				v.bad(pp, "a count check with neither min (more than 0) nor max cannot fail: give one")
			}
			if c.Metric != "" {
				stores(p, "status_count", c.Metric, "")
			}
		case e.Latency != nil:
			c, pp := e.Latency, p+".latency"
			switch {
			case c.Min.IsSet() && c.Max.IsSet() && c.Max.D < c.Min.D:
				v.bad(pp+".max", "max %v is below min %v: no latency passes", c.Max.D, c.Min.D)
			case !c.Max.IsSet() && !(c.Min.D > 0):
				v.bad(pp, "a latency check with neither min (more than 0) nor max cannot fail: give one")
			}
			if c.Metric != "" {
				stores(p, "latency", c.Metric, "")
				if !strings.HasSuffix(c.Metric, "_ms") {
					v.bad(pp+".metric", "metric %s holds milliseconds: end its name with _ms (%s), as its bounds do (%s_lower_bound_ms)",
						c.Metric, msName(c.Metric)+"_ms", msName(c.Metric))
				}
			}
		case e.Share != nil && lab.LB != nil:
			c := e.Share
			want, tol := ExpectedShare(lab.LB, c.Group, c.Server), 0.02
			if c.Expected != nil {
				want = *c.Expected
			}
			if c.Tolerance != nil {
				tol = *c.Tolerance
			}
			if want-tol <= 0 && want+tol >= 1 { // NaN is refused on its own
				v.bad(p+".share.tolerance", "a share is 0..1: %v ± %v holds every share, so the check cannot fail", want, tol)
			}
		case e.VIPOwnerChanges != nil:
			if n := e.VIPOwnerChanges.Count; n < 0 {
				v.bad(p+".vip_owner_changes.count", "a count of changes is never below 0, got %d", n)
			}
		}
	}
	seen := map[string]metricOf{}
	for _, m := range metrics {
		if builtinMetrics[m.name] {
			v.bad(m.path, "metric %s is one a run stores itself: give this check another metric name", m.name)
			continue
		}
		if first, dup := seen[m.name]; dup {
			v.bad(first.path, "metric %s is also stored by %s: give one of them another metric name", m.name, m.path)
			v.bad(m.path, "metric %s is also stored by %s: give one of them another metric name", m.name, first.path)
			continue
		}
		seen[m.name] = m
	}
	sweepFields(v, lab)
}

// windowFields refuses a delay check's max below its min. (min and max
// beside window: theory are not refused: they replace the theory, as
// documented, and --set adds them to catalog labs that write theory.)
func windowFields(v *validator, p string, lo, hi time.Duration, loSet, hiSet bool) {
	if loSet && hiSet && hi < lo {
		v.bad(p+".max", "max %v is below min %v: no delay passes", hi, lo)
	}
}

// sweepFields refuses ks_max without uniform: it bounds the uniform check
// only. (A sweep metric no run measures is not refused: a single run
// ignores the sweep section, and a sweep says "no run measured" it.)
func sweepFields(v *validator, lab *Lab) {
	if s := lab.Sweep; s != nil && v.wrote("sweep.ks_max") && !s.Uniform {
		v.bad("sweep.ks_max", "ks_max bounds the uniform check only: set uniform: true, or leave ks_max out")
	}
}

// ExpectedShare is a server's share by the weights of its group's usable
// primaries.
func ExpectedShare(lb *proxy.Config, group, server string) float64 {
	for _, g := range lb.Groups {
		if g.Name != group {
			continue
		}
		total, mine := 0, 0
		for _, s := range g.Servers {
			if s.Backup || s.Down {
				continue
			}
			total += s.WeightOr()
			if s.Address == server {
				mine = s.WeightOr()
			}
		}
		if total == 0 {
			return 0
		}
		return float64(mine) / float64(total)
	}
	return 0
}
