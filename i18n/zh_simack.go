package i18n

// zhSimack are the words of the stale-ARP outage window once the
// simulator confirms neighbours as Linux does (the segment after an ACK).
var zhSimack = map[string]string{
	"the gratuitous ARP is dropped: the ARP entry's life %s (arp_timeout %s + delay_first_probe_time %s + %d unicast probes × %s) from its last confirmation, or the takeover %s if later; the last confirmation is the crash's, or up to the client's timeout %s later (Linux confirms the entry with the next segment a connection sends after an acknowledgement: the close of a request the dead node acknowledged and never answered); + a resolution and a new connection's request (5 × %s + 2 × %s), up to the service's p99 %s + 10 request gaps (%s)": "免费 ARP 被丢弃：ARP 表项从最后一次确认起的寿命 %s（arp_timeout %s + delay_first_probe_time %s + %d 次单播探测 × %s），若接管 %s 更晚则取接管；最后一次确认是宕机时的那次，或者最多晚一个客户端超时 %s（Linux 在连接收到确认之后发出的下一个报文上确认表项：死掉的节点确认过却从未应答的请求在关闭时发出的报文）；+ 一次解析和新连接上的一个请求（5 × %s + 2 × %s），最多再加服务的 p99 %s + 10 个请求间隔（%s）",
	"%s, and up to %s later (Linux's timer wheel: a timer fires up to 1/8 of its delay late)": "%s，并且最多再晚 %s（Linux 的定时器轮：定时器最多晚其延迟的 1/8 触发）",
}
