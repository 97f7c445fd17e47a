package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type runFlags struct {
	seed  uint64
	seeds int
	// keepHistories writes every seed's history of a sweep, not only the
	// failing seeds'.
	keepHistories bool
	sets          []string
	// impl is --impl: ROLE=NAME pairs setting the lab's impl.
	impl  string
	out   string
	junit string
	mode  string
	clean bool
	// shardSize, shardIndex and shardIndexEnv make the run one shard of
	// a sweep (--shard-size, --shard-index, --shard-index-env): --seed
	// and --seeds are then the whole sweep's.
	shardSize     int
	shardIndex    int
	shardIndexEnv string
}

func newRun() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run LAB",
		Short: "Run a lab (catalog name or file) and write history, results and report",
		Long: `Run a lab (a catalog name, see lblab list, or a path to a lab file) and
write history.jsonl, results.json, report.html and the plots to --out.

With --seeds N the lab runs once per seed (--seed, --seed+1, ...) on all
cores, and the report shows the distribution of its failover delays (a
load-balancer lab: of its failed requests, p99 and detection delays).
Only the failing seeds' histories are written under histories/, every
seed's with --keep-histories. A sweep's folder also holds seeds.jsonl,
each seed's results, for lblab merge.

With --shard-size S and --shard-index I (or --shard-index-env VAR, the
variable holding I), the run is shard I of the sweep of --seeds N from
--seed cut into shards of S seeds: seeds --seed+I·S on, S of them (the
last shard fewer); its folder is shard-IIIII under --out (default
lblab-out), shard-IIIII-1, ... when that is taken. lblab merge makes one
sweep of the shards' folders; lblab sweep --k8s runs them as a
Kubernetes Indexed Job.

--out must name a new or empty folder (--clean empties the folder of an
earlier run first); by default each run gets a new folder of its own.

SIGINT or SIGTERM stops the run within a second: it writes what it saw
until then, marked "interrupted": true in results.json (a sweep: the seeds
that finished), removes what it made (netns) and exits 130 or 143.

--lang zh writes the report and this summary in Chinese (the lab's
title_zh, teaching_zh and name_zh, and Chinese fixed words); without
--lang, a locale of zh_* (LC_ALL, LC_MESSAGES or LANG, the first that is
set) does the same.

Exit status: 0 when every expectation holds, 1 when one fails, 2 on bad
input, 130 (SIGINT) or 143 (SIGTERM) when interrupted.`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runLab(c, args[0], f) },
	}
	addRunFlags(c, &f)
	return c
}

// addRunFlags gives c (lblab run, lblab sweep) the flags of a run.
func addRunFlags(c *cobra.Command, f *runFlags) {
	fl := c.Flags()
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the run (first seed of a sweep)")
	fl.IntVar(&f.seeds, "seeds", 0, fmt.Sprintf("run a sweep of N seeds, at most %d; --seed+N−1 must not pass 2^64−1", scenarios.MaxSeeds))
	fl.BoolVar(&f.keepHistories, "keep-histories", false, "with --seeds, write every seed's history under histories/ (by default only the failing seeds')")
	fl.StringArrayVar(&f.sets, "set", nil, "override a lab field: PATH=VALUE, e.g. faults[0].at=15s (repeatable)")
	fl.StringVar(&f.impl, "impl", "", implFlagDoc)
	fl.StringVar(&f.out, "out", "", "output folder, new or empty (default a new folder under ./lblab-out/)")
	fl.BoolVar(&f.clean, "clean", false, "empty the --out folder first when it holds an earlier run's files (a results.json)")
	fl.StringVar(&f.junit, "junit", "", "also write JUnit XML to this file")
	fl.StringVar(&f.mode, "mode", "sim", "world to run in: sim (the simulator) or another world of 'lblab worlds' (netns: real agents in network namespaces, root)")
	fl.IntVar(&f.shardSize, "shard-size", 0, "with --seeds, run one shard of the sweep: the seeds --seed+I·SIZE on, SIZE of them (the last shard shorter), I from --shard-index or --shard-index-env; the shard's folder is shard-NNNNN under --out")
	fl.IntVar(&f.shardIndex, "shard-index", -1, "with --shard-size, the shard to run, from 0")
	fl.StringVar(&f.shardIndexEnv, "shard-index-env", "", "with --shard-size, the environment variable holding the shard to run (JOB_COMPLETION_INDEX in a Kubernetes Indexed Job)")
}

