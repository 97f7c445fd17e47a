package simproxy

import (
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/proxy/flow"
	"github.com/lblab/lblab/sim"
)

// ClassReset is the error class of a tcp exchange whose connection the
// load balancer closed before the echo came back (no server could be
// reached, or the server's connection broke): the class lblab load gives
// a connection that ends before the answer (loadgen.ClassReset).
const ClassReset = "reset"

// session is one exchange of a client on a tcp listener, as `lblab load
// tcp://` makes it against the real relay (proxy/server): a connection
// of its own, the server's greeting, one line sent, its echo read, the
// connection closed. The group's decisions are the request-flow core's
// (flow.Flight.Connect and Close), as the real relay takes them.
type session struct {
	p    *Proxy
	g    *group
	req  Request
	fl   flow.Flight
	done func(Response)
	// gone: the client left (Request.Abort); abort is its timer.
	gone  bool
	abort sim.Timer
	// b is the server of the current try; step the flight's last step;
	// over: done has been called.
	b    Server
	step flow.Step
	over bool
}

// handleTCP takes a client's connection to a tcp listener, arriving now
// (see Handle): its tries connect to the group's servers; once one
// accepts, the server's greeting goes back to the client, the client's
// line comes in, and the server's echo of it (Server.Echo) goes back:
// done gets status 0 and no error, the answering server in Backend. A
// session no server accepted, or whose server's connection broke before
// the echo, ends with the load balancer closing the client's connection
// (done gets error ClassReset, as the client sees it). A server that
// never echoes never calls done; the client gives up on its own.
func (p *Proxy) handleTCP(req Request, done func(Response)) {
	r := p.routes[req.Listener]
	g := r.Default()
	if g == nil {
		done(Response{Error: ClassReset})
		return
	}
	if req.Progress != nil {
		req.Progress.Group = g.fg.Name()
	}
	now := p.k.Now()
	s := &session{p: p, g: g, req: req, done: done}
	g.fg.Start(&s.fl, now, flow.Request{Client: req.Conn})
	if req.Abort > 0 {
		s.abort = p.k.At(max(req.Abort, now), func() { s.gone = true })
	}
	s.next(s.fl.Next(now, p.rnd))
}

// next does what the flight says: connect to a server, relay, or end.
func (s *session) next(st flow.Step) {
	p := s.p
	s.step = st
	switch st.Kind {
	case flow.Try:
		if pr := s.req.Progress; pr != nil {
			pr.Backend, pr.Tries = st.Peer.Server().Name, pr.Tries+1
		}
		s.b = p.backends[st.Peer.Server().Name]
		sent := p.k.Now()
		lat := p.net.BackendLatency
		if s.b == nil { // nothing listens there
			p.k.After(2*lat, func() { s.connected(attempt.Refused) })
			return
		}
		p.k.After(lat, func() {
			switch s.b.Connect() {
			case attempt.Refused:
				p.k.After(lat, func() { s.connected(attempt.Refused) })
			case attempt.ConnectTimeout:
				p.k.At(s.fl.ConnectDeadline(sent), func() { s.connected(attempt.ConnectTimeout) })
			default:
				// Accepted: the server greets at once; the proxy learns of
				// the connect a round trip after it began.
				p.k.After(lat, func() { s.connected(attempt.Answered) })
				s.relay()
			}
		})
	case flow.Answer:
		// relay has it
	default:
		r := Response{Error: ClassReset}
		if st.Peer != nil {
			r.Backend = st.Peer.Name()
		}
		s.end(r)
	}
}

// connected takes the outcome of the current try's connect.
func (s *session) connected(out attempt.Outcome) {
	s.next(s.fl.Connect(s.p.k.Now(), out, s.gone && out != attempt.Answered, s.p.rnd))
}

// relay is the exchange on an accepted connection: the greeting reaches
// the client, whose line reaches the server (a round trip of both hops
// later), which echoes it (Server.Echo); the echo reaches the proxy a
// hop later and goes on to the client; the client closes, and the
// proxy, seeing the close a client hop later, ends the session. A
// connection the server broke ends the session when the proxy sees it.
func (s *session) relay() {
	p := s.p
	lat, cl := p.net.BackendLatency, p.net.ClientLatency
	p.k.After(2*lat+2*cl, func() {
		s.b.Echo(func(r Reply) {
			p.k.After(lat, func() {
				peer := s.step.Peer
				if r.Outcome != attempt.Answered {
					s.fl.Close(p.k.Now())
					s.end(Response{Error: ClassReset, Backend: peer.Name()})
					return
				}
				s.end(Response{Backend: peer.Name()})
				if s.gone {
					s.fl.Close(p.k.Now())
					return
				}
				p.k.After(cl, func() { s.fl.Close(p.k.Now()) })
			})
		})
	})
}

// end sends the session's outcome to the client, once.
func (s *session) end(r Response) {
	if s.over {
		return
	}
	s.over = true
	s.abort.Stop()
	r.Tries, r.Group = s.fl.Tries(), s.g.fg.Name()
	if r.Error == "" {
		s.p.Answered++
	}
	s.done(r)
}
