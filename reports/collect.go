package reports

import (
	"math"
	"slices"
	"time"

	"github.com/lblab/lblab/history"
)

// Collector gathers what a report draws of a run's history one event at a
// time (it is a history.Sink), so that drawing a report does not hold the
// history: the request events, which grow with the load, are reduced as
// they come to counters per time bucket, one latency histogram per group
// and per bucket (history.Latencies), and the points of the latency plot
// (successes thinned as they fill, okKept; every failure; every request
// in flight at the end). The other events
// (faults, VRRP, VIP, health, probes), which grow with what happens to
// the topology, are kept as they are. The operations of client hosts
// (requests that name their host in Src, probes) are also counted by
// time bin for the availability lanes, and their outages measured
// (Outages). Events come in the history's order.
//
// The time buckets are cut for the end the collector is made for; a
// report drawn from it must end there too (Fits), else the history is
// collected again for the end it has (Folder.StreamReport does).
type Collector struct {
	others []history.Event
	lastT  history.Stamp // the latest time of any event
	reqs   requests
	// avail counts the client hosts' operations (requests that name
	// their host, probes) by time bin, and measures their outages.
	avail *availBins
}

// NewCollector returns a collector whose time buckets are cut for a run
// that ends at end seconds (report.json's duration; 0 or less counts as
// 1 s).
func NewCollector(end float64) *Collector {
	c := &Collector{}
	if end <= 0 || math.IsNaN(end) {
		end = 1
	}
	c.reqs.bucket = bucketWidth(end)
	c.reqs.nb = bucketCount(end, c.reqs.bucket)
	c.reqs.offered = make([]int, c.reqs.nb)
	c.reqs.achieved = make([]int, c.reqs.nb)
	c.reqs.failed = make([]int, c.reqs.nb)
	c.reqs.groups = map[string]*groupReqs{}
	c.reqs.listener = map[string]string{}
	c.reqs.latLo = math.Inf(1)
	c.avail = newAvailBins(c.reqs.bucket * float64(c.reqs.nb))
	return c
}

// bucketCount is how many buckets of width bucket cover [0, end].
func bucketCount(end, bucket float64) int { return max(1, int(math.Ceil(end/bucket-1e-9))) }

// collect returns a collector of events for a report of duration: its
// buckets cut for the end the report will have.
func collect(events []history.Event, duration float64) *Collector {
	end := duration
	for i := range events {
		e := &events[i]
		if e.Kind == history.KindRequest {
			end = math.Max(end, reqOf(e).start)
		} else {
			end = math.Max(end, e.T.Seconds())
		}
	}
	c := NewCollector(end)
	for i := range events {
		c.Add(events[i])
	}
	return c
}

// Add takes the next event of the history.
func (c *Collector) Add(ev history.Event) {
	c.lastT = max(c.lastT, ev.T)
	if op, ok := clientOpOf(&ev); ok {
		c.avail.add(op)
	}
	if ev.Kind != history.KindRequest {
		c.others = append(c.others, ev)
		return
	}
	c.reqs.add(reqOf(&ev))
}

// Outages returns the outages of the client hosts of the events added
// (OutageMeter.Outages); end is the run's end.
func (c *Collector) Outages(end time.Duration) []Outage { return c.avail.meter.Outages(end) }

// Events returns the events other than requests, in order.
func (c *Collector) Events() []history.Event { return c.others }

// Last returns the time of the latest event (0 without events).
func (c *Collector) Last() history.Stamp { return c.lastT }

// End returns the end of the load-balancer plots' time axis in seconds
// for a report of duration: the latest of duration, of each event other
// than a request and of each request's send time (1 when that is not
// above 0).
func (c *Collector) End(duration float64) float64 {
	end := math.Max(duration, c.reqs.maxStart)
	for i := range c.others {
		end = math.Max(end, c.others[i].T.Seconds())
	}
	if end <= 0 || math.IsNaN(end) {
		end = 1
	}
	return end
}

