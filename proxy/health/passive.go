package health

import (
	"fmt"
	"time"
)

// PassivePrefix starts the reason of every transition of the passive
// accounting, so that a history tells them from the active checks'.
const PassivePrefix = "passive:"

// Passive turns nginx's passive accounting (max_fails, fail_timeout, kept
// by proxy/balance) into up/down transitions for the history: a server is
// "temporarily disabled" when its failures reach max_fails, and live again
// when a try after fail_timeout succeeds and resets its failures. Both
// drivers, the simulator and the real proxy, use it.
type Passive struct {
	down []bool
}

// NewPassive tracks n servers, all up.
func NewPassive(n int) *Passive { return &Passive{down: make([]bool, n)} }

// Down reports whether server i is out by passive accounting.
func (p *Passive) Down(i int) bool { return p.down[i] }

// Observe looks at server i after a try: fails and maxFails are its
// failure count and limit (0: no accounting), failTimeout how long it is
// skipped, and last what the failed try gave ("refused", "status 502").
// It returns a transition when the server went down or came back.
func (p *Passive) Observe(i, fails, maxFails int, failTimeout time.Duration, last string) (Transition, bool) {
	switch {
	case maxFails == 0:
	case !p.down[i] && fails >= maxFails:
		p.down[i] = true
		return Transition{Server: i, Up: false, Reason: fmt.Sprintf(
			PassivePrefix+" %d failed tries (max_fails %d, last: %s); skipped for fail_timeout %s",
			fails, maxFails, last, failTimeout)}, true
	case p.down[i] && fails == 0:
		p.down[i] = false
		return Transition{Server: i, Up: true, Reason: PassivePrefix + " a try after fail_timeout succeeded"}, true
	}
	return Transition{}, false
}

// Carry takes over server j of old as server i.
func (p *Passive) Carry(i int, old *Passive, j int) { p.down[i] = old.down[j] }
