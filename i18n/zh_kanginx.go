package i18n

// zhKanginx are the words of a vrrp_script that restarts the proxy
// (restart_wait, the seed's check_nginx.sh): its theory and its
// validation, by English format.
var zhKanginx = map[string]string{
	"%s restarts the proxy on %s and the restart succeeds (no start_fails): no takeover; write window: none":                                                                                                              "%s 会在 %s 上重启代理，且重启成功（没有 start_fails）：不会发生接管；请写 window: none",
	"%s's next run finds no proxy within one interval, starts it, waits %s, finds it still down and stops the agent: priority 0, [restart_wait, interval + restart_wait] + Skew_Time + latency = [%s, %s] + %s + latency": "%s 在一个间隔内的下一次运行发现代理不在，启动它，等待 %s，发现仍未运行，于是停止本机的 VRRP 进程（keepalived stop）：优先级 0，[restart_wait, interval + restart_wait] + Skew_Time + 延迟 = [%s, %s] + %s + 延迟",
	"%v is not less than the script's timeout %v (default its interval): the agent kills the script before it looks again; set timeout above it":                                                                          "%v 不小于脚本的超时 %v（默认等于 interval）：VRRP 进程会在脚本再次检查之前杀掉它；请把 timeout 设得更大",
	"vrrp_script %q restarts the proxy (restart_wait), but host %q has no proxy role":                                                                                                                                     "vrrp_script %q 会重启代理（restart_wait），但主机 %q 没有 proxy 角色",
	"run vrrp_script %s, which restarts the proxy (restart_wait), on %s: it runs in netns only":                                                                                                                           "在 %[2]s 上运行会重启代理的 vrrp_script %[1]s（restart_wait）：它只在 netns 中运行",
	"lab %s: fault %s: a vrrp_script that restarts the proxy on %s and succeeds does not run on real hosts yet (the proxy it starts would not be the world's); give the fault start_fails: true":                          "实验 %s：故障 %s：在 %s 上重启代理并且重启成功的 vrrp_script 还不能在真实主机上运行（它启动的代理不归本环境管理）；请给该故障加上 start_fails: true",
}