// Fits reports whether the collector's time buckets are those of a
// report of duration (End).
func (c *Collector) Fits(duration float64) bool {
	end := c.End(duration)
	b := bucketWidth(end)
	return b == c.reqs.bucket && bucketCount(end, b) == c.reqs.nb
}

// reqOf reduces a request event to what the plots need.
func reqOf(e *history.Event) lbReq {
	q := lbReq{
		start: e.Start.Seconds(), lat: e.Latency.Seconds(),
		group: e.Group, listener: e.Listener, backend: e.Backend, status: e.Status, err: e.Error,
	}
	if e.Start == 0 && e.T > e.Latency {
		q.start = (e.T - e.Latency).Seconds()
	}
	q.start = math.Max(q.start, 0)
	q.lat = math.Max(q.lat, 0)
	return q
}

// requests is what the plots draw of a run's requests.
type requests struct {
	bucket float64 // width of a time bucket, s
	nb     int     // number of buckets
	n      int     // requests, in flight at the end or not
	// maxStart is the latest send time, s.
	maxStart float64
	// latLo and latHi are the smallest latency above 0 and the largest
	// of every request, in ms.
	latLo, latHi float64
	groups       map[string]*groupReqs
	// listener is the one group of each listener's requests ("\x00" for
	// several), for the requests in flight at the end without a group.
	listener map[string]string
	// pending are the requests in flight at the end, in order, counted
	// in their group by finish.
	pending []lbReq
	// offered counts requests by the bucket of their send time; achieved
	// and failed the successes and failures by that of their end.
	offered, achieved, failed []int
	finished                  bool
}

// groupReqs is what the plots draw of one group's requests.
type groupReqs struct {
	// ok are the successes drawn, every stride-th (okN so far).
	ok       []reqPoint
	okN      int
	stride   int
	failedAt []reqPoint // every failure
	unknown  []reqPoint // every request in flight at the end
	// perBucket are the latencies of the answered requests by bucket of
	// send time (nil until one is).
	perBucket []*history.Latencies
	// hist holds every answered request; pending the latencies until the
	// end of those in flight; present says the group has either.
	hist    history.Latencies
	pending []float64
	present bool
	// outcomes count the requests of each outcome by bucket of send
	// time, and counts the group's requests by ok, failed, unknown.
	outcomes map[outcomeKey][]int
	counts   outcomeCounts
	// servers count the requests each server answered itself, by bucket
	// of send time, and answered all of them.
	servers  map[string][]int
	answered int
	// backends are the servers that took part in a request.
	backends map[string]bool
}

// reqPoint is a request on the latency plot: its send time and latency,
// in seconds.
type reqPoint struct{ start, lat float64 }

// outcomeKey is what a request's outcome on the status plot depends on.
type outcomeKey struct {
	unknown bool
	status  int
	err     string
}

// outcomeCounts are a group's requests by outcome.
type outcomeCounts struct{ n, ok, failed, unknown int }

// bucketOf returns the time bucket of a send time.
func (r *requests) bucketOf(t float64) int {
	return max(0, min(r.nb-1, int(t/r.bucket)))
}

func (r *requests) group(name string) *groupReqs {
	g := r.groups[name]
	if g == nil {
		g = &groupReqs{stride: 1, outcomes: map[outcomeKey][]int{}, servers: map[string][]int{},
			backends: map[string]bool{}}
		r.groups[name] = g
	}
	return g
}

// add counts one request; one still in flight at the end waits for
// finish, which knows its group.
func (r *requests) add(q lbReq) {
	r.n++
	r.maxStart = math.Max(r.maxStart, q.start)
	if ms := q.lat * 1e3; ms > 0 {
		r.latLo = math.Min(r.latLo, ms)
		r.latHi = math.Max(r.latHi, ms)
	}
	if q.group != "" {
		if g, ok := r.listener[q.listener]; ok && g != q.group {
			r.listener[q.listener] = "\x00" // several groups: leave it out
		} else if !ok {
			r.listener[q.listener] = q.group
		}
	}
	r.offered[r.bucketOf(q.start)]++
	if q.unknown() {
		r.pending = append(r.pending, q)
		return
	}
	b := r.bucketOf(q.start + q.lat)
	if q.ok() {
		r.achieved[b]++
	} else {
		r.failed[b]++
	}
	r.count(q)
}

