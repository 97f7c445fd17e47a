package server

import (
	"context"
	"net"
	"sync"
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
}

// get returns an idle connection, newest first, or nil. Connections idle
// for longer than the pool's ttl are closed.
func (u *upstream) get(now time.Duration) *upConn {
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
