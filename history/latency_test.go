package history

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Percentile is nearest rank (⌈p/100 × n⌉) read at the histogram's
// precision: never below the exact value's microsecond, at most 0.1 %
// above it, never above the exact maximum; exact below 2.048 ms.
func TestLatenciesNearestRank(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 10, 99, 100, 101, 1000, 12345} {
		var l Latencies
		vals := make([]time.Duration, n)
		for i := range vals {
			vals[i] = time.Duration(r.ExpFloat64() * float64(20*time.Millisecond))
			l.Record(vals[i])
		}
		slices.Sort(vals)
		for _, p := range []float64{0, 1, 50, 90, 99, 99.9, 100} {
			exact := vals[Rank(p, n)-1]
			got := l.Percentile(p)
			us := exact.Round(time.Microsecond)
			if got < us && got != l.Max() || got > us+us/1000+time.Microsecond || got > l.Max() {
				t.Fatalf("n %d p%g: %v, exact %v", n, p, got, exact)
			}
			if exact < 2*time.Millisecond && got != min(us, l.Max()) {
				t.Fatalf("n %d p%g: %v, want exactly %v", n, p, got, us)
			}
		}
		if l.Max() != vals[n-1] || l.N() != n {
			t.Fatalf("max %v n %d", l.Max(), l.N())
		}
	}
	if Rank(99, 100) != 99 || Rank(99, 101) != 100 || Rank(50, 1) != 1 || Rank(0, 5) != 1 || Rank(100, 5) != 5 {
		t.Fatal("Rank")
	}
	var a, b Latencies
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	a.Merge(&b)
	var empty Latencies
	a.Merge(&empty)
	if a.N() != 2 || a.Percentile(100) != 3*time.Millisecond || a.Mean() != 2*time.Millisecond || empty.Percentile(50) != 0 {
		t.Fatalf("merge: n %d p100 %v mean %v", a.N(), a.Percentile(100), a.Mean())
	}
}
