package balance

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// hold picks without ending the pick; returns the attempt and name.
func hold(t *testing.T, g *Group, rnd *rand.Rand) (*Attempt, *Peer) {
	t.Helper()
	a := g.Start(Request{})
	p, err := a.Next(0, rnd)
	if err != nil {
		t.Fatal(err)
	}
	return a, p
}

func TestLeastConnTiesAreRoundRobin(t *testing.T) {
	// Sequential requests: conns are all 0, every pick is a tie broken by
	// smooth WRR (ngx_http_upstream_get_least_conn_peer's "many" loop).
	g := group(t, LeastConn, []int{5, 1, 1}, nil)
	if got := picks(t, g, 14, 0); got != "aabacaaaabacaa" {
		t.Errorf("got %s", got)
	}
}

func TestLeastConnHeld(t *testing.T) {
	// Weights 1,1,1, picks held open. Derivation:
	// 1: all 0 conns, tie: cw a1 b1 c1 -> a (a=-2)
	// 2: b, c 0 conns tie (loop starts at b): b2 c2 -> b (b=0)
	// 3: c alone (no tie, total 0) -> c
	// all released; 4: tie a-1 b1 c3 -> c (c=0)
	g := group(t, LeastConn, []int{1, 1, 1}, nil)
	var open []*Attempt
	var b strings.Builder
	for i := 0; i < 3; i++ {
		a, p := hold(t, g, nil)
		open = append(open, a)
		b.WriteString(p.Name())
	}
	for _, a := range open {
		a.Done(0, a.Current(), false, 0)
	}
	b.WriteString(pick(t, g, Request{}, 0))
	if b.String() != "abcc" {
		t.Errorf("got %s, want abcc", b.String())
	}
}

func TestLeastConnWeighted(t *testing.T) {
	// a weight 2, b weight 1. a holds 1 conn: 1/2 < 0/1? no: b (0) wins.
	// a 1 conn, b 1 conn: 1*1 < 1*2: a (1/2 < 1/1) wins.
	g := group(t, LeastConn, []int{2, 1}, nil)
	_, p1 := hold(t, g, nil) // tie at 0: a
	_, p2 := hold(t, g, nil) // b (0 conns)
	_, p3 := hold(t, g, nil) // a: 1/2 < 1/1
	_, p4 := hold(t, g, nil) // tie 2/2 == 1/1: WRR among a, b
	if got := p1.Name() + p2.Name() + p3.Name(); got != "aba" {
		t.Errorf("got %s, want aba", got)
	}
	if p4 == nil {
		t.Fatal("no pick")
	}
	// Property: over many held picks, conns stay proportional to weight.
	g = group(t, LeastConn, []int{3, 1, 2}, nil)
	for i := 0; i < 600; i++ {
		hold(t, g, nil)
	}
	for _, p := range g.Peers() {
		if p.Conns() != 100*p.Weight() {
			t.Errorf("%s: %d conns, want %d", p.Name(), p.Conns(), 100*p.Weight())
		}
	}
}

func TestLeastConnBackup(t *testing.T) {
	g := group(t, LeastConn, []int{1, 1, 1}, func(i int, s *Server) {
		s.Backup = i == 2
		s.Down = i == 0
		s.MaxConns = 1
	})
	_, p1 := hold(t, g, nil)
	_, p2 := hold(t, g, nil)
	a3 := g.Start(Request{})
	_, err := a3.Next(0, nil)
	if p1.Name() != "b" || p2.Name() != "c" || err != ErrNoPeer {
		t.Errorf("got %s %s %v, want b c (backup) ErrNoPeer", p1.Name(), p2.Name(), err)
	}
}

