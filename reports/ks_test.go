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

// A real world's sweep against the simulator's: the report's sweep table
// shows the KS distance beside the 5% critical value of the two sample
// sizes and the verdict, in English and in Chinese.
func TestSweepTableKSToReference(t *testing.T) {
	s := &Sweep{Metric: "failover_s", Values: []float64{2.7, 2.8, 2.9, 3.0}, Lo: 2.6, Hi: 3.6,
		Reference: []float64{3.1, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8}, ReferenceLabel: "simulator, 8 seeds"}
	s.KSReference = KSTwoSample(s.Values, s.Reference) // 1: no overlap
	near := *s
	near.Reference, near.ReferenceLabel = []float64{2.75, 2.85, 2.95, 3.05}, "simulator, 4 seeds"
	near.KSReference = KSTwoSample(near.Values, near.Reference) // 0.25
	for _, c := range []struct {
		s          *Sweep
		lang, want string
	}{
		{s, LangEnglish, "1.0000 against simulator, 8 seeds; 5% critical value 0.8316: FAIL"},
		{s, LangChinese, "1.0000（对比simulator, 8 seeds）；5% 临界值 0.8316：失败"},
		{&near, LangEnglish, "0.2500 against simulator, 4 seeds; 5% critical value 0.9603: PASS"},
	} {
		sv := sweepTable(c.s, langOf(c.lang))
		last := sv.Rows[len(sv.Rows)-1]
		if string(last.Value) != c.want {
			t.Errorf("%s: the sweep table's last row is %s %q, want %q", c.lang, last.Name, last.Value, c.want)
		}
	}
}
