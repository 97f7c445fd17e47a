package i18n

// zhDocker holds the Chinese of the docker world's messages.
var zhDocker = map[string]string{
	"real agents, proxies, backends and load generators in Docker containers (testcontainers-go), a bridge network per segment; DOCKER_HOST for another engine": "真实的代理、负载均衡器、后端和负载生成器运行在 Docker 容器中（testcontainers-go），每个网段一个桥接网络；DOCKER_HOST 可指向另一个引擎",
	"give clients[%d] their source addresses on a remote Docker engine (DOCKER_HOST): that needs the engine on this machine":                                    "在远程 Docker 引擎（DOCKER_HOST）上为 clients[%d] 配置源地址：这需要引擎运行在本机",
	"give server %s its address on a remote Docker engine (DOCKER_HOST): that needs the engine on this machine":                                                 "在远程 Docker 引擎（DOCKER_HOST）上为服务器 %s 配置它的地址：这需要引擎运行在本机",
	"container %s does not die":                     "容器 %s 没有终止",
	"clients %d: still running %s after SIGINT: %s": "clients %d：发送 SIGINT %s 后仍在运行：%s",
	"pid %d does not die":                           "进程 %d 没有终止",
	"pid %d not stopped %v after SIGSTOP":           "发送 SIGSTOP %[2]v 后进程 %[1]d 仍未停止",
	"docker mode: %w":                               "docker 模式：%w",
	"containers are not cleaned: %v":                "未清理容器：%v",
	"docker mode: the lab runs vrrp scripts, and the image has no /bin/sh: install a static busybox (Debian's busybox-static) so that the image gets one":                                                  "docker 模式：实验要运行 vrrp 脚本，而镜像中没有 /bin/sh：请安装静态链接的 busybox（Debian 的 busybox-static），镜像才会包含它",
	"apply fault %s on a remote Docker engine (DOCKER_HOST): faults of kind %s need the engine on this machine":                                                                                            "在远程 Docker 引擎（DOCKER_HOST）上施加故障 %s：%s 类故障需要引擎运行在本机",
	"name host %s's interfaces on a remote Docker engine (DOCKER_HOST): only one interface, eth0, keeps its name there":                                                                                    "在远程 Docker 引擎（DOCKER_HOST）上为主机 %s 的接口命名：在那里只有唯一的接口 eth0 能保持其名称",
	"lab %s: segment %s: host %s's %s is not in %s, the subnet of the segment's other hosts: a Docker network has one subnet":                                                                              "实验 %s：网段 %s：主机 %s 的 %s 不在该网段其他主机的子网 %s 中：一个 Docker 网络只有一个子网",
	"lab %s: segment %s: no address of %s is free for the Docker network's gateway":                                                                                                                        "实验 %s：网段 %s：%s 中没有空闲地址可作 Docker 网络的网关",
	"the agent on %s (container %s, lblab vrrp) exited with status %d:\n%s":                                                                                                                                "%s 上的代理（容器 %s，lblab vrrp）以状态 %d 退出：\n%s",
	"host %s runs no container in the docker world (only VRRP routers do)":                                                                                                                                 "主机 %s 在 docker 世界中没有容器（只有 VRRP 路由器有）",
	"docker mode: %s is dynamically linked, and a FROM scratch image needs a static lblab: build one with CGO_ENABLED=0 go build ./cmd/lblab (or run from the lblab source folder, where lblab builds it)": "docker 模式：%s 是动态链接的，而 FROM scratch 镜像需要静态链接的 lblab：请用 CGO_ENABLED=0 go build ./cmd/lblab 构建（或在 lblab 源码目录中运行，lblab 会自行构建）",
	"docker mode: building a static lblab: %w\n%s":                                                                                                                                                         "docker 模式：构建静态链接的 lblab 时出错：%w\n%s",
}
