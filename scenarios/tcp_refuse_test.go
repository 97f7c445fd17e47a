package scenarios_test

import "testing"

// A tcp listener's group, servers and clients have none of what only
// HTTP has, as nginx's stream module has none of it: each is refused
// where it is written, with its field.
func TestParseRefusesHTTPOnTCP(t *testing.T) {
	labels := catalogSource(t, "container-labels")
	check := "{type: tcp, interval: 2s"
	wantRefusals(t, []refusal{
		{"http check", labels, check, "{type: http, interval: 2s", "http,", "lb.groups[2].health_check.type",
			`group cache serves tcp listener cache: a tcp server is checked by connecting (nginx's stream health checks): want type tcp, got "http"`},
		{"check of the default type", labels, check, "{interval: 2s", "{interval", "lb.groups[2].health_check.type",
			`want type tcp, got "http"`},
		{"retry on a status", labels, "      next_upstream: {on: [off]}\nnetwork:", "      next_upstream: {on: [error, http_502]}\nnetwork:",
			"http_502", "lb.groups[2].next_upstream.on[1]", `a tcp session passes on after a failed connect only (error, timeout or off), got "http_502"`},
		{"cookie persistence", labels, "    - name: cache\n", "    - name: cache\n      persistence: {mode: cookie}\n", "cookie}",
			"lb.groups[2].persistence.mode", "a tcp session has no cookie"},
		{"read timeout", labels, "    - name: cache\n", "    - name: cache\n      read_timeout: 5s\n", "5s",
			"lb.groups[2].read_timeout", "a tcp session waits for no response header"},
		{"a group of a tcp and an http listener", labels, "    - {name: cache, port: 6379",
			"    - {name: cache-http, port: 8003, group: cache}\n    - {name: cache, port: 6379",
			"cache}", "lb.listeners[2].group", "group cache serves tcp listener cache and http listener cache-http"},
		{"injected statuses", labels, "{service: {law: lognormal, median: 2ms, p99: 10ms}}",
			"{service: {law: lognormal, median: 2ms, p99: 10ms}, errors: [{status: 500, probability: 0.1}]}", "[{status",
			"services[2].backend.errors", "backend cache-1:6379 serves tcp listener cache: the tcp echo injects no status"},
		{"a method", labels, "{name: users-cache, listener: cache, rate: 100}", "{name: users-cache, listener: cache, rate: 100, method: POST}",
			"POST", "clients[2].method", "clients of tcp listener cache send a line, not an HTTP request: they have no method"},
		{"a status", labels, "{group: cache, class: 5xx, to: 24s", "{group: cache, status: 502, to: 24s", "502",
			"expect[5].status_count.status", "a tcp exchange has no status: count class 5xx (failed) or 2xx (echoed), or an error"},
		{"class 4xx", labels, "{group: cache, class: 5xx, to: 24s", "{group: cache, class: 4xx, to: 24s", "4xx",
			"expect[5].status_count.class", "a tcp exchange has no status"},
	})
}
