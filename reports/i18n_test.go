package reports

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
	note := fontNote(newFallbackText("").missingGlyphs(plotTexts(plots)), langOf(LangChinese))
	if !strings.Contains(note, "主服务器宕机") {
		t.Fatalf("note %q", note)
	}
	b, err := renderHTML(Report{Lab: "x", Lang: LangChinese}, plots, note)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<p class="note">`+note+`</p>`) {
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
