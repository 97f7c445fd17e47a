package server

import (
	"bytes"
	"errors"
)

// Limits of a request header. A request line longer than MaxLineBytes
// (8 KiB, as nginx's large_client_header_buffers default) is answered 414
// URI Too Long; a header line longer than MaxLineBytes, a header longer
// than MaxHeaderBytes in all or with more than MaxHeaders fields is
// answered 431 Request Header Fields Too Large. Either way the connection
// is closed. A server's response header is bounded by MaxHeaderBytes and
// MaxLineBytes only.
const (
	MaxLineBytes   = 8 << 10
	MaxHeaderBytes = 16 << 10
	MaxHeaders     = 100
)

// errors of the parsers. errTooLarge maps to 431, errURITooLong to 414,
// errNotImpl to 501, the others to 400 (request) or to an invalid response
// (upstream).
var (
	errIncomplete = errors.New("incomplete header")
	errTooLarge   = errors.New("header too large")
	errURITooLong = errors.New("request line too long")
	errMalformed  = errors.New("malformed header")
	errNotImpl    = errors.New("transfer coding not implemented")
)

// field is one header field, as offsets into the buffer its header was
// read into: the name, the value (without surrounding spaces, as nginx
// reads it: a tab is part of the value) and the whole line with its line
// end.
type field struct {
	name, value, line span
	// drop: a hop-by-hop field, one the proxy writes itself (Host and the
	// framing fields), or a request field nginx ignores (a name with other
	// characters than letters, digits and '-').
	drop bool
}

type span struct{ start, end int32 }

func (s span) of(b []byte) []byte { return b[s.start:s.end] }

// framing says how a message body is delimited.
type framing uint8

const (
	bodyNone    framing = iota // no body
	bodyLength                 // Content-Length bytes
	bodyChunked                // chunked transfer coding
	bodyEOF                    // until the connection closes (responses only)
)

// header is what the proxy needs of a request or response header; the
// spans point into the buffer it was parsed from.
type header struct {
	fields []field
	// size is the header's length, its final empty line included.
	size int
	// version is 0 for HTTP/1.0, 1 for HTTP/1.1.
	minor int
	// framing and length (for bodyLength) of the body.
	framing framing
	length  int64
	// Connection tokens.
	close, keepAlive bool
	// connDrop lists the other fields the Connection field names; they are
	// hop-by-hop and dropped.
	connDrop []span

	// Request only. target is the origin-form target ("/path?query"), or
	// what follows the authority of an absolute-form one, whose host (and
	// port) is absHost.
	method, target span
	host           span
	hasHost        bool
	absHost        span
	hasAbs         bool
	xff            []span // X-Forwarded-For values, in order
	expect         bool   // Expect: 100-continue

	// Response only.
	status int
	reason span // "200 OK": the status code and the reason phrase
}

func (h *header) reset() {
	fields, xff, cd := h.fields[:0], h.xff[:0], h.connDrop[:0]
	if cap(fields) > MaxHeaders {
		fields = nil // a large response's: not kept for the connection's life
	}
	*h = header{fields: fields, xff: xff, connDrop: cd}
}

// headerEnd returns the length of the header at the start of b (through
// its empty line), or 0 when b does not hold a whole header yet. Lines may
// end with CRLF or a bare LF.
func headerEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		if i < len(b) && b[i] == '\n' {
			return i + 1
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2
		}
		if i >= len(b) {
			return 0
		}
	}
}

// checkLimits reports errTooLarge when the incomplete header in b already
// breaks a limit (a line longer than MaxLineBytes, or more than
// MaxHeaderBytes in all), so that a client cannot make the proxy wait for
// more.
func checkLimits(b []byte) error {
	last := bytes.LastIndexByte(b, '\n')
	if last < 0 && len(b) > MaxLineBytes {
		return errURITooLong // still in the request line
	}
	if len(b) > MaxHeaderBytes {
		return errTooLarge
	}
	if len(b)-(last+1) > MaxLineBytes {
		return errTooLarge
	}
	return nil
}

// nextLine returns the line at b[i:] without its line end, and the offset
// after it.
func nextLine(b []byte, i int) (start, end, next int) {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return i, len(b), len(b)
	}
	end = i + j
	next = end + 1
	if end > i && b[end-1] == '\r' {
		end--
	}
	return i, end, next
}

