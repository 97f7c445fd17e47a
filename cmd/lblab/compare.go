package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newCompare) }

type compareFlags struct {
	modes []string
	seed  uint64
	seeds int
	sets  []string
	// impl is --impl: ROLE=NAME pairs setting the lab's impl.
	impl  string
	out   string
	force bool
}

func newCompare() *cobra.Command {
	var f compareFlags
	c := &cobra.Command{
		Use:   "compare LAB --modes sim,netns,... | compare DIR1 DIR2",
		Short: "Run a lab in several worlds, or take two finished runs, and put them side by side on one page",
		Long: `Put runs of a lab side by side on one page, compare.html: a table with a
column per run (verdicts, each expectation, failover and detection
delays, p50/p99, errors by class, shares per backend, each value beside
its theory window), the empirical distribution of each metric overlaid,
and the two-sample Kolmogorov–Smirnov distance between each pair of runs
that measured a metric on 2 seeds or more.

lblab compare LAB --modes sim,netns runs the lab (a catalog name or a
file) in each world of 'lblab worlds', one after the other, each into
its own run folder under --out (DIR/sim, DIR/netns, ...), which lblab
report redraws. Every world is checked before anything starts: a world
that does not exist, one given twice, or one that cannot play the lab
(the capability is named) is bad input. With --seeds N each world runs a
sweep of N seeds from --seed (a real world one seed at a time).

lblab compare DIR1 DIR2 compares two finished run folders (results.json,
report.json), e.g. before and after a change of configuration, and
writes the page to --out. Two folders of different labs are refused
(both named) unless --force.

--out must name a new or empty folder; by default a new folder under
./lblab-out/ is made.

Exit status: 0 when every compared run passed, 1 when one failed, 2 on
bad input, 130 (SIGINT) or 143 (SIGTERM) when interrupted (the page then
shows the worlds that finished).`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{i18n.Errorf("lblab compare takes a lab, or two run folders; got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 2 {
				return compareFolders(c, args[0], args[1], f)
			}
			return compareLab(c, args[0], f)
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&f.modes, "modes", nil, "worlds to run the lab in, comma-separated (see lblab worlds), e.g. sim,netns")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of each world's run (first seed of a sweep)")
	fl.IntVar(&f.seeds, "seeds", 0, fmt.Sprintf("run a sweep of N seeds in each world, at most %d", scenarios.MaxSeeds))
	fl.StringArrayVar(&f.sets, "set", nil, "override a lab field: PATH=VALUE (repeatable)")
	fl.StringVar(&f.impl, "impl", "", implFlagDoc)
	fl.StringVar(&f.out, "out", "", "output folder, new or empty (default a new folder under ./lblab-out/)")
	fl.BoolVar(&f.force, "force", false, "compare two folders of different labs (with a warning)")
	return c
}

// compareLab runs the lab in each world of f.modes into DIR/<world> and
// writes the compare page over their folders.
func compareLab(c *cobra.Command, name string, f compareFlags) error {
	language, err := langOf(c)
	if err != nil {
		return err
	}
	if len(f.modes) == 0 {
		return usageError{i18n.Errorf("lblab compare %s needs --modes, e.g. --modes sim,netns (the worlds are %s)", name, strings.Join(scenarios.WorldNames(), ", "))}
	}
	if c.Flags().Changed("seeds") {
		if err := scenarios.CheckSeeds(f.seed, f.seeds); err != nil {
			return usageError{err}
		}
	}
	var modes []string
	for _, m := range f.modes {
		m = strings.TrimSpace(m)
		if _, err := scenarios.LookupWorld(m); err != nil {
			return usageError{i18n.Errorf("--modes %s: %w", m, err)}
		}
		if slices.Contains(modes, m) {
			return usageError{i18n.Errorf("--modes: the world %s is given twice", m)}
		}
		modes = append(modes, m)
	}
	ctx := c.Context()
	lab, err := unlessInterrupted(ctx, func() (*labfile.Lab, error) { return loadWithImpl(name, f.sets, f.impl) })
	if err != nil {
		return err
	}
	lab = lab.Localized(language)
	// --impl names the programs of the real worlds; the simulator plays
	// lblab's model of the same lab beside them.
	simLab := lab
	if f.impl != "" {
		if simLab, err = scenarios.Load(name, f.sets); err != nil {
			return err
		}
		simLab = simLab.Localized(language)
	}
	labIn := func(mode string) *labfile.Lab {
		if mode == "sim" {
			return simLab
		}
		return lab
	}
	// Every world first: none starts when one cannot play the lab.
	for _, m := range modes {
		if err := scenarios.CheckWorld(m, labIn(m)); err != nil {
			return err
		}
		if fac, _ := scenarios.LookupWorld(m); fac.Available != nil {
			if err := fac.Available(); err != nil {
				return i18n.Errorf("%s mode: %w", m, err)
			}
		}
	}
	printLabWarnings(c.ErrOrStderr(), lab, language)
	dir, err := compareOut(lab.Name, f.out)
	if err != nil {
		return err
	}
	// The simulator first: a real world's sweep overlays its distribution.
	order := slices.Clone(modes)
	slices.SortStableFunc(order, func(a, b string) int {
		switch {
		case a == "sim" && b != "sim":
			return -1
		case b == "sim" && a != "sim":
			return 1
		}
		return 0
	})
	out := c.OutOrStdout()
	var simSweep *scenarios.SweepOutcome
	done := map[string]bool{}
	for _, m := range order {
		if ctx.Err() != nil {
			break
		}
		sub := filepath.Join(dir, m)
		var res reports.Results
		if f.seeds > 0 {
			sw, err := sweepIn(ctx, m, labIn(m), f.seed, f.seeds, false, progressBar(c.ErrOrStderr()))
			if err != nil {
				return err
			}
			if m == "sim" {
				simSweep = sw
			} else if simSweep != nil && !sw.Results.Interrupted {
				sw.CompareWith(simSweep)
			}
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
			if _, err := sw.Write(sub); err != nil {
				return err
			}
			res = sw.Results
		} else {
			o, _, err := scenarios.RunWrite(ctx, m, labIn(m), f.seed, sub, scenarios.Options{})
			if err != nil {
				return err
			}
			res = o.Results
		}
		fmt.Fprintln(out, compareLine(res, language))
		done[m] = true
	}
	var runs []reports.CompareRun
	for _, m := range modes {
		if !done[m] {
			continue
		}
		folder, err := reports.ReadFolder(filepath.Join(dir, m))
		if err != nil {
			return err
		}
		runs = append(runs, reports.CompareRun{Label: m, Folder: folder, Link: m + "/report.html"})
	}
	return writeCompare(c, dir, lab.Name, runs, nil, language)
}

// compareLine is a one-line verdict of a run of lblab compare.
func compareLine(r reports.Results, language string) string {
	verdict := reports.Say(language, "pass")
	if !r.Passed {
		verdict = reports.Say(language, "fail")
	}
	return fmt.Sprintf("%s  %s (%s)", verdict, r.Lab, r.Mode)
}

// compareFolders writes the compare page of two finished run folders.
func compareFolders(c *cobra.Command, dir1, dir2 string, f compareFlags) error {
	language, err := langOf(c)
	if err != nil {
		return err
	}
	for _, name := range []string{"modes", "seeds", "seed", "set"} {
		if c.Flags().Changed(name) {
			return usageError{i18n.Errorf("--%s runs a lab: lblab compare DIR1 DIR2 compares two finished runs and takes no --%s", name, name)}
		}
	}
	abs1, err1 := filepath.Abs(dir1)
	abs2, err2 := filepath.Abs(dir2)
	if err1 == nil && err2 == nil && filepath.Clean(abs1) == filepath.Clean(abs2) {
		return usageError{i18n.Errorf("%s and %s are the same folder: give two runs' folders", dir1, dir2)}
	}
	var folders []*reports.Folder
	for _, d := range []string{dir1, dir2} {
		folder, err := readRunFolder(d)
		if err != nil {
			return err
		}
		folders = append(folders, folder)
	}
	var warnings []i18n.Text
	if a, b := folders[0].Results.Lab, folders[1].Results.Lab; a != b {
		if !f.force {
			return usageError{i18n.Errorf("%s is a run of lab %s, %s of lab %s: compare runs of one lab, or pass --force to compare them anyway", dir1, a, dir2, b)}
		}
		warnings = append(warnings, i18n.T("%s is a run of lab %s, %s of lab %s: compared anyway (--force)", dir1, a, dir2, b))
		for _, w := range warnings {
			printWarning(c.ErrOrStderr(), w, language)
		}
	}
	dir, err := compareOut(folders[0].Results.Lab, f.out)
	if err != nil {
		return err
	}
	var runs []reports.CompareRun
	for _, folder := range folders {
		link := ""
		from, err1 := filepath.Abs(dir)
		to, err2 := filepath.Abs(filepath.Join(folder.Dir, "report.html"))
		if rel, err := filepath.Rel(from, to); err1 == nil && err2 == nil && err == nil {
			link = filepath.ToSlash(rel)
		}
		runs = append(runs, reports.CompareRun{Label: folderLabel(folder.Dir), Folder: folder, Link: link})
	}
	if runs[0].Label == runs[1].Label {
		runs[0].Label, runs[1].Label = filepath.Clean(folders[0].Dir), filepath.Clean(folders[1].Dir)
	}
	return writeCompare(c, dir, folders[0].Results.Lab, runs, warnings, language)
}

// folderLabel heads a folder's column: its last element.
func folderLabel(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return filepath.Base(abs)
	}
	return filepath.Base(dir)
}

