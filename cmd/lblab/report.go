package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newReport) }

func newReport() *cobra.Command {
	c := &cobra.Command{
		Use:   "report DIR",
		Short: "Draw report.html and its plots from a run's folder (history.jsonl, results.json)",
		Long: `Draw the report of a run from its folder: DIR/history.jsonl and, when
present, DIR/results.json (its lab name, expectations and metrics; the
lab is named after the folder otherwise). This is the report lblab run
writes, so a real run (lblab load --out DIR) and a simulated one read the
same way: latency over time, percentiles, shares by backend, statuses.

It writes DIR/report.html and the plots (PNG and SVG) and prints the
report's path. --lang zh writes the page's fixed words in Chinese (by
default when the locale is zh_*, as for lblab run).

Exit status: 0 when the report is written, 1 when it cannot be, 2 when DIR
holds no readable history.`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			language, err := langOf(c)
			if err != nil {
				return err
			}
			path, err := writeReport(args[0], language)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), reports.Say(language, "report", path))
			return nil
		},
	}
	return c
}

func writeReport(dir, language string) (string, error) {
	hpath := filepath.Join(dir, "history.jsonl")
	f, err := os.Open(hpath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", usageError{i18n.Errorf("%s: no history.jsonl in this folder", dir)}
		}
		return "", usageError{err}
	}
	events, err := history.ReadJSONL(f, hpath)
	f.Close()
	if err != nil {
		return "", usageError{err}
	}
	var res reports.Results
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &res); err != nil {
			return "", usageError{fmt.Errorf("%s: %w", filepath.Join(dir, "results.json"), err)}
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return "", err
	}
	if res.Lab == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			abs = dir
		}
		res.Lab = filepath.Base(abs)
	}
	if res.Metrics == nil {
		res.Metrics = map[string]any{}
	}
	var end time.Duration
	for _, e := range events {
		end = max(end, e.T.Duration())
	}
	return reports.Write(dir, reports.Report{Lab: res.Lab, Title: res.Lab, Lang: language, Results: res, History: events, Duration: end})
}
