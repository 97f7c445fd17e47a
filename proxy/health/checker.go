// Package health holds the active health checker of a server group as a
// pure core: it says which probe is due, takes probe results, and turns
// them into up/down transitions with rise and fall. Passive accounting
// (nginx's max_fails/fail_timeout) lives with server selection in
// proxy/balance.
package health

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
)

// Config is an active health check.
type Config struct {
	// Interval is the time from the start of one probe of a server to the
	// start of the next; a probe still in flight delays the next one until
	// it ends (probes of one server never overlap). Default 2 s.
	Interval time.Duration
	// Timeout is how long a probe may take before it counts as failed.
	// Default 5 s.
	Timeout time.Duration
	// Rise is how many passes in a row bring a down server up (the cloud's
	// healthy threshold). Default 3.
	Rise int
	// Fall is how many failures in a row take an up server down (the
	// unhealthy threshold). Default 3.
	Fall int
	// Expect is the set of healthy HTTP statuses. Default 2xx.
	Expect Codes
}

// Codes is a set of HTTP status classes, from the cloud form
// "http_2xx,http_3xx".
type Codes [6]bool

// ParseCodes reads "http_2xx,http_3xx" (classes 1xx..5xx). Empty means
// http_2xx.
func ParseCodes(s string) (Codes, error) {
	var c Codes
	if strings.TrimSpace(s) == "" {
		c[2] = true
		return c, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if len(part) != 8 || !strings.HasPrefix(part, "http_") || !strings.HasSuffix(part, "xx") {
			return c, i18n.Errorf("%q is not a status class like http_2xx", units.Cut(part))
		}
		n, err := strconv.Atoi(part[5:6])
		if err != nil || n < 1 || n > 5 {
			return c, i18n.Errorf("%q is not a status class like http_2xx", units.Cut(part))
		}
		c[n] = true
	}
	return c, nil
}

// Healthy reports whether status is in the set.
func (c Codes) Healthy(status int) bool {
	class := status / 100
	return class >= 1 && class <= 5 && c[class]
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = 2 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Rise <= 0 {
		c.Rise = 3
	}
	if c.Fall <= 0 {
		c.Fall = 3
	}
	if c.Expect == (Codes{}) {
		c.Expect[2] = true
	}
	return c
}

// Checker checks the servers of one group. Servers are numbered 0..n-1 in
// the group's order; each starts up (as in nginx and HAProxy, a server is
// trusted until its checks fail) and is first probed at its phase after
// the start: a staggered offset i × Interval / n (New, as HAProxy spreads
// its first checks), or a draw from the run's seed (NewSeeded, Phase), so
// checks spread over the interval.
type Checker struct {
	cfg     Config
	servers []server
}

type server struct {
	up       bool
	streak   int // results in a row that disagree with up
	next     time.Duration
	inFlight bool
	sentAt   time.Duration
}

// New returns a checker of n servers whose first probes start at start,
// staggered: server i's at start + i × Interval / n.
func New(cfg Config, n int, start time.Duration) *Checker {
	return newChecker(cfg, n, start, func(i int, iv time.Duration) time.Duration { return iv * time.Duration(i) / time.Duration(n) })
}

// NewSeeded returns a checker of the servers of group, named in the
// group's order, whose first probes start at start + Phase(seed, group,
// servers[i], Interval): each server's phase is a draw from the run's
// seed, the same in every world given that seed.
func NewSeeded(cfg Config, start time.Duration, seed uint64, group string, servers []string) *Checker {
	return newChecker(cfg, len(servers), start, func(i int, iv time.Duration) time.Duration { return Phase(seed, group, servers[i], iv) })
}

// newChecker returns a checker of n servers, server i first probed at
// start + phase(i, Interval).
func newChecker(cfg Config, n int, start time.Duration, phase func(i int, interval time.Duration) time.Duration) *Checker {
	cfg = cfg.withDefaults()
	c := &Checker{cfg: cfg, servers: make([]server, n)}
	for i := range c.servers {
		c.servers[i] = server{up: true, next: start + phase(i, cfg.Interval)}
	}
	return c
}

// Config returns the check's settings with defaults filled in.
func (c *Checker) Config() Config { return c.cfg }

// Up reports whether server i is up.
func (c *Checker) Up(i int) bool { return c.servers[i].up }

// Deadline returns when Due must next be called: the earliest probe to
// start.
func (c *Checker) Deadline() (time.Duration, bool) {
	var at time.Duration
	found := false
	for i := range c.servers {
		s := &c.servers[i]
		if !s.inFlight && (!found || s.next < at) {
			at, found = s.next, true
		}
	}
	return at, found
}

// Due appends to dst the servers whose probe starts at now and marks them
// in flight. The driver sends each probe and reports it with Result, or
// with Result(…, false, "timeout") once Timeout has passed.
func (c *Checker) Due(now time.Duration, dst []int) []int {
	for i := range c.servers {
		s := &c.servers[i]
		if !s.inFlight && s.next <= now {
			s.inFlight, s.sentAt = true, now
			dst = append(dst, i)
		}
	}
	return dst
}

// Transition is a server going up or down.
type Transition struct {
	// Server is the server's index.
	Server int
	// Up is the new state.
	Up bool
	// Reason explains it: "3 checks failed in a row (last: refused)".
	Reason string
}

// Result takes the result of the probe of server i that is in flight:
// ok, or why it failed (a status, "refused", "timeout"). It returns a
// transition when the server changed state. A result for a server with no
// probe in flight is ignored.
func (c *Checker) Result(now time.Duration, i int, ok bool, detail string) (Transition, bool) {
	s := &c.servers[i]
	if !s.inFlight {
		return Transition{}, false
	}
	s.inFlight = false
	s.next = max(s.sentAt+c.cfg.Interval, now)
	if ok == s.up {
		s.streak = 0
		return Transition{}, false
	}
	s.streak++
	need := c.cfg.Fall
	if ok {
		need = c.cfg.Rise
	}
	if s.streak < need {
		return Transition{}, false
	}
	s.up, s.streak = ok, 0
	verdict := "failed"
	if ok {
		verdict = "passed"
	}
	reason := fmt.Sprintf("%d check(s) %s in a row", need, verdict)
	if detail != "" {
		reason += " (last: " + detail + ")"
	}
	return Transition{Server: i, Up: ok, Reason: reason}, true
}

// Judge turns an HTTP probe's status into a result: ok, or the detail
// that explains the failure.
func (c *Checker) Judge(status int) (bool, string) {
	if c.cfg.Expect.Healthy(status) {
		return true, ""
	}
	return false, fmt.Sprintf("status %d", status)
}
