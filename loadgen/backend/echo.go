package backend

import (
	"errors"
	"net"
)

// serveEcho greets a TCP connection with "NAME\n" and echoes what it
// receives, each chunk after a latency drawn from the law.
func (s *Server) serveEcho(c net.Conn) {
	if _, err := c.Write([]byte(s.cfg.Name + "\n")); err != nil {
		return
	}
	rnd := s.newRand()
	buf := make([]byte, 16<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if !s.stall() {
				return
			}
			s.sleep(s.law.Load().Sample(rnd))
			s.requests.Add(1)
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil || s.closing.Load() {
			return
		}
	}
}

// ServeUDP answers each datagram of pc with "NAME:" and the datagram,
// after a latency drawn from the law (each answer waits on its own, so a
// slow answer does not hold the others back). It returns ErrClosed after
// Shutdown.
func (s *Server) ServeUDP(pc net.PacketConn) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		pc.Close()
		return ErrClosed
	}
	s.pcs = append(s.pcs, pc)
	s.mu.Unlock()
	prefix := []byte(s.cfg.Name + ":")
	rnd := s.newRand()
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return ErrClosed
			}
			continue // a transient error (an ICMP unreachable): keep serving
		}
		reply := make([]byte, 0, len(prefix)+n)
		reply = append(append(reply, prefix...), buf[:n]...)
		s.requests.Add(1)
		law := s.law.Load()
		until := s.stallUntil.Load()
		if law.None() && until == 0 {
			_, _ = pc.WriteTo(reply, addr)
			continue
		}
		d := law.Sample(rnd)
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			return ErrClosed
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			if !s.stall() {
				return
			}
			s.sleep(d)
			_, _ = pc.WriteTo(reply, addr)
		}()
	}
}
