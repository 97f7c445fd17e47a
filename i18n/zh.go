package i18n

// chinese maps each English format to its Chinese format: the same verbs
// in the same order (TestEveryFormatHasChinese checks every format the
// sources give to a message builder).
var chinese = merge(zhCommon, zhMessages, zhChecks, zhCLI, zhFolder, zhWorlds, zhDocker, zhCompare, zhDiscovery, zhTCP, zhHA, zhProbe, zhHALanes, zhImplng, zhImplka, zhHasim, zhHanetns, zhHadocker, zhHasim2, zhHanetns2, zhK8ssweep, zhCloud, zhCloudverify, zhKanginx, zhResets, zhSimack, zhCloudfig, zhOutage1)

func merge(tables ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, t := range tables {
		for k, v := range t {
			out[k] = v
		}
	}
	return out
}

// zhCommon are formats that only join other messages.
var zhCommon = map[string]string{
	"%s":      "%s",
	"%v":      "%v",
	"%s (%s)": "%s（%s）",
	"%s %s":   "%s %s",
	"%s%s":    "%s%s",
	"%s: %w":  "%s：%w",
	"%s: %v":  "%s：%v",
}
