package loadgen

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
)

// rstSecond serves each connection until it has read its second request
// (an HTTP request, or for tcp a line after its greeting), then closes it
// with a reset (SO_LINGER 0) instead of answering: a reused kept-alive
// connection reset before any byte of the answer, as the new holder of a
// VIP resets the old one's connections.
func rstSecond(t *testing.T, tcp bool) string {
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		if tcp {
			io.WriteString(c, "greet\n")
		}
		for n := 1; ; n++ {
			var err error
			var line string
			if tcp {
				line, err = br.ReadString('\n')
			} else {
				err = readRequest(br)
			}
			if err != nil {
				return
			}
			if n == 2 {
				c.(*net.TCPConn).SetLinger(0)
				return
			}
			if tcp {
				io.WriteString(c, line)
			} else {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Backend: a\r\nContent-Length: 2\r\n\r\nok")
			}
		}
	})
}

// A request reset on a reused kept-alive connection before any answer is
// sent once more on a new connection and succeeds there; its record and
// its history event say that it was resent after a reset (resent:
// "reset"), the first request of each connection does not.
func TestResetOnReusedConnectionIsResentAndRecorded(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		target := "http://" + rstSecond(t, false) + "/"
		if tcp {
			target = "tcp://" + rstSecond(t, true)
		}
		const n = 4
		res := run(t, t.Context(), Config{Target: target, Requests: n, Concurrency: 1, KeepAlive: true})
		if !res.OK() || res.Completed != n {
			t.Fatalf("%s: %s, errors %v: want %d ok", target, res.AccountingLine(), res.Errors, n)
		}
		// Request 1 opens a connection; each next one is reset on it (its
		// second) and resent on a new one (its first).
		for i, r := range res.Records {
			want := ClassReset
			if i == 0 {
				want = ""
			}
			if r.Resent != want || r.Error != "" {
				t.Fatalf("%s: record %d %+v: want resent %q, no error", target, i, r, want)
			}
		}
		var b bytes.Buffer
		if err := res.WriteHistory(&b); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(b.String(), `"resent":"reset"`); got != n-1 {
			t.Fatalf("%s: %d events say resent: reset, want %d:\n%s", target, got, n-1, b.String())
		}
	}
}
