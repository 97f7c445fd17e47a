package i18n

// zhTCP holds the Chinese of the messages about tcp listeners in labs
// (the simulator's tcp sessions and their validation).
var zhTCP = map[string]string{
	"listener %s is udp: a lab runs its load balancer in the simulator, which models http, https and tcp listeners only (run a udp listener with lblab proxy)": "监听器 %s 是 udp：实验在模拟器中运行负载均衡器，而模拟器只模拟 http、https 和 tcp 监听器（udp 监听器请用 lblab proxy 运行）",
	"group %s serves tcp listener %s and %s listener %s: nginx keeps stream (tcp) and http upstreams apart; give each its own group":                           "组 %s 同时服务 tcp 监听器 %s 和 %s 监听器 %s：nginx 把 stream（tcp）和 http 的 upstream 分开；请各用各的组",
	"group %s serves tcp listener %s: a tcp server is checked by connecting (nginx's stream health checks): want type tcp, got %q":                             "组 %s 服务 tcp 监听器 %s：tcp 服务器的健康检查只做连接（nginx stream 模块的健康检查）：type 应为 tcp，实际为 %q",
	"group %s serves tcp listener %s: a tcp session passes on after a failed connect only (error, timeout or off), got %q":                                     "组 %s 服务 tcp 监听器 %s：tcp 会话只在连接失败后转给下一台服务器（error、timeout 或 off），实际为 %q",
	"group %s serves tcp listener %s: a tcp session has no cookie (use source_ip)":                                                                             "组 %s 服务 tcp 监听器 %s：tcp 会话没有 cookie（请用 source_ip）",
	"group %s serves tcp listener %s: a tcp session waits for no response header (nginx's stream proxy_timeout is not modelled)":                               "组 %s 服务 tcp 监听器 %s：tcp 会话不等待响应头（未模拟 nginx stream 模块的 proxy_timeout）",
	"backend %s serves tcp listener %s: the tcp echo injects no status":                                                                                        "后端 %s 服务 tcp 监听器 %s：tcp 回显服务器不注入状态码",
	"backend %s serves tcp listener %s: the tcp echo answers every line at once (no concurrency limit, no queue)":                                              "后端 %s 服务 tcp 监听器 %s：tcp 回显服务器立即处理每一行（没有并发上限，没有队列）",
	"backend %s serves tcp listener %s: the tcp echo has no health endpoint":                                                                                   "后端 %s 服务 tcp 监听器 %s：tcp 回显服务器没有健康检查端点",
	"clients of tcp listener %s send a line, not an HTTP request: they have no %s":                                                                             "tcp 监听器 %s 的客户端发送一行文本，而不是 HTTP 请求：它们没有 %s",
	"group %s serves tcp listener %s: a tcp exchange has no status: count class 5xx (failed) or 2xx (echoed), or an error":                                     "组 %s 服务 tcp 监听器 %s：tcp 交换没有状态码：请统计 class 5xx（失败）或 2xx（已回显），或一个 error",
	"play tcp listener %s (its clients' TCP exchanges)":                                                                                                        "扮演 tcp 监听器 %s（它的客户端的 TCP 交换）",
	"status %s (tcp exchanges: failed)": "状态码 %s（tcp 交换：失败）",
	"status %s (tcp exchanges: echoed)": "状态码 %s（tcp 交换：已回显）",
}
