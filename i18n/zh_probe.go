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
}
