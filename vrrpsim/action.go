package vrrpsim

import "fmt"

// State is a VRRP router state.
type State int

// The states of RFC 5798 plus keepalived's FAULT, and STOP for an agent that
// was shut down or whose host died.
const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
	StateStop
)

var stateNames = [...]string{"INIT", "BACKUP", "MASTER", "FAULT", "STOP"}

// String returns keepalived's name of the state (INIT, BACKUP, MASTER,
// FAULT, STOP).
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// ParseState reads a state name as String writes it.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("unknown VRRP state %q (want MASTER or BACKUP)", name)
}

// ActionKind says what a driver must do.
type ActionKind int

// The actions a Router asks of its driver.
const (
	// ActSend: send Action.Advert to the VRRP group (or unicast peers).
	ActSend ActionKind = iota + 1
	// ActAddVIPs: configure the virtual addresses on the interface.
	ActAddVIPs
	// ActRemoveVIPs: remove them.
	ActRemoveVIPs
	// ActGARP: announce the virtual addresses with gratuitous ARP.
	ActGARP
	// ActState: the state changed from Action.From to Action.To.
	ActState
	// ActPriority: the effective priority changed to Action.Priority.
	ActPriority
	// ActDrop: a received packet was discarded; Action.Cause names the
	// check it failed and Action.Reason says how, in words.
	ActDrop
)

// Action is one thing a Router asks its driver to do, in order.
type Action struct {
	// Kind says what to do.
	Kind ActionKind
	// Advert is the advertisement to send (ActSend); the driver marshals it
	// with its source and destination addresses.
	Advert *Packet
	// From and To are the states of an ActState.
	From, To State
	// Priority is the effective priority (ActPriority, ActState).
	Priority uint8
	// Reason explains an ActState, ActPriority or ActDrop in words.
	Reason string
	// Cause is the drop counter an ActDrop added one to (Stat.IsDrop).
	Cause Stat
}
