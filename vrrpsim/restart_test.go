package vrrpsim

import (
	"testing"
	"time"
)

// TestRestartCheckStopsTheAgentWhenTheRestartFails walks the seed's
// check_nginx.sh: nothing while the proxy runs; a start when it does
// not; the agent stopped when the start did not bring it back, left
// running when it did.
func TestRestartCheckStopsTheAgentWhenTheRestartFails(t *testing.T) {
	s := time.Second
	c := RestartCheck{Wait: 2 * s}
	if a, _ := c.Run(0, true); a != RestartNothing {
		t.Fatalf("run with the proxy up: %v, want nothing", a)
	}
	a, due := c.Run(6*s, false)
	if a != RestartStartProxy || due != 8*s {
		t.Fatalf("run with the proxy down: %v due %v, want a start and a look at 8s", a, due)
	}
	if a, _ := c.Run(7*s, false); a != RestartNothing {
		t.Fatalf("run while waiting: %v, want nothing", a)
	}
	if a := c.Look(7*s, false); a != RestartNothing {
		t.Fatalf("look before its time: %v, want nothing", a)
	}
	if a := c.Look(8*s, false); a != RestartStopAgent {
		t.Fatalf("look with the proxy still down: %v, want the agent stopped", a)
	}
	if a, due := c.Run(10*s, false); a != RestartStartProxy || due != 12*s {
		t.Fatalf("next run: %v due %v, want a start again", a, due)
	}
	if a := c.Look(12*s, true); a != RestartNothing {
		t.Fatalf("look with the proxy back: %v, want nothing", a)
	}
	if a := c.Look(13*s, false); a != RestartNothing {
		t.Fatalf("look with no run waiting: %v, want nothing", a)
	}
}
