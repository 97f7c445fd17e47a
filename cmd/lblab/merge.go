package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newMerge) }

// mergeFlags are lblab merge's flags.
type mergeFlags struct {
	// out is the merged sweep's folder (-o, --out); clean empties an
	// earlier run's first.
	out   string
	clean bool
	// lab loads the lab from this file or catalog name instead of the
	// one the folders name (a lab file that sits elsewhere here).
	lab string
}

func newMerge() *cobra.Command {
	var f mergeFlags
	c := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Merge the folders of a sweep's shards into one sweep folder",
		Long: `Merge the folders of the shards of one sweep (lblab run --seeds
--shard-size, lblab sweep --k8s, or plain sweeps of the same lab), from
any machines and in any order, into one sweep folder: results.json,
report.json, report.html, seeds.jsonl and the failing seeds' histories,
as one machine would have written them for the same seeds (in the
simulator, results.json byte for byte). A real world's sweep is compared
with the simulator's again (KS distances), from the merged first seed.

The seeds are the union of the folders' ranges. A seed held twice (a
retried shard) counts once: the same results are one seed; different ones
(a real world measures other times) are said, and the one whose results
sort first is kept, whatever the folders' order. A seed no folder holds
is listed under missing_seeds in results.json and here, and the sweep
does not pass.

The folders must name the same lab, mode, --set and --impl. The lab is
loaded as the folders name it (a catalog name, or a file that must be
here too); --lab loads it from elsewhere.

Exit status: 0 when every expectation holds on every seed and none is
missing, 1 otherwise, 2 on bad input (a folder without a sweep's
results.json or seeds.jsonl, folders of different sweeps).`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return mergeSweeps(c, args, f) },
	}
	fl := c.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "output folder, new or empty (default a new folder under ./lblab-out/)")
	fl.BoolVar(&f.clean, "clean", false, "empty the --out folder first when it holds an earlier run's files (a results.json)")
	fl.StringVar(&f.lab, "lab", "", "load the lab from this file or catalog name instead of the one the folders name")
	return c
}

func mergeSweeps(c *cobra.Command, dirs []string, f mergeFlags) error {
	language, err := langOf(c)
	if err != nil {
		return err
	}
	ctx := c.Context()
	start := time.Now()
	sw, notes, err := scenarios.MergeSweeps(ctx, dirs, func(o scenarios.SweepOrigin) (*labfile.Lab, error) {
		name := o.Lab
		if f.lab != "" {
			name = f.lab
		}
		lab, err := loadWithImpl(name, o.Sets, o.Impl)
		if err != nil {
			return nil, i18n.Errorf("merge: the folders' lab: %w", err)
		}
		return lab.Localized(language), nil
	})
	if err != nil {
		return err
	}
	if err := compareWithSim(ctx, sw.Lab, sw, notes.Origin.First); err != nil {
		return err
	}
	dir, err := outDir(sw.Lab.Name, f.out, f.clean)
	if err != nil {
		return err
	}
	report, err := sw.Write(dir)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	res := sw.Results
	printResults(out, res, time.Since(start), language)
	say := func(format string, args ...any) string { return i18n.T(format, args...).In(language) }
	if notes.Duplicates > 0 {
		fmt.Fprintln(out, "  "+say("%d seeds came twice with the same results: each counted once", notes.Duplicates))
	}
	for _, cf := range notes.Conflicts {
		fmt.Fprintln(out, "  "+say("seed %d came with different results: kept %s's, not %s's", cf.Seed, cf.Kept, strings.Join(cf.Others, ", ")))
	}
	if len(notes.Missing) > 0 {
		fmt.Fprintln(out, "  "+say("%d of %d seeds missing: %s", len(notes.Missing), notes.Origin.Seeds, scenarios.SeedsList(notes.Missing)))
	}
	printFailedHistories(out, dir, res, language)
	fmt.Fprintln(out, reports.Say(language, "report", report))
	if !res.Passed {
		return &exitError{1}
	}
	return nil
}
