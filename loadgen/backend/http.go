package backend

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lblab/lblab/loadgen/workload"
)

// Limits of a request's head.
const (
	bufSize      = 4096
	maxHeadBytes = 1 << 20
)

// dateLine caches the Date header line, rebuilt once a second.
type dateLine struct {
	sec  int64
	line []byte
}

var cachedDate atomic.Pointer[dateLine]

func date(now time.Time) []byte {
	sec := now.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.line
	}
	d := &dateLine{sec: sec, line: []byte("Date: " + now.UTC().Format(http.TimeFormat) + "\r\n")}
	cachedDate.Store(d)
	return d.line
}

// request is what the server keeps of a request's head.
type request struct {
	head, http10 bool
	keepAlive    bool
	path         int    // pathPlain, pathHealth, pathProbe or pathControl
	method       string // only for control requests
	target       string // only for control and probe requests
	length       int64  // -1 when none
	chunked      bool
	expect100    bool
}

const (
	pathPlain = iota
	pathHealth
	pathControl
	pathProbe // a health probe told by its User-Agent (Config.ProbeAgent)
)

var errBadRequest = errors.New("bad request")

type badRequest struct{ status int }

func (b badRequest) Error() string { return "bad request " + strconv.Itoa(b.status) }

// serveHTTP answers the requests of one connection until it closes,
// breaks the protocol, or the server shuts down.
func (s *Server) serveHTTP(c net.Conn) {
	br := bufio.NewReaderSize(c, bufSize)
	bw := bufio.NewWriterSize(c, bufSize)
	rnd := s.newRand()
	var req request
	for {
		if s.closing.Load() {
			return
		}
		err := s.readRequest(br, &req)
		if err != nil {
			var bad badRequest
			if errors.As(err, &bad) {
				s.writeSimple(bw, bad.status, "bad request\n", false, false)
				bw.Flush()
			}
			return
		}
		if req.expect100 && (req.length > 0 || req.chunked) {
			bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if bw.Flush() != nil {
				return
			}
		}
		if err := discardBody(br, &req); err != nil {
			return
		}
		keep := req.keepAlive && !s.closing.Load()
		switch req.path {
		case pathControl:
			status, body := s.control(req.method, req.target)
			s.writeSimple(bw, status, body, req.head, keep)
		case pathHealth, pathProbe:
			if !s.stall() {
				return
			}
			h := int(s.health.Load())
			if req.path == pathProbe {
				h = workload.Backend{HealthPath: s.cfg.ProbePath}.ProbeStatus(pathOf(req.target), h)
			}
			body := "ok\n"
			if h >= 400 {
				body = "unhealthy\n"
			}
			s.writeSimple(bw, h, body, req.head, keep)
		default:
			if !s.serve(bw, rnd, &req, keep) {
				return
			}
		}
		if !keep {
			bw.Flush()
			return
		}
		if br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
	}
}

// serve answers a plain request: a place among Concurrency (or 503 when
// the queue is full), the stall, the service time, then an error rule,
// the error rate, or 200. It returns false when the server shut down
// meanwhile.
func (s *Server) serve(bw *bufio.Writer, rnd *rand.Rand, req *request, keep bool) bool {
	if s.limit != nil {
		if bw.Buffered() > 0 && bw.Flush() != nil {
			return false
		}
		ok, closed := s.limit.acquire(s.done)
		if closed {
			return false
		}
		if !ok {
			s.requests.Add(1)
			s.errors.Add(1)
			s.overloaded.Add(1)
			s.writeSimple(bw, workload.OverloadStatus, s.cfg.Name+" overloaded\n", req.head, keep)
			return true
		}
		defer s.limit.release()
	}
	if !s.stall() {
		return false
	}
	if d := time.Duration(float64(s.law.Load().Sample(rnd)) * s.Slow()); d > 0 {
		if bw.Buffered() > 0 && bw.Flush() != nil {
			return false
		}
		s.sleep(d)
	}
	s.requests.Add(1)
	st := workload.Backend{Errors: s.cfg.Errors}.Status(rnd)
	if p := math.Float64frombits(s.errRate.Load()); st == 200 && p > 0 && rnd.Float64() < p {
		st = int(s.errStatus.Load())
	}
	if st != 200 {
		s.errors.Add(1)
		s.writeSimple(bw, st, s.cfg.Name+" error "+strconv.Itoa(st)+"\n", req.head, keep)
	} else {
		s.writeOK(bw, req.head, keep, req.http10)
	}
	return true
}

// pathOf returns a request target's path, without its query.
func pathOf(target string) string {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		return target[:i]
	}
	return target
}

