package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lblab report on a load run's folder draws the simulator's report: the
// latency, percentiles and shares plots.
func TestReportOfALoadRun(t *testing.T) {
	a := startLblabBackend(t, "--name", "a")
	dir := filepath.Join(t.TempDir(), "my-run")
	code, stdout, stderr := lblab(t, "load", "--rate", "500", "-t", "0.5s", "-k", "--out", dir, "--name", "bench-run", "http://"+a.addr+"/")
	wantExit(t, code, 0, stdout, stderr)
	wantFiles(t, dir, "history.jsonl", "results.json")
	r := readResults(t, dir)
	if r.Lab != "bench-run" || !r.Passed || r.Metrics["requests_sent"] != 250.0 || r.Metrics["completed"] != 250.0 {
		t.Fatalf("results.json: %+v", r)
	}
	for _, k := range []string{"failed", "timed_out", "p50_ms", "p99_ms", "rps", "share_by_backend"} {
		if _, ok := r.Metrics[k]; !ok {
			t.Errorf("results.json has no %s", k)
		}
	}
	hist, err := os.ReadFile(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(hist), `"kind":"request"`); n != 250 {
		t.Fatalf("%d request events, want 250", n)
	}

	code, stdout, stderr = lblab(t, "report", dir)
	wantExit(t, code, 0, stdout, stderr)
	if want := "report: " + filepath.Join(dir, "report.html") + "\n"; stdout != want {
		t.Fatalf("stdout %q, want %q", stdout, want)
	}
	wantFiles(t, dir, "report.html", "latency.png", "latency.svg", "percentiles.png", "shares.png", "statuses.png")
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "bench-run") || !strings.Contains(string(html), "every request sent is accounted for") {
		t.Fatal("report.html does not show the run's name and expectations")
	}

	// Without results.json the lab is named after the folder.
	if err := os.Remove(filepath.Join(dir, "results.json")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = lblab(t, "report", dir)
	wantExit(t, code, 0, stdout, stderr)
	if html, _ := os.ReadFile(filepath.Join(dir, "report.html")); !strings.Contains(string(html), "my-run") {
		t.Fatal("report.html is not named after the folder")
	}
}

func TestReportBadInput(t *testing.T) {
	code, stdout, stderr := lblab(t, "report", t.TempDir())
	wantExit(t, code, 2, stdout, stderr)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte("{not json\n"), 0o644)
	code, stdout, stderr = lblab(t, "report", dir)
	wantExit(t, code, 2, stdout, stderr)
}
