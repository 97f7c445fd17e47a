package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
)

// MaxSeeds is the most seeds a sweep runs: 100,000 (each seed's results
// stay in memory until the sweep ends).
const MaxSeeds = 100_000

// CheckSeeds refuses a sweep of n seeds from first that has fewer than 1
// or more than MaxSeeds seeds, or whose last seed, first+n−1, is past the
// largest seed (2^64−1) and would wrap around to 0.
func CheckSeeds(first uint64, n int) error {
	switch {
	case n < 1:
		return &labfile.InputError{Err: i18n.Errorf("--seeds must be at least 1, got %d", n)}
	case n > MaxSeeds:
		return &labfile.InputError{Err: i18n.Errorf("--seeds must be at most %d, got %d", MaxSeeds, n)}
	case first > math.MaxUint64-uint64(n-1):
		return &labfile.InputError{Err: i18n.Errorf("--seed %d with --seeds %d runs past the largest seed (%d): start at %d at most",
			first, n, uint64(math.MaxUint64), uint64(math.MaxUint64)-uint64(n-1))}
	}
	return nil
}

// SweepOutcome is a lab run once per seed.
type SweepOutcome struct {
	// Lab is the lab that ran.
	Lab *labfile.Lab
	// Runs holds each seed's outcome, in seed order. Without
	// KeepHistories a passing seed's is compacted to what the sweep
	// reads: no events, no marks, its expectations' names and verdicts,
	// and the metrics the sweep summarizes.
	Runs []*Outcome
	// Values are the sweep metric of each run that has it, in seconds.
	Values []float64
	// Window is the theoretical interval of the metric, when known.
	Window *labfile.TheoryWindow
	// Results is the sweep's results.json.
	Results reports.Results
	// Reference is another distribution of the metric (the simulator's,
	// for a sweep on real hosts), drawn under Values in the report.
	Reference      []float64
	ReferenceLabel string
	// Metrics are the distributions over the seeds of a load-balancer
	// lab's metrics (failed requests, p99, detection delays), each with
	// its theoretical window where one exists.
	Metrics []reports.SweepMetric
	// KeepHistories makes Write write every seed's history; by default
	// only the histories of the seeds that failed are written (and kept
	// in memory: RunSweep drops the others as each seed ends).
	KeepHistories bool
	// Origin says how the sweep was asked for (the lab as given, its
	// overrides, the whole sweep's seeds when this is a shard of it),
	// written to seeds.jsonl for lblab merge; by default the lab's name
	// and the sweep's own seeds.
	Origin SweepOrigin
	// historyFrom is, for a merged sweep (MergeSweeps), the file each
	// seed's history is copied from: its shard's folder.
	historyFrom map[uint64]string
}

// SweepOptions tunes a sweep.
type SweepOptions struct {
	// Workers is how many seeds run at once; 0 means GOMAXPROCS. Use 1
	// for real hosts, whose timing must not be disturbed.
	Workers int
	// KeepHistories keeps every seed's history, in memory and in Write's
	// histories/ folder; by default only the failing seeds' are kept
	// (about 3 MB a seed for a load-balancer lab).
	KeepHistories bool
}

