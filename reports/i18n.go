package reports

import (
	"fmt"
	"strings"
)

// Languages of the report and the terminal summary. Numbers, field names
// (Skew_Time, max_fails), metric names and what the lab file says stay as
// they are in both.
const (
	// LangEnglish is the default.
	LangEnglish = "en"
	// LangChinese is Simplified Chinese.
	LangChinese = "zh"
)

// ParseLang returns the language of a --lang value: "en" or "zh" (also
// zh-CN, zh_CN, zh-Hans, in any case). Anything else is an error that
// names the languages there are.
func ParseLang(s string) (string, error) {
	switch l := strings.ToLower(strings.TrimSpace(s)); {
	case l == "en" || strings.HasPrefix(l, "en-") || strings.HasPrefix(l, "en_"):
		return LangEnglish, nil
	case l == "zh" || strings.HasPrefix(l, "zh-") || strings.HasPrefix(l, "zh_"):
		return LangChinese, nil
	}
	return "", fmt.Errorf("language %q: want en or zh", s)
}

// LangFromLocale returns the language a POSIX locale value (LANG,
// LC_ALL) asks for: "zh" for zh_CN*, zh_SG*, zh_TW*, zh_HK* and zh;
// "en" for anything else, C and POSIX included.
func LangFromLocale(locale string) string {
	if l := strings.ToLower(locale); l == "zh" || strings.HasPrefix(l, "zh_") || strings.HasPrefix(l, "zh-") || strings.HasPrefix(l, "zh.") {
		return LangChinese
	}
	return LangEnglish
}

// lang is the language a report is written in.
type lang struct{ zh bool }

func langOf(code string) lang { return lang{zh: code == LangChinese} }

// s returns the fixed word or sentence key in l (the key itself when the
// table has no such key, so that a missing word shows rather than
// vanishes).
func (l lang) s(key string) string {
	w, ok := words[key]
	if !ok {
		return key
	}
	if l.zh {
		return w[1]
	}
	return w[0]
}

// f formats the fixed sentence key in l with args.
func (l lang) f(key string, args ...any) string { return fmt.Sprintf(l.s(key), args...) }

// table returns every fixed word in l, by key, for the template.
func (l lang) table() map[string]string {
	m := make(map[string]string, len(words))
	for k := range words {
		m[k] = l.s(k)
	}
	return m
}

// Say returns the fixed word or sentence key of the terminal summary in
// language code (LangEnglish or LangChinese), formatted with args:
// "pass", "fail", "ok", "report", "expected", "interrupted".
func Say(code, key string, args ...any) string { return langOf(code).f(key, args...) }

// words are the fixed words of the report and the terminal summary:
// English, then Chinese.
var words = map[string][2]string{
	// the page
	"pass":           {"PASS", "通过"},
	"fail":           {"FAIL", "失败"},
	"ok":             {"ok  ", "通过"},
	"interruptedTag": {"INTERRUPTED", "已中断"},
	"lab":            {"lab", "实验"},
	"mode":           {"mode %s", "模式 %s"},
	"seed":           {"seed %d", "种子 %d"},
	"seedsFrom":      {"%d seeds, first seed %d", "%d 个种子，起始种子 %d"},
	"interruptedBy":  {"interrupted by a signal: what follows covers the run until then", "被信号中断：以下内容只涵盖中断之前的运行"},
	"held":           {"%d of %d expectations held", "%d / %d 项检查通过"},
	"teaching":       {"What this lab shows", "本实验说明什么"},
	"theory":         {"Theory", "理论"},
	"vrrpVersion":    {"VRRP v%d", "VRRP v%d"},
	"advertInt":      {"advertisement interval", "通告间隔"},
	"backupPrio":     {"backup priority", "备用路由器优先级"},
	"formula":        {"formula", "公式"},
	"silentWindow":   {"silent failover window", "静默故障切换窗口"},
	"afterFault":     {"[%s, %s] s after the fault", "故障后 [%s, %s] 秒"},
	"plots":          {"Plots", "图表"},
	"files":          {"Files:", "文件："},
	"annotations":    {"Annotations", "标注"},
	"fromS":          {"from (s)", "起 (秒)"},
	"toS":            {"to (s)", "止 (秒)"},
	"spanS":          {"span (s)", "时长 (秒)"},
	"what":           {"what", "事件"},
	"sweep":          {"Sweep:", "多种子扫描："},
	"expectations":   {"Expectations", "检查项"},
	"expectation":    {"expectation", "检查项"},
	"result":         {"result", "结果"},
	"observed":       {"observed", "观测值"},
	"expected":       {"expected", "期望值"},
	"noExpectations": {"This lab checks no expectations.", "本实验没有检查项。"},
	"metrics":        {"Metrics", "指标"},
	"metric":         {"metric", "指标"},
	"value":          {"value", "值"},
	"noMetrics":      {"No metrics.", "没有指标。"},
	"runFiles":       {"Files of this run:", "本次运行的文件："},
	"historyFile":    {"(every event, one JSON object a line),", "（每个事件一行 JSON），"},
	"resultsFile":    {"(expectations and metrics).", "（检查项与指标）。"},
	"writtenBy":      {"Written by lblab.", "由 lblab 生成。"},
	"fontNote": {"The PNG files lack glyphs for %s: no font on this machine has them (install fonts-wqy-microhei or fonts-noto-cjk, or set LBLAB_CJK_FONT to a font file). The plots on this page and the SVG files show them.",
		"PNG 文件缺少以下字符的字形：%s（本机没有含这些字形的字体；请安装 fonts-wqy-microhei 或 fonts-noto-cjk，或把 LBLAB_CJK_FONT 设为一个字体文件）。本页的图和 SVG 文件可正常显示。"},

	// the sweep table
	"seeds":    {"seeds", "种子数"},
	"min":      {"min", "最小值"},
	"p5":       {"5th percentile", "第 5 百分位"},
	"median":   {"median", "中位数"},
	"mean":     {"mean", "平均值"},
	"p95":      {"95th percentile", "第 95 百分位"},
	"max":      {"max", "最大值"},
	"stddev":   {"standard deviation", "标准差"},
	"window":   {"theory window", "理论窗口"},
	"inWindow": {"inside the window", "落在窗口内"},
	"ksUnif":   {"KS distance to uniform", "与均匀分布的 KS 距离"},

	// the terminal
	"report":      {"report: %s", "报告：%s"},
	"expectedVal": {"expected %s", "期望 %s"},
	"interrupted": {"interrupted", "已中断"},
	"seedRange":   {"seeds %d..%d", "种子 %d..%d"},
	"seedsOf":     {"%d of %v seeds from %d, interrupted", "从 %[3]d 起 %[1]d / %[2]v 个种子，已中断"},
	"stoppedAt":   {", interrupted at %.3f s", "，中断于 %.3f 秒"},
	"took":        {"in %s", "用时 %s"},
}

