package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lblab/lblab/loadgen"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/units"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { commands = append(commands, newLoad) }

type loadFlags struct {
	requests                 int64
	concurrency              int
	keepAlive, insecure      bool
	duration, timeout, think durationFlag
	rate                     float64
	method, body, line       string
	headers                  []string
	out, name                string
	spec, pick               string
	seed                     uint64
	startAt                  int64
}

// durationFlag is a duration written as a Go duration (10s, 250ms) or a
// plain number of seconds (ab's -t 10).
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string {
	if f.d == 0 {
		return "0"
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := units.ParseDuration(s)
	if err != nil {
		return err
	}
	f.d = d
	return nil
}

func (*durationFlag) Type() string { return "duration" }

func newLoad() *cobra.Command {
	f := loadFlags{timeout: durationFlag{loadgen.DefaultTimeout}}
	c := &cobra.Command{
		Use:   "load [flags] TARGET",
		Short: "Send load to a real target (HTTP or TCP echo) and account for every request",
		Long: `Send load to TARGET: http://HOST[:PORT]/PATH, https://… or tcp://HOST:PORT
(connect, read the greeting line, send --line, read its echo: what
lblab backend --mode tcp does). Traffic goes only to TARGET.

Closed loop (ab's flags): -c clients each send a request, wait for the
answer (and --think), and send the next. Open loop: --rate R sends R
requests per second whatever the answers, on up to -c connections (default
64); latency is measured from each request's intended send time, as wrk2
does, so a stall shows in the latency of every request that waited.

A run is always bounded: -n requests, -t/--duration, or both (whichever
comes first); with neither it lasts 10 s. Requests under way at the limit
finish, each within --timeout (measured from its intended send time).

At the end it prints

  sent N = completed A + failed B + timed out C

where completed is a 2xx/3xx answer (or a matching echo), failed is any
other status or a refused, reset, protocol or other error, and timed out
had no answer within --timeout. On SIGINT the requests queued or under way
are cancelled and "+ cancelled D" is added; the sum always holds. Then the
rate, the latency percentiles (HDR histogram), the statuses, the errors by
class and the answers by backend (X-Backend header, or TCP greeting).

--spec FILE sends a lab's clients: element instead (FILE is a lab file,
or a file with just a clients: list; --pick NAME chooses one of several),
with the simulator's meaning: open loop at a constant or Poisson rate with
ramps, or closed loop of users with think time; a population of users
with their source addresses (which must exist on this host), cookies and
headers; via another proxy with X-Forwarded-For; paths, method, host;
start and stop. Its draws come from --seed, so a run's schedule is the
same for the same seed, and an open loop's is the simulator's for that
clients' name in 'lblab run --seed' of the same seed: the same arrivals
and users, request for request. -n, -t, -c and -k still apply; the spec's timeout
(default 10 s) replaces --timeout.

--start-at T waits until the wall-clock time T (Unix nanoseconds) and
counts the schedule and the history's t from it: several loads started
by one run send from one time 0.

--out DIR writes history.jsonl (one request event per request) and
results.json; lblab report DIR draws the report.

A progress bar is drawn on standard error when it is a terminal.

Exit status: 0 when every request completed with 2xx/3xx, 1 otherwise
(failed, timed out, or cancelled), 2 on bad input.`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runLoad(c, args[0], f) },
	}
	fl := c.Flags()
	fl.Int64VarP(&f.requests, "requests", "n", 0, "number of requests to send (0: no count limit)")
	fl.IntVarP(&f.concurrency, "concurrency", "c", 0, "closed loop: clients (default 1); open loop: maximum connections (default 64)")
	fl.BoolVarP(&f.keepAlive, "keepalive", "k", false, "reuse connections (HTTP keep-alive; TCP: several lines a connection)")
	fl.VarP(&f.duration, "duration", "t", "time limit: 10s, 1m or a number of seconds (default 10s when -n is not given)")
	fl.Float64Var(&f.rate, "rate", 0, "open loop at this many requests per second (0: closed loop)")
	fl.StringVarP(&f.method, "method", "m", "GET", "HTTP method")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, `request header "Name: value" (repeatable)`)
	fl.StringVarP(&f.body, "body", "b", "", "request body; @FILE reads it from FILE")
	fl.Var(&f.timeout, "timeout", "per-request timeout, from the intended send time")
	fl.Var(&f.think, "think", "closed loop: pause between an answer and the next request")
	fl.StringVar(&f.line, "line", loadgen.DefaultLine, "TCP: the line to send")
	fl.BoolVar(&f.insecure, "insecure", false, "HTTPS: do not verify the certificate")
	fl.StringVar(&f.out, "out", "", "write history.jsonl and results.json to this folder")
	fl.StringVar(&f.name, "name", "load", "name of the run in results.json and the report")
	fl.StringVar(&f.spec, "spec", "", "send a lab's clients: element from this file (a lab file, or one with just a clients: list)")
	fl.StringVar(&f.pick, "pick", "", "with --spec: the clients' name or index when the file holds several")
	fl.Int64Var(&f.startAt, "start-at", 0, "wait until this wall-clock time (Unix nanoseconds) and count the schedule and the history from it")
	fl.Uint64Var(&f.seed, "seed", 1, "with --spec: seed of the schedule (arrival gaps, users, paths, addresses)")
	return c
}

