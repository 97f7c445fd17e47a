package scenarios

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios/labfile"
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
// ones in the one percentile function (history.Latencies), and for each
// one still in flight at the end, the lower bound of its latency. For each
// threshold a check compares a percentile with (cuts), it counts exactly
// the answered latencies at or below it and below it, so that the verdict
// is decided by ranks, never by the histogram's rounding.
type latencySample struct {
	// done are the answered requests' latencies.
	done history.Latencies
	// pending are the lower bounds (end − start, or the latency the
	// history recorded if larger) of those still in flight, sorted.
	pending []time.Duration
	// cuts are the thresholds, and atMost and below the answered
	// latencies ≤ and < each.
	cuts, atMost, below []int
}

// newSample returns an empty sample whose percentiles are compared with
// cuts (thresholds).
func newSample(cuts ...time.Duration) *latencySample {
	s := &latencySample{atMost: make([]int, len(cuts)), below: make([]int, len(cuts))}
	for _, c := range cuts {
		s.cuts = append(s.cuts, int(c))
	}
	return s
}

// add puts one request event in the sample, already chosen by group and
// window: an answered one (a status from a server or from the load
// balancer) by its latency, an unknown one by the lower bound of its
// latency at end; a request that failed without an answer has no
// latency the checks read. Call sorted before reading the sample.
func (s *latencySample) add(e *history.Event, end time.Duration) {
	switch {
	case unknown(e):
		s.pending = append(s.pending, max(e.Latency.Duration(), end-e.Start.Duration()))
	case answered(e):
		l := e.Latency.Duration()
		s.done.Record(l)
		for k, c := range s.cuts {
			if l <= time.Duration(c) {
				s.atMost[k]++
			}
			if l < time.Duration(c) {
				s.below[k]++
			}
		}
	}
}

// sorted sorts the pending lower bounds, and returns the sample.
func (s *latencySample) sorted() latencySample {
	slices.Sort(s.pending)
	return *s
}

// sampleLatencies returns the latencies of the requests of group ("":
// every group) sent in w (newSample, add). cuts are the thresholds the
// sample's percentiles are compared with.
func sampleLatencies(events []history.Event, group string, w labfile.Window, end time.Duration, cuts ...time.Duration) latencySample {
	s := newSample(cuts...)
	for i := range events {
		e := &events[i]
		if e.Kind == history.KindRequest && (group == "" || e.Group == group) && inWindow(e, w, end) {
			s.add(e, end)
		}
	}
	return s.sorted()
}

// n is the number of requests in the sample, answered or unknown.
func (s latencySample) n() int { return s.done.N() + len(s.pending) }

// finished is the sample of the answered requests alone.
func (s latencySample) finished() latencySample {
	return latencySample{done: s.done, cuts: s.cuts, atMost: s.atMost, below: s.below}
}

// statBounds is a statistic over requests some of which are unknown: lo
// with each unknown latency at its lower bound, hi with each at +∞ (hi is
// unbounded when the unknown ones could make it anything).
type statBounds struct{ lo, hi time.Duration }

// decided reports whether the unknown requests cannot change the
// statistic.
func (b statBounds) decided() bool { return b.lo == b.hi }

// percentile returns the bounds of the p-th percentile (nearest rank,
// history.Latencies) of every request of the sample. The sample must not
// be empty. Each bound is then put on the side of each cut where the
// exact rank count puts it: a value within the histogram's precision of
// a cut reads as the cut itself (at or below) or just past it, so that a
// verdict against a cut never depends on rounding.
func (s latencySample) percentile(p float64) statBounds {
	all := s.done
	if len(s.pending) > 0 {
		all = history.Latencies{}
		all.Merge(&s.done)
		for _, l := range s.pending {
			all.Record(l)
		}
	}
	rank := history.Rank(p, s.n())
	lo := s.narrow(all.Percentile(p), rank, true)
	// With the unknown ones at +∞ the sorted list is done, then +∞ × k.
	hi := unbounded
	if rank <= s.done.N() {
		hi = s.narrow(s.done.AtRank(rank), rank, false)
	}
	return statBounds{lo, hi}
}

// narrow puts v, the histogram's value of rank, on the side of each cut
// where the exact counts put the true value (withPending: the pending
// requests at their lower bounds count too).
func (s latencySample) narrow(v time.Duration, rank int, withPending bool) time.Duration {
	for k, c := range s.cuts {
		atMost, below := s.atMost[k], s.below[k]
		if withPending {
			atMost += countBelow(s.pending, time.Duration(c)+1)
			below += countBelow(s.pending, time.Duration(c))
		}
		if atMost >= rank {
			v = min(v, time.Duration(c)) // the true value is ≤ c
		} else {
			v = max(v, time.Duration(c)+1)
		}
		if below >= rank {
			v = min(v, time.Duration(c)-1) // the true value is < c
		} else {
			v = max(v, time.Duration(c))
		}
	}
	return v
}

// countBelow returns how many of sorted are below x.
func countBelow(sorted []time.Duration, x time.Duration) int {
	n, _ := slices.BinarySearch(sorted, x)
	return n
}

// mean returns the bounds of the mean latency of every request of the
// sample. The sample must not be empty.
func (s latencySample) mean() statBounds {
	sum := s.done.Sum()
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
	lo := s.done.Max()
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
	if s.done.N() > 0 {
		m[base+"_finished_ms"] = ms(stat(s.finished()).lo)
	}
	if b.decided() {
		return
	}
	m[base+"_lower_bound_ms"] = ms(b.lo)
	if b.hi != unbounded {
		m[base+"_upper_bound_ms"] = ms(b.hi)
	}
}