// CompareWith sets ref (a simulator sweep of the same lab) as the
// reference distribution and records the two-sample Kolmogorov–Smirnov
// distance between the two as metric ks_distance_to_sim.
//
// For a load-balancer lab it does the same for each metric of the
// sweep's distributions (Metrics: failed requests, each group's errors,
// p99, detection delays), recorded as metric ks_to_sim (name → distance),
// and checks that each group's error count (a status_count expectation's
// metric) stays within the simulator's range widened by one health
// interval's worth of the requests the group's failing server gets
// (lbErrorSlack).
func (s *SweepOutcome) CompareWith(ref *SweepOutcome) {
	s.Reference = ref.Values
	s.ReferenceLabel = fmt.Sprintf("simulator, %d seeds", len(ref.Values))
	if len(s.Values) > 0 && len(ref.Values) > 0 {
		s.Results.Metrics["ks_distance_to_sim"] = reports.KSTwoSample(s.Values, ref.Values)
	}
	if len(s.Metrics) == 0 {
		return
	}
	refs := map[string][]float64{}
	for _, m := range ref.Metrics {
		refs[m.Name] = m.Values
	}
	ks := map[string]any{}
	for i := range s.Metrics {
		m := &s.Metrics[i]
		r := refs[m.Name]
		if len(m.Values) == 0 || len(r) == 0 {
			continue
		}
		m.Reference, m.ReferenceLabel = r, fmt.Sprintf("simulator, %d seeds", len(r))
		m.KSReference = reports.KSTwoSample(m.Values, r)
		ks[m.Name] = math.Round(m.KSReference*1e4) / 1e4
	}
	s.Results.Metrics["ks_to_sim"] = ks
	for _, e := range s.Lab.Expect {
		c := e.StatusCount
		if c == nil || c.Metric == "" {
			continue
		}
		var got []float64
		for _, m := range s.Metrics {
			if m.Name == c.Metric {
				got = m.Values
			}
		}
		r := refs[c.Metric]
		if len(got) == 0 || len(r) == 0 {
			continue
		}
		slack := lbErrorSlack(s.Lab, c.Group)
		lo, hi := slices.Min(r)-slack, slices.Max(r)+slack
		x := expectation(slices.Min(got) >= lo && slices.Max(got) <= hi,
			i18n.T("%s to %s over %d seeds", fmtCount(slices.Min(got)), fmtCount(slices.Max(got)), len(got)),
			i18n.T("within the simulator's %s to %s over %d seeds, widened by %s (one health interval's worth of the failing server's requests)",
				fmtCount(slices.Min(r)), fmtCount(slices.Max(r)), len(r), fmtCount(slack)))
		x.Name = fmt.Sprintf("%s: as in the simulator", c.Metric)
		s.Results.Expectations = append(s.Results.Expectations, x)
		s.Results.Passed = s.Results.Passed && x.Passed
	}
}

