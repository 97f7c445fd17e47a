package scenarios

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy/health"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
)

// inWindow reports whether a request event was sent inside w.
func inWindow(e *history.Event, w labfile.Window, end time.Duration) bool {
	s := e.Start.Duration()
	return s >= w.From.D && s < w.To.Or(end)
}

// answered reports whether the client got a status (from a server or from
// the load balancer itself), or, on a tcp listener, its line's echo (a
// tcp exchange has status 0 and no error class; every HTTP request the
// client got no status for has an error class).
func answered(e *history.Event) bool { return e.Status != 0 || e.Error == "" }

// served reports whether a server answered the request itself (a 502 the
// load balancer made after a refused connection does not count), or
// echoed a tcp exchange's line.
func served(e *history.Event) bool { return e.Backend != "" && e.Error == "" }

// statusMatches reports whether a request has the outcome a status_count
// counts. A tcp listener's exchange (tcp) has no status: class 2xx counts
// those echoed, 5xx those that failed (any error class but in_flight and
// cancelled, which are unknown: refused, reset, timeout, …), as a 5xx is
// an HTTP request the load balancer or its server failed.
func statusMatches(c *labfile.StatusCountCheck, e *history.Event, tcp bool) bool {
	switch {
	case c.Status != 0:
		return e.Status == c.Status
	case c.Class != "" && tcp && e.Status == 0:
		switch c.Class {
		case "2xx":
			return e.Error == ""
		case "5xx":
			return e.Error != "" && e.Error != inFlight && e.Error != classCancelled
		}
		return false
	case c.Class != "":
		return e.Status/100 == int(c.Class[0]-'0')
	default:
		return e.Error == c.Error
	}
}

// statusWhat names the outcome a status_count counts, as the check's
// line says it ("status 502", "status 5xx", an error); on a tcp
// listener's group (tcp) a class says what it counts of the exchanges.
func statusWhat(c *labfile.StatusCountCheck, tcp bool) i18n.Text {
	switch {
	case c.Status != 0:
		return i18n.T("status %d", c.Status)
	case c.Class != "" && tcp && c.Class == "5xx":
		return i18n.T("status %s (tcp exchanges: failed)", c.Class)
	case c.Class != "" && tcp:
		return i18n.T("status %s (tcp exchanges: echoed)", c.Class)
	case c.Class != "":
		return i18n.T("status %s", c.Class)
	}
	return i18n.T("error %s", c.Error)
}

func bounds(min int, max *int) i18n.Text {
	if max == nil {
		return i18n.T("at least %d", min)
	}
	if min == *max {
		return i18n.T("exactly %d", min)
	}
	return i18n.T("%d to %d", min, *max)
}

func windowText(w labfile.Window, end time.Duration) i18n.Text {
	return i18n.T("sent in [%s, %s)", labfile.Secs(w.From.D), labfile.Secs(w.To.Or(end)))
}

// noRequest is the failed expectation of a check whose window holds no
// request: a count, a share or a percentile of nothing proves nothing.
func noRequest(w labfile.Window, group string, end time.Duration, expected i18n.Text) reports.Expectation {
	if group != "" {
		return expectation(false, i18n.T("no request of group %s in [%s, %s)", group, labfile.Secs(w.From.D), labfile.Secs(w.To.Or(end))), expected)
	}
	return expectation(false, i18n.T("no request in [%s, %s)", labfile.Secs(w.From.D), labfile.Secs(w.To.Or(end))), expected)
}

func (v *verdict) statusCount(lab *labfile.Lab, c *labfile.StatusCountCheck, t *reqTally, end time.Duration) reports.Expectation {
	tcp := labfile.TCPGroup(lab, c.Group)
	n := t.matched
	if c.Metric != "" {
		v.metrics[c.Metric] = n
	}
	if t.sent == 0 {
		return noRequest(c.Window, c.Group, end, i18n.T("%s requests with %s", bounds(c.Min, c.Max), statusWhat(c, tcp)))
	}
	return expectation(n >= c.Min && (c.Max == nil || n <= *c.Max),
		i18n.T("%d requests with %s %s", n, statusWhat(c, tcp), windowText(c.Window, end)),
		bounds(c.Min, c.Max))
}

