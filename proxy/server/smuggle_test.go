package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
)

// exchange1 sends req on a new connection and reads one response (for
// method) within 5 s; the connection is closed afterwards.
func exchange1(t *testing.T, addr, req, method string) (status int, hdr map[string]string, body string, err error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return 0, nil, "", err
	}
	return readOne(bufio.NewReader(c), method)
}

// readOne reads one HTTP/1.1 response with net/http's reader.
func readOne(br *bufio.Reader, method string) (int, map[string]string, string, error) {
	resp, b, err := readResp(br, method)
	if err != nil {
		return 0, nil, "", err
	}
	h := map[string]string{}
	for k := range resp.Header {
		h[k] = resp.Header.Get(k)
	}
	if len(resp.TransferEncoding) > 0 {
		h["Transfer-Encoding"] = strings.Join(resp.TransferEncoding, ",")
	}
	return resp.StatusCode, h, b, nil
}

// TestConnectionNamesFraming: a Connection field naming Content-Length,
// Transfer-Encoding or Host removes none of them; the proxy frames what it
// sends itself. The attack of issue 10: a POST whose Connection field names
// Content-Length carries a second request in its body; the backend must
// read one request, and the next client on the same pooled connection must
// get its own answer.
func TestConnectionNamesFraming(t *testing.T) {
	m := newModelBackend(t, map[string]string{
		"/resp-conn-cl": "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello",
		"/resp-conn-te": "HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	})
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(m.addr)}), Options{MaxIdlePerServer: 1})

	t.Run("request Content-Length", func(t *testing.T) {
		m.take()
		smuggled := "GET /slow-smuggled HTTP/1.1\r\nHost: x\r\nX-Real-IP: 6.6.6.6\r\n\r\n"
		body := smuggled + strings.Repeat("A", 60-len(smuggled))
		st, h, _, err := exchange1(t, p.addr, "POST /a HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\nContent-Length: 60\r\n\r\n"+body, "POST")
		if err != nil || st != 200 || h["X-Answer-To"] != "POST /a" {
			t.Fatalf("attacker: %d %v %v", st, h, err)
		}
		for i := range 3 {
			st, h, _, err := exchange1(t, p.addr, "GET /victim"+string(rune('0'+i))+" HTTP/1.1\r\nHost: x\r\n\r\n", "GET")
			if err != nil || st != 200 || h["X-Answer-To"] != "GET /victim"+string(rune('0'+i)) {
				t.Fatalf("victim %d got the answer to %q (status %d, %v)", i, h["X-Answer-To"], st, err)
			}
		}
		reqs := m.take()
		for _, r := range reqs {
			if r.target == "/slow-smuggled" {
				t.Fatalf("the backend read the smuggled request")
			}
		}
		if len(reqs) != 4 || reqs[0].body != body || !strings.Contains(reqs[0].header, "\r\nContent-Length: 60\r\n") {
			t.Fatalf("backend read %+v", reqs)
		}
	})
	t.Run("request Transfer-Encoding", func(t *testing.T) {
		m.take()
		st, h, _, err := exchange1(t, p.addr, "POST /te HTTP/1.1\r\nHost: x\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"3\r\nabc\r\n0\r\n\r\n", "POST")
		if err != nil || st != 200 || h["X-Answer-To"] != "POST /te" {
			t.Fatalf("%d %v %v", st, h, err)
		}
		if reqs := m.take(); len(reqs) != 1 || reqs[0].body != "abc" {
			t.Fatalf("backend read %+v", reqs)
		}
	})
	t.Run("request Host", func(t *testing.T) {
		m.take()
		st, _, _, err := exchange1(t, p.addr, "GET /h HTTP/1.1\r\nConnection: Host\r\nHost: app.example\r\n\r\n", "GET")
		if err != nil || st != 200 {
			t.Fatalf("%d %v", st, err)
		}
		reqs := m.take()
		if len(reqs) != 1 || !strings.Contains(reqs[0].header, "\r\nHost: app.example\r\n") {
			t.Fatalf("backend read %+v", reqs)
		}
	})
	for _, path := range []string{"/resp-conn-cl", "/resp-conn-te"} {
		t.Run("response "+path, func(t *testing.T) {
			// A keep-alive client must get the body framed, and then its
			// next answer on the same connection.
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(3 * time.Second))
			io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(c)
			st, _, body, err := readOne(br, "GET")
			if err != nil || st != 200 || body != "hello" {
				t.Fatalf("first: %d %q %v", st, body, err)
			}
			io.WriteString(c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
			st, h, _, err := readOne(br, "GET")
			if err != nil || st != 200 || h["X-Answer-To"] != "GET /next" {
				t.Fatalf("next: %d %v %v", st, h, err)
			}
		})
	}
}

