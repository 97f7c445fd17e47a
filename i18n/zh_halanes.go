package i18n

// zhHALanes holds the Chinese of the report's availability section and
// figure: each client host's requests and probes over time above the VRRP
// timeline, and the outage each client saw.
var zhHALanes = map[string]string{
	"Availability as the clients saw it":                            "客户端看到的可用性",
	"Availability of each client over time, over the VRRP timeline": "各客户端随时间的可用性，下方为 VRRP 时间线",
	"%s requests":               "%s 的请求",
	"%s %s probes":              "%s 的 %s 探测",
	"%s probes":                 "%s 探测",
	"requests":                  "请求",
	"ok":                        "成功",
	"answered by %s":            "由 %s 应答",
	"answered by several hosts": "由多台主机应答",
	"failed: %s":                "失败：%s",
	"client":                    "客户端",
	"measured on":               "测量依据",
	"outage (s)":                "中断时长 (秒)",
	"from (s)":                  "起 (秒)",
	"to (s)":                    "止 (秒)",
	"failures in it":            "其间的失败",
	"other channels":            "其他通道",
	" Only the first %d lanes are drawn: %d operations of other client hosts are not.": "只画出前 %d 行：其他客户端主机的 %d 个操作没有画出。",
	"0 (nothing failed)":               "0（没有失败）",
	"≥ %s (no success before the end)": "≥ %s（结束前没有再成功）",
	"Each client host's requests and probes per %s s of send time: a lane per host for its requests, " +
		"a thinner one per probe kind under it. A bin is coloured by what the operations sent in it did: " +
		"successes (by the node that answered, when the history names it, in that node's colour as the VIP's owner; magenta when several answered), " +
		"failures by class, and requests still in flight at the end, whose outcome is unknown (neither ok nor failed); " +
		"a bin where some failed and some succeeded is split in proportion, failures at the bottom; an empty bin had no operation. " +
		"Under the clients, the VRRP timeline: each router's state, its effective priority, and the owner of each VIP. " +
		"Dashed red lines are faults; shaded spans last until the fault is undone.": "按发送时刻每 %s 秒统计各客户端主机的请求和探测：每台主机的请求一行，其下每种探测各一条较细的行。" +
		"每个时间段按其中发出的操作的结果着色：成功（历史记录指明应答节点时按该节点着色，颜色与它作为虚拟IP 主人时相同；多个节点应答时为洋红色）、" +
		"按类别区分的失败，以及运行结束时仍在途中、结果未知（既不算成功也不算失败）的请求；" +
		"部分失败、部分成功的时间段按比例分开画，失败在下；空白的时间段没有操作。" +
		"客户端下方是 VRRP 时间线：每台路由器的状态、有效优先级以及每个虚拟IP 的主人。" +
		"红色虚线是故障；阴影区间持续到故障被撤销。",
	" Some adverts were discarded: the table counts them by cause and router " +
		"(keepalived's counter names), as the routers reported at the end of the run.": "有通告被丢弃：表格按原因和路由器计数（使用 keepalived 的计数器名称），数据来自运行结束时路由器的报告。",
	"Outage of each client host: the longest time between two of its requests' successes (each when its answer came) " +
		"that a failed request overlaps, from its send to its end; a host that sent no request is measured on its probes, " +
		"tcp before icmp (a node answers icmp even when its proxy is dead). Requests still in flight at the end are neither successes nor failures. " +
		"results.json has it as outage_s_HOST, the worst as outage_s; a run that ends in an outage gives its lower bound (≥).": "每台客户端主机的中断：它的两次成功请求（各以收到应答之时计）之间、有失败请求（从发出到结束）与之重叠的最长时间；" +
		"没有发请求的主机按探测计，先看 tcp，再看 icmp（节点的代理进程死了它仍会应答 icmp）。运行结束时仍在途中的请求既不算成功也不算失败。" +
		"results.json 中记为 outage_s_HOST，最坏的记为 outage_s；运行在中断中结束时给出其下界（≥）。",
}
