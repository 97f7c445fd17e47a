package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// weightedNamespaces and weightedRoles are how many namespaces (the segment, the proxy, five servers
// and two client groups) and role processes (the proxy, five backends
// and two load generators) the weighted lab has on real hosts.
const (
	weightedNamespaces = 9
	weightedRoles      = 8
)

// waitRolesRun waits until the run p has every role of the weighted lab
// running.
func waitRolesRun(t *testing.T, p *proc) {
	t.Helper()
	waitUntil(t, "the roles running", netnsBound, func() bool {
		r := leftovers(t, p.pid())
		return len(r.Namespaces) == weightedNamespaces && len(r.Pids) >= weightedRoles || !p.running()
	})
	if !p.running() {
		t.Fatalf("the run ended before its roles ran:\n%s%s", &p.stdout, &p.stderr)
	}
}

// TestNetnsLBRunInterrupted: a load-balancer lab on real hosts stopped
// by SIGINT while its load runs exits 130, writes the report of what it
// saw (the requests until then, every one accounted for), and leaves no
// namespace, link, process or work folder.
func TestNetnsLBRunInterrupted(t *testing.T) {
	needNetns(t)
	bin := buildLblab(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	p := startLblab(t, bin, dir, "run", "weighted", "--mode", "netns", "--out", out)
	waitRolesRun(t, p)
	// A second of load: the lab's time 0 is a second after the proxy
	// starts (scenarios' lbStartLead), and the load starts then.
	time.Sleep(2 * time.Second)
	before := leftovers(t, p.pid())
	starts := startsOf(before.Pids)
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code, took := p.wait(t, netnsBound)
	t.Logf("exit %d %v after SIGINT; it had %s", code, took.Round(time.Millisecond), before)
	wantExit(t, code, 130, p.stdout.String(), p.stderr.String())
	if after := leftovers(t, p.pid()); !after.Empty() {
		t.Errorf("left behind: %s", after)
	}
	if alive := stillAlive(before.Pids, starts); len(alive) > 0 {
		t.Errorf("processes %v of the run still alive", alive)
	}
	r := readResults(t, out)
	if !r.Interrupted || r.Passed {
		t.Errorf("results.json: interrupted %v, passed %v; want true, false", r.Interrupted, r.Passed)
	}
	if sent, _ := r.Metrics["requests_sent"].(float64); sent < 100 {
		t.Errorf("requests_sent %v, want the second of load it saw (170 requests)", r.Metrics["requests_sent"])
	}
	for _, x := range r.Expectations {
		if x.Name == "every request sent is accounted for" && !x.Passed {
			t.Errorf("not every request sent is in the history")
		}
	}
	if _, err := os.Stat(filepath.Join(out, "report.html")); err != nil {
		t.Error(err)
	}
}

// TestNetnsLBRunKilled: a load-balancer lab on real hosts killed with
// SIGKILL takes its roles with it (they die with their parent), leaves
// its namespaces and work folder, and lblab clean removes them.
func TestNetnsLBRunKilled(t *testing.T) {
	needNetns(t)
	bin := buildLblab(t)
	dir := t.TempDir()
	p := startLblab(t, bin, dir, "run", "weighted", "--mode", "netns", "--out", filepath.Join(dir, "out"))
	waitRolesRun(t, p)
	before := leftovers(t, p.pid())
	starts := startsOf(before.Pids)
	t.Logf("killing a run with %s", before)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t, netnsBound)
	waitUntil(t, "the roles dying with the run", 5*time.Second, func() bool { return len(stillAlive(before.Pids, starts)) == 0 })
	if left := leftovers(t, p.pid()); len(left.Folders) != 1 {
		t.Fatalf("after SIGKILL: %s, want the work folder left", left)
	}
	code, stdout, stderr := lblab(t, "clean", "--pid", strconv.Itoa(p.pid()))
	wantExit(t, code, 0, stdout, stderr)
	if !strings.Contains(stdout, "removed") {
		t.Errorf("clean printed:\n%s", stdout)
	}
	if left := leftovers(t, p.pid()); !left.Empty() {
		t.Errorf("left behind: %s", left)
	}
}
