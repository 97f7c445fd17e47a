package scenarios

import (
	"strings"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/sim/cloud"
)

// buildCloud schedules the lab's reach checks at t = 0: each is traced
// through the lab's cloud network (sim/cloud's Trace, a pure evaluation:
// the simulator has no L3 forwarding yet) and recorded as a net event
// with its hop path, the rule that decided and the outcome code.
func (w *simWorld) buildCloud() {
	m := w.lab.Cloud()
	if m == nil {
		return
	}
	w.k.At(0, func() {
		err := traceReaches(w.lab, m, func(r cloud.Result, dst string) error {
			w.sink.Add(reachEvent(w.lab, r, dst, history.Stamp(w.k.Now())))
			return nil
		})
		if err != nil && w.err == nil {
			w.err = err
		}
	})
}

// traceReaches traces the flow of each reach expectation of lab through
// m (cloud.Trace), in the lab's order, and calls fn with the result and
// the destination as a net event writes it; a check validation refused
// is skipped. Both worlds evaluate reach checks through it: the
// simulator records the trace, netns sends its probe (netns_cloud.go).
// It stops at fn's first error.
func traceReaches(lab *labfile.Lab, m *cloud.Model, fn func(r cloud.Result, dst string) error) error {
	for _, e := range lab.Expect {
		if e.Reach == nil {
			continue
		}
		f, dst, ok := lab.ReachFlow(e.Reach)
		if !ok {
			continue // refused by validation
		}
		r, err := cloud.Trace(m, f)
		if err != nil {
			return i18n.Errorf("reach %s → %s: %w", e.Reach.From, e.Reach.To, err)
		}
		if err := fn(r, dst); err != nil {
			return err
		}
	}
	return nil
}

// reachEvent is the net event of a traced probe.
func reachEvent(lab *labfile.Lab, r cloud.Result, dst string, t history.Stamp) history.Event {
	ok := r.Outcome == cloud.Accepted
	ev := history.Event{T: t, Kind: history.KindNet, Src: r.Src, Dst: dst, Probe: r.Protocol, OK: &ok,
		Path: hopPath(r), Reason: string(r.Outcome)}
	switch r.Outcome {
	case cloud.Accepted:
		ev.Answer = r.DstInstance
	case cloud.Refused:
		ev.Error = "refused"
	default:
		ev.Error = "timeout"
	}
	ev.Rule = modelRule(lab, r)
	return ev
}

// modelRule is the rule that dropped r's probe in the model, with the
// lab's field it came from in brackets, or "" when nothing dropped it.
func modelRule(lab *labfile.Lab, r cloud.Result) string {
	h, _, dropped := r.Drop()
	if !dropped {
		return ""
	}
	rule := strings.TrimSpace(h.Reason + " " + h.Rule)
	if f := lab.CloudField(h.Field); f != "" {
		rule += " [" + f + "]"
	}
	return rule
}

// hopPath is a result's places, the request's then the reply's, each
// place once in a row, a dropping one marked ✗.
func hopPath(r cloud.Result) string {
	leg := func(hops []cloud.Hop) string {
		var out []string
		for _, h := range hops {
			p := h.At
			if h.Verdict == cloud.VerdictDrop {
				p += " ✗"
			}
			if n := len(out); n > 0 && (out[n-1] == h.At || out[n-1] == p) {
				out[n-1] = p
				continue
			}
			out = append(out, p)
		}
		return strings.Join(out, " > ")
	}
	s := leg(r.Request)
	if len(r.Reply) > 0 {
		s += " | " + leg(r.Reply)
	}
	return s
}

// reach checks a reach expectation against the net event its probe
// wrote.
func reach(lab *labfile.Lab, c *labfile.ReachCheck, events []history.Event) reports.Expectation {
	_, dst, _ := lab.ReachFlow(c)
	for _, e := range events {
		if e.Kind != history.KindNet || e.Src != c.From || e.Dst != dst || e.Path == "" {
			continue
		}
		observed := i18n.T("%s via %s", e.Reason, e.Path)
		if e.Rule != "" {
			observed = i18n.T("%s via %s (%s)", e.Reason, e.Path, e.Rule)
		}
		return expectation(e.Reason == c.Outcome, observed, i18n.T("%s", c.Outcome))
	}
	return expectation(false, i18n.T("no probe from %s to %s in the history", c.From, dst), i18n.T("%s", c.Outcome))
}
