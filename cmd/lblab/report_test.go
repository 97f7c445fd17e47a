package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios"
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

// runFiles returns the report and plots a run's folder holds, by name.
func runFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".html", ".png", ".svg":
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = b
		}
	}
	if len(out["report.html"]) == 0 {
		t.Fatalf("%s has no report.html", dir)
	}
	return out
}

// sameFiles fails the test unless got holds the files of want, byte for
// byte; it names the first line of report.html that differs.
func sameFiles(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: no %s", what, name)
		case !bytes.Equal(g, w) && name == "report.html":
			gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Errorf("%s: report.html differs at line %d:\n got %.300s\nwant %.300s", what, i+1, gl[i], wl[i])
					break
				}
			}
			if len(gl) != len(wl) {
				t.Errorf("%s: report.html has %d lines, want %d", what, len(gl), len(wl))
			}
		case !bytes.Equal(g, w):
			t.Errorf("%s: %s differs (%d bytes, want %d)", what, name, len(g), len(w))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: %s, which the run did not draw", what, name)
		}
	}
}

// redraw runs lblab report DIR (with args) and returns the folder's files.
func redraw(t *testing.T, dir string, args ...string) map[string][]byte {
	t.Helper()
	code, stdout, stderr := lblab(t, append([]string{"report", dir}, args...)...)
	wantExit(t, code, 0, stdout, stderr)
	return runFiles(t, dir)
}

// runInto runs lblab run with args into a new folder and returns it; the
// run may pass or fail (exit 0 or 1).
func runInto(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := lblab(t, append([]string{"run", "--out", dir}, args...)...)
	if code != 0 && code != 1 {
		wantExit(t, code, 0, stdout, stderr)
	}
	return dir
}

// TestReportRedrawsEveryCatalogRun: for every catalog lab (sim, seed 1),
// lblab report DIR draws the run's report.html and plots byte for byte:
// title, teaching text, theory, marks, expected shares and the time axis
// to the lab's end come from the folder. The run's folder in one language
// redraws as the run in the other (--lang).
func TestReportRedrawsEveryCatalogRun(t *testing.T) {
	plainLocale(t)
	entries, err := scenarios.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			en := runInto(t, e.Name, "--seed", "1", "--lang", "en")
			zh := runInto(t, e.Name, "--seed", "1", "--lang", "zh")
			runEn, runZh := runFiles(t, en), runFiles(t, zh)
			sameFiles(t, "lblab report of the English run", redraw(t, en), runEn)
			sameFiles(t, "lblab report --lang zh of the English run", redraw(t, en, "--lang", "zh"), runZh)
			sameFiles(t, "lblab report --lang en of the Chinese run", redraw(t, zh, "--lang", "en"), runEn)
			sameFiles(t, "lblab report of the Chinese run", redraw(t, zh), runZh)
		})
	}
}

// TestReportRedrawsASweep: a sweep's folder (no history.jsonl of its
// own) redraws as the sweep drew it: the failover histogram of a VRRP
// lab, the metric panels of a load-balancer lab, in either language.
func TestReportRedrawsASweep(t *testing.T) {
	plainLocale(t)
	for _, c := range []struct {
		lab, seeds string
	}{{"vrrp-failover", "30"}, {"backend-crash", "3"}} {
		t.Run(c.lab, func(t *testing.T) {
			en := runInto(t, c.lab, "--seeds", c.seeds, "--lang", "en")
			zh := runInto(t, c.lab, "--seeds", c.seeds, "--lang", "zh")
			if _, err := os.Stat(filepath.Join(en, "history.jsonl")); err == nil {
				t.Fatal("a sweep's folder has a history.jsonl: the test no longer tests a folder without one")
			}
			runEn, runZh := runFiles(t, en), runFiles(t, zh)
			sameFiles(t, "lblab report of the sweep", redraw(t, en), runEn)
			sameFiles(t, "lblab report --lang zh of the sweep", redraw(t, en, "--lang", "zh"), runZh)
		})
	}
}

