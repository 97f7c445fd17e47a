package scenarios

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/lblab/lblab/history"
)

// classCancelled is the error class of a request the load generator
// cancelled when it was interrupted (loadgen.ClassCancelled; the merge
// reads histories and links no driver).
const classCancelled = "cancelled"

// The histories of a load-balancer lab on real hosts, merged into one.
//
// Three kinds of role write histories: the load generators (one per
// clients: element, `lblab load --out`), the proxy (`lblab proxy
// --history`) and the world itself (the faults it applied). The
// simulator writes one request event per request a client sent, from the
// client's side (its intended send time, its latency from then, what it
// got back) with the load balancer's side added (the group, the server
// that answered or failed, the error class of that failure, the tries, a
// moved session). The merged history does the same: the load
// generator's record of each request is the request, so that every
// request sent is counted once and a request the proxy never saw (a
// refused connection) still counts; the proxy's event of the same
// request, when it has one, adds the load balancer's side. A proxy event
// with no client request is not a request of the lab and is left out.
//
// The two sides of one request are matched without any identifier on
// the wire (the load generator sends what the simulated client sends,
// and nothing else, so that hash keys behave alike): the proxy's event
// must be of the client group's load-balancer group, from the same
// source address (the proxy's in front with via:), with the same status
// and the same answering server (the X-Backend header the client read),
// received no earlier than the request was meant to leave and finished
// when the client got its answer, both within clockSlack. The pairs
// are taken closest first (the proxy's end to the client's) over all of
// a clients element's requests, so that a request does not take the
// proxy event of a later one that fits that one better. Two requests from one
// address in flight at once with the same status may swap their
// load-balancer sides; they differ only in the server that failed them
// and the error class of that failure (the answering server comes from
// the X-Backend header the client read, never from the match).
//
// A tcp exchange (a tcp listener's clients: status 0 on both sides, the
// answering server from the greeting line the client read) is matched
// by the same group and source, the same server when the client read a
// greeting (a failed session first when the client failed before it
// read one), and time: the proxy accepted the connection no earlier than
// the exchange was meant to start (less clockSlack) and no later than
// the client's end, and ended the session after the client's end less
// the way back (the proxy records the session when both directions have
// closed: the client's close reaches it one way later, and the server's
// after that), within tcpCloseSlack. The pairs are taken closest first
// (the accept to the exchange's start and the way there).
//
// A request still under way at the end of the lab's duration, or
// cancelled when the run was interrupted, is unknown (Jepsen's info):
// error class in_flight, no status, stamped at the end, as the
// simulator records it.

// clockSlack is how far apart the two sides' stamps of one request may
// be: they read the same clock, but each stamps its own moment (the
// proxy the connection's accept, which a load generator may make ahead
// of the request's intended send time, and its answer's write; the load
// generator the answer's read), each a moment late on a busy machine.
const clockSlack = 10 * time.Millisecond

// tcpCloseSlack is how long after a tcp exchange's end (its client read
// the echo) the proxy may record its session: the client's close and
// then the server's cross both hops, each a goroutine's wake-up late on
// a busy machine (17 ms seen under a load average of 5 on 2 cores).
const tcpCloseSlack = 10 * clockSlack

// clientHistory is one clients: element's history as its load generator
// wrote it (t since the run's time 0), with the names the simulator
// gives its requests.
type clientHistory struct {
	// Listener is the lab's listener the clients call, as the simulator
	// names it in request events; Group is its load-balancer group.
	Listener, Group string
	// Via, when set, is the address every request of these clients
	// comes from as the proxy sees it (a proxy in front, via:); the
	// load generator records each request's user, as the simulator
	// does.
	Via string
	// Latency is the one-way delay between these clients and the proxy
	// (lab.network's client_latency): the client gets an answer that
	// long after the proxy sent it.
	Latency time.Duration
	// TCP says its listener is a tcp one: each request a tcp exchange
	// (status 0), matched as such (see above).
	TCP bool
	// Slack is how far apart the two sides' stamps of one request may
	// be. Default clockSlack; nginx's (nginxSlack) is wider.
	Slack time.Duration
	// Src is the topology host the clients send from (a high-availability
	// lab's), written into each request's Src; "" otherwise.
	Src    string
	Events []history.Event
}

