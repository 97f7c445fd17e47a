package i18n

// zhFolder are the messages about a run's folder (lblab report DIR:
// results.json, report.json), by English format.
var zhFolder = map[string]string{
	"%s: %v: want %s":   "%s：%v：应为 %s",
	"%s: cut short: %v": "%s：文件不完整：%v",
	"%s: format %d: written by a newer lblab; this one reads format %d at most: draw the report with the lblab that ran the lab": "%s：格式 %d：由更新版本的 lblab 写出；本版本最多读取格式 %d：请用运行该实验的 lblab 绘制报告",
	"%s: format: %s is not a version of the format (1 to %d)":                                                                    "%s：format：%s 不是格式版本（1 到 %d）",
	"%s: format: missing: not a report.json lblab wrote":                                                                         "%s：format：缺失：不是 lblab 写出的 report.json",
	"%s: lab: %q, but results.json is of lab %q: the folder mixes two runs":                                                      "%s：lab：%q，但 results.json 属于实验 %q：该文件夹混合了两次运行",
	"%s: larger than %d bytes: not a file lblab wrote":                                                                           "%s：大于 %d 字节：不是 lblab 写出的文件",
	"%s:%s: %s: %v":                   "%s:%s：%s：%v",
	"%s:%s: %v":                       "%s:%s：%v",
	"%s:%s: more than one JSON value": "%s:%s：多于一个 JSON 值",
}
