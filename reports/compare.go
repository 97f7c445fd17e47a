package reports

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
)

// A compare page (lblab compare) puts runs of a lab side by side: the
// same lab in several worlds, or two finished runs (before and after a
// change of configuration). It reads only the runs' folders, as lblab
// report does (ReadFolder): results.json's verdicts and metrics, and
// report.json's theory windows and a sweep's distributions. Its table
// has a column per run; its plot overlays the empirical distribution
// functions of each metric that a run measured; a second table gives
// the two-sample Kolmogorov–Smirnov distance between each pair of runs
// that measured a metric on 2 seeds or more.

// CompareFile is the name of the compare page in its folder.
const CompareFile = "compare.html"

// compareName is the file name (without extension) of the compare plot.
const compareName = "compare_cdf"

// CompareRun is one run of a compare page: a column of its table.
type CompareRun struct {
	// Label heads the column: the world's name, or the folder's.
	Label string
	// Folder is the run's folder as ReadFolder read it.
	Folder *Folder
	// Link is the path of the run's report.html from the compare page's
	// folder ("" for none).
	Link string
}

// Compare is what a compare page shows.
type Compare struct {
	// Lab is the lab's name (the first run's when they differ).
	Lab string
	// Lang is the page's language: LangEnglish (also for "") or
	// LangChinese.
	Lang string
	// Runs are the columns, in order.
	Runs []CompareRun
	// Warnings are said on the page as they are (already in Lang).
	Warnings []string
}

// cell is what one run says of one metric: its decided values (one for
// a single run, one per seed for a sweep), how many are undecided
// (null: requests in flight at the end leave them open) and, for a
// single undecided run, the bounds its history gives; or, for a sweep
// that kept no values, the summary results.json holds.
type cell struct {
	values    []float64
	undecided int
	lo, hi    *float64
	summary   map[string]any
}

// window is a theory window of a metric, in its unit.
type window struct{ lo, hi float64 }

// runMetrics are the metrics of one run by name, and their theory
// windows where the folder holds one.
type runMetrics struct {
	cells   map[string]*cell
	windows map[string]window
}

// boundSuffixes are the metrics that hold a bound of another one (p99_ms:
// p99_lower_bound_ms, p99_upper_bound_ms, p99_finished_ms); a compare
// page shows them inside the other's cell.
var boundSuffixes = []string{"_lower_bound_ms", "_upper_bound_ms", "_finished_ms"}

// number returns v as a float64 when it is a number of results.json.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// metricsOf reads what a compare page shows of a run's folder.
func metricsOf(f *Folder) runMetrics {
	m := runMetrics{cells: map[string]*cell{}, windows: map[string]window{}}
	res := f.Results.Metrics
	for name, v := range res {
		if name == "first_picks" || name == "ran_s" || slices.ContainsFunc(boundSuffixes, func(s string) bool { return strings.HasSuffix(name, s) }) {
			continue
		}
		if x, ok := number(v); ok {
			m.cells[name] = &cell{values: []float64{x}}
			continue
		}
		switch v := v.(type) {
		case nil:
			c := &cell{undecided: 1}
			base, _ := strings.CutSuffix(name, "_ms")
			if lo, ok := number(res[base+"_lower_bound_ms"]); ok {
				c.lo = &lo
			}
			if hi, ok := number(res[base+"_upper_bound_ms"]); ok {
				c.hi = &hi
			}
			m.cells[name] = c
		case map[string]any:
			if _, ok := v["count"]; ok && f.Sweep() {
				m.cells[name] = &cell{summary: v}
				continue
			}
			for k, x := range v {
				if n, ok := number(x); ok {
					m.cells[name+"/"+k] = &cell{values: []float64{n}}
				}
			}
		}
	}
	in := f.Inputs
	if in == nil {
		return m
	}
	if s := in.Sweep; s != nil {
		m.cells[s.Metric] = &cell{values: s.Values}
		if s.Hi >= s.Lo && (s.Hi > 0 || s.Lo > 0) {
			m.windows[s.Metric] = window{s.Lo, s.Hi}
		}
	}
	for _, s := range in.SweepMetrics {
		m.cells[s.Name] = &cell{values: s.Values, undecided: s.Undecided}
		if s.Hi > s.Lo {
			m.windows[s.Name] = window{s.Lo, s.Hi}
		}
	}
	if _, ok := m.windows["failover_s"]; !ok && len(in.Theory) > 0 {
		m.windows["failover_s"] = window{in.Theory[0].Lo.Seconds(), in.Theory[0].Hi.Seconds()}
	}
	return m
}

