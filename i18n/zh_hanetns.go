package i18n

// zhHanetns holds the Chinese formats of the HA pair on real hosts (netns).
var zhHanetns = map[string]string{}
