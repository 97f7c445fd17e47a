//go:build linux

package server

import (
	"net"
	"testing"
	"time"
)

// loopbackPair returns the two ends of a new loopback TCP connection, as
// the proxy's pooled connection (client) and the server's (server).
func loopbackPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// waitAcked half-closes the server end and waits until the client's
// kernel acknowledged the FIN (see restartBackend.restart).
func waitAcked(t *testing.T, s *net.TCPConn) {
	t.Helper()
	s.CloseWrite()
	waitFor(t, 5*time.Second, "the FIN acknowledged", func() bool { return tcpState(s) != tcpFinWait1 })
}

func TestUsable(t *testing.T) {
	u := &upstream{max: 4, ttl: time.Minute}
	pooled := func(nc net.Conn) *upConn { return &upConn{nc: nc, u: u, rio: newRawIO(nc)} }

	c, _ := loopbackPair(t)
	if uc := pooled(c); !uc.usable() || !uc.usable() {
		t.Fatal("an idle connection is not usable")
	}
	c, s := loopbackPair(t)
	s.Write([]byte("H"))
	// The byte is there once the peek finds it; it is not consumed.
	uc := pooled(c)
	waitFor(t, 5*time.Second, "a connection the server wrote to is unusable", func() bool { return !uc.usable() })
	buf := make([]byte, 1)
	if n, err := c.Read(buf); n != 1 || buf[0] != 'H' {
		t.Fatalf("read after the peek: %d %v", n, err)
	}
	c, s = loopbackPair(t)
	waitAcked(t, s)
	if pooled(c).usable() {
		t.Fatal("a connection the server closed is usable")
	}
	c, _ = loopbackPair(t)
	uc = pooled(c)
	c.Close()
	if uc.usable() {
		t.Fatal("a closed connection is usable")
	}
	p1, p2 := net.Pipe()
	defer p2.Close()
	if !pooled(p1).usable() {
		t.Fatal("a connection that is not a socket cannot be checked: usable")
	}

	// get skips the closed ones and closes them; newest first.
	live, _ := loopbackPair(t)
	dead, ds := loopbackPair(t)
	waitAcked(t, ds)
	u.put(pooled(live), 0)
	u.put(pooled(dead), 0)
	if got := u.get(0); got == nil || got.nc != live {
		t.Fatalf("get returned %v, want the live connection", got)
	}
	if _, err := dead.Write([]byte("x")); err == nil {
		t.Fatal("the dead connection was not closed")
	}
	if got := u.get(0); got != nil {
		t.Fatalf("get returned %v from an empty pool", got)
	}
}

// BenchmarkUsable is the check made on every reuse of a pooled
// connection.
func BenchmarkUsable(b *testing.B) {
	c, _ := loopbackPair(b)
	uc := &upConn{nc: c, rio: newRawIO(c)}
	b.ReportAllocs()
	for b.Loop() {
		if !uc.usable() {
			b.Fatal("not usable")
		}
	}
}