// shardOf returns the seeds the run plays (the whole sweep, or one shard
// of it with --shard-size) and the sweep's origin for seeds.jsonl.
func shardOf(c *cobra.Command, name string, f runFlags) (first uint64, n, index int, origin scenarios.SweepOrigin, err error) {
	origin = scenarios.SweepOrigin{Lab: name, Sets: f.sets, Impl: f.impl, First: f.seed, Seeds: f.seeds}
	sharded := f.shardSize != 0 || f.shardIndexEnv != "" || f.shardIndex >= 0
	if !sharded {
		return f.seed, f.seeds, -1, origin, nil
	}
	if !c.Flags().Changed("seeds") || f.shardSize == 0 || (f.shardIndexEnv == "") == (f.shardIndex < 0) {
		return 0, 0, 0, origin, usageError{i18n.Errorf("a shard takes --seeds, --shard-size and one of --shard-index and --shard-index-env")}
	}
	index = f.shardIndex
	if f.shardIndexEnv != "" {
		v, ok := os.LookupEnv(f.shardIndexEnv)
		if !ok {
			return 0, 0, 0, origin, usageError{i18n.Errorf("--shard-index-env %s: the variable is not set", f.shardIndexEnv)}
		}
		if index, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
			return 0, 0, 0, origin, usageError{i18n.Errorf("--shard-index-env %s: %q is not a shard index", f.shardIndexEnv, proxy.Clip(v))}
		}
	}
	first, n, err = scenarios.ShardRange(f.seed, f.seeds, f.shardSize, index)
	if err != nil {
		return 0, 0, 0, origin, usageError{err}
	}
	return first, n, index, origin, nil
}

// netnsReference is how many seeds the simulator runs for the reference
// distribution of a sweep on real hosts.
const netnsReference = 1000

func runLab(c *cobra.Command, name string, f runFlags) error {
	world, err := scenarios.LookupWorld(f.mode)
	if err != nil {
		return usageError{i18n.Errorf("--mode %s: %w", f.mode, err)}
	}
	first, seeds, shard, origin, err := shardOf(c, name, f)
	if err != nil {
		return err
	}
	if c.Flags().Changed("seeds") {
		if err := scenarios.CheckSeeds(first, seeds); err != nil {
			return usageError{err}
		}
		if f.mode != "sim" {
			// The simulator's reference distribution runs netnsReference
			// seeds from --seed too.
			if err := scenarios.CheckSeeds(first, max(seeds, netnsReference)); err != nil {
				return usageError{i18n.Errorf("--mode %s compares with %d simulator seeds from --seed: %w", f.mode, netnsReference, err)}
			}
		}
	}
	language, err := langOf(c)
	if err != nil {
		return err
	}
	ctx := c.Context()
	lab, err := unlessInterrupted(ctx, func() (*labfile.Lab, error) { return loadWithImpl(name, f.sets, f.impl) })
	if err != nil {
		return err
	}
	lab = lab.Localized(language)
	// Before anything is made: a lab asking the world for what it
	// cannot do is refused with the capability named.
	if err := world.Caps.Refuse(world.Name, lab); err != nil {
		return err
	}
	printLabWarnings(c.ErrOrStderr(), lab, language)
	for _, t := range world.Caps.Unshaped(world.Name, lab) {
		printWarning(c.ErrOrStderr(), t, language)
	}
	// A world that cannot run here (no root, no engine) is said before
	// the output folder is made: a refused run leaves nothing behind.
	if world.Available != nil {
		if err := world.Available(); err != nil {
			return i18n.Errorf("%s mode: %w", world.Name, err)
		}
	}
	var dir string
	if shard >= 0 {
		dir, err = shardTempDir(f.out, shard)
	} else {
		dir, err = outDir(lab.Name, f.out, f.clean)
	}
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	var res reports.Results
	var report string
	start := time.Now()
	if f.seeds > 0 {
		progress := progressBar(c.ErrOrStderr())
		sw, err := sweepIn(ctx, f.mode, lab, first, seeds, f.keepHistories, progress)
		if err == nil {
			sw.Origin = origin
			err = compareWithSim(ctx, lab, sw, first)
		}
		if err != nil {
			return err
		}
		if progress != nil && sw.Results.Interrupted {
			fmt.Fprintln(c.ErrOrStderr()) // end the bar's line
		}
		if report, err = sw.Write(dir); err != nil {
			return err
		}
		if shard >= 0 {
			if dir, report, err = shardDone(dir, report, shard); err != nil {
				return err
			}
		}
		res = sw.Results
	} else {
		// The history streams to the folder as the run goes (or, from a
		// world that merges its roles' histories, at the end).
		o, path, err := scenarios.RunWrite(ctx, f.mode, lab, f.seed, dir, scenarios.Options{})
		if err != nil {
			return err
		}
		report = path
		res = o.Results
	}
	if f.junit != "" {
		if err := reports.WriteJUnit(f.junit, []reports.Results{res}); err != nil {
			return err
		}
	}
	printResults(out, res, time.Since(start), language)
	printFailedHistories(out, dir, res, language)
	fmt.Fprintln(out, reports.Say(language, "report", report))
	if res.Interrupted || ctx.Err() != nil {
		return context.Cause(ctx) // exit 130 or 143
	}
	if !res.Passed {
		return &exitError{1}
	}
	return nil
}

