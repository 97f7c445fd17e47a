// Package probe is the pure core of lblab's network probes: what a probe
// is (Spec, with its defaults and its validation), when its k-th packet
// is sent (Schedule) and the one history event a probe's result becomes
// (Spec.Event). It touches no clock and no socket: the drivers (the
// simulator's and lblab probe's) send, wait and give it the times.
//
// A probe is an ICMP echo request (kind icmp, to an IPv4 address) or a TCP
// connect (kind tcp, to ADDR:PORT), sent every Interval from one host; one
// not answered within Timeout is a failure of class timeout.
package probe

import (
	"net/netip"
	"strings"
	"time"
	"unicode"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
)

// Kind is what a probe sends.
type Kind string

// The probe kinds.
const (
	// ICMP is an ICMP echo request to an IPv4 address; an echo reply
	// answers it.
	ICMP Kind = "icmp"
	// TCP is a TCP connect to ADDR:PORT; a completed handshake answers it
	// (the connection is closed at once).
	TCP Kind = "tcp"
)

// Bounds and defaults of a Spec.
const (
	// DefaultInterval is the time between two probes of a Spec whose
	// Interval is 0.
	DefaultInterval = 100 * time.Millisecond
	// DefaultTimeout is how long a probe of a Spec whose Timeout is 0 waits
	// for its answer.
	DefaultTimeout = time.Second
	// MinInterval is the shortest Interval accepted (100 probes a second).
	MinInterval = 10 * time.Millisecond
	// MaxInterval is the longest Interval accepted.
	MaxInterval = time.Hour
	// MinTimeout is the shortest Timeout accepted.
	MinTimeout = time.Millisecond
	// MaxTimeout is the longest Timeout accepted: with MinInterval, at
	// most MaxTimeout/MinInterval = 6000 probes of one Spec are awaited at
	// once.
	MaxTimeout = 60 * time.Second
	// MaxNameLen bounds Name and From, in bytes.
	MaxNameLen = 64
)

// Spec is one probe: from a host, to an address, of a kind, at an
// interval, each waiting at most Timeout.
type Spec struct {
	// Name names the probe in messages; default "KIND FROM TO", or
	// "KIND TO" without From (Defaults), as a lab's probes are named.
	// At most MaxNameLen bytes, printable.
	Name string
	// From is the host that sends the probe (the history's Src). Required,
	// at most MaxNameLen bytes, printable, no spaces.
	From string
	// To is the destination: an IPv4 address for icmp, IPv4:PORT (port
	// 1-65535) for tcp (the history's Dst).
	To string
	// Kind is icmp or tcp; default tcp when To has a port (a colon),
	// else icmp.
	Kind Kind
	// Interval is the time between two probes' send times; default
	// DefaultInterval (100ms), between MinInterval (10ms) and MaxInterval
	// (1h).
	Interval time.Duration
	// Timeout is how long a probe waits for its answer, from its send
	// time; default DefaultTimeout (1s), between MinTimeout (1ms) and
	// MaxTimeout (60s). It may exceed Interval: probes then overlap.
	Timeout time.Duration
}

