package server

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// modelReq is one request as a lenient backend reads it.
type modelReq struct {
	method, target string
	header         string // the header as received, request line included
	body           string
	tag            string // the last X-Real-IP value: the client the proxy forwarded for
}

var errModel = errors.New("model backend: malformed request")

// parseModelRequest reads one request at the start of b the way a lenient
// backend does (lines end at LF, a CR before it is dropped; the last
// Content-Length counts; Transfer-Encoding containing "chunked" wins over
// it). It returns the request and its length, 0 when b does not hold a
// whole request yet. The model is lenient on purpose: whatever the proxy
// sends, the backend must see the same requests the proxy meant to send.
func parseModelRequest(b []byte) (modelReq, int, error) {
	var r modelReq
	end := headerEnd(b)
	if end == 0 {
		if len(b) > 64<<10 {
			return r, 0, errModel
		}
		return r, 0, nil
	}
	r.header = string(b[:end])
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(r.header, "\r\n", "\n"), "\n"), "\n")
	parts := strings.Split(lines[0], " ")
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return r, 0, errModel
	}
	r.method, r.target = parts[0], parts[1]
	length, chunked := int64(0), false
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return r, 0, errModel
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		switch name {
		case "content-length":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				return r, 0, errModel
			}
			length = n
		case "transfer-encoding":
			chunked = chunked || strings.Contains(strings.ToLower(value), "chunked")
		case "x-real-ip":
			r.tag = value
		}
	}
	i := end
	if !chunked {
		if int64(len(b)-i) < length {
			return r, 0, nil
		}
		r.body = string(b[i : i+int(length)])
		return r, i + int(length), nil
	}
	var body []byte
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return r, 0, nil
		}
		sz := strings.TrimSpace(string(b[i : i+j]))
		if k := strings.IndexAny(sz, "; \t"); k >= 0 {
			sz = sz[:k]
		}
		n, err := strconv.ParseInt(sz, 16, 64)
		if err != nil || n < 0 || n > 1<<30 {
			return r, 0, errModel
		}
		i += j + 1
		if n == 0 {
			// Trailer lines up to the empty line.
			for {
				j := bytes.IndexByte(b[i:], '\n')
				if j < 0 {
					return r, 0, nil
				}
				line := bytes.TrimRight(b[i:i+j], "\r")
				i += j + 1
				if len(line) == 0 {
					r.body = string(body)
					return r, i, nil
				}
			}
		}
		if int64(len(b)-i) < n+1 {
			return r, 0, nil
		}
		body = append(body, b[i:i+int(n)]...)
		i += int(n)
		if b[i] == '\r' {
			i++
		}
		if i >= len(b) {
			return r, 0, nil
		}
		if b[i] != '\n' {
			return r, 0, errModel
		}
		i++
	}
}

// modelAnswer is the backend's answer to r: it names the request and the
// client it was forwarded for, so that a client can tell an answer meant
// for another.
func modelAnswer(r modelReq) []byte {
	body := "answer to " + r.method + " " + r.target + " for " + r.tag + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nX-Answer-To: %s %s\r\nX-Tag: %s\r\nContent-Length: %d\r\n\r\n%s",
		r.method, r.target, r.tag, len(body), body)
}

// modelBackend is a keep-alive HTTP/1.1 backend on loopback that reads
// requests with parseModelRequest, records every one it reads whole, and
// answers each with modelAnswer; a target in answers gets that raw answer
// instead, and a target starting with /slow is answered after 50 ms.
type modelBackend struct {
	addr    string
	answers map[string]string
	// check, when set, says what is wrong with a request ("" if nothing).
	check func(modelReq) string
	mu    sync.Mutex
	reqs  []modelReq
	// problems: what check found, and requests the backend could not read.
	problems []string
	partial  int // connections that ended inside a request
	bytesIn  int // bytes read, in all
	ended    int // connections that ended
}

func newModelBackend(t testing.TB, answers map[string]string) *modelBackend {
	t.Helper()
	m := &modelBackend{answers: answers}
	m.addr = rawBackend(t, func(c *net.TCPConn) { m.serve(c) })
	return m
}

func (m *modelBackend) serve(c net.Conn) {
	defer func() {
		m.mu.Lock()
		m.ended++
		m.mu.Unlock()
	}()
	var buf []byte
	tmp := make([]byte, 32<<10)
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		m.mu.Lock()
		m.bytesIn += n
		m.mu.Unlock()
		for {
			r, k, perr := parseModelRequest(buf)
			if perr != nil {
				m.mu.Lock()
				m.problems = append(m.problems, fmt.Sprintf("the backend cannot read what it got: %q", buf[:min(len(buf), 200)]))
				m.mu.Unlock()
				c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
				return
			}
			if k == 0 {
				break
			}
			buf = buf[k:]
			m.mu.Lock()
			m.reqs = append(m.reqs, r)
			if m.check != nil {
				if p := m.check(r); p != "" {
					m.problems = append(m.problems, p)
				}
			}
			m.mu.Unlock()
			if strings.HasPrefix(r.target, "/slow") {
				time.Sleep(50 * time.Millisecond)
			}
			ans := modelAnswer(r)
			if a, ok := m.answers[r.target]; ok {
				ans = []byte(a)
			}
			if _, err := c.Write(ans); err != nil {
				return
			}
		}
		if err != nil {
			if len(bytes.TrimLeft(buf, "\r\n")) > 0 {
				m.mu.Lock()
				m.partial++
				m.mu.Unlock()
			}
			return
		}
	}
}

// take returns the requests read since the last call and forgets them.
func (m *modelBackend) take() []modelReq {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reqs
	m.reqs = nil
	return r
}