// metricRank orders a compare page's metric rows: failover first, then
// detection delays, latency, errors by class, request counts, shares,
// the rest by name.
func metricRank(name string) int {
	switch {
	case name == "failover_s":
		return 0
	case strings.HasSuffix(name, "_delay_s"):
		return 1
	case name == "p50_ms" || name == "p99_ms" || name == "mean_ms" || name == "max_ms":
		return 2
	case strings.HasPrefix(name, "errors_"):
		return 3
	case strings.HasPrefix(name, "requests_") || name == "success_ratio":
		return 4
	case strings.HasPrefix(name, "share_by_backend/"):
		return 6
	}
	return 5
}

// text says a cell in l: a single value as it is; an undecided one by the
// bounds its history gives; a distribution by its median, range and count.
func (c *cell) text(l lang) string {
	if c == nil {
		return "—"
	}
	if c.summary != nil {
		var p50, lo, hi, n float64
		p50, _ = number(c.summary["p50"])
		lo, _ = number(c.summary["min"])
		hi, _ = number(c.summary["max"])
		n, _ = number(c.summary["count"])
		if n == 0 {
			return "—"
		}
		return l.f("cmpDist", fmtNum(p50), fmtNum(lo), fmtNum(hi), int(n))
	}
	var out string
	switch n := len(c.values); {
	case n == 1:
		out = fmtNum(c.values[0])
	case n > 1:
		v := slices.Sorted(slices.Values(c.values))
		out = l.f("cmpDist", fmtNum(quantile(v, 0.5)), fmtNum(v[0]), fmtNum(v[n-1]), n)
	}
	switch {
	case c.undecided == 0:
	case len(c.values) > 0:
		out += l.f("undecidedSeeds", c.undecided)
	case c.lo != nil && c.hi != nil:
		out = l.f("cmpBounds", fmtNum(*c.lo), fmtNum(*c.hi))
	case c.lo != nil:
		out = l.f("cmpAtLeast", fmtNum(*c.lo))
	default:
		out = l.s("cmpUndecided")
	}
	if out == "" {
		return "—"
	}
	return out
}

// compareView is the compare page, every value formatted.
type compareView struct {
	Lang, Title, Lab, FontNote string
	T                          map[string]string
	Passed                     bool
	Warnings                   []string
	Head                       []linkView
	Rows                       []compareRow
	Plots                      []plotView
	KS                         *ksView
}

// compareRow is a row of the compare table: its name (code when it is a
// metric's) and a cell per run.
type compareRow struct {
	Name  string
	Code  bool
	Cells []string
}

//go:embed compare.html.tmpl
var compareTemplateText string

var compareTemplate = template.Must(template.Must(template.New("compare").Parse(compareTemplateText)).Parse(styleTemplateText))

// WriteCompare writes the compare page of c into dir (created if
// missing): compare.html and its plot compare_cdf.png and .svg (when a
// run measured a metric to draw). It returns the page's path.
func WriteCompare(dir string, c Compare) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("compare: %w", err)
	}
	l := langOf(c.Lang)
	v := compareView{Lang: "en", T: l.table(), Title: l.f("cmpTitle", c.Lab), Lab: c.Lab, Passed: len(c.Runs) > 0, Warnings: c.Warnings}
	if l.zh {
		v.Lang = "zh-CN"
	}
	ms := make([]runMetrics, len(c.Runs))
	for i, r := range c.Runs {
		ms[i] = metricsOf(r.Folder)
		v.Passed = v.Passed && r.Folder.Results.Passed
		v.Head = append(v.Head, linkView{Href: r.Link, Text: r.Label})
	}
	v.Rows = compareRows(l, c.Runs, ms)
	var plots []plotRef
	if f, ok := compareFigure(l, c, ms); ok {
		data, err := writeFigure(dir, f)
		if err != nil {
			return "", fmt.Errorf("compare: %w", err)
		}
		plots = append(plots, plotRef{Name: f.name, PNG: data, Caption: l.s("cmpCaption")})
	}
	attachSVG(dir, plots)
	for _, p := range plots {
		v.Plots = append(v.Plots, plotView{Name: p.Name, Caption: p.Caption, Img: template.HTML(inlineSVG(p.Name, p.SVG))})
	}
	names := []string{c.Lab}
	for _, r := range c.Runs {
		names = append(names, r.Label)
	}
	v.FontNote = plotText().fontNote(plotTexts(plots), names, l)
	v.KS = ksTable(l, c.Runs, ms)
	var b bytes.Buffer
	if err := compareTemplate.Execute(&b, v); err != nil {
		return "", fmt.Errorf("%s: %w", CompareFile, err)
	}
	path := filepath.Join(dir, CompareFile)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("compare: %w", err)
	}
	return path, nil
}

