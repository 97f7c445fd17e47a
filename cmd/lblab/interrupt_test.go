package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Interrupted runs stop within stopBound (the promise: a second) plus
// loadSlack: the files of what finished to write (a few hundred
// milliseconds here) and the process to exit, on a two-core host that
// other test packages keep busy (seen: 2.1 s in all at a load of 10).
const (
	stopBound = time.Second
	loadSlack = 4 * time.Second
)

// proc is a running lblab.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
}

// startLblab starts bin with args in dir; the test kills it at its end if
// it still runs.
func startLblab(t *testing.T, bin, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// pid is the process's id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// running reports whether it still runs.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// wait waits up to within for the process to exit and returns its exit
// status and how long it took; past within it kills it and fails.
func (p *proc) wait(t *testing.T, within time.Duration) (code int, took time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), time.Since(start)
	case <-time.After(within):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("lblab %s still ran %v later; killed\nstdout:\n%s\nstderr:\n%s",
			strings.Join(p.cmd.Args[1:], " "), within, &p.stdout, &p.stderr)
		return 0, 0
	}
}

// waitUntil polls cond every 10 ms until it holds; past within it fails.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

// cpuTime is the CPU time pid has used (user and system), 0 if it is
// gone.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15, in
	// clock ticks of 1/100 s (USER_HZ on Linux).
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// longLab is a lab that takes the simulator over 10 s (three hours of
// one VRRP master advertising every 10 ms to nine backups): long enough to
// be interrupted, short enough for any bound on a lab's duration, and
// small enough to draw its report in a fraction of a second.
func longLab(t *testing.T) string {
	t.Helper()
	var hosts, instances strings.Builder
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&hosts, "    - {name: r%d, interfaces: [{segment: lan, address: 10.77.0.%d/24}]}\n", i, 10+i)
		state, prio := "BACKUP", 100-i
		if i == 1 {
			state, prio = "MASTER", 150
		}
		fmt.Fprintf(&instances, "    - {name: VI_1, host: r%d, state: %s, virtual_router_id: 1, priority: %d, advert_int: 0.01, virtual_ipaddress: [10.77.0.100/24]}\n",
			i, state, prio)
	}
	lab := `name: long-run
title: "A long, busy lab"
duration: 3h
topology:
  segments: [{name: lan}]
  hosts:
` + hosts.String() + `vrrp:
  vrrp_version: 3
  vrrp_instance:
` + instances.String() + `expect:
  - {name: never two masters at once, single_master: {vrid: 1}}
`
	path := filepath.Join(t.TempDir(), "long.yaml")
	if err := os.WriteFile(path, []byte(lab), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunStopsOnSignal: a simulated run and a sweep stop within a second
// of SIGINT or SIGTERM, write what they saw marked interrupted, and exit
// 128 + the signal's number. (Before: a run went on to its end; a sweep
// exited 1 and wrote nothing.)
func TestRunStopsOnSignal(t *testing.T) {
	bin := buildLblab(t)
	for _, tc := range []struct {
		name  string
		sig   syscall.Signal
		args  []string
		twice bool // a second signal at once (Ctrl-C pressed twice)
	}{
		{"run SIGINT", syscall.SIGINT, []string{"run", longLab(t)}, false},
		{"run SIGTERM", syscall.SIGTERM, []string{"run", longLab(t)}, false},
		{"sweep SIGTERM", syscall.SIGTERM, []string{"run", "vrrp-failover", "--seeds", "100000", "--keep-histories"}, false},
		{"sweep SIGINT", syscall.SIGINT, []string{"run", "vrrp-failover", "--seeds", "100000", "--keep-histories"}, false},
		{"sweep SIGINT twice", syscall.SIGINT, []string{"run", "vrrp-failover", "--seeds", "100000", "--keep-histories"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			p := startLblab(t, bin, dir, append(tc.args, "--out", out)...)
			// The folder is made once the lab is loaded, before the run;
			// a tenth of a second of CPU later the run is under way.
			waitUntil(t, "the output folder", 30*time.Second, func() bool { return exists(out) || !p.running() })
			waitUntil(t, "the run under way", 30*time.Second, func() bool { return cpuTime(p.pid()) >= 100*time.Millisecond || !p.running() })
			if err := p.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			if tc.twice {
				// The second one must not cut the writing of the results
				// short (it is ignored until the command returns).
				if err := p.cmd.Process.Signal(tc.sig); err != nil {
					t.Fatal(err)
				}
			}
			code, took := p.wait(t, stopBound+loadSlack)
			t.Logf("%s: exit %d %v after the signal (%s)", tc.name, code, took.Round(time.Millisecond), strings.SplitN(p.stdout.String(), "\n", 2)[0])
			wantExit(t, code, 128+int(tc.sig), p.stdout.String(), p.stderr.String())
			if want := "lblab: interrupted by " + map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[tc.sig]; !strings.Contains(p.stderr.String(), want) {
				t.Errorf("stderr %q does not say %q", &p.stderr, want)
			}
			r := readResults(t, out)
			if !r.Interrupted || r.Passed {
				t.Errorf("results.json: interrupted %v, passed %v; want true, false", r.Interrupted, r.Passed)
			}
			if !strings.Contains(p.stdout.String(), "interrupted") {
				t.Errorf("stdout does not say interrupted:\n%s", &p.stdout)
			}
			if tc.args[1] == "vrrp-failover" {
				hist, _ := filepath.Glob(filepath.Join(out, "histories", "seed-*.jsonl"))
				if r.Seeds == 0 || r.Seeds >= 100000 || len(hist) != r.Seeds || r.Metrics["seeds_requested"] != float64(100000) {
					t.Errorf("seeds %d, %d histories, seeds_requested %v: want the seeds that finished, each with its history, of 100000",
						r.Seeds, len(hist), r.Metrics["seeds_requested"])
				}
			} else {
				wantFiles(t, out, "history.jsonl", "report.html")
				if ran, _ := r.Metrics["ran_s"].(float64); ran <= 0 || ran >= 3*3600 {
					t.Errorf("metrics.ran_s = %v, want how far the run got", r.Metrics["ran_s"])
				}
			}
		})
	}
}

// TestValidateStopsOnSignal: validate stops on SIGINT even while it waits
// for its input (a FIFO nobody writes to), and exits 130. (Before: it
// never did.)
func TestValidateStopsOnSignal(t *testing.T) {
	bin := buildLblab(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "lab.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	// Open for reading and writing: never blocks, and holds the FIFO open
	// so that the reader waits for data, not for a writer.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := startLblab(t, bin, dir, "validate", fifo)
	waitUntil(t, "validate opening the lab", 30*time.Second, func() bool {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", p.pid()))
		for _, fd := range fds {
			if l, _ := os.Readlink(fd); l == fifo {
				return true
			}
		}
		return !p.running()
	})
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code, took := p.wait(t, stopBound+loadSlack)
	t.Logf("exit %d %v after SIGINT", code, took.Round(time.Millisecond))
	wantExit(t, code, 130, p.stdout.String(), p.stderr.String())
}

// TestRunOutFolderInUse: --out into a folder holding an earlier run's
// files is refused (exit 2, nothing touched) unless --clean, which empties
// it first: no plot of the earlier run stays beside the new ones. --clean
// empties only an earlier run's folder.
func TestRunOutFolderInUse(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := lblab(t, "run", "vrrp-failover", "--seeds", "20", "--keep-histories", "--set", "sweep.ks_max=0.5", "--out", out)
	wantExit(t, code, 0, stdout, stderr)
	wantFiles(t, out, "failover_hist.png", "histories/seed-1.jsonl")

	code, stdout, stderr = lblab(t, "run", "vrrp-failover", "--out", out)
	wantExit(t, code, 2, stdout, stderr)
	if !strings.Contains(stderr, "--out "+out+": the folder is not empty") || !strings.Contains(stderr, "--clean") {
		t.Errorf("stderr %q does not say the folder is in use and what to do", stderr)
	}
	if r := readResults(t, out); r.Seeds != 20 {
		t.Errorf("a refused run changed results.json: %+v", r)
	}

	code, stdout, stderr = lblab(t, "run", "vrrp-failover", "--out", out, "--clean")
	wantExit(t, code, 0, stdout, stderr)
	if r := readResults(t, out); r.Seeds != 0 || !r.Passed {
		t.Errorf("results.json: %+v, want the new single run's", r)
	}
	for _, stale := range []string{"failover_hist.png", "failover_hist.svg", "histories"} {
		if exists(filepath.Join(out, stale)) {
			t.Errorf("%s of the earlier sweep is still there", stale)
		}
	}
	wantFiles(t, out, "timeline.png", "report.html")

	other := t.TempDir()
	notes := filepath.Join(other, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = lblab(t, "run", "vrrp-failover", "--out", other, "--clean")
	wantExit(t, code, 2, stdout, stderr)
	if !strings.Contains(stderr, "not an earlier run's folder") || !exists(notes) {
		t.Errorf("--clean on a folder that is not a run's: stderr %q, notes.txt kept: %v", stderr, exists(notes))
	}

	// A results.json is not enough: a folder holding other files as well
	// (a project that has a results.json of its own) is refused whole,
	// and nothing in it is removed.
	src := filepath.Join(other, "src", "main.go")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{src, filepath.Join(other, "results.json"), filepath.Join(other, "plot.png")} {
		if err := os.WriteFile(f, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr = lblab(t, "run", "vrrp-failover", "--out", other, "--clean")
	wantExit(t, code, 2, stdout, stderr)
	if !strings.Contains(stderr, "notes.txt") || !exists(notes) || !exists(src) || !exists(filepath.Join(other, "plot.png")) {
		t.Errorf("--clean on a folder with other files: stderr %q; notes.txt kept: %v, src/main.go kept: %v",
			stderr, exists(notes), exists(src))
	}

	// --out naming a file is bad input too.
	code, stdout, stderr = lblab(t, "run", "vrrp-failover", "--out", notes)
	wantExit(t, code, 2, stdout, stderr)
	if !strings.Contains(stderr, "not a folder") {
		t.Errorf("--out naming a file: stderr %q", stderr)
	}
}

// TestRunDefaultOutFoldersDiffer: runs started at once (the same second)
// each get a folder of their own under lblab-out/.
func TestRunDefaultOutFoldersDiffer(t *testing.T) {
	t.Chdir(t.TempDir())
	const n = 4
	reports := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, errOut bytes.Buffer
			if code := execute(t.Context(), []string{"run", "vrrp-failover"}, &out, &errOut); code != 0 {
				t.Errorf("run %d: exit %d\n%s%s", i, code, &out, &errOut)
			}
			for _, line := range strings.Split(out.String(), "\n") {
				if r, ok := strings.CutPrefix(line, "report: "); ok {
					reports[i] = r
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, r := range reports {
		dir := filepath.Dir(r)
		if r == "" || seen[dir] || filepath.Dir(dir) != "lblab-out" {
			t.Errorf("run %d wrote its report to %q; all: %q", i, r, reports)
		}
		seen[dir] = true
		if readResults(t, dir).Lab != "vrrp-failover" {
			t.Errorf("%s: not a whole run's results", dir)
		}
	}
}