// parseRequest parses the request header at the start of b, which holds
// exactly the header (as headerEnd measured it).
func parseRequest(b []byte, h *header) error {
	h.reset()
	h.size = len(b)
	if len(b) > MaxHeaderBytes {
		return errTooLarge
	}
	// Request line: METHOD SP TARGET SP HTTP/1.x
	s, e, i := nextLine(b, 0)
	if e-s > MaxLineBytes {
		return errURITooLong
	}
	line := b[s:e]
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return errMalformed
	}
	for _, c := range line[:sp1] {
		// nginx takes upper-case letters, '_' and '-' in a method.
		if (c < 'A' || c > 'Z') && c != '_' && c != '-' {
			return errMalformed
		}
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return errMalformed
	}
	for _, c := range rest[:sp2] {
		if c <= ' ' || c == 0x7f {
			return errMalformed
		}
	}
	proto := rest[sp2+1:]
	if len(proto) != 8 || string(proto[:7]) != "HTTP/1." || (proto[7] != '0' && proto[7] != '1') {
		return errMalformed
	}
	h.minor = int(proto[7] - '0')
	h.method = span{int32(s), int32(s + sp1)}
	h.target = span{int32(s + sp1 + 1), int32(s + sp1 + 1 + sp2)}
	if err := parseTarget(b, h); err != nil {
		return err
	}
	if err := parseFields(b, i, h, true); err != nil {
		return err
	}
	if err := finishFraming(b, h, true); err != nil {
		return err
	}
	if h.minor == 1 && !h.hasHost {
		return errMalformed
	}
	if h.framing == bodyChunked && h.minor == 0 {
		return errMalformed
	}
	if h.minor == 0 {
		h.close = !h.keepAlive
	}
	return nil
}

// parseResponse parses the response header at the start of b, which holds
// exactly the header.
func parseResponse(b []byte, h *header) error {
	h.reset()
	h.size = len(b)
	s, e, i := nextLine(b, 0)
	line := b[s:e]
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' {
		return errMalformed
	}
	h.minor = int(line[7] - '0')
	st := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return errMalformed
		}
		st = st*10 + int(c-'0')
	}
	if st < 100 || (len(line) > 12 && line[12] != ' ') {
		return errMalformed
	}
	for _, c := range line[12:] {
		// The reason phrase: HTAB, SP, VCHAR, obs-text (RFC 9112). A bare
		// CR passed on would end the status line early for some clients.
		if (c < ' ' && c != '\t') || c == 0x7f {
			return errMalformed
		}
	}
	h.status = st
	h.reason = span{int32(s + 9), int32(e)}
	if err := parseFields(b, i, h, false); err != nil {
		return err
	}
	if err := finishFraming(b, h, false); err != nil {
		return err
	}
	if h.minor == 0 {
		h.close = !h.keepAlive
	}
	if h.framing == bodyNone {
		h.framing = bodyEOF
	}
	return nil
}

// Request fields nginx takes at most once (a second one is answered
// 400), as bits of parseFields' unique set.
const (
	uniqIfMatch = 1 << iota
	uniqIfNoneMatch
	uniqIfModifiedSince
	uniqIfUnmodifiedSince
	uniqIfRange
	uniqAuthorization
	uniqExpect
	uniqContentRange
)

