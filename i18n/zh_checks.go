package i18n

var zhChecks = map[string]string{}
