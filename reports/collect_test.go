package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// A report drawn from a collector (the run's events as they came, or its
// history.jsonl read one event at a time) is the report drawn from the
// events held in memory, byte for byte: when the history ends within the
// folder's duration, when it runs past it (a real run's last events: the
// time buckets are cut again for the later end, by a second pass), and
// for a folder without report.json (its end known only at the end).
func TestCollectedReportIsTheHeldOne(t *testing.T) {
	for name, c := range map[string]struct {
		events   []history.Event
		duration time.Duration
		inputs   bool
	}{
		"within":         {lbHistory(3000, 60), 60 * time.Second, true},
		"past the end":   {append(lbHistory(3000, 60), faultEv(75, "crash", "s1")), 60 * time.Second, true},
		"no report.json": {lbHistory(3000, 60), 0, false},
	} {
		t.Run(name, func(t *testing.T) {
			res := Results{Lab: "lb", Mode: "sim", Seed: 1, Passed: true, Metrics: map[string]any{}}
			in := Inputs{Lab: "lb", Lang: LangEnglish, Title: "t", Duration: c.duration}
			held, streamed := t.TempDir(), t.TempDir()
			var err error
			if c.inputs {
				_, err = WriteRun(held, res, in, c.events)
			} else {
				err = WriteResults(held, res)
				if err == nil {
					f, _ := ReadFolder(held)
					_, err = Write(held, f.Report("", c.events))
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := history.WriteJSONL(&buf, c.events); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(streamed, "history.jsonl"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			passes := 0
			replay := func(sink history.Sink) error {
				passes++
				return history.ReadJSONLTo(bytes.NewReader(buf.Bytes()), "history.jsonl", sink)
			}
			if c.inputs {
				col := NewCollector(c.duration.Seconds())
				_ = replay(col)
				if _, err = WriteRunCollected(streamed, res, in, col); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := WriteResults(streamed, res); err != nil {
					t.Fatal(err)
				}
				f, _ := ReadFolder(streamed)
				r, err := f.StreamReport("", replay)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := Write(streamed, r); err != nil {
					t.Fatal(err)
				}
			}
			if want := map[string]int{"within": 1, "past the end": 1, "no report.json": 2}[name]; passes != want {
				t.Errorf("%d passes over the history, want %d", passes, want)
			}
			files, _ := os.ReadDir(held)
			for _, f := range files {
				want, _ := os.ReadFile(filepath.Join(held, f.Name()))
				got, err := os.ReadFile(filepath.Join(streamed, f.Name()))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s differs (%v)", f.Name(), err)
				}
			}
		})
	}
}
