package server

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/balance"
	"github.com/lblab/lblab/proxy/flow"
)

// Connection states, for Shutdown: an idle connection waits for the first
// byte of a request and may be closed at once.
const (
	stateIdle int32 = iota
	stateActive
)

const (
	// inSize is the initial read buffer of a client connection; it grows
	// up to inMax for a large header.
	inSize = 4 << 10
	inMax  = MaxHeaderBytes + 4<<10
	// replayMax is the largest request body read whole before the first
	// try (so that a failed try can be passed on).
	replayMax = 64 << 10
	// watchAfter is how long a server may take to answer before the proxy
	// starts watching the client connection for a disconnect.
	watchAfter = 100 * time.Millisecond
)

// conn is a client connection.
type conn struct {
	s     *Server
	l     *listener
	nc    net.Conn
	addr  netip.Addr
	ipStr string
	in    []byte // read buffer: the unread bytes are in[r:w]
	r, w  int
	req   header
	resp  header
	ch    chunked
	state atomic.Int32
	// up is the server connection in use, for Shutdown's abort.
	up atomic.Pointer[upConn]
	// aborted is set by Shutdown when it cuts the connection.
	aborted atomic.Bool
	// wdl and rdl are the write and read deadlines currently set;
	// idleRdl says rdl is an idle deadline (refreshed lazily).
	wdl, rdl time.Time
	idleRdl  bool
	b        *bufs
	// now is the time (since the server started) last read by the
	// request path, for what needs only an approximate clock (idle
	// deadlines, the idle pool): one clock read less each.
	now time.Duration
	// rio writes the last bytes of a response and reads the next request
	// (see rawIO); pending holds those bytes (in b.out, kept until then).
	rio     *rawIO
	pending []byte
	// vhb and vtarget are the header bytes and target of the request in
	// flight, read by its variables (Target, Header, Cookie).
	vhb, vtarget []byte
	// watch is the client watcher of a slow request.
	watch *watcher
	// https: the client came over TLS (X-Forwarded-Proto https).
	https bool
	// linger: an error answer closes the connection; see lingeringClose.
	linger bool
}

// bufs are a request's buffers, pooled between requests.
type bufs struct {
	out  []byte // bytes to write (the request to a server, the response to the client)
	ub   []byte // reads from the server
	body []byte // a request body read whole, or the streaming buffer of one
}

var bufPool = sync.Pool{New: func() any {
	return &bufs{out: make([]byte, 0, 16<<10), ub: make([]byte, 32<<10)}
}}

func newConn(s *Server, l *listener, nc net.Conn) *conn {
	c := &conn{s: s, l: l, nc: nc, rio: newRawIO(nc), now: s.now(), https: l.proto == proxy.ProtoHTTPS}
	if l.proto != proxy.ProtoTCP {
		c.in = make([]byte, inSize)
	}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.addr = ap.Addr().Unmap()
		c.ipStr = c.addr.String()
	} else {
		c.ipStr = nc.RemoteAddr().String()
	}
	return c
}

// abort cuts the connection and the server connection it uses (Shutdown
// after its deadline).
func (c *conn) abort() {
	c.aborted.Store(true)
	c.nc.Close()
	if uc := c.up.Load(); uc != nil {
		uc.nc.Close()
	}
}

func (c *conn) serve() {
	defer c.s.forget(c)
	defer c.nc.Close()
	defer c.lingeringClose()
	for {
		n, err := c.readHeader()
		if err != nil {
			c.headerError(err)
			return
		}
		keep := c.handle(n)
		if !keep || c.s.shutting.Load() {
			c.flushPending()
			return
		}
	}
}

