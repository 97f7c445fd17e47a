package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios"
)

// lblab runs the command line and returns its exit status and output.
func lblab(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(t.Context(), args, &out, &errOut)
	if s := out.String() + errOut.String(); strings.Contains(s, "goroutine ") || strings.Contains(s, "panic") {
		t.Errorf("lblab %s printed a panic:\n%s", strings.Join(args, " "), s)
	}
	return code, out.String(), errOut.String()
}

// wantExit fails the test when code is not want, showing the output.
func wantExit(t *testing.T, code, want int, stdout, stderr string) {
	t.Helper()
	if code != want {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
}

// results is the part of results.json the tests read.
type results struct {
	Lab          string         `json:"lab"`
	Seed         uint64         `json:"seed"`
	Seeds        int            `json:"seeds"`
	Passed       bool           `json:"passed"`
	Interrupted  bool           `json:"interrupted"`
	Metrics      map[string]any `json:"metrics"`
	Expectations []struct {
		Name   string `json:"name"`
		Passed bool   `json:"passed"`
	} `json:"expectations"`
}

func readResults(t *testing.T, dir string) results {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("results.json: %v\n%s", err, b)
	}
	return r
}

func wantFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", name, err)
		}
	}
}

// typoLab writes vrrp-failover with a misspelt field to a temporary file
// and returns its path and the line of the typo.
func typoLab(t *testing.T) (path string, line int) {
	t.Helper()
	src, err := scenarios.CatalogSource("vrrp-failover")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i := strings.Index(s, "      priority: 100")
	if i < 0 {
		t.Fatal("vrrp-failover has no priority 100: update the test")
	}
	s = s[:i] + "      prority: 100" + s[i+len("      priority: 100"):]
	path = filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, strings.Count(s[:i], "\n") + 1
}

func TestList(t *testing.T) {
	code, out, errOut := lblab(t, "list")
	wantExit(t, code, 0, out, errOut)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	entries, err := scenarios.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(entries) {
		t.Fatalf("list printed %d lines, want one per catalog lab (%d):\n%s", len(lines), len(entries), out)
	}
	for i, e := range entries {
		if f := strings.Fields(lines[i]); len(f) < 2 || f[0] != e.Name || !strings.HasSuffix(lines[i], e.Title) {
			t.Errorf("line %d = %q, want lab %s and its title", i+1, lines[i], e.Name)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := lblab(t, "run", "vrrp-failover", "--out", dir)
	wantExit(t, code, 0, out, errOut)
	if !strings.HasPrefix(out, "PASS  vrrp-failover (sim, seed 1)") || !strings.Contains(out, "report: "+filepath.Join(dir, "report.html")) {
		t.Errorf("output:\n%s", out)
	}
	r := readResults(t, dir)
	if !r.Passed || r.Lab != "vrrp-failover" || r.Seed != 1 || len(r.Expectations) != 4 {
		t.Errorf("results.json: %+v", r)
	}
	f, ok := r.Metrics["failover_s"].(float64)
	if !ok || f < 2.609375 || f > 3.609475 {
		t.Errorf("metrics.failover_s = %v, want a number in [2.609375, 3.609475]", r.Metrics["failover_s"])
	}
	wantFiles(t, dir, "report.html", "timeline.png", "history.jsonl")
}

// ksMax50 is the Kolmogorov–Smirnov critical distance of 50 samples at the
// 5 % level (1.36/√50). The lab's own sweep.ks_max, 0.05, is meant for
// sweeps of about a thousand seeds (its teaching says --seeds 1000): with
// 50 seeds even a perfectly uniform sample misses it.
const ksMax50 = "0.1923"

func TestRunSweep(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := lblab(t, "run", "vrrp-failover", "--seeds", "50", "--keep-histories", "--set", "sweep.ks_max="+ksMax50, "--out", dir)
	wantExit(t, code, 0, out, errOut)
	if !strings.Contains(out, "seeds 1..50") {
		t.Errorf("output does not name the seeds:\n%s", out)
	}
	r := readResults(t, dir)
	if !r.Passed || r.Seeds != 50 || r.Seed != 1 || len(r.Expectations) != 5 {
		t.Errorf("results.json: %+v", r)
	}
	m, ok := r.Metrics["failover_s"].(map[string]any)
	if !ok || m["count"] != float64(50) {
		t.Fatalf("metrics.failover_s = %v, want a summary with count 50", r.Metrics["failover_s"])
	}
	lo, _ := m["min"].(float64)
	hi, _ := m["max"].(float64)
	if lo < 2.609375 || hi > 3.609475 || lo >= hi {
		t.Errorf("failover_s spans [%v, %v], want inside [2.609375, 3.609475]", lo, hi)
	}
	if ks, ok := r.Metrics["ks_distance"].(float64); !ok || ks <= 0 || ks > 0.1923 {
		t.Errorf("metrics.ks_distance = %v", r.Metrics["ks_distance"])
	}
	hist, err := filepath.Glob(filepath.Join(dir, "histories", "seed-*.jsonl"))
	if err != nil || len(hist) != 50 {
		t.Errorf("%d histories, want 50 (%v)", len(hist), err)
	}
	wantFiles(t, dir, "report.html")
}

// TestRunSweepLabKSMax runs 50 seeds against the lab's own ks_max (0.05):
// a sweep that small is judged by the 5% critical value 1.358/√50 = 0.192
// instead, so a uniform sample passes, and the output says which limit ruled.
func TestRunSweepLabKSMax(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := lblab(t, "run", "vrrp-failover", "--seeds", "50", "--seed", "100", "--out", dir)
	wantExit(t, code, 0, out, errOut)
	if !strings.Contains(out, "seeds 100..149") || !strings.Contains(out, "1.358/√50") {
		t.Errorf("output does not name the seeds and the KS limit:\n%s", out)
	}
	r := readResults(t, dir)
	if !r.Passed || r.Seeds != 50 || r.Seed != 100 || len(r.Expectations) != 5 {
		t.Fatalf("results.json: %+v", r)
	}
	if ks, _ := r.Metrics["ks_distance"].(float64); ks <= 0.05 || ks > 0.192 {
		t.Errorf("ks_distance %v: this seed range was chosen because it exceeds 0.05 and passes only by the critical value", ks)
	}
	if r.Metrics["seeds_passed"] != float64(50) {
		t.Errorf("metrics.seeds_passed = %v, want 50", r.Metrics["seeds_passed"])
	}
}

// junit is the part of a JUnit file the tests read.
type junit struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j junit
	if err := xml.Unmarshal(b, &j); err != nil {
		t.Fatalf("%s is not JUnit XML: %v\n%s", path, err, b)
	}
	return j
}

func TestRunJUnit(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "junit.xml")
	code, out, errOut := lblab(t, "run", "vrrp-failover", "--out", filepath.Join(dir, "out"), "--junit", file)
	wantExit(t, code, 0, out, errOut)
	j := readJUnit(t, file)
	if j.Tests != 4 || j.Failures != 0 || len(j.Suites) != 1 || j.Suites[0].Name != "vrrp-failover" || len(j.Suites[0].Cases) != 4 {
		t.Errorf("junit: %+v", j)
	}
}

