package reports

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lblab/lblab/history"
)

// Report is everything a report page shows.
type Report struct {
	// Lab is the lab's name, e.g. "vrrp-failover".
	Lab string
	// Title is the human title of the lab.
	Title string
	// Lang is the language of the page's fixed words: LangEnglish
	// (default, also for "") or LangChinese. Title and Teaching are given
	// in that language by the caller.
	Lang string
	// Teaching is the teaching text: paragraphs separated by blank lines;
	// `code` spans are allowed.
	Teaching string
	// Results is the run's results.json content.
	Results Results
	// History is a single run's events, time-ordered (nil for a sweep).
	// With Collected, the events other than requests.
	History []history.Event
	// Collected, when set, holds the run's requests as a Collector
	// gathered them (its buckets cut for Duration: Collector.Fits); the
	// report then draws them from it, not from History.
	Collected *Collector
	// Duration is the length of the run (the end of the time axis).
	Duration time.Duration
	// Theory is the timing theory of each VRRP group.
	Theory []VRRPTheory
	// Marks are annotated spans of the timeline, e.g. fault → takeover.
	Marks []Mark
	// Sweep is set for a multi-seed sweep.
	Sweep *Sweep
	// SweepMetrics are the distributions over the seeds of a sweep of a
	// load-balancer lab's metrics, one plot panel each.
	SweepMetrics []SweepMetric
	// Shares are the expected share of requests of each server of a group
	// (from the weights), for the share plot. Nil when not a load-balancer
	// lab.
	Shares []Share
	// Topology is the lab's cloud network, drawn with each probe's path
	// over it; nil for a lab without one.
	Topology *Topology
}

// Share is the share of a group's answered requests that a server is
// expected to get, from the weights.
type Share struct {
	// Group and Server name the group and the server (its address).
	Group  string `json:"group"`
	Server string `json:"server"`
	// Expected is in 0..1 of that group's answered requests.
	Expected float64 `json:"expected"`
}

// VRRPTheory is the timing theory of one VRRP group, filled in by the
// runner.
type VRRPTheory struct {
	VRID    int
	Version int
	// Interval is the advertisement interval.
	Interval time.Duration
	// BackupPriority is the priority of the router expected to take over.
	BackupPriority int
	// Skew and MDI are Skew_Time and Master_Down_Interval for that
	// priority.
	Skew, MDI time.Duration
	// Formula shows the computation, e.g.
	// "3 × 1 s + (256 − 100)/256 s = 3.609375 s".
	Formula string
	// Lo and Hi bound the window where a silent failover must land:
	// [MDI − interval, MDI] plus link latency.
	Lo, Hi time.Duration
}

// Mark is an annotated span on the timeline, e.g. from a fault to the
// takeover it caused.
type Mark struct {
	From, To time.Duration
	// Label is the mark's text when Key is empty.
	Label string
	// Key, when set, names a sentence of the report's fixed words (the
	// keys Say takes, e.g. "markTheory": "%s %s (theory %s)") that Args
	// fill in: the report writes the mark in its own language. Args are
	// numbers, names and units, which stay as they are.
	Key  string
	Args []any
}

// text returns the mark's label in l.
func (m Mark) text(l lang) string {
	if m.Key == "" {
		return m.Label
	}
	return l.f(m.Key, m.Args...)
}

// Sweep is a multi-seed run's distribution of one metric.
type Sweep struct {
	// Metric is the metric's name, e.g. "failover_s".
	Metric string `json:"metric"`
	// Values holds one value per seed, in seconds.
	Values []float64 `json:"values"`
	// Lo and Hi bound the theoretical interval, in seconds.
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// KS is the Kolmogorov–Smirnov distance of Values to the uniform
	// distribution on [Lo, Hi].
	KS float64 `json:"ks"`
	// Reference is another distribution of the metric to compare Values
	// with (the simulator's, when Values come from real hosts). When set,
	// the plot draws Reference as the histogram and each of Values as a
	// mark on the axis.
	Reference []float64 `json:"reference,omitempty"`
	// ReferenceLabel names it ("simulator, 1000 seeds").
	ReferenceLabel string `json:"reference_label,omitempty"`
	// KSReference is the two-sample Kolmogorov–Smirnov distance between
	// Values and Reference.
	KSReference float64 `json:"ks_reference,omitempty"`
}

