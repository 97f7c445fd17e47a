package reports

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/lblab/lblab/history"
)

// clientOp is one operation of a client host as the availability lanes
// and the outages read it: a request whose event names its host (Src),
// or a probe (a net event).
type clientOp struct {
	host string
	// channel is "requests" for a request, else the probe's kind
	// (icmp, tcp; "probe" when the event does not say).
	channel string
	// sent is when it was sent (a request's intended send time; a
	// probe's Start when its event has one, else its end less its round
	// trip, else its end); end is when its outcome was known (the
	// event's T).
	sent, end history.Stamp
	outcome   opOutcome
	// class is a failure's class: the error (timeout, reset, refused,
	// unreachable, ...) or the 5xx status.
	class string
	// answer is the host that answered (the node whose proxy served a
	// request, the node that answered a probe), when the world could tell.
	answer string
	// reset says that it met a reset: it failed with one, or (a request)
	// it was reset on a reused kept-alive connection and resent on a new
	// one (history.Event.Resent), whatever its outcome.
	reset bool
}

// opOutcome is how an operation ended.
type opOutcome int

// The outcomes: a success, a failure, or unknown (still in flight at the
// end: neither).
const (
	opOK opOutcome = iota
	opFailed
	opUnknown
)

// channelRequests is the channel of a client's requests.
const channelRequests = "requests"

// clientOpOf reads an event as a client operation; ok is false for an
// event that is not one (a request without Src, another kind).
//
// A request is a success when it was answered with a 2xx or 3xx status
// or echoed (a tcp exchange without error), a failure when it got any
// other status (a 4xx too: the users did not get what they asked for, as
// the labs' checks count it) or no answer (its error class), unknown when
// it was still in flight at the end. A request reset on a reused
// connection and resent (history.Event.Resent) is what its resend became. A probe is a success when OK is true and it has no error, a
// failure when it has an error or OK is false, unknown otherwise (OK not
// said, or in flight at the end).
func clientOpOf(e *history.Event) (clientOp, bool) {
	if e.Src == "" {
		return clientOp{}, false
	}
	switch e.Kind {
	case history.KindRequest:
		q := reqOf(e)
		op := clientOp{host: e.Src, channel: channelRequests, sent: history.Stamp(durationOf(q.start)), end: e.T, answer: e.Answer,
			reset: e.Error == classReset || e.Resent == classReset}
		switch {
		case q.unknown():
			op.outcome = opUnknown
		case q.err != "":
			op.outcome, op.class = opFailed, q.err
		case q.status != 0 && (q.status < 200 || q.status >= 400):
			op.outcome, op.class = opFailed, strconv.Itoa(q.status)
		}
		return op, true
	case history.KindNet:
		op := clientOp{host: e.Src, channel: e.Probe, sent: e.T, end: e.T, answer: e.Answer, reset: e.Error == classReset}
		if op.channel == "" {
			op.channel = "probe"
		}
		switch {
		case e.Start > 0 && e.Start <= e.T:
			op.sent = e.Start
		case e.RTT > 0 && e.RTT <= e.T:
			op.sent = e.T - e.RTT
		}
		switch {
		case e.Error == inFlightError:
			op.outcome = opUnknown
		case e.Error != "":
			op.outcome, op.class = opFailed, e.Error
		case e.OK == nil:
			op.outcome = opUnknown
		case !*e.OK:
			op.outcome, op.class = opFailed, "error"
		}
		return op, true
	}
	return clientOp{}, false
}

