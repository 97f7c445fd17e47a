package scenarios

import (
	"slices"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios/labfile"
)

// checker reads a run's history one event at a time (it is a
// history.Sink), so that checking a run does not hold its history: the
// request events, which grow with the load, are reduced as they come to
// what the checks and metrics read (counters, the one percentile
// function, the first picks); the other events (faults, VRRP, VIP, health,
// probes), which grow with what happens to the topology, are kept as they
// are for the checks that follow a chain of them. Events must come in the
// history's order (by time).
type checker struct {
	lab *labfile.Lab
	// end closes every window that does not say where it ends: the run's
	// end, known before it starts (the lab's duration, or the virtual
	// time an interrupted run reached).
	end time.Duration
	// others are the events other than requests, in order.
	others []history.Event
	// reqs are the request counts of each expectation that reads
	// requests, by its index in lab.Expect (nil for the others).
	reqs []*reqTally
	lb   *lbTally // nil without a load balancer
	// tcp are the tcp listeners: their request events are tcp exchanges.
	tcp map[string]bool
	ha  *haTally // nil but in a high-availability lab
}

// reqTally is what one expectation reads of the requests of its window
// (and group): how many were sent there, and per check kind, how many
// had its outcome (status_count), what answered them (share) or their
// latencies (latency).
type reqTally struct {
	sent int
	// status_count: the requests with the outcome counted.
	matched int
	// share: requests a server answered, those the checked server did,
	// and those still in flight at the end.
	served, mine, pending int
	// latency: the sample of the check's percentile.
	sample *latencySample
}

// lbTally is what the load balancer's metrics read of every request.
type lbTally struct {
	total, ok, failed, inFlight, moved int
	statuses                           map[int]int
	errs                               map[string]int
	shares                             map[string]map[string]int
	all                                *latencySample
	// picks are, per group, the first firstPickCount served requests by
	// send time (the history's order among equal times).
	picks map[string][]pick
}

// firstPickCount is how many picks per group first_picks shows.
const firstPickCount = 14

// pick is a served request: when it was sent and who answered it.
type pick struct {
	start   history.Stamp
	backend string
}

// newChecker returns a checker of lab's expectations over a run that
// ends at end.
func newChecker(lab *labfile.Lab, end time.Duration) *checker {
	c := &checker{lab: lab, end: end, reqs: make([]*reqTally, len(lab.Expect)), tcp: labfile.TCPListeners(lab)}
	for i, e := range lab.Expect {
		switch {
		case e.StatusCount != nil, e.Share != nil:
			c.reqs[i] = &reqTally{}
		case e.Latency != nil:
			var cuts []time.Duration
			if e.Latency.Min.IsSet() {
				cuts = append(cuts, e.Latency.Min.D)
			}
			if e.Latency.Max.IsSet() {
				cuts = append(cuts, e.Latency.Max.D)
			}
			c.reqs[i] = &reqTally{sample: newSample(cuts...)}
		}
	}
	if lab.HA() {
		c.ha = newHATally()
	}
	if lab.LB != nil {
		c.lb = &lbTally{statuses: map[int]int{}, errs: map[string]int{}, shares: map[string]map[string]int{},
			all: newSample(), picks: map[string][]pick{}}
	}
	return c
}

// Add takes the next event of the history.
func (c *checker) Add(ev history.Event) {
	if ev.Kind != history.KindRequest {
		c.others = append(c.others, ev)
		return
	}
	e := &ev
	for i, x := range c.lab.Expect {
		t := c.reqs[i]
		if t == nil {
			continue
		}
		switch {
		case x.StatusCount != nil:
			s := x.StatusCount
			if (s.Group == "" || e.Group == s.Group) && inWindow(e, s.Window, c.end) {
				t.sent++
				if statusMatches(s, e, c.tcp[e.Listener]) {
					t.matched++
				}
			}
		case x.Share != nil:
			s := x.Share
			if e.Group == s.Group && inWindow(e, s.Window, c.end) {
				t.sent++
				switch {
				case unknown(e):
					t.pending++
				case served(e):
					t.served++
					if e.Backend == s.Server {
						t.mine++
					}
				}
			}
		case x.Latency != nil:
			s := x.Latency
			if (s.Group == "" || e.Group == s.Group) && inWindow(e, s.Window, c.end) {
				t.sent++
				t.sample.add(e, c.end)
			}
		}
	}
	if c.lb != nil {
		c.lb.add(e, c.end)
	}
	if c.ha != nil {
		c.ha.add(e)
	}
}

// add counts one request event for the load balancer's metrics.
func (l *lbTally) add(e *history.Event, end time.Duration) {
	l.total++
	switch {
	case unknown(e):
		l.inFlight++
	case e.Status >= 200 && e.Status < 400, e.Status == 0 && e.Error == "": // an HTTP answer, a tcp echo
		l.ok++
	default:
		l.failed++
	}
	if e.Status != 0 {
		l.statuses[e.Status]++
	}
	if e.Error != "" {
		l.errs[e.Error]++
	}
	if served(e) {
		if l.shares[e.Group] == nil {
			l.shares[e.Group] = map[string]int{}
		}
		l.shares[e.Group][e.Backend]++
		// Among equal send times the earlier event comes first.
		p := l.picks[e.Group]
		at, _ := slices.BinarySearchFunc(p, e.Start, func(q pick, s history.Stamp) int {
			if q.start <= s {
				return -1
			}
			return 1
		})
		if at < firstPickCount {
			p = slices.Insert(p, at, pick{e.Start, e.Backend})
			l.picks[e.Group] = p[:min(len(p), firstPickCount)]
		}
	}
	if strings.HasPrefix(e.Reason, "session moved") {
		l.moved++
	}
	l.all.add(e, end)
}

// firstPicks returns, per group, the servers of its first answered
// requests in the order they were sent: the algorithm's order, visible.
func (l *lbTally) firstPicks() map[string][]string {
	out := map[string][]string{}
	for g, p := range l.picks {
		for _, q := range p {
			out[g] = append(out[g], q.backend)
		}
	}
	return out
}
