package scenarios

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
)

// The outage a client host of a high-availability lab sees: the longest
// time between two successes of its requests (each at its end) that a
// failed request overlaps (from its send to its end); 0 when none
// failed. A host without requests is measured on its tcp probes, then
// its icmp probes, the same way (a probe's failure spans its timeout).
// An outage still open at the end of the run runs to the end. Measured
// between successes, it does not depend on when the failures are
// recorded (a timeout ends long after the outage began) nor on the
// requests that a retransmitted SYN saved late.

// hostOutage is what the outage of one client host reads.
type hostOutage struct {
	lastOK history.Stamp
	gaps   []span // between consecutive successes, in order
	fails  []span // failed requests: from their send to their end
}

type span struct{ a, b history.Stamp }

// addOK takes a success ending at t.
func (h *hostOutage) addOK(t history.Stamp) {
	if t > h.lastOK {
		h.gaps = append(h.gaps, span{h.lastOK, t})
	}
	h.lastOK = t
}

// outage returns the host's outage in a run that ended at end.
func (h *hostOutage) outage(end history.Stamp) time.Duration {
	if len(h.fails) == 0 {
		return 0
	}
	gaps := h.gaps
	if end > h.lastOK {
		gaps = append(gaps, span{h.lastOK, end})
	}
	var most history.Stamp
	for _, f := range h.fails {
		// The gaps that overlap f: from the first that ends after f's
		// start, while they begin before f's end.
		i := sort.Search(len(gaps), func(i int) bool { return gaps[i].b > f.a })
		for ; i < len(gaps) && gaps[i].a < f.b+1; i++ {
			most = max(most, gaps[i].b-gaps[i].a)
		}
	}
	return most.Duration()
}

// haTally is what the metrics of a high-availability lab read of the
// requests: their hosts' outages, the failures by class, and how many
// requests met a reset (failed with one, or were resent after one).
type haTally struct {
	hosts   map[string]*hostOutage
	byClass map[string]int
	resets  int
}

func newHATally() *haTally {
	return &haTally{hosts: map[string]*hostOutage{}, byClass: map[string]int{}}
}

// host returns the tally of the host named name, made once.
func (t *haTally) host(name string) *hostOutage {
	h := t.hosts[name]
	if h == nil {
		h = &hostOutage{}
		t.hosts[name] = h
	}
	return h
}

// add takes a request event of a client on a host.
func (t *haTally) add(e *history.Event) {
	if e.Src == "" {
		return
	}
	if metReset(e) {
		t.resets++
	}
	if unknown(e) {
		return
	}
	h := t.host(e.Src)
	if okRequest(e) {
		h.addOK(e.T)
		return
	}
	h.fails = append(h.fails, span{e.Start, e.T})
	class := e.Error
	if class == "" {
		class = "http_" + itoa(e.Status)
	}
	t.byClass[class]++
}

// classReset is the error class of a request whose connection was reset
// or closed under it (loadgen.ClassReset, simproxy.ClassReset; the checks
// read histories and link no driver).
const classReset = "reset"

// metReset reports whether a client's request met a reset: it failed
// with one, or it was reset on a reused kept-alive connection and sent
// once more on a new one (Resent), whatever became of it then.
func metReset(e *history.Event) bool {
	return e.Error == classReset || e.Resent == classReset
}