// compareRows are the rows of the compare table: each run's world, seeds
// and verdict, each expectation's verdict and observation, each metric
// with its theory window where a run's folder holds one.
func compareRows(l lang, runs []CompareRun, ms []runMetrics) []compareRow {
	row := func(name string, code bool, cell func(i int, r CompareRun) string) compareRow {
		cr := compareRow{Name: name, Code: code}
		for i, r := range runs {
			cr.Cells = append(cr.Cells, cell(i, r))
		}
		return cr
	}
	verdict := func(passed bool) string {
		if passed {
			return l.s("pass")
		}
		return l.s("fail")
	}
	rows := []compareRow{
		row(l.s("cmpMode"), false, func(_ int, r CompareRun) string { return r.Folder.Results.Mode }),
		row(l.s("cmpSeeds"), false, func(_ int, r CompareRun) string {
			if res := r.Folder.Results; res.Seeds > 0 {
				return l.f("seedsFrom", res.Seeds, res.Seed)
			}
			return l.f("seed", r.Folder.Results.Seed)
		}),
		row(l.s("result"), false, func(_ int, r CompareRun) string {
			s := verdict(r.Folder.Results.Passed)
			if r.Folder.Results.Interrupted {
				s += " (" + l.s("interrupted") + ")"
			}
			return s
		}),
	}
	// Expectations, by name, in the order of the first run that has each.
	var exps []string
	for _, r := range runs {
		for _, e := range r.Folder.Results.Expectations {
			if !slices.Contains(exps, e.Name) {
				exps = append(exps, e.Name)
			}
		}
	}
	for _, name := range exps {
		shown := name
		for _, r := range slices.Backward(runs) {
			for _, e := range r.Folder.Results.Expectations {
				if e.Name == name {
					shown = e.NameIn(l.code())
				}
			}
		}
		rows = append(rows, row(shown, false, func(_ int, r CompareRun) string {
			for _, e := range r.Folder.Results.Expectations {
				if e.Name == name {
					return verdict(e.Passed) + ": " + e.ObservedIn(l.code())
				}
			}
			return "—"
		}))
	}
	var names []string
	for _, m := range ms {
		for name := range m.cells {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := metricRank(a) - metricRank(b); d != 0 {
			return d
		}
		return naturalCompare(a, b)
	})
	for _, name := range names {
		rows = append(rows, row(name, true, func(i int, _ CompareRun) string { return ms[i].cells[name].text(l) }))
		has := false
		for _, m := range ms {
			_, ok := m.windows[name]
			has = has || ok
		}
		if !has {
			continue
		}
		rows = append(rows, row(l.f("cmpWindowOf", name), false, func(i int, _ CompareRun) string {
			w, ok := ms[i].windows[name]
			if !ok {
				return "—"
			}
			s := fmt.Sprintf("[%s, %s]", fmtNum(w.lo), fmtNum(w.hi))
			if c := ms[i].cells[name]; c != nil && len(c.values) > 0 {
				in := 0
				for _, x := range c.values {
					if x >= w.lo && x <= w.hi {
						in++
					}
				}
				s += l.f("cmpInside", fmtNum(math.Round(1000*float64(in)/float64(len(c.values)))/10))
			}
			return s
		}))
	}
	return rows
}

// code returns l's language code.
func (l lang) code() string {
	if l.zh {
		return LangChinese
	}
	return LangEnglish
}

