// Package backend is the real test server of lblab's labs and benchmarks
// (`lblab backend`): an HTTP/1.1 server that answers every request with
// 200, a small body and the header `X-Backend: NAME`, after a latency drawn
// from a law, failing a given share of requests with an error status, with
// a health endpoint whose answer can be switched at run time; a TCP echo
// server that greets each connection with `NAME\n`; a UDP echo server that
// prefixes each reply with `NAME:`.
//
// The HTTP server is a lean HTTP/1.1 responder rather than net/http, so
// that it is never the bottleneck of a proxy benchmark: keep-alive,
// pipelining (answers are flushed when no request is waiting), request
// bodies (Content-Length and chunked), Expect: 100-continue, HEAD.
//
// # Run-time control
//
// Under /_lblab/ (on the main listener, or only on the admin listener
// when one is given):
//
//	GET  /_lblab/health                  the health endpoint's current status
//	PUT  /_lblab/health?status=503       switch it (any 100..599; POST works too)
//	PUT  /_lblab/stall?for=200ms         freeze: every request arriving in the next
//	                                     200 ms waits until the stall ends
//	PUT  /_lblab/latency?law=exp:10ms    change the latency law
//	PUT  /_lblab/slow?factor=10          multiply the service times by 10 (1: normal)
//	PUT  /_lblab/error-rate?p=0.1[&status=503]
//	GET  /_lblab/stats                   {"name","requests","errors","health",...} as JSON
//
// SetHealth, Stall, SetLatency, SetSlow and SetErrorRate do the same from Go.
package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/units"
)

// Config is what a backend does.
type Config struct {
	// Name is what the backend calls itself: the X-Backend header, the
	// TCP greeting line, the UDP reply prefix, the answer's body.
	Name string
	// Latency is the service-time law of each answer (HTTP requests, and
	// each chunk of a TCP or UDP echo). Zero value: none.
	Latency Law
	// ErrorRate is the share (0..1) of HTTP requests answered with
	// ErrorStatus instead of 200.
	ErrorRate float64
	// ErrorStatus is the status of a failed request. Default 500.
	ErrorStatus int
	// HealthPath is the health endpoint's path. Default /healthz. It
	// answers 200 "ok" until switched, and neither the latency law nor the
	// error rate applies to it (a stall does).
	HealthPath string
	// BodySize, when positive, makes the 200 answer's body that many
	// bytes; by default it is "NAME\n".
	BodySize int
	// NoControl turns off the /_lblab/ control paths on the main listener
	// (use it when an admin listener serves them).
	NoControl bool
	// Errors are error rules tried in order after a request's service
	// time, as a lab's backend has them (workload.Backend.Status); a
	// request no rule hits is then subject to ErrorRate. Default none.
	Errors []workload.ErrorRule
	// Concurrency, when positive, is how many HTTP requests are served at
	// once; up to Queue more wait (first come, first served) and the others
	// are answered workload.OverloadStatus (503) at once. Health and
	// control requests are never held. Default 0: no limit.
	Concurrency int
	// Queue is how many requests wait when Concurrency are being served
	// (only with Concurrency). Default 0: none wait.
	Queue int
	// ProbeAgent, when set, is the User-Agent of health probes: a request
	// carrying it is answered as a lab's backend answers a probe
	// (workload.Backend.ProbeStatus with ProbePath): the health status, or
	// 404 for a path other than ProbePath. Default "": no request is told
	// apart by its User-Agent.
	ProbeAgent string
	// ProbePath is the lab's health_path (see ProbeAgent). Default "": any
	// path.
	ProbePath string
	// Seed seeds the random draws (service times, errors): each
	// connection draws from a source seeded with Seed and its number in
	// accept order. Default 0.
	Seed uint64
}

// ControlPrefix is the path prefix of the run-time control endpoints.
const ControlPrefix = "/_lblab/"

