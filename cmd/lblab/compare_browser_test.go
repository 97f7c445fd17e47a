package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lblab/lblab/internal/browsertest"
	"github.com/lblab/lblab/reports"
)

// compareSeen is what compareSeenJS reads of a compare page in the
// browser.
type compareSeen struct {
	H1     string   `json:"h1"`
	H2     []string `json:"h2"`
	Body   string   `json:"body"`
	KSHead []string `json:"ksHead"`
	KS     []struct {
		Cells []string `json:"cells"`
		Class string   `json:"class"` // the verdict cell's
	} `json:"ks"`
	Panels []string `json:"panels"` // the plot's texts
	Legend []struct {
		Text   string `json:"text"`
		Stroke string `json:"stroke"`
	} `json:"legend"`
	Curves []struct {
		Stroke string `json:"stroke"`
		Points int    `json:"points"`
	} `json:"curves"`
}

// compareSeenJS reads the compare page as drawn: its headings and text,
// the KS table's cells, and from the inline plot compare_cdf the legend's
// line entries (a text after a one-segment path of width 2: its colour)
// and every line of width 2 with more than two points (a run's step
// curve: its colour and its number of points).
const compareSeenJS = `(() => {
  const text = (el) => el.textContent.trim().replace(/\s+/g, " ");
  const out = {h1: text(document.querySelector("h1")), h2: [...document.querySelectorAll("h2")].map(text),
    body: document.body.innerText, ksHead: [], ks: [], panels: [], legend: [], curves: []};
  const ks = document.querySelector("table.ks");
  if (ks) {
    out.ksHead = [...ks.querySelectorAll("th")].map(text);
    for (const tr of ks.querySelectorAll("tr")) {
      const tds = [...tr.querySelectorAll("td")];
      if (tds.length) out.ks.push({cells: tds.map(text), class: tds[tds.length - 1].className});
    }
  }
  const svg = document.querySelector('svg[aria-label="compare_cdf"]');
  if (!svg) return out;
  const points = (p) => (p.getAttribute("d").match(/[ML]/g) || []).length;
  const wide = (p) => parseFloat(getComputedStyle(p).strokeWidth) === 2 && getComputedStyle(p).fill === "none";
  for (const t of svg.querySelectorAll("text")) {
    out.panels.push(text(t));
    const p = t.previousElementSibling;
    if (p && p.tagName === "path" && wide(p) && points(p) === 2) out.legend.push({text: text(t), stroke: getComputedStyle(p).stroke});
  }
  for (const p of svg.querySelectorAll("path")) {
    if (wide(p) && points(p) > 2) out.curves.push({stroke: getComputedStyle(p).stroke, points: points(p)});
  }
  return out;
})()`

// compareWant is what a compare page of two sweeps must show.
type compareWant struct {
	lang   string       // reports.LangEnglish or LangChinese
	labels [2]string    // the runs' column labels
	values [2][]float64 // each run's failover delays (report.json)
}