// readHeader reads until in[r:] holds a whole request header and returns
// its length. While no byte of the request has come it waits up to the
// idle timeout (the connection is idle); from the first byte, the header
// must be complete within the header timeout.
func (c *conn) readHeader() (int, error) {
	s := c.s
	started := false
	if c.pending != nil && c.r < c.w {
		// A pipelined request is here already: answer the last one first.
		if !c.flushPending() {
			return 0, errClientGone
		}
	}
	for {
		for c.r < c.w && (c.in[c.r] == '\r' || c.in[c.r] == '\n') {
			c.r++ // empty lines before a request line are ignored
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		if c.r < c.w {
			if n := headerEnd(c.in[c.r:c.w]); n > 0 {
				return n, nil
			}
			if err := checkLimits(c.in[c.r:c.w]); err != nil {
				return 0, err
			}
			if !started {
				started = true
				c.state.Store(stateActive)
				c.setReadDeadline(time.Now().Add(s.opt.HeaderTimeout))
			}
		} else {
			c.state.Store(stateIdle)
			c.idleDeadline()
			if s.shutting.Load() {
				c.flushPending()
				return 0, errShutdown
			}
		}
		if c.w == len(c.in) {
			switch {
			case c.r > 0:
				c.w = copy(c.in, c.in[c.r:c.w])
				c.r = 0
			case len(c.in) < inMax:
				in := make([]byte, inMax)
				c.w = copy(in, c.in[c.r:c.w])
				c.r, c.in = 0, in
			default:
				return 0, errTooLarge
			}
		}
		var n int
		var err error
		if c.pending != nil && c.rio != nil {
			// Write the end of the last response, then wait for this
			// request: no read that would find nothing.
			r := c.rio
			n, err = r.writeRead(c.pending, c.in[c.w:]), r.rerr
			switch {
			case r.werr != nil:
				c.releasePending()
				return 0, errClientGone
			case r.short:
				c.pending = r.out
				if !c.flushPending() {
					return 0, errClientGone
				}
				continue
			}
			c.releasePending()
		} else {
			if c.pending != nil && !c.flushPending() {
				return 0, errClientGone
			}
			n, err = c.nc.Read(c.in[c.w:])
		}
		c.w += n
		if n == 0 && err != nil {
			if started || c.r < c.w {
				if isTimeout(err) && !s.shutting.Load() {
					return 0, errHeaderTimeout
				}
				return 0, errClientGone
			}
			return 0, errIdle
		}
		if !started && n > 0 {
			c.state.Store(stateActive)
		}
	}
}

var (
	errShutdown      = errors.New("shutting down")
	errIdle          = errors.New("idle connection closed")
	errHeaderTimeout = errors.New("request header timeout")
	errClientGone    = errors.New("client closed the connection")
)

// headerError answers a request header that could not be read or parsed,
// when there is someone to answer, and records it.
func (c *conn) headerError(err error) {
	switch err {
	case errShutdown, errIdle:
		return
	case errHeaderTimeout:
		c.record(nil, 0, "header_timeout", c.s.now(), 0, 0, "")
		return
	case errClientGone:
		return
	}
	status, class := 400, "bad_request"
	switch err {
	case errTooLarge:
		status, class = 431, "header_too_large"
	case errURITooLong:
		status, class = 414, "uri_too_long"
	case errNotImpl:
		status, class = 501, "not_implemented"
	}
	now := c.s.now()
	c.writeError(status, false, false)
	c.record(nil, status, class, now, 0, 0, "")
}

// Bounds of the lingering close after an error answer (nginx's
// lingering_close): the proxy reads and discards what the client still
// sends for at most lingerTime (5 s, nginx's lingering_timeout) and
// lingerBytes.
const (
	lingerTime  = 5 * time.Second
	lingerBytes = 16 << 20
)

// lingeringClose ends a connection closed after an error answer: it shuts
// the write side down (the client reads the answer, then the end), then
// reads and discards until the client closes, lingerTime passes or
// lingerBytes came. Closing at once with unread bytes would send a reset,
// and the reset makes the client's kernel drop the answer unread.
func (c *conn) lingeringClose() {
	if !c.linger || c.aborted.Load() {
		return
	}
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.state.Store(stateIdle) // Shutdown ends it at once
	if c.s.shutting.Load() {
		return
	}
	c.setReadDeadline(time.Now().Add(lingerTime))
	buf := c.in
	if len(buf) == 0 {
		buf = make([]byte, inSize)
	}
	for n := 0; n < lingerBytes; {
		k, err := c.nc.Read(buf)
		n += k
		if err != nil {
			return
		}
	}
}

// writeError answers with a short text page of status. An answer that
// closes the connection makes it linger (see lingeringClose).
func (c *conn) writeError(status int, keep, head bool) bool {
	c.linger = !keep
	text := statusText(status)
	body := strconv.Itoa(status) + " " + text + "\n"
	out := make([]byte, 0, 160)
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	out = append(out, text...)
	out = append(out, "\r\nContent-Type: text/plain\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	if keep {
		if c.req.minor == 0 {
			out = append(out, "\r\nConnection: keep-alive"...)
		}
	} else {
		out = append(out, "\r\nConnection: close"...)
	}
	out = append(out, "\r\n\r\n"...)
	if !head {
		out = append(out, body...)
	}
	c.setWriteDeadline()
	_, err := c.nc.Write(out)
	return err == nil
}

func statusText(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Not Allowed"
	case 414:
		return "Request-URI Too Large"
	case 431:
		return "Request Header Fields Too Large"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 500:
		return "Internal Server Error"
	}
	return "Error"
}

// setWriteDeadline keeps a write deadline of at least half the send
// timeout ahead, refreshing it only when needed (a deadline costs a timer
// update).
func (c *conn) setWriteDeadline() {
	now := time.Now()
	if c.wdl.Sub(now) < c.s.opt.SendTimeout/2 {
		c.wdl = now.Add(c.s.opt.SendTimeout)
		c.nc.SetWriteDeadline(c.wdl)
	}
}

// setReadDeadline sets the client connection's read deadline.
func (c *conn) setReadDeadline(t time.Time) {
	c.rdl, c.idleRdl = t, false
	c.nc.SetReadDeadline(t)
}