// fmtCount writes a count (or a fraction of one) as briefly as it is.
func fmtCount(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// lbErrorSlack is one health interval's worth of the requests a group's
// failing server gets: the rate of the clients of the group's listeners
// over its servers, times its active check's interval; 0 for a group
// without active checks (a passive group's errors come one per
// fail_timeout, as many in every world).
func lbErrorSlack(lab *labfile.Lab, group string) float64 {
	if lab.LB == nil {
		return 0
	}
	var servers int
	var interval time.Duration
	for _, g := range lab.LB.Groups {
		if g.Name == group {
			servers = len(g.Servers)
			if g.HealthCheck != nil {
				interval = g.HealthCheck.Interval.Or(2 * time.Second) // the checker's default, as HealthTheory has it
			}
		}
	}
	if servers == 0 || interval == 0 {
		return 0
	}
	rate := 0.0
	for _, c := range lab.Clients {
		listener := lab.LB.Listeners[0]
		for _, l := range lab.LB.Listeners {
			if c.Listener != "" && l.Name == c.Listener {
				listener = l
			}
		}
		if listener.Group == group {
			rate += c.WithDefaults().Rate
		}
	}
	return math.Ceil(rate / float64(servers) * interval.Seconds())
}

// RunSweep runs lab in the simulator for seeds first, first+1, ...
// first+n−1 on all cores, calling progress (if not nil) after each run, and
// checks every run and the distribution of the sweep metric.
//
// When ctx is done the sweep stops within a few thousand simulated events
// and returns what finished, marked interrupted: the seeds from first on
// up to the first one that did not finish (a worker may have finished a
// later one; it is left out so that the seeds stay first..first+Seeds−1).
//
// Only the failing seeds' histories are kept (see RunSweepOptions).
func RunSweep(ctx context.Context, lab *labfile.Lab, first uint64, n int, progress func(done, total int)) (*SweepOutcome, error) {
	return RunSweepOptions(ctx, lab, first, n, SweepOptions{}, nil, progress)
}

// RunSweepOptions is RunSweep with options; run, when not nil, plays one
// seed in another world (RunSweepWith).
func RunSweepOptions(ctx context.Context, lab *labfile.Lab, first uint64, n int, opts SweepOptions,
	run func(ctx context.Context, seed uint64) (*Outcome, error), progress func(done, total int)) (*SweepOutcome, error) {
	if run == nil && opts.KeepHistories {
		run = func(ctx context.Context, seed uint64) (*Outcome, error) { return RunSimContext(ctx, lab, seed) }
	}
	if run == nil {
		run = func(ctx context.Context, seed uint64) (*Outcome, error) { return runSimChecked(ctx, lab, seed) }
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	keep := sweepMetricNames(lab)
	lean := func(ctx context.Context, seed uint64) (*Outcome, error) {
		o, err := run(ctx, seed)
		if o != nil && o.Results.Passed && !opts.KeepHistories {
			o.compact(keep) // a passing seed's history is not written: free it now
		}
		return o, err
	}
	s, err := RunSweepWith(ctx, lab, first, n, workers, lean, progress)
	if s != nil {
		s.KeepHistories = opts.KeepHistories
	}
	return s, err
}

// compact frees what a sweep does not read of a passing seed's outcome,
// so that a sweep's memory does not grow with its seeds: its history, the
// words of its expectations (whether each passed stays) and every metric
// but those named in keep.
func (o *Outcome) compact(keep map[string]bool) {
	o.Events, o.Marks = nil, nil
	o.Results = keptResults(o.Results, keep)
}

// sweepMetricNames are the metrics a sweep summarizes: its own metric
// (default failover_s) and those of sweepMetrics.
func sweepMetricNames(lab *labfile.Lab) map[string]bool {
	keep := map[string]bool{"failover_s": true}
	if lab.Sweep != nil {
		keep[lab.Sweep.Metric] = true
	}
	for _, m := range sweepMetricWants(lab) {
		keep[m.name] = true
		if base, ok := strings.CutSuffix(m.name, "_lower_bound_ms"); ok {
			keep[base+"_ms"] = true
		}
	}
	return keep
}

// runSimChecked plays one seed of a sweep in the simulator with its
// history going to the checker alone, so that a sweep holds no seed's
// history while it runs. A seed that fails is played again, the same
// run byte for byte, to keep its history (written under histories/).
func runSimChecked(ctx context.Context, lab *labfile.Lab, seed uint64) (*Outcome, error) {
	end := lab.RunDuration()
	chk := newChecker(lab, end)
	p, caps, err := play(ctx, "sim", lab, seed, chk, Options{})
	if err != nil {
		return nil, err
	}
	if p.reached != end {
		// Stopped early: its windows close at the time reached, which
		// the checker could not know (the sweep leaves the seed out).
		return RunSimContext(ctx, lab, seed)
	}
	o := newOutcome(lab, "sim", seed, nil, chk.verdict(p.sent, caps.Early, caps.Late), p.interrupted, p.reached)
	if !o.Results.Passed {
		return RunSimContext(ctx, lab, seed)
	}
	return o, nil
}

// RunSweepWith is RunSweep with another world: run plays one seed, and
// workers runs go at once (1 for real hosts, whose timing must not be
// disturbed). A run that ctx stopped returns an outcome marked interrupted
// (or ctx's error).
func RunSweepWith(ctx context.Context, lab *labfile.Lab, first uint64, n, workers int,
	run func(ctx context.Context, seed uint64) (*Outcome, error), progress func(done, total int)) (*SweepOutcome, error) {
	if err := CheckSeeds(first, n); err != nil {
		return nil, err
	}
	runs := make([]*Outcome, n)
	errs := make([]error, n)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				runs[i], errs[i] = run(ctx, first+uint64(i))
				d := int(done.Add(1))
				if progress != nil {
					progress(d, n)
				}
			}
		}()
	}
	wg.Wait()
	stopped := ctx.Err() != nil
	mode := ""
	finished := 0 // the seeds first..first+finished−1 ran to their end
	for i := range n {
		if errs[i] != nil && !(stopped && errors.Is(errs[i], ctx.Err())) {
			return nil, errs[i]
		}
		if runs[i] != nil && mode == "" {
			mode = runs[i].Results.Mode
		}
		if finished == i && runs[i] != nil && !runs[i].Results.Interrupted {
			finished++
		}
	}
	if !stopped {
		return summarize(lab, mode, first, runs), nil
	}
	s := summarize(lab, mode, first, runs[:finished])
	s.Results.Interrupted, s.Results.Passed = true, false
	s.Results.Metrics["seeds_requested"] = n
	return s, nil
}

