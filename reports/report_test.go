package reports

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/lblab/lblab/history"
)

func sec(s float64) history.Stamp { return history.Stamp(time.Duration(s * float64(time.Second))) }

func vrrpEv(t float64, router, from, to string, prio int, reason string) history.Event {
	return history.Event{T: sec(t), Kind: history.KindVRRP, Router: router, Instance: "VI_1", VRID: 51,
		From: from, To: to, Priority: prio, Reason: reason}
}

func vipEv(t float64, owner, prev string) history.Event {
	return history.Event{T: sec(t), Kind: history.KindVIP, VIP: "10.77.0.100", Owner: owner, Prev: prev}
}

func faultEv(t float64, kind, target string) history.Event {
	return history.Event{T: sec(t), Kind: history.KindFault, Fault: kind, Target: target}
}

// failoverHistory is a two-router failover: r1 becomes master at 3.4 s, is
// crashed at 10 s, r2 takes over at 13.2 s; r1 is restored at 30 s.
func failoverHistory() []history.Event {
	return []history.Event{
		vrrpEv(0, "r1", "INIT", "BACKUP", 150, "startup"),
		vrrpEv(0, "r2", "INIT", "BACKUP", 100, "startup"),
		vrrpEv(3.4, "r1", "BACKUP", "MASTER", 150, "master down timer expired"),
		vipEv(3.4, "r1", ""),
		faultEv(10, "crash", "r1"),
		vrrpEv(10, "r1", "MASTER", "STOP", 150, "host crashed"),
		vipEv(10, "", "r1"),
		vrrpEv(13.2, "r2", "BACKUP", "MASTER", 100, "master down timer expired"),
		vipEv(13.2, "r2", ""),
		faultEv(30, "restore", "r1"),
		vrrpEv(30, "r1", "STOP", "INIT", 150, "host restored"),
		vrrpEv(30, "r1", "INIT", "BACKUP", 150, "startup"),
		vrrpEv(33.609375, "r1", "BACKUP", "MASTER", 150, "preempt"),
		vrrpEv(33.609375, "r2", "MASTER", "BACKUP", 100, "higher priority advert"),
		vipEv(33.609375, "r1", "r2"),
	}
}

const testFormula = "3 × 1 s + (256 − 100)/256 s = 3.609375 s"

func failoverReport() Report {
	return Report{
		Lab:   "vrrp-failover",
		Title: "What happens when the master router dies?",
		Teaching: "Two routers share the address `10.77.0.100`. The master advertises once a second.\n\n" +
			"When it dies silently, the backup waits for `Master_Down_Interval` & then takes over <b>not bold</b>.",
		Results: Results{
			Lab: "vrrp-failover", Mode: "sim", Seed: 42, Passed: false,
			Expectations: []Expectation{
				{Name: "r2 takes over within the theory window", Passed: true, Observed: "3.2 s", Expected: "in [2.609375 s, 3.609375 s]"},
				{Name: "no split brain", Passed: false, Observed: "2 masters for 0.1 s", Expected: "at most 1 master"},
			},
			Metrics: map[string]any{
				"failover_s":       3.2,
				"masters_max":      1,
				"adverts_by_host":  map[string]any{"r1": 10.0, "r2": 27.0},
				"vip_gap_s":        3.2000001,
				"nested":           map[string]any{"a": map[string]any{"b": 1.5}},
				"empty_map":        map[string]any{},
				"list":             []any{1.0, 2.5},
				"escaped<metric>&": "<script>",
			},
		},
		History:  failoverHistory(),
		Duration: 40 * time.Second,
		Theory: []VRRPTheory{{
			VRID: 51, Version: 2, Interval: time.Second, BackupPriority: 100,
			Skew: 609375 * time.Microsecond, MDI: 3609375 * time.Microsecond,
			Formula: testFormula,
			Lo:      2609375 * time.Microsecond, Hi: 3609375 * time.Microsecond,
		}},
		Marks: []Mark{{From: 10 * time.Second, To: 13200 * time.Millisecond,
			Label: "failover 3.2 s; theory [2.609, 3.609] s"}},
	}
}

