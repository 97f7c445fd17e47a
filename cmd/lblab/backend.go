package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/lblab/lblab/loadgen/backend"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newBackend) }

type backendFlags struct {
	listen, name, mode, latency, healthPath, admin string
	errorRate                                      float64
	errorStatus, bodySize                          int
	grace                                          time.Duration
	spec, pick                                     string
	seed                                           uint64
	hold                                           bool
}

func newBackend() *cobra.Command {
	var f backendFlags
	c := &cobra.Command{
		Use:   "backend --listen ADDR --name NAME [--mode http|tcp|udp] [flags]",
		Short: "Run a test backend: HTTP (X-Backend: NAME), TCP echo with a greeting, or UDP echo",
		Long: `Run a test backend for labs and benchmarks.

--mode http (the default) answers every request with 200, the body
"NAME\n" (or --body-size bytes) and the header X-Backend: NAME, with
keep-alive. Each answer waits a latency drawn from --latency:

  0                       none (the default)
  10ms, constant:10ms     always 10 ms
  exp:10ms                exponential law, mean 10 ms
  lognormal:20ms,200ms    log-normal law: median 20 ms, p99 200 ms

(the simulator's laws; durations are Go durations or plain seconds).
--error-rate P answers that share of the requests with --error-status.
The health endpoint (--health-path) answers 200 "ok" until switched;
neither the latency nor the error rate applies to it.

Run-time control, under /_lblab/ on the listener (only on --admin ADDR
when given, then the main listener has no control path):

  PUT /_lblab/health?status=503        the health endpoint answers 503
  PUT /_lblab/health?status=200        and 200 again
  PUT /_lblab/stall?for=200ms          every request arriving in the next 200 ms
                                       waits until the stall ends
  PUT /_lblab/latency?law=exp:10ms     change the latency law
  PUT /_lblab/slow?factor=10           multiply the service times by 10 (1: normal)
  PUT /_lblab/error-rate?p=0.1&status=503
  GET /_lblab/stats                    counters as JSON

SIGUSR1 switches the health endpoint to 503, SIGUSR2 back to 200.

--mode tcp greets each connection with the line "NAME\n" and echoes what
it receives; --mode udp answers each datagram with "NAME:" and the
datagram. The latency law applies to each echo.

--spec FILE serves a lab's backends: element instead (FILE is a lab file,
or a file with just a backends: list; --pick ADDRESS chooses one of
several), with the simulator's meaning: its service-time law (default
constant 10ms), concurrency with a queue (a request finding it full gets
503), error rules, and health_path answered to lblab proxy's probes. It
listens on the element's address and names itself by it unless --listen
or --name say otherwise; --latency, --error-rate, --error-status and
--health-path are the spec's. With --mode tcp it is the tcp echo of a
server of a tcp listener, its service-time law applied to each echo.

--hold (with --admin) opens only the control listener at first: the
backend listens on its address when PUT /_lblab/listen arrives there,
and that answer (200 and the address) says it listens. A lab's restore
uses it: the fresh server is started while its predecessor is down and
comes back at the restore's moment, not a process start later.

Once listening it prints "backend NAME: MODE on ADDR". SIGINT or SIGTERM
stops it: it stops accepting, closes idle connections, lets the answers
under way finish (up to --grace), and exits 0.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error { return runBackend(c, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	fl.StringVar(&f.name, "name", "", "the backend's name (default the host name)")
	fl.StringVar(&f.mode, "mode", "http", "http, tcp (echo with a greeting line) or udp (echo with a NAME: prefix)")
	fl.StringVar(&f.latency, "latency", "0", "latency law: 10ms, exp:10ms or lognormal:MEDIAN,P99")
	fl.Float64Var(&f.errorRate, "error-rate", 0, "share of requests (0..1) answered with --error-status")
	fl.IntVar(&f.errorStatus, "error-status", 500, "status of the failed requests")
	fl.StringVar(&f.healthPath, "health-path", "/healthz", "path of the health endpoint")
	fl.StringVar(&f.admin, "admin", "", "serve the /_lblab/ control paths on this address only")
	fl.IntVar(&f.bodySize, "body-size", 0, "size of the 200 answer's body in bytes (default the name and a line break)")
	fl.DurationVar(&f.grace, "grace", 5*time.Second, "on SIGINT/SIGTERM, how long the answers under way may take to finish")
	fl.StringVar(&f.spec, "spec", "", "serve a lab's backends: element from this file (a lab file, or one with just a backends: list)")
	fl.StringVar(&f.pick, "pick", "", "with --spec: the backend's address or index when the file holds several")
	fl.Uint64Var(&f.seed, "seed", 1, "with --spec: seed of the service-time and error draws")
	fl.BoolVar(&f.hold, "hold", false, "with --admin: listen on the address only when PUT /_lblab/listen arrives on the control listener")
	return c
}

func runBackend(c *cobra.Command, f *backendFlags) error {
	name := f.name
	if name == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "backend"
		}
		name = h
	}
	law, err := backend.ParseLaw(f.latency)
	if err != nil {
		return usageError{fmt.Errorf("--latency: %w", err)}
	}
	switch f.mode {
	case "http", "tcp", "udp":
	default:
		return usageError{fmt.Errorf("--mode %q: want http, tcp or udp", f.mode)}
	}
	if f.grace < 0 {
		return usageError{fmt.Errorf("--grace must not be negative")}
	}
	cfg := backend.Config{Name: name, Latency: law, ErrorRate: f.errorRate,
		ErrorStatus: f.errorStatus, HealthPath: f.healthPath, BodySize: f.bodySize, NoControl: f.admin != ""}
	if f.spec != "" {
		if cfg, err = specBackend(c, f); err != nil {
			return err
		}
		name = cfg.Name
	}
	srv, err := backend.New(cfg)
	if err != nil {
		return usageError{err}
	}
	ctx := c.Context()
	out := c.OutOrStdout()

	usr := make(chan os.Signal, 4)
	signal.Notify(usr, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(usr)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-usr:
				if sig == syscall.SIGUSR1 {
					_ = srv.SetHealth(503)
				} else {
					_ = srv.SetHealth(200)
				}
			}
		}
	}()

	serveErr := make(chan error, 2)
	if f.hold && f.admin == "" {
		return usageError{fmt.Errorf("--hold needs --admin: the listen order comes there")}
	}
	// listen opens the main listener and serves it, once.
	var (
		listenMu sync.Mutex
		addr     net.Addr
	)
	listen := func() (net.Addr, error) {
		listenMu.Lock()
		defer listenMu.Unlock()
		if addr != nil {
			return addr, nil
		}
		if f.mode == "udp" {
			pc, err := net.ListenPacket("udp", f.listen)
			if err != nil {
				return nil, fmt.Errorf("--listen: %w", err)
			}
			addr = pc.LocalAddr()
			go func() { serveErr <- srv.ServeUDP(pc) }()
		} else {
			ln, err := net.Listen("tcp", f.listen)
			if err != nil {
				return nil, fmt.Errorf("--listen: %w", err)
			}
			addr = ln.Addr()
			go func() { serveErr <- srv.Serve(ln, f.mode == "tcp") }()
		}
		fmt.Fprintf(out, "backend %s: %s on %s\n", name, f.mode, addr)
		return addr, nil
	}
	var adminSrv *http.Server
	if f.admin != "" {
		aln, err := net.Listen("tcp", f.admin)
		if err != nil {
			return usageError{fmt.Errorf("--admin: %w", err)}
		}
		mux := http.NewServeMux()
		mux.Handle("/", srv.ControlHandler())
		mux.HandleFunc("/_lblab/listen", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPut {
				http.Error(w, "PUT only", http.StatusMethodNotAllowed)
				return
			}
			a, err := listen()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, a)
		})
		adminSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		fmt.Fprintf(out, "backend %s: control on %s\n", name, aln.Addr())
		go func() {
			if err := adminSrv.Serve(aln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("admin: %w", err)
			}
		}()
	}
	if !f.hold {
		if _, err := listen(); err != nil {
			closeAdmin(adminSrv)
			return usageError{err}
		}
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, backend.ErrClosed) {
			runErr = err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), f.grace)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if adminSrv != nil {
		_ = adminSrv.Shutdown(sctx)
	}
	if runErr != nil {
		return runErr
	}
	st := srv.Stats()
	fmt.Fprintf(out, "backend %s: stopped after %d requests (%d errors)\n", name, st.Requests, st.Errors)
	return nil
}

// specBackend returns the configuration of --spec, refusing the flags the
// spec gives; it sets f.listen to the spec's address unless --listen is
// given.
func specBackend(c *cobra.Command, f *backendFlags) (backend.Config, error) {
	for _, name := range []string{"latency", "error-rate", "error-status", "health-path"} {
		if c.Flags().Changed(name) {
			return backend.Config{}, usageError{fmt.Errorf("--%s: the backend's spec (--spec) gives it", name)}
		}
	}
	if f.mode == "udp" {
		return backend.Config{}, usageError{fmt.Errorf("--mode %s: a lab's backend is an HTTP server or a tcp echo", f.mode)}
	}
	spec, err := labfile.LoadBackend(f.spec, f.pick)
	if err != nil {
		return backend.Config{}, err
	}
	if !c.Flags().Changed("listen") {
		f.listen = spec.Address
	}
	name := ""
	if c.Flags().Changed("name") {
		name = f.name
	}
	cfg, err := backend.FromSpec(name, *spec, f.seed)
	if err != nil {
		return backend.Config{}, usageError{err}
	}
	cfg.BodySize, cfg.NoControl = f.bodySize, f.admin != ""
	return cfg, nil
}

func closeAdmin(s *http.Server) {
	if s != nil {
		s.Close()
	}
}
