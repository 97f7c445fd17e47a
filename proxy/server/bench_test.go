package server

import (
	"bytes"
	"net"
	"testing"

	"github.com/lblab/lblab/proxy"
)

// fastBackend answers every request on a keep-alive connection with a
// 5-byte body, allocating nothing per request.
func fastBackend(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 8192)
				n := 0
				for {
					k, err := c.Read(buf[n:])
					if k == 0 && err != nil {
						return
					}
					n += k
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						n = copy(buf, buf[i+4:n])
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// BenchmarkForward measures one keep-alive request through the proxy
// (client, proxy and backend in this process, on loopback); allocs/op are
// the proxy's, as the client and the backend allocate nothing.
func BenchmarkForward(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchForward(b, false) })
	b.Run("history", func(b *testing.B) { benchForward(b, true) })
}

func benchForward(b *testing.B, hist bool) {
	p := startProxy(b, lb(proxy.Group{Name: "web", Servers: servers(fastBackend(b), fastBackend(b))}), Options{})
	if !hist {
		p.Server.hist.Close()
		p.Server.hist = nil // no history: the hot path alone
	}
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\n\r\n")
	buf := make([]byte, 4096)
	want := []byte("hello")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := 0
		for !bytes.HasSuffix(buf[:n], want) {
			k, err := c.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
	}
}

// BenchmarkParseRequest measures the request parser alone on a browser's
// request (a dozen fields); it allocates nothing once the field slice has
// grown.
func BenchmarkParseRequest(b *testing.B) {
	req := []byte("GET /static/app.js?v=12 HTTP/1.1\r\nHost: www.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n" +
		"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
		"Referer: https://www.example.com/\r\nConnection: keep-alive\r\nCookie: a=1; b=2\r\n" +
		"Sec-Fetch-Dest: script\r\nSec-Fetch-Mode: no-cors\r\nIf-None-Match: \"abc\"\r\n\r\n")
	var h header
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for range b.N {
		if err := parseRequest(req, &h); err != nil {
			b.Fatal(err)
		}
	}
}
