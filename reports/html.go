package reports

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
)

//go:embed report.html.tmpl
var reportTemplateText string

// styleTemplateText defines the template "style": the pages' <style>
// element, shared by report.html and compare.html.
//
//go:embed style.html.tmpl
var styleTemplateText string

var reportTemplate = template.Must(template.Must(template.New("report").Funcs(template.FuncMap{"figureOf": figureOf}).
	Parse(reportTemplateText)).Parse(styleTemplateText))

// figureView is what the template "figure" draws: a plot, and the word
// that introduces its files.
type figureView struct {
	Plot  plotView
	Files string
}

// figureOf returns the figureView of p.
func figureOf(p plotView, files string) figureView { return figureView{Plot: p, Files: files} }

// plotRef is a plot written next to the report.
type plotRef struct {
	Name    string
	Caption string
	PNG     []byte
	// SVG is the plot's SVG file, embedded inline in the page (see
	// attachSVG); when nil the page shows the PNG.
	SVG []byte
	// Table, when set, is shown under the plot.
	Table *tableView
}

// Views of the report's parts, with every value already formatted.
type (
	pageView struct {
		// Lang is the page's lang attribute (en, zh-CN); T holds the
		// template's fixed words in that language, by key (see i18n.go).
		Lang string
		T    map[string]string
		// FontNote says the PNG files lack glyphs; "" when they do not.
		FontNote                string
		Title, Lab, Mode, Seeds string
		Passed, Interrupted     bool
		PassedCount             int
		Teaching                []template.HTML
		Theory                  []theoryView
		Plots                   []plotView
		// Availability is the section of the client hosts' outages and
		// their figure; nil without client operations.
		Availability *availView
		Marks        []markView
		Sweep        *sweepView
		Expectations []Expectation
		Warnings     []string
		Metrics      []metricView
		HistoryLink  bool
		// Histories link a sweep's seed histories.
		Histories []linkView
	}
	// linkView is a link to a file of the run's folder.
	linkView   struct{ Href, Text string }
	theoryView struct {
		VRID, Version               int
		BackupPriority              int
		Interval, Skew, MDI, Window string
		// Formula is escaped by hand: html/template would also escape
		// "+" (as &#43;), and the formula should read as written.
		Formula template.HTML
	}
	plotView struct {
		Name, Caption string
		// Img is the plot: its SVG inline (text stays text, so the browser
		// draws any script with its own fonts), or an <img> element with
		// the PNG as a data URL, built by hand: html/template would write
		// each "+" of the base64 text as "&#43;", which browsers read back
		// but other readers may not.
		Img   template.HTML
		Table *tableView
	}
	// tableView is a small table of figures shown under a plot.
	tableView struct {
		Head []string
		Rows [][]string
	}
	// availView is the availability section: the outages' text and the
	// figure.
	availView struct {
		*outageView
		Plot plotView
	}
	markView  struct{ From, To, Span, Label string }
	sweepView struct {
		Metric string
		Rows   []metricView
	}
	metricView struct {
		Name  string
		Value template.HTML
	}
)

