package attempt

import (
	"testing"
	"time"
)

func TestParseConditions(t *testing.T) {
	def, _ := ParseConditions(nil)
	if def != Error|Timeout {
		t.Fatalf("default %b", def)
	}
	c, err := ParseConditions([]string{"error", "timeout", "http_502", "non_idempotent"})
	if err != nil || c != Error|Timeout|HTTP502|NonIdempotent {
		t.Fatalf("%b %v", c, err)
	}
	if off, err := ParseConditions([]string{"off"}); off != 0 || err != nil {
		t.Fatalf("off: %b %v", off, err)
	}
	for _, bad := range [][]string{{"off", "error"}, {"http_418"}} {
		if _, err := ParseConditions(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestAfter(t *testing.T) {
	def := Policy{On: Error | Timeout}
	with502 := Policy{On: Error | Timeout | HTTP502 | HTTP404}
	get := Request{Method: "GET", Tries: 1, MaxTries: 3}
	last := Request{Method: "GET", Tries: 3, MaxTries: 3}
	post := Request{Method: "POST", Tries: 1, MaxTries: 3}
	cases := []struct {
		name string
		p    Policy
		req  Request
		try  Try
		want Decision
	}{
		{"200 passes", def, get, Try{Outcome: Answered, Status: 200, Sent: true}, Decision{Status: 200}},
		{"500 not listed passes as is", def, get, Try{Outcome: Answered, Status: 500, Sent: true}, Decision{Status: 500}},
		{"refused: next", def, get, Try{Outcome: Refused}, Decision{Failed: true, Next: true, Status: 502, Class: "refused"}},
		{"refused on the last try: 502", def, last, Try{Outcome: Refused}, Decision{Failed: true, Status: 502, Class: "refused"}},
		{"read timeout on the last try: 504", def, last, Try{Outcome: ReadTimeout, Sent: true}, Decision{Failed: true, Status: 504, Class: "timeout"}},
		{"connect timeout: next", def, get, Try{Outcome: ConnectTimeout}, Decision{Failed: true, Next: true, Status: 504, Class: "timeout"}},
		{"reset with proxy_next_upstream off: 502", Policy{}, get, Try{Outcome: Reset, Sent: true}, Decision{Failed: true, Status: 502, Class: "reset"}},
		{"invalid header not listed: 502", def, get, Try{Outcome: Invalid, Sent: true}, Decision{Failed: true, Status: 502, Class: "invalid"}},
		{"listed 502: next, blamed", with502, get, Try{Outcome: Answered, Status: 502, Sent: true}, Decision{Failed: true, Next: true, Status: 502}},
		{"listed 502 on the last try: passes, not blamed", with502, last, Try{Outcome: Answered, Status: 502, Sent: true}, Decision{Status: 502}},
		{"listed 404: next, not blamed", with502, get, Try{Outcome: Answered, Status: 404, Sent: true}, Decision{Next: true, Status: 404}},
		{"POST sent, timeout: not passed on", def, post, Try{Outcome: ReadTimeout, Sent: true}, Decision{Failed: true, Status: 504, Class: "timeout"}},
		{"POST refused (not sent): passed on", def, post, Try{Outcome: Refused}, Decision{Failed: true, Next: true, Status: 502, Class: "refused"}},
		{"POST sent with non_idempotent: passed on", Policy{On: Error | Timeout | NonIdempotent}, post, Try{Outcome: Reset, Sent: true}, Decision{Failed: true, Next: true, Status: 502, Class: "reset"}},
		{"tries limit 1", Policy{On: Error, Tries: 1}, get, Try{Outcome: Refused}, Decision{Failed: true, Status: 502, Class: "refused"}},
		{"time limit spent", Policy{On: Error, Timeout: time.Second}, Request{Method: "GET", Tries: 1, MaxTries: 3}, Try{Outcome: Refused}, Decision{Failed: true, Status: 502, Class: "refused"}},
	}
	for _, c := range cases {
		now := time.Duration(0)
		if c.p.Timeout > 0 {
			now = 2 * time.Second
		}
		if got := c.p.After(now, c.req, c.try); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}
