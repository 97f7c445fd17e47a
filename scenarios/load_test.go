package scenarios_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// labFile is the name the variants are parsed under.
const labFile = "lab.yaml"

// failoverSource returns the text of the catalog lab vrrp-failover.
func failoverSource(t *testing.T) string {
	t.Helper()
	src, err := scenarios.CatalogSource("vrrp-failover")
	if err != nil {
		t.Fatalf("CatalogSource(vrrp-failover): %v", err)
	}
	return string(src)
}

// variant replaces the first old in src with new; old must be there.
func variant(t *testing.T, src, old, new string) string {
	t.Helper()
	if !strings.Contains(src, old) {
		t.Fatalf("the lab has no %q: the catalog lab changed, update the test", old)
	}
	return strings.Replace(src, old, new, 1)
}

// position returns the 1-based line and column of byte offset off in src.
func position(src string, off int) (line, col int) {
	before := src[:off]
	line = strings.Count(before, "\n") + 1
	// Columns count characters, as the YAML library and editors do.
	col = utf8.RuneCountInString(before[strings.LastIndex(before, "\n")+1:]) + 1
	return line, col
}

// parseErrors parses src and returns its errors; it fails the test when
// Parse succeeds or returns anything but labfile.Errors.
func parseErrors(t *testing.T, src string, sets []string) labfile.Errors {
	t.Helper()
	lab, err := labfile.Parse(labFile, []byte(src), sets)
	if err == nil {
		t.Fatalf("Parse succeeded, want an error")
	}
	if lab != nil {
		t.Errorf("Parse returned a lab with its error")
	}
	var errs labfile.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("Parse error %T %v: want a non-empty labfile.Errors", err, err)
	}
	var bad labfile.BadInput
	if !errors.As(err, &bad) {
		t.Errorf("Parse error %v does not implement labfile.BadInput", err)
	}
	return errs
}

