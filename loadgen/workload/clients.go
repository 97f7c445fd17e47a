package workload

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/lblab/lblab/units"
)

// DefaultRate is an open-loop population's rate when it gives none, in
// requests per second.
const DefaultRate = 100

// Clients is a client population and its load.
type Clients struct {
	// Name labels the clients. Default clients<N>.
	Name string `yaml:"name"`
	// Listener is the listener they call. Default the first.
	Listener string `yaml:"listener"`
	// Mode is open (requests arrive at a rate whatever the answers, as
	// real users do) or closed (Users users each wait for their answer,
	// think, and ask again). Default open.
	Mode string `yaml:"mode"`
	// Rate is requests per second (open only; closed clients refuse it).
	// Default DefaultRate (100); 0 is refused in a lab (it would be the default).
	Rate float64 `yaml:"rate"`
	// Arrival is constant (evenly spaced) or poisson (open only). Default
	// poisson.
	Arrival string `yaml:"arrival"`
	// Ramp changes the rate at given times (open only); at rate 0 nothing
	// is sent until a later step.
	Ramp []RampStep `yaml:"ramp"`
	// Users is how many distinct users there are (each with an address
	// and cookies); in closed mode, how many ask at once. Default 1000
	// (open), 10 (closed).
	Users int `yaml:"users"`
	// Think is the pause between an answer and the next request (closed
	// only; open clients refuse it). Default 0.
	Think units.Duration `yaml:"think"`
	// Addresses is the prefix user addresses are drawn from. Default
	// 10.1.0.0/16.
	Addresses string `yaml:"addresses"`
	// Via puts another proxy in front: every connection comes from this
	// address, and the user's address travels in X-Forwarded-For.
	Via string `yaml:"via"`
	// Method is the HTTP method. Default GET.
	Method string `yaml:"method"`
	// Paths are the request URIs, picked at random. Default [/].
	Paths []string `yaml:"paths"`
	// Host is the Host header. Default none.
	Host string `yaml:"host"`
	// Headers are more request header fields, "Name: value", sent by
	// every user; {user} in a value is the user's number (1..Users), so
	// that a hash key such as $http_x_user sends each user to one server.
	// Default none.
	Headers []string `yaml:"headers"`
	// Start and Stop bound the load in time. Default the whole lab.
	Start units.Duration `yaml:"start"`
	Stop  units.Duration `yaml:"stop"`
	// Timeout is how long a client waits for a request's whole answer,
	// from its intended send time, before it gives up: the request ends at
	// the client as timed out (status 0, error timeout) and the client
	// closes its connection (the proxy logs 499, not the server's
	// failure). Default DefaultTimeout (10 s, lblab load's --timeout);
	// 0 or negative is refused.
	Timeout units.Duration `yaml:"timeout"`
	// From is the topology host the clients send from (a lab with a
	// topology: a high-availability lab). Default none: the clients
	// reach the load balancer directly.
	From string `yaml:"from"`
	// To is the IPv4 address the clients send to (a VIP, or a host's
	// address); the port is their listener's. Default with From: the
	// first proxy host's first address.
	To string `yaml:"to"`
	// Keepalive reuses connections for later requests, as browsers do
	// (a new connection after a reset or a timeout). Default true for
	// clients with To, false otherwise.
	Keepalive *bool `yaml:"keepalive"`
	// Probe is off to send no probes beside the clients; by default
	// clients with From and To probe their To every 100ms (icmp, and tcp
	// to their listener's port).
	Probe string `yaml:"probe"`
}

// KeepaliveOr returns Keepalive, or its default: true with To.
func (c Clients) KeepaliveOr() bool {
	if c.Keepalive == nil {
		return c.To != ""
	}
	return *c.Keepalive
}

// RampStep sets the rate from a time on.
type RampStep struct {
	At   units.Duration `yaml:"at"`
	Rate float64        `yaml:"rate"`
}