// Outage is the outage one client host saw on one channel (its requests,
// or one kind of probe): the longest time between two of its successes
// (each at its end, when the answer came; the run's start before the
// first) that a failed operation overlaps (from its send to its end).
// This is the one definition of the users' outage ("from the first
// failed request to the first success after it, per client"): the
// labs' outage_s metrics and outage_within checks and the report's
// outage table all read it. On the requests channel the host's failed
// probes (any kind) are failures too, though only requests' successes
// end it: a graceful takeover may fail no request (their SYNs are
// retransmitted onto the new master, or a request reset on a reused
// connection is resent and answered), yet the host could not reach the
// service meanwhile.
// Measured between successes, it does not depend on when a failure is
// recorded (a timeout ends long after the outage began), and a request
// sent just before a crash that fails seconds later, while later ones
// still succeed, does not start it early: the users saw successes until
// the last one. Operations still in flight at the end are neither
// successes nor failures: their outcome is unknown.
type Outage struct {
	// Client is the client host (the events' Src).
	Client string
	// Channel is "requests", or a probe's kind (icmp, tcp).
	Channel string
	// Primary marks the channel that measures the host's outage
	// (outage_s_HOST): its requests when it sent any that finished, else
	// its tcp probes, else its other probes. An icmp probe is answered by
	// a node whose proxy is dead, so it does not end an outage of the
	// requests.
	Primary bool
	// Sent counts the channel's operations, Failures those that failed
	// over the whole run, Unknown those still in flight at the end.
	Sent, Failures, Unknown int
	// From and To are the ends of the two successes around the outage
	// (From 0: none before it; To the run's end: none after it); both 0
	// when nothing failed.
	From, To time.Duration
	// Open says that the run ended in an outage (a failure after the
	// last success): it may have lasted longer than the run shows, so
	// the length is a lower bound.
	Open bool
	// ByClass counts the channel's failed operations that overlap the
	// outage, by class.
	ByClass map[string]int
	// ProbeFailures counts, on the requests channel only, the host's
	// failed probes over the whole run (failures of the outage too);
	// ProbesByClass those that overlap the outage, by "KIND CLASS"
	// (e.g. "tcp timeout").
	ProbeFailures int
	ProbesByClass map[string]int
	// Resets counts the channel's operations over the whole run that met
	// a reset: failed with one, or (requests) reset on a reused kept-alive
	// connection and resent on a new one. Summed over the client hosts'
	// requests it is results.json's connections_reset.
	Resets int
}

// Seconds returns the outage's length in seconds (0 when nothing
// failed); decided is false when it is open: the run ended in an outage,
// so the length is a lower bound.
func (o Outage) Seconds() (s float64, decided bool) {
	return (o.To - o.From).Seconds(), !o.Open
}

// failed reports whether anything the outage reads failed: one of the
// channel's operations, or (requests) one of the host's probes.
func (o Outage) failed() bool { return o.Failures+o.ProbeFailures > 0 }

// outageChannel holds one channel's finished operations.
type outageChannel struct {
	oks    []history.Stamp // successes' ends
	fails  []opFail
	n      int
	resets int // operations that met a reset
}

// opFail is a failed operation: from its send to its end.
type opFail struct {
	sent, end history.Stamp
	class     string
}

// OutageMeter measures the outages each client host saw (Outage), one
// event at a time: it is a history.Sink, so a run can feed it as the
// history is written. It keeps each success's end (8 bytes) and each
// failure's times, not the events. The zero value is not ready: use
// NewOutageMeter.
type OutageMeter struct {
	chans map[[2]string]*outageChannel // host, channel
}

var _ history.Sink = (*OutageMeter)(nil)

// NewOutageMeter returns an empty meter.
func NewOutageMeter() *OutageMeter {
	return &OutageMeter{chans: map[[2]string]*outageChannel{}}
}

// Add takes the next event of the history (events that are not a client
// host's operation are ignored).
func (m *OutageMeter) Add(ev history.Event) {
	if op, ok := clientOpOf(&ev); ok {
		m.add(op)
	}
}

func (m *OutageMeter) add(op clientOp) {
	k := [2]string{op.host, op.channel}
	c := m.chans[k]
	if c == nil {
		c = &outageChannel{}
		m.chans[k] = c
	}
	c.n++
	if op.reset {
		c.resets++
	}
	switch op.outcome {
	case opOK:
		c.oks = append(c.oks, op.end)
	case opFailed:
		c.fails = append(c.fails, opFail{op.sent, op.end, op.class})
	}
}

// Outages returns the outage of every client host on each of its
// channels, by host (natural order), its primary channel first, then
// its other channels by name. end is the run's end: an open outage lasts
// until then.
func (m *OutageMeter) Outages(end time.Duration) []Outage {
	var out []Outage
	for k, c := range m.chans {
		var probes []opFail
		if k[1] == channelRequests {
			for k2, c2 := range m.chans {
				if k2[0] != k[0] || k2[1] == channelRequests {
					continue
				}
				for _, f := range c2.fails {
					probes = append(probes, opFail{f.sent, f.end, k2[1] + " " + f.class})
				}
			}
		}
		o := c.outage(history.Stamp(end), probes)
		o.Client, o.Channel = k[0], k[1]
		out = append(out, o)
	}
	rank := func(o Outage) int {
		switch {
		case o.Channel == channelRequests && o.Sent > o.Unknown:
			return 0
		case o.Channel == "tcp":
			return 1
		case o.Channel == "icmp":
			return 3
		}
		return 2
	}
	slices.SortFunc(out, func(a, b Outage) int {
		if c := naturalCompare(a.Client, b.Client); c != 0 {
			return c
		}
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.Channel, b.Channel)
	})
	for i := range out {
		out[i].Primary = i == 0 || out[i-1].Client != out[i].Client
	}
	return out
}

