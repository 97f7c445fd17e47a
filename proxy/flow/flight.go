package flow

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/balance"
)

// Vars are a request's variables, as a hash key and cookie persistence
// read them. The simulator's requests and the real server's parsed
// headers both provide them; a tcp or udp session has none (nil).
type Vars interface {
	// Target is the request target as the client sent it (path and
	// query: $request_uri).
	Target() string
	// Header returns the values of the field name (lower case, as
	// proxy.HashKey names it), repeated fields joined by ", ".
	Header(name string) string
	// Cookie returns the value of the cookie name, and whether it came:
	// the first CookieIn finds over the Cookie fields, in order.
	Cookie(name string) (string, bool)
}

// Request is what a flight needs to know of a request or session.
type Request struct {
	// Method is the HTTP method ("" for a tcp or udp session, which is
	// passed on as an idempotent request would be).
	Method string
	// Client is the address the connection comes from ($remote_addr,
	// ip_hash, source_ip persistence).
	Client netip.Addr
	// Vars are the request's variables, nil for a tcp or udp session.
	Vars Vars
}

// EvalKey evaluates key over a request's variables; "" when it has none.
func EvalKey(key proxy.HashKey, client netip.Addr, v Vars) string {
	switch key.Kind {
	case proxy.KeyRemoteAddr:
		return client.String()
	case proxy.KeyNone:
		return ""
	}
	if v == nil {
		return ""
	}
	switch key.Kind {
	case proxy.KeyRequestURI:
		return v.Target()
	case proxy.KeyURI:
		uri, _ := NormalURI(v.Target())
		return uri
	case proxy.KeyHeader:
		return v.Header(key.Name)
	case proxy.KeyCookie:
		val, _ := v.Cookie(key.Name)
		return val
	case proxy.KeyArg:
		val, _ := ArgIn(v.Target(), key.Name)
		return val
	}
	return ""
}

// StepKind is what a driver does next for a flight.
type StepKind uint8

// The steps of a flight.
const (
	// Try: send the request to Step.Peer (on an idle keep-alive
	// connection to it when the driver has one), then call Result.
	Try StepKind = iota
	// Retry: the try failed and the request passes on; call Next.
	Retry
	// Answer: the server's response goes to the client with Step.Status;
	// call Finish when its body has been relayed (or cut).
	Answer
	// End: the flight is over with Step.Status and Step.Class, and the
	// driver answers the client with an error page of its own (unless
	// Class is client_closed: nobody is left to answer).
	End
)

// Step is a flight's instruction to its driver.
type Step struct {
	Kind StepKind
	// Peer and Index are the server of the try (Try, Answer, and End
	// after a try).
	Peer  *balance.Peer
	Index int
	// Status and Class are the client's status and the error class
	// (Answer, End).
	Status int
	Class  string
}

// Result is how one try went, as the driver saw it.
type Result struct {
	attempt.Try
	// Stale: the try went out on a reused (cached) keep-alive
	// connection and ended with an error (Outcome Reset: nginx's
	// NGX_HTTP_UPSTREAM_FT_ERROR on u->peer.cached).
	Stale bool
	// Spent: the try began sending a body that is not in memory; no other
	// server can get it.
	Spent bool
	// Gone: the client left (or a shutdown cut it) during the try.
	Gone bool
	// BadBody: the client's streamed body was malformed.
	BadBody bool
}

// The error classes a flight ends with besides attempt's (refused, reset,
// timeout, invalid).
const (
	// ClassNoServer: no server could be picked for the first try.
	ClassNoServer = "no_server"
	// ClassClientClosed: the client left before the answer (nginx's 499).
	ClassClientClosed = "client_closed"
	// ClassBadRequest: the client's body was malformed (400).
	ClassBadRequest = "bad_request"
)

// StatusClientClosed is nginx's status of a request whose client left
// before the answer.
const StatusClientClosed = 499

// Flight is one request (or tcp/udp session) in a group: a value a driver
// keeps (no allocation of its own) and drives with Start, Next, Result and
// Finish until a step says Answer (then Finish) or End.
type Flight struct {
	g       *Group
	client  netip.Addr
	method  string
	att     *balance.Attempt
	pin     *balance.Peer
	cookie  string
	hasCk   bool
	tries   int
	free    int // tries on stale connections, not counted (nginx's u->peer.tries++)
	started time.Duration
	last    attempt.Decision
	moved   string
	// the current try
	peer *balance.Peer
	sent time.Duration
	rt   time.Duration
}

// Start begins f, a request of g arriving at now: its hash key is
// evaluated and persistence's server looked up.
func (g *Group) Start(f *Flight, now time.Duration, req Request) {
	*f = Flight{g: g, client: req.Client, method: req.Method, started: now}
	br := balance.Request{Client: req.Client}
	if g.key.Kind != proxy.KeyNone {
		br.Key = EvalKey(g.key, req.Client, req.Vars)
	}
	if g.persist == persistCookie && req.Vars != nil {
		f.cookie, f.hasCk = req.Vars.Cookie(g.cookie)
	}
	f.att = g.attempt(br)
	f.pin = g.pinned(now, req.Client, f.cookie, f.hasCk)
}

// Group returns the flight's group.
func (f *Flight) Group() *Group { return f.g }

// Tries returns the tries made so far, those on stale keep-alive
// connections included (each is a server in nginx's $upstream_addr).
func (f *Flight) Tries() int { return f.tries }

// Moved returns the server the client's persistence cookie named when it
// could not be used ("" otherwise).
func (f *Flight) Moved() string { return f.moved }

// Started returns when the flight started.
func (f *Flight) Started() time.Duration { return f.started }

