package reports

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// TestFolderRoundTrip: what WriteRun stores in report.json reads back
// exactly (times to the nanosecond, marks' arguments, a sweep's values),
// and the folder's report is the stored one in either language.
func TestFolderRoundTrip(t *testing.T) {
	in := Inputs{
		Lab: "vrrp-failover", Lang: LangChinese, Title: "VRRP: the master dies", TitleZh: "VRRP：主路由器宕机",
		Teaching: "Two routers.\n\n`MDI`", Duration: 20*time.Second + 1,
		Theory: []VRRPTheory{{VRID: 51, Version: 3, Interval: 1 * time.Second, BackupPriority: 100,
			Skew: 609375 * time.Microsecond, MDI: 3609375 * time.Microsecond, Formula: "3 × 1 s + (256 − 100)/256 s = 3.609375 s",
			Lo: 2609475 * time.Microsecond, Hi: 3609475 * time.Microsecond}},
		Marks: []Mark{{From: 10187366133, To: 13023537000, Key: "markTheory", Args: []any{"failover", "2.836170867 s", "[2.609475 s, 3.609475 s]"}},
			{From: time.Second, To: 2 * time.Second, Label: "by hand"}},
		Shares:       []Share{{Group: "web", Server: "10.0.0.1:80", Expected: 1.0 / 3}},
		Sweep:        &Sweep{Metric: "failover_s", Values: []float64{2.7, 3.1000000001}, Lo: 2.609475, Hi: 3.609475, KS: 0.25, Reference: []float64{3}, ReferenceLabel: "simulator, 1 seeds", KSReference: 0.5},
		SweepMetrics: []SweepMetric{{Name: "p99_ms", Values: []float64{81.531}, Undecided: 2}},
		Topology: &Topology{VPCs: []TopoVPC{{Name: "vpc-a", CIDR: "192.168.6.0/25"}},
			VSwitches: []TopoVSwitch{{Name: "vsw-a", VPC: "vpc-a", Zone: "cn-hangzhou-h", CIDR: "192.168.6.0/25"}},
			Hosts:     []TopoHost{{Name: "ecs-a", VSwitch: "vsw-a", Address: "192.168.6.76"}}},
	}
	dir := t.TempDir()
	res := Results{Lab: "vrrp-failover", Mode: "sim", Seed: 1, Seeds: 2, Metrics: map[string]any{}}
	if _, err := WriteRun(dir, res, in, nil); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*f.Inputs, in) {
		t.Fatalf("report.json read back as\n%+v\nwant\n%+v", *f.Inputs, in)
	}
	if !f.Sweep() {
		t.Error("a folder of 2 seeds is not a sweep's")
	}
	zh, en := f.Report("", nil), f.Report(LangEnglish, nil)
	if zh.Lang != LangChinese || zh.Title != in.TitleZh || zh.Teaching != in.Teaching {
		t.Errorf("the run's own language: %s %q %q", zh.Lang, zh.Title, zh.Teaching)
	}
	if en.Lang != LangEnglish || en.Title != in.Title || en.Duration != in.Duration || !reflect.DeepEqual(en.Sweep, in.Sweep) {
		t.Errorf("--lang en: %s %q %v", en.Lang, en.Title, en.Duration)
	}
	b, err := os.ReadFile(filepath.Join(dir, InputsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"format": 1,`, `"duration_s": 20.000000001,`, `"from_s": 10.187366133,`, `"interval_s": 1,`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report.json lacks %s:\n%s", want, b)
		}
	}
}

// FuzzFolder: whatever report.json holds, ReadFolder refuses it or the
// report draws from it without a panic, for a single run (a failover
// history, the timeline drawn with its theory and marks) and for a sweep.
func FuzzFolder(f *testing.F) {
	single := `{"format": 1, "lab": "x", "lang": "zh", "title": "t", "duration_s": 40,
  "theory": [{"vrid": 51, "version": 2, "interval_s": 1, "backup_priority": 100, "skew_s": 0.609375,
    "mdi_s": 3.609375, "formula": "f", "lo_s": 2.609375, "hi_s": 3.609375}],
  "marks": [{"from_s": 10, "to_s": 13.2, "key": "markTheory", "args": ["failover", "3.2 s", "[2.6 s, 3.6 s]"]}],
  "shares": [{"group": "web", "server": "a", "expected": 0.5}]}`
	sweep := `{"format": 1, "lab": "x", "lang": "en", "title": "t", "duration_s": 40,
  "sweep": {"metric": "failover_s", "values": [2.7, 3.1, 3.5], "lo": 2.609375, "hi": 3.609375, "ks": 0.1,
    "reference": [3, 3.2], "reference_label": "simulator, 2 seeds", "ks_reference": 0.5},
  "sweep_metrics": [{"name": "p99_ms", "values": [81, 90, 1e12], "lo": 0, "hi": 100, "undecided": 1},
    {"name": "requests_failed", "values": [0, 0, 5]}]}`
	f.Add([]byte(single), false)
	f.Add([]byte(sweep), true)
	f.Add([]byte(strings.Replace(sweep, `"values": [2.7, 3.1, 3.5], "lo": 2.609375, "hi": 3.609375`,
		`"values": [-1e12, 1e12, 0], "lo": 0, "hi": 1e-300`, 1)), true)
	f.Fuzz(func(t *testing.T, report []byte, isSweep bool) {
		dir := t.TempDir()
		results := `{"lab": "x", "mode": "sim", "seed": 1, "passed": true, "expectations": [], "metrics": {}}`
		var events []history.Event
		if isSweep {
			results = `{"lab": "x", "mode": "sim", "seed": 1, "seeds": 3, "passed": true, "expectations": [], "metrics": {}}`
		} else {
			events = failoverHistory()
		}
		if err := os.WriteFile(filepath.Join(dir, "results.json"), []byte(results), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, InputsFile), report, 0o644); err != nil {
			t.Fatal(err)
		}
		folder, err := ReadFolder(dir)
		if err != nil {
			return
		}
		Write(dir, folder.Report("", events)) // may fail, must not panic
	})
}
