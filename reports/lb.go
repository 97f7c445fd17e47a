package reports

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lblab/lblab/history"
)

// Plot file names of a load-balancer run (without extension), in the
// order the report shows them.
const (
	latencyName     = "latency"
	percentilesName = "percentiles"
	sharesName      = "shares"
	sharesTimeName  = "shares_over_time"
	statusesName    = "statuses"
	healthName      = "health"
)

// maxLatencyDots bounds the successful requests drawn on the latency
// plot; failed requests are all drawn on top of them.
const maxLatencyDots = 4000

// inFlightError is the error class of a request still in flight when the
// run ended (history.Event.Error): its outcome is unknown, as a Jepsen
// "info" operation's.
const inFlightError = "in_flight"

// classReset is the error class of a connection reset or closed under a
// request or probe (history.Event.Error, and a request's Resent).
const classReset = "reset"

// lbReq is one request event, reduced to what the plots need.
type lbReq struct {
	start    float64 // intended send time, s
	lat      float64 // latency from start, s (for an unknown one: until the end)
	group    string
	listener string
	backend  string
	status   int
	err      string
}

// unknown is true for a request still in flight at the end of the run:
// it neither succeeded nor failed.
func (q *lbReq) unknown() bool { return q.err == inFlightError }

// failed is true for a request the user saw fail: a 5xx answer or a
// client-side error (not a request still in flight at the end).
func (q *lbReq) failed() bool { return !q.unknown() && (q.status >= 500 || q.err != "") }

// echoed is true for a tcp listener's exchange whose line came back: it
// has no status and no error.
func (q *lbReq) echoed() bool { return q.status == 0 && q.err == "" }

// ok is true for a request that succeeded: an answer 200 to 399, or a tcp
// exchange echoed.
func (q *lbReq) ok() bool { return q.err == "" && (q.status >= 200 && q.status < 400 || q.status == 0) }

// lbData is what every load-balancer plot shares: the requests, the time
// axis and its buckets, the faults.
type lbData struct {
	lab    string
	l      lang // of the plots' fixed words
	reqs   *requests
	health []history.Event
	shares []Share
	end    float64 // end of the time axis, s
	bucket float64 // width of a time bucket, s
	nb     int     // number of buckets
	faults []tlFault
	shades []tlSpan
	groups []string // groups of the requests, in natural order
}

// group returns what the plots draw of group g's requests (allGroups:
// the one group of a run whose requests are drawn together).
func (d *lbData) group(g string) *groupReqs {
	if g == allGroups {
		g = d.groups[0]
	}
	return d.reqs.groups[g]
}

// lbStartsSpan reports whether a fault of this kind starts a span that
// lasts until the target is restored (or fixed, healed, ...).
func lbStartsSpan(kind string) bool {
	if _, ok := faultEnds[kind]; ok {
		return true
	}
	switch kind {
	case "crash", "hang", "slow", "stop", "pause", "kill", "power_off":
		return true
	}
	return strings.HasPrefix(kind, "break") || strings.HasPrefix(kind, "fail") ||
		strings.HasSuffix(kind, "_fail") || strings.HasSuffix(kind, "_down") ||
		strings.HasSuffix(kind, "_break") || strings.HasSuffix(kind, "_off")
}

// lbEndsSpan reports whether a fault of this kind undoes every fault in
// effect on its target.
func lbEndsSpan(kind string) bool {
	for _, end := range faultEnds {
		if kind == end {
			return true
		}
	}
	switch kind {
	case "restore", "fix", "recover", "resume", "unpause", "heal", "start", "power_on":
		return true
	}
	return strings.HasPrefix(kind, "fix") || strings.HasPrefix(kind, "restore") ||
		strings.HasSuffix(kind, "_ok") || strings.HasSuffix(kind, "_up") ||
		strings.HasSuffix(kind, "_fix") || strings.HasSuffix(kind, "_on")
}

// collected returns the collector of r's history: r.Collected, or one
// made from r.History.
func (r Report) collected() *Collector {
	if r.Collected != nil {
		return r.Collected
	}
	return collect(r.History, r.Duration.Seconds())
}