// compareWithSim overlays the simulator's distribution of lab, from
// seed first, on a sweep sw of another world (not interrupted), with the
// KS distances between the two (CompareWith); a simulator sweep is left
// as it is.
func compareWithSim(ctx context.Context, lab *labfile.Lab, sw *scenarios.SweepOutcome, first uint64) error {
	if sw.Results.Mode == "sim" || sw.Results.Mode == "" || sw.Results.Interrupted {
		return nil
	}
	ref, err := scenarios.RunSweep(ctx, lab, first, netnsReference, nil)
	if err != nil {
		return err
	}
	if !ref.Results.Interrupted {
		sw.CompareWith(ref)
	}
	return nil
}

// shardTempDir makes the folder a shard writes into, under out (default
// lblab-out): a hidden .shard-NNNNN-* folder, renamed to shard-NNNNN when
// the shard is written (shardDone), so that a shard killed halfway
// leaves no folder that looks like a shard's.
func shardTempDir(out string, shard int) (string, error) {
	if out == "" {
		out = "lblab-out"
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("--out: %w", err)
	}
	dir, err := os.MkdirTemp(out, fmt.Sprintf(".shard-%05d-", shard))
	if err != nil {
		return "", fmt.Errorf("--out: %w", err)
	}
	return dir, os.Chmod(dir, 0o755)
}

// shardDone renames a shard's written folder dir to shard-NNNNN beside
// it, or shard-NNNNN-1, -2, ... when a run of the same shard (a retried
// pod) took that name: lblab merge counts each seed once. It returns the
// folder and the report's path in it.
func shardDone(dir, report string, shard int) (string, string, error) {
	rel, err := filepath.Rel(dir, report)
	if err != nil {
		return "", "", err
	}
	base := filepath.Join(filepath.Dir(dir), fmt.Sprintf("shard-%05d", shard))
	for i := 0; i < 1000; i++ {
		to := base
		if i > 0 {
			to = fmt.Sprintf("%s-%d", base, i)
		}
		if _, err := os.Lstat(to); err == nil {
			continue
		}
		if err := os.Rename(dir, to); err != nil {
			if os.IsExist(err) || errors.Is(err, syscall.ENOTEMPTY) {
				continue // another run took it since
			}
			return "", "", fmt.Errorf("shard folder: %w", err)
		}
		return to, filepath.Join(to, rel), nil
	}
	return "", "", i18n.Errorf("shard folder: %s and 999 more like it are taken", base)
}