func sweepReport(n int) Report {
	rng := rand.New(rand.NewPCG(1, 2))
	lo, hi := 2.609375, 3.609375
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = lo + rng.Float64()*(hi-lo)
	}
	return Report{
		Lab:   "vrrp-failover",
		Title: "Failover time over many seeds",
		Results: Results{Lab: "vrrp-failover", Mode: "sim", Seed: 1, Seeds: n, Passed: true,
			Expectations: []Expectation{{Name: "every failover in window", Passed: true, Observed: "all", Expected: "all"}},
			Metrics:      map[string]any{"failover_s_median": 3.1}},
		Sweep: &Sweep{Metric: "failover_s", Values: vals, Lo: lo, Hi: hi, KS: 0.0213},
	}
}

func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: size %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("</svg>")) {
		t.Errorf("%s: not an SVG document", path)
	}
}

func TestWriteSingleRun(t *testing.T) {
	dir := t.TempDir()
	r := failoverReport()
	path, err := Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "report.html") {
		t.Errorf("path = %s", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		r.Title,
		`<svg class="plot" role="img" aria-label="timeline"`,
		"r2 takes over within the theory window",
		"no split brain",
		testFormula,
		"<code>10.77.0.100</code>",
		"&lt;b&gt;not bold&lt;/b&gt;",
		"&amp; then",
		"timeline.svg",
		"history.jsonl",
		"results.json",
		"FAIL",
		"3.609375 s",
		`<span class="k">r1</span>=10`,
		"3.2",
		"&lt;script&gt;",
		"seed 42",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "<b>") {
		t.Error("report.html has unescaped markup from the input")
	}
	// Metric keys are sorted.
	if i, j := strings.Index(html, "adverts_by_host"), strings.Index(html, "vip_gap_s"); i < 0 || j < 0 || i > j {
		t.Error("metrics are not sorted by name")
	}
	// The figure grows with its rows; the PNG size follows the figure size.
	f, ok := timelineFigure(r)
	if !ok {
		t.Fatal("no timeline figure")
	}
	w, h := int(math.Round(float64(plotWidth/vg.Inch)*plotDPI)), int(math.Round(float64(f.height/vg.Inch)*plotDPI))
	checkPNG(t, filepath.Join(dir, "timeline.png"), w, h)
	// The page embeds timeline.svg inline: its text stays text.
	onDisk, _ := os.ReadFile(filepath.Join(dir, "timeline.svg"))
	if i := bytes.Index(onDisk, []byte("<svg ")); i < 0 || !strings.Contains(html, string(onDisk[i+len("<svg "):])) {
		t.Error("report.html does not embed timeline.svg inline")
	}
	checkSVG(t, filepath.Join(dir, "timeline.svg"))
	if _, err := os.Stat(filepath.Join(dir, "failover_hist.png")); err == nil {
		t.Error("a single run wrote a histogram")
	}
}

