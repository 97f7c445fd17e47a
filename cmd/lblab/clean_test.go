package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lblab/lblab/testbed/netns"
	"golang.org/x/sys/unix"
)

// needNetns skips the test in one line when network namespaces cannot be
// made here (not root, no iproute2); with CI=true that is a failure.
func needNetns(t *testing.T) {
	t.Helper()
	if err := netns.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the netns tests cannot run: %v", err)
		}
		t.Skipf("netns test skipped: %v", err)
	}
}

// netnsBound bounds a netns run's build (a few namespaces, veths and
// agents: about a second on a loaded host) and its cleanup (the agents
// get a second to stop, then every process is killed and each namespace
// deleted).
const netnsBound = 20 * time.Second

// ownedBy is the start of the names of everything the testbeds of
// process pid make.
func ownedBy(pid int) string { return fmt.Sprintf("%s%d-", netns.NamePrefix, pid) }

func leftovers(t *testing.T, pid int) netns.Remains {
	t.Helper()
	r, err := netns.Leftovers(ownedBy(pid))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// procStart is a process's start time (field 22 of /proc/PID/stat), ""
// if it is gone or a zombie: with the pid, it names the process across pid
// reuse.
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return ""
	}
	return f[19]
}

// stillAlive returns those of pids (with the start times of starts) that
// still run.
func stillAlive(pids []int, starts map[int]string) []int {
	var alive []int
	for _, pid := range pids {
		if s := procStart(pid); s != "" && s == starts[pid] {
			alive = append(alive, pid)
		}
	}
	return alive
}

func startsOf(pids []int) map[int]string {
	m := map[int]string{}
	for _, pid := range pids {
		m[pid] = procStart(pid)
	}
	return m
}

// TestNetnsRunInterruptedLeavesNothing: a netns run stopped by SIGTERM or
// SIGINT, while it builds its hosts or once its agents run, exits
// 143/130 with its results marked interrupted and leaves no namespace,
// link, process or work folder. Four tries: the cleanup used to race with
// a second signal handler and lose three times out of four.
func TestNetnsRunInterruptedLeavesNothing(t *testing.T) {
	needNetns(t)
	bin := buildLblab(t)
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGTERM, syscall.SIGINT} {
		building := i < 2 // else: once the agents run
		t.Run(fmt.Sprintf("%d %s building=%v", i, unix.SignalName(sig), building), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			p := startLblab(t, bin, dir, "run", "vrrp-failover", "--mode", "netns", "--out", out)
			waitUntil(t, "the run's namespaces", netnsBound, func() bool {
				r := leftovers(t, p.pid())
				if building {
					return len(r.Namespaces) > 0 || !p.running()
				}
				return len(r.Namespaces) == 3 && len(r.Pids) >= 2 || !p.running()
			})
			before := leftovers(t, p.pid())
			starts := startsOf(before.Pids)
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code, took := p.wait(t, netnsBound)
			t.Logf("exit %d %v after %s; it had %s", code, took.Round(time.Millisecond), unix.SignalName(sig), before)
			wantExit(t, code, 128+int(sig), p.stdout.String(), p.stderr.String())
			if after := leftovers(t, p.pid()); !after.Empty() {
				t.Errorf("left behind: %s", after)
			}
			if alive := stillAlive(before.Pids, starts); len(alive) > 0 {
				t.Errorf("processes %v of the run still alive", alive)
			}
			if r := readResults(t, out); !r.Interrupted || r.Passed {
				t.Errorf("results.json: interrupted %v, passed %v; want true, false", r.Interrupted, r.Passed)
			}
		})
	}
}

