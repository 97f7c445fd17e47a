package scenarios_test

import (
	"testing"

	"github.com/lblab/lblab/scenarios"
)

// BenchmarkHAPairSeed runs one seed of ha-pair-master-crash a time (a
// sweep's unit of work: 1000 seeds must take under 10 s on 2 cores).
func BenchmarkHAPairSeed(b *testing.B) {
	lab, err := scenarios.Load("ha-pair-master-crash", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := scenarios.RunSim(lab, uint64(i+1)); err != nil {
			b.Fatal(err)
		}
	}
}