// count puts a request in its group.
func (r *requests) count(q lbReq) {
	g := r.group(q.group)
	b := r.bucketOf(q.start)
	pt := reqPoint{q.start, q.lat}
	switch {
	case q.unknown():
		g.unknown = append(g.unknown, pt)
	case q.failed():
		g.failedAt = append(g.failedAt, pt)
	default:
		if g.okN%g.stride == 0 {
			g.ok = append(g.ok, pt)
			if len(g.ok) > okKept {
				g.thin()
			}
		}
		g.okN++
	}
	if q.status != 0 || q.echoed() {
		if g.perBucket == nil {
			g.perBucket = make([]*history.Latencies, r.nb)
		}
		if g.perBucket[b] == nil {
			g.perBucket[b] = &history.Latencies{}
		}
		g.perBucket[b].Record(durationOf(q.lat))
	}
	switch {
	case q.unknown():
		g.pending = append(g.pending, q.lat)
		g.present = true
	case q.status != 0 || q.echoed():
		g.hist.Record(durationOf(q.lat))
		g.present = true
	}
	k := outcomeKey{unknown: q.unknown(), status: q.status, err: q.err}
	if k.unknown {
		k.status, k.err = 0, ""
	} else if k.status != 0 {
		// Answers by class (classify), each 5xx code apart.
		k.err = ""
		switch {
		case k.status < 200:
			k.status = 100
		case k.status < 500:
			k.status = k.status / 100 * 100
		}
	}
	o := g.outcomes[k]
	if o == nil {
		o = make([]int, r.nb)
		g.outcomes[k] = o
	}
	o[b]++
	g.counts.n++
	switch {
	case q.unknown():
		g.counts.unknown++
	case q.ok():
		g.counts.ok++
	default:
		g.counts.failed++
	}
	if q.backend != "" {
		g.backends[q.backend] = true
		if q.err == "" { // an answer, or a tcp exchange echoed
			s := g.servers[q.backend]
			if s == nil {
				s = make([]int, r.nb)
				g.servers[q.backend] = s
			}
			s[b]++
			g.answered++
		}
	}
}

// okKept bounds the successes a collector keeps per group for the
// latency plot: above it, it keeps every other one. It is so far above
// maxLatencyDots that the plot's k-th one is almost always among them.
const okKept = 16 * maxLatencyDots

// thin doubles the stride of the successes drawn: it keeps every other
// one of those kept so far.
func (g *groupReqs) thin() {
	g.stride *= 2
	kept := g.ok[:0]
	for i := 0; i < len(g.ok); i += 2 {
		kept = append(kept, g.ok[i])
	}
	g.ok = kept
}

// finish counts the requests in flight at the end: each without a group
// goes to the one group of its listener's other requests, when they have
// one.
func (r *requests) finish() {
	if r.finished {
		return
	}
	r.finished = true
	for _, q := range r.pending {
		if g := r.listener[q.listener]; q.group == "" && g != "\x00" {
			q.group = g
		}
		r.count(q)
	}
	r.pending = nil
}

// groupNames returns the groups of the requests, in natural order.
func (r *requests) groupNames() []string {
	names := make([]string, 0, len(r.groups))
	for g := range r.groups {
		names = append(names, g)
	}
	slices.SortFunc(names, naturalCompare)
	return names
}

// okDrawn returns the successes of g drawn on a panel that shows at most
// most of them (none when most is 0: all): every k-th, k = ⌈successes ÷
// most⌉ when the collector kept every success (up to okKept of them),
// else the first multiple of the stride it kept them at from there.
func (g *groupReqs) okDrawn(most int) []reqPoint {
	if most <= 0 || g.okN <= most {
		return g.ok
	}
	k := (g.okN + most - 1) / most
	k = (k + g.stride - 1) / g.stride // in kept points
	var out []reqPoint
	for i := 0; i < len(g.ok); i += k {
		out = append(out, g.ok[i])
	}
	return out
}
