package vrrpsim_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/vrrpsim"
)

// The chain records who holds a VIP, as the simulator and netns both
// pass their events through it: two holders at once are a split brain
// (no owner), and a router that dies holding it lets it go.
func TestChainHolders(t *testing.T) {
	at := func(s float64) history.Stamp { return history.Stamp(time.Duration(s * float64(time.Second))) }
	take := func(s float64, r string) history.Event {
		return history.Event{T: at(s), Kind: history.KindVIP, VIP: "10.0.0.100", Instance: "VI_1", Owner: r, Reason: "became master"}
	}
	release := func(s float64, r string) history.Event {
		return history.Event{T: at(s), Kind: history.KindVIP, VIP: "10.0.0.100", Instance: "VI_1", Prev: r, Reason: "left master"}
	}
	state := func(s float64, r, from, to string) history.Event {
		return history.Event{T: at(s), Kind: history.KindVRRP, Router: r, Instance: "VI_1", VRID: 51, From: from, To: to, Reason: "x"}
	}
	in := []history.Event{
		state(0, "r1", "INIT", "MASTER"), take(0, "r1"),
		state(1, "r2", "INIT", "MASTER"), take(1, "r2"), // split brain
		take(1.5, "r2"), // again: nothing new
		vrrpsim.Died(at(2), "r1", "VI_1", 51, "host crashed"), // r1 dies holding it
		release(3, "r2"),                                 // nobody
		take(4, "r1"), take(5, "r2"), release(5.1, "r1"), // a preemption-like overlap
		release(6, "r1"), // r1 holds nothing: dropped
	}
	var c vrrpsim.Chain
	var got []string
	for _, e := range in {
		for _, o := range c.Add(e) {
			if o.Kind == history.KindVIP {
				got = append(got, fmt.Sprintf("%v owner=%q holders=%q prev=%q %s", o.T.Duration(), o.Owner, o.Holders, o.Prev, o.Reason))
			}
		}
	}
	want := []string{
		`0s owner="r1" holders="" prev="" became master`,
		`1s owner="" holders="r1,r2" prev="r1" became master`,
		`2s owner="r2" holders="" prev="r1" host crashed`,
		`3s owner="" holders="" prev="r2" left master`,
		`4s owner="r1" holders="" prev="" became master`,
		`5s owner="" holders="r1,r2" prev="r1" became master`,
		`5.1s owner="r2" holders="" prev="r1" left master`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("vip events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