func runLoad(c *cobra.Command, target string, f loadFlags) error {
	body := []byte(f.body)
	if strings.HasPrefix(f.body, "@") {
		b, err := os.ReadFile(f.body[1:])
		if err != nil {
			return usageError{fmt.Errorf("--body: %w", err)}
		}
		body = b
	}
	if c.Flags().Changed("timeout") && f.timeout.d <= 0 {
		return usageError{fmt.Errorf("--timeout must be positive")}
	}
	if c.Flags().Changed("concurrency") && f.concurrency < 1 {
		return usageError{fmt.Errorf("-c must be at least 1, got %d", f.concurrency)}
	}
	if c.Flags().Changed("duration") && f.duration.d <= 0 {
		return usageError{fmt.Errorf("--duration must be positive")}
	}
	if c.Flags().Changed("requests") && f.requests < 1 {
		return usageError{fmt.Errorf("-n must be at least 1, got %d", f.requests)}
	}
	if c.Flags().Changed("rate") && f.rate <= 0 {
		return usageError{fmt.Errorf("--rate must be positive, got %v", f.rate)}
	}
	cfg := loadgen.Config{
		Target: target, Method: f.method, Headers: f.headers, Body: body, Line: f.line,
		Requests: f.requests, Duration: f.duration.d, Rate: f.rate, Concurrency: f.concurrency,
		KeepAlive: f.keepAlive, Timeout: f.timeout.d, Think: f.think.d, Insecure: f.insecure,
		Record: f.out != "", Progress: loadProgress(c.ErrOrStderr()),
	}
	if f.startAt != 0 {
		cfg.StartAt = time.Unix(0, f.startAt)
	}
	if f.spec != "" {
		for _, name := range []string{"rate", "think", "method", "header", "body", "line", "timeout"} {
			if c.Flags().Changed(name) {
				return usageError{fmt.Errorf("--%s: the clients' spec (--spec) gives it", name)}
			}
		}
		spec, err := labfile.LoadClients(f.spec, f.pick)
		if err != nil {
			return err
		}
		cfg.Clients, cfg.Seed, cfg.Method, cfg.Timeout = spec, f.seed, "", 0
	} else if c.Flags().Changed("pick") || c.Flags().Changed("seed") {
		return usageError{fmt.Errorf("--pick and --seed go with --spec")}
	}
	res, err := loadgen.Run(c.Context(), cfg)
	if err != nil {
		return usageError{err}
	}
	out := c.OutOrStdout()
	res.WriteSummary(out)
	if f.out != "" {
		if err := writeLoadDir(f.out, f.name, res); err != nil {
			return err
		}
		fmt.Fprintf(out, "history: %s\n", filepath.Join(f.out, "history.jsonl"))
	}
	if !res.OK() {
		return &exitError{1}
	}
	return nil
}

// loadProgress returns a progress callback that draws a bar on w when w
// is a terminal, and nil otherwise.
func loadProgress(w io.Writer) func(loadgen.Progress) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var lastDone int64
	var lastT time.Duration
	rate := 0.0
	return func(p loadgen.Progress) {
		if dt := p.Elapsed - lastT; dt > 0 && !p.Final {
			rate = float64(p.Done-lastDone) / dt.Seconds()
			lastDone, lastT = p.Done, p.Elapsed
		}
		pct := int(p.Fraction() * 100)
		if p.Final {
			pct = 100
		}
		bar := strings.Repeat("█", pct/4) + strings.Repeat("░", 25-pct/4)
		fmt.Fprintf(f, "\r%s %3d%% %5.1fs  sent %d  done %d  not ok %d  %.0f req/s\033[K",
			bar, pct, p.Elapsed.Seconds(), p.Sent, p.Done, p.NotOK, rate)
		if p.Final {
			fmt.Fprintln(f)
		}
	}
}

// loadResults returns results.json for a load run named lab: mode "real",
// the metrics, and two expectations: every request sent is accounted for,
// and every one completed with 2xx or 3xx.
func loadResults(r *loadgen.Result, lab string) reports.Results {
	acc := reports.Expectation{Name: "every request sent is accounted for", Passed: r.Unaccounted() == 0,
		Observed: r.AccountingLine(), Expected: fmt.Sprintf("%d in the buckets", r.Sent)}
	ok := reports.Expectation{Name: "every request completed with 2xx or 3xx", Passed: r.OK(),
		Observed: fmt.Sprintf("%d of %d", r.Completed, r.Sent), Expected: fmt.Sprintf("%d of %d", r.Sent, r.Sent)}
	return reports.Results{Lab: lab, Mode: "real", Passed: acc.Passed && ok.Passed,
		Expectations: []reports.Expectation{acc, ok}, Metrics: r.Metrics()}
}

// writeLoadDir writes a load run's history.jsonl and results.json into
// dir, created if missing.
func writeLoadDir(dir, lab string, r *loadgen.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		return err
	}
	if err := r.WriteHistory(f); err != nil {
		f.Close()
		return fmt.Errorf("history.jsonl: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("history.jsonl: %w", err)
	}
	return reports.WriteResults(dir, loadResults(r, lab))
}