// Check returns what is wrong with the spec, or nil.
func (c Clients) Check() error {
	switch c.Mode {
	case "", "open", "closed":
	default:
		return fmt.Errorf("mode: want open or closed, got %q", c.Mode)
	}
	switch c.Arrival {
	case "", "constant", "poisson":
	default:
		return fmt.Errorf("arrival: want constant or poisson, got %q", c.Arrival)
	}
	if c.Rate < 0 || c.Rate > 1e7 {
		return fmt.Errorf("rate: want 0..1e7 requests per second, got %v", c.Rate)
	}
	if c.Mode == "closed" {
		// Closed users ask again as soon as answered (after think): no rate.
		switch {
		case c.Rate != 0:
			return fmt.Errorf("rate: closed clients have no rate (each of users asks again after think); use mode open, or leave rate out")
		case c.Arrival != "":
			return fmt.Errorf("arrival: closed clients have no arrival law; use mode open, or leave arrival out")
		case len(c.Ramp) > 0:
			return fmt.Errorf("ramp: closed clients have no rate to ramp; use mode open, or leave ramp out")
		}
	} else if c.Think.IsSet() {
		return fmt.Errorf("think: open clients do not wait for answers, so they do not think; use mode closed, or leave think out")
	}
	if c.Timeout.IsSet() && c.Timeout.D <= 0 {
		return fmt.Errorf("timeout: want more than 0, got %s (leave it out for %s)", c.Timeout.D, DefaultTimeout)
	}
	if c.Users < 0 || c.Users > 1_000_000 {
		return fmt.Errorf("users: want 0..1000000, got %d", c.Users)
	}
	if c.Addresses != "" {
		if p, err := netip.ParsePrefix(c.Addresses); err != nil || !p.Addr().Is4() {
			return fmt.Errorf("addresses: want an IPv4 prefix like 10.1.0.0/16, got %q", c.Addresses)
		}
	}
	if c.Via != "" {
		if _, err := netip.ParseAddr(c.Via); err != nil {
			return fmt.Errorf("via: want an address, got %q", c.Via)
		}
	}
	for _, p := range c.Paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("paths: a path starts with /, got %q", p)
		}
	}
	for _, h := range c.Headers {
		if _, _, err := splitHeader(h); err != nil {
			return fmt.Errorf("headers: %w", err)
		}
	}
	return nil
}

// HeaderFields returns Headers split into their names (lower case) and
// values; a field Check refuses is left out.
func (c Clients) HeaderFields() [][2]string {
	var out [][2]string
	for _, h := range c.Headers {
		if name, value, err := splitHeader(h); err == nil {
			out = append(out, [2]string{name, value})
		}
	}
	return out
}

// splitHeader reads "Name: value": the name (a token, returned lower
// case) and the value without surrounding blanks.
func splitHeader(h string) (name, value string, err error) {
	name, value, ok := strings.Cut(h, ":")
	if !ok || name == "" || strings.TrimFunc(name, isTokenChar) != "" {
		return "", "", fmt.Errorf("want \"Name: value\" with a field name of letters, digits and -, got %q", h)
	}
	return strings.ToLower(name), strings.TrimSpace(value), nil
}

func isTokenChar(r rune) bool {
	return r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// UserAgent is the User-Agent field the load generator sends when the
// spec's headers give none.
const UserAgent = "lblab-load"

// GeneratorFields returns the header fields the load generator writes of
// its own in every request of c to host, names lower case, in the order
// sent: host (host), user-agent (UserAgent), connection: close (without
// keepAlive), content-length: 0 (POST, PUT and PATCH); each unless Headers
// names the field, as curl's -H replaces it. A request then carries the
// user's Headers (UserHeaders, names sorted), x-forwarded-for (the user's
// address, with Via) and cookie (the user's cookies, names sorted, "; "
// between), in that order. Both worlds build their requests from it, so
// that a hash key such as $http_host or $http_user_agent reads the same.
func (c Clients) GeneratorFields(host string, keepAlive bool) [][2]string {
	given := map[string]bool{}
	for _, f := range c.HeaderFields() {
		given[f[0]] = true
	}
	var out [][2]string
	add := func(name, value string) {
		if !given[name] {
			out = append(out, [2]string{name, value})
		}
	}
	add("host", host)
	add("user-agent", UserAgent)
	if !keepAlive {
		add("connection", "close")
	}
	if c.Method == "POST" || c.Method == "PUT" || c.Method == "PATCH" {
		add("content-length", "0")
	}
	return out
}

// CookieLine returns the value of the Cookie field of a user's cookies:
// name=value pairs, names sorted, "; " between; "" without cookies.
func CookieLine(cookies map[string]string) string {
	switch len(cookies) {
	case 0:
		return ""
	case 1:
		for n, v := range cookies {
			return n + "=" + v
		}
	}
	var b strings.Builder
	for i, n := range slices.Sorted(maps.Keys(cookies)) {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(n + "=" + cookies[n])
	}
	return b.String()
}