// idleDeadline makes sure the connection is closed after the idle
// timeout without a request. A deadline costs a timer update, so under
// load it is refreshed only once an eighth of the timeout has passed: an
// idle connection is closed after between 7/8 and all of IdleTimeout.
func (c *conn) idleDeadline() {
	now := c.s.start.Add(c.now)
	idle := c.s.opt.IdleTimeout
	if c.idleRdl && c.rdl.Sub(now) >= idle-idle/8 {
		return
	}
	c.rdl, c.idleRdl = now.Add(idle), true
	c.nc.SetReadDeadline(c.rdl)
}

// request is one request in flight.
type request struct {
	g      *group
	hb     []byte // the request header bytes (valid until the body streams)
	start  time.Duration
	method string
	target []byte // as sent to the server
	host   []byte // the host of an absolute-form target, else nil
	head   bool
	// inMem: the body is in memory (none, or bodyMem), so it can be sent
	// again; else it streams from the client and the try that begins
	// sending it is the request's last (noRetry).
	inMem   bool
	bodyMem []byte
	noRetry bool
	sent    time.Duration // when the current try began
	// fl is the request's flight through its group (the one request-flow
	// core); its calls are made with the group's mutex held.
	fl flow.Flight
}

// handle serves one request whose header is in[r:r+n]. It returns
// whether the connection may carry another request.
func (c *conn) handle(n int) bool {
	s := c.s
	h := &c.req
	hb := c.in[c.r : c.r+n]
	if err := parseRequest(hb, h); err != nil {
		c.headerError(err)
		return false
	}
	c.now = s.now()
	rq := request{hb: hb, start: c.now, method: methodString(h.method.of(hb)), target: h.target.of(hb)}
	rq.head = rq.method == "HEAD"
	if rq.method == "CONNECT" || rq.method == "TRACE" {
		// nginx answers both 405 whatever the location (a TRACE would
		// echo the client's cookies back to a script).
		c.writeError(405, false, false)
		c.record(nil, 405, "not_allowed", rq.start, 0, 0, "")
		return false
	}
	var host []byte
	if h.hasHost {
		host = h.host.of(hb)
	}
	if h.hasAbs {
		// absolute-form, scheme://host[:port]/path?query: the host
		// replaces the Host field, and the server gets the path.
		rq.host, host = h.absHost.of(hb), h.absHost.of(hb)
		if len(rq.target) == 0 || rq.target[0] != '/' {
			rq.target = append([]byte("/"), rq.target...)
		}
	}
	path := rq.target
	if i := indexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if complexPath(path) {
		// Rules match the path as nginx's locations do (the server still
		// gets the target as it came): "/static/../admin" is "/admin".
		path, _ = normalPath(make([]byte, 0, len(path)), path)
	}
	rq.g = c.l.rt.Load().routes.Match(flow.HostOnly(host), path)
	c.b = bufPool.Get().(*bufs)
	defer c.putBufs()

	c.r += n
	switch h.framing {
	case bodyLength:
		switch avail := int64(c.w - c.r); {
		case h.length <= avail:
			rq.bodyMem, rq.inMem = c.in[c.r:c.r+int(h.length)], true
			c.r += int(h.length)
		case h.length <= replayMax:
			if !c.readBody(&rq, int(h.length)) {
				c.record(rq.g, 0, "client_closed", rq.start, 0, 0, "")
				return false
			}
		}
	case bodyChunked:
		// The body streams; the part already here is checked before
		// anything goes to a server, so that a malformed one (most come
		// whole with their header) is answered 400 and not forwarded at
		// all, as nginx, which reads the body first, does.
		if !chunkedPrefixOK(c.in[c.r:c.w]) {
			c.writeError(400, false, false)
			c.record(rq.g, 400, "bad_request", rq.start, 0, 0, "")
			return false
		}
	default:
		rq.inMem = true
	}
	return c.forward(&rq) && !h.close
}

// chunkedPrefixOK reports whether p is the start of a well-formed chunked
// body (or a whole one, and what follows it).
func chunkedPrefixOK(p []byte) bool {
	var ch chunked
	for len(p) > 0 && !ch.done {
		k, data, err := ch.feed(p)
		if err != nil {
			return false
		}
		p = p[k+len(data):]
	}
	return true
}

// flushPending writes the held end of the last response.
func (c *conn) flushPending() bool {
	if c.pending == nil {
		return true
	}
	c.setWriteDeadline()
	_, err := c.nc.Write(c.pending)
	c.releasePending()
	return err == nil
}

func (c *conn) releasePending() {
	c.pending = nil
	c.putBufs()
}

func (c *conn) putBufs() {
	if c.pending != nil {
		return // released once the pending bytes are written
	}
	b := c.b
	c.b = nil
	if cap(b.body) > replayMax {
		b.body = nil
	}
	bufPool.Put(b)
}

// methodString returns the method as a string, without allocating for
// the common ones.
func methodString(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	case "PATCH":
		return "PATCH"
	}
	return string(m)
}

