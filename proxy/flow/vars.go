package flow

import "strings"

// The request variables as nginx (1.22) evaluates them, for EvalKey and
// cookie persistence in every driver: a hash key must pick the server a
// real nginx would.

// bytestr is a field value as the drivers hold it: the simulator's
// strings, the real server's header bytes.
type bytestr interface{ ~string | ~[]byte }

// CookieIn returns the value of cookie name in one Cookie field value v,
// and whether it is there, as nginx's ngx_http_parse_multi_header_lines
// finds it: the name matched ignoring case, blanks allowed before and
// after '=', the value raw up to the next ';' (quotes and trailing blanks
// kept); a pair that does not match is skipped up to the next ';' or ','.
func CookieIn[T bytestr](v T, name string) (T, bool) {
	var zero T
	if len(name) > len(v) {
		return zero, false
	}
	start, end := 0, len(v)
	for start < end {
		if end-start >= len(name) && hasPrefixFold(v[start:start+len(name)], name) {
			start += len(name)
			for start < end && v[start] == ' ' {
				start++
			}
			if start < end && v[start] == '=' {
				start++
				for start < end && v[start] == ' ' {
					start++
				}
				last := start
				for last < end && v[last] != ';' {
					last++
				}
				return v[start:last], true
			}
			if start < end {
				start++ // nginx's *start++ != '=' consumed it
			}
		}
		for start < end {
			ch := v[start]
			start++
			if ch == ';' || ch == ',' {
				break
			}
		}
		for start < end && v[start] == ' ' {
			start++
		}
	}
	return zero, false
}

// ArgIn returns the value of query argument name in target (the request
// target as sent), as nginx's ngx_http_arg finds it: the arguments are
// what follows the first '?' up to a '#'; the first "name=" (name matched
// ignoring case) at the start or after '&' wins; the value is raw (not
// percent-decoded) up to the next '&'.
func ArgIn(target, name string) (string, bool) {
	i := strings.IndexAny(target, "?#")
	if i < 0 || target[i] == '#' {
		return "", false
	}
	args := target[i+1:]
	if j := strings.IndexByte(args, '#'); j >= 0 {
		args = args[:j]
	}
	n := len(name)
	if n == 0 {
		return "", false
	}
	for p := 0; p+n < len(args); p++ {
		if !hasPrefixFold(args[p:p+n], name) || (p > 0 && args[p-1] != '&') || args[p+n] != '=' {
			continue
		}
		v := args[p+n+1:]
		for j := 0; j < len(v); j++ {
			if v[j] == '&' {
				return v[:j], true
			}
		}
		return v, true
	}
	return "", false
}

// NormalURI returns nginx's $uri of target (the request target as sent):
// the path before '?' or '#', percent-decoded, with "//" merged into "/"
// and "." and ".." segments resolved, as ngx_http_parse_complex_uri makes
// it (merge_slashes on, nginx's default). A decoded '%', '#' or '?' is
// kept as a character; a decoded '/' or '.' counts as one. ok is false
// where nginx answers 400: a bad %-escape, a decoded NUL, or a ".." above
// the root.
func NormalURI(target string) (uri string, ok bool) {
	const (
		usual = iota
		slash
		dot
		dotDot
	)
	u := make([]byte, 0, len(target))
	state := usual
	// up removes the last segment for a "/.." (u ends "/x/.." or "/..").
	up := func() bool {
		i := len(u) - 4
		for ; i >= 0; i-- {
			if u[i] == '/' {
				u = u[:i+1]
				return true
			}
		}
		return false
	}
	for p := 0; p < len(target); {
		ch := target[p]
		p++
		if ch == '%' {
			if p+2 > len(target) {
				return "", false
			}
			hi, ok1 := unhex(target[p])
			lo, ok2 := unhex(target[p+1])
			if !ok1 || !ok2 {
				return "", false
			}
			p += 2
			ch = hi<<4 | lo
			switch {
			case ch == 0:
				return "", false
			case ch == '%' || ch == '#' || ch == '?':
				u = append(u, ch)
				state = usual
				continue
			}
		} else if ch == '?' || ch == '#' {
			break
		}
		switch ch {
		case '/':
			switch state {
			case slash:
				continue // merged
			case dot:
				u = u[:len(u)-1]
				state = slash
				continue
			case dotDot:
				if !up() {
					return "", false
				}
				state = slash
				continue
			}
			state = slash
			u = append(u, ch)
		case '.':
			switch state {
			case slash:
				state = dot
			case dot:
				state = dotDot
			default:
				state = usual
			}
			u = append(u, ch)
		default:
			state = usual
			u = append(u, ch)
		}
	}
	switch state {
	case dot:
		u = u[:len(u)-1]
	case dotDot:
		if !up() {
			return "", false
		}
	}
	return string(u), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

// hasPrefixFold reports whether s equals name ignoring ASCII case (s and
// name of the same length).
func hasPrefixFold[T bytestr](s T, name string) bool {
	for i := 0; i < len(name); i++ {
		a, b := s[i], name[i]
		if a|0x20 >= 'a' && a|0x20 <= 'z' {
			a |= 0x20
		}
		if b|0x20 >= 'a' && b|0x20 <= 'z' {
			b |= 0x20
		}
		if a != b {
			return false
		}
	}
	return true
}
