package i18n

// zhHanetns2 are the words of the stale-ARP outage window on real hosts
// (Linux's deferred neighbour confirmation).
var zhHanetns2 = map[string]string{
	"the gratuitous ARP is dropped: the ARP entry's life %s (arp_timeout %s + delay_first_probe_time %s + %d unicast probes × %s), or the takeover %s if later; up to the client's timeout %s later (Linux confirms the entry with the next segment a connection sends after an acknowledgement: the close of a request the dead node acknowledged and never answered), and its timers up to 1/8 late (%s, Linux's timer wheel); + a resolution and a new connection's request (5 × %s + 2 × %s), up to the service's p99 %s + 10 request gaps (%s)": "免费 ARP 被丢弃：ARP 表项的寿命 %s（arp_timeout %s + delay_first_probe_time %s + %d 次单播探测 × %s），若接管 %s 更晚则取接管；最多再晚客户端的超时 %s（Linux 在连接收到确认之后发出的下一个报文上确认表项：已死节点确认过却从未应答的请求，在客户端放弃它时关闭连接，又确认一次），且各定时器最多晚其时长的 1/8（%s，Linux 的定时器轮）；+ 一次地址解析和一次新连接上的请求（5 × %s + 2 × %s），最多再加服务时间的 p99 %s + 10 个请求间隔（%s）",
	"garp_drop drops the gratuitous ARP of the lab's VIPs, and the lab has no vrrp instance": "garp_drop 丢弃的是实验中各个 VIP 的免费 ARP，而这个实验没有 vrrp 实例",
}