// sweepIn runs lab once per seed from first (n seeds) in the world mode:
// the simulator on all cores, another world one seed at a time (real
// hosts' timing must not be disturbed by another run), keeping every
// seed's history when keep.
func sweepIn(ctx context.Context, mode string, lab *labfile.Lab, first uint64, n int, keep bool, progress func(done, total int)) (*scenarios.SweepOutcome, error) {
	if mode == "sim" {
		return scenarios.RunSweepOptions(ctx, lab, first, n, scenarios.SweepOptions{KeepHistories: keep}, nil, progress)
	}
	return scenarios.RunSweepOptions(ctx, lab, first, n, scenarios.SweepOptions{Workers: 1, KeepHistories: keep},
		func(ctx context.Context, seed uint64) (*scenarios.Outcome, error) {
			return scenarios.Run(ctx, mode, lab, seed, scenarios.Options{})
		}, progress)
}

// printResults prints one line for the run and one per expectation, in
// language lang.
func printResults(w io.Writer, r reports.Results, took time.Duration, lang string) {
	say := func(key string, args ...any) string { return reports.Say(lang, key, args...) }
	verdict := say("pass")
	if !r.Passed {
		verdict = say("fail")
	}
	seeds := say("seed", r.Seed)
	if r.Seeds > 0 {
		seeds = say("seedRange", r.Seed, r.Seed+uint64(r.Seeds)-1)
	}
	if r.Interrupted {
		switch n := r.Metrics["seeds_requested"]; {
		case n != nil:
			seeds = say("seedsOf", r.Seeds, n, r.Seed)
		default:
			seeds += say("stoppedAt", r.Metrics["ran_s"])
		}
	}
	fmt.Fprintf(w, "%s  %s (%s, %s) %s\n", verdict, r.Lab, r.Mode, seeds, say("took", took.Round(time.Millisecond)))
	for _, e := range r.Expectations {
		mark := say("ok")
		if !e.Passed {
			mark = say("fail")
		}
		fmt.Fprintf(w, "  %s %s: %s (%s)\n", mark, e.NameIn(lang), e.ObservedIn(lang), say("expectedVal", e.ExpectedIn(lang)))
	}
	if v, ok := r.Metrics["failover_s"]; ok {
		fmt.Fprintf(w, "  failover_s: %v\n", v)
	}
	if v, ok := r.Metrics["ks_distance"]; ok {
		fmt.Fprintf(w, "  ks_distance: %.4f\n", v)
	}
	if v, ok := r.Metrics["ks_distance_to_sim"]; ok {
		fmt.Fprintf(w, "  ks_distance_to_sim: %.4f\n", v)
	}
}

// printFailedHistories lists where a sweep wrote the history of each seed
// that failed (the first ten; results.json lists them all).
func printFailedHistories(w io.Writer, dir string, r reports.Results, lang string) {
	const most = 10
	n := 0
	for _, h := range r.Histories {
		if h.Passed {
			continue
		}
		if n == 0 {
			fmt.Fprintln(w, "  "+reports.Say(lang, "failedHistories"))
		}
		if n++; n <= most {
			fmt.Fprintln(w, "    "+reports.Say(lang, "seedFile", h.Seed, filepath.Join(dir, h.File)))
		}
	}
	if n > most {
		fmt.Fprintln(w, "    "+reports.Say(lang, "moreSeeds", n-most))
	}
}