// buildLB collects the load-balancer data of a report; ok is false when
// the history has neither request nor health events.
func buildLB(r Report) (*lbData, bool) {
	c := r.collected()
	d := &lbData{lab: r.Lab, l: langOf(r.Lang), shares: r.Shares, reqs: &c.reqs}
	for _, e := range r.History {
		if e.Kind == history.KindHealth {
			d.health = append(d.health, e)
		}
	}
	if c.reqs.n == 0 && len(d.health) == 0 {
		return nil, false
	}
	d.end = c.End(r.Duration.Seconds())
	d.bucket, d.nb = c.reqs.bucket, c.reqs.nb
	c.reqs.finish()
	d.groups = c.reqs.groupNames()
	d.faults, d.shades = lbFaults(r.History, d.end)
	return d, true
}

// bucketWidth returns the width of the time buckets of a run of end
// seconds: a hundredth of the run or 1 s, whichever is larger, rounded up
// to two significant digits (1.2 s, not 1.200358 s).
func bucketWidth(end float64) float64 {
	raw := math.Max(end/100, 1)
	e := math.Floor(math.Log10(raw)) - 1
	if e < 0 {
		return math.Ceil(raw*math.Pow(10, -e)-1e-9) / math.Pow(10, -e)
	}
	return math.Ceil(raw/math.Pow(10, e)-1e-9) * math.Pow(10, e)
}

// lbFaults returns the fault lines and the spans in which a fault is in
// effect: from a crash, hang, slow, power_off, health_fail (or any fault
// that breaks something) of a target until the next restore (or
// health_ok, fix, heal, ...) of that target, or to the end of the run.
// Other faults (health_path, a weight change) are lines only. A fault
// whose lab name is not the default "KIND TARGET" is labelled
// "NAME (kind target)".
func lbFaults(events []history.Event, end float64) ([]tlFault, []tlSpan) {
	var faults []tlFault
	var shades []tlSpan
	type open struct {
		target string
		from   float64
	}
	var opened []open
	for _, e := range events {
		if e.Kind != history.KindFault {
			continue
		}
		t := e.T.Seconds()
		faults = append(faults, tlFault{t: t, label: faultText(e)})
		switch {
		case lbEndsSpan(e.Fault):
			kept := opened[:0]
			for _, o := range opened {
				if o.target == e.Target {
					shades = append(shades, tlSpan{from: o.from, to: t})
				} else {
					kept = append(kept, o)
				}
			}
			opened = kept
		case lbStartsSpan(e.Fault):
			already := false
			for _, o := range opened {
				if o.target == e.Target {
					already = true
				}
			}
			if !already {
				opened = append(opened, open{target: e.Target, from: t})
			}
		}
	}
	for _, o := range opened {
		shades = append(shades, tlSpan{from: o.from, to: end})
	}
	slices.SortStableFunc(shades, func(a, b tlSpan) int { return cmp.Compare(a.from, b.from) })
	slices.SortStableFunc(faults, func(a, b tlFault) int { return cmp.Compare(a.t, b.t) })
	return faults, shades
}

// bucketOf returns the time bucket of a send time.
func (d *lbData) bucketOf(t float64) int {
	return max(0, min(d.nb-1, int(t/d.bucket)))
}

// bucketMid returns the middle of bucket i, clipped to the time axis.
func (d *lbData) bucketMid(i int) float64 {
	lo := float64(i) * d.bucket
	hi := math.Min(lo+d.bucket, d.end)
	return (lo + hi) / 2
}

