package workload

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// What both worlds take when a spec leaves a field out.
const (
	// DefaultOpenUsers is an open-loop population's size.
	DefaultOpenUsers = 1000
	// DefaultClosedUsers is a closed-loop population's size.
	DefaultClosedUsers = 10
	// DefaultAddresses is the prefix user addresses are drawn from.
	DefaultAddresses = "10.1.0.0/16"
	// DefaultQueue is how many requests wait at a busy backend.
	DefaultQueue = 1000
	// OverloadStatus is a backend's answer to a request that finds its
	// queue full.
	OverloadStatus = 503
	// PausedRecheck is how often an open loop whose rate ramped to 0
	// looks at the ramp again (no request is sent meanwhile).
	PausedRecheck = 100 * time.Millisecond
	// DefaultTimeout is how long a client waits for a request's answer
	// (Clients.Timeout), as lblab load does by default.
	DefaultTimeout = 10 * time.Second
)

// WithDefaults returns c with its defaults filled in: method GET, paths
// [/], rate DefaultRate, users DefaultOpenUsers (open) or
// DefaultClosedUsers (closed). Name and Listener depend on the lab and
// are left as they are.
func (c Clients) WithDefaults() Clients {
	if c.Method == "" {
		c.Method = "GET"
	}
	if len(c.Paths) == 0 {
		c.Paths = []string{"/"}
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Users == 0 {
		c.Users = DefaultOpenUsers
		if c.Mode == "closed" {
			c.Users = DefaultClosedUsers
		}
	}
	return c
}

// RateAt returns the open-loop rate at time t since the lab's start, in
// requests per second: Rate, then each ramp step's rate from its time on.
func (c Clients) RateAt(t time.Duration) float64 {
	r := c.Rate
	for _, s := range c.Ramp {
		if t >= s.At.D {
			r = s.Rate
		}
	}
	return r
}

// Gap returns the time from one open-loop arrival to the next at rate r
// (requests per second): 1/r for constant arrivals, an exponential draw
// of mean 1/r for poisson ones (the default), PausedRecheck at rate 0. It
// is never below 1 ns. Only a poisson gap draws from rnd.
func (c Clients) Gap(r float64, rnd *rand.Rand) time.Duration {
	var gap time.Duration
	switch {
	case r <= 0:
		gap = PausedRecheck
	case c.Arrival == "constant":
		gap = time.Duration(float64(time.Second) / r)
	default:
		gap = time.Duration(rnd.ExpFloat64() * float64(time.Second) / r)
	}
	return max(gap, 1)
}

// UserAddrs draws the addresses of n users from the prefix Addresses
// (default DefaultAddresses), each a host address of it drawn uniformly
// (two users may share one). It draws n values from rnd.
func (c Clients) UserAddrs(n int, rnd *rand.Rand) []netip.Addr {
	prefix := netip.MustParsePrefix(DefaultAddresses)
	if c.Addresses != "" {
		prefix = netip.MustParsePrefix(c.Addresses)
	}
	base := prefix.Masked().Addr().As4()
	hostBits := 32 - prefix.Bits()
	out := make([]netip.Addr, 0, n)
	for range n {
		a := base
		if hostBits > 0 {
			k := uint32(1) + uint32(rnd.Uint64N(uint64(1)<<hostBits-2+1))
			v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
			v |= k & (1<<hostBits - 1)
			a = [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		}
		out = append(out, netip.AddrFrom4(a))
	}
	return out
}

// UserHeaders returns the header fields of user number user (1..Users):
// Headers by lower-case name, {user} replaced by the number; nil without
// Headers.
func (c Clients) UserHeaders(user int) map[string]string {
	var out map[string]string
	for _, f := range c.HeaderFields() {
		if out == nil {
			out = map[string]string{}
		}
		out[f[0]] = strings.ReplaceAll(f[1], "{user}", strconv.Itoa(user))
	}
	return out
}

// QueueLimit returns Queue, or DefaultQueue when it is not given.
func (s Backend) QueueLimit() int {
	if s.Queue != nil {
		return *s.Queue
	}
	return DefaultQueue
}

// Status draws the status of a served request: the first error rule
// whose draw falls under its probability (one draw from rnd per rule
// tried, in order), else 200.
func (s Backend) Status(rnd *rand.Rand) int {
	for _, e := range s.Errors {
		if rnd.Float64() < e.Probability {
			return e.Status
		}
	}
	return 200
}

// ProbeStatus is the answer of a running backend to an HTTP health probe
// of path: 404 when HealthPath is set (other than /) and path is another
// one, else health, the status the health endpoint is switched to (200
// until switched).
func (s Backend) ProbeStatus(path string, health int) int {
	hp := s.HealthPath
	if hp != "" && hp != "/" && path != hp {
		return 404
	}
	return health
}
