package scenarios

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
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
