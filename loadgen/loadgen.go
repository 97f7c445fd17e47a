// Package loadgen is lblab's load generator for real targets (`lblab
// load`): HTTP/1.1 (and HTTPS) or a TCP line echo, in an open loop at a
// constant rate or in a closed loop of concurrent clients.
//
// # Open and closed loops
//
// In the open loop (Config.Rate > 0) request i is meant to leave at
// start + i/Rate, whatever happened to the others, as real users arrive.
// Its latency is measured from that intended send time, as wrk2 does: a
// request that waited for a free connection, or behind a stalled server,
// carries that wait in its latency, so coordinated omission is not hidden.
// At most Concurrency requests are on the wire at once; the others queue.
//
// In the closed loop (ab's model) Concurrency clients each send a request,
// wait for its answer (and Think), and send the next one; the intended
// send time is the actual one.
//
// # Limits
//
// A run always has a limit: Requests, Duration, or both (whichever comes
// first); with neither it lasts DefaultDuration. Requests under way when
// the limit is reached finish (each within Timeout). A request whose
// answer has not fully arrived Timeout after its intended send time is
// timed out, and one that waited that long in the open loop's queue is
// timed out without being sent.
//
// # Accounting
//
// Every request counted in Sent ends in exactly one bucket: Completed (a
// 2xx or 3xx answer, or a matching TCP echo), Failed (any other status, or
// refused, reset, protocol, other), TimedOut, or Cancelled (the run's
// context ended while it was queued or under way). Sent is counted when a
// request's send time comes (the open loop's scheduler, or a closed-loop
// client taking a ticket); the bucket is counted by the one function that
// ran it, after it returned. Run returns only after every worker has
// returned, so Unaccounted is always 0; it is checked, not assumed.
package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen/workload"
)

// Defaults.
const (
	// DefaultDuration is a run's length when neither Requests nor Duration
	// is given.
	DefaultDuration = 10 * time.Second
	// DefaultTimeout is the per-request timeout: the clients' spec's
	// default too (workload.DefaultTimeout).
	DefaultTimeout = workload.DefaultTimeout
	// DefaultOpenConcurrency is the open loop's number of connections.
	DefaultOpenConcurrency = 64
	// DefaultLine is the line a TCP request sends.
	DefaultLine = "ping"
)

// Error classes of a request that got no (complete) answer.
const (
	// ClassRefused: the connection was refused.
	ClassRefused = "refused"
	// ClassReset: the connection was reset, or closed before the answer
	// was complete.
	ClassReset = "reset"
	// ClassTimeout: no complete answer within the timeout.
	ClassTimeout = "timeout"
	// ClassProtocol: the answer was not HTTP/1.x, or the echo did not match.
	ClassProtocol = "protocol"
	// ClassCancelled: the run was interrupted.
	ClassCancelled = "cancelled"
	// ClassOther: any other error (no route, name resolution, TLS).
	ClassOther = "other"
)

