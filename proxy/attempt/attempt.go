// Package attempt decides, after each try of a request on a server, what
// nginx's upstream module would do next: pass it to another server, or end
// it with a status. It also says whether the try counts as a failure of the
// server (for max_fails). It is a pure core: the simulator and the real
// proxy both call it.
package attempt

import (
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
)

// Condition is one of proxy_next_upstream's conditions, as a bit.
type Condition uint32

// The conditions of proxy_next_upstream.
const (
	// Error: connecting failed (refused), or the connection broke (reset)
	// while sending the request or reading the response header.
	Error Condition = 1 << iota
	// Timeout: connecting or reading the response header timed out.
	Timeout
	// InvalidHeader: the server sent an empty or invalid response.
	InvalidHeader
	HTTP500
	HTTP502
	HTTP503
	HTTP504
	HTTP403
	HTTP404
	HTTP429
	// NonIdempotent allows passing on POST, LOCK and PATCH requests that
	// were already sent.
	NonIdempotent
)

var conditionNames = map[string]Condition{
	"error": Error, "timeout": Timeout, "invalid_header": InvalidHeader,
	"http_500": HTTP500, "http_502": HTTP502, "http_503": HTTP503, "http_504": HTTP504,
	"http_403": HTTP403, "http_404": HTTP404, "http_429": HTTP429, "non_idempotent": NonIdempotent,
}

// ParseConditions reads proxy_next_upstream's words. Empty means nginx's
// default, "error timeout"; "off" turns passing on off.
func ParseConditions(words []string) (Condition, error) {
	if len(words) == 0 {
		return Error | Timeout, nil
	}
	var c Condition
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "off" {
			if len(words) > 1 {
				return 0, i18n.Errorf("off cannot be combined with other conditions")
			}
			return 0, nil
		}
		bit, ok := conditionNames[w]
		if !ok {
			return 0, i18n.Errorf("unknown condition %q", units.Cut(w))
		}
		c |= bit
	}
	return c, nil
}

// statusCondition returns the condition of an upstream status, or 0.
func statusCondition(status int) Condition {
	switch status {
	case 500:
		return HTTP500
	case 502:
		return HTTP502
	case 503:
		return HTTP503
	case 504:
		return HTTP504
	case 403:
		return HTTP403
	case 404:
		return HTTP404
	case 429:
		return HTTP429
	}
	return 0
}

// Outcome is what one try on a server gave.
type Outcome int

// The outcomes of a try.
const (
	// Answered: the server sent a response with Status.
	Answered Outcome = iota
	// Refused: the connection was refused (nothing listens).
	Refused
	// Reset: the connection broke before the response header arrived.
	Reset
	// ConnectTimeout: no connection within proxy_connect_timeout.
	ConnectTimeout
	// ReadTimeout: no response header within proxy_read_timeout.
	ReadTimeout
	// Invalid: the response was not valid HTTP.
	Invalid
)

var outcomeNames = [...]string{"answered", "refused", "reset", "timeout", "timeout", "invalid"}

// Class returns the error class written in histories: refused, reset,
// timeout, invalid, or "" for an answer.
func (o Outcome) Class() string {
	if o == Answered {
		return ""
	}
	return outcomeNames[o]
}

// Policy is a group's retry policy: proxy_next_upstream with its _tries and
// _timeout.
type Policy struct {
	// On is the set of conditions that pass a request on. Default (from
	// ParseConditions(nil)): Error|Timeout.
	On Condition
	// Tries limits the tries of one request, 0 for no limit (but never
	// more than the group's servers). Default 0.
	Tries int
	// Timeout limits the time from the first try during which a request
	// may be passed on, 0 for no limit. Default 0.
	Timeout time.Duration
}

// Try is one try's result as the decision needs it.
type Try struct {
	// Outcome is what the try gave.
	Outcome Outcome
	// Status is the server's status when Outcome is Answered.
	Status int
	// Sent is true when the request had been sent to the server (always,
	// except for Refused and ConnectTimeout).
	Sent bool
}

// Decision is what to do after a try.
type Decision struct {
	// Failed: the try counts as a failure of the server (max_fails).
	Failed bool
	// Next: pass the request to another server.
	Next bool
	// Status is the status sent to the client when Next is false: the
	// server's own status for an answer, 502 for an error, 504 for a
	// timeout.
	Status int
	// Class is the error class for the history ("" for an answer).
	Class string
}

// Request is what the decision needs to know of the request.
type Request struct {
	// Method is the HTTP method; POST, LOCK and PATCH are not idempotent.
	Method string
	// Started is when the first try began (for Policy.Timeout).
	Started time.Duration
	// Tries is how many tries have been made, this one included.
	Tries int
	// MaxTries is how many tries the group allows (the number of its
	// servers, as nginx counts them).
	MaxTries int
}

// After decides what follows a try, as ngx_http_upstream_next and
// ngx_http_upstream_test_next do:
//   - an answer whose status is not among the conditions goes to the client
//     as is, and the server is fine;
//   - an error, timeout or invalid header is a failure of the server;
//   - a status among the conditions is a failure only when the request is
//     passed on (ngx_http_upstream_test_next declines on the last try, and
//     the answer then goes to the client as a success of the server), and
//     403 and 404 never blame the server;
//   - the request is passed on if its condition is in the policy, tries
//     and time remain, and it is not a non-idempotent request that was
//     already sent (unless non_idempotent is on);
//   - otherwise it ends: 504 after a timeout, 502 after an error or an
//     invalid header, and the server's own status after an answer.
func (p Policy) After(now time.Duration, req Request, t Try) Decision {
	var cond Condition
	var d Decision
	switch t.Outcome {
	case Answered:
		cond = statusCondition(t.Status)
		if cond == 0 || p.On&cond == 0 {
			return Decision{Status: t.Status}
		}
		d = Decision{Status: t.Status}
	case Refused, Reset:
		cond, d = Error, Decision{Failed: true, Status: 502, Class: t.Outcome.Class()}
	case Invalid:
		cond, d = InvalidHeader, Decision{Failed: true, Status: 502, Class: t.Outcome.Class()}
	case ConnectTimeout, ReadTimeout:
		cond, d = Timeout, Decision{Failed: true, Status: 504, Class: t.Outcome.Class()}
	}
	if p.On&cond == 0 {
		return d
	}
	if t.Sent && !Idempotent(req.Method) && p.On&NonIdempotent == 0 {
		return d
	}
	max := req.MaxTries
	if p.Tries > 0 && p.Tries < max {
		max = p.Tries
	}
	if req.Tries >= max {
		return d
	}
	if p.Timeout > 0 && now-req.Started >= p.Timeout {
		return d
	}
	d.Next = true
	if t.Outcome == Answered {
		d.Failed = cond != HTTP403 && cond != HTTP404
	}
	return d
}

// Idempotent reports whether a request of method may be sent to another
// server after it was sent to one: every method but POST, LOCK and PATCH
// (nginx's ngx_http_upstream_non_idempotent list), any case.
func Idempotent(method string) bool {
	switch strings.ToUpper(method) {
	case "POST", "LOCK", "PATCH":
		return false
	}
	return true
}
