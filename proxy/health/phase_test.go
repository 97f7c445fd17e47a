package health

import (
	"math"
	"sort"
	"testing"
	"time"
)

// A phase is a function of the seed, the group and the server: the same
// inputs give the same phase, in [0, interval); another seed, group or
// server gives another.
func TestPhaseIsAFunctionOfSeedGroupServer(t *testing.T) {
	iv := 2 * time.Second
	a := Phase(1, "active", "a3:80", iv)
	if b := Phase(1, "active", "a3:80", iv); a != b {
		t.Fatalf("seed 1 gives %v then %v", a, b)
	}
	if a < 0 || a >= iv {
		t.Fatalf("phase %v outside [0, %v)", a, iv)
	}
	for _, other := range []struct {
		seed          uint64
		group, server string
	}{{2, "active", "a3:80"}, {1, "both", "a3:80"}, {1, "active", "a2:80"}, {1, "activea", "3:80"}, {1, "", "activea3:80"}} {
		if b := Phase(other.seed, other.group, other.server, iv); b == a {
			t.Errorf("seed %d, %q, %q: the same phase %v as seed 1, active, a3:80", other.seed, other.group, other.server, a)
		}
	}
	if p := Phase(1, "g", "s", 0); p != 0 {
		t.Errorf("interval 0: phase %v, want 0", p)
	}
}

// Over many seeds a server's phase spreads uniformly over the interval:
// the Kolmogorov–Smirnov distance to the uniform law stays under the 1%
// critical value 1.628/√n.
func TestPhaseIsUniformOverSeeds(t *testing.T) {
	const n = 2000
	iv := 3 * time.Second
	for _, server := range []string{"a1:80", "10.0.0.2:8080"} {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(Phase(uint64(i), "web", server, iv)) / float64(iv)
		}
		sort.Float64s(x)
		d := 0.0
		for i, v := range x {
			d = math.Max(d, math.Max(float64(i+1)/n-v, v-float64(i)/n))
		}
		if limit := 1.628 / math.Sqrt(n); d > limit {
			t.Errorf("%s: KS distance to uniform %.4f over %d seeds, want ≤ %.4f", server, d, n, limit)
		}
	}
}

// A seeded checker probes each server first at start + its phase; the
// default one staggers them i × interval / n.
func TestSeededCheckerStartsAtThePhases(t *testing.T) {
	cfg := Config{Interval: 2 * time.Second}
	start := 10 * time.Second
	names := []string{"a:80", "b:80", "c:80"}
	for i, name := range names {
		c := NewSeeded(cfg, start, 7, "web", names) // Due marks what it returns in flight
		at := start + Phase(7, "web", name, cfg.Interval)
		if due := c.Due(at-1, nil); contains(due, i) {
			t.Errorf("%s due at %v, before its phase (%v)", name, at-1, at)
		}
		if due := c.Due(at, nil); !contains(due, i) {
			t.Errorf("%s not due at start + phase %v", name, at)
		}
	}
	// Interval left out: the phase is drawn over the default, 2 s.
	d := NewSeeded(Config{}, 0, 7, "web", names[:1])
	if at, _ := d.Deadline(); at != Phase(7, "web", "a:80", 2*time.Second) {
		t.Errorf("default interval: first probe at %v, want %v", at, Phase(7, "web", "a:80", 2*time.Second))
	}
	s := New(cfg, 4, start)
	for i := range 4 {
		at := start + time.Duration(i)*cfg.Interval/4
		if due := s.Due(at, nil); len(due) != 1 || due[0] != i {
			t.Errorf("staggered: at %v due %v, want [%d]", at, due, i)
		}
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
