package history

import (
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The latency histogram's range and precision: 1 µs to 1 h, 3 significant
// digits (a value is known to 0.1 %; below 2.048 ms to the microsecond).
// Longer latencies count as 1 h in the histogram (the exact maximum and
// mean are kept beside it).
const (
	latencyHighest = int64(time.Hour / time.Microsecond)
	latencyDigits  = 3
)

// Latencies is the one percentile function of lblab: the checks, the
// metrics of results.json, the report's tables and plots and the load
// generator's summary all read percentiles from it, so one run says one
// p99 everywhere. It holds an HDR histogram (memory bounded, whatever the
// number of requests: about 190 KB) with the exact count, maximum and sum
// beside it.
//
// A percentile is by nearest rank: the p-th percentile of n latencies is
// the one of rank ⌈p/100 × n⌉ (at least 1) in increasing order, read from
// the histogram: the largest microsecond equivalent to it at the
// histogram's precision, never above the exact maximum.
//
// The zero value is empty and ready to use.
type Latencies struct {
	h   *hdr.Histogram
	n   int64
	max time.Duration
	sum time.Duration
}

// Record adds one latency (a negative one counts as 0).
func (l *Latencies) Record(d time.Duration) {
	d = max(d, 0)
	if l.h == nil {
		l.h = hdr.New(1, latencyHighest, latencyDigits)
	}
	us := min((d+time.Microsecond/2)/time.Microsecond, time.Duration(latencyHighest))
	_ = l.h.RecordValue(int64(us)) // in range by construction
	l.n++
	l.max = max(l.max, d)
	l.sum += d
}

// Merge adds every latency of o.
func (l *Latencies) Merge(o *Latencies) {
	if o.n == 0 {
		return
	}
	if l.h == nil {
		l.h = hdr.New(1, latencyHighest, latencyDigits)
	}
	l.h.Merge(o.h)
	l.n += o.n
	l.max = max(l.max, o.max)
	l.sum += o.sum
}

// N returns how many latencies were recorded.
func (l *Latencies) N() int { return int(l.n) }

// Max returns the largest latency recorded, exactly (0 when empty).
func (l *Latencies) Max() time.Duration { return l.max }

// Mean returns the mean latency, exactly but for the division (0 when
// empty).
func (l *Latencies) Mean() time.Duration {
	if l.n == 0 {
		return 0
	}
	return l.sum / time.Duration(l.n)
}

// Sum returns the sum of the latencies recorded, exactly.
func (l *Latencies) Sum() time.Duration { return l.sum }

// Rank returns the nearest rank of the p-th percentile (0..100) of n
// values: ⌈p/100 × n⌉, at least 1 and at most n.
func Rank(p float64, n int) int {
	return min(max(int(math.Ceil(p/100*float64(n)-1e-9)), 1), n)
}

// Percentile returns the p-th percentile (0..100) by nearest rank (0 when
// empty).
func (l *Latencies) Percentile(p float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	return l.AtRank(Rank(p, int(l.n)))
}

// AtRank returns the latency of rank r (1..N) in increasing order, at the
// histogram's precision, never above the exact maximum.
func (l *Latencies) AtRank(r int) time.Duration {
	if l.n == 0 {
		return 0
	}
	r = min(max(r, 1), int(l.n))
	// HDR's rank of percentile q is ⌊q/100 × n + 0.5⌋: r itself here.
	us := l.h.ValueAtPercentile(100 * float64(r) / float64(l.n))
	return min(time.Duration(us)*time.Microsecond, l.max)
}
