package flow

import (
	"fmt"
	"github.com/lblab/lblab/internal/transcripts"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/attempt"
	"github.com/lblab/lblab/units"
)

// TestTranscripts runs the scripts of testdata/*.txt, as etcd-io/raft's
// rafttest does: each block is a command line, "----", and the core's
// output; a change of behaviour shows as a readable diff. -update writes
// the outputs of this run into the files.
//
// Commands (times in seconds, t=):
//
//	group name=G algorithm=A key=K servers=a:80,b:80 max_fails=N next=error,timeout tries=N persist=cookie|source_ip no_server=502|503|fail_open
//	start f=F t=T method=M client=IP target=/p header=name:value cookie=name:value
//	next f=F t=T
//	result f=F t=T outcome=answered|refused|reset|timeout|invalid status=N stale spent gone badbody
//	finish f=F t=T class=C failed
//	check g=G t=T server=N ok|fail detail=D
func TestTranscripts(t *testing.T) {
	transcripts.Run(t, "testdata/*.txt", "go test ./proxy/flow -run Transcripts -update",
		func(t *testing.T, _, src string) string { return runTranscript(t, src) })
}

// transcript is the state of one script.
type transcript struct {
	t       *testing.T
	groups  map[string]*Group
	flights map[string]*Flight
	rnd     *rand.Rand
	out     *strings.Builder
}

// runTranscript runs a script and returns it with every block's output
// replaced by the core's.
func runTranscript(t *testing.T, script string) string {
	tr := &transcript{t: t, groups: map[string]*Group{}, flights: map[string]*Flight{},
		rnd: rand.New(rand.NewPCG(1, 2))}
	var b strings.Builder
	lines := strings.Split(strings.TrimRight(script, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			b.WriteString(line + "\n")
			continue
		}
		b.WriteString(line + "\n----\n")
		// skip the old output: "----", the lines up to a blank one, and
		// that blank line (each output ends with one)
		if i+1 < len(lines) && lines[i+1] == "----" {
			i++
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				i++
			}
			if i+1 < len(lines) {
				i++
			}
		}
		var out strings.Builder
		tr.out = &out
		tr.run(i+1, line)
		b.WriteString(out.String() + "\n")
	}
	return b.String()
}

// args are a command's key=value words (a bare word is key=true).
type args map[string]string

func (a args) dur(t *testing.T) time.Duration {
	f, err := strconv.ParseFloat(a["t"], 64)
	if err != nil {
		t.Fatalf("t=%q: %v", a["t"], err)
	}
	return time.Duration(f * float64(time.Second))
}

func (a args) int(k string) int {
	n, _ := strconv.Atoi(a[k])
	return n
}

func (tr *transcript) printf(format string, v ...any) { fmt.Fprintf(tr.out, format+"\n", v...) }

