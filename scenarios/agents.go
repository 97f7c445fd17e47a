package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/vrrpsim"
)

// This file holds what the worlds of real agents (netns, docker) share:
// the fault event stamped when the fault took effect, the silent death of
// a host's routers, and the merge of the agents' histories.

// agentFaults are the fault kinds the worlds of real agents apply: a
// host crashes and is restored, its agent stops and starts, pauses and
// resumes, its links go down and up, its scripts fail and succeed.
var agentFaults = []labfile.FaultKind{labfile.FaultCrash, labfile.FaultRestore, labfile.FaultStop, labfile.FaultStart,
	labfile.FaultPause, labfile.FaultResume, labfile.FaultLinkDown, labfile.FaultLinkUp,
	labfile.FaultScriptFail, labfile.FaultScriptOK}

// applyStamped carries out fault f with do and records its fault event in
// extra, stamped when the fault took effect: the time do returns, or its
// own when not 0 (since is the lab's clock). The reason says how long
// applying it took.
func applyStamped(since func() time.Duration, extra *history.Log, f labfile.Fault, do func(labfile.Fault) (time.Duration, error)) error {
	began := since()
	effect, err := do(f)
	took := since()
	if effect == 0 {
		effect = took
	}
	extra.Add(history.Event{T: history.Stamp(effect), Kind: history.KindFault, Fault: string(f.Kind), Target: f.Target, Name: f.Name,
		Reason: fmt.Sprintf("applied in %s", (took - began).Round(time.Microsecond))})
	return err
}

// silentDeaths records in extra, at now, that host's routers stopped
// without a word (an agent killed outright cannot say it itself).
func silentDeaths(lab *labfile.Lab, extra *history.Log, now time.Duration, host, reason string) {
	if lab.VRRP == nil {
		return
	}
	for _, in := range lab.VRRP.Instances {
		if in.Host == host {
			extra.Add(vrrpsim.Died(history.Stamp(now), host, in.Name, in.VirtualRouterID, reason))
		}
	}
}

// mergeAgents orders the agents' histories (one list per agent run, in
// a fixed order) and the runner's events (extra) by time and passes them
// through one vrrpsim.Chain, as the simulator does live: an agent knows
// only its own taking and releasing of an address, and the runner not
// the state of an agent it killed. A restore or start is moved to the
// boot of the agent it started (bootStamp).
func mergeAgents(histories [][]history.Event, extra []history.Event) []history.Event {
	all := &history.Log{}
	for _, evs := range histories {
		for _, e := range evs {
			all.Add(e)
		}
	}
	agents := all.Events()
	for _, e := range extra {
		if e.Kind == history.KindFault && (e.Fault == "restore" || e.Fault == "start") {
			e = bootStamp(e, agents)
		}
		all.Add(e)
	}
	var chain vrrpsim.Chain
	var out []history.Event
	for _, e := range all.Events() {
		out = append(out, chain.Add(e)...)
	}
	return out
}

// bootStamp moves the event of a fault that starts a router's agent
// (restore, start) to the moment the agent booted: its first transition
// out of INIT, when its protocol timers start (an agent's process takes
// tens of milliseconds to get there on a loaded machine, which is not
// the protocol's time). The delay is added to the event's reason. A
// fault whose agent never booted keeps its stamp.
func bootStamp(fault history.Event, agents []history.Event) history.Event {
	host, _, _ := strings.Cut(fault.Target, ":")
	for _, e := range agents {
		if e.Kind == history.KindVRRP && e.Router == host && e.From == "INIT" && e.T >= fault.T {
			fault.Reason += fmt.Sprintf(", agent booted %s later", (e.T - fault.T).Duration().Round(time.Microsecond))
			fault.T = e.T
			return fault
		}
	}
	return fault
}