// readBody reads a body of n bytes whole into b.body; the header stays
// where it is in c.in.
func (c *conn) readBody(rq *request, n int) bool {
	c.expectContinue()
	body := c.b.body[:0]
	if cap(body) < n {
		body = make([]byte, 0, max(n, 16<<10))
	}
	body = append(body, c.in[c.r:c.w]...)
	c.r = c.w
	for len(body) < n {
		c.setReadDeadline(time.Now().Add(c.s.opt.SendTimeout))
		k, err := c.nc.Read(body[len(body):n])
		body = body[:len(body)+k]
		if err != nil && len(body) < n {
			return false
		}
	}
	c.b.body = body
	rq.bodyMem, rq.inMem = body, true
	return true
}

// expectContinue answers Expect: 100-continue before the proxy reads a
// body the client may be holding back.
func (c *conn) expectContinue() {
	if c.req.expect {
		c.req.expect = false
		c.setWriteDeadline()
		c.nc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	}
}

// forward passes the request to the group's servers as its flight
// (flow.Flight) says, try by try, and answers the client. It returns
// whether the client connection may go on.
func (c *conn) forward(rq *request) bool {
	s, g, f := c.s, rq.g, &rq.fl
	c.vhb, c.vtarget = rq.hb, rq.target
	now := rq.start
	g.mu.Lock()
	g.fg.Start(f, now, flow.Request{Method: rq.method, Client: c.addr, Vars: c})
	st := f.Next(now, g.rnd)
	g.mu.Unlock()
	for {
		if st.Kind == flow.End {
			return c.answerError(rq, st.Status, st.Class, "", f.Tries(), f.Moved())
		}
		rq.sent = now
		peer := st.Peer
		t, uc := c.try(rq, g.ups[st.Index], g)
		g.mu.Lock()
		now = s.now()
		c.now = now
		st = f.Result(now, flow.Result{Try: t.Try, Stale: t.stale, Spent: rq.noRetry, Gone: t.gone, BadBody: t.badBody})
		if st.Kind == flow.Retry {
			st = f.Next(now, g.rnd)
		}
		g.mu.Unlock()
		switch {
		case st.Kind == flow.Try:
			if uc != nil {
				c.up.Store(nil)
				uc.nc.Close()
			}
			continue
		case st.Class == flow.ClassClientClosed:
			// The client left while the server was working: not the
			// server's failure (nginx's 499).
			c.recordFull(g, st.Status, st.Class, rq.start, 0, f.Tries(), peer.Name(), f.Moved())
			return false
		case st.Class == flow.ClassBadRequest:
			// The client's fault, not the server's: a 400, as nginx
			// answers a malformed chunked body.
			c.writeError(st.Status, false, false)
			c.recordFull(g, st.Status, st.Class, rq.start, 0, f.Tries(), peer.Name(), f.Moved())
			return false
		case st.Kind == flow.End:
			backend := ""
			if st.Peer != nil {
				backend = st.Peer.Name()
			}
			return c.answerError(rq, st.Status, st.Class, backend, f.Tries(), f.Moved())
		}
		// Answer: the response goes to the client; the try ends when its
		// body has.
		status, keep, class := c.relay(rq, uc, t.hn, t.filled, peer, st.Status)
		g.mu.Lock()
		end := s.now()
		c.now = end
		f.Finish(end, class, false)
		g.mu.Unlock()
		c.recordFull(g, status, class, rq.start, end, f.Tries(), peer.Name(), f.Moved())
		return keep
	}
}

// Target, Header and Cookie are the request's variables (flow.Vars), read
// from the header bytes of the request in flight.
func (c *conn) Target() string { return string(c.vtarget) }

// Header returns the values of field name, joined by ", ".
func (c *conn) Header(name string) string {
	h, b := &c.req, c.vhb
	var vals []string
	if name == "x-forwarded-for" {
		for _, v := range h.xff {
			vals = append(vals, string(v.of(b)))
		}
	} else {
		for _, f := range h.fields {
			if eqFold(f.name.of(b), name) {
				vals = append(vals, string(f.value.of(b)))
			}
		}
	}
	return strings.Join(vals, ", ")
}

// Cookie returns the value of the cookie name.
func (c *conn) Cookie(name string) (string, bool) { return cookieValue(c.vhb, &c.req, name) }

// answerError ends a request with an error page of the proxy's own.
func (c *conn) answerError(rq *request, status int, class, backend string, tries int, moved string) bool {
	keep := !c.req.close && !c.s.shutting.Load() && !c.aborted.Load() && rq.inMem
	ok := c.writeError(status, keep, rq.head)
	c.recordFull(rq.g, status, class, rq.start, 0, tries, backend, moved)
	return ok && keep
}

// record writes a request event to the history.
func (c *conn) record(g *group, status int, class string, start, end time.Duration, tries int, backend string) {
	c.recordFull(g, status, class, start, end, tries, backend, "")
}