// checkComparePage opens the compare page at path in browser and returns
// what is wrong with it: the generic checks (browsertest: plots drawn,
// linked plot files load, no overflow, no console error, nothing
// requested outside the page's folder), and the compare page's own: the
// overlay has a legend line and exactly one step curve for each run, of
// 2n+2 points for its n failover delays; the KS table has one row, with
// the distance and 5% critical value of the two runs' delays and the
// verdict PASS or FAIL (coloured); in Chinese, the headings, the table's
// head, the verdict and the legend are Chinese and the English ones
// absent.
func checkComparePage(t *testing.T, browser context.Context, path, shot string, want compareWant) []string {
	t.Helper()
	zh := want.lang == reports.LangChinese
	htmlLang := "en"
	if zh {
		htmlLang = "zh-CN"
	}
	p := browsertest.Open(t, browser, path)
	defer p.Close()
	problems := p.Check(t, shot, htmlLang)
	got := browsertest.Eval[compareSeen](t, p, compareSeenJS)

	if !slices.Contains(got.Panels, "failover_s") {
		problems = append(problems, fmt.Sprintf("the plot has no failover_s panel; its texts: %q", got.Panels))
	}
	seen := map[string]bool{}
	for i, label := range want.labels {
		n := len(want.values[i])
		entry := fmt.Sprintf("%s (%d seeds)", label, n)
		if zh {
			entry = fmt.Sprintf("%s（%d 个种子）", label, n)
		}
		stroke := ""
		for _, l := range got.Legend {
			if l.Text == entry {
				stroke = l.Stroke
			}
		}
		if stroke == "" {
			problems = append(problems, fmt.Sprintf("the plot's legend has no line %q; it has %+v", entry, got.Legend))
			continue
		}
		if seen[stroke] {
			problems = append(problems, fmt.Sprintf("run %s's legend colour %s is another run's too", label, stroke))
		}
		seen[stroke] = true
		var curves []int
		for _, c := range got.Curves {
			if c.Stroke == stroke {
				curves = append(curves, c.Points)
			}
		}
		if len(curves) != 1 || curves[0] != 2*n+2 {
			problems = append(problems, fmt.Sprintf("run %s (%s): step curves of %v points in the overlay, want one of %d (%d delays)", label, stroke, curves, 2*n+2, n))
		}
	}

	ks := reports.KSTwoSample(want.values[0], want.values[1])
	crit := reports.KSCritical(len(want.values[0]), len(want.values[1]))
	verdict, class := "PASS", "pass-cell"
	if ks > crit {
		verdict, class = "FAIL", "fail-cell"
	}
	head := []string{"metric", "runs", "values", "KS distance", "5% critical value", "verdict"}
	if zh {
		verdict = map[string]string{"PASS": "通过", "FAIL": "失败"}[verdict]
		head = []string{"指标", "两次运行", "值的个数", "KS 距离", "5% 临界值", "判定"}
	}
	row := []string{"failover_s", want.labels[0] + " ↔ " + want.labels[1], fmt.Sprintf("%d, %d", len(want.values[0]), len(want.values[1])),
		strconv.FormatFloat(ks, 'f', 4, 64), strconv.FormatFloat(crit, 'f', 4, 64), verdict}
	if !slices.Equal(got.KSHead, head) {
		problems = append(problems, fmt.Sprintf("KS table head %q, want %q", got.KSHead, head))
	}
	if len(got.KS) != 1 || !slices.Equal(got.KS[0].Cells, row) || got.KS[0].Class != class {
		problems = append(problems, fmt.Sprintf("KS table rows %+v, want one row %q with a %s verdict", got.KS, row, class))
	}

	title, h2, absent := "Compare: vrrp-failover", []string{"Side by side", "Plots", "Two-sample Kolmogorov–Smirnov distances"}, []string{"对比", "通过", "失败"}
	if zh {
		title, h2, absent = "对比：vrrp-failover", []string{"并排对比", "图表", "双样本 Kolmogorov–Smirnov 距离"},
			[]string{"Side by side", "Two-sample", "theory window", "One column per run", "PASS", "FAIL", "seeds,", "Files:"}
	}
	if got.H1 != title {
		problems = append(problems, fmt.Sprintf("heading %q, want %q", got.H1, title))
	}
	if !slices.Equal(got.H2, h2) {
		problems = append(problems, fmt.Sprintf("section headings %q, want %q", got.H2, h2))
	}
	for _, a := range absent {
		if strings.Contains(got.Body, a) {
			problems = append(problems, fmt.Sprintf("the %s page shows %q", want.lang, a))
		}
	}
	return problems
}

