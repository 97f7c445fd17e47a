// Command proxybench measures the HTTP and TCP throughput of lblab's proxy
// against nginx and HAProxy on the same machine, in one run, with the same
// load:
//
//	go run ./bench/proxybench          (or: go tool task bench:proxy)
//
// It installs nginx, haproxy and wrk from Debian's packages when they are
// missing and it runs as root (a policy-rc.d keeps the packages from
// starting daemons), starts two small keep-alive HTTP backends (this
// program itself, re-executed with -serve), and then, for each target,
// runs wrk for a warm-up and a measurement: the backend directly, nginx (one
// worker, keep-alive to the backends), HAProxy (one thread) and lblab proxy
// (GOMAXPROCS=1). The target runs on CPU 1 (taskset), wrk and the backends
// on CPU 0. It prints req/s and p99 latency per target and the ratios
// lblab/nginx and lblab/HAProxy. Each target is measured -rounds times
// (default 3), the targets interleaved, and its best run is kept: on a
// shared machine other work only ever slows a run down. Beside req/s and
// p99 it prints the target's CPU use and CPU time per request, read from
// /proc for its whole process group: a target below ~90% CPU was held back
// by the load side (wrk and the backends), not by its own speed.
//
// Then the TCP part (tcp.go) does the same for a TCP line echo: the echo
// backend directly, nginx's stream module, HAProxy in mode tcp and lblab
// proxy with a tcp listener, loaded by lblab's loadgen in two modes:
// round trips over persistent connections, and new connections per second.
//
// Everything it starts runs in its own process group and is killed at the
// end, on error and on SIGINT/SIGTERM; configurations live in a temporary
// folder that is removed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

var (
	flagDuration  = flag.Duration("d", 10*time.Second, "measurement time per target (wrk -d)")
	flagWarmup    = flag.Duration("warmup", 2*time.Second, "warm-up time per target before the measurement")
	flagConns     = flag.Int("c", 50, "wrk connections")
	flagThreads   = flag.Int("t", 1, "wrk threads")
	flagTargets   = flag.String("targets", "direct,nginx,haproxy,lblab,lblab-history", "targets to measure, in order")
	flagLblab     = flag.String("lblab", "", "lblab binary (default: built from this module into the temporary folder)")
	flagNoApt     = flag.Bool("no-install", false, "do not install missing packages")
	flagKeep      = flag.Bool("keep", false, "keep the temporary folder (configurations, logs)")
	flagServe     = flag.String("serve", "", "internal: serve the benchmark backend on these comma-separated addresses")
	flagTargetCPU = flag.String("target-cpu", "1", "CPU list the target runs on (taskset -c)")
	flagLoadCPU   = flag.String("load-cpu", "0", "CPU list wrk and the backends run on")
	flagRounds    = flag.Int("rounds", 3, "measure every target this many times, interleaved, and keep each one's best run (other load on the machine only ever slows a run down)")
)