// once records a field that may come once in a request: false when it
// came before.
func once(seen *uint8, bit uint8) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// parseFields parses the header fields from b[i:] to the empty line.
//
// The framing fields (Content-Length, Transfer-Encoding) and Host are
// always dropped: the proxy writes them itself from what it parsed, so
// that what it sends is framed as it reads it whatever a Connection field
// names.
func parseFields(b []byte, i int, h *header, isRequest bool) error {
	seenLength := false
	var uniq uint8
	for {
		s, e, next := nextLine(b, i)
		if s == e { // the empty line
			return nil
		}
		if e-s > MaxLineBytes {
			return errTooLarge
		}
		if len(h.fields) == MaxHeaders && isRequest {
			return errTooLarge // a response is bounded by its size only, as in nginx
		}
		line := b[s:e]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errMalformed // also an obsolete folded line (starts with white space)
		}
		class := uint8(nameToken | namePlain)
		for _, c := range line[:colon] {
			class &= nameTable[c]
		}
		if class&nameToken == 0 {
			return errMalformed
		}
		plain := class&namePlain != 0 // letters, digits and '-' only
		vs, ve := colon+1, len(line)
		for vs < ve && line[vs] == ' ' {
			vs++
		}
		for ve > vs && line[ve-1] == ' ' {
			ve--
		}
		for _, c := range line[vs:ve] {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return errMalformed
			}
		}
		f := field{name: span{int32(s), int32(s + colon)}, value: span{int32(s + vs), int32(s + ve)},
			line: span{int32(s), int32(next)}}
		name, value := line[:colon], line[vs:ve]
		dup := false // a second one of a field nginx takes once
		switch len(name) {
		case 2:
			f.drop = eqFold(name, "te")
		case 4:
			if eqFold(name, "host") && isRequest {
				if h.hasHost || !validHost(value) {
					return errMalformed
				}
				h.hasHost, h.host, f.drop = true, f.value, true
			}
		case 6:
			if eqFold(name, "expect") && isRequest {
				f.drop = true
				dup = !once(&uniq, uniqExpect)
				h.expect = eqFold(value, "100-continue")
			}
		case 7:
			f.drop = eqFold(name, "trailer") || eqFold(name, "upgrade")
		case 8:
			if isRequest {
				switch {
				case eqFold(name, "if-match"):
					dup = !once(&uniq, uniqIfMatch)
				case eqFold(name, "if-range"):
					dup = !once(&uniq, uniqIfRange)
				}
			}
		case 9:
			if eqFold(name, "x-real-ip") && isRequest {
				f.drop = true
			}
		case 10:
			switch {
			case eqFold(name, "connection"):
				f.drop = true
				parseConnection(b, f.value, h)
			case eqFold(name, "keep-alive"):
				f.drop = true
			}
		case 13:
			if isRequest {
				switch {
				case eqFold(name, "if-none-match"):
					dup = !once(&uniq, uniqIfNoneMatch)
				case eqFold(name, "authorization"):
					dup = !once(&uniq, uniqAuthorization)
				case eqFold(name, "content-range"):
					dup = !once(&uniq, uniqContentRange)
				}
			}
		case 14:
			if eqFold(name, "content-length") {
				n, ok := parseLength(value)
				if !ok || (seenLength && (n != h.length || isRequest)) {
					return errMalformed // nginx refuses a second one in a request
				}
				f.drop = true // the proxy writes the length of what it sends
				seenLength, h.length = true, n
			}
		case 15:
			if eqFold(name, "x-forwarded-for") && isRequest {
				f.drop = true
				h.xff = append(h.xff, f.value)
			}
		case 17:
			switch {
			case eqFold(name, "transfer-encoding"):
				f.drop = true
				if h.framing == bodyChunked {
					return errMalformed // a second one (nginx: 400)
				}
				if !eqFold(value, "chunked") {
					if isRequest {
						return errNotImpl
					}
					return errMalformed
				}
				h.framing = bodyChunked
			case eqFold(name, "x-forwarded-proto") && isRequest:
				f.drop = true
			case eqFold(name, "if-modified-since") && isRequest:
				dup = !once(&uniq, uniqIfModifiedSince)
			}
		case 19:
			if eqFold(name, "if-unmodified-since") && isRequest {
				dup = !once(&uniq, uniqIfUnmodifiedSince)
			}
		}
		if dup {
			return errMalformed
		}
		if !plain && isRequest {
			f.drop = true // nginx's ignore_invalid_headers
		}
		if len(name) > 6 && eqFold(name[:6], "proxy-") {
			f.drop = true
		}
		h.fields = append(h.fields, f)
		i = next
	}
}