// outage finds the channel's longest outage in a run that ended at end;
// probes are the host's failed probes that count as failures too (on the
// requests channel), their class prefixed with their kind.
func (c *outageChannel) outage(end history.Stamp, probes []opFail) Outage {
	o := Outage{Sent: c.n, Failures: len(c.fails), Unknown: c.n - len(c.fails) - len(c.oks), Resets: c.resets,
		ProbeFailures: len(probes)}
	fails := append(slices.Clip(c.fails), probes...)
	if len(fails) == 0 {
		return o
	}
	oks := slices.Clone(c.oks)
	slices.Sort(oks)
	last := end
	if n := len(oks); n > 0 {
		last = max(end, oks[n-1])
	}
	// The spans between successes: from the start (0) to the first, between
	// each two, and from the last to the end.
	type gap struct{ a, b history.Stamp }
	gaps := make([]gap, 0, len(oks)+1)
	prev := history.Stamp(0)
	for _, t := range oks {
		if t > prev {
			gaps = append(gaps, gap{prev, t})
		}
		prev = t
	}
	if last > prev {
		gaps = append(gaps, gap{prev, last})
	}
	// Mark the spans that a failure overlaps: from the first that ends
	// after its send, while they begin before its end.
	hit := make([]bool, len(gaps))
	for _, f := range fails {
		i, _ := slices.BinarySearchFunc(gaps, f.sent, func(g gap, t history.Stamp) int {
			if g.b <= t {
				return -1
			}
			return 1
		})
		for ; i < len(gaps) && gaps[i].a <= f.end; i++ {
			hit[i] = true
		}
	}
	best := -1
	for i, g := range gaps {
		if !hit[i] {
			continue
		}
		if best < 0 || g.b-g.a > gaps[best].b-gaps[best].a {
			best = i
		}
		if g.a == prev && g.b == last && last > prev {
			o.Open = true // the run ended in it
		}
	}
	if best < 0 {
		return o
	}
	g := gaps[best]
	o.From, o.To = g.a.Duration(), g.b.Duration()
	o.ByClass = map[string]int{}
	for _, f := range c.fails {
		if f.sent <= g.b && f.end >= g.a {
			o.ByClass[f.class]++
		}
	}
	if len(probes) > 0 {
		o.ProbesByClass = map[string]int{}
		for _, f := range probes {
			if f.sent <= g.b && f.end >= g.a {
				o.ProbesByClass[f.class]++
			}
		}
	}
	return o
}

// Outages returns the outages of the client hosts of a whole history
// (OutageMeter.Outages); end is the run's end.
func Outages(events []history.Event, end time.Duration) []Outage {
	m := NewOutageMeter()
	for i := range events {
		m.Add(events[i])
	}
	return m.Outages(end)
}

// OutageMetrics returns the results.json metrics of the outages (from
// Outages or OutageMeter.Outages), in seconds: outage_s_HOST for each
// client host (its primary channel's outage; 0 when nothing failed) and
// outage_s, the worst of them. A value that the history leaves open (the
// run ended in an outage) is null, and outage_lower_bound_s_HOST
// (outage_lower_bound_s) says how long it lasted at least. Without
// client hosts the map is empty.
func OutageMetrics(outs []Outage) map[string]any {
	m := map[string]any{}
	worst, lower, open, hosts := 0.0, 0.0, false, false
	for _, o := range outs {
		if !o.Primary {
			continue
		}
		hosts = true
		s, decided := o.Seconds()
		lower = max(lower, s)
		if decided {
			m["outage_s_"+o.Client] = s
			worst = max(worst, s)
			continue
		}
		open = true
		m["outage_s_"+o.Client] = nil
		m["outage_lower_bound_s_"+o.Client] = s
	}
	if !hosts {
		return m
	}
	if open {
		m["outage_s"] = nil
		m["outage_lower_bound_s"] = lower
	} else {
		m["outage_s"] = worst
	}
	return m
}

// classesOf returns the classes of a count by class, the most frequent
// first (then by name).
func classesOf(by map[string]int) []string {
	keys := slices.Collect(maps.Keys(by))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(by[b], by[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys
}
