package i18n

// zhWorlds holds the Chinese of the worlds' messages: lblab worlds, the
// capability refusals of lblab run --mode.
var zhWorlds = map[string]string{
	"%s mode: %w": "%s 模式：%w",
	"--mode %s compares with %d simulator seeds from --seed: %w": "--mode %s 要与从 --seed 起的 %d 个模拟器种子比较：%w",
	"--mode %s: %w": "--mode %s：%w",
	"apply fault %s: faults of kind %s are not among its capabilities": "施加故障 %s：它的能力中没有 %s 类故障",
	"available here":                  "本机可用",
	"lab %s: cleaning up: %w":         "实验 %s：清理时出错：%w",
	"lab %s: the %s world cannot %s":  "实验 %s：%s 世界不能%s",
	"no":                              "否",
	"yes":                             "是",
	"no world %q (the worlds are %s)": "没有名为 %q 的世界（现有的世界：%s）",
	"not available here: %v":          "本机不可用：%v",
	"play the role %s (%s)":           "扮演角色 %s（%s）",
	"the lab's vrrp section":          "实验的 vrrp 部分",
	"the lab's lb section":            "实验的 lb 部分",
	"the lab's backends":              "实验的 backends",
	"the lab's clients":               "实验的 clients",
	"real agents, proxies, backends and load generators as processes in Linux network namespaces, one per host, bridges for segments": "真实的 VRRP 代理、负载均衡代理、后端服务器和负载生成器作为进程运行在 Linux 网络命名空间中，每台主机一个命名空间，每个网段一个网桥",
	"roles: %s; faults: %s; link shaping: %s; needs root: %s; deterministic: %s":                                                      "角色：%s；故障：%s；链路整形：%s；需要 root：%s；确定性：%s",
	"shape links (%s: loss %v): it has no link shaping, and a loss changes what happens":                                              "整形链路（%s：丢包率 %v）：它没有链路整形能力，而丢包会改变实验的结果",
	"shape links (%s: up to %s one way): it has no link shaping, and that is more than its timing tolerance of %s":                    "整形链路（%s：单向最多 %s）：它没有链路整形能力，且这超过了它 %s 的时间容差",
	"the %s world does not shape links: %s's up to %s one way is left out (within its timing tolerance of %s)":                        "%s 世界不整形链路：%s 单向最多 %s 的延迟被忽略（在它 %s 的时间容差之内）",
	"segment %s":          "网段 %s",
	"the network section": "network 部分",
	"the deterministic discrete-event simulator: virtual time, no privileges":                   "确定性的离散事件模拟器：虚拟时间，无需特权",
	"the agent on %s (%s vrrp) exited with status %d before it was ready:\n%s":                  "%s 上的代理进程（%s vrrp）在就绪之前退出，状态码 %d：\n%s",
	"the agent on %s (%s vrrp) not ready after %v":                                              "%s 上的代理进程（%s vrrp）%v 后仍未就绪",
	"the agent on %s (container %s, lblab vrrp) exited with status %d before it was ready:\n%s": "%s 上的代理进程（容器 %s，lblab vrrp）在就绪之前退出，状态码 %d：\n%s",
	"the agent on %s (container %s, lblab vrrp) not ready after %v:\n%s":                        "%s 上的代理进程（容器 %s，lblab vrrp）%v 后仍未就绪：\n%s",
}
