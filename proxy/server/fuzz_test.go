package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
)

// memConn is a net.Conn that reads a fixed byte stream, then io.EOF, and
// keeps what is written to it. Deadlines do nothing.
type memConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (m *memConn) Read(p []byte) (int, error) {
	// Small reads exercise the parsers' handling of partial input.
	if len(p) > 7 {
		p = p[:7]
	}
	return m.in.Read(p)
}
func (m *memConn) Write(p []byte) (int, error)      { return m.out.Write(p) }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4242} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// serveMem serves the client connection nc (a memConn) on s's first
// listener until it ends, within 5 s.
func serveMem(t *testing.T, s *Server, nc net.Conn) {
	t.Helper()
	c := newConn(s, s.listeners[0], nc)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.serve()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the connection did not end")
	}
}

// FuzzRequestPath runs the whole request path (parse the client's bytes,
// route, pick, send to a server, parse its answer, relay it) with a client
// and a server that send arbitrary bytes: it must never panic or hang, and
// whatever it writes to the client must start as an HTTP/1.1 response.
func FuzzRequestPath(f *testing.F) {
	okResp := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	seeds := []struct{ client, server string }{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", okResp},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", okResp + okResp},
		{"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"},
		{"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n"},
		{"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n2\r\nab\r\n0\r\n\r\n", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nuntil eof"},
		{"GET http://h:8/x?y HTTP/1.1\r\nHost: a\r\nCookie: SERVERID=127.0.0.1:2; o=1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", "HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n", "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"},
		{"\r\n\r\nGET / HTTP/1.1\nHost: a\n\n", "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 2\r\n\r\nxyz"},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort"},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "garbage\r\n\r\n"},
		{"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nxx", okResp},
		{"\x16\x03\x01\x00", ""},
	}
	for _, s := range seeds {
		f.Add([]byte(s.client), []byte(s.server))
	}
	cfg := &proxy.Config{
		Listeners: []proxy.Listener{{Port: 80, Group: "web", Rules: []proxy.Rule{
			{Host: "h", Group: "sticky"}, {PathPrefix: "/p", Group: "hash"}}}},
		Groups: []proxy.Group{
			{Name: "web", Servers: servers("127.0.0.1:1", "127.0.0.1:2")},
			{Name: "sticky", Servers: servers("127.0.0.1:1", "127.0.0.1:2"), Persistence: &proxy.Persistence{Mode: "cookie"}},
			{Name: "hash", Algorithm: "hash", HashKey: "$cookie_o", Servers: servers("127.0.0.1:1", "127.0.0.1:2"),
				NextUpstream: &proxy.NextUpstream{On: []string{"error", "timeout", "invalid_header", "http_502"}}},
		},
	}
	f.Fuzz(func(t *testing.T, client, server []byte) {
		s, err := New(cfg, Options{
			Logger:  slog.New(slog.DiscardHandler),
			History: io.Discard,
			Dial: func(context.Context, string, string) (net.Conn, error) {
				return &memConn{in: bytes.NewReader(server)}, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		cc := &memConn{in: bytes.NewReader(client)}
		serveMem(t, s, cc)
		if out := cc.out.Bytes(); len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
			t.Fatalf("the client got %q", out[:min(len(out), 40)])
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestChunkedDecoder checks the chunked decoder on whole and split input.
func TestChunkedDecoder(t *testing.T) {
	for _, tc := range []struct {
		in, data string
		ok       bool
		rest     int
	}{
		{"5\r\nhello\r\n0\r\n\r\n", "hello", true, 0},
		{"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT", "hello world", true, 4},
		{"A\nabcdefghij\n0\n\n", "abcdefghij", true, 0},
		{"zz\r\n", "", false, 0},
		{"5\r\nhelloX\r\n", "hello", false, 0},
		{"fffffffffffffffff\r\n", "", false, 0},
		{"5\rX\r\nhello\r\n0\r\n\r\n", "", false, 0},              // a CR not before LF (nginx: 400)
		{"5;a\rb\r\nhello\r\n0\r\n\r\n", "", false, 0},            // the same in an extension
		{"5\r\nhello\r\n0\r\nT: a\rb\r\n\r\n", "hello", false, 0}, // and in a trailer
		{"5 ;ext\r\nhello\r\n0\r\n\r\n", "hello", true, 0},        // white space before ';' (nginx takes it)
	} {
		for _, step := range []int{1, 3, len(tc.in)} {
			var ch chunked
			var data []byte
			var err error
			used := 0
			for off := 0; off < len(tc.in) && !ch.done && err == nil; off += step {
				p := []byte(tc.in[off:min(off+step, len(tc.in))])
				u := 0
				for u < len(p) && !ch.done && err == nil {
					var k int
					var seg []byte
					k, seg, err = ch.feed(p[u:])
					u += k + len(seg)
					data = append(data, seg...)
				}
				used = off + u
			}
			if (err == nil && ch.done) != tc.ok || string(data) != tc.data || (tc.ok && len(tc.in)-used != tc.rest) {
				t.Errorf("%q by %d: data %q done %v err %v rest %d", tc.in, step, data, ch.done, err, len(tc.in)-used)
			}
		}
	}
}

// taggedConn is a memConn from a given client address.
type taggedConn struct {
	memConn
	ip net.IP
}

func (c *taggedConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: c.ip, Port: 4242} }

// FuzzSharedUpstream drives two clients' raw bytes, one after the other,
// through a proxy with a single pooled keep-alive connection to a model
// backend (parseModelRequest, a lenient reader). The backend knows the
// client of a request by the X-Real-IP the proxy writes (the clients'
// addresses are random, so client bytes cannot name them) and tags its
// answer with it. It fails when the backend reads a request the proxy did
// not write for one of the clients (smuggling), cannot read what the proxy
// sent, or when a client gets an answer tagged for another (a response
// reaching the wrong client).
func FuzzSharedUpstream(f *testing.F) {
	smuggled := "GET /slow-smuggled HTTP/1.1\r\nHost: x\r\nX-Real-IP: 6.6.6.6\r\n\r\n"
	smuggled += strings.Repeat("A", 60-len(smuggled))
	victim := "GET /victim HTTP/1.1\r\nHost: v\r\n\r\n"
	for _, a := range []string{
		"POST /a HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\nContent-Length: 60\r\n\r\n" + smuggled,
		"POST /a HTTP/1.1\r\nHost: x\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + victim,
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e\r\nhello\r\n0\r\nT: 1\r\n\r\n" + victim,
		"GET /h HTTP/1.1\r\nConnection: Host\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://h:1/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz",
	} {
		f.Add([]byte(a), []byte(victim))
	}
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	ipA := net.IPv4(10, byte(rnd.IntN(256)), byte(rnd.IntN(256)), byte(1+rnd.IntN(254)))
	ipB := net.IPv4(10, byte(rnd.IntN(256)), byte(rnd.IntN(256)), byte(1+rnd.IntN(254)))
	for ipB.Equal(ipA) {
		ipB = net.IPv4(10, byte(rnd.IntN(256)), byte(rnd.IntN(256)), byte(1+rnd.IntN(254)))
	}
	tagA, tagB := ipA.String(), ipB.String()

	m := newModelBackend(f, nil)
	m.check = func(r modelReq) string {
		if r.tag != tagA && r.tag != tagB {
			return fmt.Sprintf("the backend read a request the proxy did not write: %q", r.header)
		}
		return ""
	}
	cfg := lb(proxy.Group{Name: "web", Servers: servers("127.0.0.1:1")})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		m.mu.Lock()
		m.problems, m.ended, m.reqs = nil, 0, nil
		m.mu.Unlock()
		var dials atomic.Int64
		s, err := New(cfg, Options{
			Logger:           slog.New(slog.DiscardHandler),
			MaxIdlePerServer: 1,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				dials.Add(1)
				var d net.Dialer
				return d.DialContext(ctx, network, m.addr)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		run := func(in []byte, ip net.IP) []byte {
			cc := &taggedConn{memConn: memConn{in: bytes.NewReader(in)}, ip: ip}
			serveMem(t, s, cc)
			return cc.out.Bytes()
		}
		outA := run(a, ipA)
		outB := run(b, ipB)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		// Every server connection has ended once the proxy closed its own.
		deadline := time.Now().Add(5 * time.Second)
		for {
			m.mu.Lock()
			n := m.ended
			m.mu.Unlock()
			if int64(n) >= dials.Load() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d server connections still open after the shutdown", dials.Load()-int64(n), dials.Load())
			}
			time.Sleep(time.Millisecond)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if len(m.problems) > 0 {
			t.Fatal(strings.Join(m.problems, "\n"))
		}
		for _, o := range []struct {
			who      string
			out      []byte
			tag, not string
		}{{"client A", outA, tagA, tagB}, {"client B", outB, tagB, tagA}} {
			for rest := o.out; ; {
				i := bytes.Index(rest, []byte("\r\nX-Tag: "))
				if i < 0 {
					break
				}
				rest = rest[i+9:]
				tag, _, _ := bytes.Cut(rest, []byte("\r\n"))
				if string(tag) != o.tag {
					t.Fatalf("%s got an answer for %q", o.who, tag)
				}
			}
		}
	})
}
