package scenarios

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lblab/lblab/history"
)

// A run that streams its folder (RunSimWrite: history to the file, checks
// and report collected as the events come) writes the very files of a
// run held in memory and written after (RunSim, Write): history, results,
// report.json, report.html and every plot, byte for byte; an interrupted
// one too (its checks read the history written back).
func TestStreamedRunWritesTheSameFolder(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		lab string
		ctx context.Context
	}{
		{"backend-crash", context.Background()},
		{"least-conn-vs-round-robin", context.Background()},
		{"vrrp-failover", context.Background()},
		{"healthcheck-502", cancelled},
	} {
		t.Run(c.lab, func(t *testing.T) {
			lab, err := Load(c.lab, nil)
			if err != nil {
				t.Fatal(err)
			}
			held, streamed := filepath.Join(t.TempDir(), "held"), filepath.Join(t.TempDir(), "streamed")
			o, err := RunSimContext(c.ctx, lab, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.Write(held); err != nil {
				t.Fatal(err)
			}
			s, _, err := RunSimWrite(c.ctx, lab, 1, streamed)
			if err != nil {
				t.Fatal(err)
			}
			if s.Events != nil || s.Results.Passed != o.Results.Passed || s.Results.Interrupted != (c.ctx == cancelled) {
				t.Errorf("streamed outcome: %d events, passed %v interrupted %v; held: passed %v",
					len(s.Events), s.Results.Passed, s.Results.Interrupted, o.Results.Passed)
			}
			if _, err := s.Write(held); err == nil {
				t.Error("a streamed outcome wrote a folder again, with no history")
			}
			files, err := os.ReadDir(held)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				want, _ := os.ReadFile(filepath.Join(held, f.Name()))
				got, err := os.ReadFile(filepath.Join(streamed, f.Name()))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s differs (%v): %d bytes streamed, %d held", f.Name(), err, len(got), len(want))
				}
			}
		})
	}
}

// A sweep holds no passing seed's history while it runs (each seed's
// events go to its checker alone), nor what it does not summarize of its
// outcome: each seed's results are those of the seed run alone (compacted
// when it passed), and a failing one (played again) has exactly its
// history.
func TestSweepSeedsCheckedAsTheyRun(t *testing.T) {
	for name, sets := range map[string][]string{
		"passing": nil,
		"failing": {"expect[1].status_count.min=100000", "expect[1].status_count.max=200000"},
	} {
		t.Run(name, func(t *testing.T) {
			lab, err := Load("backend-crash", sets)
			if err != nil {
				t.Fatal(err)
			}
			s, err := RunSweep(context.Background(), lab, 1, 3, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range s.Runs {
				alone, err := RunSim(lab, r.Seed)
				if err != nil {
					t.Fatal(err)
				}
				if alone.Results.Passed {
					keep := sweepMetricNames(lab)
					alone.compact(keep)
					if len(alone.Results.Metrics) > len(keep) || alone.Results.Expectations[0].Observed != "" {
						t.Errorf("seed %d compacted keeps %d metrics, words %q", r.Seed, len(alone.Results.Metrics), alone.Results.Expectations[0].Observed)
					}
				}
				if !reflect.DeepEqual(r.Results, alone.Results) || !reflect.DeepEqual(r.Marks, alone.Marks) {
					t.Errorf("seed %d: the sweep's results differ from the seed's run alone", r.Seed)
				}
				switch {
				case r.Results.Passed != (name == "passing"):
					t.Errorf("seed %d: passed %v", r.Seed, r.Results.Passed)
				case r.Results.Passed && (r.Events != nil || r.Results.Metrics["requests_failed"] == nil):
					t.Errorf("seed %d passed and kept %d events", r.Seed, len(r.Events))
				case !r.Results.Passed && !reflect.DeepEqual(r.Events, alone.Events):
					t.Errorf("seed %d failed and kept %d events, not its %d", r.Seed, len(r.Events), len(alone.Events))
				}
			}
		})
	}
}

// orderSink counts the events that come before the one added before them.
type orderSink struct {
	last         history.Stamp
	n, backwards int
}

func (o *orderSink) Add(ev history.Event) {
	if o.n > 0 && ev.T < o.last {
		o.backwards++
	}
	o.last, o.n = ev.T, o.n+1
}

// The simulator records every event at the virtual time it happens, so a
// streamed history is in time order as it is written: the file a held
// history (sorted by time) would give. Every catalog lab, several seeds.
func TestSimRecordsInTimeOrder(t *testing.T) {
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		lab, err := Load(e.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= 3; seed++ {
			var o orderSink
			if _, _, err := play(context.Background(), "sim", lab, seed, &o, Options{}); err != nil {
				t.Fatal(err)
			}
			if o.n == 0 || o.backwards > 0 {
				t.Errorf("%s seed %d: %d of %d events came before the one added before them", e.Name, seed, o.backwards, o.n)
			}
		}
	}
}
