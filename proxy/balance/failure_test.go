package balance

import (
	"strings"
	"testing"
	"time"
)

// Expectations follow ngx_http_upstream_get_peer (skip while fails >=
// max_fails && now - checked <= fail_timeout; checked = now when picked
// with now - checked > fail_timeout) and
// ngx_http_upstream_free_round_robin_peer (failure: fails++, accessed =
// checked = now, effective_weight -= weight/max_fails; success: fails = 0
// if accessed < checked), all in whole seconds.

func TestFailTimeoutBoundary(t *testing.T) {
	g := group(t, RoundRobin, []int{1, 1}, nil) // max_fails 1, fail_timeout 10 s
	if fail(t, g, 5*sec+300*time.Millisecond) != "a" {
		t.Fatal("first pick not a")
	}
	a := peer(g, "a")
	for _, tc := range []struct {
		now    time.Duration
		usable bool
	}{
		{5 * sec, false},
		{14*sec + 999*time.Millisecond, false},
		{15 * sec, false}, // checked + fail_timeout: still skipped (<=)
		{15*sec + 999*time.Millisecond, false},
		{16 * sec, true},
	} {
		if got := a.Usable(tc.now); got != tc.usable {
			t.Errorf("Usable(%v) = %v, want %v", tc.now, got, tc.usable)
		}
	}
	if got := picks(t, g, 3, 15*sec+500*time.Millisecond); got != "bbb" {
		t.Errorf("within fail_timeout: %s, want bbb", got)
	}
}

func TestMaxFails(t *testing.T) {
	for _, tc := range []struct {
		maxFails int
		skipped  int // failures after which a is skipped (0: never)
	}{{1, 1}, {3, 3}, {0, 0}} {
		g := group(t, RoundRobin, []int{1, 1}, func(i int, s *Server) { s.MaxFails = tc.maxFails })
		a := peer(g, "a")
		for n := 1; n <= 4; n++ {
			// make a's failures: pick until a is chosen, fail it
			for {
				at := g.Start(Request{})
				p, err := at.Next(0, nil)
				if err != nil {
					t.Fatal(err)
				}
				if p == a {
					at.Done(0, p, true, 0)
					break
				}
				at.Done(0, p, false, 0)
				if !a.Usable(0) {
					break
				}
			}
			want := tc.skipped == 0 || n < tc.skipped
			if got := a.Usable(0); got != want {
				t.Errorf("max_fails %d: after %d failures usable %v, want %v", tc.maxFails, a.Fails(), got, want)
			}
			if !a.Usable(0) {
				break
			}
		}
	}
}

func TestFailsNotASlidingWindow(t *testing.T) {
	// max_fails 3, fail_timeout 10 s: failures 20 s apart still add up,
	// as long as no success comes after a fail_timeout has passed.
	// A second server so the group is not "single" (which has no
	// accounting); it is down so every pick is a.
	g2 := group(t, RoundRobin, []int{1, 1}, func(i int, s *Server) { s.MaxFails = 3; s.Down = i == 1 })
	a := peer(g2, "a")
	for i, now := range []time.Duration{0, 20 * sec, 40 * sec} {
		if got := fail(t, g2, now); got != "a" {
			t.Fatalf("failure %d: picked %s", i, got)
		}
	}
	if a.Fails() != 3 || a.Usable(50*sec) || !a.Usable(51*sec) {
		t.Errorf("fails %d usable(50s) %v usable(51s) %v; want 3 false true", a.Fails(), a.Usable(50*sec), a.Usable(51*sec))
	}
}

func TestFailsResetOnlyAfterProbe(t *testing.T) {
	g, _ := NewGroup(Config{Servers: []Server{{Name: "a", Weight: 1, MaxFails: 3, FailTimeout: 10 * sec}, {Name: "z", Weight: 1, Down: true}}})
	a := peer(g, "a")
	fail(t, g, 0) // fails 1, accessed = checked = 0
	// Success within fail_timeout: checked not moved, accessed == checked:
	// fails stays.
	pick(t, g, Request{}, 10*sec)
	if a.Fails() != 1 {
		t.Errorf("after success at 10s: fails %d, want 1", a.Fails())
	}
	// Success after fail_timeout: the pick set checked = 11 > accessed:
	// fails reset.
	pick(t, g, Request{}, 11*sec)
	if a.Fails() != 0 {
		t.Errorf("after success at 11s: fails %d, want 0", a.Fails())
	}
}

