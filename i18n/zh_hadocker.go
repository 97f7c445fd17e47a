package i18n

// zhHadocker are the formats of high-availability labs in the docker
// world (scenarios/docker_ha.go).
var zhHadocker = map[string]string{
	"container %s does not end": "容器 %s 没有结束",
	"run a high-availability lab on a remote Docker engine (DOCKER_HOST): its roles need the engine on this machine": "在远程 Docker 引擎（DOCKER_HOST）上运行高可用实验：它的各个角色需要本机上的引擎",
}