// distMetrics are the metrics a compare page draws and tests: those with
// a decided value in some run, drawn when one run has two or more (a
// sweep) or when it is the failover delay; in the order of the table.
func distMetrics(ms []runMetrics) []string {
	var out []string
	for _, m := range ms {
		for name, c := range m.cells {
			if slices.Contains(out, name) || len(c.values) == 0 {
				continue
			}
			if name != "failover_s" && len(c.values) < 2 {
				continue
			}
			out = append(out, name)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if d := metricRank(a) - metricRank(b); d != 0 {
			return d
		}
		return naturalCompare(a, b)
	})
	return out
}

// KSPair is the two-sample Kolmogorov–Smirnov test of one metric
// between two runs of a compare page.
type KSPair struct {
	// Metric is the metric's name in results.json (failover_s, ...).
	Metric string
	// A and B are the two runs' labels (Compare.Runs' Label), in the
	// page's order.
	A, B string
	// N and M are how many decided values each run measured (seeds).
	N, M int
	// Distance is KSTwoSample of the two runs' values, 0 to 1.
	Distance float64
	// Critical is KSCritical(N, M), the distance two samples of one law
	// exceed one time in twenty.
	Critical float64
}

// Passed reports whether the distance is at or under the 5% critical
// value: the two runs' values may come from one law.
func (k KSPair) Passed() bool { return k.Distance <= k.Critical }

// Line says the pair in one line in language (LangEnglish or
// LangChinese): the metric, the runs, the distance beside the 5%
// critical value, and PASS (at or under it) or FAIL, e.g. "KS failover_s
// sim ↔ netns (20, 20 values): distance 0.2500, 5% critical value
// 0.4294: PASS".
func (k KSPair) Line(language string) string {
	l := langOf(language)
	verdict := l.s("pass")
	if !k.Passed() {
		verdict = l.s("fail")
	}
	return l.f("cmpKSLine", k.Metric, k.A, k.B, k.N, k.M,
		strconv.FormatFloat(k.Distance, 'f', 4, 64), strconv.FormatFloat(k.Critical, 'f', 4, 64), verdict)
}

// KSPairs returns the two-sample Kolmogorov–Smirnov test between each
// pair of runs that measured a metric on 2 seeds or more each, in the
// order of the page's table.
func (c Compare) KSPairs() []KSPair {
	ms := make([]runMetrics, len(c.Runs))
	for i, r := range c.Runs {
		ms[i] = metricsOf(r.Folder)
	}
	return ksPairs(c.Runs, ms)
}

// ksPairs is KSPairs over the runs' metrics ms.
func ksPairs(runs []CompareRun, ms []runMetrics) []KSPair {
	var out []KSPair
	for _, name := range distMetrics(ms) {
		for i := range runs {
			for j := i + 1; j < len(runs); j++ {
				a, b := ms[i].cells[name], ms[j].cells[name]
				if a == nil || b == nil || len(a.values) < 2 || len(b.values) < 2 {
					continue
				}
				out = append(out, KSPair{Metric: name, A: runs[i].Label, B: runs[j].Label, N: len(a.values), M: len(b.values),
					Distance: KSTwoSample(a.values, b.values), Critical: KSCritical(len(a.values), len(b.values))})
			}
		}
	}
	return out
}

// ksView is the compare page's table of KS tests: a row a pair.
type ksView struct {
	Head []string
	Rows []ksRow
}

// ksRow is a pair's row: metric, runs, value counts, distance, critical
// value, and the verdict (PASS when the distance is at or under the
// critical value).
type ksRow struct {
	Metric, Pair, Values, Distance, Critical, Verdict string
	Pass                                              bool
}

// ksTable returns the table of ksPairs: each pair's distance beside its
// 5% critical value and the verdict; nil when no pair measured a metric
// on 2 seeds or more each.
func ksTable(l lang, runs []CompareRun, ms []runMetrics) *ksView {
	t := &ksView{Head: []string{l.s("metric"), l.s("cmpPair"), l.s("cmpValues"), l.s("cmpKS"), l.s("cmpCritical"), l.s("cmpKSVerdict")}}
	for _, k := range ksPairs(runs, ms) {
		verdict := l.s("pass")
		if !k.Passed() {
			verdict = l.s("fail")
		}
		t.Rows = append(t.Rows, ksRow{Metric: k.Metric, Pair: k.A + " ↔ " + k.B, Values: fmt.Sprintf("%d, %d", k.N, k.M),
			Distance: strconv.FormatFloat(k.Distance, 'f', 4, 64), Critical: strconv.FormatFloat(k.Critical, 'f', 4, 64),
			Verdict: verdict, Pass: k.Passed()})
	}
	if len(t.Rows) == 0 {
		return nil
	}
	return t
}