func TestParseReportsPlaceOfError(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new string
		// at is the text (its last occurrence in new) the error points at.
		at    string
		field string
		msg   string
	}{
		{
			name: "typo in a field name", old: "      priority: 100", new: "      prority: 100", at: "prority",
			field: "vrrp.vrrp_instance[1].prority", msg: `unknown field "prority" (did you mean "priority"?)`,
		},
		{
			name: "typo at the top level", old: "sweep:", new: "swep:", at: "swep",
			field: "swep", msg: `unknown field "swep" (did you mean "sweep"?)`,
		},
		{
			name: "typo in a flow mapping", old: "failover: {fault: master dies", new: "failover: {falt: master dies", at: "falt",
			field: "expect[0].failover.falt", msg: `unknown field "falt" (did you mean "fault"?)`,
		},
		{
			name: "typo in a vrrp_script", old: "vrrp:\n", new: "vrrp:\n  vrrp_script:\n    chk: {script: \"true\", intervl: 2s}\n", at: "intervl",
			field: "vrrp.vrrp_script.chk.intervl", msg: `unknown field "intervl" (did you mean "interval"?)`,
		},
		{
			name: "priority out of range", old: "priority: 150", new: "priority: 300", at: "300",
			field: "vrrp.vrrp_instance[0].priority", msg: "must be 1..255, got 300",
		},
		{
			name: "advert_int not a duration", old: "advert_int: 1", new: "advert_int: fast", at: "fast",
			field: "vrrp.vrrp_instance[0].advert_int", msg: `"fast" is not a duration`,
		},
		{
			name: "loss not a probability", old: "      latency: 100us", new: "      latency: 100us\n      loss: 2", at: "2",
			field: "topology.segments[0].loss", msg: "2 is not a probability (0..1)",
		},
		{
			name: "bad address", old: "10.77.0.12/24", new: "10.77.0.999/24", at: "10.77.0.999/24",
			field: "topology.hosts[1].interfaces[0].address", msg: `got "10.77.0.999/24"`,
		},
		{
			name: "unknown fault kind", old: "kind: crash", new: "kind: explode", at: "explode",
			field: "faults[0].kind", msg: `unknown fault kind "explode" (one of crash, restore,`,
		},
		{
			name: "bad state", old: "state: MASTER", new: "state: LEADER", at: "LEADER",
			field: "vrrp.vrrp_instance[0].state", msg: `want MASTER or BACKUP, got "LEADER"`,
		},
		{
			name: "virtual_router_id 0", old: "virtual_router_id: 51", new: "virtual_router_id: 0", at: "0",
			field: "vrrp.vrrp_instance[0].virtual_router_id", msg: "must be 1..255, got 0",
		},
		{
			name: "fault target is no host", old: "target: r1", new: "target: r9", at: "r9",
			field: "faults[0].target", msg: `no host or backend "r9"`,
		},
		{
			name: "link fault on a missing interface", old: "kind: crash\n    target: r1", new: "kind: link_down\n    target: r1:eth7", at: "r1:eth7",
			field: "faults[0].target", msg: `host r1 has no interface "eth7"`,
		},
		{
			name: "track_interface names a missing interface", old: "      priority: 100", new: "      priority: 100\n      track_interface: [eth0, eth3]", at: "eth3",
			field: "vrrp.vrrp_instance[1].track_interface[1]", msg: `host r2 has no interface "eth3"`,
		},
		{
			name: "track_interface weight out of range", old: "      priority: 100", new: "      priority: 100\n      track_interface: [\"eth0 weight -300\"]", at: "\"eth0 weight -300\"",
			field: "vrrp.vrrp_instance[1].track_interface[0]", msg: `weight must be -253..253, got "-300"`,
		},
		{
			name: "expectation names an unknown fault", old: "fault: master dies", new: "fault: master lives", at: "master lives",
			field: "expect[0].failover.fault", msg: `no fault named "master lives"`,
		},
		{
			name: "flow list where a number goes", old: "priority: 150", new: "priority: [1]", at: "[1]",
			field: "vrrp.vrrp_instance[0].priority", msg: "a list is not a whole number",
		},
		{
			name: "block list where a number goes", old: "      priority: 150", new: "      priority:\n        - 1", at: "- 1",
			field: "vrrp.vrrp_instance[0].priority", msg: "a list is not a whole number",
		},
		{
			name: "mapping where a number goes", old: "priority: 150", new: "priority: {a: 1}", at: "{a: 1}",
			field: "vrrp.vrrp_instance[0].priority", msg: "a mapping is not a whole number",
		},
		{
			name: "word where a number goes", old: "priority: 150", new: "priority: high", at: "high",
			field: "vrrp.vrrp_instance[0].priority", msg: `"high" is not a whole number`,
		},
		{
			name: "mapping where a duration goes", old: "duration: 20s", new: "duration: {}", at: "{}",
			field: "duration", msg: `a mapping is not a duration`,
		},
		{
			name: "unsupported authentication", old: "auth_type: PASS", new: "auth_type: AH", at: "AH",
			field: "vrrp.vrrp_instance[0].authentication.auth_type", msg: "AH authentication is not supported",
		},
		{
			name: "expectation of no kind", old: "    failover: {fault: master dies, by: r2, window: theory}\n", new: "", at: "",
			field: "expect[0]", msg: "want exactly one of failover, single_master, vip_owner_changes, state, status_count, share, latency, health_delay, outage_within, reach; got 0",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := variant(t, failoverSource(t), tc.old, tc.new)
			errs := parseErrors(t, src, nil)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
			}
			e := errs[0]
			var line, col int
			if tc.at != "" {
				at := strings.Index(src, tc.new) + strings.LastIndex(tc.new, tc.at)
				line, col = position(src, at)
			} else {
				// The error points at the expectation's mapping.
				line, _ = position(src, strings.Index(src, "  - name: r2 takes over"))
				col = e.Column
			}
			if e.File != labFile || e.Line != line || e.Column != col || e.Field != tc.field {
				t.Errorf("error at %s:%d:%d field %q, want %s:%d:%d field %q\n%v",
					e.File, e.Line, e.Column, e.Field, labFile, line, col, tc.field, e)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("message %q does not contain %q", e.Msg, tc.msg)
			}
			if want := fmt.Sprintf("%s:%d:%d: %s: ", labFile, line, col, tc.field); !strings.HasPrefix(e.Error(), want) {
				t.Errorf("Error() = %q, want it to start with %q", e.Error(), want)
			}
		})
	}
}