// mergeLBHistories merges the histories of a real load-balancer run (see
// above): the proxy's events are on the run's clock (the proxy counts
// from the run's time 0, its --epoch); faults are the world's own events.
// Events before the run's time 0 (the proxy warming up) are left out;
// every request ending after end is unknown. The result is in time order.
func mergeLBHistories(clients []clientHistory, proxyEvents []history.Event,
	faults []history.Event, end time.Duration) []history.Event {
	type key struct {
		group, client string
	}
	type side struct {
		ev   *history.Event
		used bool
	}
	byKey := map[key][]*side{}
	var out []history.Event
	for i := range proxyEvents {
		e := proxyEvents[i]
		if e.T < 0 {
			continue
		}
		switch e.Kind {
		case history.KindRequest:
			k := key{e.Group, e.Client}
			byKey[k] = append(byKey[k], &side{ev: &e})
		case history.KindHealth:
			out = append(out, e)
		}
	}
	for _, s := range byKey {
		slices.SortStableFunc(s, func(a, b *side) int { return cmp.Compare(a.ev.T, b.ev.T) })
	}
	endT := history.Stamp(end)
	for _, ch := range clients {
		slack := history.Stamp(clockSlack)
		if ch.Slack > 0 {
			slack = history.Stamp(ch.Slack)
		}
		evs := slices.Clone(ch.Events)
		slices.SortStableFunc(evs, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
		// Every candidate pair of a client request and a proxy event,
		// then the pairs taken closest first over all the requests: a
		// request does not take the proxy event of a later one that fits
		// it better (both end within clockSlack of each other at 200
		// requests a second from one address).
		type pair struct {
			d  history.Stamp
			ci int
			s  *side
		}
		var pairs []pair
		for ci, c := range evs {
			if c.Kind != history.KindRequest {
				continue
			}
			ip := clientIP(c.Client)
			src := ip
			if ch.Via != "" {
				src = ch.Via
			}
			cands := byKey[key{ch.Group, src}]
			// Of the proxy events finished within clockSlack of the
			// client's end (less the way back).
			i, _ := slices.BinarySearchFunc(cands, c.T-slack-history.Stamp(ch.Latency), func(s *side, t history.Stamp) int {
				if s.ev.T < t {
					return -1
				}
				return 1
			})
			last := c.T + slack
			if ch.TCP {
				last = c.T + history.Stamp(tcpCloseSlack+ch.Latency)
			}
			// A request whose answer the client never read (unknown at the
			// end) ends when the run does, not when a proxy answered it:
			// only a proxy that took it when it was sent is its side, not
			// one that served another request near the end.
			unknown := !ch.TCP && (c.T > endT || c.Error == classCancelled)
			for j := i; j < len(cands) && cands[j].ev.T <= last; j++ {
				s := cands[j]
				if s.used || s.ev.Start < c.Start-slack || (c.Status != 0 && s.ev.Status != c.Status) ||
					(c.Backend != "" && s.ev.Backend != c.Backend) || (unknown && s.ev.Start > c.Start+slack) {
					continue
				}
				var d history.Stamp
				if ch.TCP {
					if s.ev.Start > c.T {
						continue
					}
					there := c.Start + history.Stamp(ch.Latency)
					d = max(there-s.ev.Start, s.ev.Start-there)
					// A failed exchange that read no greeting is most
					// likely a session the proxy could not connect: a
					// failed session first, a whole one (the server died
					// before its greeting) only when there is none.
					if c.Backend == "" && c.Error != "" && c.Error != classCancelled && s.ev.Error == "" {
						d += history.Stamp(time.Hour)
					}
				} else {
					back := c.T - history.Stamp(ch.Latency)
					d = max(back-s.ev.T, s.ev.T-back)
				}
				pairs = append(pairs, pair{d, ci, s})
			}
		}
		slices.SortStableFunc(pairs, func(a, b pair) int {
			return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.ci, b.ci), cmp.Compare(a.s.ev.T, b.s.ev.T))
		})
		match := make([]*history.Event, len(evs))
		for _, p := range pairs {
			if match[p.ci] == nil && !p.s.used {
				match[p.ci], p.s.used = p.s.ev, true
			}
		}
		for ci, c := range evs {
			if c.Kind != history.KindRequest {
				continue
			}
			ip := clientIP(c.Client)
			lb := match[ci]
			m := history.Event{T: c.T, Kind: history.KindRequest, Src: ch.Src, Client: ip, Listener: ch.Listener, Group: ch.Group,
				Backend: c.Backend, Status: c.Status, Error: c.Error, Start: c.Start, Latency: c.T - c.Start, Resent: c.Resent}
			if lb != nil {
				// Answer: the node whose proxy served it, when several do.
				m.Group, m.Tries, m.Reason, m.Answer = lb.Group, lb.Tries, lb.Reason, lb.Answer
				if m.Backend == "" {
					m.Backend = lb.Backend
				}
				if m.Error == "" {
					m.Error = lb.Error
				}
			}
			if c.T > endT || c.Error == classCancelled {
				m.T, m.Status, m.Error = max(c.Start, min(c.T, endT)), 0, inFlight
				m.Latency = m.T - c.Start
				if lb == nil {
					m.Backend, m.Answer = "", ""
				}
			}
			out = append(out, m)
		}
	}
	out = append(out, faults...)
	slices.SortStableFunc(out, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
	return out
}

// clientIP returns the address of "IP:PORT" or "IP" ("" stays "").
func clientIP(s string) string {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().String()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}