// runPalette colours the runs of a compare plot, in order.
var runPalette = []color.Color{
	rgb(0x1f, 0x77, 0xb4), rgb(0xff, 0x7f, 0x0e), rgb(0x94, 0x67, 0xbd),
	rgb(0x8c, 0x56, 0x4b), rgb(0xe3, 0x77, 0xc2), rgb(0x17, 0xbe, 0xcf),
}

// compareFigure overlays, one panel per metric of distMetrics, the
// empirical distribution function of each run's decided values, over
// the theory window of the first run that has one (shaded, with the
// uniform law's distribution function on it). Undecided values are not
// drawn: the panel's title counts them.
func compareFigure(l lang, c Compare, ms []runMetrics) (figure, bool) {
	var panels []*plot.Plot
	for _, name := range distMetrics(ms) {
		title := name
		undecided := 0
		var win *window
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, m := range ms {
			if cl := m.cells[name]; cl != nil {
				undecided += cl.undecided
				for _, x := range cl.values {
					lo, hi = math.Min(lo, x), math.Max(hi, x)
				}
			}
			if w, ok := m.windows[name]; ok && win == nil {
				win = &w
			}
		}
		if win != nil {
			lo, hi = math.Min(lo, win.lo), math.Max(hi, win.hi)
		}
		pad := 0.08 * (hi - lo)
		if pad == 0 {
			pad = math.Max(0.5, 0.05*math.Abs(lo))
		}
		if undecided > 0 {
			title += l.f("undecidedSeeds", undecided)
		}
		p := newPlot(title)
		p.X.Label.Text = metricAxisLabel(l, name)
		p.Y.Label.Text = l.s("cmpCDF")
		p.X.Tick.Marker = plot.TickerFunc(niceTicks)
		p.Y.Tick.Marker = plot.TickerFunc(sparseTicks)
		p.X.Min, p.X.Max = lo-pad, hi+pad
		p.Y.Min, p.Y.Max = 0, 1.05
		if win != nil && win.hi > win.lo {
			p.Add(windowBand{lo: win.lo, hi: win.hi})
			u, _ := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 0}, {X: win.lo, Y: 0}, {X: win.hi, Y: 1}, {X: p.X.Max, Y: 1}})
			u.LineStyle = draw.LineStyle{Color: colTheory, Width: 1.2, Dashes: windowStyle.Dashes}
			p.Add(u)
		}
		p.Add(gridLines{y: true})
		for i, m := range ms {
			cl := m.cells[name]
			if cl == nil || len(cl.values) == 0 {
				continue
			}
			line, _ := plotter.NewLine(ecdfSteps(cl.values, p.X.Min, p.X.Max))
			line.LineStyle = draw.LineStyle{Color: runPalette[i%len(runPalette)], Width: 2}
			p.Add(line)
		}
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return figure{}, false
	}
	var entries []legendEntry
	for i, r := range c.Runs {
		n := 0
		if cl := ms[i].cells["failover_s"]; cl != nil {
			n = len(cl.values)
		}
		label := r.Label
		if n > 1 {
			label = l.f("cmpRunN", r.Label, n)
		}
		entries = append(entries, legendEntry{label, lineSwatch(draw.LineStyle{Color: runPalette[i%len(runPalette)], Width: 2})})
	}
	entries = append(entries, legendEntry{l.s("cmpUniform"), swatch(colWindow)})
	tf := &timeFigure{name: compareName, title: lbTitle(l.s("cmpPlotTitle"), c.Lab), panels: panels, entries: entries, panelH: 220}
	return tf.figure(), true
}

// ecdfSteps is the empirical distribution function of values as the
// corners of a step line from x = from to x = to.
func ecdfSteps(values []float64, from, to float64) plotter.XYs {
	v := slices.Sorted(slices.Values(values))
	pts := plotter.XYs{{X: from, Y: 0}}
	n := float64(len(v))
	for i, x := range v {
		pts = append(pts, plotter.XY{X: x, Y: float64(i) / n}, plotter.XY{X: x, Y: float64(i+1) / n})
	}
	return append(pts, plotter.XY{X: to, Y: 1})
}