// outDir makes the run's output folder ready before the run: out, created
// if missing, which must be empty or, with clean, hold an earlier run's
// files (a results.json), which are then removed; without out, a new
// folder under lblab-out/. Anything else is bad input: no stale plot of
// another run may stay beside the new ones.
func outDir(lab, out string, clean bool) (string, error) {
	if out == "" {
		return newOutDir(lab)
	}
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		return "", usageError{i18n.Errorf("--out %s: not a folder: pass a new or empty folder", out)}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("--out: %w", err)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return "", fmt.Errorf("--out: %w", err)
	}
	if len(entries) == 0 {
		return out, nil
	}
	if !clean {
		return "", usageError{i18n.Errorf("--out %s: the folder is not empty (it holds %s and %d more): pass a new or empty folder, or --clean to empty the folder of an earlier run first",
			out, entries[0].Name(), len(entries)-1)}
	}
	if _, err := os.Stat(filepath.Join(out, "results.json")); err != nil {
		return "", usageError{i18n.Errorf("--out %s --clean: the folder has no results.json, so it is not an earlier run's folder: --clean empties only those", out)}
	}
	for _, e := range entries {
		if !runFile(out, e) {
			return "", usageError{i18n.Errorf("--out %s --clean: %s is not a file lblab run writes, so the folder is not only an earlier run's: --clean empties only those (nothing was removed)", out, e.Name())}
		}
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(out, e.Name())); err != nil {
			return "", fmt.Errorf("--out %s --clean: %w", out, err)
		}
	}
	return out, nil
}

// runFile reports whether e, in the folder dir, is one lblab run writes:
// history.jsonl, results.json, report.json, report.html, a plot (.png, .svg), or a
// sweep's histories/ folder of seed-N.jsonl files. --clean removes
// nothing else.
func runFile(dir string, e os.DirEntry) bool {
	name := e.Name()
	if e.Type().IsRegular() {
		switch filepath.Ext(name) {
		case ".png", ".svg":
			return true
		}
		return name == "history.jsonl" || name == "results.json" || name == scenarios.SeedsFile || name == reports.InputsFile || name == "report.html"
	}
	if !e.IsDir() || name != "histories" {
		return false
	}
	hs, err := os.ReadDir(filepath.Join(dir, name))
	if err != nil {
		return false
	}
	for _, h := range hs {
		if !h.Type().IsRegular() || !strings.HasPrefix(h.Name(), "seed-") || filepath.Ext(h.Name()) != ".jsonl" {
			return false
		}
	}
	return true
}

// newOutDir makes a new folder lblab-out/LAB-YYYYMMDD-HHMMSS[-N]: Mkdir
// fails on a folder that exists, so two runs started in the same second
// (other processes included) get two folders.
func newOutDir(lab string) (string, error) {
	base := filepath.Join("lblab-out", lab+"-"+time.Now().Format("20060102-150405"))
	for i := 0; ; i++ {
		dir := base
		if i > 0 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !os.IsExist(err) {
			return "", err
		}
	}
}

// progressBar returns a progress callback that draws a bar on w when w is
// a terminal, and nil otherwise. Sweep workers call it concurrently.
func progressBar(w io.Writer) func(done, total int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var mu sync.Mutex
	last, seen := -1, 0
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if done <= seen { // workers report out of order
			return
		}
		seen = done
		pct := done * 100 / total
		if pct == last && done != total {
			return
		}
		last = pct
		bar := strings.Repeat("█", pct/4) + strings.Repeat("░", 25-pct/4)
		fmt.Fprintf(f, "\r%s %3d%% %d/%d seeds", bar, pct, done, total)
		if done == total {
			fmt.Fprintln(f)
		}
	}
}

// langOf returns the language of a command's output: its --lang flag
// (every command has it) when given (en or zh; anything else is a usage
// error), else the locale's (localeLang).
func langOf(c *cobra.Command) (string, error) {
	if f := c.Flags().Lookup("lang"); f != nil && f.Changed {
		l, err := reports.ParseLang(f.Value.String())
		if err != nil {
			return "", usageError{fmt.Errorf("--lang: %w", err)}
		}
		return l, nil
	}
	return localeLang(), nil
}

// localeLang returns the language of the locale: LC_ALL, LC_MESSAGES,
// LANG, the first set; zh_* is Chinese, anything else English.
func localeLang() string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := os.Getenv(v); s != "" {
			return reports.LangFromLocale(s)
		}
	}
	return reports.LangEnglish
}