func (v *verdict) share(lab *labfile.Lab, c *labfile.ShareCheck, t *reqTally, end time.Duration) reports.Expectation {
	all, mine, pending, sent := t.served, t.mine, t.pending, t.sent
	want := labfile.ExpectedShare(lab.LB, c.Group, c.Server)
	why := i18n.T("by the weights")
	if c.Expected != nil {
		want, why = *c.Expected, i18n.T("as set")
	}
	if sent == 0 {
		return noRequest(c.Window, c.Group, end, i18n.T("%.4f", want))
	}
	got := math.NaN()
	if all > 0 {
		got = float64(mine) / float64(all)
	}
	return expectation(math.Abs(got-want) <= *c.Tolerance+1e-12,
		shareObserved(c, got, mine, all, pending, sent == pending, end),
		i18n.T("%.4f ± %g (%s)", want, *c.Tolerance, why))
}

// shareObserved says what a share check saw: the share of the requests
// of the window a server answered (NaN: none was), over the requests
// that finished; those still in flight at the end are counted apart.
func shareObserved(c *labfile.ShareCheck, got float64, mine, all, pending int, noneFinished bool, end time.Duration) i18n.Text {
	var out i18n.Text
	switch {
	case noneFinished:
		out = i18n.T("no finished request of group %s in [%s, %s)", c.Group, labfile.Secs(c.From.D), labfile.Secs(c.To.Or(end)))
	case all == 0:
		out = i18n.T("no request answered by a server %s", windowText(c.Window, end))
	default:
		out = i18n.T("%.4f (%d of %d) %s", got, mine, all, windowText(c.Window, end))
	}
	if pending > 0 {
		out = i18n.T("%s (%d in flight at the end, outcome unknown, not counted)", out, pending)
	}
	return out
}

func (v *verdict) latency(c *labfile.LatencyCheck, t *reqTally, end time.Duration) reports.Expectation {
	s := t.sample.sorted()
	if s.n() == 0 {
		want := i18n.T("p%g of the answered requests", c.Percentile)
		if t.sent == 0 {
			return noRequest(c.Window, c.Group, end, want)
		}
		return expectation(false, i18n.T("no answered request %s", windowText(c.Window, end)), want)
	}
	stat := func(s latencySample) statBounds { return s.percentile(c.Percentile) }
	if c.Metric != "" {
		boundedMetric(v.metrics, c.Metric, s, stat)
	}
	b := stat(s)
	// Passed when every value the unknown requests allow passes, failed
	// when none does, undecided (and so failed) otherwise.
	passes := func(d time.Duration) bool {
		return (!c.Min.IsSet() || d >= c.Min.D) && (!c.Max.IsSet() || d <= c.Max.D)
	}
	undecided := !passes(b.lo) || !passes(b.hi)
	if (c.Min.IsSet() && b.hi < c.Min.D) || (c.Max.IsSet() && b.lo > c.Max.D) {
		undecided = false
	}
	want := i18n.T("≥ %s and ≤ %s", c.Min.D.String(), c.Max.D.String())
	switch {
	case !c.Max.IsSet():
		want = i18n.T("≥ %s", c.Min.D.String())
	case !c.Min.IsSet():
		want = i18n.T("≤ %s", c.Max.D.String())
	}
	return expectation(passes(b.lo) && passes(b.hi), latencyObserved(c, s, b, undecided), want)
}