// renderHTML renders report.html; fontNote, when set, says the PNG files
// lack glyphs.
func renderHTML(r Report, plots []plotRef, fontNote string) ([]byte, error) {
	l := langOf(r.Lang)
	v := pageView{
		Lang:        "en",
		T:           l.table(),
		FontNote:    fontNote,
		Title:       r.Title,
		Lab:         r.Lab,
		Mode:        r.Results.Mode,
		Passed:      r.Results.Passed,
		Interrupted: r.Results.Interrupted,
		Teaching:    teachingHTML(r.Teaching),
		Warnings:    r.Results.WarningsIn(r.Lang),
		Metrics:     metricsView(r.Results.Metrics),
		HistoryLink: r.Sweep == nil && r.Results.Seeds == 0, // a sweep has no history.jsonl
	}
	for _, h := range r.Results.Histories {
		key := "seedHistory"
		if !h.Passed {
			key = "seedHistoryFailed"
		}
		v.Histories = append(v.Histories, linkView{Href: h.File, Text: l.f(key, h.Seed)})
	}
	if v.Lab == "" {
		v.Lab = r.Results.Lab
	}
	if v.Title == "" {
		v.Title = v.Lab
	}
	if r.Results.Seeds > 0 {
		v.Seeds = l.f("seedsFrom", r.Results.Seeds, r.Results.Seed)
	} else {
		v.Seeds = l.f("seed", r.Results.Seed)
	}
	if l.zh {
		v.Lang = "zh-CN"
	}
	v.Expectations = make([]Expectation, len(r.Results.Expectations))
	for i, e := range r.Results.Expectations {
		if e.Passed {
			v.PassedCount++
		}
		e.Name = e.NameIn(r.Lang)
		e.Observed, e.Expected = e.ObservedIn(r.Lang), e.ExpectedIn(r.Lang)
		v.Expectations[i] = e
	}
	for _, t := range r.Theory {
		v.Theory = append(v.Theory, theoryView{
			VRID:           t.VRID,
			Version:        t.Version,
			BackupPriority: t.BackupPriority,
			Interval:       fmtDuration(t.Interval),
			Skew:           fmtDuration(t.Skew),
			MDI:            fmtDuration(t.MDI),
			Formula:        template.HTML(template.HTMLEscapeString(t.Formula)),
			Window:         l.f("afterFault", fmtSeconds(t.Lo), fmtSeconds(t.Hi)),
		})
	}
	for _, p := range plots {
		img := inlineSVG(p.Name, p.SVG)
		if img == "" {
			img = `<img src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(p.PNG) +
				`" alt="` + template.HTMLEscapeString(p.Name) + `" width="1200">`
		}
		table := p.Table
		if table != nil && l.zh {
			table = &tableView{Head: l.heads(table.Head), Rows: table.Rows}
		}
		pv := plotView{Name: p.Name, Caption: l.caption(p.Name, p.Caption, p.Table != nil), Img: template.HTML(img), Table: table}
		if p.Name == availabilityName {
			v.Availability = &availView{outageView: outageSection(l, r), Plot: pv}
			continue
		}
		v.Plots = append(v.Plots, pv)
	}
	for _, m := range r.Marks {
		v.Marks = append(v.Marks, markView{
			From:  fmtSeconds(m.From),
			To:    fmtSeconds(m.To),
			Span:  fmtSeconds(m.To - m.From),
			Label: m.text(l),
		})
	}
	if r.Sweep != nil {
		v.Sweep = sweepTable(r.Sweep, l)
	}
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("report.html: %w", err)
	}
	return b.Bytes(), nil
}

// sweepTable summarises a sweep as rows of a table.
func sweepTable(s *Sweep, l lang) *sweepView {
	st := summarize(s)
	sv := &sweepView{Metric: s.Metric}
	row := func(key, value string) {
		sv.Rows = append(sv.Rows, metricView{Name: l.s(key), Value: template.HTML(template.HTMLEscapeString(value))})
	}
	row("seeds", strconv.Itoa(st.N))
	if st.hasStatistics {
		row("min", fmtNum(st.Min))
		row("p5", fmtNum(st.P5))
		row("median", fmtNum(st.Median))
		row("mean", fmtNum(st.Mean))
		row("p95", fmtNum(st.P95))
		row("max", fmtNum(st.Max))
		row("stddev", fmtNum(st.StdDev))
	}
	if st.hasWindow {
		row("window", fmt.Sprintf("[%s, %s]", fmtNum(s.Lo), fmtNum(s.Hi)))
		if st.hasStatistics {
			row("inWindow", fmt.Sprintf("%.1f %%", 100*st.InWindow))
		}
		row("ksUnif", fmtNum(s.KS))
	}
	if len(s.Reference) > 1 && len(s.Values) > 1 {
		// Another world's distribution (the simulator's): the distance
		// beside the 5% critical value of the two samples, and the verdict.
		k := KSPair{N: len(s.Values), M: len(s.Reference), Distance: s.KSReference, Critical: KSCritical(len(s.Values), len(s.Reference))}
		verdict := l.s("pass")
		if !k.Passed() {
			verdict = l.s("fail")
		}
		row("ksRef", l.f("ksRefVal", strconv.FormatFloat(k.Distance, 'f', 4, 64), s.ReferenceLabel, strconv.FormatFloat(k.Critical, 'f', 4, 64), verdict))
	}
	return sv
}

