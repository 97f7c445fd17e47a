// Package scenarios plays labs (read and validated by scenarios/labfile)
// in a world, the simulator (world.go) or network namespaces (netns.go),
// checks their expectations against the history, runs multi-seed sweeps,
// writes each run's folder and holds the embedded catalog of labs
// (labs/*.yaml).
package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/vrrpsim"
)

// Outcome is one run of a lab: its history and what the checks made of it.
type Outcome struct {
	// Lab is the lab that ran.
	Lab *labfile.Lab
	// Seed is the run's seed.
	Seed uint64
	// Events is the run's history.
	Events []history.Event
	// Results is results.json.
	Results reports.Results
	// Marks annotate the report's timeline (fault → takeover).
	Marks []reports.Mark
	// streamed is the folder a run wrote as it went (RunSimWrite): the
	// outcome holds no events, and Write refuses to write another.
	streamed string
}

// RunSim plays lab in the simulator with seed and checks it. The same lab
// and seed always give the same history, byte for byte.
func RunSim(lab *labfile.Lab, seed uint64) (*Outcome, error) {
	return RunSimContext(context.Background(), lab, seed)
}

// RunSimContext is RunSim that stops early when ctx is done (within a few
// thousand events): the outcome then holds the history until then,
// checked up to the virtual time reached, and is marked interrupted (and
// failed).
func RunSimContext(ctx context.Context, lab *labfile.Lab, seed uint64) (*Outcome, error) {
	return Run(ctx, "sim", lab, seed, Options{})
}

// Run plays lab in the world named mode (see Worlds) with seed and checks
// it, with the world's tolerances. A lab that needs what the world cannot
// do is refused before anything starts (an input error naming the
// capability). When ctx is done the run stops: the outcome holds the
// history until then, checked up to the time reached, and is marked
// interrupted (and failed).
func Run(ctx context.Context, mode string, lab *labfile.Lab, seed uint64, opt Options) (*Outcome, error) {
	p, caps, err := play(ctx, mode, lab, seed, nil, opt)
	if err != nil {
		return nil, err
	}
	v := check(lab, p.events, p.reached, p.sent, caps.Early, caps.Late)
	o := newOutcome(lab, mode, seed, p.events, v, p.interrupted, p.reached)
	o.warnUnshaped(caps)
	return o, nil
}

// warnUnshaped adds to the results a warning for each link of the lab
// that the world played without its latency (Capabilities.Unshaped).
func (o *Outcome) warnUnshaped(caps Capabilities) {
	for _, t := range caps.Unshaped(o.Results.Mode, o.Lab) {
		o.Results.Warnings = append(o.Results.Warnings, t.String())
		o.Results.WarningTexts = append(o.Results.WarningTexts, t)
	}
}

// RunSimWrite is RunWrite in the simulator.
func RunSimWrite(ctx context.Context, lab *labfile.Lab, seed uint64, dir string) (*Outcome, string, error) {
	return RunWrite(ctx, "sim", lab, seed, dir, Options{})
}