func (c *conn) recordFull(g *group, status int, class string, start, end time.Duration, tries int, backend, moved string) {
	if end == 0 {
		end = c.s.now()
	}
	name := c.l.rt.Load().name
	st := c.s.base
	if g != nil {
		st = g.stats
	}
	st.count(name, backend, status, class, end-start)
	if c.s.hist == nil {
		return
	}
	ev := history.Event{T: history.Stamp(end), Kind: history.KindRequest, Client: c.ipStr, Listener: name,
		Backend: backend, Status: status, Error: class, Start: history.Stamp(start),
		Latency: history.Stamp(end - start), Tries: tries}
	if g != nil {
		ev.Group = g.name
	}
	if moved != "" {
		ev.Reason = "session moved from " + moved
	}
	c.s.hist.Add(ev)
}

// tryResult is what one try gave.
type tryResult struct {
	attempt.Try
	gone   bool // the client left (or Shutdown cut the connection)
	hn     int  // the response header's length in b.ub
	filled int  // bytes read into b.ub
	// badBody: the client's chunked body is malformed (it is answered
	// 400, and the server connection is cut inside the request).
	badBody bool
	// stale: the try was on a reused keep-alive connection and broke
	// (Reset): nginx does not count it against the tries (see
	// flow.Flight.Result).
	stale bool
}

func tryOf(o attempt.Outcome, sent bool) tryResult {
	return tryResult{Try: attempt.Try{Outcome: o, Sent: sent}}
}

// try sends the request to one server and reads the response header. On
// an answer it returns the connection, with the response header parsed
// into c.resp from b.ub[:hn] and the first body bytes after it. The try
// goes out on an idle keep-alive connection to the server when the pool
// has one; if that connection breaks (Reset: the server closed it as the
// request went out, or while its answer was on its way), the try is
// reported stale, as nginx's u->peer.cached.
func (c *conn) try(rq *request, u *upstream, g *group) (tryResult, *upConn) {
	s := c.s
	uc := u.get(rq.sent)
	reused := uc != nil
	if uc == nil {
		nc, err := s.dial(s.dialCtx, u.addr, g.fg.ConnectTimeout)
		if err != nil {
			if c.aborted.Load() {
				return tryResult{gone: true}, nil
			}
			if isTimeout(err) {
				return tryOf(attempt.ConnectTimeout, false), nil
			}
			return tryOf(attempt.Refused, false), nil
		}
		uc = &upConn{nc: nc, u: u, rio: newRawIO(nc)}
		rq.sent = s.now() // the read timeout counts from after the connect
	}
	c.up.Store(uc)
	t := c.exchange(rq, uc, g)
	if t.Outcome == attempt.Answered && !t.gone && !t.badBody {
		return t, uc
	}
	c.up.Store(nil)
	uc.nc.Close()
	if t.badBody {
		return t, nil
	}
	if t.gone || c.aborted.Load() {
		t.gone = true
		return t, nil
	}
	t.stale = reused && t.Outcome == attempt.Reset
	return t, nil
}

// exchange writes the request on uc and reads the response header.
func (c *conn) exchange(rq *request, uc *upConn, g *group) tryResult {
	s := c.s
	out := c.buildRequest(rq, uc.u.addr, c.b.out[:0])
	body := rq.bodyMem
	if len(out)+len(body) <= cap(out) {
		out = append(out, body...)
		body = nil
	}
	c.b.out = out[:0]
	if len(body) == 0 && rq.inMem {
		// The usual case: the whole request in one write, then the answer.
		return c.readResponse(rq, uc, g, out)
	}
	if _, err := uc.nc.Write(out); err != nil {
		return tryOf(attempt.Reset, true)
	}
	if len(body) > 0 {
		uc.nc.SetWriteDeadline(time.Now().Add(s.opt.SendTimeout))
		_, err := uc.nc.Write(body)
		uc.nc.SetWriteDeadline(time.Time{})
		if err != nil {
			return tryOf(attempt.Reset, true)
		}
	}
	if !rq.inMem {
		rq.noRetry = true
		if clientFailed, err := c.streamBody(uc); err != nil {
			if err == errChunk {
				return tryResult{badBody: true}
			}
			if clientFailed {
				return tryResult{gone: true}
			}
			if isTimeout(err) {
				return tryOf(attempt.ReadTimeout, true)
			}
			return tryOf(attempt.Reset, true)
		}
	}
	return c.readResponse(rq, uc, g, nil)
}

