package reports

import (
	"math"
	"sort"
)

// KSTwoSample is the two-sample Kolmogorov–Smirnov distance between the
// empirical laws of a and b: the largest gap, 0 to 1, between their
// empirical distribution functions. It is 0 when either is empty.
func KSTwoSample(a, b []float64) float64 {
	x := append([]float64(nil), a...)
	y := append([]float64(nil), b...)
	sort.Float64s(x)
	sort.Float64s(y)
	i, j, d := 0, 0, 0.0
	for i < len(x) && j < len(y) {
		v := math.Min(x[i], y[j])
		for i < len(x) && x[i] <= v {
			i++
		}
		for j < len(y) && y[j] <= v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(x))-float64(j)/float64(len(y))))
	}
	return d
}

// KSCritical is the 5% critical value of the two-sample
// Kolmogorov–Smirnov distance for samples of n and m values:
// 1.358 × √((n + m)/(n·m)). Two samples of one law are further apart one
// time in twenty. It is 1 when either sample is empty.
func KSCritical(n, m int) float64 {
	if n <= 0 || m <= 0 {
		return 1
	}
	return math.Min(1, 1.358*math.Sqrt(float64(n+m)/float64(n*m)))
}