// Config is one load run.
type Config struct {
	// Target is http://HOST[:PORT]/PATH, https://… or tcp://HOST:PORT.
	Target string
	// Method is the HTTP method. Default GET.
	Method string
	// Headers are extra request headers, "Name: value". A Host or
	// User-Agent header replaces the default one.
	Headers []string
	// Body is the request body.
	Body []byte
	// Line is what a TCP request sends (a line break is added). Default
	// "ping".
	Line string
	// Requests is the number of requests to send (0: no count limit).
	Requests int64
	// Duration is how long to send (0: no time limit).
	Duration time.Duration
	// Rate, when positive, makes an open loop at this many requests per
	// second; 0 is the closed loop.
	Rate float64
	// Concurrency is the number of closed-loop clients (default 1), or
	// the open loop's maximum of requests on the wire (default 64).
	Concurrency int
	// KeepAlive reuses connections; without it each request opens its own.
	KeepAlive bool
	// Timeout is the per-request timeout, from the intended send time.
	// Default 10 s. With Clients it must be 0: the spec's timeout applies.
	Timeout time.Duration
	// Think is a closed-loop client's pause between an answer and its next
	// request.
	Think time.Duration
	// Insecure skips the verification of an HTTPS target's certificate.
	Insecure bool
	// Record keeps one Record per request (for the history).
	Record bool
	// Clients, when set, is a lab's clients: element (the same spec the
	// simulator runs, see "The lab's clients" in spec.go): it gives the
	// loop, the rate or users and think time, the method, paths, headers,
	// cookies, source addresses and the time limit, so Rate, Think,
	// Method and Headers must be left zero. Requests and Duration still
	// bound the run (Duration with the spec's stop: the earlier ends it).
	// Concurrency is the open loop's most connections (default 64); a
	// closed loop has one per user. With a tcp:// target each request is
	// a TCP exchange (Line) from the user's address, and the spec must
	// not give a method, paths, host, headers or via.
	Clients *workload.Clients
	// Seed seeds the draws of Clients (addresses, users, paths, arrival
	// gaps), so that a run's schedule is the same for the same seed: a lab
	// run's seed gives the simulator's schedule of those clients in that
	// run (Draws). Default 0.
	Seed uint64
	// StartAt, when set, is the run's time 0: it waits until then, its
	// schedule counts from it, and so do the times of its records (a run
	// that merges several histories gives them one origin). Default the
	// call to Run; at most an hour away either way.
	StartAt time.Time
	// Progress, when set, is called about every ProgressEvery (default
	// 200 ms) from one goroutine, and once at the end.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Progress is a run's state, for a progress bar.
type Progress struct {
	Elapsed time.Duration
	// Sent and Done count requests sent and ended; NotOK counts those
	// that ended other than completed.
	Sent, Done, NotOK int64
	// Requests and Duration are the run's limits (0: none).
	Requests int64
	Duration time.Duration
	// Final is set on the last call.
	Final bool
}

// Fraction returns how far the run is, 0..1.
func (p Progress) Fraction() float64 {
	if p.Final {
		return 1
	}
	f := 0.0
	if p.Requests > 0 {
		f = float64(p.Done) / float64(p.Requests)
	}
	if p.Duration > 0 {
		f = max(f, p.Elapsed.Seconds()/p.Duration.Seconds())
	}
	return min(f, 1)
}

// BadInput is a configuration error (exit status 2 for the command).
type BadInput struct{ Err error }

func (e BadInput) Error() string { return e.Err.Error() }
func (e BadInput) Unwrap() error { return e.Err }

// BadInput marks the error as bad input for the command line.
func (BadInput) BadInput() {}

func bad(format string, args ...any) error { return BadInput{fmt.Errorf(format, args...)} }

// target is a parsed Target.
type target struct {
	tcp, tls   bool
	addr       string // host:port
	host       string // for Host: and TLS
	requestURI string
}

func parseTarget(s string) (target, error) {
	var t target
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return t, bad("target %q: want http://HOST[:PORT]/PATH, https://… or tcp://HOST:PORT", s)
	}
	port := u.Port()
	switch strings.ToLower(u.Scheme) {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		t.tls = true
		if port == "" {
			port = "443"
		}
	case "tcp":
		t.tcp = true
		if port == "" {
			return t, bad("target %q: a tcp:// target needs a port", s)
		}
	default:
		return t, bad("target %q: scheme %q: want http, https or tcp", s, u.Scheme)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return t, bad("target %q: bad port %q", s, port)
	}
	if u.User != nil {
		return t, bad("target %q: user information in the URL is not supported (use -H Authorization)", s)
	}
	t.host = u.Host
	t.addr = net.JoinHostPort(u.Hostname(), port)
	t.requestURI = u.RequestURI()
	return t, nil
}

