package vrrpsim

import "time"

// RestartAction is what a restarting check script (RestartCheck) does
// after one of its looks at the proxy.
type RestartAction int

const (
	// RestartNothing: the proxy runs (or the script is still waiting).
	RestartNothing RestartAction = iota
	// RestartStartProxy: the proxy does not run; start it, then look
	// again (RestartCheck.Look) Wait later.
	RestartStartProxy
	// RestartStopAgent: the proxy still does not run after the start;
	// stop the host's VRRP agent cleanly (keepalived stop: priority 0).
	RestartStopAgent
)

// RestartCheck is the seed's restarting check script (check_nginx.sh:
// if no nginx runs, start nginx; sleep 2; if none runs still, stop
// keepalived), as a pure core: the driver says whether the proxy runs
// at each look, carries out the action returned and calls Look when the
// wait is over. The script exits 0 either way: its result moves no
// priority. Real hosts run the script itself as the agent's vrrp_script
// command; the simulator runs this model of it.
type RestartCheck struct {
	// Wait is how long the script waits after starting the proxy before
	// it looks again (the script's `sleep 2`). Required, more than 0.
	Wait time.Duration
	// waiting is set from a start until the look after it: the run is
	// still going, so the agent starts no other run of the script.
	waiting bool
	due     time.Duration
}

// Run is one run of the script at now, the proxy running or not. On
// RestartStartProxy the second look is due at the returned time
// (now + Wait). A run while the previous one still waits does nothing.
func (c *RestartCheck) Run(now time.Duration, running bool) (RestartAction, time.Duration) {
	if c.waiting || running {
		return RestartNothing, 0
	}
	c.waiting, c.due = true, now+c.Wait
	return RestartStartProxy, c.due
}

// Look is the script's look after its wait, at now (at or after the
// time Run returned), the proxy running or not: RestartStopAgent if it
// does not. A look with no run waiting, or before its time, does
// nothing.
func (c *RestartCheck) Look(now time.Duration, running bool) RestartAction {
	if !c.waiting || now < c.due {
		return RestartNothing
	}
	c.waiting = false
	if running {
		return RestartNothing
	}
	return RestartStopAgent
}

// Reset forgets a run in progress (the agent stopped or the host
// crashed: the script died with it).
func (c *RestartCheck) Reset() { c.waiting = false }
