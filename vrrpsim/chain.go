package vrrpsim

import (
	"slices"
	"strings"

	"github.com/lblab/lblab/history"
)

// Chain joins the events the Executors of one run record, each knowing
// only its own instance, into one account: who holds each virtual address
// after whom, and the state a router was in when it died without a word.
// The simulator passes every event through it as it happens; a real
// world, whose agents write their own files, passes the merged events
// through it in time order. The result is the same for the same events.
type Chain struct {
	// holders are the routers holding each VIP, in the order they took
	// it: two or more while routers disagree on who is master (a split
	// brain), each answering ARP for the address.
	holders map[string][]string
	// held are the VIPs each router/instance holds.
	held   map[string][]string
	states map[string]string // router/instance -> its last state
}

// Add takes the next event in time order and returns it completed,
// followed by the events it implies, or nothing when it adds nothing to
// the account:
//   - a vip event with an Owner (an address taken) is dropped when its
//     router holds the address already; taken while another router
//     holds it, its Owner is emptied and Holders names every router
//     holding it (a split brain: nobody owns it alone), with the one
//     that held it alone before as Prev; taken from nobody, Prev is
//     empty;
//   - a vip event without an Owner (released by Prev) is dropped when
//     Prev did not hold the address; it names the router left holding
//     it as Owner, or the routers as Holders when several still do;
//   - a vrrp event with an empty From (a death the world saw, not the
//     agent: Died) gets the router's last state as From, and is dropped
//     when the instance was not running;
//   - a vrrp event of an instance entering STOP while it holds addresses
//     (it died without releasing them: its host is gone) is followed by
//     the release of each, with the vrrp event's reason.
//
// Every other event is returned as it came.
func (c *Chain) Add(e history.Event) []history.Event {
	if c.holders == nil {
		c.holders, c.held, c.states = map[string][]string{}, map[string][]string{}, map[string]string{}
	}
	switch e.Kind {
	case history.KindVIP:
		key := e.Owner + "/" + e.Instance
		if e.Owner == "" {
			key = e.Prev + "/" + e.Instance
		}
		if e, ok := c.vip(e, key); ok {
			return []history.Event{e}
		}
		return nil
	case history.KindVRRP:
		key := e.Router + "/" + e.Instance
		if e.From == "" {
			if st := c.states[key]; st == "" || st == StateStop.String() {
				return nil
			}
			e.From = c.states[key]
		}
		c.states[key] = e.To
		out := []history.Event{e}
		if e.To != StateStop.String() {
			return out
		}
		for _, vip := range slices.Clone(c.held[key]) {
			rel := history.Event{T: e.T, Kind: history.KindVIP, VIP: vip, Instance: e.Instance, Prev: e.Router, Reason: e.Reason}
			if rel, ok := c.vip(rel, key); ok {
				out = append(out, rel)
			}
		}
		return out
	}
	return []history.Event{e}
}

// vip completes a vip event of the router/instance key taking (Owner
// set) or releasing (Prev set) an address, or returns false when it
// changes nothing.
func (c *Chain) vip(e history.Event, key string) (history.Event, bool) {
	h := c.holders[e.VIP]
	if e.Owner != "" {
		if slices.Contains(h, e.Owner) {
			return e, false
		}
		e.Prev = ""
		if len(h) == 1 {
			e.Prev = h[0]
		}
		h = append(slices.Clone(h), e.Owner)
		c.held[key] = append(c.held[key], e.VIP)
	} else {
		i := slices.Index(h, e.Prev)
		if i < 0 {
			return e, false
		}
		h = slices.Delete(slices.Clone(h), i, i+1)
		c.held[key] = slices.DeleteFunc(c.held[key], func(v string) bool { return v == e.VIP })
	}
	c.holders[e.VIP] = h
	e.Owner, e.Holders = "", ""
	switch {
	case len(h) == 1:
		e.Owner = h[0]
	case len(h) > 1:
		e.Holders = strings.Join(h, ",")
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