// normalise checks cfg and fills in its defaults.
func (cfg *Config) normalise() (target, *spec, error) {
	t, err := parseTarget(cfg.Target)
	if err != nil {
		return t, nil, err
	}
	var s *spec
	if cfg.Clients != nil {
		if s, err = cfg.normaliseSpec(t); err != nil {
			return t, nil, err
		}
	}
	t, err = cfg.check(t)
	return t, s, err
}

// maxStartAway bounds how far Config.StartAt may be from now.
const maxStartAway = time.Hour

// check checks cfg and fills in its defaults.
func (cfg *Config) check(t target) (target, error) {
	switch {
	case cfg.Requests < 0:
		return t, bad("the number of requests must not be negative, got %d", cfg.Requests)
	case cfg.Duration < 0:
		return t, bad("the duration must not be negative, got %s", cfg.Duration)
	case cfg.Rate < 0 || math.IsNaN(cfg.Rate) || cfg.Rate > 1e7:
		return t, bad("the rate must be 0..1e7 requests per second, got %v", cfg.Rate)
	case cfg.Concurrency < 0 || cfg.Concurrency > 100000:
		return t, bad("the concurrency must be 1..100000, got %d", cfg.Concurrency)
	case cfg.Timeout < 0:
		return t, bad("the timeout must be positive, got %s", cfg.Timeout)
	case cfg.Think < 0:
		return t, bad("the think time must not be negative, got %s", cfg.Think)
	case cfg.Think > 0 && cfg.Rate > 0:
		return t, bad("a think time is for the closed loop; the open loop sends at its rate")
	case !cfg.StartAt.IsZero() && (time.Until(cfg.StartAt) > maxStartAway || time.Since(cfg.StartAt) > maxStartAway):
		return t, bad("the start time %s is more than %s away", cfg.StartAt.Format(time.RFC3339Nano), maxStartAway)
	}
	if cfg.Requests == 0 && cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
		if cfg.Rate > 0 {
			cfg.Concurrency = DefaultOpenConcurrency
		}
	}
	if cfg.Requests > 0 && int64(cfg.Concurrency) > cfg.Requests {
		cfg.Concurrency = int(cfg.Requests)
	}
	if cfg.Method == "" {
		cfg.Method = "GET"
	}
	if !validToken(cfg.Method) {
		return t, bad("method %q is not an HTTP token", cfg.Method)
	}
	if cfg.Line == "" {
		cfg.Line = DefaultLine
	}
	if strings.ContainsAny(cfg.Line, "\r\n") {
		return t, bad("the TCP line must not hold a line break")
	}
	if t.tcp && (len(cfg.Headers) > 0 || len(cfg.Body) > 0) {
		return t, bad("headers and a body are for HTTP targets")
	}
	for _, h := range cfg.Headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || !validToken(strings.TrimSpace(name)) || strings.ContainsAny(value, "\r\n") {
			return t, bad("header %q: want \"Name: value\"", h)
		}
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 200 * time.Millisecond
	}
	return t, nil
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return true
}

// buildRequest returns the bytes of the HTTP request.
func buildRequest(cfg *Config, t target) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", cfg.Method, t.requestURI)
	has := func(name string) bool {
		for _, h := range cfg.Headers {
			n, _, _ := strings.Cut(h, ":")
			if strings.EqualFold(strings.TrimSpace(n), name) {
				return true
			}
		}
		return false
	}
	if !has("Host") {
		fmt.Fprintf(&b, "Host: %s\r\n", t.host)
	}
	if !has("User-Agent") {
		b.WriteString("User-Agent: lblab-load\r\n")
	}
	if !cfg.KeepAlive && !has("Connection") {
		b.WriteString("Connection: close\r\n")
	}
	for _, h := range cfg.Headers {
		n, v, _ := strings.Cut(h, ":")
		fmt.Fprintf(&b, "%s: %s\r\n", strings.TrimSpace(n), strings.TrimSpace(v))
	}
	if (len(cfg.Body) > 0 || cfg.Method == "POST" || cfg.Method == "PUT" || cfg.Method == "PATCH") && !has("Content-Length") {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(cfg.Body))
	}
	b.WriteString("\r\n")
	b.Write(cfg.Body)
	return b.Bytes()
}