// Defaults returns s with its zero fields given their defaults: Kind from
// To (tcp with a port, else icmp), Interval, Timeout, then Name.
func (s Spec) Defaults() Spec {
	if s.Kind == "" {
		if strings.Contains(s.To, ":") {
			s.Kind = TCP
		} else {
			s.Kind = ICMP
		}
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Name == "" && s.From != "" {
		s.Name = string(s.Kind) + " " + s.From + " " + s.To
	} else if s.Name == "" {
		s.Name = string(s.Kind) + " " + s.To
	}
	return s
}

// FieldError is what is wrong with one field of a Spec. Field is the
// field's name as a lab writes it (name, from, to, kind, interval,
// timeout), so that a caller can prefix it with where the spec came from
// (probes[2].interval).
type FieldError struct {
	// Field is the lab's name of the field.
	Field string
	// Text says what is wrong.
	Text i18n.Text
}

// Error says the problem in English: "field: text".
func (e *FieldError) Error() string { return e.Field + ": " + e.Text.String() }

// In says the problem in lang.
func (e *FieldError) In(lang string) string {
	return i18n.T("%s: %v", e.Field, e.Text).In(lang)
}

var _ i18n.Localizer = (*FieldError)(nil)

// Problems returns what is wrong with s (after Defaults), field by field
// in the order name, from, to, kind, interval, timeout; none when s is
// valid. A default name is not checked: it is made of From and To, whose
// problems are said at their fields.
func (s Spec) Problems() []*FieldError {
	var out []*FieldError
	bad := func(field, format string, args ...any) {
		out = append(out, &FieldError{Field: field, Text: i18n.T(format, args...)})
	}
	named := s.Name != ""
	s = s.Defaults()
	if msg, ok := nameProblem(s.Name, true); named && !ok {
		bad("name", msg, units.Quote(s.Name))
	}
	if s.From == "" {
		bad("from", "want the host that sends the probe")
	} else if msg, ok := nameProblem(s.From, false); !ok {
		bad("from", msg, units.Quote(s.From))
	}
	switch s.Kind {
	case ICMP:
		if a, err := netip.ParseAddr(s.To); err != nil || !a.Is4() {
			bad("to", "an icmp probe goes to an IPv4 address, got %s", units.Quote(s.To))
		} else if msg := addrProblem(a); msg != "" {
			bad("to", msg, units.Quote(s.To))
		}
	case TCP:
		if ap, err := netip.ParseAddrPort(s.To); err != nil || !ap.Addr().Is4() {
			bad("to", "a tcp probe goes to IPV4:PORT, got %s", units.Quote(s.To))
		} else if ap.Port() == 0 {
			bad("to", "want a port from 1 to 65535, got %s", units.Quote(s.To))
		} else if msg := addrProblem(ap.Addr()); msg != "" {
			bad("to", msg, units.Quote(s.To))
		}
	default:
		bad("kind", "want icmp or tcp, got %s", units.Quote(string(s.Kind)))
	}
	if s.Interval < MinInterval || s.Interval > MaxInterval {
		bad("interval", "want from %s to %s, got %s", MinInterval, MaxInterval, s.Interval)
	}
	if s.Timeout < MinTimeout || s.Timeout > MaxTimeout {
		bad("timeout", "want from %s to %s, got %s", MinTimeout, MaxTimeout, s.Timeout)
	}
	return out
}

// Validate returns the problems of s (FieldErrors), or nil.
func (s Spec) Validate() error {
	if ps := s.Problems(); len(ps) > 0 {
		return FieldErrors(ps)
	}
	return nil
}

// FieldErrors are the problems of one Spec, said on one line joined by
// "; ".
type FieldErrors []*FieldError

// Error says the problems in English.
func (es FieldErrors) Error() string { return es.In(i18n.English) }

// In says the problems in lang.
func (es FieldErrors) In(lang string) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.In(lang)
	}
	if lang == i18n.Chinese {
		return strings.Join(parts, "；")
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns each problem, for errors.As.
func (es FieldErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

var _ i18n.Localizer = FieldErrors(nil)

// nameProblem returns a format (with one %s: the quoted name) saying
// what is wrong with a probe's or host's name, and false; or "", true.
func nameProblem(name string, spaces bool) (string, bool) {
	if len(name) > MaxNameLen {
		return "want at most 64 bytes, got %s", false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar || !spaces && unicode.IsSpace(r) {
			return "want printable characters without spaces, got %s", false
		}
	}
	return "", true
}

// addrProblem returns a format (with one %s: the quoted address) when a
// is no address one host's probe can be answered from, else "".
func addrProblem(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "want a host's address, not the unspecified address %s"
	case a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "want one host's address, not the multicast or broadcast address %s"
	}
	return ""
}

// Schedule is when the probes of one Spec are sent: the k-th (k from 0)
// at Phase + k×Interval, in the run's time (since its start). The driver
// chooses Phase (0, or a draw that spreads several probes over one
// interval).
type Schedule struct {
	// Phase is the send time of probe 0, since the run's start.
	Phase time.Duration
	// Interval is the time between two send times (positive).
	Interval time.Duration
}

// Schedule returns the schedule of s's probes from phase: the k-th at
// phase + k×Interval (Interval after Defaults).
func (s Spec) Schedule(phase time.Duration) Schedule {
	return Schedule{Phase: phase, Interval: s.Defaults().Interval}
}

// maxStamp is the latest time a schedule gives: later ones saturate here
// instead of overflowing.
const maxStamp = time.Duration(1<<63 - 1)

// At returns the send time of probe k (k ≥ 0), saturating at the largest
// duration instead of overflowing.
func (s Schedule) At(k int64) time.Duration {
	if k <= 0 || s.Interval <= 0 {
		return s.Phase
	}
	if k > int64(maxStamp-s.Phase)/int64(s.Interval) {
		return maxStamp
	}
	return s.Phase + time.Duration(k)*s.Interval
}

// Next returns the first probe whose send time is at or after now, and
// that time: a driver late by several intervals skips the probes it missed
// instead of sending them in a burst.
func (s Schedule) Next(now time.Duration) (k int64, at time.Duration) {
	if now <= s.Phase || s.Interval <= 0 {
		return 0, s.Phase
	}
	k = int64((now - s.Phase) / s.Interval)
	if s.At(k) < now {
		k++
	}
	return k, s.At(k)
}

// Class is why a probe was not answered.
type Class string

// The failure classes of a probe (the history's Error of a net event).
const (
	// Timeout: no answer within the probe's timeout.
	Timeout Class = "timeout"
	// Refused: the destination answered a tcp probe with a reset to its
	// SYN (nothing listens on the port).
	Refused Class = "refused"
	// Reset: the connection was reset after it was set up, before the
	// probe ended.
	Reset Class = "reset"
	// Unreachable: an ICMP destination unreachable came back, or the
	// prober's host has no route (or no neighbour) for the destination.
	Unreachable Class = "unreachable"
)

// Result is how one probe ended, as a driver saw it.
type Result struct {
	// Sent is when the probe was sent, since the run's start.
	Sent time.Duration
	// Ended is when its answer came, or when it failed (its timeout, an
	// error), since the run's start.
	Ended time.Duration
	// Answered says the probe got its answer (echo reply, handshake).
	Answered bool
	// Answer names who answered (a host when the world can tell), or "".
	Answer string
	// Error is the class of the failure of a probe not answered; a
	// probe not answered without one counts as Timeout.
	Error Class
}

// Event returns the history's net event of one probe of s: at its end
// (T = Ended, never before Sent), from s.From to s.To, of s's kind;
// answered with its round-trip time (Ended − Sent) and who answered, or
// not with the class of its failure.
func (s Spec) Event(r Result) history.Event {
	ok := r.Answered
	end := max(r.Ended, r.Sent)
	ev := history.Event{T: history.Stamp(end), Kind: history.KindNet, Src: s.From, Dst: s.To,
		Probe: string(s.Kind), OK: &ok, Start: history.Stamp(r.Sent)}
	if ok {
		ev.RTT = history.Stamp(end - r.Sent)
		ev.Answer = r.Answer
		return ev
	}
	ev.Error = string(r.Error)
	if ev.Error == "" {
		ev.Error = string(Timeout)
	}
	return ev
}

// Dst splits a valid tcp Spec's To into its address and port, or returns
// an icmp Spec's To as its address (port 0).
func (s Spec) Dst() (netip.Addr, uint16) {
	if s.Kind == TCP {
		ap, err := netip.ParseAddrPort(s.To)
		if err == nil {
			return ap.Addr(), ap.Port()
		}
		return netip.Addr{}, 0
	}
	a, _ := netip.ParseAddr(s.To)
	return a, 0
}