// RunWrite is Run writing the run's folder into dir (created if missing)
// as it goes, as Outcome.Write lays it out: the history streams to
// dir/history.jsonl while the checks and the report's collector read the
// same events, so that the run does not hold its history (a run of a
// million requests stays within a few tens of MB). A world that cannot
// stream hands its history over at the end, and it goes the same way.
// The files are those Run and Write give, byte for byte. It returns the
// outcome, which holds no events, and the report's path.
func RunWrite(ctx context.Context, mode string, lab *labfile.Lab, seed uint64, dir string, opt Options) (*Outcome, string, error) {
	fail := func(err error) (*Outcome, string, error) { return nil, "", i18n.Errorf("lab %s: %w", lab.Name, err) }
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	hpath := filepath.Join(dir, "history.jsonl")
	f, err := os.Create(hpath)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	out := history.NewWriter(f, history.WriterOptions{})
	end := lab.RunDuration()
	in := reportInputs(lab)
	chk, col := newChecker(lab, end), reports.NewCollector(in.Duration.Seconds())
	sink := history.Tee{out, chk, col}
	p, caps, err := play(ctx, mode, lab, seed, sink, opt)
	if err != nil {
		return nil, "", err
	}
	for _, e := range p.events { // a world that did not stream
		sink.Add(e)
	}
	if err := out.Close(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	var v verdict
	if p.reached == end {
		v = chk.verdict(p.sent, caps.Early, caps.Late)
	} else {
		// Stopped early: the windows close at the time reached, which
		// the checker could not know. Check the history written.
		events, err := readHistoryFile(hpath)
		if err != nil {
			return fail(err)
		}
		v = check(lab, events, p.reached, p.sent, caps.Early, caps.Late)
	}
	o := newOutcome(lab, mode, seed, nil, v, p.interrupted, p.reached)
	o.warnUnshaped(caps)
	o.streamed = dir
	in.Marks, in.Shares = o.Marks, lbShares(lab)
	path, err := reports.WriteRunCollected(dir, o.Results, in, col)
	if err != nil {
		return nil, "", i18n.Errorf("lab %s: report: %w", lab.Name, err)
	}
	return o, path, nil
}

// readHistoryFile reads a history.jsonl.
func readHistoryFile(path string) ([]history.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return history.ReadJSONL(f, path)
}

// newOutcome makes the outcome of one run from its history and checks; an
// interrupted run fails, and its metric ran_s says how far it got.
func newOutcome(lab *labfile.Lab, mode string, seed uint64, events []history.Event, v verdict, interrupted bool, reached time.Duration) *Outcome {
	o := &Outcome{
		Lab: lab, Seed: seed, Events: events, Marks: v.marks,
		Results: reports.Results{Lab: lab.Name, Mode: mode, Seed: seed, Passed: v.passed && !interrupted, FaultNamesZh: lab.FaultNamesZh(),
			Interrupted: interrupted, Expectations: v.expectations, Metrics: v.metrics},
	}
	o.Results.Warnings, o.Results.WarningTexts = lab.WarningTexts()
	if interrupted {
		o.Results.Metrics["ran_s"] = reached.Seconds()
	}
	return o
}

// Write puts the run's files in dir (created if missing): history.jsonl,
// results.json, report.json (what the report shows beside them) and
// report.html with its plots, drawn from those files as lblab report
// draws them. It returns the report's path.
func (o *Outcome) Write(dir string) (string, error) {
	if o.streamed != "" {
		return "", i18n.Errorf("lab %s: the run wrote its folder %s as it went and holds no history to write again", o.Lab.Name, o.streamed)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", i18n.Errorf("lab %s: %w", o.Lab.Name, err)
	}
	if err := writeHistory(filepath.Join(dir, "history.jsonl"), o.Events); err != nil {
		return "", i18n.Errorf("lab %s: %w", o.Lab.Name, err)
	}
	in := reportInputs(o.Lab)
	in.Marks, in.Shares = o.Marks, lbShares(o.Lab)
	path, err := reports.WriteRun(dir, o.Results, in, o.Events)
	if err != nil {
		return "", i18n.Errorf("lab %s: report: %w", o.Lab.Name, err)
	}
	return path, nil
}

// reportInputs returns what the lab's report needs beside its history and
// results, in both languages: title, teaching text, duration, VRRP
// theory and the cloud network's topology (report.json).
func reportInputs(lab *labfile.Lab) reports.Inputs {
	en := lab.English()
	lang := reports.LangEnglish
	if lab.Lang() == reports.LangChinese {
		lang = reports.LangChinese
	}
	return reports.Inputs{Lab: lab.Name, Lang: lang, Title: en.Title, TitleZh: en.TitleZh,
		Teaching: en.Teaching, TeachingZh: en.TeachingZh, Duration: lab.RunDuration(), Theory: vrrpTheory(lab),
		Topology: cloudTopology(lab)}
}

func writeHistory(path string, events []history.Event) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := history.WriteJSONL(f, events); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// vrrpTheory returns the timing theory of each VRID for the report: for
// the router expected to take over when the master dies silently (the
// second in TakeoverOrder: the highest priority among the survivors,
// ties to the higher primary IP), with the window of the lab's first
// silent fault (crash, pause, link_down) of the master, else [MDI −
// interval, MDI]. A VRID with one router has no box.
func vrrpTheory(lab *labfile.Lab) []reports.VRRPTheory {
	if lab.VRRP == nil {
		return nil
	}
	var out []reports.VRRPTheory
	seen := map[int]bool{}
	for i := range lab.VRRP.Instances {
		vrid := lab.VRRP.Instances[i].VirtualRouterID
		if seen[vrid] {
			continue
		}
		seen[vrid] = true
		order := lab.TakeoverOrder(vrid)
		if len(order) < 2 {
			continue
		}
		master, c := order[0].Name, order[1]
		mdi := vrrpsim.MasterDownInterval(c.Version, c.Priority, c.Interval)
		t := reports.VRRPTheory{VRID: int(c.VRID), Version: c.Version, Interval: c.Interval,
			BackupPriority: int(c.Priority), Skew: vrrpsim.SkewTime(c.Version, c.Priority, c.Interval),
			MDI: mdi, Formula: labfile.Formula(c), Lo: mdi - c.Interval, Hi: mdi}
		for _, f := range lab.Faults {
			host, _, _ := strings.Cut(f.Target, ":")
			if host != master || (f.Kind != "crash" && f.Kind != "pause" && f.Kind != "link_down") {
				continue
			}
			if w, err := lab.TheoryFor(f, c.Name); err == nil {
				t.Lo, t.Hi = w.Lo, w.Hi
				break
			}
		}
		out = append(out, t)
	}
	return out
}
