package scenarios

import (
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/units"
)

// verdict is the outcome of checking a run's history against its lab.
type verdict struct {
	// early and late widen theoretical windows on real hosts.
	early, late  time.Duration
	expectations []reports.Expectation
	metrics      map[string]any
	marks        []reports.Mark
	passed       bool
}

// check evaluates every expectation of lab on a run's history, and
// computes the run's metrics. It reads only the history, one event at a
// time (checker).
// early and late widen every theoretical window (0 in the simulator).
func check(lab *labfile.Lab, events []history.Event, end time.Duration, sent int, early, late time.Duration) verdict {
	c := newChecker(lab, end)
	for i := range events {
		c.Add(events[i])
	}
	return c.verdict(sent, early, late)
}

// verdict evaluates every expectation of the lab on the events the
// checker took, and computes the run's metrics; sent is how many requests
// the clients sent.
func (c *checker) verdict(sent int, early, late time.Duration) verdict {
	lab, events, end := c.lab, c.others, c.end
	v := verdict{metrics: map[string]any{}, passed: true, early: early, late: late}
	if c.ha != nil {
		v.haMetrics(c.ha, events, end)
	}
	for i, e := range lab.Expect {
		var r reports.Expectation
		switch {
		case e.Failover != nil:
			r = v.failover(lab, e.Failover, events)
		case e.SingleMaster != nil:
			r = singleMaster(e.SingleMaster, events, end, v.late)
		case e.VIPOwnerChanges != nil:
			r = vipOwnerCheck(e.VIPOwnerChanges, events, end, v.late)
		case e.StatusCount != nil:
			r = v.statusCount(lab, e.StatusCount, c.reqs[i], end)
		case e.Share != nil:
			r = v.share(lab, e.Share, c.reqs[i], end)
		case e.Latency != nil:
			r = v.latency(e.Latency, c.reqs[i], end)
		case e.HealthDelay != nil:
			r = v.healthDelay(lab, e.HealthDelay, events)
		case e.OutageWithin != nil:
			r = v.outageWithin(lab, e.OutageWithin)
		case e.Reach != nil:
			r = reach(lab, e.Reach, events)
		case e.State != nil:
			at := e.State.At.Or(end)
			got := stateAt(e.State.Router, at, events)
			want := strings.ToUpper(e.State.State)
			r = expectation(got == want, i18n.T("%s at %s", got, labfile.Secs(at)), i18n.T("%s", want))
		}
		r.Name, r.NameZh = e.Name, e.NameZh
		v.passed = v.passed && r.Passed
		v.expectations = append(v.expectations, r)
	}
	if c.lb != nil {
		v.lbMetrics(c.lb, sent)
	}
	if lab.VRRP != nil {
		vrids := map[int]bool{}
		for _, in := range lab.VRRP.Instances {
			vrids[in.VirtualRouterID] = true
		}
		most := 0
		for vrid := range vrids {
			n, _ := masters(vrid, events, end)
			most = max(most, n)
		}
		v.metrics["max_masters"] = most
		for _, in := range lab.VRRP.Instances {
			for _, s := range in.VirtualIPAddress {
				if p, err := labfile.ParseVIP(s); err == nil {
					v.metrics["vip_owner_changes"], _ = vipOwnerChanges(p.Addr().String(), events, end)
				}
			}
			break
		}
		v.metrics["vrrp_transitions"] = countKind(events, history.KindVRRP)
	}
	return v
}

