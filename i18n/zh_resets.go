package i18n

// zhResets holds the Chinese of the report's count of the connections
// reset under the client hosts' operations (the outage table's column).
var zhResets = map[string]string{
	"connections reset": "连接被重置",
	" Connections reset: the operations over the whole run that met a reset, failed with one or " +
		"(a request) reset on a reused kept-alive connection and sent once more on a new one, as clients do; " +
		"results.json sums the hosts' requests as connections_reset.": "连接被重置：整个运行中遇到重置的操作，" +
		"因重置而失败的，或（请求）在复用的长连接上被重置、随后在新连接上重发一次的（客户端都这样做）；" +
		"results.json 把各主机的请求合计为 connections_reset。",
}