func (tr *transcript) run(line int, cmd string) {
	t := tr.t
	words := strings.Fields(cmd)
	a := args{}
	var headers, cookies []string
	for _, w := range words[1:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			v = "true"
		}
		switch k {
		case "header":
			headers = append(headers, v)
		case "cookie":
			cookies = append(cookies, v)
		default:
			a[k] = v
		}
	}
	switch words[0] {
	case "group":
		tr.group(line, a)
	case "start":
		g := tr.groups[a["g"]]
		if g == nil {
			for _, only := range tr.groups {
				g = only
			}
		}
		f := &Flight{}
		v := &vars{target: a["target"], headers: map[string]string{}, cookies: map[string]string{}}
		for _, h := range headers {
			n, val, _ := strings.Cut(h, ":")
			v.headers[strings.ToLower(n)] = val
		}
		for _, c := range cookies {
			n, val, _ := strings.Cut(c, ":")
			v.cookies[n] = val
		}
		client := netip.MustParseAddr(or(a["client"], "10.0.0.1"))
		g.Start(f, a.dur(t), Request{Method: or(a["method"], "GET"), Client: client, Vars: v})
		tr.flights[a["f"]] = f
		tr.printf("key %q", EvalKey(g.Key(), client, v))
	case "next":
		tr.step(tr.flight(a).Next(a.dur(t), tr.rnd), tr.flight(a))
	case "result":
		f := tr.flight(a)
		r := Result{Stale: a["stale"] != "", Spent: a["spent"] != "", Gone: a["gone"] != "", BadBody: a["badbody"] != ""}
		r.Outcome = map[string]attempt.Outcome{"answered": attempt.Answered, "refused": attempt.Refused,
			"reset": attempt.Reset, "timeout": attempt.ReadTimeout, "connect_timeout": attempt.ConnectTimeout,
			"invalid": attempt.Invalid}[or(a["outcome"], "answered")]
		r.Status = a.int("status")
		r.Sent = r.Outcome != attempt.Refused && r.Outcome != attempt.ConnectTimeout
		tr.step(f.Result(a.dur(t), r), f)
	case "finish":
		f := tr.flight(a)
		f.Finish(a.dur(t), a["class"], a["failed"] != "")
		tr.printf("finished: tries %d", f.Tries())
		tr.peers(f.Group())
	case "check":
		g := tr.groups[a["g"]]
		g.CheckResult(a.dur(t), a.int("server"), a["ok"] != "", a["detail"])
		tr.peers(g)
	default:
		t.Fatalf("line %d: unknown command %q", line, words[0])
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (tr *transcript) flight(a args) *Flight {
	f := tr.flights[a["f"]]
	if f == nil {
		tr.t.Fatalf("no flight %q", a["f"])
	}
	return f
}

func (tr *transcript) group(line int, a args) {
	gc := proxy.Group{Name: or(a["name"], "g"), Algorithm: a["algorithm"], HashKey: a["key"]}
	for _, s := range strings.Split(a["servers"], ",") {
		srv := proxy.Server{Address: s}
		if a["max_fails"] != "" {
			n := a.int("max_fails")
			srv.MaxFails = &n
		}
		gc.Servers = append(gc.Servers, srv)
	}
	if a["next"] != "" || a["tries"] != "" {
		gc.NextUpstream = &proxy.NextUpstream{Tries: a.int("tries")}
		if a["next"] != "" {
			gc.NextUpstream.On = strings.Split(a["next"], ",")
		}
	}
	if a["persist"] != "" {
		gc.Persistence = &proxy.Persistence{Mode: a["persist"]}
	}
	if a["check"] != "" {
		gc.HealthCheck = &proxy.HealthCheck{Path: "/health", Interval: units.Of(time.Second),
			HealthyThreshold: 1, UnhealthyThreshold: 1}
	}
	gc.NoServer = a["no_server"]
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Port: 80, Group: gc.Name}}, Groups: []proxy.Group{gc}}
	if ps := proxy.Validate(cfg); len(ps) > 0 {
		tr.printf("invalid: %s: %s", ps[0].Path, ps[0].Msg)
		return
	}
	g, err := NewGroup(&cfg.Groups[0], 0, nil)
	if err != nil {
		tr.t.Fatalf("line %d: %v", line, err)
	}
	g.OnHealth = func(now time.Duration, server string, up bool, reason string) {
		tr.printf("health %s up=%v at %v: %s", server, up, now, reason)
	}
	tr.groups[gc.Name] = g
	tr.printf("group %s: %s, key %+v", gc.Name, g.Algorithm(), g.Key())
}

// step prints a step and the group's servers.
func (tr *transcript) step(st Step, f *Flight) {
	names := [...]string{Try: "try", Retry: "retry", Answer: "answer", End: "end"}
	s := names[st.Kind]
	if st.Peer != nil {
		s += " " + st.Peer.Name()
	}
	if st.Kind == Answer || st.Kind == End {
		s += fmt.Sprintf(" status %d", st.Status)
	}
	if st.Class != "" {
		s += " class " + st.Class
	}
	s += fmt.Sprintf(" (tries %d", f.Tries())
	if m := f.Moved(); m != "" {
		s += ", moved from " + m
	}
	if st.Kind == Answer {
		if name, ok := f.SetCookie(st.Peer); ok {
			s += ", set-cookie " + name + "=" + st.Peer.Name()
		}
	}
	tr.printf("%s)", s)
	if st.Kind != Try {
		tr.peers(f.Group())
	}
}

// peers prints the state of a group's servers the balancer keeps.
func (tr *transcript) peers(g *Group) {
	var parts []string
	for i, p := range g.Peers() {
		up, _ := g.ActiveUp(i)
		parts = append(parts, fmt.Sprintf("%s conns=%d fails=%d up=%v", p.Name(), p.Conns(), p.Fails(), up && !g.PassiveDown(i)))
	}
	tr.printf("  %s", strings.Join(parts, "; "))
}

// vars are a scripted request's variables.
type vars struct {
	target  string
	headers map[string]string
	cookies map[string]string
}

func (v *vars) Target() string            { return v.target }
func (v *vars) Header(name string) string { return v.headers[name] }
func (v *vars) Cookie(name string) (string, bool) {
	c, ok := v.cookies[name]
	return c, ok
}
