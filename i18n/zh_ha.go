package i18n

// zhHA holds the Chinese of the messages about the high-availability
// pair: the implementations of a lab's roles (lblab's own agents,
// keepalived, nginx), VIP clients and probes.
var zhHA = map[string]string{
	"apply fault %s: it drops the whole protocol, not only its multicast (multicast: true)": "施加故障 %s：它会丢弃整个协议，而不只是其组播（multicast: true）",
	"server %s: standby (%s): %w":                                                 "服务器 %s：备用进程（%s）：%w",
	"want %s or %s, got %q":                                                       "应为 %s 或 %s，实际为 %q",
	"the lab has no vrrp section for %s to play":                                  "实验没有 vrrp 部分可供 %s 运行",
	"the lab has no load balancer (lb, nginx) for %s to play":                     "实验没有负载均衡器（lb、nginx）可供 %s 运行",
	"run %s as the role %s (impl): it runs lblab's own agents only for that role": "用 %s 扮演角色 %s（impl）：该角色只能运行 lblab 自己的程序",
}
