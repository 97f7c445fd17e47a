package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newReport) }

func newReport() *cobra.Command {
	c := &cobra.Command{
		Use:   "report DIR",
		Short: "Draw report.html and its plots again from a run's folder (history.jsonl, results.json, report.json)",
		Long: `Draw the report of a run again from its folder, and from nothing else:
DIR/history.jsonl, DIR/results.json (its lab name, expectations and
metrics) and DIR/report.json (title and teaching text in English and
Chinese, the lab's duration, the VRRP theory, the timeline's marks, the
expected shares, a sweep's distributions; its format is described in
package reports). The page is the one lblab run wrote, byte for byte, for
a simulated run, a netns run and a sweep (--seeds N, whose folder has no
history.jsonl) alike.

A folder without report.json (lblab load --out DIR, or a run of an older
lblab) draws too: latency over time, percentiles, shares by backend,
statuses, without title, teaching text, theory or expected shares, its
time axis ending at the last event; without results.json the lab is
named after the folder.

It writes DIR/report.html and the plots (PNG and SVG) and prints the
report's path. The report is in the language of the run's own report;
--lang en or zh redraws it in the other (the lab's title_zh, teaching_zh
and name_zh are in the folder). A folder without report.json is drawn in
the locale's language (zh_* is Chinese), as lblab run does.

Exit status: 0 when the report is written, 1 when it cannot be, 2 when DIR
holds no readable history or a damaged results.json or report.json, or
one written by a newer lblab (a newer format of report.json).`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			language := ""
			if f := c.Flags().Lookup("lang"); f != nil && f.Changed {
				l, err := langOf(c)
				if err != nil {
					return err
				}
				language = l
			}
			path, language, err := writeReport(args[0], language)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), reports.Say(language, "report", path))
			return nil
		},
	}
	return c
}

// writeReport draws the report of the run in dir in language ("" for
// the run's own, or the locale's when the folder does not say), and
// returns its path and the language it is in.
func writeReport(dir, language string) (string, string, error) {
	folder, err := reports.ReadFolder(dir)
	if err != nil {
		return "", "", usageError{err}
	}
	if language == "" && folder.Inputs == nil {
		language = localeLang()
	}
	if folder.Sweep() {
		r := folder.Report(language, nil)
		path, err := reports.Write(dir, r)
		return path, r.Lang, err
	}
	// The history is read as it is drawn, one event at a time: a run of
	// a million requests is not held in memory.
	r, err := folder.StreamReport(language, func(sink history.Sink) error { return readHistory(dir, sink) })
	if err != nil {
		return "", "", err
	}
	path, err := reports.Write(dir, r)
	return path, r.Lang, err
}

// readHistory reads dir/history.jsonl into sink.
func readHistory(dir string, sink history.Sink) error {
	hpath := filepath.Join(dir, "history.jsonl")
	f, err := os.Open(hpath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usageError{i18n.Errorf("%s: no history.jsonl in this folder", dir)}
		}
		return usageError{err}
	}
	defer f.Close()
	if err := history.ReadJSONLTo(f, hpath, sink); err != nil {
		return usageError{err}
	}
	return nil
}