// Record is one request, for the history.
type Record struct {
	// Start is the intended send time and End the time the request ended,
	// both since Result.Start.
	Start, End time.Duration
	// Status is the HTTP status (0: no complete answer, or TCP).
	Status int
	// Error is the error class ("" for an answer).
	Error string
	// Backend is the X-Backend header (HTTP) or the greeting line (TCP).
	Backend string
	// Client is the local address of the connection ("" when none).
	Client string
	// Resent is the error class (ClassReset) of a first try on a reused
	// kept-alive connection that failed before any byte of its answer
	// came and was sent once more on a new connection; "" when the
	// request was sent once (history.Event.Resent).
	Resent string
}

// runner is one run under way.
type runner struct {
	cfg     Config
	t       target
	spec    *spec // nil without Config.Clients
	ctx     context.Context
	start   time.Time
	req     []byte
	line    []byte
	head    bool
	tlsConf *tls.Config
	dialer  net.Dialer

	sent, done, notOK atomic.Int64
	tickets           atomic.Int64
	shards            []*shard
	workers           []*worker

	schedMu        sync.Mutex
	schedCancelled []time.Duration // intended times whose turn came as the run was cancelled
}

// shard is a latency histogram shared by a few workers.
type shard struct {
	mu sync.Mutex
	h  history.Latencies
}

// Run sends the load and returns what happened. The error is a BadInput
// for a bad configuration; once started, a run always returns a Result
// (interrupted when ctx ends, with the requests under way cancelled).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	t, sp, err := cfg.normalise()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, t: t, spec: sp, ctx: ctx, head: cfg.Method == "HEAD"}
	if t.tcp {
		r.line = []byte(cfg.Line + "\n")
	} else {
		r.req = buildRequest(&cfg, t)
	}
	if t.tls {
		host, _, _ := net.SplitHostPort(t.addr)
		r.tlsConf = &tls.Config{ServerName: host, InsecureSkipVerify: cfg.Insecure, NextProtos: []string{"http/1.1"}}
	}
	nShards := min(cfg.Concurrency, 2*runtime.GOMAXPROCS(0), 16)
	for range nShards {
		r.shards = append(r.shards, &shard{})
	}
	for i := range cfg.Concurrency {
		r.workers = append(r.workers, newWorker(r, i))
	}

	// On cancel, wake every worker blocked on its connection.
	stopCancel := context.AfterFunc(ctx, func() {
		past := time.Unix(1, 0)
		for _, w := range r.workers {
			if c := w.slot.Load(); c != nil {
				_ = c.c.SetDeadline(past)
			}
		}
	})
	defer stopCancel()

	r.start = time.Now()
	if !cfg.StartAt.IsZero() {
		// StartAt's wall time, on the monotonic clock of now.
		r.start = r.start.Add(cfg.StartAt.Sub(r.start))
		wait := time.NewTimer(time.Until(r.start))
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
		}
	}
	var wg sync.WaitGroup
	progressDone := make(chan struct{})
	progressExit := make(chan struct{})
	if cfg.Progress != nil {
		go r.progress(progressDone, progressExit)
	} else {
		close(progressExit)
	}
	switch {
	case cfg.Rate > 0:
		queue := make(chan job, 1<<16)
		if r.spec != nil {
			go r.scheduleSpec(queue)
		} else {
			go r.schedule(queue)
		}
		for _, w := range r.workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.openLoop(queue) }()
		}
	case r.spec != nil:
		for i, w := range r.workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.specLoop(i) }()
		}
	default:
		for _, w := range r.workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.closedLoop() }()
		}
	}
	wg.Wait()
	elapsed := time.Since(r.start)
	close(progressDone)
	<-progressExit
	res := r.result(elapsed)
	if cfg.Progress != nil {
		cfg.Progress(Progress{Elapsed: elapsed, Sent: res.Sent, Done: res.Sent, NotOK: res.Sent - res.Completed,
			Requests: cfg.Requests, Duration: cfg.Duration, Final: true})
	}
	return res, nil
}