// durationOf turns a latency in seconds back into the nanoseconds of the
// history (exact below 104 days).
func durationOf(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// summaryPercentiles are the percentiles Percentiles returns, with their
// keys.
var (
	summaryKeys        = []string{"p50", "p90", "p99", "p99.9"}
	summaryPercentiles = []float64{50, 90, 99, 99.9}
)

// Percentiles returns p50, p90, p99, p99.9 and max latency (as
// time.Duration) of answered requests (Status != 0) in events, per group
// ("" for all), by history.Latencies (nearest rank, HDR histogram of 3
// significant digits, never above the exact maximum, which "max" holds).
// The keys are "p50", "p90", "p99", "p99.9" and "max". The map is empty
// when there is no answered request.
func Percentiles(events []history.Event, group string) map[string]time.Duration {
	var l history.Latencies
	for i := range events {
		e := &events[i]
		if e.Kind != history.KindRequest || e.Status == 0 || (group != "" && e.Group != group) {
			continue
		}
		l.Record(e.Latency.Duration())
	}
	out := map[string]time.Duration{}
	if l.N() == 0 {
		return out
	}
	for i, p := range summaryPercentiles {
		out[summaryKeys[i]] = l.Percentile(p)
	}
	out["max"] = l.Max()
	return out
}

// lbPlot is a load-balancer figure with its caption and table.
type lbPlot struct {
	fig     figure
	caption string
	table   *tableView
}

// lbFigures builds the load-balancer figures of a report, in the order
// the report shows them.
func lbFigures(r Report) []lbPlot {
	d, ok := buildLB(r)
	if !ok {
		return nil
	}
	var out []lbPlot
	if f, ok := latencyFigure(d); ok {
		out = append(out, lbPlot{fig: f, caption: "Latency of each request, measured from when it was meant to be sent, " +
			"at that time (log scale), one panel per group. Successful requests are thinned to every k-th one when there are many; " +
			"every failed request (a 5xx answer or none) is drawn, in red, on top, and every request still in flight " +
			"when the run ended (outcome unknown; its latency is at least the one drawn) as an amber triangle. " +
			"The lines are the p50 and p99 of the answered requests sent in each time bucket. " +
			"Dashed red lines are faults; shaded spans last until the fault is undone."})
	}
	if f, ok := throughputFigure(d); ok {
		out = append(out, lbPlot{fig: f, caption: "Requests per second the clients meant to send (offered, by intended send time, " +
			"as wrk2 and vegeta set a rate) against the successful answers they got (achieved throughput, by the time each ended) " +
			"and the failures. Achieved below offered means requests failed, or are late: a closed loop offers less while it waits."})
	}
	if f, t, ok := percentilesFigure(d); ok {
		out = append(out, lbPlot{fig: f, table: t, caption: "Latency at each percentile of the answered requests " +
			"(HDR histogram, 3 significant digits), one line per group. The x axis stretches the tail: " +
			"each step of ten is one more nine (90 %, 99 %, 99.9 % …). The table counts the requests still in flight " +
			"at the end too: each took at least until the end and may never finish, so a statistic they could change " +
			"is given as the range they leave it (lo – hi), or as ≥ its lower bound."})
	}
	groups := shareGroups(d)
	if f, ok := sharesFigure(d, groups); ok {
		out = append(out, lbPlot{fig: f, caption: "Share of each group's answered requests that each server gave, " +
			"over the whole run, next to the share its weight promises."})
	}
	if f, ok := sharesTimeFigure(d, groups); ok {
		out = append(out, lbPlot{fig: f, caption: "Share of each group's answered requests per server over time, " +
			"by send time, stacked to 100 %: when a server fails, its traffic moves to the survivors. " +
			"Dotted lines mark where the bands would meet if each server got the share its weight promises; " +
			"the red strip above the bands marks faults in effect."})
	}
	if f, ok := statusesFigure(d); ok {
		out = append(out, lbPlot{fig: f, table: outcomeTable(d), caption: "Outcome of the requests sent in each time bucket, " +
			"one panel per group: answers by status class, each 5xx code apart, requests that got no answer by client-side error, " +
			"and requests still in flight when the run ended, whose outcome is unknown (neither ok nor failed). " +
			"Failures are stacked at the bottom, unknown ones on top. The table counts each group's requests as ok " +
			"(status 200 to 399), failed (any other status, or no answer) or unknown; the success ratio is ok ÷ (ok + failed), over the finished requests only (— when none finished)."})
	}
	if f, ok := healthFigure(d); ok {
		out = append(out, lbPlot{fig: f, caption: "Health of each server as the load balancer's checks see it. " +
			"Before a server's first health event its state is assumed (the state that event leaves, else up) and drawn pale."})
	}
	return out
}

// renderWorkers is how many figures are rendered at the same time.
// Figures are independent, so the files do not depend on it.
const renderWorkers = 2

// writeLBFigures renders the load-balancer figures of a report into dir,
// renderWorkers at a time, and returns them in order.
func writeLBFigures(dir string, r Report) ([]plotRef, error) {
	plots := lbFigures(r)
	refs := make([]plotRef, len(plots))
	errs := make([]error, len(plots))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(renderWorkers, len(plots)) {
		wg.Go(func() {
			for i := range next {
				p := plots[i]
				data, err := writeFigure(dir, p.fig)
				refs[i] = plotRef{Name: p.fig.name, PNG: data, Caption: p.caption, Table: p.table}
				errs[i] = err
			}
		})
	}
	for i := range plots {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return refs, nil
}