// finishFraming settles the body framing once all fields are known: a
// chunked message ignores Content-Length; a request must not carry both.
// The fields the Connection field names are dropped.
func finishFraming(b []byte, h *header, isRequest bool) error {
	hasLength := false
	for i := range h.fields {
		f := &h.fields[i]
		if f.name.end-f.name.start == 14 && eqFold(f.name.of(b), "content-length") {
			hasLength = true
		}
		if len(h.connDrop) > 0 && !f.drop {
			for _, d := range h.connDrop {
				if eqFoldBytes(f.name.of(b), d.of(b)) {
					f.drop = true
				}
			}
		}
	}
	if h.framing == bodyChunked && hasLength && isRequest {
		return errMalformed // request smuggling: refuse both
	}
	if h.framing != bodyChunked && hasLength {
		h.framing = bodyLength
	}
	return nil
}

// parseTarget checks the request target as nginx does: an origin-form
// target starts with '/'; an absolute-form one is scheme://host[:port]
// followed by nothing, a path or a query. Anything else (a bare word,
// "*", userinfo in the authority) is malformed. For an absolute-form
// target it sets absHost, and target to what follows the authority.
func parseTarget(b []byte, h *header) error {
	t := h.target.of(b)
	if t[0] == '/' {
		if !validPath(t) {
			return errMalformed
		}
		return nil
	}
	i := 0
	for ; i < len(t); i++ {
		c := t[i]
		if 'a' <= c|0x20 && c|0x20 <= 'z' {
			continue
		}
		if i > 0 && (('0' <= c && c <= '9') || c == '+' || c == '-' || c == '.') {
			continue
		}
		break
	}
	if i == 0 || len(t)-i < 3 || string(t[i:i+3]) != "://" {
		return errMalformed
	}
	hs := i + 3
	j := hs
	if j < len(t) && t[j] == '[' {
		for j++; j < len(t) && t[j] != ']'; j++ {
			if !ipLiteralTable[t[j]] {
				return errMalformed
			}
		}
		if j == len(t) {
			return errMalformed
		}
		j++
	} else {
		for ; j < len(t); j++ {
			c := t[j]
			if !('a' <= c|0x20 && c|0x20 <= 'z') && !('0' <= c && c <= '9') && c != '.' && c != '-' {
				break
			}
		}
	}
	if j == hs {
		return errMalformed
	}
	if j < len(t) && t[j] == ':' {
		for j++; j < len(t) && '0' <= t[j] && t[j] <= '9'; j++ {
		}
	}
	if j < len(t) && t[j] != '/' && t[j] != '?' {
		return errMalformed
	}
	if !validHost(t[hs:j]) {
		return errMalformed
	}
	if !validPath(t[j:]) {
		return errMalformed
	}
	start := h.target.start
	h.absHost, h.hasAbs = span{start + int32(hs), start + int32(j)}, true
	h.target = span{start + int32(j), h.target.end}
	return nil
}

// validPath reports whether nginx takes the path of a request target
// (what precedes '?' or '#' of t, which starts with '/' or is empty):
// ngx_http_parse_complex_uri refuses a '%' not followed by two hex digits,
// "%00", and a ".." segment (also written with %2e, or ended by %2f) that
// climbs above the root once "." segments are dropped and slashes merged
// (nginx's merge_slashes default). The proxy sends the target as it came,
// as nginx's proxy_pass without a URI does; it only refuses what nginx
// refuses, so that no backend gets "/../etc/passwd".
func validPath(t []byte) bool {
	if !complexPath(t) {
		return true // nothing nginx could refuse
	}
	var buf [128]byte
	_, ok := normalPath(buf[:0], t)
	return ok
}

// complexPath reports whether the path of t may read otherwise once
// normalized (normalPath): it holds an escape, a '#', a "." segment or
// "//".
func complexPath(t []byte) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		t = t[:i]
	}
	return bytes.IndexAny(t, "%#") >= 0 || bytes.Contains(t, []byte("/.")) || bytes.Contains(t, []byte("//"))
}