func TestParseMissingName(t *testing.T) {
	src := variant(t, failoverSource(t), "name: vrrp-failover\n", "")
	errs := parseErrors(t, src, nil)
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
	}
	// A missing top-level field has no line of its own: the error names the
	// file and the field.
	e := errs[0]
	if e.Field != "name" || e.Line != 0 || !strings.Contains(e.Msg, `got ""`) {
		t.Errorf("got %+v, want field name, no line, and the empty name quoted", *e)
	}
	if want := labFile + ": name: "; !strings.HasPrefix(e.Error(), want) {
		t.Errorf("Error() = %q, want it to start with %q", e.Error(), want)
	}
}

func TestParseMissingSectionPointsAtParent(t *testing.T) {
	src := failoverSource(t)
	hosts := src[strings.Index(src, "  hosts:\n"):strings.Index(src, "vrrp:\n")]
	src = variant(t, src, hosts, "")
	errs := parseErrors(t, src, nil)
	e := errs[0]
	// The parent mapping starts on the line of its first key.
	line, _ := position(src, strings.Index(src, "  segments:"))
	if e.Field != "topology.hosts" || e.Line != line || !strings.Contains(e.Msg, "at least one host is required") {
		t.Errorf("first error %v, want topology.hosts at line %d (its parent topology)", e, line)
	}
	// The routers, faults and expectations naming r1 and r2 are reported too.
	if len(errs) < 5 {
		t.Errorf("got %d errors, want one per reference to a missing host:\n%v", len(errs), errs)
	}
}

func TestParseSyntaxError(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		// maxLine is the last line the parser may notice the error on.
		minLine, maxLine int
	}{
		{"unclosed flow list", `title: "VRRP`, `title: ["VRRP`, 2, 3},
		{"bad indentation", "      host: r2\n", "     host: r2\n", 41, 43},
		{"tab indentation", "      host: r2\n", "\thost: r2\n", 41, 43},
		{"unclosed quote", `auth_pass: "1111"}`, `auth_pass: "1111}`, 39, 67},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := parseErrors(t, variant(t, failoverSource(t), tc.old, tc.new), nil)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
			}
			e := errs[0]
			if e.Line < tc.minLine || e.Line > tc.maxLine || e.Column < 1 {
				t.Errorf("syntax error at line %d column %d, want a line in %d..%d: %v", e.Line, e.Column, tc.minLine, tc.maxLine, e)
			}
			if want := fmt.Sprintf("%s:%d:%d: ", labFile, e.Line, e.Column); !strings.HasPrefix(e.Error(), want) {
				t.Errorf("Error() = %q, want it to start with %q", e.Error(), want)
			}
		})
	}
}

func TestParseReportsEveryErrorInLineOrder(t *testing.T) {
	src := failoverSource(t)
	// Loss is written before latency, but validation checks latency first.
	src = variant(t, src, "      latency: 100us\n", "      loss: 2\n      latency: -1s\n")
	src = variant(t, src, "priority: 150", "priority: 300")
	src = variant(t, src, "kind: crash", "kind: explode")
	errs := parseErrors(t, src, nil)
	want := []string{"topology.segments[0].loss", "topology.segments[0].latency", "vrrp.vrrp_instance[0].priority", "faults[0].kind"}
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fields %q, want %q:\n%v", got, want, errs)
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Line <= errs[i-1].Line {
			t.Errorf("errors not in line order:\n%v", errs)
		}
	}
	// Errors.Error lists them one a line.
	if lines := strings.Split(errs.Error(), "\n"); len(lines) != len(want) {
		t.Errorf("Errors.Error() has %d lines, want %d:\n%v", len(lines), len(want), errs)
	}
}

func TestParseTwoBadFields(t *testing.T) {
	src := variant(t, failoverSource(t), "kind: crash", "kind: explode")
	src = variant(t, src, "priority: 150", "priority: 300")
	errs := parseErrors(t, src, nil)
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2:\n%v", len(errs), errs)
	}
	l1, _ := position(src, strings.Index(src, "priority: 300"))
	l2, _ := position(src, strings.Index(src, "kind: explode"))
	if errs[0].Line != l1 || errs[1].Line != l2 {
		t.Errorf("errors at lines %d and %d, want %d and %d:\n%v", errs[0].Line, errs[1].Line, l1, l2, errs)
	}
}

