// Package reports turns a run's history and results into the files a run
// leaves behind: results.json, report.html with its plots (PNG and SVG), and
// JUnit XML.
package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lblab/lblab/i18n"
)

// Results is the content of results.json (DESIGN.md).
type Results struct {
	// Lab is the lab's name.
	Lab string `json:"lab"`
	// Mode is the world the lab ran in: "sim", "netns" or "containers".
	Mode string `json:"mode"`
	// Seed is the run's seed; for a sweep, the first seed.
	Seed uint64 `json:"seed"`
	// Seeds is the number of seeds of a sweep; 0 for a single run.
	Seeds int `json:"seeds,omitempty"`
	// Passed is true when every expectation held (never for an
	// interrupted run).
	Passed bool `json:"passed"`
	// Interrupted is true when a signal (SIGINT, SIGTERM) stopped the run
	// before its end: the expectations and metrics then cover only what
	// was seen until then (for a sweep, the seeds that finished).
	Interrupted bool `json:"interrupted,omitempty"`
	// Expectations lists each check with what it saw and what it wanted.
	Expectations []Expectation `json:"expectations"`
	// Metrics holds figures with stable snake_case names that carry their
	// unit (failover_s, p99_ms); values are numbers or maps of numbers.
	Metrics map[string]any `json:"metrics"`
	// Warnings are what the lab's embedded configurations hold that lblab
	// does not model, each with its place (FILE:LINE:COL: FIELD: MSG (line
	// N of r1's keepalived.conf)). Omitted when none.
	Warnings []string `json:"warnings,omitempty"`
	// WarningTexts are Warnings as messages (an English format and its
	// arguments), for a report in another language (WarningsIn); omitted
	// when none.
	WarningTexts []i18n.Text `json:"warning_texts,omitempty"`
	// FaultNamesZh are the Chinese names (the lab's name_zh) of the faults
	// that have one, by their name in history.jsonl: a Chinese report
	// draws them on its fault lines. Omitted when none.
	FaultNamesZh map[string]string `json:"fault_names_zh,omitempty"`
	// Histories are the seed histories a sweep wrote under histories/:
	// those of the seeds that failed (of every seed with
	// --keep-histories), in seed order. Omitted when none.
	Histories []SeedHistory `json:"histories,omitempty"`
	// MissingSeeds are the seeds of a merged sweep's range (lblab merge)
	// that no shard's folder held, in order: the sweep does not pass.
	// Omitted when none.
	MissingSeeds []uint64 `json:"missing_seeds,omitempty"`
}

// SeedHistory is the history of one seed of a sweep.
type SeedHistory struct {
	// Seed is the seed.
	Seed uint64 `json:"seed"`
	// Passed is true when every expectation held on it.
	Passed bool `json:"passed"`
	// File is the history's path from the sweep's folder
	// (histories/seed-N.jsonl).
	File string `json:"file"`
}

// Expectation is one checked expectation of a lab.
type Expectation struct {
	// Name is the expectation's name as written in the lab (its name:
	// field, in every language of the run).
	Name string `json:"name"`
	// NameZh is the lab's name_zh of the expectation: its name in a
	// Chinese report or summary (NameIn). Omitted when the lab has none.
	NameZh string `json:"name_zh,omitempty"`
	// Passed is true when it held.
	Passed bool `json:"passed"`
	// Observed says what the run showed ("3.214843 s").
	Observed string `json:"observed"`
	// Expected says what the lab wanted ("in [2.609375 s, 3.609375 s]").
	Expected string `json:"expected"`
	// ObservedText and ExpectedText are Observed and Expected as
	// messages (an English format and its arguments), for a report or
	// summary in another language (ObservedIn, ExpectedIn); omitted when
	// the run gave none.
	ObservedText i18n.Text `json:"observed_text,omitzero"`
	ExpectedText i18n.Text `json:"expected_text,omitzero"`
}

// NameIn says Name in language code (LangEnglish or LangChinese): NameZh
// in Chinese when the lab gave one, else the runner's own translation of
// its built-in checks' names (ExpectationName).
func (e Expectation) NameIn(code string) string {
	if code == LangChinese && e.NameZh != "" {
		return e.NameZh
	}
	return ExpectationName(code, e.Name)
}

// ObservedIn says Observed in language code (LangEnglish or LangChinese).
func (e Expectation) ObservedIn(code string) string {
	return i18n.Or(e.ObservedText, e.Observed).In(code)
}

// ExpectedIn says Expected in language code.
func (e Expectation) ExpectedIn(code string) string {
	return i18n.Or(e.ExpectedText, e.Expected).In(code)
}

// WarningsIn says Warnings in language code: each by its message when
// the run gave one, else as written.
func (r Results) WarningsIn(code string) []string {
	out := make([]string, len(r.Warnings))
	for i, w := range r.Warnings {
		var t i18n.Text
		if i < len(r.WarningTexts) {
			t = r.WarningTexts[i]
		}
		out[i] = i18n.Or(t, w).In(code)
	}
	return out
}

// WriteResults writes r as indented JSON to dir/results.json.
func WriteResults(dir string, r Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	path := filepath.Join(dir, "results.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	return nil
}
