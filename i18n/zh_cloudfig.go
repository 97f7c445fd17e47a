package i18n

// zhCloudfig holds the Chinese of the report's cloud network figure
// (reports/topology.go) and of report.json's topology.
var zhCloudfig = map[string]string{
	"Cloud network: VPCs, vSwitches, peering connections, and each probe's path": "云网络：VPC、交换机、对等连接，以及每个探测的路径",
	"%d. %s: %s":                             "%d. %s：%s",
	"%s, %s":                                 "%s，%s",
	"dropped at %s on the request":           "请求在 %s 处被丢弃",
	"dropped at %s on the reply":             "回包在 %s 处被丢弃",
	"(%d more items not drawn)":              "（另有 %d 项未画出）",
	"not accepted":                           "未通过",
	"request":                                "请求",
	"reply":                                  "回包",
	"dropped here":                           "在此被丢弃",
	"VPC router":                             "VPC 路由器",
	"vSwitch %s":                             "交换机 %s",
	"topology.%s: %d items: want at most %d": "topology.%s：%d 项：最多 %d 项",
	"topology.vpcs[%d].name: empty: want the VPC's name": "topology.vpcs[%d].name：为空：应为 VPC 的名称",
	"The lab's cloud network: each VPC a box with its CIDR, its vSwitches inside with their CIDR and zone, " +
		"the hosts with their addresses, peering connections as links over the boxes. Each probe of the run is drawn along its " +
		"hop path: the request solid, the reply dashed, green when ACCEPTED, red otherwise, with a cross at the place that " +
		"dropped it (on the reply leg for NO_REPLY_ROUTE); the numbers match the list under the drawing. Where the run saw " +
		"fewer hops than the model has (a real network's counters), the path joins the places it saw over the boxes.": "本实验的云网络：每个 VPC 是一个方框，标有其网段；框内是它的交换机，标有网段和可用区；" +
		"主机标有地址；对等连接画成方框上方的连线。本次运行的每个探测沿其逐跳路径画出：请求为实线，回包为虚线，" +
		"ACCEPTED 为绿色，其余为红色，在丢弃它的位置画一个叉（NO_REPLY_ROUTE 画在回包一侧）；编号与图下方的列表对应。运行中看到的跳数少于模型时（真实网络的计数器），路径在方框上方连接它看到的位置。",
}
