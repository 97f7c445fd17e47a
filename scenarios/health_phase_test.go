package scenarios_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// Each seed draws the phase of every server's health checks, so a sweep
// sees the detection delay spread over its whole theory window, uniformly
// (Kolmogorov–Smirnov distance to the uniform law under the 1% critical
// value 1.628/√n); before, the probes came at the same phase for every
// seed and the delay was one value. One seed's run stays the same run.
func TestHealthPhaseFromTheSeed(t *testing.T) {
	path := filepath.Join("testdata", "truth", "health-phase.yaml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := labfile.Parse(path, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	s, err := scenarios.RunSweep(context.Background(), lab, 1, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Results.Passed {
		t.Fatalf("the sweep failed: %+v", s.Results.Expectations)
	}
	for _, name := range []string{"health_down_delay_s", "health_up_delay_s"} {
		i := slices.IndexFunc(s.Metrics, func(m reports.SweepMetric) bool { return m.Name == name })
		if i < 0 {
			t.Fatalf("no sweep metric %s in %+v", name, s.Metrics)
		}
		m := s.Metrics[i]
		if len(m.Values) != n || !(m.Hi > m.Lo) {
			t.Fatalf("%s: %d values, window [%v, %v]", name, len(m.Values), m.Lo, m.Hi)
		}
		lo, hi := slices.Min(m.Values), slices.Max(m.Values)
		// The window is covered: with n uniform draws, the smallest lies
		// in the first tenth of the window but with probability 0.9^n.
		tenth := (m.Hi - m.Lo) / 10
		if lo < m.Lo || hi > m.Hi || lo > m.Lo+tenth || hi < m.Hi-tenth {
			t.Errorf("%s spans [%.4f, %.4f] over %d seeds, want it to cover the window [%.4f, %.4f] to a tenth", name, lo, hi, n, m.Lo, m.Hi)
		}
		limit := 1.628 / math.Sqrt(n)
		switch {
		case m.KS == nil:
			t.Errorf("%s: no KS distance to uniform", name)
		case *m.KS > limit:
			t.Errorf("%s: KS distance to uniform %.4f over %d seeds, want ≤ %.4f", name, *m.KS, n, limit)
		}
		if got, _ := s.Results.Metrics[name].(map[string]any)["ks_distance"].(float64); m.KS != nil && got != *m.KS {
			t.Errorf("results.json %s.ks_distance = %v, want %v", name, got, *m.KS)
		}
	}

	// Two seeds, two phases: the detection delays differ. The same seed twice:
	// the same history.
	historyOf := func(seed uint64) []byte {
		o, err := scenarios.RunSim(lab, seed)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := history.WriteJSONL(&b, o.Events); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	delay := func(seed uint64) float64 {
		o, err := scenarios.RunSim(lab, seed)
		if err != nil {
			t.Fatal(err)
		}
		return o.Results.Metrics["health_down_delay_s"].(float64)
	}
	if a, b := delay(1), delay(2); a == b {
		t.Errorf("seeds 1 and 2 detect the crash after the same delay %v s: the phase does not follow the seed", a)
	}
	if a, b := historyOf(3), historyOf(3); !bytes.Equal(a, b) {
		t.Error("two runs of seed 3 differ")
	}
}
