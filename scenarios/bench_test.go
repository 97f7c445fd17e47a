package scenarios_test

import (
	"context"
	"testing"
	"time"

	"github.com/lblab/lblab/scenarios"
)

// BenchmarkLabRun runs vrrp-failover (20 s of virtual time) once per op and
// reports how many virtual seconds the simulator covers per wall-clock
// second: its speed-up over real time, the reference a real lab runs at.
func BenchmarkLabRun(b *testing.B) {
	lab, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		if _, err := scenarios.RunSim(lab, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
	wall := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)*lab.RunDuration().Seconds()/wall, "sim_s/wall_s")
}

// BenchmarkSweep100 runs a 100-seed sweep on all cores once per op.
func BenchmarkSweep100(b *testing.B) {
	lab, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := scenarios.RunSweep(context.Background(), lab, 1, 100, nil); err != nil {
			b.Fatal(err)
		}
	}
}
