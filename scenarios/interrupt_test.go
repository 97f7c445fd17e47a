package scenarios_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios"
)

// TestRunSimContextInterrupted: a run whose context is done stops, and its
// outcome (written as results.json) says it was interrupted and failed.
func TestRunSimContextInterrupted(t *testing.T) {
	lab, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o, err := scenarios.RunSimContext(ctx, lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Results.Interrupted || o.Results.Passed || o.Results.Metrics["ran_s"] != 0.0 {
		t.Errorf("results: interrupted %v, passed %v, ran_s %v; want true, false, 0",
			o.Results.Interrupted, o.Results.Passed, o.Results.Metrics["ran_s"])
	}
	dir := t.TempDir()
	if _, err := o.Write(dir); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Passed      bool `json:"passed"`
		Interrupted bool `json:"interrupted"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil || !r.Interrupted || r.Passed {
		t.Errorf("results.json (%v): %s", err, b)
	}
	// The same run to its end is not marked.
	o, err = scenarios.RunSimContext(context.Background(), lab, 1)
	if err != nil || o.Results.Interrupted || !o.Results.Passed {
		t.Errorf("uninterrupted run: err %v, interrupted %v, passed %v", err, o.Results.Interrupted, o.Results.Passed)
	}
}

// TestRunSweepInterruptedKeepsFinishedSeeds: a sweep cancelled after its
// fifth seed (one worker, so the order is fixed) returns those five seeds,
// checked, marked interrupted and failed, instead of an error.
func TestRunSweepInterruptedKeepsFinishedSeeds(t *testing.T) {
	lab, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sw, err := scenarios.RunSweepWith(ctx, lab, 7, 1000, 1,
		func(ctx context.Context, seed uint64) (*scenarios.Outcome, error) {
			return scenarios.RunSimContext(ctx, lab, seed)
		},
		func(done, _ int) {
			if done == 5 {
				cancel()
			}
		})
	if err != nil {
		t.Fatalf("an interrupted sweep returned %v, want what finished", err)
	}
	r := sw.Results
	if !r.Interrupted || r.Passed || r.Seeds != 5 || r.Seed != 7 || len(sw.Runs) != 5 || r.Metrics["seeds_requested"] != 1000 {
		t.Errorf("results: interrupted %v, passed %v, seeds %d from %d (%d runs), seeds_requested %v; want true, false, 5 from 7, 1000",
			r.Interrupted, r.Passed, r.Seeds, r.Seed, len(sw.Runs), r.Metrics["seeds_requested"])
	}
	for i, o := range sw.Runs {
		if o.Seed != 7+uint64(i) || o.Results.Interrupted {
			t.Errorf("run %d: seed %d, interrupted %v", i, o.Seed, o.Results.Interrupted)
		}
	}
	if len(r.Expectations) == 0 || !strings.HasPrefix(r.Expectations[0].Observed, "5 of 5 seeds") {
		t.Errorf("expectations: %+v", r.Expectations)
	}
	if _, err := sw.Write(t.TempDir()); err != nil {
		t.Errorf("writing an interrupted sweep: %v", err)
	}
}

// TestRunSweepInterruptedBeforeAnySeed: nothing finished is still a
// sweep that can be written, with no seeds.
func TestRunSweepInterruptedBeforeAnySeed(t *testing.T) {
	lab, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sw, err := scenarios.RunSweep(ctx, lab, 1, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sw.Results.Interrupted || sw.Results.Passed || sw.Results.Seeds != 0 {
		t.Errorf("results: %+v", sw.Results)
	}
	if _, err := sw.Write(t.TempDir()); err != nil {
		t.Errorf("writing an empty interrupted sweep: %v", err)
	}
}
