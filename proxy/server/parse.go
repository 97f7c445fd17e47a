package server

import (
	"bytes"
	"errors"
)

// Limits of a request header. A request line (or any header line) longer
// than MaxLineBytes, a header longer than MaxHeaderBytes in all or with
// more than MaxHeaders fields is answered 431 Request Header Fields Too
// Large, and the connection is closed.
const (
	MaxLineBytes   = 8 << 10
	MaxHeaderBytes = 16 << 10
	MaxHeaders     = 100
)

// errors of the parsers. errTooLarge maps to 431, errNotImpl to 501, the
// others to 400 (request) or to an invalid response (upstream).
var (
	errIncomplete = errors.New("incomplete header")
	errTooLarge   = errors.New("header too large")
	errMalformed  = errors.New("malformed header")
	errNotImpl    = errors.New("transfer coding not implemented")
)

// field is one header field, as offsets into the buffer its header was
// read into: the name, the value (without surrounding white space) and the
// whole line with its line end.
type field struct {
	name, value, line span
	drop              bool // a hop-by-hop field, or one the proxy sets itself
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

	// Request only.
	method, target span
	host           span
	hasHost        bool
	xff            []span // X-Forwarded-For values, in order
	expect         bool   // Expect: 100-continue

	// Response only.
	status int
	reason span // "200 OK": the status code and the reason phrase
}

func (h *header) reset() {
	fields, xff, cd := h.fields[:0], h.xff[:0], h.connDrop[:0]
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
	if len(b) > MaxHeaderBytes {
		return errTooLarge
	}
	last := bytes.LastIndexByte(b, '\n')
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
		return errTooLarge
	}
	line := b[s:e]
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return errMalformed
	}
	for _, c := range line[:sp1] {
		if !isToken(c) {
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

// parseFields parses the header fields from b[i:] to the empty line.
func parseFields(b []byte, i int, h *header, isRequest bool) error {
	seenLength := false
	for {
		s, e, next := nextLine(b, i)
		if s == e { // the empty line
			return nil
		}
		if e-s > MaxLineBytes {
			return errTooLarge
		}
		if len(h.fields) == MaxHeaders {
			if isRequest {
				return errTooLarge
			}
			return errMalformed
		}
		line := b[s:e]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errMalformed // also an obsolete folded line (starts with white space)
		}
		for _, c := range line[:colon] {
			if !isToken(c) {
				return errMalformed
			}
		}
		vs, ve := colon+1, len(line)
		for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
			vs++
		}
		for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
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
		switch len(name) {
		case 2:
			f.drop = eqFold(name, "te")
		case 4:
			if eqFold(name, "host") && isRequest {
				if h.hasHost {
					return errMalformed
				}
				h.hasHost, h.host = true, f.value
			}
		case 6:
			if eqFold(name, "expect") && isRequest {
				f.drop = true
				h.expect = eqFold(value, "100-continue")
			}
		case 7:
			f.drop = eqFold(name, "trailer") || eqFold(name, "upgrade")
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
		case 14:
			if eqFold(name, "content-length") {
				n, ok := parseLength(value)
				if !ok || (seenLength && n != h.length) {
					return errMalformed
				}
				if seenLength {
					f.drop = true // a repeated, equal value: send it once
				}
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
				if !eqFold(value, "chunked") || h.framing == bodyChunked {
					if isRequest {
						return errNotImpl
					}
					return errMalformed
				}
				h.framing = bodyChunked
			case eqFold(name, "x-forwarded-proto") && isRequest:
				f.drop = true
			}
		}
		if len(name) > 6 && eqFold(name[:6], "proxy-") {
			f.drop = true
		}
		h.fields = append(h.fields, f)
		i = next
	}
}

// finishFraming settles the body framing once all fields are known: a
// chunked message ignores (and drops) Content-Length; a request must not
// carry both.
func finishFraming(b []byte, h *header, isRequest bool) error {
	hasLength := false
	for i := range h.fields {
		f := &h.fields[i]
		if f.name.end-f.name.start == 14 && eqFold(f.name.of(b), "content-length") {
			hasLength = true
			if h.framing == bodyChunked {
				f.drop = true
			}
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

// parseConnection reads the tokens of a Connection field.
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

// isToken reports whether c may appear in a token (RFC 9110 tchar).
func isToken(c byte) bool {
	return tokenTable[c]
}

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
	chSize     = iota // reading the chunk size
	chExt             // reading a chunk extension up to LF
	chData            // reading chunk data
	chDataCR          // CR after the data
	chDataLF          // LF after the data
	chTrailer         // at the start of a trailer line (or the final empty line)
	chTrailerX        // inside a trailer line
	chEndLF           // LF of the final empty line after its CR
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
				c.state = chExt
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
			if b == '\n' {
				c.endSize()
			} else if b < ' ' && b != '\t' && b != '\r' {
				return n, nil, errChunk
			}
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
			if b == '\n' {
				c.state = chTrailer
			}
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
