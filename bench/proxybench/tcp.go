package main

// The TCP part: a line echo (loadgen/backend's TCP echo, which greets each
// connection with "NAME\n" and echoes what it receives) measured directly
// and behind nginx's stream module, HAProxy in mode tcp and lblab proxy
// with a tcp listener, with the same pinning as the HTTP part. The load is
// lblab's own load generator (package loadgen, closed loop, flag -c
// clients), run as this program re-executed with -tcp-load and pinned to
// the load CPU, in two modes:
//
//   - echo: each client keeps one connection and sends "ping\n" and waits
//     for its echo, again and again (round trips per second);
//   - conn: each client connects, reads the greeting, does one echo and
//     closes, again and again (new connections per second).

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lblab/lblab/loadgen"
	"github.com/lblab/lblab/loadgen/backend"
)

var (
	flagTCPTargets = flag.String("tcp-targets", "direct,nginx,haproxy,lblab", "TCP targets to measure, in order (empty: no TCP part)")
	flagServeEcho  = flag.String("serve-echo", "", "internal: serve the TCP echo backend on these comma-separated addresses")
	flagTCPLoad    = flag.String("tcp-load", "", "internal: run the TCP load (echo or conn) against -tcp-addr and print the result")
	flagTCPAddr    = flag.String("tcp-addr", "", "internal: the TCP load's target host:port")
)

// tcpModes are the two TCP measurements.
var tcpModes = []struct{ key, title, unit string }{
	{"echo", "TCP echo, persistent", "round trips/s"},
	{"conn", "TCP new connections", "conn/s"},
}

// serveEcho runs TCP echo backends named e1, e2, … on addrs.
func serveEcho(addrs []string) {
	var wg sync.WaitGroup
	for i, a := range addrs {
		s, err := backend.New(backend.Config{Name: "e" + strconv.Itoa(i+1), NoControl: true})
		if err == nil {
			var ln net.Listener
			if ln, err = net.Listen("tcp", a); err == nil {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.Serve(ln, true)
				}()
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo backend:", err)
			os.Exit(1)
		}
	}
	wg.Wait()
}

// tcpLoad is the -tcp-load mode: it runs loadgen for -d and prints one
// line: "completed seconds p99µs failed timedout".
func tcpLoad(mode, addr string) error {
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Target:      "tcp://" + addr,
		Concurrency: *flagConns,
		Duration:    *flagDuration,
		KeepAlive:   mode == "echo",
		Timeout:     5 * time.Second,
	})
	if err != nil {
		return err
	}
	fmt.Printf("%d %f %d %d %d\n", res.Completed, res.Elapsed.Seconds(), res.Latency.Percentile(99).Microseconds(), res.Failed, res.TimedOut)
	if res.Failed+res.TimedOut > 0 {
		fmt.Printf("errors: %v\n", res.Errors)
	}
	return nil
}

// runTCP measures the TCP targets -rounds times, interleaved, keeping each
// one's best run per mode, and prints the tables.
func runTCP(ctx context.Context, dir string, pin func(string, []string) []string, self string) error {
	if strings.TrimSpace(*flagTCPTargets) == "" {
		return nil
	}
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	e1, e2 := addr(ports[0]), addr(ports[1])
	front, direct := ports[2], addr(ports[3])
	backends, err := start(ctx, dir, "echo-backends", pin(*flagLoadCPU, []string{self, "-serve-echo", e1 + "," + e2}), "GOMAXPROCS=1")
	if err != nil {
		return err
	}
	defer stopProc(backends)
	for _, a := range []string{e1, e2} {
		if err := waitEcho(ctx, a, 10*time.Second); err != nil {
			return fmt.Errorf("echo backend %s: %w", a, err)
		}
	}
	fmt.Printf("\nTCP load: lblab's loadgen (GOMAXPROCS=1), %d clients, %s after a %s warm-up, line \"ping\"; echo: one connection per client, many round trips; conn: connect, greeting, one echo, close\n",
		*flagConns, *flagDuration, *flagWarmup)
	best := map[string][]result{} // name → one result per mode
	var order []string
	for round := 1; round <= *flagRounds; round++ {
		if *flagRounds > 1 {
			fmt.Printf("TCP round %d of %d\n", round, *flagRounds)
		}
		for _, name := range strings.Split(*flagTCPTargets, ",") {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rs := measureTCPTarget(ctx, dir, pin, self, strings.TrimSpace(name), direct, front, e1, e2)
			key := rs[0].name
			if _, ok := best[key]; !ok {
				order = append(order, key)
				best[key] = rs
			}
			for i, r := range rs {
				fmt.Printf("  %-16s %-5s %s\n", r.name, tcpModes[i].key, summary(r))
				if b := best[key][i]; !r.failed && (b.failed || r.rps > b.rps) {
					best[key][i] = r
				}
			}
		}
	}
	for i, m := range tcpModes {
		var rs []result
		for _, name := range order {
			rs = append(rs, best[name][i])
		}
		printTable(m.title, m.unit, "op", rs)
	}
	return nil
}