// normalPath appends to dst the path of t (which starts with '/') as
// nginx's ngx_http_parse_complex_uri makes it, what its locations match:
// escapes decoded, slashes merged, "." segments dropped and ".." ones
// resolved. ok is false where nginx answers 400 (see validPath).
func normalPath(dst, t []byte) (_ []byte, ok bool) {
	const (
		usual  = iota // inside a segment
		slash         // after a '/'
		dot           // after "/."
		dotDot        // after "/.."
	)
	// up drops a ".." segment and the one before it, keeping its '/'.
	up := func() bool {
		dst = dst[:len(dst)-3]
		i := bytes.LastIndexByte(dst, '/')
		if i < 0 {
			return false
		}
		dst = dst[:i+1]
		return true
	}
	base := len(dst)
	dst = append(dst, '/')
	state := slash
	for i := 1; i < len(t); i++ {
		c := t[i]
		if c == '%' {
			if i+2 >= len(t) || hexVal(t[i+1]) < 0 || hexVal(t[i+2]) < 0 {
				return dst, false
			}
			c = byte(hexVal(t[i+1])<<4 | hexVal(t[i+2]))
			i += 2
			switch c {
			case 0:
				return dst, false
			case '%', '#', '?':
				dst, state = append(dst, c), usual // taken as is (nginx)
				continue
			}
		} else if c == '?' || c == '#' {
			break
		}
		switch {
		case c == '/' && state == slash: // merged
		case c == '/' && state == dot:
			dst, state = dst[:len(dst)-1], slash
		case c == '/' && state == dotDot:
			if len(dst)-base < 4 || !up() {
				return dst, false
			}
			state = slash
		case c == '/':
			dst, state = append(dst, c), slash
		case c == '.' && state == slash:
			dst, state = append(dst, c), dot
		case c == '.' && state == dot:
			dst, state = append(dst, c), dotDot
		default:
			dst, state = append(dst, c), usual
		}
	}
	switch state {
	case dot:
		dst = dst[:len(dst)-1]
	case dotDot:
		if len(dst)-base < 4 || !up() {
			return dst, false
		}
	}
	return dst, true
}

// ipLiteralTable holds what nginx takes inside [ ] in an absolute-form
// target.
var ipLiteralTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range ":.-_~!$&'()*+,;=" {
		t[c] = true
	}
	return t
}()

// validHost reports whether a Host value (or the authority of an
// absolute-form target) is one nginx takes (ngx_http_validate_host): no
// '/', NUL, space, control character or DEL, no empty label (".."), and
// something left once the port and a trailing dot are taken off.
func validHost(v []byte) bool {
	const (
		usual = iota
		literal
		rest
	)
	state, dot, n := usual, -2, len(v)
	for i, c := range v {
		switch c {
		case '.':
			if dot == i-1 {
				return false
			}
			dot = i
		case ':':
			if state == usual {
				n, state = i, rest
			}
		case '[':
			if i == 0 {
				state = literal
			}
		case ']':
			if state == literal {
				n, state = i+1, rest
			}
		default:
			if c == '/' || c <= ' ' || c == 0x7f {
				return false
			}
		}
	}
	if dot == n-1 {
		n--
	}
	return n > 0
}

// parseConnection reads the tokens of a Connection field. A token naming
// a framing field or Host is ignored: those are never dropped because a
// Connection field names them (the proxy writes them itself).
func parseConnection(b []byte, v span, h *header) {
	val := v.of(b)
	start := 0
	for i := 0; i <= len(val); i++ {
		if i < len(val) && val[i] != ',' {
			continue
		}
		s, e := start, i
		start = i + 1
		for s < e && (val[s] == ' ' || val[s] == '\t') {
			s++
		}
		for e > s && (val[e-1] == ' ' || val[e-1] == '\t') {
			e--
		}
		tok := val[s:e]
		switch {
		case len(tok) == 0:
		case eqFold(tok, "close"):
			h.close = true
		case eqFold(tok, "keep-alive"):
			h.keepAlive = true
		case eqFold(tok, "content-length"), eqFold(tok, "transfer-encoding"), eqFold(tok, "host"):
		default:
			if len(h.connDrop) < 16 {
				h.connDrop = append(h.connDrop, span{v.start + int32(s), v.start + int32(e)})
			}
		}
	}
}

// parseLength reads a Content-Length value: digits only, at most 18.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// eqFold reports whether b equals the lower-case ASCII string s, ignoring
// ASCII case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func eqFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// nameTable classes the bytes of a field name: nameToken for a token
// character, namePlain as well for those nginx takes (letters, digits,
// '-'). A name's class is the AND of its bytes' classes.
var nameTable = func() (t [256]uint8) {
	for c := range t {
		if tokenTable[c] {
			t[c] = nameToken
		}
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= namePlain
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= namePlain
		t[c-'a'+'A'] |= namePlain
	}
	t['-'] |= namePlain
	return t
}()

