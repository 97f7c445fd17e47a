package server

import (
	"context"
	"net"
	"sync"
	"syscall"
	"time"
)

// upstream is one server address with its pool of idle keep-alive
// connections, shared by every group that lists the address.
type upstream struct {
	addr string
	mu   sync.Mutex
	idle []*upConn // most recently used last
	max  int
	ttl  time.Duration
}

// upConn is a connection to a server.
type upConn struct {
	nc    net.Conn
	rio   *rawIO // nil when nc is not a socket
	u     *upstream
	since time.Duration // when it went idle
	// peek is c.peekStep, bound once; idleOK and pb are its result and
	// its buffer.
	peek   func(fd uintptr)
	idleOK bool
	pb     [1]byte
}

// get returns an idle connection that the server has not closed, newest
// first, or nil. Connections idle for longer than the pool's ttl are
// closed, and so are those the server closed or wrote to while they were
// idle (see usable): nginx drops a cached connection as soon as it
// becomes readable, so it never sends a request on one it knows is
// closed, and neither does the proxy. A connection closed in the instant
// between this check and the request's write is the only stale one left:
// its try fails as nginx's does (the server's failure, not counted
// against the tries; see flow.Flight.Result).
func (u *upstream) get(now time.Duration) *upConn {
	for {
		c := u.take(now)
		if c == nil || c.usable() {
			return c
		}
		c.nc.Close()
	}
}

// take pops the newest idle connection, or nil. Connections idle for
// longer than the pool's ttl are closed.
func (u *upstream) take(now time.Duration) *upConn {
	u.mu.Lock()
	for n := len(u.idle); n > 0; n = len(u.idle) {
		c := u.idle[n-1]
		u.idle[n-1] = nil
		u.idle = u.idle[:n-1]
		if now-c.since <= u.ttl {
			u.mu.Unlock()
			return c
		}
		// Everything below is older still.
		old := append([]*upConn(nil), u.idle...)
		clear(u.idle)
		u.idle = u.idle[:0]
		u.mu.Unlock()
		c.nc.Close()
		for _, o := range old {
			o.nc.Close()
		}
		return nil
	}
	u.mu.Unlock()
	return nil
}

// usable reports whether an idle connection can carry a request: nothing
// is readable on it, neither the end of file of a server that closed it
// (a restart, its own keep-alive timeout) nor bytes a server sent
// unasked (an error page before closing; they would be taken for the
// next request's answer). One non-blocking MSG_PEEK receive of a byte,
// the test nginx's ngx_http_upstream_keepalive_close_handler makes when a
// cached connection becomes readable; it costs a system call per reuse
// and no allocation. A connection that is not a socket cannot be checked
// and counts as usable.
func (c *upConn) usable() bool {
	if c.rio == nil {
		return true
	}
	if c.peek == nil {
		c.peek = c.peekStep
	}
	c.idleOK = false
	if err := c.rio.rc.Control(c.peek); err != nil {
		return false
	}
	return c.idleOK
}

func (c *upConn) peekStep(fd uintptr) {
	for {
		_, _, err := syscall.Recvfrom(int(fd), c.pb[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EINTR {
			continue
		}
		// EAGAIN: nothing to read, the connection is as it was left.
		c.idleOK = err == syscall.EAGAIN
		return
	}
}

// put returns a connection to the pool, or closes it when the pool is
// full or closed.
func (u *upstream) put(c *upConn, now time.Duration) {
	c.since = now
	u.mu.Lock()
	if len(u.idle) < u.max {
		u.idle = append(u.idle, c)
		u.mu.Unlock()
		return
	}
	u.mu.Unlock()
	c.nc.Close()
}

// closeIdle closes every idle connection; with stop, the pool keeps none
// from now on.
func (u *upstream) closeIdle(stop bool) {
	u.mu.Lock()
	idle := u.idle
	u.idle = nil
	if stop {
		u.max = 0
	}
	u.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

// dial connects to addr within timeout (and ctx).
func (s *Server) dial(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	addr = s.opt.resolve(addr)
	if s.opt.Dial != nil {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return s.opt.Dial(ctx, "tcp", addr)
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return c, nil
}