// summarize builds a sweep's results from its runs, played in mode.
func summarize(lab *labfile.Lab, mode string, first uint64, runs []*Outcome) *SweepOutcome {
	s := &SweepOutcome{Lab: lab, Runs: runs}
	sw := lab.Sweep
	if sw == nil {
		sw = &labfile.Sweep{Metric: "failover_s", KSMax: 0.05}
	}
	res := reports.Results{Lab: lab.Name, Mode: mode, Seed: first, Seeds: len(runs), Passed: true, Metrics: map[string]any{}, FaultNamesZh: lab.FaultNamesZh()}
	res.Warnings, res.WarningTexts = lab.WarningTexts()
	for i, e := range lab.Expect {
		passed, firstBad := 0, -1
		for j, r := range runs {
			if r.Results.Expectations[i].Passed {
				passed++
			} else if firstBad < 0 {
				firstBad = j
			}
		}
		observed := i18n.T("%d of %d seeds", passed, len(runs))
		if firstBad >= 0 {
			bad := runs[firstBad].Results.Expectations[i]
			observed = i18n.T("%d of %d seeds; seed %d: %s, expected %s", passed, len(runs), runs[firstBad].Seed,
				i18n.Or(bad.ObservedText, bad.Observed), i18n.Or(bad.ExpectedText, bad.Expected))
		}
		x := expectation(passed == len(runs), observed, i18n.T("all %d seeds", len(runs)))
		x.Name, x.NameZh = e.Name, e.NameZh
		res.Expectations = append(res.Expectations, x)
		res.Passed = res.Passed && x.Passed
	}
	for _, r := range runs {
		if v, ok := r.Results.Metrics[sw.Metric].(float64); ok {
			s.Values = append(s.Values, v)
		}
	}
	if len(s.Values) > 0 {
		res.Metrics[sw.Metric] = summary(s.Values)
	}
	if lab.LB != nil {
		s.Metrics = sweepMetrics(lab, runs)
		for _, m := range s.Metrics {
			if m.Name == sw.Metric {
				continue
			}
			sm := map[string]any{"count": 0}
			if len(m.Values) > 0 {
				sm = summary(m.Values)
			}
			if m.Undecided > 0 {
				sm["undecided"] = m.Undecided
			}
			if m.KS != nil {
				sm["ks_distance"] = *m.KS
			}
			res.Metrics[m.Name] = sm
		}
	}
	for _, e := range lab.Expect {
		if e.Failover == nil || e.Failover.Metric != sw.Metric {
			continue
		}
		for _, f := range lab.Faults {
			if f.Name == e.Failover.Fault {
				if w, err := lab.TheoryFor(f, e.Failover.By); err == nil {
					s.Window = &w
				}
			}
		}
		break
	}
	for _, e := range lab.Expect {
		if c := e.OutageWithin; c != nil && s.Window == nil && (sw.Metric == "outage_s" || sw.Metric == "outage_s_"+c.Client) {
			if law, _, err := lab.OutageTheory(c); err == nil {
				s.Window = &law
			}
		}
	}
	if sw.Uniform {
		limit := ksLimit(sw.KSMax, len(s.Values))
		expected := i18n.T("Kolmogorov–Smirnov distance ≤ %.4f (the larger of ks_max %g and the 5%% critical value 1.358/√%d)",
			limit, sw.KSMax, len(s.Values))
		var x reports.Expectation
		switch {
		case s.Window == nil:
			x = expectation(false, i18n.T("no theoretical window for %s", sw.Metric), expected)
		case len(s.Values) == 0:
			x = expectation(false, i18n.T("no run measured %s", sw.Metric), expected)
		default:
			ks := ksUniform(s.Values, s.Window.Lo.Seconds(), s.Window.Hi.Seconds())
			res.Metrics["ks_distance"] = ks
			x = expectation(ks <= limit, i18n.T("%.4f over %d runs, window %s", ks, len(s.Values), s.Window.String()), expected)
		}
		x.Name = fmt.Sprintf("%s spreads uniformly over its theoretical window", sw.Metric)
		res.Expectations = append(res.Expectations, x)
		res.Passed = res.Passed && x.Passed
	}
	passed := 0
	for _, r := range runs {
		if r.Results.Passed {
			passed++
		}
	}
	res.Metrics["seeds_passed"] = passed
	s.Results = res
	return s
}