// buildRequest appends the request header as it goes to the server: the
// request line, Host, the client's fields but the hop-by-hop ones and
// those the proxy writes itself, the framing of the body as the proxy
// sends it, and X-Forwarded-For (appended to), X-Real-IP and
// X-Forwarded-Proto (set).
func (c *conn) buildRequest(rq *request, addr string, out []byte) []byte {
	h, hb := &c.req, rq.hb
	out = append(out, rq.method...)
	out = append(out, ' ')
	out = append(out, rq.target...)
	out = append(out, " HTTP/1.1\r\nHost: "...)
	switch {
	case rq.host != nil:
		out = append(out, rq.host...)
	case h.hasHost:
		out = append(out, h.host.of(hb)...)
	default:
		out = append(out, addr...)
	}
	out = append(out, '\r', '\n')
	for i := range h.fields {
		if f := &h.fields[i]; !f.drop {
			out = append(out, hb[f.line.start:f.value.end]...)
			out = append(out, '\r', '\n')
		}
	}
	switch h.framing {
	case bodyChunked:
		out = append(out, "Transfer-Encoding: chunked\r\n"...)
	case bodyLength:
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, h.length, 10)
		out = append(out, '\r', '\n')
	}
	out = append(out, "X-Forwarded-For: "...)
	for _, v := range h.xff {
		out = append(append(out, v.of(hb)...), ", "...)
	}
	out = append(out, c.ipStr...)
	out = append(out, "\r\nX-Real-IP: "...)
	out = append(out, c.ipStr...)
	if c.https {
		out = append(out, "\r\nX-Forwarded-Proto: https\r\n\r\n"...)
	} else {
		out = append(out, "\r\nX-Forwarded-Proto: http\r\n\r\n"...)
	}
	return out
}

