package scenarios

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
)

// A request still in flight at the end of a run is unknown, as a Jepsen
// "info" operation: it may yet succeed, fail, or never end. Its latency
// is at least (end − start) and may be anything above. A statistic over
// requests some of which are unknown is therefore an interval: lo with
// each unknown latency at its lower bound, hi with each at +∞. A check
// passes only when the whole interval passes, fails when the whole
// interval fails, and otherwise fails as undecided.

// inFlight is the error class of a request still in flight at the end of
// the run (history.Event.Error).
const inFlight = "in_flight"

// unknown reports whether a request was still in flight at the end of the
// run: neither ok nor failed.
func unknown(e *history.Event) bool { return e.Error == inFlight }

// unbounded is +∞ as a latency bound: a request in flight at the end may
// never finish.
const unbounded = time.Duration(math.MaxInt64)

// latencySample holds the latencies of a set of requests: the answered
// ones exactly, and for each one still in flight at the end, the lower
// bound of its latency.
type latencySample struct {
	// done are the answered requests' latencies, sorted.
	done []time.Duration
	// pending are the lower bounds (end − start, or the latency the
	// history recorded if larger) of those still in flight, sorted.
	pending []time.Duration
}

// sampleLatencies returns the latencies of the requests of group ("":
// every group) sent in w: answered ones (a status from a server or from
// the load balancer) and unknown ones; a request that failed without an
// answer has no latency the checks read.
func sampleLatencies(events []history.Event, group string, w Window, end time.Duration) latencySample {
	var s latencySample
	for i := range events {
		e := &events[i]
		if e.Kind != history.KindRequest || (group != "" && e.Group != group) || !inWindow(e, w, end) {
			continue
		}
		switch {
		case unknown(e):
			s.pending = append(s.pending, max(e.Latency.Duration(), end-e.Start.Duration()))
		case answered(e):
			s.done = append(s.done, e.Latency.Duration())
		}
	}
	slices.Sort(s.done)
	slices.Sort(s.pending)
	return s
}

// n is the number of requests in the sample, answered or unknown.
func (s latencySample) n() int { return len(s.done) + len(s.pending) }

// statBounds is a statistic over requests some of which are unknown: lo
// with each unknown latency at its lower bound, hi with each at +∞ (hi is
// unbounded when the unknown ones could make it anything).
type statBounds struct{ lo, hi time.Duration }

// decided reports whether the unknown requests cannot change the
// statistic.
func (b statBounds) decided() bool { return b.lo == b.hi }

// percentile returns the bounds of the p-th percentile (nearest rank, as
// percentile) of every request of the sample. The sample must not be
// empty.
func (s latencySample) percentile(p float64) statBounds {
	all := append(append(make([]time.Duration, 0, s.n()), s.done...), s.pending...)
	slices.Sort(all)
	lo := percentile(all, p)
	// With the unknown ones at +∞ the sorted list is done, then +∞ × k.
	rank := min(max(int(math.Ceil(p/100*float64(s.n()))), 1), s.n())
	hi := unbounded
	if rank <= len(s.done) {
		hi = s.done[rank-1]
	}
	return statBounds{lo, hi}
}

// mean returns the bounds of the mean latency of every request of the
// sample. The sample must not be empty.
func (s latencySample) mean() statBounds {
	var sum time.Duration
	for _, l := range s.done {
		sum += l
	}
	for _, l := range s.pending {
		sum += l
	}
	lo := sum / time.Duration(s.n())
	if len(s.pending) > 0 {
		return statBounds{lo, unbounded}
	}
	return statBounds{lo, lo}
}

// max returns the bounds of the largest latency of the sample. The
// sample must not be empty.
func (s latencySample) max() statBounds {
	var lo time.Duration
	if len(s.done) > 0 {
		lo = s.done[len(s.done)-1]
	}
	if len(s.pending) > 0 {
		return statBounds{max(lo, s.pending[len(s.pending)-1]), unbounded}
	}
	return statBounds{lo, lo}
}

// boundedMetric stores a latency statistic in results.json under name
// (NAME_ms: every latency metric's name ends in its unit, which validate
// enforces): its value when the unknown requests cannot change it, else
// null (nil), so that no number claims more than the history holds. When
// some requests are unknown it adds NAME_finished_ms (the statistic over
// the answered requests alone, absent when none was answered), and when
// the value is null, NAME_lower_bound_ms (lo) and, when the unknown
// requests cannot push it past a finite value, NAME_upper_bound_ms (hi).
func boundedMetric(m map[string]any, name string, s latencySample, stat func(latencySample) statBounds) {
	b := stat(s)
	m[name] = nil
	if b.decided() {
		m[name] = ms(b.lo)
	}
	if len(s.pending) == 0 {
		return
	}
	base := strings.TrimSuffix(name, "_ms")
	if len(s.done) > 0 {
		m[base+"_finished_ms"] = ms(stat(latencySample{done: s.done}).lo)
	}
	if b.decided() {
		return
	}
	m[base+"_lower_bound_ms"] = ms(b.lo)
	if b.hi != unbounded {
		m[base+"_upper_bound_ms"] = ms(b.hi)
	}
}
