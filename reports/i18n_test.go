package reports

import (
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
)

// fixedWords returns the template's fixed words as a page shows them: the
// texts of its headings, table heads, definition terms, badges, verdict
// cells and empty notes, and the footer's sentences. Protocol field names
// (Skew_Time, Master_Down_Interval) stay as they are in every language
// and are left out.
func fixedWords(page string) []string {
	re := regexp.MustCompile(`<(?:h2|th|dt|span class="badge [a-z]+"|td class="(?:pass|fail)-cell"|p class="empty")>([^<]+)<`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		if w := strings.TrimSpace(m[1]); !strings.Contains(w, "_") {
			out = append(out, w)
		}
	}
	return append(out, "expectations held", "Files of this run", "Written by lblab", "s after the fault", "Files:")
}

// zhReport is failoverReport with Chinese texts: router r2 is 备用路由器.
func zhReport(lang string) Report {
	r := failoverReport()
	r.Lang = lang
	for i := range r.History {
		if r.History[i].Router == "r2" {
			r.History[i].Router = "备用路由器"
		}
		if r.History[i].Owner == "r2" {
			r.History[i].Owner = "备用路由器"
		}
		if r.History[i].Prev == "r2" {
			r.History[i].Prev = "备用路由器"
		}
	}
	return r
}

// TestReportInChinese: a report with Lang zh has its fixed words in
// Chinese and none of the English ones; every plot is an inline SVG (no
// <img>, no id attribute that could clash) whose Chinese text stays text.
func TestReportInChinese(t *testing.T) {
	write := func(lang string) (string, string) {
		dir := t.TempDir()
		path, err := Write(dir, zhReport(lang))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b), dir
	}
	en, _ := write(LangEnglish)
	zh, dir := write(LangChinese)
	words := fixedWords(en)
	if len(words) < 20 {
		t.Fatalf("only %d fixed words found in the English page: %q", len(words), words)
	}
	for _, w := range words {
		if strings.Contains(zh, ">"+w+"<") || (strings.Contains(w, " ") && strings.Contains(zh, w)) {
			t.Errorf("the Chinese page has the English fixed words %q", w)
		}
	}
	for _, want := range []string{`<html lang="zh-CN">`, "本实验说明什么", "理论", "通告间隔", "图表", "标注", "检查项", "观测值", "期望值", "失败", "指标", "本次运行的文件", "1 / 2 项检查通过", "种子 42", "故障后 [2.609375, 3.609375] 秒"} {
		if !strings.Contains(zh, want) {
			t.Errorf("the Chinese page lacks %q", want)
		}
	}
	if !strings.Contains(en, `<html lang="en">`) {
		t.Error("the English page is not lang=en")
	}
	// Plots: inline SVG, one per SVG file, the Chinese name as text.
	svgs, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
	if n := strings.Count(zh, `<svg class="plot"`); n != len(svgs) || n == 0 {
		t.Errorf("%d inline SVG plots for %d SVG files", n, len(svgs))
	}
	if strings.Contains(zh, "<img") || strings.Contains(zh, " id=") || strings.Contains(zh, "<?xml") {
		t.Error("the page has an <img>, an id attribute or an XML declaration")
	}
	if !regexp.MustCompile(`<text [^>]*>备用路由器</text>`).MatchString(zh) {
		t.Error("the inline SVG does not draw 备用路由器 as text")
	}
}