// readRunFolder reads a run's folder for lblab compare: it must hold the
// results.json lblab run writes.
func readRunFolder(dir string) (*reports.Folder, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageError{i18n.Errorf("%s: no such folder: give the folder of a run (lblab run --out)", dir)}
	}
	if err != nil {
		return nil, usageError{err}
	}
	if !fi.IsDir() {
		return nil, usageError{i18n.Errorf("%s: not a folder: give the folder of a run (lblab run --out)", dir)}
	}
	if _, err := os.Stat(filepath.Join(dir, "results.json")); errors.Is(err, fs.ErrNotExist) {
		return nil, usageError{i18n.Errorf("%s: not a run folder: it has no results.json (lblab run writes one)", dir)}
	}
	folder, err := reports.ReadFolder(dir)
	if err != nil {
		return nil, usageError{err}
	}
	return folder, nil
}

// compareOut makes the compare page's folder: out, new or empty, or a new
// folder lblab-out/compare-LAB-... when out is "".
func compareOut(lab, out string) (string, error) {
	if out == "" {
		return newOutDir("compare-" + lab)
	}
	return outDir(lab, out, false)
}

// writeCompare writes the compare page of runs into dir, prints each
// pair's KS test (distance, 5% critical value, PASS or FAIL) and the
// page's path, and returns the exit status: interrupted, 1 when a run
// failed. A KS test's FAIL does not change it: two runs before and after
// a change of configuration are meant to differ.
func writeCompare(c *cobra.Command, dir, lab string, runs []reports.CompareRun, warnings []i18n.Text, language string) error {
	cmp := reports.Compare{Lab: lab, Lang: language, Runs: runs}
	for _, w := range warnings {
		cmp.Warnings = append(cmp.Warnings, w.In(language))
	}
	path, err := reports.WriteCompare(dir, cmp)
	if err != nil {
		return err
	}
	for _, k := range cmp.KSPairs() {
		fmt.Fprintln(c.OutOrStdout(), k.Line(language))
	}
	fmt.Fprintln(c.OutOrStdout(), reports.Say(language, "report", path))
	if ctx := c.Context(); ctx.Err() != nil {
		return context.Cause(ctx)
	}
	for _, r := range runs {
		if !r.Folder.Results.Passed {
			return &exitError{1}
		}
	}
	return nil
}