// TestCleanSparesLiveRunsRemovesKilledOnes: lblab clean leaves a run that
// is still going alone (its namespaces and agents stay, it keeps running);
// once the run is killed with SIGKILL, lblab clean removes everything it
// left: namespaces (with the VIP its master held), work folder, and every
// process in its namespaces (here a stray one the run did not start
// itself, which would survive its death). The test cleans with --pid:
// other jobs on this host have namespaces of their own.
func TestCleanSparesLiveRunsRemovesKilledOnes(t *testing.T) {
	needNetns(t)
	bin := buildLblab(t)
	dir := t.TempDir()
	p := startLblab(t, bin, dir, "run", "vrrp-failover", "--mode", "netns", "--out", filepath.Join(dir, "out"))
	pid := strconv.Itoa(p.pid())
	r1 := ""
	hasVIP := func() bool {
		out, _ := exec.Command("ip", "-n", r1, "-4", "addr", "show").CombinedOutput()
		return strings.Contains(string(out), "10.77.0.100/")
	}
	// r1 is master from its start (state MASTER, priority 150): it holds
	// the VIP within an advert interval.
	waitUntil(t, "r1's agent holding the VIP", netnsBound, func() bool {
		r := leftovers(t, p.pid())
		for _, ns := range r.Namespaces {
			if strings.HasSuffix(ns, "-r1") {
				r1 = ns
			}
		}
		return r1 != "" && len(r.Pids) >= 2 && hasVIP() || !p.running()
	})
	// A process in r1 that is not the run's child: the run's death does
	// not end it (the agents die with the run: they are started with a
	// parent-death signal).
	stray := exec.Command("ip", "netns", "exec", r1, "sleep", "300")
	stray.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	strayDone := make(chan struct{})
	go func() { stray.Wait(); close(strayDone) }()
	t.Cleanup(func() {
		stray.Process.Kill()
		<-strayDone
	})
	waitUntil(t, "the stray process in r1", 5*time.Second, func() bool {
		return slices.Contains(leftovers(t, p.pid()).Pids, stray.Process.Pid)
	})
	live := leftovers(t, p.pid())
	starts := startsOf(live.Pids)

	code, stdout, stderr := lblab(t, "clean", "--pid", pid)
	wantExit(t, code, 0, stdout, stderr)
	if !strings.Contains(stdout, "nothing to clean") || !strings.Contains(stdout, "kept") {
		t.Errorf("clean of a live run printed:\n%s", stdout)
	}
	after := leftovers(t, p.pid())
	if !p.running() || !slices.Equal(after.Namespaces, live.Namespaces) || len(after.Folders) != 1 ||
		len(stillAlive(live.Pids, starts)) != len(live.Pids) || !hasVIP() {
		t.Fatalf("lblab clean touched a live run: running %v; before %s; after %s; VIP held %v", p.running(), live, after, hasVIP())
	}

	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t, netnsBound)
	// The kill leaves the work folder (the namespaces too, unless another
	// job's netns run, cleaning stale testbeds as it starts, was quicker).
	if left := leftovers(t, p.pid()); len(left.Folders) != 1 {
		t.Fatalf("after SIGKILL: %s, want the work folder left", left)
	}
	code, stdout, stderr = lblab(t, "clean", "--pid", pid)
	wantExit(t, code, 0, stdout, stderr)
	if !strings.Contains(stdout, "removed") || !strings.Contains(stdout, ownedBy(p.pid())) {
		t.Errorf("clean printed:\n%s", stdout)
	}
	if left := leftovers(t, p.pid()); !left.Empty() {
		t.Errorf("left behind: %s", left)
	}
	if alive := stillAlive(live.Pids, starts); len(alive) > 0 {
		t.Errorf("processes %v of the killed run still alive", alive)
	}
	select {
	case <-strayDone:
	case <-time.After(5 * time.Second):
		t.Errorf("the stray process in r1 still runs")
	}
}

// TestCleanPidMustNameAProcess: --pid 0 (what an empty variable gives) or
// a negative one is bad input (exit 2), and nothing is cleaned; before,
// --pid 0 meant no filter at all.
func TestCleanPidMustNameAProcess(t *testing.T) {
	for _, pid := range []string{"0", "-5"} {
		code, stdout, stderr := lblab(t, "clean", "--pid", pid)
		wantExit(t, code, 2, stdout, stderr)
		if !strings.Contains(stderr, "--pid "+pid+": not a process id") || stdout != "" {
			t.Errorf("--pid %s: stdout %q, stderr %q", pid, stdout, stderr)
		}
	}
}