func TestRunFailingExpectation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "junit.xml")
	code, out, errOut := lblab(t, "run", "vrrp-failover", "--out", filepath.Join(dir, "out"), "--junit", file,
		"--set", "expect[0].failover.max=1s", "--set", "expect[0].failover.min=0s")
	wantExit(t, code, 1, out, errOut)
	if !strings.HasPrefix(out, "FAIL  vrrp-failover") || !strings.Contains(out, "FAIL r2 takes over") {
		t.Errorf("output does not show the failure:\n%s", out)
	}
	if r := readResults(t, filepath.Join(dir, "out")); r.Passed || r.Expectations[0].Passed || !r.Expectations[1].Passed {
		t.Errorf("results.json: %+v, want only the first expectation failed", r)
	}
	j := readJUnit(t, file)
	if j.Failures != 1 || j.Suites[0].Cases[0].Failure == nil {
		t.Errorf("junit: %+v, want one failure, the first case", j)
	}
}

func TestValidate(t *testing.T) {
	for _, name := range []string{"vrrp-failover", "vrrp-preempt", "vrrp-graceful-shutdown"} {
		code, out, errOut := lblab(t, "validate", name)
		wantExit(t, code, 0, out, errOut)
		if !strings.HasPrefix(out, name+": ok (") {
			t.Errorf("validate %s printed %q", name, out)
		}
	}
	path, line := typoLab(t)
	code, out, errOut := lblab(t, "validate", path)
	wantExit(t, code, 2, out, errOut)
	if want := path + ":" + itoa(line) + ":7: vrrp.vrrp_instance[1].prority: unknown field"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q does not contain %q", errOut, want)
	}
}

func TestRunTypoInLabFile(t *testing.T) {
	path, line := typoLab(t)
	code, out, errOut := lblab(t, "run", path, "--out", t.TempDir())
	wantExit(t, code, 2, out, errOut)
	if want := path + ":" + itoa(line) + ":"; !strings.Contains(errOut, want) || !strings.Contains(errOut, "prority") {
		t.Errorf("stderr %q does not name %s and the field prority", errOut, want)
	}
	if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
		t.Errorf("stderr shows a panic:\n%s", errOut)
	}
}