// SweepMetric is the distribution of one metric over the seeds of a
// sweep.
type SweepMetric struct {
	// Name is the metric's results.json name, with its unit
	// ("p99_ms", "requests_failed", "health_down_delay_s").
	Name string `json:"name"`
	// Values holds one value per seed that measured it.
	Values []float64 `json:"values"`
	// Lo and Hi bound the theoretical window, in the metric's unit; Hi >
	// Lo when there is one.
	Lo float64 `json:"lo,omitempty"`
	Hi float64 `json:"hi,omitempty"`
	// Undecided counts the seeds whose value the requests still in flight
	// at their end leave open (null in their results.json); they are not
	// in Values.
	Undecided int `json:"undecided,omitempty"`
	// Reference, when set, is the same metric's values over another
	// sweep (a real sweep's simulator reference), drawn beside Values and
	// labelled ReferenceLabel; KSReference is the Kolmogorov–Smirnov
	// distance between the two.
	Reference      []float64 `json:"reference,omitempty"`
	ReferenceLabel string    `json:"reference_label,omitempty"`
	KSReference    float64   `json:"ks_reference,omitempty"`
	// KS is the Kolmogorov–Smirnov distance of Values to the uniform law
	// on [Lo, Hi], for a metric that theory says spreads uniformly over
	// its window (a health check's detection delay, whose probe phase each
	// seed draws); nil for the others.
	KS *float64 `json:"ks,omitempty"`
}

// Plot file names (without extension).
const (
	timelineName = "timeline"
	histName     = "failover_hist"
)

// Write renders the report into dir: report.html plus each plot as
// NAME.png and NAME.svg (availability for a single run whose history has
// client hosts' operations: requests that name their host, probes; else
// timeline for a single run with VRRP or VIP events; topology for a lab
// with a cloud network; latency, percentiles, shares, shares_over_time and statuses
// for a run with request events, health for one with health events;
// failover_hist for a sweep). It returns the path of report.html.
func Write(dir string, r Report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if r.Collected != nil && !r.Collected.Fits(r.Duration.Seconds()) {
		return "", fmt.Errorf("report: the requests were collected for another end than %s", r.Duration)
	}
	if r.Collected == nil {
		r.Collected = collect(r.History, r.Duration.Seconds())
	}
	r.History = faultNamesIn(r.Lang, r.Results.FaultNamesZh, r.History)
	var plots []plotRef
	if f, ok := availabilityFigure(r); ok {
		// The client hosts' lanes over the VRRP timeline: the page's
		// availability section, in place of the timeline.
		data, err := writeFigure(dir, f)
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		table := discardTable(r.History)
		plots = append(plots, plotRef{Name: f.name, PNG: data, Caption: availabilityCaption(langOf(r.Lang), r.Collected.avail.width, table != nil, r.Collected.avail.left),
			Table: table})
	} else if f, ok := timelineFigure(r); ok {
		data, err := writeFigure(dir, f)
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		caption := "State of each router, its effective priority under it, and owner of each virtual IP over time. " +
			"CRASHED is a router whose host died (no priority 0 sent); STOP a clean shutdown. " +
			"A magenta band marks a split brain: two or more routers MASTER at once, and the VIP row then names every owner. " +
			"Dashed red lines are faults; shaded spans last until the fault is undone."
		table := discardTable(r.History)
		if table != nil {
			caption += " Some adverts were discarded: the table counts them by cause and router " +
				"(keepalived's counter names), as the routers reported at the end of the run."
		}
		plots = append(plots, plotRef{Name: f.name, PNG: data, Caption: caption, Table: table})
	}
	if f, caption, ok := topologyFigure(r); ok {
		data, err := writeFigure(dir, f)
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		plots = append(plots, plotRef{Name: f.name, PNG: data, Caption: caption})
	}
	lb, err := writeLBFigures(dir, r)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	plots = append(plots, lb...)
	if f, t, ok := sweepMetricsFigure(langOf(r.Lang), r.Lab, r.SweepMetrics); ok {
		data, err := writeFigure(dir, f)
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		plots = append(plots, plotRef{Name: f.name, PNG: data, Table: t,
			Caption: "Distribution over the seeds of each metric, one panel per metric: how many seeds gave each value. " +
				"Where the theory bounds a metric (a detection delay), the green band is its window."})
	}
	if f, ok := histFigure(langOf(r.Lang), r.Sweep); ok {
		data, err := writeFigure(dir, f)
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		plots = append(plots, plotRef{
			Name: f.name, PNG: data,
			Caption: "Distribution over seeds against the uniform law that the theory predicts " +
				"for a master that dies silently at a random moment of its advertisement cycle.",
		})
	}
	attachSVG(dir, plots)
	note := plotText().fontNote(plotTexts(plots), plotNames(r), langOf(r.Lang))
	if note != "" {
		slog.Warn(note) // once a report: the terminal hears it too
	}
	path := filepath.Join(dir, "report.html")
	b, err := renderHTML(r, plots, note)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return path, nil
}

// faultNamesIn returns events with each fault named as the report's
// language has it: the lab's Chinese name (names, by English name) in a
// Chinese report; events themselves otherwise. events is not changed.
func faultNamesIn(lang string, names map[string]string, events []history.Event) []history.Event {
	if lang != LangChinese || len(names) == 0 {
		return events
	}
	out := slices.Clone(events)
	for i, e := range out {
		if zh, ok := names[e.Name]; ok && e.Kind == history.KindFault {
			out[i].Name = zh
		}
	}
	return out
}
