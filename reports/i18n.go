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
	"pass":              {"PASS", "通过"},
	"fail":              {"FAIL", "失败"},
	"ok":                {"ok  ", "通过"},
	"interruptedTag":    {"INTERRUPTED", "已中断"},
	"lab":               {"lab", "实验"},
	"mode":              {"mode %s", "模式 %s"},
	"seed":              {"seed %d", "种子 %d"},
	"seedsFrom":         {"%d seeds, first seed %d", "%d 个种子，起始种子 %d"},
	"interruptedBy":     {"interrupted by a signal: what follows covers the run until then", "被信号中断：以下内容只涵盖中断之前的运行"},
	"held":              {"%d of %d expectations held", "%d / %d 项检查通过"},
	"teaching":          {"What this lab shows", "本实验说明什么"},
	"theory":            {"Theory", "理论"},
	"vrrpVersion":       {"VRRP v%d", "VRRP v%d"},
	"advertInt":         {"advertisement interval", "通告间隔"},
	"backupPrio":        {"backup priority", "备用路由器优先级"},
	"formula":           {"formula", "公式"},
	"silentWindow":      {"silent failover window", "静默故障切换窗口"},
	"afterFault":        {"[%s, %s] s after the fault", "故障后 [%s, %s] 秒"},
	"plots":             {"Plots", "图表"},
	"files":             {"Files:", "文件："},
	"annotations":       {"Annotations", "标注"},
	"fromS":             {"from (s)", "起 (秒)"},
	"toS":               {"to (s)", "止 (秒)"},
	"spanS":             {"span (s)", "时长 (秒)"},
	"what":              {"what", "事件"},
	"sweep":             {"Sweep:", "多种子扫描："},
	"expectations":      {"Expectations", "检查项"},
	"expectation":       {"expectation", "检查项"},
	"result":            {"result", "结果"},
	"observed":          {"observed", "观测值"},
	"expected":          {"expected", "期望值"},
	"noExpectations":    {"This lab checks no expectations.", "本实验没有检查项。"},
	"metrics":           {"Metrics", "指标"},
	"metric":            {"metric", "指标"},
	"value":             {"value", "值"},
	"noMetrics":         {"No metrics.", "没有指标。"},
	"runFiles":          {"Files of this run:", "本次运行的文件："},
	"historyFile":       {"(every event, one JSON object a line),", "（每个事件一行 JSON），"},
	"resultsFile":       {"(expectations and metrics).", "（检查项与指标）。"},
	"writtenBy":         {"Written by lblab.", "由 lblab 生成。"},
	"seedHistories":     {"Histories kept (under histories/):", "保留的历史记录（在 histories/ 下）："},
	"seedHistory":       {"seed %d", "种子 %d"},
	"seedHistoryFailed": {"seed %d (failed)", "种子 %d（失败）"},
	"failedHistories":   {"histories of the failing seeds:", "失败种子的历史记录："},
	"seedFile":          {"seed %d: %s", "种子 %d：%s"},
	"moreSeeds":         {"… and %d more (results.json lists them all)", "……另有 %d 个（results.json 列出了全部）"},
	"warnings":          {"Warnings", "警告"},
	"fontNote": {"The PNG files lack glyphs for %s: no font on this machine has them (install fonts-wqy-microhei or fonts-noto-cjk, or set LBLAB_CJK_FONT to a font file). The plots on this page and the SVG files show them.",
		"PNG 文件缺少%s的字形（本机没有含这些字形的字体；请安装 fonts-wqy-microhei 或 fonts-noto-cjk，或把 LBLAB_CJK_FONT 设为一个字体文件）。本页的图和 SVG 文件可正常显示。"},
	"plotWords": {"the plots' own words", "图中的固定文字"},
	"listSep":   {", ", "、"},
	"andMore":   {"and %d more", "等另外 %d 项"},

	// axis labels of the metrics lblab names (metricAxisLabel), by
	// "axis:" and the metric's name
	"axis:requests_failed":     {"requests failed", "失败的请求数"},
	"axis:requests_unknown":    {"requests unknown", "结果未知的请求数"},
	"axis:p99_ms":              {"p99 (ms)", "p99（毫秒）"},
	"axis:p99_lower_bound_ms":  {"p99 lower bound (ms)", "p99 下界（毫秒）"},
	"axis:failover_s":          {"failover (s)", "故障切换用时（秒）"},
	"axis:health_down_delay_s": {"health down delay (s)", "标记为不健康的延迟（秒）"},
	"axis:health_up_delay_s":   {"health up delay (s)", "重新上线的延迟（秒）"},

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
	"ksRef":    {"KS distance to the reference", "与参照分布的 KS 距离"},
	"ksRefVal": {"%s against %s; 5%% critical value %s: %s", "%s（对比%s）；5%% 临界值 %s：%s"},

	// the plots: titles, axis labels, legends, lane names; protocol
	// states (MASTER, UP), field names, numbers and units stay
	"timeS":          {"time (s)", "时间 (s)"},
	"faultLine":      {"fault", "故障"},
	"faultInEffect":  {"fault in effect", "故障生效中"},
	"groupN":         {"group %s", "组 %s"},
	"noGroup":        {"requests with no group", "无分组的请求"},
	"allRequests":    {"all requests", "全部请求"},
	"allGroups":      {"all groups", "所有组"},
	"latencyTitle":   {"Latency of each request at its send time", "每个请求的延迟（画在其发送时刻）"},
	"latencyLog":     {"latency (ms, log scale)", "延迟 (ms，对数刻度)"},
	"okAll":          {"successful (all %d)", "成功（共 %d 个）"},
	"okShown":        {"successful (%d of %d shown)", "成功（显示 %d / %d 个）"},
	"failedAll":      {"failed: 5xx or no answer (all %d)", "失败：5xx 或无应答（共 %d 个）"},
	"unknownAll":     {"unknown: in flight at the end (all %d)", "未知：结束时仍在途中（共 %d 个）"},
	"pPer":           {"%s per %s", "每 %[2]s 的 %[1]s"},
	"statusesTitle":  {"Outcome of the requests per %s of send time", "按发送时刻每 %s 的请求结果"},
	"requestsPer":    {"requests per %s", "每 %s 的请求数"},
	"unknownOutcome": {"unknown (in flight at the end)", "未知（结束时仍在途中）"},
	"echoed":         {"echoed (tcp exchanges)", "已回显（tcp 交换）"},
	"outcomeEntry":   {"%s: %d (%s%%)", "%s：%d（%s%%）"},
	"errNoAnswer":    {"%s (no answer)", "%s（无应答）"},
	"sharesTitle":    {"Share of each group's answered requests by server", "各后端服务器在本组已应答请求中的份额"},
	"shareAxis":      {"share of the group's answered requests (%)", "占本组已应答请求的份额 (%)"},
	"observedShare":  {"observed share (colour: server)", "观测份额（颜色：后端服务器）"},
	"expectedShare":  {"expected share (from the weights)", "期望份额（按权重）"},
	"sharesTimeTitle": {"Share of answered requests by server per %s s of send time",
		"按发送时刻每 %s s 各后端服务器在已应答请求中的份额"},
	"shareAxisShort":  {"share (%)", "份额 (%)"},
	"groupShare":      {"group %s: share (%%)", "组 %s：份额 (%%)"},
	"expectedSplit":   {"expected split (weights)", "期望分配（按权重）"},
	"healthTitle":     {"Health of each server as the load balancer sees it", "负载均衡器看到的各后端服务器健康状态"},
	"assumed":         {"%s (assumed)", "%s（推定）"},
	"beforeHealth":    {"before the first health event (assumed)", "第一个健康事件之前（推定）"},
	"healthUp":        {"UP", "UP（健康）"},
	"healthDown":      {"DOWN", "DOWN（不健康）"},
	"throughputTitle": {"Offered rate and achieved throughput per %s", "每 %s 的 offered 速率与 achieved 吞吐量"},
	"perSecond":       {"requests per second", "每秒请求数"},
	"offered":         {"offered (by intended send time)", "offered（按计划发送时刻）"},
	"achieved":        {"achieved: successful answers (by end time)", "achieved：成功应答（按结束时刻）"},
	"failedByEnd":     {"failed (by end time)", "失败（按结束时刻）"},
	"pctTitle":        {"Latency by percentile of answered requests", "已应答请求各百分位的延迟"},
	"pctAxis":         {"percentile (log scale of 1/(1 − p))", "百分位（1/(1 − p) 的对数刻度）"},
	"nAnswered":       {"%s (%d answered)", "%s（%d 个已应答）"},
	"timelineTitle":   {"VRRP timeline", "VRRP 时间线"},
	"seedParen":       {" (seed %d)", "（种子 %d）"},
	"stopClean":       {"STOP (clean shutdown)", "STOP（正常关闭）"},
	"crashedHost":     {"CRASHED (host died)", "CRASHED（主机宕机）"},
	"splitBrain":      {"split brain: 2+ MASTER at once", "脑裂：同时有 2 个或更多 MASTER"},
	"effPrio":         {"effective priority", "有效优先级"},
	"prioLane":        {"priority", "优先级"},
	"vipLane":         {"VIP %s", "虚拟IP %s"},
	"nobody":          {"nobody", "无人持有"},
	"metricsTitle":    {"Metrics over %d seeds", "%d 个种子上的指标"},
	"metricPanel":     {"%s: median %s, 95th percentile %s, max %s", "%s：中位数 %s，第 95 百分位 %s，最大值 %s"},
	"seedsPerValue":   {"seeds per value", "每个值的种子数"},
	"referenceScaled": {"the simulator's seeds, scaled to as many", "模拟器的种子（按相同数量缩放）"},
	"ksToRef":         {"; against %s: KS distance %.4f", "；对比%s：KS 距离 %.4f"},
	"undecidedSeeds":  {"; %d seeds undecided (requests in flight at the end)", "；%d 个种子无法确定（结束时仍有请求在途中）"},
	"valueS":          {"value (s)", "值 (s)"},
	"valueWord":       {"value", "值"},
	"histRef":         {"%s: %d real runs (marks) on %s (bars); KS distance between them %.4f", "%s：%d 次真实运行（刻痕）对比 %s（柱）；两者的 KS 距离 %.4f"},
	"histTitle":       {"%s over %d seeds: min %.4g s, median %.4g s, max %.4g s", "%s，%d 个种子：最小值 %.4g s，中位数 %.4g s，最大值 %.4g s"},
	"histKS":          {"; KS distance to uniform %.4f", "；与均匀分布的 KS 距离 %.4f"},
	"noValues":        {"%s: no values", "%s：没有值"},
	"density":         {"density (1/s)", "密度 (1/s)"},
	"observedDens":    {"observed (density)", "观测值（密度）"},
	"refDens":         {"%s (density)", "%s（密度）"},
	"uniformTheory":   {"uniform on [%s, %s] s (theory)", "[%s, %s] s 上的均匀分布（理论）"},
	"realRuns":        {"real runs (%d)", "真实运行（%d 次）"},
	"markTheory":      {"%s %s (theory %s)", "%s %s（理论 %s）"},
	"markHealthDown":  {"%s down after %s", "%s 在 %s 后被标记为不健康"},
	"markHealthUp":    {"%s up after %s", "%s 在 %s 后重新上线"},

	// the compare page (lblab compare)
	"cmpTitle":      {"Compare: %s", "对比：%s"},
	"cmpRunCount":   {"%d runs side by side", "%d 次运行并排对比"},
	"cmpSideBySide": {"Side by side", "并排对比"},
	"cmpTableNote": {"One column per run; each heading links to that run's own report. A run of several seeds shows a metric's median, its range and how many seeds measured it; a value left open by requests still in flight at the end shows the bounds its history gives, never a number it does not hold.",
		"每次运行一列；列标题链接到该次运行自己的报告。多种子运行显示指标的中位数、范围以及测到它的种子数；结束时仍有请求在途中而无法确定的值，显示其历史记录给出的范围，绝不给出历史记录中没有的数。"},
	"cmpMode":      {"world", "世界"},
	"cmpSeeds":     {"seeds", "种子"},
	"cmpDist":      {"median %s [%s, %s], %d seeds", "中位数 %s [%s, %s]，%d 个种子"},
	"cmpBounds":    {"undecided: in [%s, %s]", "无法确定：在 [%s, %s] 内"},
	"cmpAtLeast":   {"undecided: at least %s", "无法确定：至少 %s"},
	"cmpUndecided": {"undecided", "无法确定"},
	"cmpWindowOf":  {"%s: theory window", "%s：理论窗口"},
	"cmpInside":    {"; inside: %s %%", "；落在窗口内：%s %%"},
	"cmpPair":      {"runs", "两次运行"},
	"cmpValues":    {"values", "值的个数"},
	"cmpKS":        {"KS distance", "KS 距离"},
	"cmpCritical":  {"5% critical value", "5% 临界值"},
	"cmpKSVerdict": {"verdict", "判定"},
	"cmpKSLine":    {"KS %s %s ↔ %s (%d, %d values): distance %s, 5%% critical value %s: %s", "KS %s %s ↔ %s（%d、%d 个值）：距离 %s，5%% 临界值 %s：%s"},
	"cmpKSTitle":   {"Two-sample Kolmogorov–Smirnov distances", "双样本 Kolmogorov–Smirnov 距离"},
	"cmpKSNote": {"For each metric that two runs measured on 2 seeds or more each: the largest gap between their empirical distribution functions, and the distance two samples of one law exceed one time in twenty (1.358 × √((n + m)/(n·m))). PASS: the distance is at or under the critical value, so the two runs' values may come from one law. FAIL: it is over, so they differ (a test that says so wrongly one time in twenty).",
		"对两次运行各在 2 个或更多种子上测到的每个指标：两者经验分布函数之间的最大差距，以及同一分布的两个样本每二十次才超过一次的距离（1.358 × √((n + m)/(n·m))）。通过：距离不超过临界值，两次运行的值可能来自同一分布。失败：距离超过临界值，两者不同（此判定每二十次会错一次）。"},
	"cmpNoKS":      {"No metric was measured on 2 seeds or more by two runs: run with --seeds N (N ≥ 2) to compare distributions.", "没有哪个指标被两次运行各在 2 个或更多种子上测到：用 --seeds N（N ≥ 2）运行才能比较分布。"},
	"cmpCDF":       {"share of seeds at or below", "不超过该值的种子比例"},
	"cmpRunN":      {"%s (%d seeds)", "%s（%d 个种子）"},
	"cmpUniform":   {"theory window (dashed: uniform law on it)", "理论窗口（虚线：其上的均匀分布）"},
	"cmpPlotTitle": {"Empirical distribution of each metric, one line per run", "各指标的经验分布，每次运行一条线"},
	"cmpCaption": {"For each metric, the share of each run's seeds whose value is at or below x (one step per seed; a single run is one step). The green band is the theory window of the first run that has one, the dashed line the uniform law on it. Values left open by requests in flight at the end are not drawn; the panel's title counts them.",
		"对每个指标：各次运行中取值不超过 x 的种子所占比例（每个种子一级台阶；单次运行只有一级）。绿色带是第一个有理论窗口的运行的窗口，虚线是其上的均匀分布。结束时仍有请求在途中而无法确定的值不画出，面板标题给出其个数。"},
	"cmpFooter": {"Read from the runs' folders (results.json, report.json); lblab report DIR redraws each run's own report.", "读自各次运行的文件夹（results.json、report.json）；lblab report DIR 可重画每次运行自己的报告。"},

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