// ksLimit is the distance a sweep of n runs must stay under: ks_max, but
// never below the 5% critical value of the Kolmogorov–Smirnov test
// (1.358/√n), which a truly uniform sample exceeds one time in twenty. For
// 1000 runs that value is 0.043, so ks_max 0.05 rules; for 50 runs it is
// 0.192.
func ksLimit(ksMax float64, n int) float64 {
	if n == 0 {
		return ksMax
	}
	return math.Max(ksMax, 1.358/math.Sqrt(float64(n)))
}

// summary returns count, min, p50, max and mean of values.
func summary(values []float64) map[string]any {
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return map[string]any{"count": len(v), "min": v[0], "p50": quantile(v, 0.5), "max": v[len(v)-1], "mean": sum / float64(len(v))}
}

// quantile of sorted values, by linear interpolation.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// ksUniform is the Kolmogorov–Smirnov distance between the empirical law
// of values and the uniform law on [lo, hi]. A window of no width (hi <=
// lo: a graceful shutdown's takeover, Skew_Time plus the link latency on
// every seed) is the point mass at lo, whose distribution function jumps
// from 0 to 1 at lo; the distance is then the larger of the shares of
// values below and above lo (never NaN, which results.json and report.json cannot hold).
func ksUniform(values []float64, lo, hi float64) float64 {
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	n := float64(len(v))
	d := 0.0
	for i, x := range v {
		// f is the law's distribution function at x, below its value
		// just before x (they differ only at a point mass).
		var f, below float64
		switch {
		case hi > lo:
			f = math.Min(math.Max((x-lo)/(hi-lo), 0), 1)
			below = f
		case x > lo:
			f, below = 1, 1
		case x == lo:
			f = 1
		}
		d = math.Max(d, math.Max(float64(i+1)/n-f, below-float64(i)/n))
	}
	return d
}

// sweepMetrics returns the distributions over runs of a load-balancer
// lab's metrics: failed and unknown requests, p99 (over the seeds where
// the requests in flight at the end leave it decided; the others are
// counted as undecided) and its lower bound (every seed), and each
// detection delay a health_delay expectation measures, with its
// theoretical window (as the checks compute it, in the simulator: not
// widened) and, for a window from theory, the Kolmogorov–Smirnov distance
// of the delays to the uniform law on it: each seed draws its servers'
// probe phases (health.Phase), so the first probe after a fault comes
// uniformly within one period, and the delay spreads uniformly over the
// window.
func sweepMetrics(lab *labfile.Lab, runs []*Outcome) []reports.SweepMetric {
	var out []reports.SweepMetric
	seen := map[string]bool{}
	for _, w := range sweepMetricWants(lab) {
		if seen[w.name] {
			continue
		}
		seen[w.name] = true
		m := reports.SweepMetric{Name: w.name, Lo: w.lo, Hi: w.hi}
		for _, r := range runs {
			v, present := r.Results.Metrics[w.name]
			if base, ok := strings.CutSuffix(w.name, "_lower_bound_ms"); ok && v == nil {
				// A decided value is its own lower bound.
				v, present = r.Results.Metrics[base+"_ms"], false
			}
			switch v := v.(type) {
			case float64:
				m.Values = append(m.Values, v)
			case int:
				m.Values = append(m.Values, float64(v))
			case nil:
				if present {
					m.Undecided++ // null: the requests in flight at the end leave it open
				}
			}
		}
		if w.uniform && len(m.Values) > 0 {
			ks := ksUniform(m.Values, w.lo, w.hi)
			m.KS = &ks
		}
		if len(m.Values) > 0 || m.Undecided > 0 {
			out = append(out, m)
		}
	}
	return out
}

// sweepMetric is a metric sweepMetrics shows, with its theoretical
// window (lo = hi = 0 when none); uniform when theory says the metric
// spreads uniformly over it (a health check's detection delay, its window
// from theory rather than the lab's min and max).
type sweepMetric struct {
	name    string
	lo, hi  float64
	uniform bool
}

