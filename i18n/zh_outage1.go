package i18n

// zhOutage1 holds the Chinese of the outage table's words on the one
// definition of the users' outage (probe failures count, 4xx fails).
var zhOutage1 = map[string]string{
	"probe %s": "探测 %s",
	" A host's failed probes are failures of its requests' outage too (only a request's success ends it), " +
		"listed as \"probe KIND CLASS\"; an answer with a 4xx or 5xx status is a failed request. " +
		"The labs' outage checks read the same outages.": "主机失败的探测也算作其请求中断中的失败（只有请求成功才结束中断），" +
		"记为“探测 类型 类别”；状态为 4xx 或 5xx 的应答是失败的请求。实验的中断检查读取的是同一组中断。",
}