const (
	nameToken = 1 << iota
	namePlain
)

// tokenTable holds the bytes that may appear in a token (RFC 9110 tchar).
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// chunked decodes the chunked transfer coding incrementally: feed it the
// bytes as they come, it returns the data and says when the body ended.
// Chunk extensions and trailer fields are read and dropped.
type chunked struct {
	state  uint8
	remain int64 // data bytes left in the current chunk
	digits int
	line   int // length of the current size or trailer line
	done   bool
}

const (
	chSize      = iota // reading the chunk size
	chExt              // reading a chunk extension up to LF
	chData             // reading chunk data
	chDataCR           // CR after the data
	chDataLF           // LF after the data
	chTrailer          // at the start of a trailer line (or the final empty line)
	chTrailerX         // inside a trailer line
	chEndLF            // LF of the final empty line after its CR
	chSizeLF           // LF after a CR in a size line (nginx: nothing else)
	chTrailerLF        // LF after a CR in a trailer line
)

var errChunk = errors.New("malformed chunked body")

// maxChunkLine bounds a chunk-size line with its extensions and a trailer
// line.
const maxChunkLine = 4096

// feed consumes framing bytes at the start of p and returns how many it
// consumed and, when it reached chunk data, the data at hand (a prefix of
// p[n:], which the caller consumes as well). It stops after the body's end
// (c.done).
func (c *chunked) feed(p []byte) (n int, data []byte, err error) {
	for n < len(p) && !c.done {
		b := p[n]
		switch c.state {
		case chSize:
			switch {
			case hexVal(b) >= 0:
				if c.digits == 15 {
					return n, nil, errChunk
				}
				c.remain = c.remain<<4 | int64(hexVal(b))
				c.digits++
			case c.digits > 0 && (b == ';' || b == ' ' || b == '\t'):
				c.state = chExt
			case c.digits > 0 && b == '\r':
				c.state = chSizeLF
			case c.digits > 0 && b == '\n':
				c.endSize()
			default:
				return n, nil, errChunk
			}
			n++
		case chExt:
			c.line++
			if c.line > maxChunkLine {
				return n, nil, errChunk
			}
			switch {
			case b == '\n':
				c.endSize()
			case b == '\r':
				c.state = chSizeLF
			case b < ' ' && b != '\t':
				return n, nil, errChunk
			}
			n++
		case chSizeLF:
			if b != '\n' {
				return n, nil, errChunk
			}
			c.endSize()
			n++
		case chData:
			k := int64(len(p) - n)
			if k > c.remain {
				k = c.remain
			}
			c.remain -= k
			if c.remain == 0 {
				c.state = chDataCR
			}
			return n, p[n : n+int(k)], nil
		case chDataCR:
			switch b {
			case '\r':
				c.state = chDataLF
			case '\n':
				c.state, c.digits, c.line = chSize, 0, 0
			default:
				return n, nil, errChunk
			}
			n++
		case chDataLF:
			if b != '\n' {
				return n, nil, errChunk
			}
			c.state, c.digits, c.line = chSize, 0, 0
			n++
		case chTrailer:
			switch b {
			case '\r':
				c.state = chEndLF
			case '\n':
				c.done = true
			default:
				c.state, c.line = chTrailerX, 1
			}
			n++
		case chTrailerX:
			c.line++
			if c.line > maxChunkLine {
				return n, nil, errChunk
			}
			switch {
			case b == '\n':
				c.state = chTrailer
			case b == '\r':
				c.state = chTrailerLF
			case b < ' ' && b != '\t':
				return n, nil, errChunk
			}
			n++
		case chTrailerLF:
			if b != '\n' {
				return n, nil, errChunk
			}
			c.state = chTrailer
			n++
		case chEndLF:
			if b != '\n' {
				return n, nil, errChunk
			}
			c.done = true
			n++
		}
	}
	return n, nil, nil
}

func (c *chunked) endSize() {
	c.line = 0
	if c.remain == 0 {
		c.state = chTrailer
	} else {
		c.state = chData
	}
}

func hexVal(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b-'a') + 10
	case 'A' <= b && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}