// schedule is the open loop's clock: it puts each request's intended send
// time (since the start) in the queue when that time comes.
func (r *runner) schedule(queue chan<- job) {
	defer close(queue)
	period := float64(time.Second) / r.cfg.Rate
	for i := int64(0); ; i++ {
		if r.cfg.Requests > 0 && i >= r.cfg.Requests {
			return
		}
		at := time.Duration(float64(i) * period)
		if r.cfg.Duration > 0 && at >= r.cfg.Duration {
			return
		}
		if !r.emit(queue, job{at: at, user: -1, path: -1}) {
			return
		}
	}
}

// emit waits until j's time comes and puts it in the queue; it counts j
// as sent. It returns false when the run ended meanwhile (j counted as
// cancelled when its time had come).
func (r *runner) emit(queue chan<- job, j job) bool {
	if wait := j.at - time.Since(r.start); wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-r.ctx.Done():
			timer.Stop()
			return false
		}
	} else if r.ctx.Err() != nil {
		return false
	}
	r.sent.Add(1)
	select {
	case queue <- j:
		return true
	case <-r.ctx.Done():
		// Its time came, but the run ended before a connection took it.
		r.schedMu.Lock()
		r.schedCancelled = append(r.schedCancelled, j.at)
		r.schedMu.Unlock()
		r.done.Add(1)
		r.notOK.Add(1)
		return false
	}
}

func (r *runner) progress(done <-chan struct{}, exit chan<- struct{}) {
	defer close(exit)
	tick := time.NewTicker(r.cfg.ProgressEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			r.cfg.Progress(Progress{Elapsed: time.Since(r.start), Sent: r.sent.Load(), Done: r.done.Load(),
				NotOK: r.notOK.Load(), Requests: r.cfg.Requests, Duration: r.cfg.Duration})
		}
	}
}

// result merges the workers' counts.
func (r *runner) result(elapsed time.Duration) *Result {
	res := &Result{
		Target: r.cfg.Target, Open: r.cfg.Rate > 0, Rate: r.cfg.Rate, Concurrency: r.cfg.Concurrency,
		KeepAlive: r.cfg.KeepAlive, Requests: r.cfg.Requests, Duration: r.cfg.Duration, Timeout: r.cfg.Timeout,
		TCP: r.t.tcp, Listener: r.t.addr, Start: r.start, Elapsed: elapsed, Interrupted: r.ctx.Err() != nil,
		Sent:     r.sent.Load(),
		Statuses: map[int]int64{}, Errors: map[string]int64{}, Backends: map[string]int64{},
		Latency: &history.Latencies{},
	}
	for _, w := range r.workers {
		res.Completed += w.completed
		res.Failed += w.failed
		res.TimedOut += w.timedOut
		res.Cancelled += w.cancelled
		for k, v := range w.statuses {
			res.Statuses[k] += v
		}
		for k, v := range w.errors {
			res.Errors[k] += v
		}
		for k, v := range w.backends {
			res.Backends[k] += v
		}
		if r.cfg.Record {
			res.Records = append(res.Records, w.records...)
		}
	}
	res.Cancelled += int64(len(r.schedCancelled))
	if n := len(r.schedCancelled); n > 0 {
		res.Errors[ClassCancelled] += int64(n)
	}
	if r.cfg.Record {
		for _, at := range r.schedCancelled {
			res.Records = append(res.Records, Record{Start: at, End: max(at, elapsed), Error: ClassCancelled})
		}
		slices.SortStableFunc(res.Records, func(a, b Record) int { return cmp.Compare(a.End, b.End) })
	}
	for _, s := range r.shards {
		res.Latency.Merge(&s.h)
	}
	return res
}