func TestTimelineModel(t *testing.T) {
	tl, ok := buildTimeline(failoverReport())
	if !ok {
		t.Fatal("no timeline")
	}
	var names []string
	for _, l := range tl.lanes {
		names = append(names, l.name)
	}
	if got := strings.Join(names, ","); got != "r1,priority,r2,priority,VIP 10.77.0.100" {
		t.Fatalf("lanes = %s", got)
	}
	type bar struct {
		from, to float64
		label    string
	}
	got := func(l tlLane) (out []bar) {
		for _, b := range l.bars {
			out = append(out, bar{b.from, b.to, b.label})
		}
		return out
	}
	want := [][]bar{
		{{0, 3.4, "BACKUP"}, {3.4, 10, "MASTER"}, {10, 30, "CRASHED"}, {30, 33.609375, "BACKUP"}, {33.609375, 40, "MASTER"}},
		nil,
		{{0, 13.2, "BACKUP"}, {13.2, 33.609375, "MASTER"}, {33.609375, 40, "BACKUP"}},
		nil,
		{{3.4, 10, "r1"}, {10, 13.2, "nobody"}, {13.2, 33.609375, "r2"}, {33.609375, 40, "r1"}},
	}
	for i, l := range tl.lanes {
		g := got(l)
		if len(g) != len(want[i]) {
			t.Errorf("lane %s: bars %v, want %v", l.name, g, want[i])
			continue
		}
		for j := range g {
			if math.Abs(g[j].from-want[i][j].from) > 1e-9 || math.Abs(g[j].to-want[i][j].to) > 1e-9 || g[j].label != want[i][j].label {
				t.Errorf("lane %s bar %d: %v, want %v", l.name, j, g[j], want[i][j])
			}
		}
	}
	if len(tl.shades) != 1 || tl.shades[0].from != 10 || tl.shades[0].to != 30 {
		t.Errorf("shades = %v, want [{10 30}]", tl.shades)
	}
	if len(tl.faults) != 2 || tl.faults[0].label != "crash r1" || tl.faults[1].label != "restore r1" {
		t.Errorf("faults = %v", tl.faults)
	}
}

func TestFaultLabelsStaircase(t *testing.T) {
	r := Report{Duration: 60 * time.Second, History: []history.Event{
		vrrpEv(0, "r1", "INIT", "MASTER", 255, "startup"),
		faultEv(10, "link_down", "r1:eth0"),
		faultEv(10.2, "partition", "lan"),
		faultEv(10.4, "crash", "r2"),
		faultEv(40, "heal", "lan"),
	}}
	tl, ok := buildTimeline(r)
	if !ok {
		t.Fatal("no timeline")
	}
	rows := map[string]int{}
	for _, f := range tl.faults {
		rows[f.label] = f.row
	}
	if _, ok := rows["link_down r1:eth0"]; !ok || rows["link_down r1:eth0"] != 0 || rows["partition lan"] != 1 || rows["crash r2"] != 2 || rows["heal lan"] != 0 {
		t.Errorf("rows = %v", rows)
	}
	if tl.nFaultRows != 3 {
		t.Errorf("fault rows = %d, want 3", tl.nFaultRows)
	}
	// Open spans last to the end of the run.
	if len(tl.shades) != 3 {
		t.Fatalf("shades = %v", tl.shades)
	}
	for _, s := range tl.shades {
		if s.from == 10.2 && s.to != 40 || s.from != 10.2 && s.to != 60 {
			t.Errorf("shade %v", s)
		}
	}
}

