package scenarios

import (
	"math"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
)

// haTally is what the metrics of a high-availability lab read of the
// requests: their hosts' outages (reports.OutageMeter, the one
// definition the report's outage table shows too; the probes are added
// at the end), the failures by class, and how many requests met a reset
// (failed with one, or were resent after one).
type haTally struct {
	meter   *reports.OutageMeter
	byClass map[string]int
	resets  int
}

func newHATally() *haTally {
	return &haTally{meter: reports.NewOutageMeter(), byClass: map[string]int{}}
}

// add takes a request event of a client on a host.
func (t *haTally) add(e *history.Event) {
	if e.Src == "" {
		return
	}
	if metReset(e) {
		t.resets++
	}
	t.meter.Add(*e)
	if unknown(e) || okRequest(e) {
		return
	}
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

// haMetrics adds the metrics of a high-availability lab: outage_s_<host>
// (its primary reports.Outage, the one definition the report shows too)
// per client host, outage_s (the worst), requests_failed_by_class (the
// requests that failed, by error class or http_STATUS; a request resent
// after a reset and answered is not one) and connections_reset (the
// requests that met a reset: those that failed with one, and those reset
// on a reused kept-alive connection and resent on a new one, each
// counted once).
func (v *verdict) haMetrics(t *haTally, events []history.Event, end time.Duration) {
	m := v.metrics
	worst := time.Duration(0)
	set := func(host string, d time.Duration) {
		m["outage_s_"+host] = secs(d)
		worst = max(worst, d)
	}
	for i := range events {
		if events[i].Kind == history.KindNet {
			t.meter.Add(events[i])
		}
	}
	for _, o := range t.meter.Outages(end) {
		if o.Primary {
			set(o.Client, o.To-o.From) // open: how long it lasted at least
		}
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
	if slack := lab.OutageTimerSlack(c); slack > 0 && v.late > 0 {
		w.Hi += slack
		w.Why = i18n.T("%s, and up to %s later (Linux's timer wheel: a timer fires up to 1/8 of its delay late)", w.Why, slack.String())
	}
	d := time.Duration(math.Round(got * 1e9))
	return expectation(d >= w.Lo && d <= w.Hi, i18n.T("%s's outage %s", c.Client, labfile.Secs(d)),
		i18n.T("within %s (%s)", w.String(), w.Why))
}

// secs returns d in seconds, to the nanosecond (no float residue).
func secs(d time.Duration) float64 { return math.Round(d.Seconds()*1e9) / 1e9 }