// SetCookie returns the persistence cookie an answer from peer sets, and
// whether it sets one: cookie persistence, and the client's cookie does
// not name peer already.
func (f *Flight) SetCookie(peer *balance.Peer) (name string, ok bool) {
	if f.g.persist != persistCookie || (f.hasCk && f.cookie == peer.Name()) {
		return "", false
	}
	return f.g.cookie, true
}

// Next picks the server of the next try at now: persistence's first,
// then the balancer's. Step Try, or End when no server is left: 502 (503
// with no_server 503) and no_server before any try, else the last try's
// status and class.
func (f *Flight) Next(now time.Duration, rnd *rand.Rand) Step {
	var peer *balance.Peer
	if f.pin != nil {
		pin := f.pin
		f.pin = nil
		if f.att.Take(now, pin) {
			peer = pin
		} else if f.g.persist == persistCookie {
			f.moved = pin.Name()
		}
	}
	if peer == nil {
		var err error
		if peer, err = f.att.Next(now, rnd); err != nil {
			f.release()
			if f.tries == 0 {
				status := 502
				if f.g.Config.NoServer == proxy.NoServer503 {
					status = 503
				}
				return Step{Kind: End, Status: status, Class: ClassNoServer, Index: -1}
			}
			return Step{Kind: End, Status: f.last.Status, Class: f.last.Class, Index: -1}
		}
	}
	f.tries++
	f.peer, f.sent = peer, now
	return Step{Kind: Try, Peer: peer, Index: f.g.index[peer]}
}

// ReadDeadline returns when a try whose request was sent (written whole)
// at sent times out waiting for the response header: proxy_read_timeout
// counts from the end of the request's send, as nginx arms it in
// ngx_http_upstream_send_request.
func (f *Flight) ReadDeadline(sent time.Duration) time.Duration { return sent + f.g.ReadTimeout }

// ConnectDeadline returns when a connect begun at start times out.
func (f *Flight) ConnectDeadline(start time.Duration) time.Duration {
	return start + f.g.ConnectTimeout
}

// Result takes how the current try went at now and says what follows:
//   - a client that left ends the flight (499, client_closed) and a
//     malformed client body (400, bad_request), neither the server's
//     failure;
//   - after a spent body the try is the request's last;
//   - otherwise proxy/attempt decides: Retry, Answer or End.
//
// A stale try (an error on a reused keep-alive connection) is decided as
// any error, as ngx_http_upstream_next does it: the server is freed with
// NGX_PEER_FAILED (a failure for max_fails), the request passes on to
// the balancer's next pick only if error is in proxy_next_upstream and it
// is not a non-idempotent request (non_idempotent off) or a spent body,
// but the try is not counted against the tries (nginx's
// "if (u->peer.cached && ft_type == NGX_HTTP_UPSTREAM_FT_ERROR)
// u->peer.tries++"): proxy_next_upstream_tries and the group's servers
// allow one more try. In a group of a single server that try goes to the
// same server again, as nginx's round robin picks it.
func (f *Flight) Result(now time.Duration, r Result) Step {
	peer := f.peer
	idx := f.g.index[peer]
	switch {
	case r.Gone:
		f.done(now, peer, false, 0)
		return Step{Kind: End, Peer: peer, Index: idx, Status: StatusClientClosed, Class: ClassClientClosed}
	case r.BadBody:
		f.done(now, peer, false, 0)
		return Step{Kind: End, Peer: peer, Index: idx, Status: 400, Class: ClassBadRequest}
	}
	stale := r.Stale && r.Outcome == attempt.Reset
	if stale {
		f.free++
	}
	counted := f.tries - f.free
	maxTries := f.att.MaxTries()
	if r.Spent {
		maxTries = counted // the body is spent: no other server can get it
	}
	d := f.g.Policy.After(now, attempt.Request{Method: f.method, Started: f.started, Tries: counted,
		MaxTries: maxTries}, r.Try)
	f.last = d
	rt := now - f.sent
	if d.Next {
		f.att.Done(now, peer, d.Failed, rt)
		if stale {
			f.att.Refund()
		}
		f.g.observe(now, peer, d)
		return Step{Kind: Retry, Peer: peer, Index: idx}
	}
	if r.Outcome != attempt.Answered {
		f.att.Done(now, peer, d.Failed, rt)
		f.g.observe(now, peer, d)
		f.release()
		return Step{Kind: End, Peer: peer, Index: idx, Status: d.Status, Class: d.Class}
	}
	f.rt = rt // f.last is the answer's decision
	return Step{Kind: Answer, Peer: peer, Index: idx, Status: d.Status}
}

// Finish ends an answered flight at now, when the response's body has
// been relayed (class "") or cut (its error class): the try frees the
// server only now, as nginx frees an upstream peer when it finalizes the
// upstream request (ngx_http_upstream_finalize_request calls
// peer.free), and a whole answer is remembered by source_ip persistence.
// failed marks the try a failure of the server after all (a udp session
// the server refused); a cut body is not one, as nginx frees the peer with
// state 0.
func (f *Flight) Finish(now time.Duration, class string, failed bool) {
	peer, d := f.peer, f.last
	if failed {
		d = attempt.Decision{Failed: true, Status: 502, Class: class}
	}
	f.att.Done(now, peer, d.Failed, f.rt)
	f.g.observe(now, peer, d)
	if class == "" {
		f.g.remember(now, f.client, peer)
	}
	f.release()
}

// done ends the current try without a decision of the policy.
func (f *Flight) done(now time.Duration, peer *balance.Peer, failed bool, rt time.Duration) {
	f.att.Done(now, peer, failed, rt)
	f.release()
}

// release gives the balancer attempt back for reuse (every try has ended
// with Done).
func (f *Flight) release() {
	if f.att != nil {
		f.g.spare = append(f.g.spare, f.att)
		f.att = nil
	}
}