// measureTCPTarget starts one TCP target, measures both modes and stops it.
func measureTCPTarget(ctx context.Context, dir string, pin func(string, []string) []string, self, name, direct string, front int, e1, e2 string) []result {
	target := addr(front)
	var proc *exec.Cmd
	var err error
	display := name
	switch name {
	case "direct":
		display = "backend direct"
		target = direct
		proc, err = start(ctx, dir, "echo-direct", pin(*flagTargetCPU, []string{self, "-serve-echo", direct}), "GOMAXPROCS=1")
	case "nginx":
		proc, err = startNginxStream(ctx, dir, pin, front, e1, e2)
	case "haproxy":
		proc, err = startHAProxyTCP(ctx, dir, pin, front, e1, e2)
	case "lblab":
		proc, err = startLblabTCP(ctx, dir, pin, front, e1, e2)
	default:
		err = fmt.Errorf("unknown TCP target %q", name)
	}
	if err == nil {
		err = waitEcho(ctx, target, 10*time.Second)
	}
	rs := make([]result, len(tcpModes))
	for i, m := range tcpModes {
		rs[i].name = display
		e := err
		if e == nil {
			e = measureTCP(ctx, pin, self, m.key, target, proc.Process.Pid, &rs[i])
		}
		if e != nil {
			rs[i].failed, rs[i].note = true, e.Error()
		}
	}
	if proc != nil {
		stopProc(proc)
	}
	return rs
}

// measureTCP runs the load for the warm-up, then for the measurement.
func measureTCP(ctx context.Context, pin func(string, []string) []string, self, mode, target string, pgid int, r *result) error {
	load := func(d time.Duration) (string, error) {
		argv := []string{self, "-tcp-load", mode, "-tcp-addr", target, "-c", strconv.Itoa(*flagConns), "-d", d.String()}
		return output(ctx, append([]string{"env", "GOMAXPROCS=1"}, pin(*flagLoadCPU, argv)...))
	}
	if _, err := load(*flagWarmup); err != nil {
		return err
	}
	cpu0, t0 := groupCPU(pgid), time.Now()
	out, err := load(*flagDuration)
	cpu, elapsed := groupCPU(pgid)-cpu0, time.Since(t0)
	if err != nil {
		return err
	}
	var completed, p99us, failed, timedOut int64
	var secs float64
	if _, err := fmt.Sscan(out, &completed, &secs, &p99us, &failed, &timedOut); err != nil || secs <= 0 {
		return fmt.Errorf("cannot read the load's output: %q", out)
	}
	r.rps = float64(completed) / secs
	r.p99 = time.Duration(p99us) * time.Microsecond
	if completed > 0 {
		r.cpu = cpu.Seconds() / elapsed.Seconds()
		r.usReq = float64(cpu.Microseconds()) / float64(completed)
	}
	if failed+timedOut > 0 {
		return fmt.Errorf("%d failed, %d timed out: %s", failed, timedOut, strings.TrimSpace(out))
	}
	return nil
}

// waitEcho waits until addr greets a connection and echoes a line.
func waitEcho(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	try := func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		br := bufio.NewReader(c)
		if _, err := br.ReadString('\n'); err != nil {
			return err
		}
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return err
		}
		line, err := br.ReadString('\n')
		if err == nil && line != "ping\n" {
			err = fmt.Errorf("echo %q", line)
		}
		return err
	}
	for {
		err := try()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %v", addr, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// nginxStreamModule is Debian's dynamic stream module (libnginx-mod-stream).
const nginxStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

func startNginxStream(ctx context.Context, dir string, pin func(string, []string) []string, port int, e1, e2 string) (*exec.Cmd, error) {
	load := ""
	if _, err := os.Stat(nginxStreamModule); err == nil {
		load = "load_module " + nginxStreamModule + ";\n"
	}
	nd := filepath.Join(dir, "nginx-stream")
	conf := fmt.Sprintf(`%[5]sworker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
stream {
  upstream echo {
    server %[2]s;
    server %[3]s;
  }
  server {
    listen 127.0.0.1:%[4]d;
    proxy_pass echo;
  }
}
`, nd, e1, e2, port, load)
	return startNginxConf(ctx, dir, "nginx-stream", nd, conf, pin)
}

func startHAProxyTCP(ctx context.Context, dir string, pin func(string, []string) []string, port int, e1, e2 string) (*exec.Cmd, error) {
	conf := fmt.Sprintf(`global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:%d
  default_backend be
backend be
  balance roundrobin
  server s1 %s
  server s2 %s
`, port, e1, e2)
	return startHAProxyConf(ctx, dir, "haproxy-tcp", "haproxy-tcp.cfg", conf, pin)
}

func startLblabTCP(ctx context.Context, dir string, pin func(string, []string) []string, port int, e1, e2 string) (*exec.Cmd, error) {
	bin, err := lblabBinary(ctx, dir)
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("listeners: [{protocol: tcp, port: %d, group: echo}]\ngroups:\n  - name: echo\n    servers: [{address: %q}, {address: %q}]\n", port, e1, e2)
	path := filepath.Join(dir, "lb-tcp.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	argv := []string{bin, "proxy", "--config", path, "--bind", "127.0.0.1", "--quiet"}
	return start(ctx, dir, "lblab-tcp", pin(*flagTargetCPU, argv), "GOMAXPROCS=1")
}
