package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A failing sweep keeps the failing seeds' histories and points to them:
// results.json lists seed → file, the report links them, the terminal
// names them. With max 3.1 s, seeds 2, 3 and 5 of 1..6 fail (their
// takeovers come later), 1, 4 and 6 pass.
func TestFailingSeedsHistoriesListed(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := lblab(t, "run", "vrrp-failover", "--seeds", "6", "--set", "expect[0].failover.max=3.1s", "--out", dir)
	wantExit(t, code, 1, out, errOut)
	wantFiles(t, dir, "histories/seed-2.jsonl", "histories/seed-3.jsonl", "histories/seed-5.jsonl")
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Histories []struct {
			Seed   uint64 `json:"seed"`
			Passed bool   `json:"passed"`
			File   string `json:"file"`
		} `json:"histories"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(r.Histories)
	want := `[{"seed":2,"passed":false,"file":"histories/seed-2.jsonl"},{"seed":3,"passed":false,"file":"histories/seed-3.jsonl"},{"seed":5,"passed":false,"file":"histories/seed-5.jsonl"}]`
	if string(got) != want {
		t.Errorf("results.json histories = %s, want %s", got, want)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []string{"2", "3", "5"} {
		link := `<a href="histories/seed-` + seed + `.jsonl">seed ` + seed + ` (failed)</a>`
		if !strings.Contains(string(page), link) {
			t.Errorf("report.html lacks %s", link)
		}
		line := "seed " + seed + ": " + filepath.Join(dir, "histories", "seed-"+seed+".jsonl")
		if !strings.Contains(out, line) {
			t.Errorf("the summary lacks %q:\n%s", line, out)
		}
	}
	if strings.Contains(out, "seed-1.jsonl") {
		t.Errorf("the summary names a passing seed's history:\n%s", out)
	}
}