// captionsZh are the Chinese captions of the plots, by file name. The
// timeline's caption gains a sentence when adverts were discarded
// (timelineDiscardedZh).
var captionsZh = map[string]string{
	timelineName: "每台路由器的状态（其下方是它的有效优先级）和每个虚拟IP的归属随时间的变化。" +
		"CRASHED 表示路由器所在主机宕机（没有发出优先级 0 的通告）；STOP 表示正常关闭。" +
		"洋红色区间表示脑裂：两台或更多路由器同时为 MASTER，此时虚拟IP 一行列出每一个主人。" +
		"红色虚线是故障；阴影区间持续到故障被撤销。",
	histName: "各种子的故障切换时间分布，与理论预测的均匀分布对比：主路由器在通告周期的随机时刻静默宕机。",
	"sweep_metrics": "每个指标在各种子上的分布，每个指标一个面板：多少个种子得到了每个值。" +
		"有理论窗口时一并画出。",
	"latency": "每个请求的延迟，从它本应发出的时刻算起，画在那个时刻上（对数刻度），每组一个面板。" +
		"成功的请求很多时每 k 个只画一个；每个失败的请求（5xx 应答或没有应答）都用红色画在最上层，" +
		"运行结束时仍在途中的请求（结果未知；它的延迟至少是所画的值）画成琥珀色三角形。" +
		"两条线是每个时间段内发出的已应答请求的 p50 和 p99。红色虚线是故障；阴影区间持续到故障被撤销。",
	"throughput": "客户端计划发送的每秒请求数（offered，按计划发送时刻，如 wrk2 和 vegeta 设定速率那样）" +
		"与它们得到的成功应答（achieved throughput，按每个请求结束的时刻）及失败数对比。" +
		"achieved 低于 offered 说明有请求失败或迟到：闭环负载在等待时会少发。",
	"percentiles": "已应答请求在各百分位上的延迟（HDR 直方图，3 位有效数字），每组一条线。" +
		"横轴拉长了尾部：每一格多一个 9（90 %、99 %、99.9 % …）。" +
		"表格也计入运行结束时仍在途中的请求：它们至少持续到结束，也可能永远不结束，" +
		"所以它们可能改变的统计量写成它们留下的范围（lo – hi），或写成 ≥ 下界。",
	"shares": "整个运行中每组已应答请求里各后端服务器所占的份额，旁边是其权重给出的期望份额。",
	"shares_over_time": "每组已应答请求中各后端服务器的份额随时间的变化（按发送时刻，堆叠到 100 %）：" +
		"一台服务器故障时，它的流量转移到存活的服务器。虚线标出按权重分配时各带的分界；" +
		"各带上方的红条标出生效中的故障。",
	"statuses": "每个时间段内发出的请求的结果，每组一个面板：按状态类别分的应答，每个 5xx 状态码单独列出，" +
		"没有应答的请求按客户端错误分类，运行结束时仍在途中的请求结果未知（既不算成功也不算失败）。" +
		"失败堆叠在底部，未知的在顶部。表格把每组的请求分为成功（状态 200 到 399）、" +
		"失败（其他状态或没有应答）和未知；成功率 = 成功 ÷ (成功 + 失败)，只计已结束的请求（没有已结束的请求时为 —）。",
	"health": "负载均衡器的健康检查看到的每台后端服务器的状态。" +
		"在一台服务器的第一个健康事件之前，其状态是推定的（该事件离开的状态，否则为 UP），用浅色画出。",
}

