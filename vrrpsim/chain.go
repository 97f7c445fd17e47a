package vrrpsim

import "github.com/lblab/lblab/history"

// Chain joins the events the Executors of one run record, each knowing
// only its own instance, into one account: who holds each virtual address
// after whom, and the state a router was in when it died without a word.
// The simulator passes every event through it as it happens; a real
// world, whose agents write their own files, passes the merged events
// through it in time order. The result is the same for the same events.
type Chain struct {
	owners map[string]string // VIP -> router holding it
	states map[string]string // router/instance -> its last state
}

// Add takes the next event in time order and returns it completed, or
// false when it adds nothing to the account:
//   - a vip event with an Owner (an address taken) gets the previous
//     holder as Prev; taken again by its holder, it is dropped;
//   - a vip event without an Owner (released by Prev) is dropped when
//     another router took the address meanwhile;
//   - a vrrp event with an empty From (a death the world saw, not the
//     agent: Died) gets the router's last state as From, and is dropped
//     when the instance was not running.
//
// Every other event is returned as it came.
func (c *Chain) Add(e history.Event) (history.Event, bool) {
	if c.owners == nil {
		c.owners, c.states = map[string]string{}, map[string]string{}
	}
	switch e.Kind {
	case history.KindVIP:
		cur := c.owners[e.VIP]
		if e.Owner == "" && cur != e.Prev {
			return e, false
		}
		if e.Owner == cur {
			return e, false
		}
		e.Prev = cur
		c.owners[e.VIP] = e.Owner
	case history.KindVRRP:
		key := e.Router + "/" + e.Instance
		if e.From == "" {
			if st := c.states[key]; st == "" || st == StateStop.String() {
				return e, false
			}
			e.From = c.states[key]
		}
		c.states[key] = e.To
	}
	return e, true
}

// Died is the event of an instance that died without a word, as a world
// that saw it (a killed process) records it: STOP from a state it does
// not know, which Chain.Add fills in. t is when it died.
func Died(t history.Stamp, router, instance string, vrid int, reason string) history.Event {
	return history.Event{T: t, Kind: history.KindVRRP, Router: router, Instance: instance,
		VRID: vrid, To: StateStop.String(), Reason: reason}
}