func (s *Server) writeOK(bw *bufio.Writer, head, keep, http10 bool) {
	bw.Write(*s.ok200.Load())
	bw.Write(date(time.Now()))
	switch {
	case !keep:
		bw.WriteString("Connection: close\r\n")
	case http10:
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if !head {
		bw.Write(s.okBody)
	}
}

// writeSimple writes an answer with a text body and the X-Backend header.
func (s *Server) writeSimple(bw *bufio.Writer, status int, body string, head, keep bool) {
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(status))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(status))
	bw.WriteString("\r\nX-Backend: ")
	bw.WriteString(s.cfg.Name)
	bw.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ")
	bw.WriteString(strconv.Itoa(len(body)))
	bw.WriteString("\r\n")
	bw.Write(date(time.Now()))
	if !keep {
		bw.WriteString("Connection: close\r\n")
	} else {
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if !head {
		bw.WriteString(body)
	}
}

// readLine returns the next line (with its line break). A line longer than
// the buffer is consumed and returned cut, with long set.
func readLine(br *bufio.Reader) (line []byte, n int, long bool, err error) {
	line, err = br.ReadSlice('\n')
	n = len(line)
	if err == bufio.ErrBufferFull {
		long = true
		for err == bufio.ErrBufferFull {
			var more []byte
			more, err = br.ReadSlice('\n')
			n += len(more)
			if n > maxHeadBytes {
				return nil, n, true, badRequest{431}
			}
		}
		return nil, n, true, err
	}
	return line, n, false, err
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// readRequest reads a request's head into req.
func (s *Server) readRequest(br *bufio.Reader, req *request) error {
	*req = request{length: -1}
	line, total, long, err := readLine(br)
	// Tolerate empty lines before a request (RFC 9112, 2.2).
	for err == nil && !long && len(trimEOL(line)) == 0 {
		line, total, long, err = readLine(br)
	}
	if err != nil {
		if long {
			return badRequest{414}
		}
		return err
	}
	if long {
		return badRequest{414}
	}
	line = trimEOL(line)
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return badRequest{400}
	}
	method := line[:sp1]
	rest := line[sp1+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if sp2 <= 0 {
		return badRequest{400}
	}
	target, proto := rest[:sp2], rest[sp2+1:]
	switch string(proto) {
	case "HTTP/1.1":
		req.keepAlive = true
	case "HTTP/1.0":
		req.http10 = true
	default:
		return badRequest{505}
	}
	req.head = string(method) == "HEAD"
	path := target
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	switch {
	case string(path) == s.cfg.HealthPath:
		req.path = pathHealth
	case !s.cfg.NoControl && bytes.HasPrefix(path, []byte(ControlPrefix)):
		req.path = pathControl
		req.method, req.target = string(method), string(target)
	}
	for {
		line, n, long, err := readLine(br)
		total += n
		if err != nil {
			if long {
				return badRequest{431}
			}
			return err
		}
		if total > maxHeadBytes {
			return badRequest{431}
		}
		if long {
			continue // a huge header we have no use for (a cookie)
		}
		line = trimEOL(line)
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return badRequest{400}
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (req.length >= 0 && req.length != n) {
				return badRequest{400}
			}
			req.length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !hasToken(value, "chunked") {
				return badRequest{501}
			}
			req.chunked = true
		case bytes.EqualFold(name, []byte("Connection")):
			if hasToken(value, "close") {
				req.keepAlive = false
			} else if req.http10 && hasToken(value, "keep-alive") {
				req.keepAlive = true
			}
		case bytes.EqualFold(name, []byte("Expect")):
			req.expect100 = bytes.EqualFold(value, []byte("100-continue"))
		case s.cfg.ProbeAgent != "" && req.path == pathPlain && bytes.EqualFold(name, []byte("User-Agent")) &&
			string(value) == s.cfg.ProbeAgent:
			req.path, req.target = pathProbe, string(target)
		}
	}
	if req.chunked && req.length >= 0 {
		return badRequest{400} // RFC 9112, 6.1: a smuggling attempt
	}
	return nil
}

// hasToken reports whether a comma-separated header value holds token.
func hasToken(value []byte, token string) bool {
	for len(value) > 0 {
		var part []byte
		part, value, _ = bytes.Cut(value, []byte(","))
		if bytes.EqualFold(bytes.TrimSpace(part), []byte(token)) {
			return true
		}
	}
	return false
}

// discardBody reads and drops a request's body.
func discardBody(br *bufio.Reader, req *request) error {
	if req.length > 0 {
		_, err := br.Discard(int(req.length))
		return err
	}
	if !req.chunked {
		return nil
	}
	for {
		line, _, long, err := readLine(br)
		if err != nil {
			return err
		}
		if long {
			return errBadRequest
		}
		line = trimEOL(line)
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return errBadRequest
		}
		if size == 0 {
			for { // trailers, up to the empty line
				line, _, _, err := readLine(br)
				if err != nil {
					return err
				}
				if len(trimEOL(line)) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(size)); err != nil {
			return err
		}
		crlf, _, _, err := readLine(br)
		if err != nil {
			return err
		}
		if len(trimEOL(crlf)) != 0 {
			return errBadRequest
		}
	}
}