// timelineDiscardedZh is added to the timeline's caption when the page
// shows the table of discarded adverts.
const timelineDiscardedZh = "有通告被丢弃：表格按原因和路由器计数（使用 keepalived 的计数器名称），数据来自运行结束时路由器的报告。"

// headsZh translate the plots' table headings.
var headsZh = map[string]string{
	"group":                          "组",
	"answered":                       "已应答",
	"server":                         "后端服务器",
	"max":                            "最大值",
	"min":                            "最小值",
	"mean":                           "平均值",
	"median":                         "中位数",
	"metric":                         "指标",
	"seeds":                          "种子数",
	"undecided":                      "无法确定",
	"95th percentile":                "第 95 百分位",
	"theory window":                  "理论窗口",
	"inside the window":              "落在窗口内",
	"KS distance to uniform":         "与均匀分布的 KS 距离",
	"requests":                       "请求数",
	"ok":                             "成功",
	"failed":                         "失败",
	"unknown (in flight at the end)": "未知（结束时仍在途中）",
	"success ratio":                  "成功率",
	"adverts discarded: cause":       "被丢弃的通告：原因",
	"router":                         "路由器",
	"instance (VRID)":                "实例 (VRID)",
	"count":                          "次数",
}

// caption returns a plot's caption in l; table says the plot has a
// table under it.
func (l lang) caption(name, en string, table bool) string {
	zh, ok := captionsZh[name]
	if !ok || !l.zh {
		return en
	}
	if name == timelineName && table {
		zh += timelineDiscardedZh
	}
	return zh
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
