package proxy

import (
	"github.com/lblab/lblab/i18n"
	"strings"
)

// KeyKind says which request variable a hash key reads.
type KeyKind uint8

// The variables a hash key may name: the one list that validation, the
// nginx importer and every driver (simulator, HTTP, TCP, UDP) share.
const (
	// KeyNone: no key (the algorithm hashes none).
	KeyNone KeyKind = iota
	// KeyRequestURI is $request_uri: the target as the client sent it,
	// path and query.
	KeyRequestURI
	// KeyURI is $uri: the target's path, without the query.
	KeyURI
	// KeyRemoteAddr is $remote_addr: the address the connection comes
	// from. The only key of a tcp or udp listener's group (nginx's stream
	// module has no request variables).
	KeyRemoteAddr
	// KeyHeader is $http_NAME: the request header field NAME, '_' read as
	// '-', any case; repeated fields joined by ", ".
	KeyHeader
	// KeyCookie is $cookie_NAME: the value of the cookie NAME.
	KeyCookie
	// KeyArg is $arg_NAME: the query argument NAME.
	KeyArg
)

// HashKeys names the keys ParseHashKey accepts, for error messages.
const HashKeys = "$request_uri, $uri, $remote_addr, $http_NAME, $cookie_NAME or $arg_NAME"

// HashKey is a parsed hash key: the variable and, for $http_, $cookie_
// and $arg_, its name (for $http_, lower case with '-' for '_', as the
// field is written on the wire).
type HashKey struct {
	Kind KeyKind
	Name string
}

// ParseHashKey reads a hash key: one nginx variable from HashKeys, written
// $name or ${name}, whose NAME is letters, digits and '_' (as nginx's
// variable names are). "" is KeyNone.
func ParseHashKey(k string) (HashKey, error) {
	if k == "" {
		return HashKey{}, nil
	}
	v := k
	if strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") {
		v = "$" + v[2:len(v)-1]
	}
	switch v {
	case "$request_uri":
		return HashKey{Kind: KeyRequestURI}, nil
	case "$uri":
		return HashKey{Kind: KeyURI}, nil
	case "$remote_addr":
		return HashKey{Kind: KeyRemoteAddr}, nil
	}
	for _, p := range [...]struct {
		prefix string
		kind   KeyKind
	}{{"$http_", KeyHeader}, {"$cookie_", KeyCookie}, {"$arg_", KeyArg}} {
		name, ok := strings.CutPrefix(v, p.prefix)
		if !ok {
			continue
		}
		if !varName(name) {
			return HashKey{}, i18n.Errorf("want %s, got %q", HashKeys, k)
		}
		if p.kind == KeyHeader {
			name = strings.ReplaceAll(strings.ToLower(name), "_", "-")
		}
		return HashKey{Kind: p.kind, Name: name}, nil
	}
	return HashKey{}, i18n.Errorf("want %s, got %q", HashKeys, k)
}

// varName reports whether s is a non-empty variable name suffix: letters,
// digits and '_'.
func varName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