// sweepMetricWants are the metrics sweepMetrics shows, in order (a name
// may come twice; the first counts).
func sweepMetricWants(lab *labfile.Lab) []sweepMetric {
	wants := []sweepMetric{{name: "requests_failed"}, {name: "requests_unknown"}, {name: "p99_ms"}, {name: "p99_lower_bound_ms"}}
	for _, e := range lab.Expect {
		if c := e.StatusCount; c != nil && c.Metric != "" {
			wants = append(wants, sweepMetric{name: c.Metric})
		}
	}
	for _, e := range lab.Expect {
		c := e.HealthDelay
		if c == nil || c.Metric == "" {
			continue
		}
		w := sweepMetric{name: c.Metric}
		if win, err := expectWindow(lab, c.Fault, c.Min, c.Max, func(f labfile.Fault) (labfile.TheoryWindow, error) { return lab.HealthTheory(c, f) }); err == nil {
			w.lo, w.hi = win.Lo.Seconds(), win.Hi.Seconds()
			w.uniform = !c.Min.IsSet() && !c.Max.IsSet() && w.hi > w.lo
		}
		wants = append(wants, w)
	}
	return wants
}

// Write puts the sweep's files in dir: results.json, report.json (what
// the report shows beside them, the distributions included), report.html
// with the distribution plots drawn from those files as lblab report
// draws them, and under histories/ the history of each seed that
// failed (of every seed with KeepHistories), and seeds.jsonl, each
// seed's results for lblab merge. A merged sweep's histories are copied
// from its shards' folders.
func (s *SweepOutcome) Write(dir string) (string, error) {
	hdir := filepath.Join(dir, "histories")
	s.Results.Histories = nil
	for _, r := range s.Runs {
		src, merged := s.historyFrom[r.Seed]
		if r.Results.Passed && !s.KeepHistories && !merged {
			continue
		}
		if s.historyFrom != nil && !merged {
			continue // a merged seed whose shard wrote no history
		}
		if err := os.MkdirAll(hdir, 0o755); err != nil {
			return "", i18n.Errorf("lab %s: %w", s.Lab.Name, err)
		}
		file := fmt.Sprintf("seed-%d.jsonl", r.Seed)
		write := func() error { return writeHistory(filepath.Join(hdir, file), r.Events) }
		if merged {
			write = func() error { return copyHistory(src, filepath.Join(hdir, file)) }
		}
		if err := write(); err != nil {
			return "", i18n.Errorf("lab %s: %w", s.Lab.Name, err)
		}
		s.Results.Histories = append(s.Results.Histories, reports.SeedHistory{Seed: r.Seed, Passed: r.Results.Passed, File: "histories/" + file})
	}
	rep := reportInputs(s.Lab)
	rep.SweepMetrics = s.Metrics
	if s.Window != nil && len(s.Values) > 0 {
		ks, _ := s.Results.Metrics["ks_distance"].(float64)
		if _, ok := s.Results.Metrics["ks_distance"]; !ok {
			ks = ksUniform(s.Values, s.Window.Lo.Seconds(), s.Window.Hi.Seconds())
		}
		metric := "failover_s"
		if s.Lab.Sweep != nil {
			metric = s.Lab.Sweep.Metric
		}
		rep.Sweep = &reports.Sweep{Metric: metric, Values: s.Values, Lo: s.Window.Lo.Seconds(), Hi: s.Window.Hi.Seconds(), KS: ks,
			Reference: s.Reference, ReferenceLabel: s.ReferenceLabel}
		if d, ok := s.Results.Metrics["ks_distance_to_sim"].(float64); ok {
			rep.Sweep.KSReference = d
		}
	}
	if err := s.writeSeeds(dir); err != nil {
		return "", i18n.Errorf("lab %s: %s: %w", s.Lab.Name, SeedsFile, err)
	}
	path, err := reports.WriteRun(dir, s.Results, rep, nil)
	if err != nil {
		return "", i18n.Errorf("lab %s: report: %w", s.Lab.Name, err)
	}
	return path, nil
}
