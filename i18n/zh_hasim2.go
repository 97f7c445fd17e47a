package i18n

// zhHasim2 holds the Chinese of the second HA simulator round: the stale
// ARP lab's theory, unicast peers, the nginx restart, probe validation,
// per-node health events.
var zhHasim2 = map[string]string{
	"the gratuitous ARP is dropped: the ARP entry's life %s (arp_timeout %s + delay_first_probe_time %s + %d unicast probes × %s), or the takeover %s if later; + a resolution and a new connection's request (5 × %s + 2 × %s) + the service's median %s + 2 request gaps (%s)":    "免费 ARP 被丢弃：ARP 表项的寿命 %s（arp_timeout %s + delay_first_probe_time %s + %d 次单播探测 × %s），若接管 %s 更晚则取接管；+ 一次地址解析和一次新连接上的请求（5 × %s + 2 × %s）+ 服务时间中位数 %s + 2 个请求间隔（%s）",
	"the gratuitous ARP is dropped: the ARP entry's life %s (arp_timeout %s + delay_first_probe_time %s + %d unicast probes × %s), or the takeover %s if later; + a resolution and a new connection's request (5 × %s + 2 × %s), up to the service's p99 %s + 10 request gaps (%s)": "免费 ARP 被丢弃：ARP 表项的寿命 %s（arp_timeout %s + delay_first_probe_time %s + %d 次单播探测 × %s），若接管 %s 更晚则取接管；+ 一次地址解析和一次新连接上的请求（5 × %s + 2 × %s），最多再加服务时间的 p99 %s + 10 个请求间隔（%s）",
}