// teachingHTML turns the teaching text into blocks of HTML, each a
// whole element: blank lines separate paragraphs (<p>); lines that start
// with "- " or "* " are items of a list (<ul>), lines that start with a
// number and ". " or ") " items of a numbered list (<ol>, from that
// number; as in CommonMark, only 1 starts one inside a paragraph), and a
// more indented line under an item continues it. Everything is escaped;
// `code` spans become <code>.
func teachingHTML(s string) []template.HTML {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var blocks []template.HTML
	var para []string          // lines of the paragraph being read
	var items []string         // items of the list being read
	ordered, first := false, 0 // a numbered list, and its first item's number
	flushPara := func() {
		if len(para) > 0 {
			blocks = append(blocks, "<p>"+inlineHTML(strings.Join(para, "\n"))+"</p>")
			para = nil
		}
	}
	flushList := func() {
		if len(items) > 0 {
			var b strings.Builder
			tag := "ul"
			switch {
			case ordered && first == 1:
				tag = "ol"
				b.WriteString("<ol>")
			case ordered:
				tag = "ol"
				fmt.Fprintf(&b, `<ol start="%d">`, first)
			default:
				b.WriteString("<ul>")
			}
			for _, it := range items {
				b.WriteString("<li>" + string(inlineHTML(it)) + "</li>")
			}
			b.WriteString("</" + tag + ">")
			blocks = append(blocks, template.HTML(b.String()))
			items = nil
		}
	}
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		n, rest, numbered := numberedItem(t)
		switch {
		case t == "":
			flushPara()
			flushList()
		case strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* "):
			flushPara()
			if ordered {
				flushList()
			}
			ordered = false
			items = append(items, strings.TrimSpace(t[2:]))
		case numbered && (len(para) == 0 || n == 1):
			flushPara()
			if len(items) == 0 || !ordered {
				flushList()
				ordered, first = true, n
			}
			items = append(items, rest)
		case len(items) > 0 && len(line)-len(strings.TrimLeft(line, " \t")) > 0:
			items[len(items)-1] += "\n" + t // an indented line continues the item
		default:
			flushList()
			para = append(para, t)
		}
	}
	flushPara()
	flushList()
	return blocks
}

// numberedItem reads the start of an item of a numbered list: up to 9
// digits, then ". " or ") ". It returns the number and the item's text.
func numberedItem(t string) (int, string, bool) {
	i := 0
	for i < len(t) && i < 9 && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 || i+1 >= len(t) || (t[i] != '.' && t[i] != ')') || t[i+1] != ' ' {
		return 0, "", false
	}
	n, err := strconv.Atoi(t[:i])
	if err != nil {
		return 0, "", false
	}
	return n, strings.TrimSpace(t[i+2:]), true
}

// inlineHTML escapes s and turns `code` spans into <code> elements; an
// unmatched backtick stays as it is.
func inlineHTML(s string) template.HTML {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], '`')
		if j < 0 {
			break
		}
		b.WriteString(template.HTMLEscapeString(s[:i]))
		b.WriteString("<code>")
		b.WriteString(template.HTMLEscapeString(s[i+1 : i+1+j]))
		b.WriteString("</code>")
		s = s[i+1+j+1:]
	}
	b.WriteString(template.HTMLEscapeString(s))
	return template.HTML(b.String())
}

// metricsView lists metrics by name.
func metricsView(m map[string]any) []metricView {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]metricView, 0, len(keys))
	for _, k := range keys {
		out = append(out, metricView{Name: k, Value: valueHTML(reflect.ValueOf(m[k]))})
	}
	return out
}