// Server is one backend. Make it with New, then Serve a listener (HTTP or
// TCP echo) or ServeUDP a packet connection; Shutdown stops it.
type Server struct {
	cfg Config

	health     atomic.Int32
	errRate    atomic.Uint64 // float64 bits
	errStatus  atomic.Int32
	law        atomic.Pointer[Law]
	slow       atomic.Uint64 // float64 bits: the service times' factor, 1 when normal
	stallUntil atomic.Int64  // unix ns

	requests   atomic.Int64
	errors     atomic.Int64
	overloaded atomic.Int64
	connSeq    atomic.Uint64 // connections accepted, to seed their draws
	limit      *limiter      // nil without Concurrency

	ok200  atomic.Pointer[[]byte] // head of the 200 answer, up to the Date line
	okBody []byte

	closing atomic.Bool
	mu      sync.Mutex // guards the fields below
	done    chan struct{}
	lns     []net.Listener
	pcs     []net.PacketConn
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// New checks cfg and makes a backend.
func New(cfg Config) (*Server, error) {
	if cfg.Name == "" {
		return nil, errors.New("backend: a name is needed")
	}
	if strings.ContainsAny(cfg.Name, "\r\n") {
		return nil, fmt.Errorf("backend: name %q has a line break", cfg.Name)
	}
	if cfg.ErrorStatus == 0 {
		cfg.ErrorStatus = 500
	}
	if cfg.ErrorStatus < 100 || cfg.ErrorStatus > 599 {
		return nil, fmt.Errorf("backend: error status %d: want 100..599", cfg.ErrorStatus)
	}
	if cfg.ErrorRate < 0 || cfg.ErrorRate > 1 || math.IsNaN(cfg.ErrorRate) {
		return nil, fmt.Errorf("backend: error rate %v: want 0..1", cfg.ErrorRate)
	}
	if cfg.HealthPath == "" {
		cfg.HealthPath = "/healthz"
	}
	if !strings.HasPrefix(cfg.HealthPath, "/") {
		return nil, fmt.Errorf("backend: health path %q: want a path starting with /", cfg.HealthPath)
	}
	if cfg.BodySize < 0 || cfg.BodySize > 64<<20 {
		return nil, fmt.Errorf("backend: body size %d: want 0..64 MiB", cfg.BodySize)
	}
	for _, e := range cfg.Errors {
		if e.Status < 100 || e.Status > 599 || !(e.Probability >= 0 && e.Probability <= 1) {
			return nil, fmt.Errorf("backend: error rule %d with probability %v: want a status 100..599 and a probability 0..1", e.Status, e.Probability)
		}
	}
	if cfg.Concurrency < 0 || cfg.Queue < 0 {
		return nil, fmt.Errorf("backend: concurrency %d and queue %d must not be negative", cfg.Concurrency, cfg.Queue)
	}
	s := &Server{cfg: cfg, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	if cfg.Concurrency > 0 {
		s.limit = &limiter{limit: cfg.Concurrency, queue: cfg.Queue}
	}
	s.health.Store(200)
	s.errStatus.Store(int32(cfg.ErrorStatus))
	s.errRate.Store(math.Float64bits(cfg.ErrorRate))
	s.slow.Store(math.Float64bits(1))
	law := cfg.Latency
	s.law.Store(&law)
	if cfg.BodySize > 0 {
		s.okBody = make([]byte, cfg.BodySize)
		for i := range s.okBody {
			s.okBody[i] = 'x'
		}
		if cfg.BodySize > 1 {
			s.okBody[cfg.BodySize-1] = '\n'
		}
	} else {
		s.okBody = []byte(cfg.Name + "\n")
	}
	head := []byte("HTTP/1.1 200 OK\r\nX-Backend: " + cfg.Name +
		"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(s.okBody)) + "\r\n")
	s.ok200.Store(&head)
	return s, nil
}

// Name returns the backend's name.
func (s *Server) Name() string { return s.cfg.Name }

// SetHealth sets the status the health endpoint answers (100..599).
func (s *Server) SetHealth(status int) error {
	if status < 100 || status > 599 {
		return fmt.Errorf("health status %d: want 100..599", status)
	}
	s.health.Store(int32(status))
	return nil
}

// Health returns the status the health endpoint answers.
func (s *Server) Health() int { return int(s.health.Load()) }

// Stall freezes the backend for d from now: every request that arrives
// before the stall ends waits until it ends (a GC pause, a stop-the-world
// freeze, a full disk).
func (s *Server) Stall(d time.Duration) {
	s.stallUntil.Store(time.Now().Add(d).UnixNano())
}

// SetLatency changes the latency law.
func (s *Server) SetLatency(l Law) { s.law.Store(&l) }

// maxSlow bounds the factor of SetSlow.
const maxSlow = 1e6

// SetSlow multiplies every service time drawn from now on by factor, in
// (0, 1e6]: the lab's slow fault, as the simulator has it (a slow server
// takes factor times as long to answer); 1 is the normal speed.
func (s *Server) SetSlow(factor float64) error {
	if !(factor > 0 && factor <= maxSlow) {
		return fmt.Errorf("slow factor %v: want more than 0, at most %g", factor, float64(maxSlow))
	}
	s.slow.Store(math.Float64bits(factor))
	return nil
}

// Slow returns the factor of the service times (1 when normal).
func (s *Server) Slow() float64 { return math.Float64frombits(s.slow.Load()) }

// SetErrorRate changes the error rate and, when status is not 0, the
// error status.
func (s *Server) SetErrorRate(p float64, status int) error {
	if p < 0 || p > 1 || math.IsNaN(p) {
		return fmt.Errorf("error rate %v: want 0..1", p)
	}
	if status != 0 && (status < 100 || status > 599) {
		return fmt.Errorf("error status %d: want 100..599", status)
	}
	s.errRate.Store(math.Float64bits(p))
	if status != 0 {
		s.errStatus.Store(int32(status))
	}
	return nil
}

// Stats are a backend's counters.
type Stats struct {
	Name      string  `json:"name"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	Health    int     `json:"health"`
	Latency   string  `json:"latency"`
	ErrorRate float64 `json:"error_rate"`
	// Overloaded counts the requests answered 503 because the queue was
	// full; Active and Waiting are the requests being served and queued
	// now (with Config.Concurrency only).
	Overloaded int64 `json:"overloaded"`
	Active     int   `json:"active"`
	Waiting    int   `json:"waiting"`
}

// Stats returns the counters: requests answered (HTTP requests other than
// health and control ones, overloaded ones included; echoed TCP chunks;
// UDP datagrams) and those answered with an error status (an error rule,
// the error rate, or overload).
func (s *Server) Stats() Stats {
	st := Stats{Name: s.cfg.Name, Requests: s.requests.Load(), Errors: s.errors.Load(), Health: s.Health(),
		Latency: s.law.Load().String(), ErrorRate: math.Float64frombits(s.errRate.Load()),
		Overloaded: s.overloaded.Load()}
	if s.limit != nil {
		st.Active, st.Waiting = s.limit.load()
	}
	return st
}

// stall waits while a stall is in effect; it returns false when the
// server shuts down meanwhile.
func (s *Server) stall() bool {
	until := s.stallUntil.Load()
	if until == 0 {
		return true
	}
	d := time.Until(time.Unix(0, until))
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// sleep waits d, or until the server shuts down.
func (s *Server) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

// track adds a listener or connection to what Shutdown closes; it is
// false when the server is already shutting down.
func (s *Server) trackConn(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		s.conns[c] = struct{}{}
		return true
	}
	delete(s.conns, c)
	return true
}

func (s *Server) addListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.lns = append(s.lns, ln)
	return true
}

// ErrClosed is what Serve returns after Shutdown.
var ErrClosed = errors.New("backend: server closed")

// Serve answers the connections of ln: HTTP, or a TCP echo when echo is
// true. It returns ErrClosed after Shutdown.
func (s *Server) Serve(ln net.Listener, echo bool) error {
	if !s.addListener(ln) {
		ln.Close()
		return ErrClosed
	}
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !s.trackConn(c, true) {
			c.Close()
			return ErrClosed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.trackConn(c, false)
			defer c.Close()
			if echo {
				s.serveEcho(c)
			} else {
				s.serveHTTP(c)
			}
		}()
	}
}

// Shutdown stops accepting, closes idle connections, lets the requests
// being answered finish until ctx ends, then closes everything.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing.Load() {
		s.closing.Store(true)
		for _, ln := range s.lns {
			ln.Close()
		}
		for _, pc := range s.pcs {
			pc.Close()
		}
		// A connection waiting for its next request leaves at once; one
		// answering a request finishes it first.
		past := time.Unix(1, 0)
		for c := range s.conns {
			c.SetReadDeadline(past)
		}
	}
	s.mu.Unlock()
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	select {
	case <-finished:
		s.closeDone()
		return nil
	case <-ctx.Done():
	}
	s.closeDone()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-finished
	return ctx.Err()
}

func (s *Server) closeDone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
}

// control runs a /_lblab/ request and returns its status and body.
func (s *Server) control(method, target string) (int, string) {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return 400, "bad request target\n"
	}
	q := u.Query()
	write := method == "PUT" || method == "POST"
	if !write && method != "GET" && method != "HEAD" {
		return 405, "use GET, PUT or POST\n"
	}
	switch strings.TrimPrefix(u.Path, ControlPrefix) {
	case "health":
		if write {
			n, err := strconv.Atoi(q.Get("status"))
			if err != nil {
				return 400, "want ?status=CODE\n"
			}
			if err := s.SetHealth(n); err != nil {
				return 400, err.Error() + "\n"
			}
		}
		return 200, fmt.Sprintf("health %d\n", s.Health())
	case "stall":
		if !write {
			return 405, "use PUT\n"
		}
		d, err := units.ParseDuration(q.Get("for"))
		if err != nil || d > time.Hour {
			return 400, "want ?for=DURATION (up to 1h)\n"
		}
		s.Stall(d)
		return 200, fmt.Sprintf("stalled for %s\n", d)
	case "latency":
		if write {
			l, err := ParseLaw(q.Get("law"))
			if err != nil {
				return 400, err.Error() + "\n"
			}
			s.SetLatency(l)
		}
		return 200, fmt.Sprintf("latency %s\n", s.law.Load())
	case "slow":
		if write {
			f, err := strconv.ParseFloat(q.Get("factor"), 64)
			if err != nil {
				return 400, "want ?factor=F (more than 0)\n"
			}
			if err := s.SetSlow(f); err != nil {
				return 400, err.Error() + "\n"
			}
		}
		return 200, fmt.Sprintf("slow %g\n", s.Slow())
	case "error-rate":
		if write {
			p, err := strconv.ParseFloat(q.Get("p"), 64)
			if err != nil {
				return 400, "want ?p=SHARE (0..1)\n"
			}
			st := 0
			if v := q.Get("status"); v != "" {
				if st, err = strconv.Atoi(v); err != nil {
					return 400, "status: want a number\n"
				}
			}
			if err := s.SetErrorRate(p, st); err != nil {
				return 400, err.Error() + "\n"
			}
		}
		return 200, fmt.Sprintf("error rate %g, status %d\n", math.Float64frombits(s.errRate.Load()), s.errStatus.Load())
	case "stats":
		b, _ := json.Marshal(s.Stats())
		return 200, string(b) + "\n"
	}
	return 404, "unknown control path; see lblab backend --help\n"
}

// ControlHandler serves the /_lblab/ control paths over net/http, for an
// admin listener.
func (s *Server) ControlHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, ControlPrefix) {
			http.NotFound(w, r)
			return
		}
		status, body := s.control(r.Method, r.URL.RequestURI())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Backend", s.cfg.Name)
		w.WriteHeader(status)
		if r.Method != "HEAD" {
			_, _ = w.Write([]byte(body))
		}
	})
}
