package flow

import (
	"math/rand/v2"
	"time"

	"github.com/lblab/lblab/proxy/attempt"
)

// The life of a tcp session in a group, as nginx's stream proxy lives
// it: a try is a connect; a refused or timed-out connect is a failed try
// (max_fails, fail_timeout), passed on to the next server per
// proxy_next_upstream ("error" and "timeout"); an accepted connect is the
// session's last try, and the bytes relayed after it are no decision of
// the group's: the end of the session frees the server, whether it closed
// cleanly or broke. The real relay (proxy/server) and the simulator
// (proxy/simproxy) drive a session the same way:
//
//	g.Start(&f, now, Request{Client: addr})
//	st := f.Next(now, rnd)
//	for st.Kind == Try {
//		out := connect to st.Peer (Answered, Refused or ConnectTimeout)
//		st = f.Connect(now, out, clientGone, rnd)
//	}
//	if st.Kind == Answer { relay; f.Close(now) }
//	// End: no server could be reached (st.Class)

// Connect takes how the connect of the current try went at now: out is
// attempt.Answered (accepted), attempt.Refused or attempt.ConnectTimeout;
// gone says the client left while it was under way (a failed connect
// then ends the session, client_closed, not the server's failure). It
// returns Answer (relay, then Close) when the connect was accepted, Try
// when the session passes on to another server, End when it is over
// (Step.Class: the last try's class, or no_server when no server was
// left to try).
func (f *Flight) Connect(now time.Duration, out attempt.Outcome, gone bool, rnd *rand.Rand) Step {
	if out == attempt.Answered {
		return f.Result(now, Result{Try: attempt.Try{Outcome: attempt.Answered, Sent: true}})
	}
	st := f.Result(now, Result{Try: attempt.Try{Outcome: out}, Gone: gone})
	if st.Kind == Retry {
		return f.Next(now, rnd)
	}
	return st
}

// Close ends a session whose connect was accepted (Connect said Answer)
// at now, when both directions of the relay have ended, cleanly or not:
// the server is freed, not failed (a reset after the connect is no
// failure of nginx's stream upstream).
func (f *Flight) Close(now time.Duration) { f.Finish(now, "", false) }