// TestCompareInBrowser: lblab compare DIR1 DIR2 of two simulator sweeps
// of vrrp-failover (20 seeds from 1; 20 seeds from 101 with r2's priority
// 50), in English and in Chinese, opened in headless Chromium: the page
// passes checkComparePage (plots drawn and self-contained, one curve a
// run, the KS numbers of the runs' report.json, Chinese words on the
// Chinese page). Screenshots are kept in $LBLAB_SCREENSHOTS when set.
// Then the same check on broken copies of the English page must see each
// fault: a run's curve removed, the KS distance changed, an image
// fetched from the network, the linked PNG deleted, an English heading
// on the Chinese page. Without Chromium it skips in one line; CI=true
// fails (go tool task deps:report installs it).
func TestCompareInBrowser(t *testing.T) {
	chromium := browsertest.NeedChromium(t)
	shots := os.Getenv("LBLAB_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	before, after := filepath.Join(dir, "before"), filepath.Join(dir, "after")
	code, stdout, stderr := lblab(t, "run", "vrrp-failover", "--seeds", "20", "--out", before)
	wantExit(t, code, 0, stdout, stderr)
	code, stdout, stderr = lblab(t, "run", "vrrp-failover", "--seeds", "20", "--seed", "101",
		"--set", "vrrp.vrrp_instance[1].priority=50", "--out", after)
	wantExit(t, code, 0, stdout, stderr)
	want := compareWant{labels: [2]string{"before", "after"}, values: [2][]float64{sweepValues(t, before), sweepValues(t, after)}}

	browser, stop := browsertest.Start(t, chromium)
	defer stop()
	pages := map[string]string{}
	for _, lang := range []string{reports.LangEnglish, reports.LangChinese} {
		out := filepath.Join(dir, "cmp-"+lang)
		code, stdout, stderr := lblab(t, "compare", before, after, "--out", out, "--lang", lang)
		wantExit(t, code, 0, stdout, stderr)
		pages[lang] = filepath.Join(out, reports.CompareFile)
		want.lang = lang
		for _, p := range checkComparePage(t, browser, pages[lang], filepath.Join(shots, "compare-"+lang+".png"), want) {
			t.Errorf("%s: %s", lang, p)
		}
	}

	// Broken copies of the page, each with its fault the check must see
	// (the curve: the last line in the second run's colour, after its
	// legend swatch).
	en, err := os.ReadFile(pages[reports.LangEnglish])
	if err != nil {
		t.Fatal(err)
	}
	ks := strconv.FormatFloat(reports.KSTwoSample(want.values[0], want.values[1]), 'f', 4, 64)
	const orange = "stroke:#FF7F0E;stroke-width:2"
	for _, c := range []struct {
		name, find, replace string
		last, removePNG     bool
		lang                string
		sees                string
	}{
		{name: "curve", find: orange, last: true, replace: "stroke:#FF7F0E;stroke-width:3", sees: "run after (rgb(255, 127, 14)): step curves of [] points"},
		{name: "ks", find: "<td class=\"num\">" + ks + "</td>", replace: "<td class=\"num\">0.1234</td>", sees: "KS table rows"},
		{name: "network", find: "</main>", replace: `<img src="http://127.0.0.1:1/logo.png" alt="logo"></main>`, sees: "not self-contained: the page requested http://127.0.0.1:1/logo.png"},
		{name: "png", removePNG: true, sees: "not drawn: linked image compare_cdf.png does not load"},
		{name: "zh", find: `lang="en"`, replace: `lang="zh-CN"`, lang: reports.LangChinese, sees: "the zh page shows \"Side by side\""},
	} {
		t.Run("broken/"+c.name, func(t *testing.T) {
			bad := t.TempDir()
			page := string(en)
			if c.find != "" {
				if !strings.Contains(page, c.find) {
					t.Fatalf("the page has no %q to break", c.find)
				}
				i := strings.Index(page, c.find)
				if c.last {
					i = strings.LastIndex(page, c.find)
				}
				page = page[:i] + c.replace + page[i+len(c.find):]
			}
			for _, f := range []string{"compare_cdf.png", "compare_cdf.svg"} {
				if c.removePNG && f == "compare_cdf.png" {
					continue
				}
				b, err := os.ReadFile(filepath.Join(filepath.Dir(pages[reports.LangEnglish]), f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(bad, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(bad, reports.CompareFile)
			if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
			w := want
			w.lang = reports.LangEnglish
			if c.lang != "" {
				w.lang = c.lang
			}
			problems := strings.Join(checkComparePage(t, browser, path, filepath.Join(bad, "shot.png"), w), "\n")
			if !strings.Contains(problems, c.sees) {
				t.Errorf("the check missed %q; it saw:\n%s", c.sees, problems)
			}
		})
	}
}