func main() {
	flag.Parse()
	if *flagServe != "" {
		serveBackends(strings.Split(*flagServe, ","))
		return
	}
	if *flagServeEcho != "" {
		serveEcho(strings.Split(*flagServeEcho, ","))
		return
	}
	if *flagTCPLoad != "" {
		if err := tcpLoad(*flagTCPLoad, *flagTCPAddr); err != nil {
			fmt.Fprintln(os.Stderr, "proxybench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	killAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

// result is one target's measurement.
type result struct {
	name   string
	rps    float64
	p99    time.Duration
	cpu    float64 // the target's CPU use during the measurement, in cores
	usReq  float64 // the target's CPU time per request, in microseconds
	note   string
	failed bool
}

func run(ctx context.Context) error {
	if err := install(ctx); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "proxybench-")
	if err != nil {
		return err
	}
	if !*flagKeep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Println("temporary folder:", dir)
	}
	pin := func(cpus string, argv []string) []string {
		if _, err := exec.LookPath("taskset"); err != nil || cpus == "" {
			return argv
		}
		return append([]string{"taskset", "-c", cpus}, argv...)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	b1, b2 := addr(ports[0]), addr(ports[1])
	front, direct := ports[2], addr(ports[3])
	// The two backends behind the proxies share the load CPU with wrk; the
	// one measured directly runs on the target CPU.
	if _, err := start(ctx, dir, "backends", pin(*flagLoadCPU, []string{self, "-serve", b1 + "," + b2}), "GOMAXPROCS=1"); err != nil {
		return err
	}
	for _, a := range []string{b1, b2} {
		if err := waitHTTP(ctx, "http://"+a+"/", 10*time.Second); err != nil {
			return fmt.Errorf("backend %s: %w", a, err)
		}
	}
	fmt.Printf("machine: %d CPUs, %s; target on CPU %s, wrk and backends on CPU %s\n",
		runtime.NumCPU(), cpuModel(), *flagTargetCPU, *flagLoadCPU)
	fmt.Printf("load: wrk -t%d -c%d -d%s after a %s warm-up, GET / (5-byte body), keep-alive\n\n",
		*flagThreads, *flagConns, *flagDuration, *flagWarmup)

	var results []result
	best := map[string]int{}
	for round := 1; round <= *flagRounds; round++ {
		if *flagRounds > 1 {
			fmt.Printf("round %d of %d\n", round, *flagRounds)
		}
		for _, name := range strings.Split(*flagTargets, ",") {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r := measureTarget(ctx, dir, pin, self, strings.TrimSpace(name), direct, front, b1, b2)
			fmt.Printf("  %-16s %s\n", r.name, summary(r))
			if i, ok := best[r.name]; !ok {
				best[r.name] = len(results)
				results = append(results, r)
			} else if !r.failed && (results[i].failed || r.rps > results[i].rps) {
				results[i] = r
			}
		}
	}
	printTable("HTTP keep-alive", "req/s", "req", results)
	return runTCP(ctx, dir, pin, self)
}

// measureTarget starts one target, measures it and stops it.
func measureTarget(ctx context.Context, dir string, pin func(string, []string) []string, self, name, direct string, front int, b1, b2 string) result {
	r := result{name: name}
	url := fmt.Sprintf("http://127.0.0.1:%d/", front)
	var proc *exec.Cmd
	var err error
	switch name {
	case "direct":
		r.name = "backend direct"
		proc, err = start(ctx, dir, name, pin(*flagTargetCPU, []string{self, "-serve", direct}), "GOMAXPROCS=1")
		url = "http://" + direct + "/"
	case "nginx":
		proc, err = startNginx(ctx, dir, pin, front, b1, b2)
	case "haproxy":
		proc, err = startHAProxy(ctx, dir, pin, front, b1, b2)
	case "lblab", "lblab-history":
		proc, err = startLblab(ctx, dir, pin, front, b1, b2, name == "lblab-history")
		if name == "lblab-history" {
			r.name = "lblab --history"
		}
	default:
		err = fmt.Errorf("unknown target %q", name)
	}
	if err == nil {
		err = waitHTTP(ctx, url, 10*time.Second)
	}
	if err == nil {
		err = measure(ctx, pin, url, proc.Process.Pid, &r)
	}
	if err != nil {
		r.failed, r.note = true, err.Error()
	}
	if proc != nil {
		stopProc(proc)
	}
	return r
}

func summary(r result) string {
	if r.failed {
		return "not measured: " + r.note
	}
	return fmt.Sprintf("%.0f req/s, p99 %s, target CPU %.0f%% (%.1f µs/req)", r.rps, r.p99, 100*r.cpu, r.usReq)
}

// printTable prints one kind of measurement: a row per target (title,
// the rate in unit, p99, the target's CPU share and CPU time per
// operation, perOp), lblab's ratios to nginx and HAProxy, and why a
// target was not measured.
func printTable(title, unit, perOp string, rs []result) {
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t%s\tp99\ttarget CPU\tCPU µs/%s\t\n", title, unit, perOp)
	by := map[string]result{}
	for _, r := range rs {
		by[r.name] = r
		if r.failed {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t\n", r.name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.0f%%\t%.1f\t\n", r.name, r.rps, r.p99, 100*r.cpu, r.usReq)
	}
	tw.Flush()
	lb := by["lblab"]
	for _, ref := range []string{"nginx", "haproxy"} {
		o := by[ref]
		if lb.rps > 0 && o.rps > 0 {
			fmt.Printf("lblab/%s: %.2f %s (p99 %s vs %s); %.2f per CPU second\n", ref, lb.rps/o.rps, unit, lb.p99, o.p99, o.usReq/lb.usReq)
		}
	}
	for _, r := range rs {
		if r.failed {
			fmt.Printf("%s: not measured: %s\n", r.name, r.note)
		}
	}
}

// measure runs wrk for the warm-up, then for the measurement, and reads
// its requests per second and 99th percentile, and the CPU time the
// target's process group used meanwhile.
func measure(ctx context.Context, pin func(string, []string) []string, url string, pgid int, r *result) error {
	common := []string{"wrk", "-t" + strconv.Itoa(*flagThreads), "-c" + strconv.Itoa(*flagConns)}
	warm := append(append([]string{}, common...), "-d"+secs(*flagWarmup), url)
	if _, err := output(ctx, pin(*flagLoadCPU, warm)); err != nil {
		return err
	}
	argv := append(append([]string{}, common...), "-d"+secs(*flagDuration), "--latency", url)
	cpu0, t0 := groupCPU(pgid), time.Now()
	out, err := output(ctx, pin(*flagLoadCPU, argv))
	cpu, elapsed := groupCPU(pgid)-cpu0, time.Since(t0)
	if err != nil {
		return err
	}
	var requests float64
	r.rps, r.p99, requests, err = parseWrk(out)
	if requests > 0 {
		r.cpu = cpu.Seconds() / elapsed.Seconds()
		r.usReq = float64(cpu.Microseconds()) / requests
	}
	return err
}

// groupCPU sums the user and system CPU time of the processes of a
// process group (from /proc; clock ticks of 10 ms).
func groupCPU(pgid int) time.Duration {
	ents, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command (in parentheses): state ppid pgrp ...
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		if pg, _ := strconv.Atoi(f[2]); pg != pgid {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += ut + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

func secs(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s"
}

var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reP99     = regexp.MustCompile(`(?m)^\s+99%\s+([0-9.]+)(us|ms|s)\s*$`)
	reCount   = regexp.MustCompile(`(\d+) requests in`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	reSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk --latency output: requests per second, the 99th
// percentile and the number of requests.
func parseWrk(out string) (float64, time.Duration, float64, error) {
	m := reRPS.FindStringSubmatch(out)
	p := reP99.FindStringSubmatch(out)
	n := reCount.FindStringSubmatch(out)
	if m == nil || p == nil || n == nil {
		return 0, 0, 0, fmt.Errorf("cannot read wrk's output:\n%s", out)
	}
	count, _ := strconv.ParseFloat(n[1], 64)
	rps, _ := strconv.ParseFloat(m[1], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[2]]
	p99 := time.Duration(v * float64(unit)).Round(time.Microsecond)
	if n := reNon2xx.FindStringSubmatch(out); n != nil {
		return rps, p99, count, fmt.Errorf("%s non-2xx responses", n[1])
	}
	if e := reSockErr.FindStringSubmatch(out); e != nil && (e[1] != "0" || e[2] != "0" || e[3] != "0") {
		return rps, p99, count, fmt.Errorf("socket errors: %s", e[0])
	}
	return rps, p99, count, nil
}

func startNginx(ctx context.Context, dir string, pin func(string, []string) []string, port int, b1, b2 string) (*exec.Cmd, error) {
	nd := filepath.Join(dir, "nginx")
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  upstream web {
    server %[2]s;
    server %[3]s;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:%[4]d;
    location / {
      proxy_pass http://web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`, nd, b1, b2, port)
	return startNginxConf(ctx, dir, "nginx", nd, conf, pin)
}

// startNginxConf writes conf to nd/nginx.conf (nd is nginx's prefix
// folder) and starts nginx on it, pinned to the target CPU.
func startNginxConf(ctx context.Context, dir, name, nd, conf string, pin func(string, []string) []string) (*exec.Cmd, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return nil, errors.New("nginx is not installed")
	}
	if err := os.MkdirAll(nd, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(nd, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return start(ctx, dir, name, pin(*flagTargetCPU, []string{bin, "-p", nd, "-c", path, "-e", filepath.Join(nd, "error.log")}))
}

// startHAProxyConf writes conf to dir/file and starts HAProxy on it,
// pinned to the target CPU.
func startHAProxyConf(ctx context.Context, dir, name, file, conf string, pin func(string, []string) []string) (*exec.Cmd, error) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return nil, errors.New("haproxy is not installed")
	}
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return start(ctx, dir, name, pin(*flagTargetCPU, []string{bin, "-f", path, "-db"}))
}

func startHAProxy(ctx context.Context, dir string, pin func(string, []string) []string, port int, b1, b2 string) (*exec.Cmd, error) {
	conf := fmt.Sprintf(`global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 75s
  option http-keep-alive
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:%d
  http-request set-header X-Real-IP %%[src]
  http-request set-header X-Forwarded-Proto http
  default_backend be
backend be
  balance roundrobin
  server s1 %s
  server s2 %s
`, port, b1, b2)
	return startHAProxyConf(ctx, dir, "haproxy", "haproxy.cfg", conf, pin)
}

func startLblab(ctx context.Context, dir string, pin func(string, []string) []string, port int, b1, b2 string, hist bool) (*exec.Cmd, error) {
	bin, err := lblabBinary(ctx, dir)
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("listeners: [{port: %d, group: web}]\ngroups:\n  - name: web\n    servers: [{address: %q}, {address: %q}]\n", port, b1, b2)
	path := filepath.Join(dir, "lb.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	argv := []string{bin, "proxy", "--config", path, "--bind", "127.0.0.1", "--quiet"}
	if hist {
		argv = append(argv, "--history", filepath.Join(dir, "history.jsonl"))
	}
	return start(ctx, dir, "lblab", pin(*flagTargetCPU, argv), "GOMAXPROCS=1")
}

// lblabBinary returns -lblab, or builds lblab into dir once.
func lblabBinary(ctx context.Context, dir string) (string, error) {
	bin := *flagLblab
	if bin == "" {
		bin = filepath.Join(dir, "lblab")
		if _, err := os.Stat(bin); err != nil {
			build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lblab")
			build.Stdout, build.Stderr = os.Stderr, os.Stderr
			if err := build.Run(); err != nil {
				return "", fmt.Errorf("go build ./cmd/lblab (run from the module's root): %w", err)
			}
		}
	}
	return bin, nil
}

// Processes: each in its own process group, killed with its children.
var (
	procMu sync.Mutex
	procs  = map[*exec.Cmd]bool{}
)

func start(ctx context.Context, dir, name string, argv []string, env ...string) (*exec.Cmd, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	procMu.Lock()
	defer procMu.Unlock()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	procs[cmd] = true
	go func() {
		cmd.Wait()
		logf.Close()
	}()
	return cmd, nil
}

// stopProc ends a process group: SIGTERM, then SIGKILL after 3 s.
func stopProc(cmd *exec.Cmd) {
	procMu.Lock()
	delete(procs, cmd)
	procMu.Unlock()
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
}

func killAll() {
	procMu.Lock()
	var all []*exec.Cmd
	for c := range procs {
		all = append(all, c)
	}
	procMu.Unlock()
	for _, c := range all {
		stopProc(c)
	}
}

// output runs a command in its own process group and returns its
// standard output; it is killed if ctx ends.
func output(ctx context.Context, argv []string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return out.String(), fmt.Errorf("%s: %w\n%s", argv[0], err, out.String())
		}
		return out.String(), nil
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return "", ctx.Err()
	}
}

// install installs nginx, haproxy and wrk from Debian's packages when one
// is missing and this runs as root, without letting a daemon start.
func install(ctx context.Context) error {
	var missing []string
	for _, p := range []string{"nginx", "haproxy", "wrk"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	// Debian's nginx loads its stream module (the TCP part) dynamically.
	if _, err := os.Stat(nginxStreamModule); err != nil && strings.TrimSpace(*flagTCPTargets) != "" {
		if _, err := exec.LookPath("apt-get"); err == nil {
			missing = append(missing, "libnginx-mod-stream")
		}
	}
	if len(missing) == 0 || *flagNoApt {
		return nil
	}
	if os.Geteuid() != 0 {
		fmt.Printf("not installed: %s (not root: those targets are skipped)\n", strings.Join(missing, ", "))
		return nil
	}
	fmt.Println("installing", strings.Join(missing, ", "), "from Debian's packages")
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
			return err
		}
		defer os.Remove(policy)
	}
	for _, argv := range [][]string{{"apt-get", "update", "-qq"}, append([]string{"apt-get", "install", "-y", "-qq"}, missing...)} {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
		}
	}
	return nil
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitHTTP waits until url answers 200.
func waitHTTP(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %v", url, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// serveBackends is the benchmark backend: for every request on a
// keep-alive connection (pipelining included) it answers "hello" with a
// Content-Length. It reads only up to the end of each header; request
// bodies are not expected.
func serveBackends(addrs []string) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
	var wg sync.WaitGroup
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "backend:", err)
			os.Exit(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go serveConn(c, resp)
			}
		}()
	}
	wg.Wait()
}

func serveConn(c net.Conn, resp []byte) {
	defer c.Close()
	buf := make([]byte, 16<<10)
	out := make([]byte, 0, 16<<10)
	n := 0
	for {
		k, err := c.Read(buf[n:])
		if k == 0 && err != nil {
			return
		}
		n += k
		start := 0
		out = out[:0]
		for {
			i := indexCRLF2(buf[start:n])
			if i < 0 {
				break
			}
			start += i + 4
			out = append(out, resp...)
		}
		n = copy(buf, buf[start:n])
		if n == len(buf) {
			return // a header larger than the buffer
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

func indexCRLF2(b []byte) int {
	for i := 0; i+3 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' && b[i+2] == '\r' && b[i+3] == '\n' {
			return i
		}
	}
	return -1
}
