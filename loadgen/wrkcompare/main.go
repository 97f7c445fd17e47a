// Command wrkcompare measures the capacity of lblab's load generator
// against wrk's on the same target, and prints both figures and their
// ratio (lblab req/s ÷ wrk req/s).
//
//	go run ./loadgen/wrkcompare [-d 5s] [-c 50] [-runs 1] [-target URL]
//
// Without -target it starts an lblab backend (this program, re-executed)
// pinned to CPU 0 with GOMAXPROCS=1, and runs each generator pinned to CPU
// 1 with one thread (wrk -t1; lblab with GOMAXPROCS=1), one after the
// other, with the same number of keep-alive connections and the same
// duration: the same budget for both. Pinning needs taskset and two CPUs;
// without them the processes share the machine. With -runs N each
// generator runs N times, alternating, and it prints the medians and the
// median of the runs' ratios (a run is wrk then lblab, back to back, so
// a ratio is the least disturbed by other work on the machine).
//
// Against a target on one CPU the target may be what limits both
// generators; so it also prints each generator's requests per CPU-second
// it used (its rusage), which measures the generator itself.
//
// When wrk is not installed (apt-get install -y wrk) it says so and exits
// 0 without measuring. Exit status 1 when a measurement fails.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lblab/lblab/loadgen"
	"github.com/lblab/lblab/loadgen/backend"
)

func main() {
	role := flag.String("role", "", "internal: backend or load (this program re-executed)")
	listen := flag.String("listen", "127.0.0.1:0", "internal: the backend's address")
	target := flag.String("target", "", "URL to load (default: start an lblab backend)")
	conns := flag.Int("c", 50, "connections of each generator")
	dur := flag.Duration("d", 5*time.Second, "duration of each measurement")
	runs := flag.Int("runs", 1, "measurements of each generator (medians are compared)")
	flag.Parse()
	switch *role {
	case "backend":
		serveBackend(*listen)
		return
	case "load":
		os.Exit(runLoad(*target, *conns, *dur))
	case "":
	default:
		fatal("unknown role %q", *role)
	}
	if *conns < 1 || *dur <= 0 || *runs < 1 {
		fatal("-c, -d and -runs must be positive")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		fmt.Println("SKIP: wrk is not installed (apt-get install -y wrk); nothing to compare against")
		return
	}
	pin := pinning()
	url := *target
	if url == "" {
		stop, addr := startBackend(pin)
		defer stop()
		url = "http://" + addr + "/"
	}
	where := "unpinned"
	if pin {
		where = "backend on CPU 0, generators on CPU 1"
	}
	fmt.Printf("target %s; %s; %d keep-alive connections, %s a run, %d run(s) each\n", url, where, *conns, *dur, *runs)

	var wrkRPS, lbRPS, ratios, wrkCPU, lbCPU, cpuRatios []float64
	for i := range *runs {
		w, err := measureWrk(wrk, url, *conns, *dur, pin)
		if err != nil {
			fatal("wrk: %v", err)
		}
		l, line, err := measureLblab(url, *conns, *dur, pin)
		if err != nil {
			fatal("lblab: %v", err)
		}
		fmt.Printf("run %d: wrk %.0f req/s (%.0f req per CPU-second), lblab %.0f req/s (%.0f req per CPU-second; %s)\n",
			i+1, w.rps, w.perCPU(), l.rps, l.perCPU(), line)
		wrkRPS, lbRPS, ratios = append(wrkRPS, w.rps), append(lbRPS, l.rps), append(ratios, l.rps/w.rps)
		wrkCPU, lbCPU, cpuRatios = append(wrkCPU, w.perCPU()), append(lbCPU, l.perCPU()), append(cpuRatios, l.perCPU()/w.perCPU())
	}
	fmt.Printf("wrk:   %.0f req/s, %.0f req per CPU-second (medians)\n", median(wrkRPS), median(wrkCPU))
	fmt.Printf("lblab: %.0f req/s, %.0f req per CPU-second (medians)\n", median(lbRPS), median(lbCPU))
	fmt.Printf("ratio lblab/wrk: %.2f in req/s, %.2f in req per CPU-second (medians of the runs' ratios)\n",
		median(ratios), median(cpuRatios))
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "wrkcompare: "+format+"\n", args...)
	os.Exit(1)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// pinning reports whether processes can be pinned to CPUs 0 and 1.