// okRequest reports whether a finished request succeeded: an HTTP answer
// below 400, or a tcp exchange without error.
func okRequest(e *history.Event) bool {
	return e.Status >= 200 && e.Status < 400 || e.Status == 0 && e.Error == ""
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// probeOutages returns the outage of each host without requests from its
// probes' net events: its tcp probes when it has some, else its icmp
// ones.
func probeOutages(lab *labfile.Lab, events []history.Event, skip map[string]*hostOutage, end history.Stamp) map[string]time.Duration {
	timeout := probeTimeouts(lab)
	byKind := map[string]map[string]*hostOutage{} // kind → host → tally
	for i := range events {
		e := &events[i]
		if e.Kind != history.KindNet || e.Src == "" || skip[e.Src] != nil || e.OK == nil {
			continue
		}
		if byKind[e.Probe] == nil {
			byKind[e.Probe] = map[string]*hostOutage{}
		}
		h := byKind[e.Probe][e.Src]
		if h == nil {
			h = &hostOutage{}
			byKind[e.Probe][e.Src] = h
		}
		if *e.OK {
			h.addOK(e.T)
			continue
		}
		from := e.T
		if e.Error == "timeout" {
			from -= history.Stamp(timeout[[3]string{e.Src, e.Dst, e.Probe}])
		}
		h.fails = append(h.fails, span{from, e.T})
	}
	out := map[string]time.Duration{}
	for _, kind := range []string{"icmp", "tcp"} { // tcp last: it wins
		for host, h := range byKind[kind] {
			out[host] = h.outage(end)
		}
	}
	return out
}

// haMetrics adds the metrics of a high-availability lab: outage_s_<host>
// per client host, outage_s (the worst), requests_failed_by_class (the
// requests that failed, by error class or http_STATUS; a request resent
// after a reset and answered is not one) and connections_reset (the
// requests that met a reset: those that failed with one, and those reset
// on a reused kept-alive connection and resent on a new one, each
// counted once).
func (v *verdict) haMetrics(lab *labfile.Lab, t *haTally, events []history.Event, end time.Duration) {
	m := v.metrics
	worst := time.Duration(0)
	set := func(host string, d time.Duration) {
		m["outage_s_"+host] = secs(d)
		worst = max(worst, d)
	}
	// A host's failed probes are failures of its outage too (a graceful
	// takeover may fail no request: their SYNs are retransmitted onto the
	// new master).
	timeout := probeTimeouts(lab)
	for i := range events {
		e := &events[i]
		if h := t.hosts[e.Src]; h != nil && e.Kind == history.KindNet && e.OK != nil && !*e.OK {
			from := e.T
			if e.Error == "timeout" {
				from -= history.Stamp(timeout[[3]string{e.Src, e.Dst, e.Probe}])
			}
			h.fails = append(h.fails, span{from, e.T})
		}
	}
	for host, h := range t.hosts {
		slices.SortFunc(h.fails, func(a, b span) int { return cmp.Compare(a.a, b.a) })
		set(host, h.outage(history.Stamp(end)))
	}
	for host, d := range probeOutages(lab, events, t.hosts, history.Stamp(end)) {
		set(host, d)
	}
	m["outage_s"] = secs(worst)
	byClass := map[string]any{}
	for c, n := range t.byClass {
		byClass[c] = n
	}
	m["requests_failed_by_class"] = byClass
	m["connections_reset"] = t.resets
}

// outageWithin checks a client host's outage against its window.
func (v *verdict) outageWithin(lab *labfile.Lab, c *labfile.OutageCheck) reports.Expectation {
	got, ok := v.metrics["outage_s_"+c.Client].(float64)
	if !ok {
		return expectation(false, i18n.T("no request or probe from %s", c.Client), i18n.T("an outage"))
	}
	var w labfile.TheoryWindow
	if c.Min.IsSet() || c.Max.IsSet() {
		w = labfile.TheoryWindow{Lo: c.Min.D, Hi: c.Max.Or(1 << 62), Why: i18n.T("set in the lab")}
	} else {
		_, win, err := lab.OutageTheory(c)
		if err != nil {
			return expectation(false, i18n.T("no theory: %s", err.Error()), i18n.T("an outage"))
		}
		w = win
	}
	w = v.widen(w)
	d := time.Duration(math.Round(got * 1e9))
	return expectation(d >= w.Lo && d <= w.Hi, i18n.T("%s's outage %s", c.Client, labfile.Secs(d)),
		i18n.T("within %s (%s)", w.String(), w.Why))
}

// secs returns d in seconds, to the nanosecond (no float residue).
func secs(d time.Duration) float64 { return math.Round(d.Seconds()*1e9) / 1e9 }

// probeTimeouts returns the timeout of each probe by host, address and
// kind: a probe that timed out failed from its send, that long before
// its event.
func probeTimeouts(lab *labfile.Lab) map[[3]string]time.Duration {
	timeout := map[[3]string]time.Duration{}
	for _, p := range lab.ClientProbes() {
		timeout[[3]string{p.From, p.To, p.Kind}] = p.Timeout.D
	}
	return timeout
}
