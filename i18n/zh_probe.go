package i18n

// zhProbe holds the Chinese of the messages about network probes (the
// probe specs of labs and of lblab probe, and the lblab probe role).
var zhProbe = map[string]string{
	"want the host that sends the probe":                                 "需要发出探测的主机",
	"want at most 64 bytes, got %s":                                      "最多 64 字节，实际为 %s",
	"want printable characters without spaces, got %s":                   "需要不含空格的可打印字符，实际为 %s",
	"an icmp probe goes to an IPv4 address, got %s":                      "icmp 探测的目标应为 IPv4 地址，实际为 %s",
	"a tcp probe goes to IPV4:PORT, got %s":                              "tcp 探测的目标应为 IPV4:端口，实际为 %s",
	"want a port from 1 to 65535, got %s":                                "端口应在 1 到 65535 之间，实际为 %s",
	"want a host's address, not the unspecified address %s":              "需要主机的地址，而不是未指定地址 %s",
	"want one host's address, not the multicast or broadcast address %s": "需要单个主机的地址，而不是组播或广播地址 %s",
	"want icmp or tcp, got %s":                                           "应为 icmp 或 tcp，实际为 %s",
	"want from %s to %s, got %s":                                         "应在 %s 到 %s 之间，实际为 %s",
	"want at least one --probe (icmp:ADDR or tcp:ADDR:PORT)":             "至少需要一个 --probe（icmp:地址 或 tcp:地址:端口）",
	"at most %d probes, got %d":                                          "最多 %d 个探测，实际为 %d 个",
	"--probe %q: want icmp:ADDR or tcp:ADDR:PORT":                        "--probe %q：应为 icmp:地址 或 tcp:地址:端口",
	"--probe %q: %w": "--probe %q：%w",
	"--from: %w":     "--from：%w",
	"--interval and --timeout must be positive": "--interval 和 --timeout 必须为正",
	"--phase must not be negative":              "--phase 不能为负",
	"no probe to run":                           "没有要运行的探测",
	"probes need a history sink":                "探测需要一个历史记录接收端",
	"probe %s: %w":                              "探测 %s：%w",
	"icmp: a raw socket (ip4:icmp) needs root or CAP_NET_RAW: %w":                                                                                    "icmp：原始套接字（ip4:icmp）需要 root 或 CAP_NET_RAW：%w",
	"icmp: a ping socket (udp4) needs the user's group in net.ipv4.ping_group_range: %w":                                                             "icmp：ping 套接字（udp4）要求用户所在组位于 net.ipv4.ping_group_range 中：%w",
	"icmp: no raw socket (ip4:icmp needs root or CAP_NET_RAW: %v) and no ping socket (udp4 needs the user's group in net.ipv4.ping_group_range: %v)": "icmp：无法打开原始套接字（ip4:icmp 需要 root 或 CAP_NET_RAW：%v），也无法打开 ping 套接字（udp4 要求用户所在组位于 net.ipv4.ping_group_range 中：%v）",
	"the probes on %s (%s probe) exited with status %d before they were ready:\n%s":                                                                  "%s 上的探测（%s probe）在就绪前退出，状态码 %d：\n%s",
	"the probes on %s (%s probe) not ready after %v":                                                                                                 "%s 上的探测（%s probe）在 %v 后仍未就绪",
	"probe %s: from %s: no such host":                                                                                                                "探测 %s：from %s：没有这个主机",
	"host %s: starting its probes: %w":                                                                                                               "主机 %s：启动其探测：%w",
	"--icmp-socket: want ip4:icmp or udp4, got %q":                                                                                                   "--icmp-socket：应为 ip4:icmp 或 udp4，实际为 %q",
}