// builtinZh are the Chinese names of the expectations that the runner
// adds by itself (not from a lab file), by their English name.
var builtinZh = map[string]string{
	"every request sent is accounted for":     "每个发出的请求都有着落",
	"every request completed with 2xx or 3xx": "每个请求都以 2xx 或 3xx 完成",
}

// ExpectationName returns the name of an expectation result in language
// code: a name the runner gives by itself is translated; a lab's own name
// is already in the lab's language and stays.
func ExpectationName(code, name string) string {
	if code != LangChinese {
		return name
	}
	if zh, ok := builtinZh[name]; ok {
		return zh
	}
	if metric, ok := strings.CutSuffix(name, " spreads uniformly over its theoretical window"); ok && !strings.Contains(metric, " ") {
		return metric + " 在理论窗口内均匀分布"
	}
	return name
}

// captionsZh are the Chinese captions of the plots, by file name.
var captionsZh = map[string]string{
	timelineName:       "每台路由器的状态和每个虚拟IP的归属随时间的变化。红色虚线是故障；阴影区间持续到故障被撤销。",
	histName:           "各种子的故障切换时间分布，与理论预测的均匀分布对比：主路由器在通告周期的随机时刻静默宕机。",
	"latency":          "每个请求的延迟，从它本应发出的时刻算起（没有协调遗漏）。",
	"percentiles":      "已应答请求在各百分位上的延迟。",
	"shares":           "每组已应答请求中各后端服务器所占的份额，与权重给出的期望份额对比。",
	"shares_over_time": "每组已应答请求中各后端服务器的份额随时间的变化。",
	"statuses":         "每个时间段内发出的请求的结果。",
	"health":           "负载均衡器的健康检查看到的每台后端服务器的状态。",
}

// headsZh translate the plots' table headings.
var headsZh = map[string]string{
	"group":    "组",
	"answered": "已应答",
	"server":   "后端服务器",
	"max":      "最大值",
	"min":      "最小值",
	"mean":     "平均值",
}

// caption returns a plot's caption in l.
func (l lang) caption(name, en string) string {
	if zh, ok := captionsZh[name]; ok && l.zh {
		return zh
	}
	return en
}

// heads returns a table's headings in l: a heading "X (ms)" becomes
// X's translation (or X, a field name such as p99) and "(毫秒)".
func (l lang) heads(h []string) []string {
	if !l.zh {
		return h
	}
	out := make([]string, len(h))
	for i, s := range h {
		unit := ""
		if base, ok := strings.CutSuffix(s, " (ms)"); ok {
			s, unit = base, " (毫秒)"
		}
		if zh, ok := headsZh[s]; ok {
			s = zh
		}
		out[i] = s + unit
	}
	return out
}