// fillIn makes in[r:w] hold some unread client bytes, reading when it is
// empty (into the start of the buffer, so that bytes of a pipelined next
// request stay where readHeader looks for them).
func (c *conn) fillIn() error {
	if c.r < c.w {
		return nil
	}
	c.r, c.w = 0, 0
	c.setReadDeadline(time.Now().Add(c.s.opt.SendTimeout))
	for {
		k, err := c.nc.Read(c.in)
		if k > 0 {
			c.w = k
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// streamBody sends a body that is not in memory to the server as it
// comes from the client: Content-Length bytes, or a chunked body
// re-framed. clientFailed says which side failed.
func (c *conn) streamBody(uc *upConn) (clientFailed bool, err error) {
	s, h := c.s, &c.req
	c.expectContinue()
	uc.nc.SetWriteDeadline(time.Now().Add(s.opt.SendTimeout))
	defer uc.nc.SetWriteDeadline(time.Time{})
	if h.framing == bodyLength {
		for left := h.length; left > 0; {
			if err := c.fillIn(); err != nil {
				return true, err
			}
			p := c.in[c.r:c.w]
			if int64(len(p)) > left {
				p = p[:left]
			}
			c.r += len(p)
			left -= int64(len(p))
			if _, err := uc.nc.Write(p); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	c.ch = chunked{}
	out := c.b.out[:0]
	defer func() { c.b.out = out[:0] }()
	for !c.ch.done {
		if err := c.fillIn(); err != nil {
			return true, err
		}
		p := c.in[c.r:c.w]
		used := 0
		for used < len(p) && !c.ch.done {
			k, data, err := c.ch.feed(p[used:])
			if err != nil {
				return true, err
			}
			used += k + len(data)
			if len(data) > 0 {
				out = strconv.AppendUint(out, uint64(len(data)), 16)
				out = append(out, '\r', '\n')
				out = append(out, data...)
				out = append(out, '\r', '\n')
			}
		}
		c.r += used
		if c.ch.done {
			out = append(out, "0\r\n\r\n"...)
		}
		if len(out) > 0 {
			if _, err := uc.nc.Write(out); err != nil {
				return false, err
			}
			out = out[:0]
		}
	}
	return false, nil
}

// readResponse writes first (the request, when it is one write) and reads
// the response header within the group's read timeout. A server slower
// than watchAfter makes the proxy watch the client, so that a client that
// leaves frees the connection at once.
func (c *conn) readResponse(rq *request, uc *upConn, g *group, first []byte) tryResult {
	ub := c.b.ub
	var sentAt time.Time
	if first != nil {
		sentAt = c.s.start.Add(rq.sent) // the try began a moment ago
	} else {
		sentAt = time.Now() // after a body that took its time
	}
	deadline := c.s.start.Add(rq.fl.ReadDeadline(sentAt.Sub(c.s.start)))
	watching := false
	if g.fg.ReadTimeout > watchAfter {
		uc.nc.SetReadDeadline(sentAt.Add(watchAfter))
	} else {
		uc.nc.SetReadDeadline(deadline)
	}
	defer func() {
		if watching {
			c.stopWatch()
		}
	}()
	filled := 0
	for {
		if filled > 0 {
			if hn := headerEnd(ub[:filled]); hn > 0 {
				if parseResponse(ub[:hn], &c.resp) != nil || c.resp.status == 101 {
					return tryOf(attempt.Invalid, true)
				}
				if c.resp.status < 200 {
					filled = copy(ub, ub[hn:filled]) // an interim response: skip it
					continue
				}
				return tryResult{Try: attempt.Try{Outcome: attempt.Answered, Status: c.resp.status, Sent: true},
					hn: hn, filled: filled}
			}
			if filled >= MaxHeaderBytes || filled == len(ub) || checkLimits(ub[:filled]) != nil {
				return tryOf(attempt.Invalid, true)
			}
		}
		var n int
		var err error
		if len(first) > 0 {
			if uc.rio == nil {
				if _, err := uc.nc.Write(first); err != nil {
					return tryOf(attempt.Reset, true)
				}
				first = nil
				continue
			}
			r := uc.rio
			n, err = r.writeRead(first, ub[filled:]), r.rerr
			first = nil
			if r.werr != nil {
				return tryOf(attempt.Reset, true)
			}
			if r.short {
				if _, err := uc.nc.Write(r.out); err != nil {
					return tryOf(attempt.Reset, true)
				}
				continue
			}
		} else {
			n, err = uc.nc.Read(ub[filled:])
		}
		filled += n
		if n > 0 || err == nil {
			continue
		}
		switch {
		case c.aborted.Load() || (watching && c.watch.gone.Load()):
			return tryResult{gone: true}
		case isTimeout(err):
			if !watching && time.Now().Before(deadline) {
				watching = true
				// The deadline first: a client already gone makes the
				// watcher cut it at once, and that must not be undone.
				uc.nc.SetReadDeadline(deadline)
				c.startWatch(uc)
				continue
			}
			return tryOf(attempt.ReadTimeout, true)
		}
		return tryOf(attempt.Reset, true)
	}
}

// watcher reads the client connection while the server is slow to
// answer: an end of file or an error means the client left, and the
// server connection is cut. Bytes that do come (a pipelined request) are
// kept for later.
type watcher struct {
	gone atomic.Bool
	done chan struct{}
	buf  []byte
	n    int
}

func (c *conn) startWatch(uc *upConn) {
	w := &watcher{done: make(chan struct{}), buf: make([]byte, 1024)}
	c.watch = w
	c.setReadDeadline(time.Time{})
	go func() {
		defer close(w.done)
		n, err := c.nc.Read(w.buf)
		w.n = n
		if n == 0 && err != nil && !isTimeout(err) {
			w.gone.Store(true)
			uc.nc.SetReadDeadline(aLongTimeAgo)
		}
	}()
}

func (c *conn) stopWatch() {
	w := c.watch
	c.setReadDeadline(aLongTimeAgo)
	<-w.done
	c.watch = nil
	if w.n > 0 {
		// Keep the bytes the watcher read after the request's own.
		if c.w+w.n > len(c.in) {
			in := make([]byte, max(len(c.in), c.w-c.r+w.n+inSize))
			c.w = copy(in, c.in[c.r:c.w])
			c.r, c.in = 0, in
		}
		c.w += copy(c.in[c.w:], w.buf[:w.n])
	}
}

// cwriter buffers what goes to the client.
type cwriter struct {
	c     *conn
	out   []byte
	err   error
	wrote bool // bytes went to the client
}

func (w *cwriter) flush() bool {
	if w.err != nil {
		return false
	}
	if len(w.out) == 0 {
		return true
	}
	w.c.setWriteDeadline()
	_, w.err = w.c.nc.Write(w.out)
	w.out = w.out[:0]
	w.wrote = true
	return w.err == nil
}

// raw adds body bytes, writing them straight through when they do not
// fit in the buffer.
func (w *cwriter) raw(data []byte) bool {
	if len(w.out)+len(data) <= cap(w.out) {
		w.out = append(w.out, data...)
		return true
	}
	if !w.flush() {
		return false
	}
	if len(data) <= cap(w.out)/2 {
		w.out = append(w.out, data...)
		return true
	}
	w.c.setWriteDeadline()
	_, w.err = w.c.nc.Write(data)
	w.wrote = true
	return w.err == nil
}

// chunk adds data as one chunk of the chunked coding.
func (w *cwriter) chunk(data []byte) bool {
	if len(data) == 0 {
		return true
	}
	if len(w.out)+20 > cap(w.out) && !w.flush() {
		return false
	}
	w.out = strconv.AppendUint(w.out, uint64(len(data)), 16)
	w.out = append(w.out, '\r', '\n')
	if !w.raw(data) {
		return false
	}
	w.out = append(w.out, '\r', '\n')
	return true
}

// relay sends the server's response to the client: the header re-framed
// (hop-by-hop fields dropped, persistence's cookie added), then the body
// as it comes; the header waits for the first body bytes, so that a
// server that fails before them still gets the client a 502. It returns
// the status the client got, whether its connection may carry another
// request, and an error class when the response was cut ("" when it went
// through whole). The server connection goes back to the pool when it is
// reusable.
func (c *conn) relay(rq *request, uc *upConn, hn, filled int, peer *balance.Peer, status int) (int, bool, string) {
	s, g, h, rh := c.s, rq.g, &c.req, &c.resp
	ub := c.b.ub
	mode := rh.framing
	if rq.head || rh.status == 204 || rh.status == 304 {
		mode = bodyNone
	}
	keep := !h.close && !s.shutting.Load() && !c.aborted.Load()
	chunkOut := false
	if mode == bodyChunked || mode == bodyEOF {
		if h.minor == 1 {
			chunkOut = true
		} else {
			keep = false // the end of the body is the end of the connection
		}
	}
	w := cwriter{c: c, out: c.b.out[:0]}
	defer func() { c.b.out = w.out[:0] }()
	w.out = append(w.out, "HTTP/1.1 "...)
	w.out = append(w.out, rh.reason.of(ub)...)
	w.out = append(w.out, '\r', '\n')
	for i := range rh.fields {
		if f := &rh.fields[i]; !f.drop {
			w.out = append(w.out, ub[f.line.start:f.value.end]...)
			w.out = append(w.out, '\r', '\n')
		}
	}
	// The framing is the proxy's own: the server's framing fields are
	// dropped (see parseFields), whatever its Connection field names.
	if chunkOut {
		w.out = append(w.out, "Transfer-Encoding: chunked\r\n"...)
	} else if rh.framing == bodyLength {
		// The body's length, or for HEAD, 204 and 304 what the server
		// said of it.
		w.out = append(w.out, "Content-Length: "...)
		w.out = strconv.AppendInt(w.out, rh.length, 10)
		w.out = append(w.out, '\r', '\n')
	}
	if name, ok := rq.fl.SetCookie(peer); ok {
		w.out = append(w.out, "Set-Cookie: "...)
		w.out = append(w.out, name...)
		w.out = append(w.out, '=')
		w.out = append(w.out, peer.Name()...)
		w.out = append(w.out, "; Path=/; Max-Age="...)
		w.out = strconv.AppendInt(w.out, int64(g.fg.Lifetime()/time.Second), 10)
		w.out = append(w.out, '\r', '\n')
	}
	if !keep {
		w.out = append(w.out, "Connection: close\r\n"...)
	} else if h.minor == 0 {
		w.out = append(w.out, "Connection: keep-alive\r\n"...)
	}
	w.out = append(w.out, '\r', '\n')

	drop := func() {
		c.up.Store(nil)
		uc.nc.Close()
	}
	clientFailed := func() (int, bool, string) {
		drop()
		return status, false, "client_closed"
	}
	// serverFailed ends a body the server broke off: a 502 when the client
	// has nothing yet, else the connection is closed, as the client cannot
	// learn otherwise that the body is short.
	serverFailed := func(class string) (int, bool, string) {
		drop()
		if !w.wrote {
			w.out = w.out[:0]
			c.writeError(502, false, rq.head)
			return 502, false, class
		}
		w.flush()
		return status, false, class
	}
	readMore := func() ([]byte, error) {
		uc.nc.SetReadDeadline(time.Now().Add(g.fg.ReadTimeout))
		for {
			n, err := uc.nc.Read(ub)
			if n > 0 {
				return ub[:n], nil
			}
			if err != nil {
				return nil, err
			}
		}
	}
	reusable := !rh.close && mode != bodyEOF
	data := ub[hn:filled]
	switch mode {
	case bodyNone:
		reusable = reusable && len(data) == 0
	case bodyLength:
		for left := rh.length; ; {
			if int64(len(data)) > left {
				data, reusable = data[:left], false // bytes beyond the body: do not trust the connection
			}
			left -= int64(len(data))
			if !w.raw(data) {
				return clientFailed()
			}
			if left == 0 {
				break
			}
			if len(data) > 0 && !w.flush() {
				return clientFailed()
			}
			var err error
			if data, err = readMore(); err != nil {
				return serverFailed(ioClass(err))
			}
		}
	case bodyChunked:
		c.ch = chunked{}
		for {
			used, some := 0, false
			for used < len(data) && !c.ch.done {
				k, seg, err := c.ch.feed(data[used:])
				if err != nil {
					return serverFailed("invalid")
				}
				used += k + len(seg)
				some = some || len(seg) > 0
				if (chunkOut && !w.chunk(seg)) || (!chunkOut && !w.raw(seg)) {
					return clientFailed()
				}
			}
			if c.ch.done {
				reusable = reusable && used == len(data)
				if chunkOut {
					w.out = append(w.out, "0\r\n\r\n"...)
				}
				break
			}
			if (some || w.wrote) && !w.flush() {
				return clientFailed()
			}
			var err error
			if data, err = readMore(); err != nil {
				return serverFailed(ioClass(err))
			}
		}
	case bodyEOF:
		for {
			if (chunkOut && !w.chunk(data)) || (!chunkOut && !w.raw(data)) {
				return clientFailed()
			}
			if len(data) > 0 && !w.flush() {
				return clientFailed()
			}
			var err error
			if data, err = readMore(); err != nil {
				if err != io.EOF {
					return serverFailed(ioClass(err))
				}
				break
			}
		}
		if chunkOut {
			w.out = append(w.out, "0\r\n\r\n"...)
		}
	}
	if keep && c.rio != nil && w.err == nil && len(w.out) > 0 {
		// The connection goes on: the last bytes go out with the read of
		// the next request (see readHeader).
		c.pending = w.out
	} else if !w.flush() {
		return clientFailed()
	}
	c.up.Store(nil)
	if reusable && !c.aborted.Load() {
		uc.u.put(uc, c.now)
	} else {
		uc.nc.Close()
	}
	return status, keep, ""
}