// TestStrictRequests: what nginx 1.22 refuses, the proxy refuses with the
// same status, forwarding nothing, and the answer reaches the client.
func TestStrictRequests(t *testing.T) {
	m := newModelBackend(t, nil)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(m.addr)}), Options{})
	const ch = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, tc := range []struct {
		name, req string
		want      int
	}{
		{"invalid Host", "GET / HTTP/1.1\r\nHost: a/b@c d\r\n\r\n", 400},
		{"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400},
		{"Host a..b", "GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", 400},
		{"bare word target", "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"userinfo", "GET http://u:p@evil/x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"absolute host with _", "GET http://ev_il/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"absolute host a..b", "GET http://a..b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"two equal lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", 400},
		{"length after a tab", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t2\r\n\r\nab", 400},
		{"chunked after a tab", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n", 501},
		{"two chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"two If-None-Match", "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: 1\r\nIf-None-Match: 2\r\n\r\n", 400},
		{"two Authorization", "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: 1\r\nAuthorization: 2\r\n\r\n", 400},
		{"chunk size 5\\rX", ch + "5\rX\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk size 0x5", ch + "0x5\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk extension bare CR", ch + "5;a\rb\r\nhello\r\n0\r\n\r\n", 400},
		{"trailer bare CR", ch + "5\r\nhello\r\n0\r\nT: a\rb\r\n\r\n", 400},
		{"huge chunk size", ch + "fffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk data overrun", ch + "5\r\nhelloX0\r\n\r\n", 400},
		{"long URI", "GET /" + strings.Repeat("u", 9<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"path above the root", "GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"path above the root, deeper", "GET /a/b/../../../x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"path above the root, merged slashes", "GET /a//../.. HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"path above the root, at the end", "GET /./.. HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"path above the root, before the query", "GET /..?q HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"path above the root, %2e%2e", "GET /%2e%2E/x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"path above the root, ..%2f", "GET /..%2fx HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"absolute path above the root", "GET http://h/../x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"%00 in the path", "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"bad escape in the path", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"cut escape in the path", "GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"TRACE", "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
		{"CONNECT", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
	} {
		st, _, _, err := exchange1(t, p.addr, tc.req, "GET")
		if err != nil || st != tc.want {
			t.Errorf("%s: got %d (%v), want %d", tc.name, st, err, tc.want)
		}
		if reqs := m.take(); len(reqs) > 0 {
			t.Errorf("%s: the backend got %q", tc.name, reqs[0].header)
		}
	}
	// A chunked body streams: a bad chunk that comes after the proxy has
	// begun sending is answered 400 as well (not a silent close), and the
	// server connection is cut inside the request, which the server so
	// never reads whole.
	t.Run("bad chunk while streaming", func(t *testing.T) {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, ch+"5\r\nhello\r\n")
		waitFor(t, 5*time.Second, "the body streaming", func() bool {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.bytesIn > 0
		})
		io.WriteString(c, "zz\r\nworld\r\n0\r\n\r\n")
		st, _, _, err := readOne(bufio.NewReader(c), "POST")
		if err != nil || st != 400 {
			t.Fatalf("got %d (%v), want 400", st, err)
		}
		if reqs := m.take(); len(reqs) > 0 {
			t.Fatalf("the backend read %q whole", reqs[0].header)
		}
	})
	// What nginx takes goes through: a name nginx ignores is dropped, a
	// trailing dot, an IPv6 literal and an empty port are fine.
	for _, tc := range []struct{ name, req, target, host string }{
		{"underscore name dropped", "GET /u HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\nX.Y: 1\r\n\r\n", "/u", "a"},
		{"absolute with query", "GET http://evil?x HTTP/1.1\r\nHost: a\r\n\r\n", "/?x", "evil"},
		{"absolute IPv6", "GET http://[::1]:80/v HTTP/1.1\r\nHost: a\r\n\r\n", "/v", "[::1]:80"},
		{"absolute empty port", "GET http://a:/p HTTP/1.1\r\nHost: a\r\n\r\n", "/p", "a:"},
		{"method with _ and -", "G_E-T /m HTTP/1.1\r\nHost: a.\r\n\r\n", "/m", "a."},
		{"path down and up", "GET /a/b/../../c HTTP/1.1\r\nHost: a\r\n\r\n", "/a/b/../../c", "a"},
		{"dots in a name", "GET /..a/...?/../.. HTTP/1.1\r\nHost: a\r\n\r\n", "/..a/...?/../..", "a"},
		{"escapes in the query", "GET /q?%zz%00 HTTP/1.1\r\nHost: a\r\n\r\n", "/q?%zz%00", "a"},
		{"an escaped slash", "GET /a%2fb HTTP/1.1\r\nHost: a\r\n\r\n", "/a%2fb", "a"},
		{"absolute, no path", "GET http://h?/.. HTTP/1.1\r\nHost: a\r\n\r\n", "/?/..", "h"},
		{"after a fragment", "GET /f#/../.. HTTP/1.1\r\nHost: a\r\n\r\n", "/f#/../..", "a"},
	} {
		st, _, _, err := exchange1(t, p.addr, tc.req, "GET")
		reqs := m.take()
		if err != nil || st != 200 || len(reqs) != 1 || reqs[0].target != tc.target ||
			!strings.Contains(reqs[0].header, "\r\nHost: "+tc.host+"\r\n") ||
			strings.Contains(reqs[0].header, "Transfer_Encoding") || strings.Contains(reqs[0].header, "X.Y") {
			t.Errorf("%s: %d %v, backend got %+v", tc.name, st, err, reqs)
		}
	}
}

// TestErrorAnswerLingers: an error answer that closes the connection
// reaches a client that is still sending (the proxy shuts its side down
// and drains, instead of a close that resets the connection and drops the
// answer).
func TestErrorAnswerLingers(t *testing.T) {
	m := newModelBackend(t, nil)
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(m.addr)}), Options{})
	junk := strings.Repeat("x", 8<<20)
	for _, tc := range []struct {
		name, req string
		want      int
	}{
		{"400", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"414", "GET /" + strings.Repeat("u", 9<<10), 414},
		{"431", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("h", 9<<10), 431},
		{"bad chunk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
	} {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		// The client keeps sending: the proxy has unread bytes when it
		// answers. It reads only once it has sent everything (or the
		// proxy reset the connection), so that a reset comes first.
		_, werr := io.WriteString(c, tc.req+junk)
		out, err := io.ReadAll(io.LimitReader(c, 1<<16))
		c.Close()
		if werr != nil || !strings.HasPrefix(string(out), "HTTP/1.1 "+strconv.Itoa(tc.want)+" ") {
			t.Errorf("%s: the client read %q (read: %v, write: %v)", tc.name, statusLine(string(out)), err, werr)
		}
	}
}

// readResp reads one response and its body.
func readResp(br *bufio.Reader, method string) (*http.Response, string, error) {
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

// TestResponseStatusLineChecked: a control character in a server's reason
// phrase makes its answer invalid (502): a bare CR passed on would end the
// status line early for a client that takes CR as a line end, and the
// fields after it would be the server's, not the proxy's framing.
func TestResponseStatusLineChecked(t *testing.T) {
	m := newModelBackend(t, map[string]string{
		"/cr":  "HTTP/1.1 200 OK\rContent-Length: 99\r\nContent-Length: 5\r\n\r\nhello",
		"/nul": "HTTP/1.1 200 O\x00K\r\nContent-Length: 5\r\n\r\nhello",
		"/tab": "HTTP/1.1 200 O\tK\r\nContent-Length: 5\r\n\r\nhello",
	})
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(m.addr)}), Options{})
	for _, tc := range []struct{ target, want string }{
		{"/cr", "HTTP/1.1 502 Bad Gateway\r\n"},
		{"/nul", "HTTP/1.1 502 Bad Gateway\r\n"},
		{"/tab", "HTTP/1.1 200 O\tK\r\n"}, // HTAB is allowed
	} {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET "+tc.target+" HTTP/1.1\r\nHost: a\r\n\r\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line != tc.want {
			t.Errorf("%s: the client's status line is %q (%v), want %q", tc.target, line, err, tc.want)
		}
	}
}

// TestManyResponseFields: a server's answer is bounded by its size
// (MaxHeaderBytes), not by a count of fields: nginx passes an answer of
// 150 short fields (many Set-Cookie), and so does the proxy.
func TestManyResponseFields(t *testing.T) {
	many := "HTTP/1.1 200 OK\r\n" + strings.Repeat("Set-Cookie: a=b\r\n", 150) + "Content-Length: 5\r\n\r\nhello"
	m := newModelBackend(t, map[string]string{"/many": many})
	p := startProxy(t, lb(proxy.Group{Name: "web", Servers: servers(m.addr)}), Options{})
	st, _, body, err := exchange1(t, p.addr, "GET /many HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	if err != nil || st != 200 || body != "hello" {
		t.Fatalf("got %d %q (%v), want 200 hello", st, body, err)
	}
}
