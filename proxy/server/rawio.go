package server

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// rawIO writes then reads on a socket with one wait and no wasted read.
//
// Go's poller reads a socket before it waits on it, so a read that
// follows a write (the request to a server, then its response; the
// response to a client, then its next request) first finds nothing
// (EAGAIN) and costs a system call for nothing. writeRead avoids it: it
// writes from inside RawConn.Read's callback, after the poller has reset
// the socket's read readiness, and then waits for the readiness the
// answer brings. The answer can only come after the write, so its event
// cannot be lost.
type rawIO struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // r.step, bound once
	out []byte
	buf []byte
	n   int
	// rerr is the read's error, werr the write's; short says that the
	// write could not complete at once (the rest is in out).
	rerr, werr error
	short      bool
}

func newRawIO(c net.Conn) *rawIO {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{rc: rc}
	r.fn = r.step
	return r
}

func (r *rawIO) step(fd uintptr) bool {
	if len(r.out) > 0 {
		n, err := syscall.Write(int(fd), r.out)
		if n > 0 {
			r.out = r.out[n:]
		}
		switch {
		case err == syscall.EINTR:
			return r.step(fd)
		case err == syscall.EAGAIN || (err == nil && len(r.out) > 0):
			r.short = true
			return true
		case err != nil:
			r.werr = err
			return true
		}
		return false // written: wait for the answer
	}
	for {
		n, err := syscall.Read(int(fd), r.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			r.rerr = err
		case n == 0 && len(r.buf) > 0:
			r.rerr = io.EOF
		default:
			r.n = n
		}
		return true
	}
}

// writeRead writes out, then reads into buf once readable. When the write
// cannot complete at once (or the poller fails before it), it returns with
// short set and the unwritten rest in r.out, having read nothing: the
// caller finishes with ordinary writes and reads. A deadline or a closed connection ends the wait with
// the poller's error (in rerr).
func (r *rawIO) writeRead(out, buf []byte) (n int) {
	r.out, r.buf, r.n, r.rerr, r.werr, r.short = out, buf, 0, nil, nil, false
	if err := r.rc.Read(r.fn); err != nil {
		if r.werr == nil && r.rerr == nil {
			r.rerr = err
		}
	}
	if r.werr == nil && len(r.out) > 0 {
		// The poller failed (a deadline, a closed socket) before the write
		// was done: the caller writes the rest.
		r.short = true
	}
	if r.werr != nil {
		r.werr = wrapSyscall("write", r.werr)
	}
	if r.rerr != nil && r.rerr != io.EOF {
		r.rerr = wrapSyscall("read", r.rerr)
	}
	return r.n
}

// wrapSyscall makes a raw errno look like the net package's errors (the
// callers only ask Timeout and errors.Is).
func wrapSyscall(op string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return &net.OpError{Op: op, Net: "tcp", Err: errno}
	}
	return err
}