func TestRandomDistribution(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, alg := range []string{Random, RandomTwo, RandomTwoLeastConn} {
		g := group(t, alg, []int{1, 2, 3, 0, 2}, func(i int, s *Server) { s.Down = i == 4 })
		count := map[string]int{}
		const n = 60000
		for i := 0; i < n; i++ {
			a := g.Start(Request{})
			p, err := a.Next(0, rnd)
			if err != nil {
				t.Fatal(err)
			}
			count[p.Name()]++
			a.Done(0, p, false, 0)
		}
		if count["d"] != 0 || count["e"] != 0 {
			t.Errorf("%s: weight-0 d %d, down e %d", alg, count["d"], count["e"])
		}
		// random: proportional to weight. random two with all conns 0:
		// the second of two distinct weighted picks; P(x) is still
		// computable: sum over first y != x of p(y) * p(x)/(1-p(y)).
		w := map[string]float64{"a": 1, "b": 2, "c": 3}
		for _, name := range []string{"a", "b", "c"} {
			want := w[name] / 6
			if alg != Random {
				// all distinct second picks are from the weights of the
				// non-down peers, first excluded (down e is redrawn).
				want = 0
				for y, wy := range w {
					if y != name {
						want += wy / 6 * (w[name] / (6 - wy))
					}
				}
			}
			if got := float64(count[name]) / n; math.Abs(got-want) > 0.01 {
				t.Errorf("%s: %s share %.3f, want %.3f", alg, name, got, want)
			}
		}
	}
}

func TestRandomTwoAvoidsBusyPeer(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	g := group(t, RandomTwo, []int{1, 1, 1, 1}, nil)
	busy := peer(g, "a")
	busy.conns = 5 // as if 5 requests were in flight
	// a has 5 conns, the others 0: of two distinct peers a always loses.
	for i := 0; i < 2000; i++ {
		a := g.Start(Request{})
		p, _ := a.Next(0, rnd)
		if p == busy {
			t.Fatal("random two picked the busiest peer")
		}
		a.Done(0, p, false, 0)
	}
}

func TestRandomFallsBackToRoundRobin(t *testing.T) {
	// 1 usable peer of 10: up to 20 random misses, then round robin.
	rnd := rand.New(rand.NewPCG(5, 6))
	for _, alg := range []string{Random, RandomTwo} {
		g := group(t, alg, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, func(i int, s *Server) { s.Down = i != 7 })
		for i := 0; i < 300; i++ {
			a := g.Start(Request{})
			p, err := a.Next(0, rnd)
			if err != nil || p.Name() != "h" {
				t.Fatalf("%s: %v %v", alg, p, err)
			}
			a.Done(0, p, false, 0)
		}
	}
}

func TestLeastTime(t *testing.T) {
	g := group(t, LeastTime, []int{1, 1, 1}, nil)
	// Untried peers score 0 and are probed first, in WRR order.
	times := map[string]time.Duration{"a": 30 * time.Millisecond, "b": 10 * time.Millisecond, "c": 20 * time.Millisecond}
	var order strings.Builder
	for i := 0; i < 3; i++ {
		a, p := hold(t, g, nil)
		order.WriteString(p.Name())
		a.Done(0, p, false, times[p.Name()])
	}
	if order.String() != "abc" {
		t.Errorf("probe order %s, want abc", order.String())
	}
	// Then the fastest wins while it is idle.
	for i := 0; i < 5; i++ {
		a, p := hold(t, g, nil)
		if p.Name() != "b" {
			t.Errorf("pick %d: %s, want b", i, p.Name())
		}
		a.Done(0, p, false, times[p.Name()])
	}
	// With b busy (score 10*(1+1)=20 ms) c (20*1) ties, a (30) loses; the
	// next pick on b makes it 30: then c.
	ab, pb := hold(t, g, nil)
	if pb.Name() != "b" {
		t.Fatal(pb.Name())
	}
	_, p := hold(t, g, nil)
	if p.Name() != "b" && p.Name() != "c" {
		t.Errorf("tie b/c: got %s", p.Name())
	}
	ab.Done(0, pb, false, 10*time.Millisecond)
	// EWMA: 0.3*new + 0.7*old.
	pa := peer(g, "a")
	a := g.Start(Request{})
	a.cur, a.out = pa, true
	pa.conns++
	a.Done(0, pa, false, 130*time.Millisecond)
	if got, want := pa.ResponseTime(), 60*time.Millisecond; got != want {
		t.Errorf("ewma %v, want %v", got, want)
	}
}
