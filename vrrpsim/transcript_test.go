package vrrpsim

import (
	"fmt"
	"github.com/lblab/lblab/internal/transcripts"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// TestTranscripts plays the scripts of testdata/transcripts/*.txt, as
// etcd-io/raft's rafttest does: each step is a command, "----", and what
// the executor and its state machine did, one line an output. A change of
// behaviour shows as a readable diff of these files; go test -run
// TestTranscripts -update rewrites them. The commands:
//
//	router NAME ip=A [prio=N] [state=MASTER] [version=3] [int=D] [nopreempt]
//	       [preempt_delay=D] [peers=A,B] [garp=D] [repeat=N] [pass=P]
//	       [notify_master=CMD] [notify=CMD] [track=NAME:WEIGHT[:FALL:RISE]]
//	       [track_if=NAME:WEIGHT]
//	startup T | shutdown T | tick T | halt T REASON...
//	advert T from=A [prio=N] [ttl=N] [dst=A] [vrid=N] [int=D] [pass=P] [version=N]
//	script T NAME ok|fail
//	link T NAME up|down
//
// Times T are seconds since the start ("3.609375"). Every step ends with
// the executor's next deadline.
func TestTranscripts(t *testing.T) {
	transcripts.Run(t, "testdata/transcripts/*.txt", "go test ./vrrpsim -run TestTranscripts -update", playTranscript)
}

// playTranscript runs every step of src and returns src with each step's
// output replaced by what happened.
func playTranscript(t *testing.T, name, src string) string {
	var out strings.Builder
	tr := &transcript{t: t, name: name}
	blocks := strings.Split(strings.TrimRight(src, "\n"), "\n\n")
	for i, blk := range blocks {
		if i > 0 {
			out.WriteString("\n")
		}
		cmd, _, _ := strings.Cut(blk, "\n----")
		out.WriteString(cmd + "\n")
		lines := strings.Split(cmd, "\n")
		last := lines[len(lines)-1]
		if strings.HasPrefix(last, "#") || strings.TrimSpace(last) == "" {
			continue // a comment block
		}
		out.WriteString("----\n")
		for _, l := range tr.step(last) {
			out.WriteString(l + "\n")
		}
	}
	return out.String()
}

// transcript is one script's executor and the IO that writes what it was
// asked to do.
type transcript struct {
	t    *testing.T
	name string
	x    *Executor
	cfg  Config
	out  []string
	garp int // gratuitous ARPs sent in a row, written as one line
}

func (tr *transcript) fatalf(format string, args ...any) {
	tr.t.Helper()
	tr.t.Fatalf("%s: "+format, append([]any{tr.name}, args...)...)
}

func (tr *transcript) emit(format string, args ...any) {
	tr.flushGARP()
	tr.out = append(tr.out, fmt.Sprintf(format, args...))
}

func (tr *transcript) flushGARP() {
	if tr.garp > 0 {
		tr.out = append(tr.out, fmt.Sprintf("garp x%d", tr.garp))
		tr.garp = 0
	}
}

// The transcript is the executor's IO.

func (tr *transcript) Send(src, dst netip.Addr, b []byte) error {
	p, err := Parse(b)
	if err != nil {
		tr.fatalf("sent bytes that do not parse: %v", err)
	}
	tr.emit("send %v -> %v v%d prio %d", src, dst, p.Version, p.Priority)
	return nil
}
func (tr *transcript) AddVIP(v netip.Prefix) error    { tr.emit("add %v", v); return nil }
func (tr *transcript) RemoveVIP(v netip.Prefix) error { tr.emit("remove %v", v); return nil }
func (tr *transcript) GARP(netip.Addr) error          { tr.garp++; return nil }
func (tr *transcript) Notify(cmds [][]string, to State) {
	tr.emit("run %d notify command(s) for %v", len(cmds), to)
}
func (tr *transcript) Logf(string, ...any) {}
func (tr *transcript) Record(e history.Event) {
	switch e.Kind {
	case history.KindVRRP:
		tr.emit("record %s %s -> %s prio %d: %s", e.Kind, e.From, e.To, e.Priority, e.Reason)
	case history.KindVIP:
		tr.emit("record %s %s owner=%q prev=%q: %s", e.Kind, e.VIP, e.Owner, e.Prev, e.Reason)
	default:
		tr.emit("record %s %s: %s", e.Kind, e.To, e.Reason)
	}
}

// step runs one command and returns its output lines.
func (tr *transcript) step(line string) []string {
	tr.t.Helper()
	tr.out = nil
	words := strings.Fields(line)
	args := map[string]string{}
	var pos []string
	for _, w := range words[1:] {
		if k, v, ok := strings.Cut(w, "="); ok {
			args[k] = v
		} else {
			pos = append(pos, w)
		}
	}
	if words[0] == "router" {
		tr.newRouter(pos, args)
		return tr.out
	}
	if tr.x == nil || len(pos) == 0 {
		tr.fatalf("%q: want a router first, and a time", line)
	}
	now := tr.seconds(pos[0])
	switch words[0] {
	case "startup":
		tr.x.Startup(now)
	case "shutdown":
		tr.x.Shutdown(now)
	case "tick":
		tr.x.Tick(now)
	case "halt":
		tr.x.Halt(now, strings.Join(pos[1:], " "))
	case "advert":
		for _, a := range tr.x.Receive(now, tr.advert(args)) {
			if a.Kind == ActDrop {
				tr.emit("drop %v: %s", a.Cause, a.Reason)
			}
		}
	case "script":
		tr.x.TrackResult(now, pos[1], pos[2] == "ok")
	case "link":
		tr.x.LinkChange(now, pos[1], pos[2] == "up")
	default:
		tr.fatalf("unknown command %q", words[0])
	}
	tr.flushGARP()
	r := tr.x.Router()
	state := fmt.Sprintf("state %v prio %d", r.State(), r.Priority())
	if at, ok := tr.x.Deadline(); ok {
		state += fmt.Sprintf(", next deadline %s", secs(at))
	}
	return append(tr.out, state)
}

func (tr *transcript) newRouter(pos []string, args map[string]string) {
	c := Config{Name: "VI_1", VRID: 51, VIPs: []netip.Prefix{netip.MustParsePrefix("10.77.0.100/24")}, Interface: "eth0",
		PrimaryIP: tr.addr(args["ip"]), Priority: uint8(tr.int(args["prio"], 0)), Version: tr.int(args["version"], 0),
		NoPreempt: hasWord(pos, "nopreempt"), GARPRepeat: tr.int(args["repeat"], 0)}
	if len(pos) > 0 {
		c.Name = pos[0]
	}
	if s, ok := args["state"]; ok {
		c.InitialState, _ = ParseState(s)
	}
	if s, ok := args["int"]; ok {
		c.Interval = tr.seconds(s)
	}
	if s, ok := args["preempt_delay"]; ok {
		c.PreemptDelay = tr.seconds(s)
	}
	if s, ok := args["garp"]; ok {
		c.GARPDelay = tr.seconds(s)
	}
	if s, ok := args["pass"]; ok {
		c.AuthType, c.AuthPass = AuthPass, s
	}
	if s, ok := args["peers"]; ok {
		for _, a := range strings.Split(s, ",") {
			c.UnicastPeers = append(c.UnicastPeers, tr.addr(a))
		}
	}
	for _, k := range []string{"notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"} {
		if s, ok := args[k]; ok {
			if c.Notify == nil {
				c.Notify = map[string]string{}
			}
			c.Notify[k] = s
		}
	}
	if s, ok := args["track"]; ok {
		f := strings.Split(s, ":")
		tk := Track{Name: f[0], Weight: tr.int(f[1], 0)}
		if len(f) == 4 {
			tk.Fall, tk.Rise = tr.int(f[2], 1), tr.int(f[3], 1)
		}
		c.Tracks = append(c.Tracks, tk)
	}
	if s, ok := args["track_if"]; ok {
		f := strings.Split(s, ":")
		c.TrackInterfaces = append(c.TrackInterfaces, TrackInterface{Name: f[0], Weight: tr.int(f[1], 0)})
	}
	x, err := NewExecutor("r", c, tr)
	if err != nil {
		tr.emit("error: %v", err)
		return
	}
	tr.x, tr.cfg = x, x.Config()
	r := x.Router()
	tr.emit("priority %d, interval %s, skew %s, master down interval %s", r.Priority(), secs(tr.cfg.Interval), secs(r.SkewTime()), secs(r.MasterDownInterval()))
}

// advert builds the bytes a peer of this router sends, changed by args.
func (tr *transcript) advert(args map[string]string) Received {
	c := tr.cfg
	p := &Packet{Version: uint8(tr.int(args["version"], c.Version)), Type: TypeAdvertisement, VRID: uint8(tr.int(args["vrid"], int(c.VRID))),
		Priority: uint8(tr.int(args["prio"], 100)), Interval: c.Interval, AuthType: c.AuthType, AuthData: PasswordData(c.AuthPass)}
	if s, ok := args["int"]; ok {
		p.Interval = tr.seconds(s)
	}
	if s, ok := args["pass"]; ok {
		p.AuthType, p.AuthData = AuthPass, PasswordData(s)
	}
	if p.Version == 3 {
		p.AuthType, p.AuthData = 0, [8]byte{}
	}
	for _, v := range c.VIPs {
		p.Addrs = append(p.Addrs, v.Addr())
	}
	src := tr.addr(args["from"])
	dst := GroupAddr
	if len(c.UnicastPeers) > 0 {
		dst = c.PrimaryIP
	}
	if s, ok := args["dst"]; ok {
		dst = tr.addr(s)
	}
	b, err := p.AppendMarshal(nil, src, dst)
	if err != nil {
		tr.fatalf("advert: %v", err)
	}
	return Received{Src: src, Dst: dst, TTL: uint8(tr.int(args["ttl"], 255)), Payload: b}
}

func (tr *transcript) seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tr.fatalf("want seconds, got %q", s)
	}
	return time.Duration(f * float64(time.Second))
}

func (tr *transcript) int(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		tr.fatalf("want a whole number, got %q", s)
	}
	return n
}

func (tr *transcript) addr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		tr.fatalf("want an address, got %q", s)
	}
	return a
}

func hasWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// secs writes d in seconds with no trailing zeros ("3.609375").
func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }
