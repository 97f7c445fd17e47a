package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// maxNames bounds the X-Backend values a worker interns; beyond it each
// new value is copied.
const maxNames = 1024

// connRef holds a worker's connection for the canceller.
type connRef struct{ c net.Conn }

// worker runs requests one after the other on its own connection.
type worker struct {
	r     *runner
	shard *shard

	conn    net.Conn
	br      *bufio.Reader
	slot    atomic.Pointer[connRef]
	uses    int    // requests answered on conn
	client  string // conn's local address, when recording
	used    string // the local address the current request used
	resent  string // the class of the current request's first try, when resent
	greeted string // TCP: the greeting of conn

	names map[string]string

	// With Config.Clients: the user of the current request, the closed
	// loop's draws, and the source conn is bound to.
	user    *specUser
	rnd     *rand.Rand
	connSrc netip.Addr

	completed, failed, timedOut, cancelled int64
	statuses                               map[int]int64
	errors                                 map[string]int64
	backends                               map[string]int64
	records                                []Record
}

func newWorker(r *runner, i int) *worker {
	return &worker{r: r, shard: r.shards[i%len(r.shards)], br: bufio.NewReaderSize(nil, 4096),
		names: map[string]string{}, statuses: map[int]int64{}, errors: map[string]int64{}, backends: map[string]int64{}}
}

func (w *worker) openLoop(queue <-chan job) {
	defer w.closeConn()
	for j := range queue {
		if j.user >= 0 {
			w.user = w.r.spec.users[j.user]
		}
		w.one(w.r.start.Add(j.at), j.path)
	}
}

func (w *worker) closedLoop() {
	defer w.closeConn()
	r := w.r
	var deadline time.Time
	if r.cfg.Duration > 0 {
		deadline = r.start.Add(r.cfg.Duration)
	}
	var think *time.Timer
	for {
		if r.ctx.Err() != nil {
			return
		}
		now := time.Now()
		if !deadline.IsZero() && !now.Before(deadline) {
			return
		}
		if r.cfg.Requests > 0 && r.tickets.Add(1) > r.cfg.Requests {
			return
		}
		r.sent.Add(1)
		w.one(now, -1)
		if d := r.cfg.Think; d > 0 {
			if think == nil {
				think = time.NewTimer(d)
			} else {
				think.Reset(d)
			}
			select {
			case <-think.C:
			case <-r.ctx.Done():
				think.Stop()
				return
			}
		}
	}
}

// one runs the request meant to leave at intended (with Clients, for
// path number path of the spec, or a drawn one when path is -1) and
// counts it in exactly one bucket.
func (w *worker) one(intended time.Time, path int) {
	w.used, w.resent = "", ""
	var status int
	var backend, class string
	if s := w.r.spec; s != nil {
		if src := s.source(w.user); w.conn != nil && src != w.connSrc {
			w.closeConn() // the connection is another user's source address
		}
	}
	switch {
	case w.r.t.tcp:
		backend, class = w.doTCP(intended)
	case w.r.spec != nil:
		status, backend, class = w.doHTTP(intended, w.specRequest(path))
	default:
		status, backend, class = w.doHTTP(intended, w.r.req)
	}
	end := time.Now()
	w.account(intended, end, status, backend, class)
}

func (w *worker) account(intended, end time.Time, status int, backend, class string) {
	r := w.r
	lat := end.Sub(intended)
	ok := false
	switch class {
	case "":
		if r.t.tcp {
			ok = true
		} else {
			w.statuses[status]++
			ok = status >= 200 && status < 400
		}
		if backend != "" {
			w.backends[backend]++
		}
		w.shard.mu.Lock()
		w.shard.h.Record(lat)
		w.shard.mu.Unlock()
		if ok {
			w.completed++
		} else {
			w.failed++
		}
	case ClassTimeout:
		w.errors[class]++
		w.timedOut++
	case ClassCancelled:
		w.errors[class]++
		w.cancelled++
	default:
		w.errors[class]++
		w.failed++
	}
	r.done.Add(1)
	if !ok {
		r.notOK.Add(1)
	}
	if r.cfg.Record {
		rec := Record{Start: intended.Sub(r.start), End: end.Sub(r.start), Error: class, Backend: backend, Client: w.used,
			Resent: w.resent}
		if class == "" && !r.t.tcp {
			rec.Status = status
		}
		w.records = append(w.records, rec)
	}
}

// intern returns b as a string, without allocating for a value seen
// before.
func (w *worker) intern(b []byte) string {
	if s, ok := w.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(w.names) < maxNames {
		w.names[s] = s
	}
	return s
}

func (w *worker) closeConn() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
		w.slot.Store(nil)
	}
}

// dial opens the worker's connection; it returns an error class or "".
func (w *worker) dial(deadline time.Time) string {
	r := w.r
	d := net.Dialer{Deadline: deadline}
	w.connSrc = netip.Addr{}
	if r.spec != nil {
		if w.connSrc = r.spec.source(w.user); w.connSrc.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: w.connSrc.AsSlice()}
		}
	}
	c, err := d.DialContext(r.ctx, "tcp", r.t.addr)
	if err != nil {
		return w.classify(err)
	}
	if r.tlsConf != nil {
		tc := tls.Client(c, r.tlsConf)
		_ = tc.SetDeadline(deadline)
		if err := tc.HandshakeContext(r.ctx); err != nil {
			c.Close()
			if class := w.classify(err); class != ClassProtocol {
				return class
			}
			return ClassOther
		}
		c = tc
	}
	w.conn = c
	w.slot.Store(&connRef{c})
	w.br.Reset(c)
	w.uses = 0
	w.greeted = ""
	if r.cfg.Record {
		w.client = c.LocalAddr().String()
	}
	return ""
}

// errProtocol marks an answer that is not what the protocol says.
var errProtocol = errors.New("protocol error")

// classify names the class of a request's error.
func (w *worker) classify(err error) string {
	var ne net.Error
	timeout := errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
	switch {
	case w.r.ctx.Err() != nil && (timeout || errors.Is(err, context.Canceled)):
		return ClassCancelled
	case timeout:
		return ClassTimeout
	case errors.Is(err, context.Canceled):
		return ClassCancelled
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassReset
	case errors.Is(err, errProtocol):
		return ClassProtocol
	}
	return ClassOther
}

// stale reports whether err is how a reused keep-alive connection that
// the server had closed fails before any byte of the answer came.
func stale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// resend reports whether a try that failed with err is sent once more on
// a new connection: the first try of a request, on a reused kept-alive
// connection, that failed as a stale one does (stale) before any byte of
// the answer came (got), while the run goes on. It then records the try's
// class as the request's Resent, so that the history says the request
// met a reset.
func (w *worker) resend(reused, got bool, attempt int, err error) bool {
	if !reused || got || attempt > 0 || !stale(err) || w.r.ctx.Err() != nil {
		return false
	}
	w.resent = w.classify(err)
	return true
}

// prepare makes sure the worker has a connection with the request's
// deadline set; it returns an error class or "".
func (w *worker) prepare(deadline time.Time) string {
	r := w.r
	if r.ctx.Err() != nil {
		return ClassCancelled
	}
	if !time.Now().Before(deadline) {
		return ClassTimeout // it waited its whole timeout in the queue
	}
	if w.conn == nil {
		if class := w.dial(deadline); class != "" {
			return class
		}
	}
	_ = w.conn.SetDeadline(deadline)
	// The canceller sets a past deadline after the context ends: checking
	// here, after our own deadline was set, closes the window between.
	if r.ctx.Err() != nil {
		w.closeConn()
		return ClassCancelled
	}
	w.used = w.client
	if s := r.spec; s != nil && r.cfg.Record {
		// The user, as the simulator records it; without bound addresses,
		// the address the kernel picked.
		if s.bind {
			w.used = w.user.addr.String()
		} else if host, _, err := net.SplitHostPort(w.client); err == nil {
			w.used = host
		}
	}
	return ""
}

// doHTTP sends the request and reads the answer. A keep-alive connection
// that turns out to have been closed by the server before any byte of
// the answer came is replaced once, as browsers and net/http do.
func (w *worker) doHTTP(intended time.Time, req []byte) (status int, backend, class string) {
	r := w.r
	deadline := intended.Add(r.cfg.Timeout)
	for attempt := 0; ; attempt++ {
		if class := w.prepare(deadline); class != "" {
			return 0, "", class
		}
		reused := w.uses > 0
		_, err := w.conn.Write(req)
		got := false
		keep := false
		if err == nil {
			status, backend, keep, got, err = w.readResponse()
		}
		if err != nil {
			w.closeConn()
			if w.resend(reused, got, attempt, err) {
				continue
			}
			return 0, backend, w.classify(err)
		}
		w.uses++
		if !keep || !r.cfg.KeepAlive {
			w.closeConn()
		}
		return status, backend, ""
	}
}

// longLine stands for a header line longer than the buffer.
var longLine = []byte("X-Lblab-Long-Line: skipped\r\n")

// readLine reads one line; a line longer than the buffer is consumed and
// returned cut to the buffer.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
		return longLine, nil // its bytes are gone; nothing we read is that long
	}
	return line, err
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

var (
	hContentLength    = []byte("Content-Length")
	hTransferEncoding = []byte("Transfer-Encoding")
	hConnection       = []byte("Connection")
	hBackend          = []byte("X-Backend")
	hSetCookie        = []byte("Set-Cookie")
)

