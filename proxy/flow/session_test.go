package flow

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/units"
)

// session runs one tcp session through g at now, each connect ending as
// outs says for its server (Answered when it names none), and returns
// the servers it tried and how it ended.
func session(g *Group, now time.Duration, outs map[string]attempt.Outcome, gone bool) string {
	var f Flight
	g.Start(&f, now, Request{})
	st := f.Next(now, nil)
	var tried []string
	for st.Kind == Try {
		name := st.Peer.Name()
		tried = append(tried, name)
		st = f.Connect(now, outs[name], gone, nil)
	}
	end := "answer"
	if st.Kind == Answer {
		f.Close(now)
	} else {
		end = fmt.Sprintf("end %d %s", st.Status, st.Class)
	}
	return strings.Join(tried, ",") + " " + end
}

// TestSessionConnect: the life of a tcp session in the core, as the real
// relay and the simulator drive it: a refused or timed-out connect passes
// on per next_upstream, counts for max_fails (the server is skipped for
// fail_timeout), and a session whose client left during a failed connect
// ends client_closed without passing on; an accepted connect is the last
// try, and its close frees the server without a failure.
func TestSessionConnect(t *testing.T) {
	one := 1
	gc := func(on ...string) *proxy.Group {
		g := &proxy.Group{Name: "g", NextUpstream: &proxy.NextUpstream{On: on}}
		for _, a := range []string{"a:1", "b:1", "c:1"} {
			g.Servers = append(g.Servers, proxy.Server{Address: a, MaxFails: &one,
				FailTimeout: units.Duration{D: 10 * time.Second}})
		}
		return g
	}
	refuseA := map[string]attempt.Outcome{"a:1": attempt.Refused}
	for _, tt := range []struct {
		name string
		on   []string
		outs map[string]attempt.Outcome
		gone bool
		want []string // sessions at t = 0, 1s, 2s, 3s
	}{
		{"accepted", nil, nil, false, []string{"a:1 answer", "b:1 answer", "c:1 answer", "a:1 answer"}},
		{"refused passes on, then a is out for fail_timeout", nil, refuseA, false,
			[]string{"a:1,b:1 answer", "c:1 answer", "b:1 answer", "c:1 answer"}},
		{"refused with next_upstream off ends the session", []string{"off"}, refuseA, false,
			[]string{"a:1 end 502 refused", "b:1 answer", "c:1 answer", "b:1 answer"}},
		{"a connect timeout passes on per timeout", []string{"timeout"},
			map[string]attempt.Outcome{"a:1": attempt.ConnectTimeout}, false,
			[]string{"a:1,b:1 answer", "c:1 answer", "b:1 answer", "c:1 answer"}},
		{"error alone does not pass a timeout on", []string{"error"},
			map[string]attempt.Outcome{"a:1": attempt.ConnectTimeout}, false,
			[]string{"a:1 end 504 timeout", "b:1 answer", "c:1 answer", "b:1 answer"}},
		{"every server refuses", nil, map[string]attempt.Outcome{"a:1": attempt.Refused, "b:1": attempt.Refused,
			"c:1": attempt.Refused}, false, []string{"a:1,b:1,c:1 end 502 refused", " end 502 no_server",
			" end 502 no_server", " end 502 no_server"}},
		{"the client left during a refused connect", nil, refuseA, true,
			[]string{"a:1 end 499 client_closed", "b:1 answer", "c:1 answer", "a:1 end 499 client_closed"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewGroup(gc(tt.on...), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range 4 {
				got = append(got, session(g, time.Duration(i)*time.Second, tt.outs, tt.gone))
			}
			if strings.Join(got, " | ") != strings.Join(tt.want, " | ") {
				t.Errorf("sessions\n got  %s\n want %s", strings.Join(got, " | "), strings.Join(tt.want, " | "))
			}
		})
	}
}
