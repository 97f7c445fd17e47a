package i18n

// zhHanetns holds the Chinese formats of the high-availability pair on
// real hosts (the netns world hosting the load balancer's roles).
var zhHanetns = map[string]string{
	"proxy on %s: %w":                                      "%s 上的代理：%w",
	"no topology host %q with an address":                  "topology 中没有带地址的主机 %q",
	"backends[%d]: its server runs on a topology host: %w": "backends[%d]：它的服务器运行在 topology 的主机上：%w",
	"clients[%d]: %w":                                      "clients[%d]：%w",
	"no proxy on %s":                                       "%s 上没有代理",
	"no topology host %q":                                  "topology 中没有主机 %q",
	"no segment %s":                                        "没有网段 %s",
}