// TestReportRefusesADamagedFolder: a report.json of a newer format, cut
// short, of the wrong type or range, with a field this lblab does not
// know, of another lab than results.json's, or too large, and a damaged
// results.json, are refused with exit 2 and a message naming the file
// (line and column where there is one) and the field; report.html is
// left as it was.
func TestReportRefusesADamagedFolder(t *testing.T) {
	plainLocale(t)
	run := runInto(t, "vrrp-failover")
	good, err := os.ReadFile(filepath.Join(run, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	results, err := os.ReadFile(filepath.Join(run, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				t.Fatalf("report.json has no %q: update the test", old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	for _, c := range []struct {
		name   string
		file   string
		damage func(string) string
		want   string
		wantZh string
	}{
		{"newer format", "report.json", edit(`"format": 1`, `"format": 2`),
			"report.json: format 2: written by a newer lblab; this one reads format 1 at most", "由更新版本的 lblab 写出"},
		{"no format", "report.json", edit(`"format": 1,`, ``), "report.json: format: missing", ""},
		{"format not a number", "report.json", edit(`"format": 1`, `"format": "1"`), `report.json: format: "1" is not a version`, ""},
		{"cut short", "report.json", func(s string) string { return s[:len(s)/2] }, "report.json: cut short", ""},
		{"syntax", "report.json", edit(`"lang": "en",`, `"lang": "en",,`), "report.json:4:16: invalid character ','", ""},
		{"wrong type", "report.json", edit(`"duration_s": 20`, `"duration_s": "20"`), "report.json:9:3: duration_s: got string, want a number", ""},
		{"type in a list", "report.json", edit(`"vrid": 51`, `"vrid": "51"`), "report.json:12:7: theory.vrid: got string, want a whole number", ""},
		{"unknown field", "report.json", edit(`"format": 1,`, `"format": 1, "colour": "red",`), `report.json:2:16: unknown field "colour"`, ""},
		{"out of range", "report.json", edit(`"version": 2`, `"version": 4`), "report.json: theory[0].version: 4: want 2 or 3", "theory[0].version：4：应为 2 或 3"},
		{"negative time", "report.json", edit(`"duration_s": 20`, `"duration_s": -1`), "report.json: duration_s: -1 s: want 0 to 86400 seconds", ""},
		{"unknown mark", "report.json", edit(`"key": "markTheory"`, `"key": "title"`), `report.json: marks[0].key: "title": want a mark's sentence`, ""},
		{"mark arguments", "report.json", edit(`"failover",`, ``), "report.json: marks[0].args: 2: want 3 arguments for markTheory", ""},
		{"sweep value", "report.json", edit(`"duration_s": 20,`, `"duration_s": 20, "sweep": {"metric": "failover_s", "values": [1e13], "lo": 0, "hi": 1},`),
			"report.json: sweep.values[0]: 1e+13: want -1e12 to 1e12", ""},
		{"narrow window", "report.json", edit(`"duration_s": 20,`, `"duration_s": 20, "sweep": {"metric": "failover_s", "values": [1], "lo": 0, "hi": 5e-324},`),
			"report.json: sweep.hi: 5e-324: want lo (0) for no window, or at least lo + 1e-9", "无窗口时等于 lo（0）"},
		{"language", "report.json", edit(`"lang": "en"`, `"lang": "fr"`), `report.json: lang: "fr": want "en" or "zh"`, ""},
		{"two values", "report.json", func(s string) string { return s + "{}" }, "report.json:36:1: more than one JSON value", ""},
		{"another lab", "report.json", edit(`"lab": "vrrp-failover"`, `"lab": "vrrp-preempt"`),
			`report.json: lab: "vrrp-preempt", but results.json is of lab "vrrp-failover": the folder mixes two runs`, ""},
		{"results.json", "results.json", func(s string) string { return strings.Replace(s, `"seed": 1`, `"seed": -1`, 1) },
			"results.json:4:3: seed: got number -1, want a whole number, 0 or more", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src := map[string][]byte{"report.json": good, "results.json": results}
			for name, b := range src {
				if name == c.file {
					b = []byte(c.damage(string(b)))
				}
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			hist, err := os.ReadFile(filepath.Join(run, "history.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "history.jsonl"), hist, 0o644)
			code, stdout, stderr := lblab(t, "report", dir)
			wantExit(t, code, 2, stdout, stderr)
			if !strings.Contains(stderr, filepath.Join(dir, c.want)) {
				t.Errorf("stderr %q lacks %q", stderr, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "report.html")); err == nil {
				t.Error("a refused folder got a report.html")
			}
			if c.wantZh != "" {
				code, stdout, stderr := lblab(t, "report", dir, "--lang", "zh")
				wantExit(t, code, 2, stdout, stderr)
				if !strings.Contains(stderr, c.wantZh) {
					t.Errorf("stderr in Chinese %q lacks %q", stderr, c.wantZh)
				}
			}
		})
	}

	t.Run("too large", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "report.json")
		if err := os.WriteFile(path, good, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, reports.MaxFolderFile+1); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := lblab(t, "report", dir)
		wantExit(t, code, 2, stdout, stderr)
		if want := fmt.Sprintf("%s: larger than %d bytes", path, reports.MaxFolderFile); !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	})
}
