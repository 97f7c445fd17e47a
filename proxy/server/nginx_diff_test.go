package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
)

// diffCase is one entry of the smuggling and desync corpus: a raw request
// from the client, or (resp set) a raw response of the backend to a plain
// GET.
type diffCase struct {
	name string
	req  string
	resp string
}

// diffResult is what one proxy did with a case.
type diffResult struct {
	answer    string // the client's status, or how the connection ended
	answerTo  string // X-Answer-To of the client's answer
	forwarded []string
	headers   []string // the headers of the forwarded requests
	partial   int      // server connections that ended inside a request
	problems  []string // what the backend could not read
	victim    string   // X-Answer-To the next client got (or how it failed)
}

func (r diffResult) String() string {
	s := r.answer
	if len(r.forwarded) > 0 {
		s += " fwd[" + strings.Join(r.forwarded, ",") + "]"
	}
	if r.partial > 0 {
		s += fmt.Sprintf(" partial:%d", r.partial)
	}
	return s
}

// refuses reports a status by which nginx refuses a request (it forwards
// nothing).
func refuses(answer string) bool {
	switch answer {
	case "400", "405", "411", "413", "414", "431", "501", "505":
		return true
	}
	return false
}

// diffCorpus is the classic request smuggling and desync corpus, and the
// requests nginx refuses where a lax proxy would not.
func diffCorpus() []diffCase {
	const post = "POST /c HTTP/1.1\r\nHost: a\r\n"
	smug := "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
	te := func(v string) string {
		return post + "Transfer-Encoding:" + v + "\r\nContent-Length: " + fmt.Sprint(5+len(smug)) + "\r\n\r\n0\r\n\r\n" + smug
	}
	teOnly := func(v string) string { return post + "Transfer-Encoding:" + v + "\r\n\r\n0\r\n\r\n" + smug }
	chunk := func(body string) string { return post + "Transfer-Encoding: chunked\r\n\r\n" + body }
	cl := func(v, body string) string { return post + "Content-Length:" + v + "\r\n\r\n" + body }
	connCL := "GET /slow-smuggled HTTP/1.1\r\nHost: x\r\nX-Real-IP: 6.6.6.6\r\n\r\n"
	connCL += strings.Repeat("A", 60-len(connCL))
	return []diffCase{
		{name: "plain GET", req: "GET /plain HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "pipelined GETs", req: "GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "CL.TE", req: post + "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED"},
		{name: "TE.CL", req: post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"},
		{name: "TE.TE xchunked", req: te(" xchunked")},
		{name: "TE.TE ' chunked' (space)", req: te("  chunked")},
		{name: "TE.TE tab chunked", req: te("\tchunked")},
		{name: "TE.TE chunked tab", req: te(" chunked\t")},
		{name: "TE.TE CHUNKED", req: te(" CHUNKED")},
		{name: "TE.TE chunked, identity", req: te(" chunked, identity")},
		{name: "TE.TE identity, chunked", req: te(" identity, chunked")},
		{name: "TE.TE space before colon", req: post + "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"},
		{name: "TE.TE obs-fold value", req: post + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smug},
		{name: "TE.TE duplicate chunked", req: post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{name: "TE.TE chunked + identity", req: post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"},
		{name: "TE.TE Transfer_Encoding", req: post + "Transfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smug},
		{name: "TE only xchunked", req: teOnly(" xchunked")},
		{name: "TE chunked on HTTP/1.0", req: "POST /c HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{name: "Connection: Content-Length (issue 10)", req: post + "Connection: Content-Length\r\nContent-Length: 60\r\n\r\n" + connCL},
		{name: "Connection: Transfer-Encoding", req: post + "Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{name: "Connection: Host", req: "GET /h HTTP/1.1\r\nConnection: Host\r\nHost: a\r\n\r\n"},
		{name: "two equal CL", req: post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "two different CL", req: post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
		{name: "CL list 5, 5", req: cl(" 5, 5", "hello")},
		{name: "CL +5", req: cl(" +5", "hello")},
		{name: "CL -1", req: cl(" -1", "")},
		{name: "CL 0x5", req: cl(" 0x5", "hello")},
		{name: "CL tab 5", req: cl("\t5", "hello")},
		{name: "CL 5 trailing space", req: cl(" 5 ", "hello")},
		{name: "CL 20 digits", req: cl(" 99999999999999999999", "")},
		{name: "chunk 0x5", req: chunk("0x5\r\nhello\r\n0\r\n\r\n")},
		{name: "chunk '5 ;ext'", req: chunk("5 ;ext\r\nhello\r\n0\r\n\r\n")},
		{name: "chunk huge size", req: chunk("fffffffffffffffff\r\nhello\r\n0\r\n\r\n")},
		{name: "chunk 5\\rX", req: chunk("5\rX\r\nhello\r\n0\r\n\r\n")},
		{name: "chunk ext bare CR", req: chunk("5;a\rb\r\nhello\r\n0\r\n\r\n")},
		{name: "chunk -5", req: chunk("-5\r\nhello\r\n0\r\n\r\n")},
		{name: "chunk data overrun", req: chunk("5\r\nhelloX0\r\n\r\n")},
		{name: "chunk bare LF", req: chunk("5\nhello\n0\n\n")},
		{name: "chunk trailer bare CR", req: chunk("5\r\nhello\r\n0\r\nT: a\rb\r\n\r\n")},
		{name: "bare LF lines", req: "GET /lf HTTP/1.1\nHost: a\n\n"},
		{name: "bare CR request line", req: "GET /cr HTTP/1.1\rHost: a\r\n\r\n"},
		{name: "bare CR between fields", req: "GET /cr HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"},
		{name: "bare CR in value", req: "GET /cr HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"},
		{name: "obs-fold", req: "GET /f HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n"},
		{name: "NUL in value", req: "GET /n HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"},
		{name: "invalid Host a/b@c d", req: "GET / HTTP/1.1\r\nHost: a/b@c d\r\n\r\n"},
		{name: "empty Host", req: "GET / HTTP/1.1\r\nHost: \r\n\r\n"},
		{name: "two Hosts", req: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{name: "no Host", req: "GET / HTTP/1.1\r\n\r\n"},
		{name: "GET foo", req: "GET foo HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "OPTIONS *", req: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "absolute-form", req: "GET http://abs.example/x?y HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "absolute-form userinfo", req: "GET http://u:p@evil/x HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "lower-case method", req: "get / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "HTTP/2.0 version", req: "GET / HTTP/2.0\r\nHost: a\r\n\r\n"},
		{name: "HTTP/1.2 version", req: "GET /v HTTP/1.2\r\nHost: a\r\n\r\n"},
		{name: "two spaces after the method", req: "GET  /s HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "\\x01 in a value", req: "GET /x HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n"},
		{name: "chunk size 20 digits, leading zeros", req: chunk("00000000000000000005\r\nhello\r\n0\r\n\r\n")},
		{name: "two If-Match", req: "GET / HTTP/1.1\r\nHost: a\r\nIf-Match: 1\r\nIf-Match: 2\r\n\r\n"},
		{name: "path /.. above the root", req: "GET /../x HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "path /%2e%2e above the root", req: "GET /%2e%2E/x HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "path /..%2f above the root", req: "GET /..%2fx HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "path /a//../..", req: "GET /a//../.. HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "path /..?q", req: "GET /..?q HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "path /a/../b", req: "GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "path /x?/../..", req: "GET /x?/../.. HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "path %00", req: "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "path %zz", req: "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "query %zz%00", req: "GET /a?%zz%00 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "absolute-form path above the root", req: "GET http://h/../x HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "TRACE", req: "TRACE /t HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "CONNECT", req: "CONNECT /t HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "pipelined after a 400", req: "GET foo HTTP/1.1\r\nHost: a\r\n\r\nGET /after400 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "chunked trailer with Content-Length", req: chunk("5\r\nhello\r\n0\r\nContent-Length: 40\r\n\r\n") + smug},
		{name: "long URI (9 KiB)", req: "GET /" + strings.Repeat("u", 9<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "long header line (9 KiB)", req: "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("h", 9<<10) + "\r\n\r\n"},

		{name: "resp Connection: Content-Length", resp: "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "resp Connection: Transfer-Encoding", resp: "HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{name: "resp CL + TE", resp: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{name: "resp two different CL", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 4\r\n\r\nhello"},
		{name: "resp TE xchunked", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "resp chunk 0x5", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"},
		{name: "resp extra response after body", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" +
			"HTTP/1.1 200 OK\r\nX-Answer-To: FAKE\r\nContent-Length: 0\r\n\r\n"},
		{name: "resp bare LF", resp: "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello"},
		{name: "resp bare CR in the reason", resp: "HTTP/1.1 200 OK\rContent-Length: 99\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "resp 100 then 200", resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "resp obs-fold", resp: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 5\r\n\r\nhello"},
	}
}

// TestSmugglingDifferential sends the corpus to lblab and to a real nginx
// 1.22, both in front of the same recording backend with one pooled
// keep-alive connection each, and checks that lblab forwards nothing that
// nginx refuses and that the next client on the upstream connection always
// gets its own answer. It logs the table request → lblab → nginx.
func TestSmugglingDifferential(t *testing.T) {
	bin := nginxBinary(t)
	corpus := diffCorpus()
	answers := map[string]string{}
	for i, c := range corpus {
		if c.resp != "" {
			answers[fmt.Sprintf("/resp/%d", i)] = c.resp
		}
	}
	// One backend each, so that what one proxy forwards late (a pipelined
	// request after its client left) is never put down to the other.
	mL, mN := newModelBackend(t, answers), newModelBackend(t, answers)
	lbl := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(mL.addr)}), Options{MaxIdlePerServer: 1})
	ngx := startNginx(t, bin, func(listen string) string {
		return `  client_max_body_size 0;
  upstream backend {
    server ` + mN.addr + `;
    keepalive 1;
  }
  server {
    listen ` + listen + `;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
    }
  }`
	}).addr

	// lblabIdle waits until lblab has ended every client connection, so
	// that all it forwards for a case is counted in that case.
	lblabIdle := func() {
		waitFor(t, 10*time.Second, "lblab's client connections to end", func() bool {
			lbl.mu.Lock()
			defer lbl.mu.Unlock()
			return len(lbl.conns) == 0
		})
	}
	run := func(addr string, m *modelBackend, idle func(), i int, c diffCase) diffResult {
		m.mu.Lock()
		m.reqs, m.partial, m.problems = nil, 0, nil
		m.mu.Unlock()
		req := c.req
		if c.resp != "" {
			req = fmt.Sprintf("GET /resp/%d HTTP/1.1\r\nHost: r\r\n\r\n", i)
		}
		var r diffResult
		r.answer, r.answerTo = oneAnswer(addr, req, time.Second)
		// The next client, on the same pooled server connection.
		victim := fmt.Sprintf("/victim-%d", i)
		st, to := oneAnswer(addr, "GET "+victim+" HTTP/1.1\r\nHost: v\r\n\r\n", 3*time.Second)
		r.victim = to
		if st != "200" {
			r.victim = st + " " + to
		}
		if idle != nil {
			idle()
		}
		m.mu.Lock()
		for _, q := range m.reqs {
			if q.target != victim {
				r.forwarded = append(r.forwarded, q.method+" "+q.target)
				r.headers = append(r.headers, q.header)
			}
		}
		r.partial, r.problems = m.partial, m.problems
		m.mu.Unlock()
		return r
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-38s | %-34s | %s\n", "case", "lblab", "nginx 1.22")
	stricter := 0
	for i, c := range corpus {
		l := run(lbl.addr, mL, lblabIdle, i, c)
		n := run(ngx, mN, nil, i, c)
		note := ""
		if refuses(n.answer) && len(n.forwarded) == 0 && len(l.forwarded) > 0 {
			t.Errorf("%s: nginx refused it (%s) but lblab forwarded %v", c.name, n.answer, l.forwarded)
			note = " FORWARDED"
		}
		if refuses(l.answer) && !refuses(n.answer) {
			stricter++
			note += " (lblab stricter)"
		}
		if want := fmt.Sprintf("GET /victim-%d", i); l.victim != want {
			t.Errorf("%s: the next client on lblab got %q, want its own answer %q", c.name, l.victim, want)
			note += " WRONG CLIENT"
		}
		if want := fmt.Sprintf("GET /victim-%d", i); n.victim != want {
			note += " (nginx: next client got " + n.victim + ")"
		}
		for _, h := range l.headers {
			// Every request lblab writes ends with its own fields; one
			// that does not was read from inside another's body.
			if !strings.HasSuffix(h, "\r\nX-Forwarded-Proto: http\r\n\r\n") {
				t.Errorf("%s: lblab's backend read a request lblab did not write: %q", c.name, h)
				note += " SMUGGLED"
			}
		}
		for _, p := range l.problems {
			t.Errorf("%s: through lblab, %s", c.name, p)
		}
		if l.answer != n.answer && note == "" {
			note = " (differs)"
		}
		if c.resp != "" && l.answerTo == "FAKE" {
			t.Errorf("%s: the client got the fake answer", c.name)
		}
		if c.resp != "" && l.answer == "timeout" {
			t.Errorf("%s: lblab's client got no answer within 1 s (nginx: %s)", c.name, n.answer)
		}
		fmt.Fprintf(&table, "%-38s | %-34s | %s%s\n", c.name, l, n, note)
	}
	t.Logf("request → lblab → nginx (fwd: what the backend read whole; partial: a server connection cut inside a request)%s", table.String())
	t.Logf("%d of %d cases: lblab refuses where nginx does not", stricter, len(corpus))
}

// oneAnswer sends req on a new connection and reads one response within
// timeout: it returns the status (or "closed", "reset", "timeout") and the
// answer's X-Answer-To.
func oneAnswer(addr, req string, timeout time.Duration) (string, string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "dial: " + err.Error(), ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	go io.WriteString(c, req)
	method, _, _ := strings.Cut(req, " ")
	resp, _, err := readResp(bufio.NewReader(c), method)
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return "timeout", ""
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return "closed", ""
		case strings.Contains(err.Error(), "reset"):
			return "reset", ""
		}
		return "error", ""
	}
	return fmt.Sprint(resp.StatusCode), resp.Header.Get("X-Answer-To")
}