func pinning() bool {
	if runtime.NumCPU() < 2 {
		return false
	}
	_, err := exec.LookPath("taskset")
	return err == nil
}

// command makes a command pinned to cpu when pin is set, with one Go
// thread.
func command(pin bool, cpu string, name string, args ...string) *exec.Cmd {
	if pin {
		args = append([]string{"-c", cpu, name}, args...)
		name = "taskset"
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	return cmd
}

func self() string {
	exe, err := os.Executable()
	if err != nil {
		fatal("%v", err)
	}
	return exe
}

// startBackend runs this program as an lblab backend and returns its
// address.
func startBackend(pin bool) (stop func(), addr string) {
	cmd := command(pin, "0", self(), "-role", "backend")
	out, err := cmd.StdoutPipe()
	if err != nil {
		fatal("%v", err)
	}
	if err := cmd.Start(); err != nil {
		fatal("backend: %v", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		fatal("backend: %v", err)
	}
	addr = strings.TrimSpace(line)
	return func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}, addr
}

func serveBackend(listen string) {
	srv, err := backend.New(backend.Config{Name: "bench"})
	if err != nil {
		fatal("%v", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fatal("%v", err)
	}
	fmt.Println(ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go srv.Serve(ln, false)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// measurement is one generator's run: its rate and the CPU time it used.
type measurement struct {
	rps, cpu float64 // req/s, CPU seconds
	secs     float64 // length of the run
}

// perCPU returns the requests it sent per CPU second it used.
func (m measurement) perCPU() float64 { return m.rps * m.secs / m.cpu }

func cpuOf(cmd *exec.Cmd) float64 {
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}

func measureWrk(wrk, url string, conns int, d time.Duration, pin bool) (measurement, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := command(pin, "1", wrk, "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s", url)
	out, err := cmd.Output()
	if err != nil {
		return measurement{}, fmt.Errorf("%v\n%s", err, out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return measurement{}, fmt.Errorf("no Requests/sec in:\n%s", out)
	}
	rps, err := strconv.ParseFloat(string(m[1]), 64)
	return measurement{rps: rps, cpu: cpuOf(cmd), secs: float64(secs)}, err
}

var lblabRate = regexp.MustCompile(`(?m)^rps ([0-9.]+)$`)

func measureLblab(url string, conns int, d time.Duration, pin bool) (measurement, string, error) {
	d = max(time.Second, d.Round(time.Second)) // the same as wrk's whole seconds
	cmd := command(pin, "1", self(), "-role", "load", "-target", url, "-c", strconv.Itoa(conns), "-d", d.String())
	out, err := cmd.Output()
	if err != nil {
		return measurement{}, "", fmt.Errorf("%v\n%s", err, out)
	}
	m := lblabRate.FindSubmatch(out)
	if m == nil {
		return measurement{}, "", fmt.Errorf("no rate in:\n%s", out)
	}
	rps, err := strconv.ParseFloat(string(m[1]), 64)
	line, _, _ := strings.Cut(string(out), "\n")
	return measurement{rps: rps, cpu: cpuOf(cmd), secs: d.Seconds()}, line, err
}

// runLoad is the lblab side: a closed loop of conns keep-alive clients
// for d, like wrk's.
func runLoad(url string, conns int, d time.Duration) int {
	res, err := loadgen.Run(context.Background(), loadgen.Config{Target: url, Concurrency: conns, KeepAlive: true, Duration: d})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(res.AccountingLine())
	fmt.Printf("rps %.1f\n", float64(res.Sent-res.Cancelled)/res.Elapsed.Seconds())
	if res.Unaccounted() != 0 {
		return 1
	}
	return 0
}
