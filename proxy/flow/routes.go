package flow

import (
	"strings"

	"github.com/lblab/lblab/proxy"
)

// Routes are a listener's rules compiled over the drivers' groups (G):
// the first rule whose host (if any) equals the request's host, ignoring
// case, and whose path prefix starts the path wins; else the listener's
// group.
type Routes[G any] struct {
	rules []route[G]
	def   G
}

type route[G any] struct {
	host   string // "" matches any
	prefix string
	g      G
}

// NewRoutes compiles l's rules; group returns the driver's group of a
// name.
func NewRoutes[G any](l *proxy.Listener, group func(name string) G) Routes[G] {
	r := Routes[G]{def: group(l.Group)}
	for _, ru := range l.Rules {
		r.rules = append(r.rules, route[G]{host: strings.ToLower(ru.Host), prefix: ru.PathPrefix, g: group(ru.Group)})
	}
	return r
}

// Match returns the group of a request to host (without its port: see
// HostOnly) and path (without the query, normalized as nginx's locations
// see it).
func (r *Routes[G]) Match(host, path []byte) G {
	for i := range r.rules {
		ru := &r.rules[i]
		if (ru.host == "" || eqFold(host, ru.host)) &&
			len(path) >= len(ru.prefix) && string(path[:len(ru.prefix)]) == ru.prefix {
			return ru.g
		}
	}
	return r.def
}

// HostOnly strips the port and a trailing dot from a Host value, as nginx
// does before it looks for the server of a name.
func HostOnly(h []byte) []byte {
	if len(h) > 0 && h[0] == '[' {
		for i, c := range h {
			if c == ']' {
				return h[:i+1]
			}
		}
		return h
	}
	for i, c := range h {
		if c == ':' {
			h = h[:i]
			break
		}
	}
	if n := len(h); n > 1 && h[n-1] == '.' {
		h = h[:n-1]
	}
	return h
}

// eqFold reports whether b equals s (lower case) ignoring ASCII case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if c != s[i] && !('A' <= c && c <= 'Z' && c+'a'-'A' == s[i]) {
			return false
		}
	}
	return true
}

// Default returns the listener's own group (a tcp or udp listener has no
// rules).
func (r *Routes[G]) Default() G { return r.def }
