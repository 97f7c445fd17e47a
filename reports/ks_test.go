package reports

import (
	"math"
	"testing"
)

func TestKSTwoSample(t *testing.T) {
	cases := []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3}, []float64{1, 2, 3}, 0},
		{[]float64{1, 2}, []float64{3, 4}, 1},
		{[]float64{1, 2, 3, 4}, []float64{3, 4, 5, 6}, 0.5},
		{[]float64{1}, nil, 0},
	}
	for _, c := range cases {
		if got := KSTwoSample(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("KSTwoSample(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	// 20 and 20 values: 1.358 × √(40/400) = 0.4294.
	if got := KSCritical(20, 20); math.Abs(got-0.42943) > 1e-4 {
		t.Errorf("KSCritical(20, 20) = %v, want 0.4294", got)
	}
	if KSCritical(0, 5) != 1 || KSCritical(1, 1) != 1 {
		t.Errorf("KSCritical of an empty or single pair should be 1")
	}
}