func TestParseSet(t *testing.T) {
	src := []byte(failoverSource(t))
	t.Run("replace a written field", func(t *testing.T) {
		lab, err := labfile.Parse(labFile, src, []string{"faults[0].at=12s"})
		if err != nil {
			t.Fatal(err)
		}
		if lab.Faults[0].At.D != 12*time.Second || !lab.Faults[0].At.IsSet() {
			t.Errorf("faults[0].at = %v, want 12s", lab.Faults[0].At.D)
		}
	})
	t.Run("add a field not written", func(t *testing.T) {
		lab, err := labfile.Parse(labFile, src, []string{"vrrp.vrrp_instance[1].nopreempt=true"})
		if err != nil {
			t.Fatal(err)
		}
		if !lab.VRRP.Instances[1].NoPreempt || lab.VRRP.Instances[0].NoPreempt {
			t.Errorf("nopreempt = %v, %v; want false, true", lab.VRRP.Instances[0].NoPreempt, lab.VRRP.Instances[1].NoPreempt)
		}
	})
	t.Run("add fields to a flow mapping", func(t *testing.T) {
		lab, err := labfile.Parse(labFile, src, []string{"expect[0].failover.max=1s", "expect[0].failover.min=0s"})
		if err != nil {
			t.Fatal(err)
		}
		f := lab.Expect[0].Failover
		if f.Max.D != time.Second || !f.Min.IsSet() || f.Min.D != 0 || f.Fault != "master dies" {
			t.Errorf("failover = %+v, want max 1s, min 0s set, fault kept", *f)
		}
	})
	t.Run("the last of two sets wins", func(t *testing.T) {
		lab, err := labfile.Parse(labFile, src, []string{"faults[0].at=12s", "faults[0].at=13s"})
		if err != nil {
			t.Fatal(err)
		}
		if lab.Faults[0].At.D != 13*time.Second {
			t.Errorf("faults[0].at = %v, want 13s", lab.Faults[0].At.D)
		}
	})
	t.Run("a set that breaks another field", func(t *testing.T) {
		// The fault is now after the end: the error is the fault's, in the file.
		errs := parseErrors(t, string(src), []string{"duration=5s"})
		line, _ := position(string(src), strings.Index(string(src), "at: 10s")+len("at: "))
		if len(errs) != 1 || errs[0].Field != "faults[0].at" || errs[0].Line != line {
			t.Errorf("got %v, want one error at faults[0].at line %d", errs, line)
		}
	})
	for _, tc := range []struct {
		name  string
		sets  []string
		field string
		msg   string
	}{
		{"bad duration", []string{"faults[0].at=abc"}, "faults[0].at", `"abc" is not a duration`},
		{"number out of range", []string{"vrrp.vrrp_instance[1].priority=999"}, "vrrp.vrrp_instance[1].priority", "must be 1..255, got 999"},
		{"list for a number", []string{"vrrp.vrrp_instance[1].priority=[1]"}, "vrrp.vrrp_instance[1].priority", "a list is not a whole number"},
		{"added unknown field", []string{"topology.segments[0].nosuch=5"}, "topology.segments[0].nosuch", `unknown field "nosuch"`},
		{"added bad value", []string{"vrrp.vrrp_instance[1].preempt_delay=soon"}, "vrrp.vrrp_instance[1].preempt_delay", `"soon" is not a duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := parseErrors(t, string(src), tc.sets)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
			}
			e := errs[0]
			path, _, _ := strings.Cut(tc.sets[0], "=")
			if e.Line != 0 || e.Column != 0 {
				t.Errorf("error %v has line %d: a --set value has no line in the file", e, e.Line)
			}
			if e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) || !strings.Contains(e.Msg, "--set "+path) {
				t.Errorf("got field %q message %q, want field %q, a message with %q naming --set %s", e.Field, e.Msg, tc.field, tc.msg, path)
			}
			if want := labFile + ": " + tc.field + ": "; !strings.HasPrefix(e.Error(), want) {
				t.Errorf("Error() = %q, want it to start with %q", e.Error(), want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		set  string
		msg  string
	}{
		{"path to nothing", "nosuch.field=1", "nosuch"},
		{"index past the end", "faults[5].at=1s", "faults[5]"},
		{"no equals sign", "faults[0].at", "PATH=VALUE"},
		{"empty path", "=1", "PATH=VALUE"},
		{"empty value", "faults[0].at=", "not YAML"},
		{"value not YAML", "faults[0].at=: : :", "not YAML"},
		{"scalar into a mapping", "name.sub=1", "--set name.sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := parseErrors(t, string(src), []string{tc.set})
			if len(errs) != 1 || errs[0].Line != 0 || !strings.Contains(errs[0].Msg, tc.msg) {
				t.Errorf("--set %s: got %v, want one error without line mentioning %q", tc.set, errs, tc.msg)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Run("unknown name", func(t *testing.T) {
		lab, err := scenarios.Load("nosuchlab", nil)
		var bad labfile.BadInput
		if lab != nil || !errors.As(err, &bad) || !strings.Contains(err.Error(), "nosuchlab") {
			t.Errorf("Load(nosuchlab) = %v, %v; want a BadInput error naming it", lab, err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "none.yaml")
		_, err := scenarios.Load(path, nil)
		var bad labfile.BadInput
		if !errors.As(err, &bad) {
			t.Errorf("Load(%s) = %v, want a BadInput error", path, err)
		}
	})
	t.Run("file with a typo", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "typo.yaml")
		src := variant(t, failoverSource(t), "      priority: 100", "      prority: 100")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := scenarios.Load(path, nil)
		var errs labfile.Errors
		if !errors.As(err, &errs) || len(errs) != 1 || errs[0].File != path {
			t.Fatalf("Load(%s) = %v, want one error in that file", path, err)
		}
		line, _ := position(src, strings.Index(src, "prority"))
		if want := fmt.Sprintf("%s:%d:7: vrrp.vrrp_instance[1].prority: ", path, line); !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q, want it to start with %q", err, want)
		}
	})
	t.Run("good file with a set", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "good.yaml")
		if err := os.WriteFile(path, []byte(failoverSource(t)), 0o644); err != nil {
			t.Fatal(err)
		}
		lab, err := scenarios.Load(path, []string{"faults[0].at=12s"})
		if err != nil || lab.Faults[0].At.D != 12*time.Second {
			t.Errorf("Load(%s) = %v; want faults[0].at 12s", path, err)
		}
	})
	t.Run("every catalog lab", func(t *testing.T) {
		entries, err := scenarios.Catalog()
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, e := range entries {
			names[e.Name] = true
		}
		for _, want := range []string{"vrrp-failover", "vrrp-graceful-shutdown", "vrrp-preempt", "backend-crash",
			"healthcheck-502", "weighted", "ip-hash-behind-proxy", "backup-server", "least-conn-vs-round-robin", "sticky-session"} {
			if !names[want] {
				t.Errorf("catalog lacks %s: %v", want, entries)
			}
		}
		for _, e := range entries {
			lab, err := scenarios.Load(e.Name, nil)
			if err != nil {
				t.Errorf("Load(%s): %v", e.Name, err)
				continue
			}
			if lab.Name != e.Name || lab.Title != e.Title || lab.Title == "" {
				t.Errorf("Load(%s) gave lab %q titled %q, want %q titled %q", e.Name, lab.Name, lab.Title, e.Name, e.Title)
			}
		}
	})
}

// TestParseConcurrently parses labs with misspelt fields from several
// goroutines at once (run with -race).
func TestParseConcurrently(t *testing.T) {
	src := []byte(variant(t, failoverSource(t), "      priority: 100", "      prority: 100"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := labfile.Parse(labFile, src, nil); err == nil || !strings.Contains(err.Error(), `did you mean "priority"`) {
				t.Errorf("Parse: %v, want an unknown-field error with a suggestion", err)
			}
		})
	}
	wg.Wait()
}

// history returns the JSON lines of lab vrrp-failover run with seed.
func failoverHistory(t *testing.T, seed uint64) []byte {
	t.Helper()
	lab, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := scenarios.RunSim(lab, seed)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Results.Passed {
		t.Errorf("seed %d: vrrp-failover failed: %+v", seed, o.Results.Expectations)
	}
	var b bytes.Buffer
	if err := history.WriteJSONL(&b, o.Events); err != nil {
		t.Fatal(err)
	}
	if b.Len() == 0 {
		t.Fatalf("seed %d: empty history", seed)
	}
	return b.Bytes()
}

func TestRunSimIsDeterministic(t *testing.T) {
	a, b := failoverHistory(t, 7), failoverHistory(t, 7)
	if !bytes.Equal(a, b) {
		t.Errorf("two runs with seed 7 differ:\n%s\n---\n%s", a, b)
	}
	if c := failoverHistory(t, 8); bytes.Equal(a, c) {
		t.Errorf("seeds 7 and 8 give the same history")
	}
}