// TestFontNoteInPage: when the PNG files lack glyphs, the page says so
// above its plots, naming them.
func TestFontNoteInPage(t *testing.T) {
	svg := []byte(`<?xml version="1.0"?>
<svg width="720pt" height="296pt" viewBox="0 0 720 296">
<text x="1" y="2">主服务器宕机</text>
</svg>`)
	plots := []plotRef{{Name: "timeline", SVG: svg}}
	note := newFallbackText("").fontNote(plotTexts(plots), []string{"主服务器宕机"}, langOf(LangChinese))
	if !strings.Contains(note, "主服务器宕机") {
		t.Fatalf("note %q", note)
	}
	b, err := renderHTML(Report{Lab: "x", Lang: LangChinese}, plots, note)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<p class="note">`+template.HTMLEscapeString(note)+`</p>`) {
		t.Error("the page does not show the font note")
	}
	if !strings.Contains(string(b), `<svg class="plot" role="img" aria-label="timeline" width="720pt"`) {
		t.Error("the plot is not inline")
	}
}

func TestParseLang(t *testing.T) {
	for in, want := range map[string]string{"zh": "zh", "ZH-cn": "zh", "zh_CN": "zh", "en": "en", "en-US": "en"} {
		if got, err := ParseLang(in); err != nil || got != want {
			t.Errorf("ParseLang(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fr", "chinese"} {
		if _, err := ParseLang(in); err == nil || !strings.Contains(err.Error(), "want en or zh") {
			t.Errorf("ParseLang(%q): error %v", in, err)
		}
	}
	for in, want := range map[string]string{"zh_CN.UTF-8": "zh", "zh_TW": "zh", "zh": "zh", "C": "en", "C.UTF-8": "en", "en_US.UTF-8": "en", "": "en", "zhx": "en"} {
		if got := LangFromLocale(in); got != want {
			t.Errorf("LangFromLocale(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpectationName(t *testing.T) {
	for _, c := range []struct{ lang, in, want string }{
		{LangChinese, "every request sent is accounted for", "每个发出的请求都有着落"},
		{LangChinese, "failover_s spreads uniformly over its theoretical window", "failover_s 在理论窗口内均匀分布"},
		{LangChinese, "r2 是主", "r2 是主"},
		{LangChinese, "a lab's own name", "a lab's own name"},
		{LangEnglish, "every request sent is accounted for", "every request sent is accounted for"},
	} {
		if got := ExpectationName(c.lang, c.in); got != c.want {
			t.Errorf("ExpectationName(%s, %q) = %q, want %q", c.lang, c.in, got, c.want)
		}
	}
}

// plotWordsReports are reports whose plots show every fixed word of their
// kind: a split brain, a crash and a stop on the timeline; two groups
// with failures, client errors, health events, shares and requests still
// in flight on the load-balancer plots.
func plotWordsReports() map[string]Report {
	lb := lbReport(3000, 60)
	for i, l := range []string{"http", "http"} {
		start := sec(59.9 + 0.02*float64(i))
		lb.History = append(lb.History, history.Event{T: sec(60), Kind: history.KindRequest, Listener: l, Error: "in_flight",
			Start: start, Latency: sec(60) - start})
	}
	return map[string]Report{
		"timeline": {Lab: "split", History: splitBrainHistory(), Duration: 40 * time.Second, Results: Results{Mode: "sim", Seed: 4},
			Marks: []Mark{{From: 10 * time.Second, To: 13600 * time.Millisecond, Key: "markTheory",
				Args: []any{"failover", "3.6 s", "[2.609375 s, 3.609375 s]"}}}},
		"lb":    lb,
		"sweep": sweepReport(200),
	}
}

// asciiWords are the words of three or more Latin letters in s.
var asciiWords = regexp.MustCompile(`[A-Za-z]{3,}`)

// TestPlotsInChinese: in a zh report the plots' titles, axis labels,
// legend entries and lane names are Chinese; what stays Latin is only the
// protocol's words (MASTER, UP, VRID, KS, MDI), the lab's own names
// (lab, routers, servers, groups, fault kinds and names, error classes,
// metric names) and offered/achieved, which wrk2 and vegeta users know.
// The English report still says the English words.
func TestPlotsInChinese(t *testing.T) {
	keep := map[string]bool{}
	for _, w := range []string{"MASTER", "BACKUP", "FAULT", "INIT", "STOP", "CRASHED", "UP", "DOWN",
		"VRRP", "VRID", "MDI", "interval", "KS", "offered", "achieved"} {
		keep[w] = true
	}
	type want struct {
		plot   string
		zh, en []string // fixed words each language's plot shows
	}
	wants := []want{
		{timelineName, []string{"VRRP 时间线 — split（种子 4）", "时间 (s)", "STOP（正常关闭）", "CRASHED（主机宕机）",
			"脑裂：同时有 2 个或更多 MASTER", "有效优先级", "优先级", "虚拟IP 10.77.0.100", "故障生效中", "故障",
			"failover 3.6 s（理论 [2.609375 s, 3.609375 s]）"},
			[]string{"VRRP timeline — split (seed 4)", "time (s)", "STOP (clean shutdown)", "CRASHED (host died)",
				"split brain: 2+ MASTER at once", "effective priority", "priority", "VIP 10.77.0.100", "fault in effect", "fault",
				"failover 3.6 s (theory [2.609375 s, 3.609375 s])"}},
		{latencyName, []string{"每个请求的延迟（画在其发送时刻） — lb-backend-crash", "延迟 (ms，对数刻度)", "组 api", "组 web",
			"失败：5xx 或无应答（共", "未知：结束时仍在途中（共 2 个）", "每 1 s 的 p50", "每 1 s 的 p99", "时间 (s)"},
			[]string{"Latency of each request at its send time — lb-backend-crash", "latency (ms, log scale)", "group api",
				"failed: 5xx or no answer (all", "unknown: in flight at the end (all 2)", "p50 per 1 s", "p99 per 1 s", "time (s)"}},
		{statusesName, []string{"按发送时刻每 1 s 的请求结果", "每 1 s 的请求数", "timeout（无应答）：", "未知（结束时仍在途中）：2（", "组 web"},
			[]string{"Outcome of the requests per 1 s of send time", "requests per 1 s", "timeout (no answer): ",
				"unknown (in flight at the end): 2 (", "group web"}},
		{sharesName, []string{"各后端服务器在本组已应答请求中的份额", "占本组已应答请求的份额 (%)", "观测份额（颜色：后端服务器）", "期望份额（按权重）"},
			[]string{"Share of each group's answered requests by server", "share of the group's answered requests (%)",
				"observed share (colour: server)", "expected share (from the weights)"}},
		{sharesTimeName, []string{"各后端服务器在已应答请求中的份额", "组 web：份额 (%)", "期望分配（按权重）"},
			[]string{"Share of answered requests by server per 1 s of send time", "group web: share (%)", "expected split (weights)"}},
		{healthName, []string{"负载均衡器看到的各后端服务器健康状态", "UP（推定）", "第一个健康事件之前（推定）", "DOWN"},
			[]string{"Health of each server as the load balancer sees it", "UP (assumed)", "before the first health event (assumed)"}},
		{throughputName, []string{"每 1 s 的 offered 速率与 achieved 吞吐量", "每秒请求数", "offered（按计划发送时刻）", "失败（按结束时刻）"},
			[]string{"Offered rate and achieved throughput per 1 s", "requests per second", "offered (by intended send time)", "failed (by end time)"}},
		{percentilesName, []string{"已应答请求各百分位的延迟", "百分位（1/(1 − p) 的对数刻度）", "个已应答）"},
			[]string{"Latency by percentile of answered requests", "percentile (log scale of 1/(1 − p))", "answered)"}},
		{histName, []string{"failover_s，200 个种子", "密度 (1/s)", "观测值（密度）", "（理论）"},
			[]string{"failover_s over 200 seeds", "density (1/s)", "observed (density)", "(theory)"}},
	}
	dirs := map[string]map[string]string{} // lang → plot → dir
	for _, code := range []string{LangEnglish, LangChinese} {
		dirs[code] = map[string]string{}
		for _, r := range plotWordsReports() {
			r.Lang = code
			dir := t.TempDir()
			if _, err := Write(dir, r); err != nil {
				t.Fatal(err)
			}
			for _, e := range r.History { // the lab's own names stay
				for _, s := range []string{r.Lab, e.Router, e.Group, e.Backend, e.Server, e.Fault, e.Target, e.Name, e.Error} {
					for _, w := range asciiWords.FindAllString(s, -1) {
						keep[w] = true
					}
				}
			}
			if r.Sweep != nil {
				keep["failover"] = true
			}
			svgs, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
			for _, s := range svgs {
				dirs[code][strings.TrimSuffix(filepath.Base(s), ".svg")] = dir
			}
		}
	}
	for _, w := range wants {
		for code, words := range map[string][]string{LangEnglish: w.en, LangChinese: w.zh} {
			dir, ok := dirs[code][w.plot]
			if !ok {
				t.Fatalf("no %s plot in %s", w.plot, code)
			}
			texts := svgTexts(t, filepath.Join(dir, w.plot+".svg"))
			for _, word := range words {
				if !hasText(texts, word) {
					t.Errorf("%s %s plot: no text has %q; texts %q", code, w.plot, word, texts)
				}
			}
			if code != LangChinese {
				continue
			}
			for _, s := range texts {
				for _, word := range asciiWords.FindAllString(s, -1) {
					if !keep[word] {
						t.Errorf("zh %s plot: English word %q in %q", w.plot, word, s)
					}
				}
			}
		}
	}
	// The tables under the plots name their rows in the page's language,
	// and so does the table of annotations.
	for plot, rows := range map[string][]string{
		statusesName: {"<td>组 api</td>", "<td>组 web</td>", "<td>所有组</td>"},
		timelineName: {"<td>failover 3.6 s（理论 [2.609375 s, 3.609375 s]）</td>"},
	} {
		page, err := os.ReadFile(filepath.Join(dirs[LangChinese][plot], "report.html"))
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			if !strings.Contains(string(page), row) {
				t.Errorf("the Chinese page lacks the table row %q", row)
			}
		}
	}
}

// TestSweepAxesInChinese: the axis of each panel of a sweep's metrics
// plot, and of the failover histogram, names the metric in the report's
// language: lblab's own metrics by Chinese words, a name the lab chose
// (p99_ms_lc) as written; the English axes are as before. And a Chinese
// report shows the lab's warnings in Chinese (results.json keeps them in
// English beside their messages).
func TestSweepAxesInChinese(t *testing.T) {
	metrics := []SweepMetric{
		{Name: "requests_failed", Values: []float64{170, 171, 171, 175, 190}},
		{Name: "requests_unknown", Values: []float64{0, 1, 0, 2, 0}},
		{Name: "p99_lower_bound_ms", Values: []float64{80, 81, 82, 83, 84}},
		{Name: "health_down_delay_s", Values: []float64{4.1, 4.5, 5.2, 5.9, 6.3}, Lo: 4, Hi: 6},
		{Name: "p99_ms_lc", Values: []float64{200, 210, 215, 220, 230}},
	}
	sweep := &Sweep{Metric: "failover_s", Values: []float64{2.7, 3.0, 3.2, 3.5}, Lo: 2.6, Hi: 3.6}
	en := []string{"requests failed", "requests unknown", "p99 lower bound (ms)", "health down delay (s)", "p99 ms lc", "failover (s)"}
	zh := []string{"失败的请求数", "结果未知的请求数", "p99 下界（毫秒）", "标记为不健康的延迟（秒）", "p99_ms_lc", "故障切换用时（秒）"}
	warning := i18n.T("%s%s", "lab.yaml:12:1: vrrp.keepalived.r1: ", i18n.T("%s: %v", "nginx", i18n.T("ignored: %s", "gzip")))
	for _, tt := range []struct {
		lang      string
		want, not []string
	}{{LangEnglish, en, zh[:4]}, {LangChinese, zh, en[:5]}} {
		dir := t.TempDir()
		r := Report{Lab: "x", Lang: tt.lang, SweepMetrics: metrics, Sweep: sweep,
			Results: Results{Lab: "x", Seeds: 5, Warnings: []string{warning.String()}, WarningTexts: []i18n.Text{warning}}}
		path, err := Write(dir, r)
		if err != nil {
			t.Fatal(err)
		}
		texts := append(svgTexts(t, filepath.Join(dir, sweepMetricsName+".svg")), svgTexts(t, filepath.Join(dir, histName+".svg"))...)
		for _, w := range tt.want {
			if !slices.Contains(texts, w) {
				t.Errorf("%s: no axis %q in %q", tt.lang, w, texts)
			}
		}
		for _, w := range tt.not {
			if slices.Contains(texts, w) {
				t.Errorf("%s: axis %q", tt.lang, w)
			}
		}
		page, _ := os.ReadFile(path)
		if w := "<li><code>lab.yaml:12:1: vrrp.keepalived.r1: " + template.HTMLEscapeString(warning.In(tt.lang)[len("lab.yaml:12:1: vrrp.keepalived.r1: "):]) + "</code></li>"; !strings.Contains(string(page), w) {
			t.Errorf("%s: the page lacks %s", tt.lang, w)
		}
	}
}
