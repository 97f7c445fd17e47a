package flow

import (
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/units"
)

// pickOne sends one request through g at now, the server answering 200
// (or refusing, when refuse names it), and returns the server it went to.
func pickOne(t *testing.T, g *Group, now time.Duration, refuse string) string {
	t.Helper()
	var f Flight
	g.Start(&f, now, Request{Method: "GET"})
	st := f.Next(now, nil)
	if st.Kind != Try {
		return "-"
	}
	name := st.Peer.Name()
	r := Result{Try: attempt.Try{Outcome: attempt.Answered, Status: 200, Sent: true}}
	if name == refuse {
		r = Result{Try: attempt.Try{Outcome: attempt.Refused}}
	}
	if st = f.Result(now, r); st.Kind == Answer {
		f.Finish(now, "", false)
	}
	return name
}

func weighted(w ...int) *proxy.Group {
	gc := &proxy.Group{Name: "g", NextUpstream: &proxy.NextUpstream{On: []string{"off"}},
		HealthCheck: &proxy.HealthCheck{Type: "http", Interval: units.Duration{D: 2 * time.Second},
			Timeout: units.Duration{D: time.Second}, HealthyThreshold: 3, UnhealthyThreshold: 3}}
	for i, x := range w {
		x := x
		gc.Servers = append(gc.Servers, proxy.Server{Address: string(rune('a'+i)) + ":80", Weight: &x})
	}
	return gc
}

// TestCarryKeepsBalancingState: a group rebuilt with a server more (a
// container registered) goes on with the smooth round robin sequence of
// the servers it keeps, keeps a server max_fails took out, out, and one
// its active checks took down, down; the new server starts up.
func TestCarryKeepsBalancingState(t *testing.T) {
	old, err := NewGroup(weighted(5, 1, 1), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seq []string
	for range 3 {
		seq = append(seq, pickOne(t, old, 0, ""))
	}
	if got := strings.Join(seq, " "); got != "a:80 a:80 b:80" {
		t.Fatalf("first picks %s, want nginx's a a b", got)
	}
	fresh, _ := NewGroup(weighted(5, 1, 1), 0, nil)
	kept, _ := NewGroup(weighted(5, 1, 1), 0, nil)
	kept.Carry(old)
	var a, b []string
	for range 4 {
		a = append(a, pickOne(t, kept, 0, ""))
		b = append(b, pickOne(t, fresh, 0, ""))
	}
	if got := strings.Join(a, " "); got != "a:80 c:80 a:80 a:80" {
		t.Fatalf("after the carry: %s, want the rest of a a b a c a a (fresh: %s)", got, strings.Join(b, " "))
	}
	// b is refused once (max_fails 1: out for fail_timeout); c fails its checks.
	now := time.Second
	for pickOne(t, kept, now, "b:80") != "b:80" {
	}
	if !kept.PassiveDown(1) {
		t.Fatal("b not taken out by max_fails")
	}
	for n := 0; n < 20; n++ {
		if up, _ := kept.ActiveUp(2); !up {
			break
		}
		at, _ := kept.checker.Deadline()
		now = max(now, at)
		due := kept.checker.Due(now, nil)
		for _, i := range due {
			kept.CheckResult(now, i, i != 2, "refused")
		}
	}
	if up, _ := kept.ActiveUp(2); up {
		t.Fatal("c not taken down by its checks")
	}
	gc := weighted(5, 1, 1, 1)
	gc.Servers[3].Address = "d:80"
	next, _ := NewGroup(gc, now, nil)
	next.Carry(kept)
	if !next.PassiveDown(1) {
		t.Error("b is back after the carry")
	}
	if up, _ := next.ActiveUp(2); up {
		t.Error("c is up after the carry")
	}
	if up, _ := next.ActiveUp(3); !up {
		t.Error("the new server d is not up")
	}
	same, _ := NewGroup(weighted(5, 1, 1), now, nil)
	same.Carry(kept)
	kd, _ := kept.checker.Deadline()
	if nd, _ := same.checker.Deadline(); nd != kd {
		t.Errorf("next probe at %v after the carry, %v before", nd, kd)
	}
	for range 20 {
		if s := pickOne(t, next, now, ""); s == "b:80" || s == "c:80" {
			t.Fatalf("a request went to %s after the carry", s)
		}
	}
}