func countKind(events []history.Event, k history.Kind) int {
	n := 0
	for _, e := range events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// failover finds the fault by name and the first time router by becomes
// master after it, and checks the delay against the window.
func (v *verdict) failover(lab *labfile.Lab, c *labfile.FailoverCheck, events []history.Event) reports.Expectation {
	fault := faultEvent(events, c.Fault)
	if fault == nil {
		return expectation(false, i18n.T("the fault never happened"), i18n.T("fault %s", c.Fault))
	}
	var took *history.Event
	for i := range events {
		e := &events[i]
		if e.T >= fault.T && e.Kind == history.KindVRRP && e.Router == c.By && e.To == "MASTER" && e.From != "MASTER" {
			took = e
			break
		}
	}
	if c.Window == "none" {
		if took == nil {
			return expectation(true, i18n.T("%s did not become master", c.By), i18n.T("%s does not become master", c.By))
		}
		return expectation(false, i18n.T("%s became master %s after the fault", c.By, labfile.Secs((took.T-fault.T).Duration())),
			i18n.T("%s does not become master", c.By))
	}
	w, err := expectWindow(lab, c.Fault, c.Min, c.Max, func(f labfile.Fault) (labfile.TheoryWindow, error) { return lab.TheoryFor(f, c.By) })
	if err != nil {
		return expectation(false, i18n.T("%v", err), i18n.T("a theoretical window"))
	}
	w = v.widen(w)
	expected := i18n.T("%s master within %s (%s)", c.By, w.String(), w.Why)
	if took == nil {
		if at, ok := masterBefore(c.By, fault.T, events); ok {
			return expectation(false, i18n.T("%s became master at %s, before the fault at %s, and not after it",
				c.By, labfile.Secs(at.Duration()), labfile.Secs(fault.T.Duration())), expected)
		}
		return expectation(false, i18n.T("%s never became master", c.By), expected)
	}
	d := (took.T - fault.T).Duration()
	v.metrics[c.Metric] = d.Seconds()
	v.marks = append(v.marks, reports.Mark{From: fault.T.Duration(), To: took.T.Duration(),
		Key: "markTheory", Args: []any{strings.TrimSuffix(c.Metric, "_s"), labfile.Secs(d), w.String()}})
	return expectation(d >= w.Lo && d <= w.Hi, i18n.T("%s", labfile.Secs(d)), expected)
}

// expectation returns a check's result: observed and expected said in
// English, and kept as messages for a report in another language.
func expectation(passed bool, observed, expected i18n.Text) reports.Expectation {
	return reports.Expectation{Passed: passed, Observed: observed.String(), Expected: expected.String(),
		ObservedText: observed, ExpectedText: expected}
}

// faultEvent returns the history event of the fault named name, or nil if
// it never happened.
func faultEvent(events []history.Event, name string) *history.Event {
	for i := range events {
		if events[i].Kind == history.KindFault && events[i].Name == name {
			return &events[i]
		}
	}
	return nil
}

// expectWindow is the window an expectation checks a delay against: min
// and max when the lab sets them, else the theory for the named fault.
func expectWindow(lab *labfile.Lab, fault string, lo, hi units.Duration, theory func(labfile.Fault) (labfile.TheoryWindow, error)) (labfile.TheoryWindow, error) {
	if lo.IsSet() || hi.IsSet() {
		return labfile.TheoryWindow{Lo: lo.D, Hi: hi.Or(1 << 62), Why: i18n.T("set in the lab")}, nil
	}
	for _, f := range lab.Faults {
		if f.Name == fault {
			return theory(f)
		}
	}
	return labfile.TheoryWindow{}, i18n.Errorf("no fault named %q", fault)
}

// widen applies a real world's timing tolerance to a theoretical window.
func (v *verdict) widen(w labfile.TheoryWindow) labfile.TheoryWindow {
	if v.early == 0 && v.late == 0 {
		return w
	}
	w.Lo -= v.early
	w.Hi += v.late
	w.Why = i18n.T("%s, widened by −%s/+%s on real hosts", w.Why, v.early.String(), v.late.String())
	return w
}

// masterSpan is a time a router was master.
type masterSpan struct {
	router   string
	from, to time.Duration
}

// masters returns the largest number of simultaneous masters of a VRID and
// the longest time two or more coexisted.
func masters(vrid int, events []history.Event, end time.Duration) (most int, longest time.Duration) {
	state := map[string]string{}
	count := 0
	var since time.Duration
	for _, e := range events {
		if e.Kind != history.KindVRRP || e.VRID != vrid {
			continue
		}
		key := e.Router + "/" + e.Instance
		was := state[key] == "MASTER"
		is := e.To == "MASTER"
		state[key] = e.To
		if was == is {
			continue
		}
		t, prev := e.T.Duration(), count
		if is {
			count++
		} else {
			count--
		}
		if prev < 2 && count >= 2 {
			since = t
		}
		if prev >= 2 && count < 2 {
			longest = max(longest, t-since)
		}
		most = max(most, count)
	}
	if count >= 2 {
		longest = max(longest, end-since)
	}
	return most, longest
}

// singleMaster checks a VRID never had two masters for longer than the
// lab allows; late widens an allowed overlap on real hosts.
func singleMaster(c *labfile.SingleMasterCheck, events []history.Event, end, late time.Duration) reports.Expectation {
	most, longest := masters(c.VRID, events, end)
	allowed := c.Overlap.D
	if allowed > 0 {
		allowed += late
	}
	observed := i18n.T("at most %d masters at once", most)
	if most == 1 {
		observed = i18n.T("at most 1 master at once")
	}
	if most > 1 {
		observed = i18n.T("%s, two or more for %s", observed, labfile.Secs(longest))
	}
	expected := i18n.T("at most 1 master")
	if allowed > 0 {
		expected = i18n.T("at most 1 master (overlaps up to %s allowed)", labfile.Secs(allowed))
	}
	return expectation(most <= 1 || longest <= allowed, observed, expected)
}

// masterBefore returns when router last became master before t and was
// still master at t, if it was.
func masterBefore(router string, t history.Stamp, events []history.Event) (history.Stamp, bool) {
	var at history.Stamp
	master := false
	for _, e := range events {
		if e.T >= t {
			break
		}
		if e.Kind == history.KindVRRP && e.Router == router && e.From != e.To {
			master = e.To == "MASTER"
			at = e.T
		}
	}
	return at, master
}

// split is the longest time several routers held a VIP at once (a split
// brain), and who they were then (comma-separated).
type split struct {
	longest time.Duration
	holders string
}

// vipOwnerChanges counts how often a VIP passed to a different router
// after its first owner took it, and finds the longest time several
// routers held it at once; a time with no owner, or with several, does
// not count as a change.
func vipOwnerChanges(vip string, events []history.Event, end time.Duration) (int, split) {
	last, n := "", 0
	var sp split
	var since time.Duration
	holders := ""
	for _, e := range events {
		if e.Kind != history.KindVIP || e.VIP != vip {
			continue
		}
		t := e.T.Duration()
		if holders != "" && t-since > sp.longest {
			sp = split{longest: t - since, holders: holders}
		}
		if e.Holders != "" && holders == "" {
			since = t
		}
		holders = e.Holders
		if e.Owner == "" {
			continue
		}
		if last != "" && e.Owner != last {
			n++
		}
		last = e.Owner
	}
	if holders != "" && end-since > sp.longest {
		sp = split{longest: end - since, holders: holders}
	}
	return n, sp
}

// vipOwnerCheck checks how often a VIP changed owner, and that no two
// routers held it at once for longer than the check allows (late widens
// an allowed overlap on real hosts): a split brain is no change of owner.
func vipOwnerCheck(c *labfile.VIPOwnerChangesCheck, events []history.Event, end, late time.Duration) reports.Expectation {
	n, sp := vipOwnerChanges(c.VIP, events, end)
	allowed := c.Overlap.D
	if allowed > 0 {
		allowed += late
	}
	observed, expected := changes(n), changes(c.Count)
	switch {
	case sp.longest > allowed:
		observed = i18n.T("%s; %s held it at once for %s (split brain)", observed, strings.ReplaceAll(sp.holders, ",", " + "), labfile.Secs(sp.longest))
	case sp.longest > 0:
		observed = i18n.T("%s; %s held it at once for %s", observed, strings.ReplaceAll(sp.holders, ",", " + "), labfile.Secs(sp.longest))
	}
	if allowed > 0 {
		expected = i18n.T("%s, two holders at once for up to %s", expected, labfile.Secs(allowed))
	} else {
		expected = i18n.T("%s, never two holders at once", expected)
	}
	return expectation(n == c.Count && sp.longest <= allowed, observed, expected)
}

// stateAt returns a router's VRRP state at time at (INIT before its first
// event).
func stateAt(router string, at time.Duration, events []history.Event) string {
	s := "INIT"
	for _, e := range events {
		if e.T.Duration() > at {
			break
		}
		if e.Kind == history.KindVRRP && e.Router == router {
			s = e.To
		}
	}
	return s
}

// changes writes "1 change", "2 changes".
func changes(n int) i18n.Text {
	if n == 1 {
		return i18n.T("1 change")
	}
	return i18n.T("%d changes", n)
}