func TestProbeAfterFailTimeout(t *testing.T) {
	// a fails at 0 (max_fails 1): skipped through 10 s. At 11 s one request
	// probes it (checked = 11); a second request in the same second skips
	// it again (11 - 11 <= 10) while the probe is out; the probe fails and
	// a is out until 21 s.
	g := group(t, RoundRobin, []int{1, 1}, nil)
	fail(t, g, 0)
	a := peer(g, "a")
	var probe *Attempt
	for {
		at := g.Start(Request{})
		p, _ := at.Next(11*sec, nil)
		if p == a {
			probe = at
			break
		}
		at.Done(11*sec, p, false, 0)
	}
	if got := pick(t, g, Request{}, 11*sec); got != "b" {
		t.Errorf("during the probe: %s, want b", got)
	}
	probe.Done(11*sec, a, true, 0)
	if a.Usable(21*sec) || !a.Usable(22*sec) {
		t.Errorf("after failed probe: usable(21s) %v usable(22s) %v", a.Usable(21*sec), a.Usable(22*sec))
	}
}

func TestEffectiveWeight(t *testing.T) {
	// weight 6, max_fails 3: a failure costs 6/3 = 2; each pick the peer
	// takes part in gives back 1.
	g := group(t, RoundRobin, []int{6, 1}, func(i int, s *Server) { s.MaxFails = 3 })
	a := peer(g, "a")
	if fail(t, g, 0) != "a" {
		t.Fatal("a not first")
	}
	if a.EffectiveWeight() != 4 {
		t.Fatalf("ew %d, want 4", a.EffectiveWeight())
	}
	fail(t, g, 0) // a again? cw: a 6-7=-1, b 1 -> a: -1+4=3, b 2 -> a
	if a.EffectiveWeight() != 3 {
		// took part (4 -> 5) then failed (5 - 2)
		t.Fatalf("ew %d, want 3", a.EffectiveWeight())
	}
	picks(t, g, 3, 0)
	if a.EffectiveWeight() != 6 {
		t.Errorf("ew %d after 3 picks, want 6", a.EffectiveWeight())
	}
	// Floor 0: weight 2, max_fails 1 -> 0, not -2 on a second failure.
	g = group(t, RoundRobin, []int{2, 1}, func(i int, s *Server) { s.MaxFails = 1; s.FailTimeout = 0 })
	a = peer(g, "a")
	fail(t, g, 0)
	if a.EffectiveWeight() != 0 {
		t.Errorf("ew %d, want 0", a.EffectiveWeight())
	}
	// weight 1, max_fails 3: 1/3 = 0 in integer division: no drop at all.
	g = group(t, RoundRobin, []int{1, 1}, func(i int, s *Server) { s.MaxFails = 3 })
	fail(t, g, 0)
	if ew := peer(g, "a").EffectiveWeight(); ew != 1 {
		t.Errorf("weight 1 max_fails 3: ew %d, want 1", ew)
	}
}

func TestMaxConns(t *testing.T) {
	g := group(t, RoundRobin, []int{5, 1}, func(i int, s *Server) { s.MaxConns = 1 })
	a1 := g.Start(Request{})
	p1, _ := a1.Next(0, nil)
	a2 := g.Start(Request{})
	p2, _ := a2.Next(0, nil)
	a3 := g.Start(Request{})
	_, err := a3.Next(0, nil)
	if p1.Name() != "a" || p2.Name() != "b" || err != ErrNoPeer {
		t.Fatalf("got %s %s %v, want a b ErrNoPeer", p1.Name(), p2.Name(), err)
	}
	if p1.Conns() != 1 || p1.Usable(0) {
		t.Errorf("a conns %d usable %v", p1.Conns(), p1.Usable(0))
	}
	a1.Done(0, p1, false, 0)
	a2.Done(0, p2, false, 0)
	if p1.Conns() != 0 || p2.Conns() != 0 {
		t.Errorf("conns %d %d", p1.Conns(), p2.Conns())
	}
	// A single server honours max_conns too.
	g = group(t, RoundRobin, []int{1}, func(i int, s *Server) { s.MaxConns = 1 })
	g.Start(Request{}).Next(0, nil)
	if _, err := g.Start(Request{}).Next(0, nil); err != ErrNoPeer {
		t.Errorf("single server over max_conns: %v", err)
	}
}

func TestRetryWalksEveryPeerOnce(t *testing.T) {
	// A request whose tries all fail visits each usable primary once, in
	// smooth WRR order over the not-yet-tried peers.
	g := group(t, RoundRobin, []int{5, 1, 1}, func(i int, s *Server) { s.MaxFails = 0 })
	a := g.Start(Request{})
	var got strings.Builder
	for {
		p, err := a.Next(0, nil)
		if err != nil {
			break
		}
		got.WriteString(p.Name())
		a.Done(0, p, true, 0)
	}
	// 5,1,1 -> a (a=-2) | b 2, c 2 -> b | c 3 -> c
	if got.String() != "abc" {
		t.Errorf("got %s, want abc", got.String())
	}
}