func TestWriteSweep(t *testing.T) {
	dir := t.TempDir()
	r := sweepReport(1000)
	path, err := Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "failover_hist.png"), 1200, 480)
	checkSVG(t, filepath.Join(dir, "failover_hist.svg"))
	if _, err := os.Stat(filepath.Join(dir, "timeline.png")); err == nil {
		t.Error("a sweep wrote a timeline")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{`<svg class="plot" role="img" aria-label="failover_hist"`, "failover_hist.svg", "1000 seeds", "KS distance to uniform", "median", "every failover in window", "PASS"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(html, "history.jsonl") {
		t.Error("a sweep report links a history")
	}
}

func TestSummarize(t *testing.T) {
	st := summarize(&Sweep{Values: []float64{4, 1, 3, 2, math.NaN()}, Lo: 1.5, Hi: 3.5})
	if st.N != 5 || st.Min != 1 || st.Max != 4 || st.Median != 2.5 || st.Mean != 2.5 || st.InWindow != 0.5 {
		t.Errorf("summary = %+v", st)
	}
}

func TestWriteDegenerate(t *testing.T) {
	for name, r := range map[string]Report{
		"empty":          {},
		"empty history":  {Lab: "x", History: []history.Event{}, Duration: 10 * time.Second},
		"faults only":    {Lab: "x", History: []history.Event{faultEv(1, "crash", "r1")}},
		"zero duration":  {Lab: "x", History: []history.Event{vrrpEv(0, "r1", "INIT", "MASTER", 100, "")}},
		"empty sweep":    {Lab: "x", Sweep: &Sweep{Metric: "failover_s"}},
		"no window":      {Lab: "x", Sweep: &Sweep{Metric: "failover_s", Values: []float64{1, 2, 3}}},
		"one value":      {Lab: "x", Sweep: &Sweep{Metric: "failover_s", Values: []float64{3}}},
		"inverted marks": {Lab: "x", History: failoverHistory(), Marks: []Mark{{From: 5 * time.Second, To: time.Second, Label: "backwards"}}},
		"nan values":     {Lab: "x", Sweep: &Sweep{Values: []float64{math.NaN(), math.Inf(1)}, Lo: 1, Hi: 2}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path, err := Write(dir, r)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWriteJUnit(t *testing.T) {
	single := failoverReport().Results
	sweep := sweepReport(10).Results
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := WriteJUnit(path, []Results{single, sweep}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if doc.Tests != 3 || doc.Failures != 1 || len(doc.Suites) != 2 {
		t.Fatalf("tests=%d failures=%d suites=%d\n%s", doc.Tests, doc.Failures, len(doc.Suites), b)
	}
	s0, s1 := doc.Suites[0], doc.Suites[1]
	if s0.Name != "vrrp-failover" || s0.Tests != 2 || s0.Failures != 1 {
		t.Errorf("suite 0 = %s tests=%d failures=%d", s0.Name, s0.Tests, s0.Failures)
	}
	if s1.Name != "vrrp-failover (seeds 10)" || s1.Tests != 1 || s1.Failures != 0 {
		t.Errorf("suite 1 = %s tests=%d failures=%d", s1.Name, s1.Tests, s1.Failures)
	}
	c := s0.Cases[1]
	if c.Name != "no split brain" || c.Classname != "vrrp-failover" || c.Failure == nil ||
		!strings.Contains(c.Failure.Message, "2 masters for 0.1 s") || !strings.Contains(c.Failure.Message, "at most 1 master") {
		t.Errorf("failed case = %+v", c)
	}
	if s0.Cases[0].Failure != nil {
		t.Error("a passed expectation has a failure")
	}

	// No runs at all is still a valid document.
	if err := WriteJUnit(path, nil); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
}

func TestFmtNum(t *testing.T) {
	for in, want := range map[float64]string{
		3.609375: "3.609375", 0.5: "0.5", 12: "12", 3.2000001: "3.2", -1.25: "-1.25",
		0.00012345678: "0.000123457", 1e20: "1e+20",
	} {
		if got := fmtNum(in); got != want {
			t.Errorf("fmtNum(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestNaturalCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"r2", "r10", -1}, {"r10", "r2", 1}, {"r1", "r1", 0}, {"a", "b", -1}, {"r01", "r1", 0}, {"r1", "r1a", -1}} {
		if got := naturalCompare(c.a, c.b); got != c.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestPreview writes sample reports to $REPORT_PREVIEW_DIR for a human to
// look at; it is skipped when that variable is unset.
func TestPreview(t *testing.T) {
	dir := os.Getenv("REPORT_PREVIEW_DIR")
	if dir == "" {
		t.Skip("REPORT_PREVIEW_DIR not set")
	}
	if _, err := Write(filepath.Join(dir, "single"), failoverReport()); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(filepath.Join(dir, "sweep"), sweepReport(1000)); err != nil {
		t.Fatal(err)
	}
	busy := Report{Lab: "vrrp-busy", Duration: 60 * time.Second, History: []history.Event{
		vrrpEv(0, "r1", "INIT", "BACKUP", 200, ""),
		vrrpEv(0, "r2", "INIT", "BACKUP", 150, ""),
		vrrpEv(0, "r10", "INIT", "BACKUP", 100, ""),
		vrrpEv(3.2, "r1", "BACKUP", "MASTER", 200, ""),
		vipEv(3.2, "r1", ""),
		{T: sec(3.2), Kind: history.KindVIP, VIP: "10.77.0.101", Owner: "r1"},
		faultEv(10, "link_down", "r1:eth0"),
		faultEv(10.3, "script_fail", "r1"),
		vrrpEv(10.3, "r1", "MASTER", "FAULT", 200, "track script failed"),
		vipEv(10.3, "", "r1"),
		{T: sec(10.3), Kind: history.KindVIP, VIP: "10.77.0.101", Owner: ""},
		vrrpEv(10.9, "r2", "BACKUP", "MASTER", 150, ""),
		vipEv(10.9, "r2", ""),
		{T: sec(10.9), Kind: history.KindVIP, VIP: "10.77.0.101", Owner: "r2"},
		faultEv(25, "partition", "lan"),
		vrrpEv(28.3, "r10", "BACKUP", "MASTER", 100, ""),
		faultEv(40, "heal", "lan"),
		vrrpEv(40.1, "r10", "MASTER", "BACKUP", 100, ""),
		faultEv(45, "link_up", "r1:eth0"),
		faultEv(45, "script_ok", "r1"),
		vrrpEv(45, "r1", "FAULT", "BACKUP", 200, ""),
		vrrpEv(48.6, "r1", "BACKUP", "MASTER", 200, ""),
		vrrpEv(48.6, "r2", "MASTER", "BACKUP", 150, ""),
		vipEv(48.6, "r1", "r2"),
		{T: sec(48.6), Kind: history.KindVIP, VIP: "10.77.0.101", Owner: "r1"},
		faultEv(59.5, "crash", "r10"),
		vrrpEv(59.5, "r10", "BACKUP", "STOP", 100, ""),
	}, Marks: []Mark{
		{From: 10 * time.Second, To: 10900 * time.Millisecond, Label: "takeover 0.9 s"},
		{From: 25 * time.Second, To: 28300 * time.Millisecond, Label: "split brain after 3.3 s; theory [2.609, 3.609] s"},
		{From: 45 * time.Second, To: 48600 * time.Millisecond, Label: "preempt 3.6 s"},
	}}
	if _, err := Write(filepath.Join(dir, "busy"), busy); err != nil {
		t.Fatal(err)
	}
	var multi []history.Event
	for _, vrid := range []int{51, 52} {
		for _, e := range failoverHistory() {
			if e.Kind == history.KindVRRP {
				e.VRID = vrid
				if vrid == 52 {
					e.T += sec(0.5)
				}
				multi = append(multi, e)
			}
		}
	}
	multi = append(multi, faultEv(10, "crash", "r1"), faultEv(30, "restore", "r1"))
	slices.SortStableFunc(multi, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
	if _, err := Write(filepath.Join(dir, "multi"), Report{Lab: "vrrp-two-groups", Duration: 40 * time.Second, History: multi,
		Marks: []Mark{
			{From: 10 * time.Second, To: 13200 * time.Millisecond, Label: "VRID 51 failover 3.2 s"},
			{From: 10 * time.Second, To: 13700 * time.Millisecond, Label: "VRID 52 failover 3.7 s"},
		}}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteDeterministic(t *testing.T) {
	for name, r := range map[string]Report{"single": failoverReport(), "sweep": sweepReport(200)} {
		a, b := t.TempDir(), t.TempDir()
		if _, err := Write(a, r); err != nil {
			t.Fatal(err)
		}
		if _, err := Write(b, r); err != nil {
			t.Fatal(err)
		}
		files, _ := os.ReadDir(a)
		for _, f := range files {
			x, _ := os.ReadFile(filepath.Join(a, f.Name()))
			y, _ := os.ReadFile(filepath.Join(b, f.Name()))
			if !bytes.Equal(x, y) {
				t.Errorf("%s: %s differs between two writes", name, f.Name())
			}
		}
	}
}
