package backend

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/units"
)

// Law is a service-time law, a lab's (workload.Law, the same in every
// world) written as one flag value:
//
//	0, none or ""             no added latency (the default)
//	10ms or constant:10ms     every answer waits 10 ms
//	exp:10ms                  exponential law of mean 10 ms (also exponential:10ms)
//	lognormal:20ms,200ms      log-normal law: median 20 ms, p99 200 ms
//
// Durations are Go durations (250us, 10ms, 1.5s) or plain seconds (0.01).
type Law struct {
	law  workload.Law
	none bool
	text string
}

// NoLatency is the law that adds nothing.
var NoLatency = Law{none: true, text: "0"}

// ParseLaw reads a law written as above.
func ParseLaw(text string) (Law, error) {
	t := strings.TrimSpace(text)
	switch strings.ToLower(t) {
	case "", "0", "none", "0s":
		return NoLatency, nil
	}
	kind, arg, ok := strings.Cut(t, ":")
	if !ok {
		kind, arg = "constant", t
	}
	bad := func(why string) (Law, error) {
		return Law{}, fmt.Errorf("latency law %q: %s (write 10ms, exp:10ms or lognormal:20ms,200ms)", text, why)
	}
	dur := func(s string) (time.Duration, error) { return units.ParseDuration(strings.TrimSpace(s)) }
	var l workload.Law
	switch strings.ToLower(kind) {
	case "constant", "const":
		d, err := dur(arg)
		if err != nil {
			return bad(err.Error())
		}
		if d == 0 {
			return NoLatency, nil
		}
		l = workload.Law{Law: "constant", Mean: units.Of(d)}
	case "exp", "exponential":
		d, err := dur(arg)
		if err != nil {
			return bad(err.Error())
		}
		if d == 0 {
			return NoLatency, nil
		}
		l = workload.Law{Law: "exponential", Mean: units.Of(d)}
	case "lognormal", "lognorm":
		a, b, ok := strings.Cut(arg, ",")
		if !ok {
			return bad("lognormal takes a median and a p99")
		}
		med, err := dur(a)
		if err != nil {
			return bad(err.Error())
		}
		p99, err := dur(b)
		if err != nil {
			return bad(err.Error())
		}
		l = workload.Law{Law: "lognormal", Median: units.Of(med), P99: units.Of(p99)}
	default:
		return bad("unknown law " + kind)
	}
	if err := l.Check(); err != nil {
		return bad(err.Error())
	}
	return Law{law: l, text: t}, nil
}

// None reports whether the law adds no latency.
func (l Law) None() bool { return l.none || l.text == "" }

// Sample draws one service time.
func (l Law) Sample(rnd *rand.Rand) time.Duration {
	if l.None() {
		return 0
	}
	return max(0, l.law.Sample(rnd))
}

// String returns the law as written.
func (l Law) String() string {
	if l.None() {
		return "0"
	}
	return l.text
}