func TestBadInputExits2(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		// stderr must contain this.
		msg string
	}{
		{"unknown lab", []string{"run", "nosuchlab"}, `no lab "nosuchlab"`},
		{"bad --set value", []string{"run", "vrrp-failover", "--set", "faults[0].at=abc"}, "--set faults[0].at"},
		{"--set path to nothing", []string{"run", "vrrp-failover", "--set", "nosuch.field=1"}, "--set nosuch.field"},
		{"--seeds 0", []string{"run", "vrrp-failover", "--seeds", "0"}, "--seeds must be at least 1"},
		{"--seeds not a number", []string{"run", "vrrp-failover", "--seeds", "many"}, "--seeds"},
		{"--seeds over the cap", []string{"run", "vrrp-failover", "--seeds", "100000000"}, "--seeds must be at most 100000, got 100000000"},
		{"--seeds past the last seed", []string{"run", "vrrp-failover", "--seed", "18446744073709551615", "--seeds", "2"},
			"runs past the largest seed (18446744073709551615): start at 18446744073709551614 at most"},
		{"netns reference past the last seed", []string{"run", "vrrp-failover", "--mode", "netns", "--seed", "18446744073709551000", "--seeds", "2"},
			"--mode netns compares with 1000 simulator seeds from --seed"},
		{"unknown flag", []string{"run", "vrrp-failover", "--sed", "1"}, "unknown flag"},
		{"unknown mode", []string{"run", "vrrp-failover", "--mode", "moon"}, "--mode moon"},
		{"no lab", []string{"run"}, "accepts 1 arg"},
		{"two labs", []string{"validate", "vrrp-failover", "vrrp-preempt"}, "accepts 1 arg"},
		{"validate unknown lab", []string{"validate", "nosuchlab"}, `no lab "nosuchlab"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// --out is a folder that must not be created: bad input stops
			// the run before it writes anything.
			out := filepath.Join(t.TempDir(), "out")
			args := tc.args
			if args[0] == "run" {
				args = append(args, "--out", out)
			}
			code, stdout, stderr := lblab(t, args...)
			wantExit(t, code, 2, stdout, stderr)
			if !strings.HasPrefix(stderr, "lblab: ") || !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr %q, want lblab: and %q", stderr, tc.msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("bad input still wrote %s", out)
			}
		})
	}
}

func TestUnknownCommandOrFlagExits2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"lits"}, `unknown command "lits" (did you mean list?)`},
		{[]string{"frobnicate", "--seed", "1"}, `unknown command "frobnicate"`},
		{[]string{"--frob"}, "unknown flag: --frob"},
		{[]string{"list", "--frob"}, "unknown flag: --frob"},
		{[]string{"proxy", "--bnid", "x"}, "unknown flag: --bnid"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := lblab(t, tc.args...)
			wantExit(t, code, 2, stdout, stderr)
			if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "lblab: ") || !strings.Contains(stderr, tc.msg) {
				t.Errorf("want one line \"lblab: ...%s...\" on stderr and nothing on stdout; got stdout %q, stderr %q", tc.msg, stdout, stderr)
			}
		})
	}
	// The commands cobra adds still work.
	code, stdout, stderr := lblab(t, "help", "list")
	wantExit(t, code, 0, stdout, stderr)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestRunSweepLB: a sweep of a load-balancer lab shows the distribution of
// its metrics (failed requests, p99, detection delay with its theory
// window), links no history.jsonl that does not exist, and writes the
// seeds' histories only with --keep-histories (the failing seeds' always).
func TestRunSweepLB(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := lblab(t, "run", "backend-crash", "--seeds", "3", "--out", dir)
	wantExit(t, code, 0, out, errOut)
	wantFiles(t, dir, "report.html", "sweep_metrics.png", "sweep_metrics.svg")
	if exists(filepath.Join(dir, "histories")) {
		t.Error("a passing sweep wrote histories without --keep-histories")
	}
	r := readResults(t, dir)
	for _, name := range []string{"requests_failed", "p99_lower_bound_ms", "health_down_delay_s"} {
		if m, ok := r.Metrics[name].(map[string]any); !ok || m["count"] != float64(3) {
			t.Errorf("metrics.%s = %v, want a summary over 3 seeds", name, r.Metrics[name])
		}
	}
	// p99_ms counts the seeds whose requests in flight at the end leave it
	// undecided apart from those it summarizes.
	p99, _ := r.Metrics["p99_ms"].(map[string]any)
	if n, u := p99["count"].(float64), p99["undecided"].(float64); n+u != 3 {
		t.Errorf("metrics.p99_ms = %v, want 3 seeds, counted or undecided", r.Metrics["p99_ms"])
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), `href="history.jsonl"`) {
		t.Error("the sweep's report links a history.jsonl that does not exist")
	}
	if !strings.Contains(string(page), "<td>health_down_delay_s</td>") || !strings.Contains(string(page), "theory window") {
		t.Error("the sweep's report has no table of its metrics with the theory window")
	}

	keep := t.TempDir()
	code, out, errOut = lblab(t, "run", "backend-crash", "--seeds", "2", "--keep-histories", "--out", keep)
	wantExit(t, code, 0, out, errOut)
	wantFiles(t, keep, "histories/seed-1.jsonl", "histories/seed-2.jsonl")

	// A failing seed keeps its history without the flag.
	fail := t.TempDir()
	code, out, errOut = lblab(t, "run", "backend-crash", "--seeds", "2", "--set", "expect[1].status_count.min=100000",
		"--set", "expect[1].status_count.max=200000", "--out", fail)
	wantExit(t, code, 1, out, errOut)
	wantFiles(t, fail, "histories/seed-1.jsonl", "histories/seed-2.jsonl")
}