// readResponse reads one HTTP/1.x answer (skipping interim 1xx ones) and
// its body. got is true once any byte of it came.
func (w *worker) readResponse() (status int, backend string, keep, got bool, err error) {
	br := w.br
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			got = true
		}
		if err != nil {
			if err == bufio.ErrBufferFull {
				err = errProtocol
			} else if err == io.EOF && got {
				err = io.ErrUnexpectedEOF
			}
			return 0, "", false, got, err
		}
		line = trimEOL(line)
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
			(len(line) > 12 && line[12] != ' ') {
			return 0, "", false, got, errProtocol
		}
		http10 := line[7] == '0'
		status, err = strconv.Atoi(string(line[9:12]))
		if err != nil || status < 100 {
			return 0, "", false, got, errProtocol
		}
		keep = !http10
		length := int64(-1)
		chunked := false
		for {
			line, err := readLine(br)
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return 0, backend, false, got, err
			}
			line = trimEOL(line)
			if len(line) == 0 {
				break
			}
			colon := bytes.IndexByte(line, ':')
			if colon <= 0 {
				return 0, backend, false, got, errProtocol
			}
			name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
			switch {
			case bytes.EqualFold(name, hBackend):
				backend = w.intern(value)
			case bytes.EqualFold(name, hContentLength):
				n, perr := strconv.ParseInt(string(value), 10, 64)
				if perr != nil || n < 0 {
					return 0, backend, false, got, errProtocol
				}
				length = n
			case bytes.EqualFold(name, hTransferEncoding):
				chunked = hasToken(value, "chunked")
			case w.user != nil && bytes.EqualFold(name, hSetCookie):
				w.user.keepCookie(value)
			case bytes.EqualFold(name, hConnection):
				if hasToken(value, "close") {
					keep = false
				} else if hasToken(value, "keep-alive") {
					keep = true
				}
			}
		}
		if status < 200 && status != 101 {
			backend = ""
			continue // 100 Continue, 103 Early Hints: the answer follows
		}
		switch {
		case w.r.head || status == 204 || status == 304 || status < 200:
		case chunked:
			err = discardChunked(br)
		case length >= 0:
			_, err = br.Discard(int(length))
		default: // the body lasts until the server closes
			_, err = io.Copy(io.Discard, br)
			keep = false
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, backend, false, got, err
		}
		return status, backend, keep, got, nil
	}
}

// hasToken reports whether a comma-separated header value holds token.
func hasToken(value []byte, token string) bool {
	for len(value) > 0 {
		var part []byte
		part, value, _ = bytes.Cut(value, []byte(","))
		if bytes.EqualFold(bytes.TrimSpace(part), []byte(token)) {
			return true
		}
	}
	return false
}

func discardChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		line = trimEOL(line)
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return errProtocol
		}
		if size == 0 {
			for { // trailers, up to the empty line
				line, err := readLine(br)
				if err != nil {
					return err
				}
				if len(trimEOL(line)) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(size)); err != nil {
			return err
		}
		crlf, err := readLine(br)
		if err != nil {
			return err
		}
		if len(trimEOL(crlf)) != 0 {
			return errProtocol
		}
	}
}

// doTCP reads the greeting of a new connection, sends the line and reads
// its echo.
func (w *worker) doTCP(intended time.Time) (backend, class string) {
	r := w.r
	deadline := intended.Add(r.cfg.Timeout)
	for attempt := 0; ; attempt++ {
		if class := w.prepare(deadline); class != "" {
			return "", class
		}
		if w.greeted == "" {
			line, err := w.br.ReadSlice('\n')
			if err != nil {
				w.closeConn()
				if err == bufio.ErrBufferFull {
					err = errProtocol
				}
				return "", w.classify(err)
			}
			w.greeted = w.intern(trimEOL(line))
			if w.greeted == "" {
				w.greeted = "?"
			}
		}
		backend = w.greeted
		reused := w.uses > 0
		_, err := w.conn.Write(r.line)
		got := false
		if err == nil {
			var echo []byte
			echo, err = w.br.ReadSlice('\n')
			got = len(echo) > 0
			switch {
			case err == bufio.ErrBufferFull:
				err = errProtocol
			case err == io.EOF && got:
				err = io.ErrUnexpectedEOF
			case err == nil && !bytes.Equal(echo, r.line):
				err = errProtocol
			}
		}
		if err != nil {
			w.closeConn()
			if w.resend(reused, got, attempt, err) {
				continue
			}
			return backend, w.classify(err)
		}
		w.uses++
		if !r.cfg.KeepAlive {
			w.closeConn()
		}
		return backend, ""
	}
}
