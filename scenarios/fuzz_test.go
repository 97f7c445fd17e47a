package scenarios_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// fuzzSeeds returns the catalog labs plus variants of vrrp-failover: valid
// ones that reach the other fault kinds and vrrp_script, and broken ones.
func fuzzSeeds(tb testing.TB) (valid, broken [][]byte) {
	tb.Helper()
	var seeds [][]byte
	for _, name := range []string{"vrrp-failover", "vrrp-preempt", "vrrp-graceful-shutdown"} {
		src, err := scenarios.CatalogSource(name)
		if err != nil {
			tb.Fatalf("catalog lab %s: %v", name, err)
		}
		seeds = append(seeds, src)
	}
	failover := string(seeds[0])
	const script = "vrrp:\n  vrrp_script:\n    chk: {script: \"true\", interval: 500ms, weight: -60, fall: 2, rise: 2}\n"
	variants := [][][2]string{
		// Valid variants.
		{{"kind: crash\n    target: r1", "kind: partition\n    target: lan\n    groups: [[r1], [r2]]"},
			{"by: r2, window: theory}", "by: r2, min: 2s, max: 4s}"}}, // no theory for a partition: refused without min and max
		{{"kind: crash\n    target: r1", "kind: link_down\n    target: r1:eth0"}},
		{{"vrrp:\n", script}, {"virtual_ipaddress: [10.77.0.100/24]\n", "virtual_ipaddress: [10.77.0.100/24]\n      track_script: [chk]\n"},
			{"kind: crash\n", "kind: script_fail\n    script: chk\n"}},
		{{"vrrp_version: 2", "vrrp_version: 3"}, {"advert_int: 1\n", "advert_int: 10ms\n"}, {"advert_int: 1\n", "advert_int: 10ms\n"},
			{"      authentication: {auth_type: PASS, auth_pass: \"1111\"}\n", ""}, {"      authentication: {auth_type: PASS, auth_pass: \"1111\"}\n", ""}},
		{{"      latency: 100us", "      latency: 100us\n      jitter: 5ms\n      loss: 0.5"}},
		{{"expect:\n", "expect:\n  - name: x\n    state: {router: r1, state: stop, at: 12s}\n"}},
		{{"    - name: lan\n", "    - &lan\n      name: lan\n"}, {"vrrp:\n", "vrrp: &v\n"}},
		// Broken variants.
		{{"      priority: 150", "      prority: 150"}},
		{{"      priority: 150", "      priority: [1]"}},
		{{"duration: 20s", "duration: {}"}},
		{{"kind: crash", "kind: partition\n    groups: [[r1], [r9]]"}},
		{{"target: r1", "target: r1:eth7"}},
		{{"title: \"VRRP", "title: [\"VRRP"}},
		{{"name: vrrp-failover\n", ""}},
		{{"vrrp:\n", "vrrp: *v\n"}},
		{{"  ks_max: 0.05", "  ks_max: 7"}},
	}
	const nValid = 7
	for _, rs := range variants {
		s := failover
		for _, r := range rs {
			if !strings.Contains(s, r[0]) {
				tb.Fatalf("vrrp-failover has no %q", r[0])
			}
			s = strings.Replace(s, r[0], r[1], 1)
		}
		seeds = append(seeds, []byte(s))
	}
	n := 3 + nValid
	broken = append(seeds[n:], []byte(""), []byte("name: x\n"), []byte("- a\n- b\n"), []byte("{"), []byte("a: *b\n"))
	valid = seeds[:n:n]
	// The cloud network: the peering lab, and one whose peering overlaps.
	peering, err := scenarios.CatalogSource("vpc-peering")
	if err != nil {
		tb.Fatalf("catalog lab vpc-peering: %v", err)
	}
	valid = append(valid, peering)
	broken = append(broken, []byte(strings.Replace(string(peering), "cidr: 10.0.0.0/16}", "cidr: 192.168.0.0/16}", 1)))
	return valid, broken
}

// TestFuzzSeeds checks that the valid seeds are valid labs that pass, so
// that the fuzzer starts from labs that reach the simulator.
func TestFuzzSeeds(t *testing.T) {
	valid, broken := fuzzSeeds(t)
	for i, src := range valid {
		lab, err := labfile.Parse("seed.yaml", src, nil)
		if err != nil {
			t.Errorf("valid seed %d: %v", i, err)
			continue
		}
		o, err := scenarios.RunSim(lab, 1)
		if err != nil {
			t.Errorf("valid seed %d: %v", i, err)
		} else if len(o.Events) == 0 {
			t.Errorf("valid seed %d: empty history", i)
		}
	}
	for i, src := range broken {
		if _, err := labfile.Parse("seed.yaml", src, nil); err == nil {
			t.Errorf("broken seed %d parses:\n%s", i, src)
		}
	}
}

// FuzzParseLab checks that Parse never panics and returns either a lab or
// an error naming the file, and that a lab it accepts (running at most 60 s
// of virtual time) runs in the simulator without panicking.
func FuzzParseLab(f *testing.F) {
	valid, broken := fuzzSeeds(f)
	for _, s := range append(valid, broken...) {
		f.Add(s)
	}
	const name = "fuzz.yaml"
	f.Fuzz(func(t *testing.T, src []byte) {
		// The fuzzer does not notice an input that never finishes; crash
		// with the input instead.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("Parse or RunSim took more than 10 s on %q", src))
			}
		}()

		lab, err := labfile.Parse(name, src, nil)
		if err != nil {
			if lab != nil {
				t.Fatalf("Parse returned a lab and an error: %v", err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, name) {
				t.Fatalf("error does not start with the file name: %q", msg)
			}
			return
		}
		if lab == nil {
			t.Fatal("Parse returned neither a lab nor an error")
		}
		if lab.RunDuration() > 60*time.Second || tinyScriptInterval(lab) {
			return
		}
		if _, err := scenarios.RunSim(lab, 1); err != nil {
			t.Fatalf("a lab that validates does not build: %v", err)
		}
	})
}

// tinyScriptInterval reports whether a vrrp_script of lab runs more often
// than every millisecond: valid, but millions of events to simulate.
func tinyScriptInterval(lab *labfile.Lab) bool {
	if lab.VRRP == nil {
		return false
	}
	for _, s := range lab.VRRP.Scripts {
		if s.Interval.IsSet() && s.Interval.D < time.Millisecond {
			return true
		}
	}
	return false
}
