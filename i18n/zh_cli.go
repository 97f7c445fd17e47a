package i18n

var zhCLI = map[string]string{}