// valueHTML renders a metric value: numbers formatted, maps as a nested
// key=value list in key order, lists comma-separated.
func valueHTML(v reflect.Value) template.HTML {
	esc := func(s string) template.HTML { return template.HTML(template.HTMLEscapeString(s)) }
	if !v.IsValid() {
		return "—"
	}
	if n, ok := v.Interface().(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			return esc(fmtNum(f))
		}
		return esc(n.String())
	}
	if d, ok := v.Interface().(time.Duration); ok {
		return esc(fmtDuration(d))
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return "—"
		}
		return valueHTML(v.Elem())
	case reflect.Float32, reflect.Float64:
		return esc(fmtNum(v.Float()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return esc(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return esc(strconv.FormatUint(v.Uint(), 10))
	case reflect.Bool:
		return esc(strconv.FormatBool(v.Bool()))
	case reflect.String:
		return esc(v.String())
	case reflect.Map:
		if v.Len() == 0 {
			return "{}"
		}
		type kv struct {
			k string
			v reflect.Value
		}
		var items []kv
		iter := v.MapRange()
		for iter.Next() {
			items = append(items, kv{fmt.Sprint(iter.Key().Interface()), iter.Value()})
		}
		slices.SortFunc(items, func(a, b kv) int { return naturalCompare(a.k, b.k) })
		var b strings.Builder
		b.WriteString(`<ul class="kv">`)
		for _, it := range items {
			b.WriteString(`<li><span class="k">`)
			b.WriteString(template.HTMLEscapeString(it.k))
			b.WriteString(`</span>=`)
			b.WriteString(string(valueHTML(it.v)))
			b.WriteString(`</li>`)
		}
		b.WriteString(`</ul>`)
		return template.HTML(b.String())
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = string(valueHTML(v.Index(i)))
		}
		return template.HTML("[" + strings.Join(parts, ", ") + "]")
	}
	return esc(fmt.Sprint(v.Interface()))
}

// fmtNum formats a number with at most six decimals and no trailing
// zeros (3.609375, 0.5, 12); very small or very large numbers use
// exponent notation with six significant digits.
func fmtNum(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return strconv.FormatFloat(f, 'g', -1, 64)
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case math.Abs(f) < 1e-3 || math.Abs(f) >= 1e15:
		return strconv.FormatFloat(f, 'g', 6, 64)
	}
	s := strconv.FormatFloat(f, 'f', 6, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// fmtSeconds writes a duration as exact seconds: 3.609375.
func fmtSeconds(d time.Duration) string {
	b, _ := history.Stamp(d).MarshalJSON()
	return string(b)
}

// fmtDuration writes a duration as exact seconds with the unit: "3.609375 s".
func fmtDuration(d time.Duration) string { return fmtSeconds(d) + " s" }

// --- inline SVG plots (issue 11, 中文) ---

// attachSVG reads each plot's SVG file from dir (written beside its PNG)
// so that the page embeds it inline; a plot whose SVG cannot be read is
// shown as its PNG.
func attachSVG(dir string, plots []plotRef) {
	for i := range plots {
		if b, err := os.ReadFile(filepath.Join(dir, plots[i].Name+".svg")); err == nil {
			plots[i].SVG = b
		}
	}
}

// plotTexts returns the texts drawn in the plots (from their SVG files).
func plotTexts(plots []plotRef) []string {
	var out []string
	for _, p := range plots {
		out = append(out, svgTextContents(p.SVG)...)
	}
	return out
}

// inlineSVG returns an SVG file written by gonum/plot as an element to
// embed in the page: the XML declaration and comments before <svg> are
// dropped, the element gets a class, a role and a label. gonum/plot's SVG
// has no id attributes, so several plots on one page cannot clash. It
// returns "" for data that is not such a file.
func inlineSVG(name string, svg []byte) string {
	s := string(svg)
	i := strings.Index(s, "<svg ")
	if i < 0 || !strings.HasSuffix(strings.TrimSpace(s), "</svg>") || strings.Contains(s, " id=") {
		return ""
	}
	return `<svg class="plot" role="img" aria-label="` + template.HTMLEscapeString(name) + `" ` +
		strings.TrimSpace(s[i+len("<svg "):])
}
