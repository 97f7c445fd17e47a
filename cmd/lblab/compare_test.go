package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/reports"
)

// comparePage reads DIR/compare.html as text: tags, plots and styles
// removed, spaces folded.
func comparePage(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, reports.CompareFile))
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`(?s)<svg.*?</svg>|<style>.*?</style>`).ReplaceAllString(string(b), "")
	s = regexp.MustCompile(`<[^>]+>`).ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(s), " ")
}

// sweepValues reads a sweep folder's failover delays from its report.json.
func sweepValues(t *testing.T, dir string) []float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		Sweep struct{ Values []float64 } `json:"sweep"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	return in.Sweep.Values
}

// lblab compare DIR1 DIR2 on two sweeps of vrrp-failover, before and
// after r2's priority drops from 100 to 50 (Skew_Time 0.609 s → 0.805
// s): one table with both runs' failover_s and theory windows, and the
// two-sample KS distance between them, computed from their report.json,
// above the 5% critical value (the change moved the distribution).
func TestCompareTwoSweeps(t *testing.T) {
	dir := t.TempDir()
	before, after, cmp := filepath.Join(dir, "before"), filepath.Join(dir, "after"), filepath.Join(dir, "cmp")
	code, stdout, stderr := lblab(t, "run", "vrrp-failover", "--seeds", "20", "--out", before)
	wantExit(t, code, 0, stdout, stderr)
	code, stdout, stderr = lblab(t, "run", "vrrp-failover", "--seeds", "20", "--seed", "101",
		"--set", "vrrp.vrrp_instance[1].priority=50", "--out", after)
	wantExit(t, code, 0, stdout, stderr)

	code, stdout, stderr = lblab(t, "compare", before, after, "--out", cmp)
	wantExit(t, code, 0, stdout, stderr)
	ks := reports.KSTwoSample(sweepValues(t, before), sweepValues(t, after))
	// The KS test fails (the distributions differ) but both runs passed:
	// exit 0.
	if want := fmt.Sprintf("KS failover_s before ↔ after (20, 20 values): distance %.4f, 5%% critical value 0.4294: FAIL\nreport: %s\n",
		ks, filepath.Join(cmp, reports.CompareFile)); stdout != want {
		t.Fatalf("stdout %q, want %q", stdout, want)
	}
	wantFiles(t, cmp, reports.CompareFile, "compare_cdf.png", "compare_cdf.svg")
	page := comparePage(t, cmp)
	for _, want := range []string{
		"before after",
		"20 seeds, first seed 1 20 seeds, first seed 101",
		"failover_s: theory window [2.609475, 3.609475]; inside: 100 % [2.804787, 3.804787]; inside: 100 %",
		"KS distance 5% critical value verdict",
		fmt.Sprintf("failover_s before ↔ after 20, 20 %.4f 0.4294 FAIL", ks),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("compare.html lacks %q:\n%s", want, page)
		}
	}
	if ks <= 0.4294 {
		t.Errorf("KS distance %.4f: a 0.2 s shift of a 1 s window should exceed the critical value", ks)
	}
	if !strings.Contains(page, `failover_s median `) {
		t.Errorf("compare.html has no failover_s distribution:\n%s", page)
	}

	// In Chinese, the page's own words are Chinese; names and numbers stay.
	zh := filepath.Join(dir, "zh")
	code, stdout, stderr = lblab(t, "compare", before, after, "--out", zh, "--lang", "zh")
	wantExit(t, code, 0, stdout, stderr)
	if want := fmt.Sprintf("KS failover_s before ↔ after（20、20 个值）：距离 %.4f，5%% 临界值 0.4294：失败\n", ks); !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout %q, want it to start with %q", stdout, want)
	}
	page = comparePage(t, zh)
	for _, want := range []string{"对比：vrrp-failover", "双样本 Kolmogorov–Smirnov 距离", "failover_s：理论窗口", "r2 在宕机后 [MDI − interval, MDI] 内接管",
		"KS 距离 5% 临界值 判定", fmt.Sprintf("failover_s before ↔ after 20, 20 %.4f 0.4294 失败", ks)} {
		if !strings.Contains(page, want) {
			t.Errorf("Chinese compare.html lacks %q:\n%s", want, page)
		}
	}
}

// Single runs of a load-balancer lab: p99 is undecided (requests in
// flight at the end), so the page shows the bounds the history gives,
// never a number; errors by class and shares per backend are rows; no
// KS distance is drawn from one value a run.
func TestCompareSingleRunsShowsBounds(t *testing.T) {
	dir := t.TempDir()
	a, b, cmp := filepath.Join(dir, "seed1"), filepath.Join(dir, "seed2"), filepath.Join(dir, "cmp")
	for i, out := range []string{a, b} {
		code, stdout, stderr := lblab(t, "run", "backend-crash", "--seed", fmt.Sprint(i+1), "--out", out)
		wantExit(t, code, 0, stdout, stderr)
	}
	code, stdout, stderr := lblab(t, "compare", a, b, "--out", cmp)
	wantExit(t, code, 0, stdout, stderr)
	page := comparePage(t, cmp)
	var res struct {
		Metrics map[string]any `json:"metrics"`
	}
	raw, err := os.ReadFile(filepath.Join(a, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Metrics["p99_ms"] != nil {
		t.Fatalf("seed 1's p99_ms is %v: the test wants an undecided one", res.Metrics["p99_ms"])
	}
	lo, hi := res.Metrics["p99_lower_bound_ms"].(float64), res.Metrics["p99_upper_bound_ms"].(float64)
	for _, want := range []string{
		fmt.Sprintf("p99_ms undecided: in [%v, %v]", lo, hi),
		fmt.Sprintf("errors_502 %v", res.Metrics["errors_502"]),
		"share_by_backend/active/a1:80",
		"health_down_delay_s",
		"No metric was measured on 2 seeds or more by two runs",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("compare.html lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "p99_lower_bound_ms") {
		t.Errorf("compare.html shows p99's bounds as rows of their own:\n%s", page)
	}
}

// Bad input exits 2 before anything runs: a world given twice, an
// unknown world, a world that cannot play the lab (the capability
// named; no folder made), a folder that is not a run's, the same folder
// twice, two labs without --force. A failed run exits 1, the page
// written.
func TestCompareRefusesAndFails(t *testing.T) {
	dir := t.TempDir()
	vf, bc := filepath.Join(dir, "vf"), filepath.Join(dir, "bc")
	code, stdout, stderr := lblab(t, "run", "vrrp-failover", "--out", vf)
	wantExit(t, code, 0, stdout, stderr)
	code, stdout, stderr = lblab(t, "run", "backend-crash", "--out", bc)
	wantExit(t, code, 0, stdout, stderr)
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"vrrp-failover", "--modes", "sim,sim"}, "the world sim is given twice"},
		{[]string{"vrrp-failover", "--modes", "sim,moon"}, `no world "moon"`},
		{[]string{"vrrp-failover"}, "needs --modes"},
		{[]string{"container-labels", "--modes", "sim,netns"}, "the netns world cannot run the lab's services"},
		{[]string{vf, dir}, "not a run folder: it has no results.json"},
		{[]string{vf, filepath.Join(dir, "nothing")}, "no such folder"},
		{[]string{vf, vf + "/"}, "are the same folder"},
		{[]string{vf, bc}, "is a run of lab vrrp-failover, " + bc + " of lab backend-crash"},
		{[]string{vf, bc, "--modes", "sim"}, "takes no --modes"},
	} {
		code, stdout, stderr := lblab(t, append(append([]string{"compare"}, c.args...), "--out", out)...)
		wantExit(t, code, 2, stdout, stderr)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("compare %v: stderr %q, want %q", c.args, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("compare %v made %s before refusing", c.args, out)
		}
	}
	code, stdout, stderr = lblab(t, "compare", vf, bc, "--force", "--out", out)
	wantExit(t, code, 0, stdout, stderr)
	if !strings.Contains(stderr, "compared anyway (--force)") || !strings.Contains(comparePage(t, out), "compared anyway (--force)") {
		t.Errorf("--force: no warning on stderr or the page:\n%s", stderr)
	}

	// The lab ends before r2 can take over: the run fails, compare says 1.
	cmp := filepath.Join(dir, "failing")
	code, stdout, stderr = lblab(t, "compare", "vrrp-failover", "--modes", "sim", "--set", "duration=11s", "--out", cmp)
	wantExit(t, code, 1, stdout, stderr)
	wantFiles(t, cmp, reports.CompareFile, "sim/report.html", "sim/results.json")
	if !strings.Contains(stdout, "FAIL  vrrp-failover (sim)") {
		t.Errorf("stdout %q", stdout)
	}
	// Each world's folder is a run folder lblab report redraws.
	code, stdout, stderr = lblab(t, "report", filepath.Join(cmp, "sim"))
	wantExit(t, code, 0, stdout, stderr)
}

// lblab compare vrrp-failover --modes sim,netns --seeds 2: the same lab
// simulated and on real agents in namespaces (20 s of wall time a seed),
// one page whose table has both worlds' failover_s inside their theory
// windows and the KS distance between them. Root; CI=true fails without.
func TestCompareSimAndNetns(t *testing.T) {
	needNetns(t)
	bin := buildLblab(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "cmp")
	// Two seeds of 20 s, the namespaces' build and cleanup, the simulator.
	ctx, cancel := context.WithTimeout(t.Context(), 2*(20*time.Second+2*netnsBound))
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "compare", "vrrp-failover", "--modes", "sim,netns", "--seeds", "2", "--out", out)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lblab compare: %v\n%s", err, b)
	}
	page := comparePage(t, out)
	for _, want := range []string{
		"sim netns",
		"r2 takes over within [MDI − interval, MDI] of the crash PASS: 2 of 2 seeds PASS: 2 of 2 seeds",
		"failover_s median",
		"failover_s: theory window [2.609475, 3.609475]; inside: 100 %",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("compare.html lacks %q:\n%s", want, page)
		}
	}
	ks := reports.KSTwoSample(sweepValues(t, filepath.Join(out, "sim")), sweepValues(t, filepath.Join(out, "netns")))
	// Two values a world: the 5% critical value is 1.358 capped at 1, so
	// any distance passes; the page and stdout say so beside it.
	if want := fmt.Sprintf("failover_s sim ↔ netns 2, 2 %.4f 1.0000 PASS", ks); !strings.Contains(page, want) {
		t.Errorf("compare.html lacks the KS distance beside its critical value and verdict %q:\n%s", want, page)
	}
	if want := fmt.Sprintf("KS failover_s sim ↔ netns (2, 2 values): distance %.4f, 5%% critical value 1.0000: PASS\n", ks); !strings.Contains(string(b), want) {
		t.Errorf("lblab compare's output lacks %q:\n%s", want, b)
	}
	wantFiles(t, out, "sim/report.html", "netns/report.html", "netns/results.json")
	t.Logf("%s", b)
}
