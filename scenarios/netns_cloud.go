package scenarios

// A cloud lab in the netns world: its network built by BuildCloud (the
// mapper lblab trace --verify uses) and each reach check sent as a real
// probe by CloudNet.Probe (the same prober), recorded as a net event.

import (
	"context"
	"errors"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/sim/cloud"
)

// cloudHost reports whether h is a cloud instance (an interface in a
// vswitch): BuildCloud makes its namespace, not the topology's loop.
func cloudHost(h labfile.Host) bool {
	for _, ifc := range h.Interfaces {
		if ifc.VSwitch != "" {
			return true
		}
	}
	return false
}

// buildCloud builds the lab's cloud network in the world's testbed (the
// testbed's cleanup removes it: namespaces, links, and the nftables
// tables inside them) and schedules the reach checks at t = 0: each is
// traced by the model (traceReaches, as the simulator does) and its probe
// sent in the real network (CloudNet.Probe: at most ProbeTimeout, the
// kernel's initial TCP retransmission timeout, after the counters are
// quiet), one after the other, each recorded as a net event
// (realReachEvent). It does nothing for a lab without a cloud network.
func (w *netnsWorld) buildCloud(ctx context.Context) error {
	m := w.lab.Cloud()
	if m == nil {
		return nil
	}
	n, err := BuildCloud(w.tb, m)
	if err != nil {
		return err
	}
	w.cloud, w.cloudCtx = n, ctx
	w.At(0, func() error {
		err := traceReaches(w.lab, m, func(r cloud.Result, dst string) error {
			t := history.Stamp(w.Since())
			real, err := n.Probe(w.cloudCtx, r)
			if err != nil {
				return err
			}
			w.extra.Add(realReachEvent(w.lab, r, real, dst, t))
			return nil
		})
		if errors.Is(err, context.Canceled) || w.cloudCtx.Err() != nil {
			return nil // interrupted: the run says so
		}
		return err
	})
	return nil
}

// realReachEvent is the net event of a reach check's probe sent in the
// real network, stamped t (when it was sent). It claims only what the
// real world saw:
//   - OK, Error and Answer: the real outcome (answered, refused, timeout,
//     unreachable) and the instance whose counters say it answered.
//   - Reason: the model's outcome code (ACCEPTED, NO_ROUTE, ...) only when
//     the real probe confirms it (Verdict: the same reachability and, for
//     a drop, the same place from the kernel's counters); otherwise the
//     real outcome (RealAnswered, RealTimeout, ...), which no reach check
//     expects, so the check fails and says what happened.
//   - Path: the places the counters saw, in the simulator's syntax: the
//     sender, the answerer (request leg, then the reply's) and the drop
//     place marked ✗; the routers and vswitches between are not claimed
//     (the model's path is not copied), an unplaced drop is "?".
//   - Rule: "real: " the drop place from the counters, then "; model: "
//     the rule that dropped the probe in the model with its lab field.
func realReachEvent(lab *labfile.Lab, r cloud.Result, real Real, dst string, t history.Stamp) history.Event {
	ok := real.Outcome == RealAnswered
	ev := history.Event{T: t, Kind: history.KindNet, Src: r.Src, Dst: dst, Probe: r.Protocol, OK: &ok,
		Path: realPath(r.Src, real), Reason: real.Outcome}
	if Verdict(r, real) {
		ev.Reason = string(r.Outcome)
	}
	switch real.Outcome {
	case RealAnswered:
		ev.Answer = real.Answerer
	case RealRefused:
		ev.Error = "refused"
	case RealUnreach:
		ev.Error = "unreachable"
	default:
		ev.Error = "timeout"
	}
	var rule []string
	if real.Dropped {
		rule = append(rule, "real: "+real.Drop.String())
	} else if real.Outcome == RealTimeout {
		rule = append(rule, "real: no counter says where")
	}
	if m := modelRule(lab, r); m != "" {
		rule = append(rule, "model: "+m)
	}
	for i, s := range rule {
		if i > 0 {
			ev.Rule += "; "
		}
		ev.Rule += s
	}
	return ev
}

// realPath is what the counters saw of a probe from src (realReachEvent).
func realPath(src string, real Real) string {
	ans := real.Answerer
	switch {
	case real.Dropped && real.Drop.Reply && ans != "":
		return src + " > " + ans + " | " + leg(ans, real.Drop.At)
	case real.Dropped:
		return leg(src, real.Drop.At)
	case ans != "" && real.Outcome != RealTimeout:
		return src + " > " + ans + " | " + ans + " > " + src
	}
	return src + " > ?"
}

// leg is a leg from from dropped at at: "from > at ✗", or "from ✗" when
// the leg was dropped where it began.
func leg(from, at string) string {
	if at == from {
		return from + " ✗"
	}
	return from + " > " + at + " ✗"
}
