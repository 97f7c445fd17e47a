package server

import (
	"sort"
	"sync"
	"time"
)

// durBuckets are the upper bounds (seconds) of the request duration
// histogram.
var durBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// reqKey labels a request counter.
type reqKey struct {
	listener, backend string
	status            int
	class             string
}

// stats are request counters, kept under their own lock and read at
// scrape time: a request costs a map look-up (no allocation once its
// labels were seen) and a few additions.
type stats struct {
	mu     sync.Mutex
	reqs   map[reqKey]*uint64
	counts [16]uint64 // by durBuckets, then +Inf
	sum    float64
	n      uint64
}

func newStats() *stats { return &stats{reqs: map[reqKey]*uint64{}} }

// count adds one request.
func (st *stats) count(listener, backend string, status int, class string, d time.Duration) {
	sec := d.Seconds()
	b := len(durBuckets)
	for i, ub := range durBuckets {
		if sec <= ub {
			b = i
			break
		}
	}
	k := reqKey{listener: listener, backend: backend, status: status, class: class}
	st.mu.Lock()
	p := st.reqs[k]
	if p == nil {
		p = new(uint64)
		st.reqs[k] = p
	}
	*p++
	st.counts[b]++
	st.sum += sec
	st.n++
	st.mu.Unlock()
}

// reqCount is one counter of a snapshot.
type reqCount struct {
	reqKey
	n uint64
}

// snapshot copies the counters, sorted by labels.
func (st *stats) snapshot() (reqs []reqCount, buckets []uint64, sum float64, n uint64) {
	st.mu.Lock()
	for k, p := range st.reqs {
		reqs = append(reqs, reqCount{k, *p})
	}
	buckets = append([]uint64(nil), st.counts[:len(durBuckets)+1]...)
	sum, n = st.sum, st.n
	st.mu.Unlock()
	sort.Slice(reqs, func(i, j int) bool {
		a, b := reqs[i], reqs[j]
		if a.listener != b.listener {
			return a.listener < b.listener
		}
		if a.backend != b.backend {
			return a.backend < b.backend
		}
		if a.status != b.status {
			return a.status < b.status
		}
		return a.class < b.class
	})
	return
}

// failed says whether a request counts as a failure of its backend.
func (k reqKey) failed() bool { return k.class != "" || k.status >= 500 }