// latencyObserved says what a latency check saw: the percentile, or its
// bounds when requests still in flight at the end leave it open; for an
// undecided check, how the unknown requests could change its verdict.
func latencyObserved(c *labfile.LatencyCheck, s latencySample, b statBounds, undecided bool) i18n.Text {
	r := func(d time.Duration) string { return d.Round(time.Microsecond).String() }
	if len(s.pending) == 0 {
		return i18n.T("p%g %s over %d requests", c.Percentile, r(b.lo), s.done.N())
	}
	value := i18n.T("p%g ≥ %s", c.Percentile, r(b.lo))
	switch {
	case b.decided():
		value = i18n.T("p%g %s", c.Percentile, r(b.lo))
	case b.hi != unbounded:
		value = i18n.T("p%g in [%s, %s]", c.Percentile, r(b.lo), r(b.hi))
	}
	out := i18n.T("%s over %d requests (%d answered, %d in flight at the end, outcome unknown)",
		value, s.n(), s.done.N(), len(s.pending))
	switch {
	case !undecided:
	case c.Max.IsSet() && b.hi > c.Max.D:
		out = i18n.T("%s; %d requests in flight at the end could put it above %s", out, len(s.pending), c.Max.D.String())
	default:
		out = i18n.T("%s; %d requests in flight at the end could put it at or above %s", out, len(s.pending), c.Min.D.String())
	}
	return out
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (v *verdict) healthDelay(lab *labfile.Lab, c *labfile.HealthDelayCheck, events []history.Event) reports.Expectation {
	fault := faultEvent(events, c.Fault)
	if fault == nil {
		return expectation(false, i18n.T("the fault never happened"), i18n.T("fault %s", c.Fault))
	}
	w, err := expectWindow(lab, c.Fault, c.Min, c.Max, func(f labfile.Fault) (labfile.TheoryWindow, error) { return lab.HealthTheory(c, f) })
	if err != nil {
		return expectation(false, i18n.T("%v", err), i18n.T("a theoretical window"))
	}
	w = v.widen(w)
	expected, mark, never := i18n.T("%s down within %s (%s)", c.Server, w.String(), w.Why), "markHealthDown", i18n.T("%s never went down", c.Server)
	if c.To == "up" {
		expected, mark, never = i18n.T("%s up within %s (%s)", c.Server, w.String(), w.Why), "markHealthUp", i18n.T("%s never went up", c.Server)
	}
	for i := range events {
		e := &events[i]
		if e.Kind == history.KindHealth && e.T >= fault.T && e.Group == c.Group && e.Server == c.Server && e.To == c.To &&
			(c.Node == "" || e.Src == c.Node) &&
			!strings.HasPrefix(e.Reason, health.PassivePrefix) {
			d := (e.T - fault.T).Duration()
			v.metrics[c.Metric] = d.Seconds()
			v.marks = append(v.marks, reports.Mark{From: fault.T.Duration(), To: e.T.Duration(),
				Key: mark, Args: []any{c.Server, labfile.Secs(d)}})
			return expectation(d >= w.Lo && d <= w.Hi, i18n.T("%s", labfile.Secs(d)), expected)
		}
	}
	return expectation(false, never, expected)
}

// lbMetrics adds the load balancer's metrics and the accounting check:
// every request the clients sent is in the history, answered, failed or
// still in flight at the end.
func (v *verdict) lbMetrics(l *lbTally, sent int) {
	total, ok, failed, inFlight := l.total, l.ok, l.failed, l.inFlight
	m := v.metrics
	m["requests_sent"], m["requests_ok"], m["requests_failed"] = sent, ok, failed
	// Jepsen's third outcome: in flight at the end, neither ok nor failed
	// (and so no errors_ class of its own).
	m["requests_unknown"] = inFlight
	// The share of the finished requests that succeeded: the unknown ones
	// are in neither term (requests_unknown counts them), and with no
	// finished request there is no ratio (null), not 0.
	m["success_ratio"] = nil
	if ok+failed > 0 {
		m["success_ratio"] = math.Round(float64(ok)/float64(ok+failed)*1e6) / 1e6
	}
	for _, code := range []int{500, 502, 503, 504} {
		m[fmt.Sprintf("errors_%d", code)] = l.statuses[code]
	}
	for class, n := range l.errs {
		if class != "in_flight" {
			m["errors_"+class] = n
		}
	}
	if s := l.all.sorted(); s.n() > 0 {
		boundedMetric(m, "p50_ms", s, func(s latencySample) statBounds { return s.percentile(50) })
		boundedMetric(m, "p99_ms", s, func(s latencySample) statBounds { return s.percentile(99) })
		boundedMetric(m, "max_ms", s, latencySample.max)
		boundedMetric(m, "mean_ms", s, latencySample.mean)
	}
	byBackend := map[string]any{}
	groups := make([]string, 0, len(l.shares))
	for g := range l.shares {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		n := 0
		for _, c := range l.shares[g] {
			n += c
		}
		for s, c := range l.shares[g] {
			key := s
			if len(groups) > 1 {
				key = g + "/" + s
			}
			byBackend[key] = math.Round(float64(c)/float64(n)*1e4) / 1e4
		}
	}
	m["share_by_backend"] = byBackend
	m["first_picks"] = l.firstPicks()
	if l.moved > 0 {
		m["sessions_moved"] = l.moved
	}
	x := expectation(total == sent,
		i18n.T("%d sent; %d in the history: %d ok, %d failed, %d unknown (in flight at the end)", sent, total, ok, failed, inFlight),
		i18n.T("%d in the history", sent))
	x.Name = "every request sent is accounted for"
	v.expectations = append(v.expectations, x)
	v.passed = v.passed && x.Passed
}

// lbShares returns the expected shares for the report.
func lbShares(lab *labfile.Lab) []reports.Share {
	if lab.LB == nil {
		return nil
	}
	var out []reports.Share
	for _, g := range lab.LB.Groups {
		for _, s := range g.Servers {
			out = append(out, reports.Share{Group: g.Name, Server: s.Address, Expected: labfile.ExpectedShare(lab.LB, g.Name, s.Address)})
		}
	}
	return out
}
