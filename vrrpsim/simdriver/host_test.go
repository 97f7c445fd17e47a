package simdriver

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/vrrpsim"
)

// The routers' addresses and their virtual address.
var ipA, ipB, vip = netip.MustParseAddr("10.77.0.11"), netip.MustParseAddr("10.77.0.12"), netip.MustParsePrefix("10.77.0.100/24")

func cfg(prio uint8, ip netip.Addr) vrrpsim.Config {
	return vrrpsim.Config{Name: "VI_1", VRID: 51, Priority: prio, PrimaryIP: ip, VIPs: []netip.Prefix{vip},
		AuthType: vrrpsim.AuthPass, AuthPass: "1111"}
}

// pair builds two routers and a client on one segment with 100 µs latency.
type pair struct {
	k              *sim.Kernel
	r1, r2, client *sim.Host
	h1, h2         *Host
	log            *history.Log
}

func newPair(t *testing.T, c1, c2 vrrpsim.Config, scripts ...Script) *pair {
	t.Helper()
	p := &pair{k: sim.NewKernel(1), log: &history.Log{}}
	n := sim.NewNetwork(p.k)
	seg, _ := n.AddSegment("lan", sim.Link{Latency: 100 * time.Microsecond})
	book := NewJournal(p.log)
	mk := func(name, addr string) *sim.Host {
		h, _ := n.AddHost(name)
		if _, err := h.Attach("eth0", seg, netip.MustParsePrefix(addr), sim.Link{}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	p.r1, p.r2, p.client = mk("r1", "10.77.0.11/24"), mk("r2", "10.77.0.12/24"), mk("client", "10.77.0.50/24")
	p.h1, p.h2 = NewHost(p.k, p.r1, book), NewHost(p.k, p.r2, book)
	for _, s := range scripts {
		p.h1.AddScript(s)
		p.h2.AddScript(s)
	}
	c1.PrimaryIP, c2.PrimaryIP = netip.Addr{}, netip.Addr{}
	if err := p.h1.AddInstance("eth0", c1); err != nil {
		t.Fatal(err)
	}
	if err := p.h2.AddInstance("eth0", c2); err != nil {
		t.Fatal(err)
	}
	p.h1.Start()
	p.h2.Start()
	return p
}

// ping sends one packet from the client to the VIP and returns the host
// that got it ("" if nobody did).
func (p *pair) ping(t *testing.T) string {
	t.Helper()
	got := ""
	for _, h := range []*sim.Host{p.r1, p.r2} {
		h := h
		h.Listen(1, func(*sim.Iface, sim.Packet) { got = h.Name() })
	}
	p.client.Iface("eth0").Send(sim.Packet{Dst: vip.Addr(), Proto: 1, Payload: []byte("ping")})
	p.k.Run(p.k.Now() + time.Millisecond)
	return got
}

func TestSimVIPFollowsTheMaster(t *testing.T) {
	p := newPair(t, cfg(150, ipA), cfg(100, ipB))
	p.k.Run(5 * time.Second)
	if got := p.ping(t); got != "r1" {
		t.Fatalf("VIP answered by %q before the crash, want r1", got)
	}
	p.r1.Crash()
	// Until r2 takes over and announces itself, the VIP is a black hole.
	if got := p.ping(t); got != "" {
		t.Fatalf("VIP answered by %q while nobody holds it", got)
	}
	p.k.Run(p.k.Now() + vrrpsim.MasterDownInterval(2, 100, time.Second))
	if got := p.ping(t); got != "r2" {
		t.Fatalf("VIP answered by %q after the takeover, want r2", got)
	}
	// r1 boots again and preempts; its gratuitous ARP moves the VIP back.
	p.r1.Restore()
	p.k.Run(p.k.Now() + vrrpsim.MasterDownInterval(2, 150, time.Second) + time.Millisecond)
	if got := p.ping(t); got != "r1" {
		t.Fatalf("VIP answered by %q after r1 preempted, want r1", got)
	}
	if p.h2.Routers()[0].State() != vrrpsim.StateBackup {
		t.Fatalf("r2 is %v after r1 preempted", p.h2.Routers()[0].State())
	}
}

func TestSimTrackScriptMovesMastership(t *testing.T) {
	c1 := cfg(150, ipA)
	c1.Tracks = []vrrpsim.Track{{Name: "chk_nginx", Weight: -60, Fall: 2, Rise: 2}}
	script := Script{Name: "chk_nginx", Interval: 2 * time.Second, OK: true}
	p := newPair(t, c1, cfg(100, ipB), script)
	p.k.Run(10 * time.Second)
	if s := p.h1.Routers()[0].State(); s != vrrpsim.StateMaster {
		t.Fatalf("r1 is %v, want MASTER", s)
	}
	// Scripts run at even seconds; the run of t=10 s has already succeeded.
	// From now on the check fails: at 12 s (one failure) and at 14 s (the
	// second: fall 2), when r1's priority drops to 90. Its next advert
	// carries 90 < 100; r2 preempts when its down timer, last reset by r1's
	// advert of 13.414 s, runs out.
	p.h1.SetScript("chk_nginx", false)
	p.k.Run(20 * time.Second)
	if p.h1.Routers()[0].Priority() != 90 {
		t.Fatalf("r1 priority %d, want 90", p.h1.Routers()[0].Priority())
	}
	var dropAt, takeAt time.Duration
	for _, e := range p.log.Events() {
		if e.Kind == history.KindVRRP && e.Router == "r1" && e.Priority == 90 && dropAt == 0 {
			dropAt = e.T.Duration()
		}
		if e.Kind == history.KindVRRP && e.Router == "r2" && e.To == "MASTER" {
			takeAt = e.T.Duration()
		}
	}
	if dropAt != 14*time.Second {
		t.Fatalf("priority dropped at %v, want 14s (the second failed run)", dropAt)
	}
	// r1 is master since 3.414062 s and sends at 3.414062 + k s; the last
	// advert r2 accepted is the one of 13.414062 s (priority 150), arriving
	// 100 µs later; the one of 14.414062 s carries 90 and is discarded.
	want := 13414062*time.Microsecond + 100*time.Microsecond + vrrpsim.MasterDownInterval(2, 100, time.Second)
	if takeAt != want {
		t.Fatalf("r2 took over at %v, want %v", takeAt, want)
	}
	// The check recovers (rise 2): priority back to 150, r1 preempts.
	p.h1.SetScript("chk_nginx", true)
	p.k.Run(30 * time.Second)
	if s := p.h1.Routers()[0].State(); s != vrrpsim.StateMaster || p.h1.Routers()[0].Priority() != 150 {
		t.Fatalf("after recovery r1 is %v with priority %d", s, p.h1.Routers()[0].Priority())
	}
}

func TestSimStopAndStart(t *testing.T) {
	p := newPair(t, cfg(150, ipA), cfg(100, ipB))
	p.k.Run(5 * time.Second)
	p.h1.Stop()
	stopAt := p.k.Now()
	p.k.Run(6 * time.Second)
	if s := p.h2.Routers()[0].State(); s != vrrpsim.StateMaster {
		t.Fatalf("r2 is %v one second after r1 stopped", s)
	}
	var took time.Duration
	for _, e := range p.log.Events() {
		if e.Router == "r2" && e.To == "MASTER" {
			took = e.T.Duration() - stopAt
		}
	}
	if want := 609375*time.Microsecond + 100*time.Microsecond; took != want {
		t.Fatalf("takeover %v after the stop, want Skew_Time + latency = %v", took, want)
	}
	sent, _ := p.h1.Stats()
	p.k.Run(8 * time.Second)
	if again, _ := p.h1.Stats(); again != sent {
		t.Fatalf("a stopped router sent %d more adverts", again-sent)
	}
	p.h1.Start()
	p.k.Run(12 * time.Second)
	if s := p.h1.Routers()[0].State(); s != vrrpsim.StateMaster {
		t.Fatalf("r1 is %v after starting again, want MASTER (it preempts)", s)
	}
}

func TestSimLinkDownFaultsTheMaster(t *testing.T) {
	p := newPair(t, cfg(150, ipA), cfg(100, ipB))
	p.k.Run(10 * time.Second)
	r1 := p.h1.Routers()[0]
	if r1.State() != vrrpsim.StateMaster {
		t.Fatalf("r1 is %v, want MASTER", r1.State())
	}
	// r1 last advertised at 9.414062 s (master since 3.414062 s).
	downAt := p.k.Now()
	p.r1.Iface("eth0").SetUp(false)
	if r1.State() != vrrpsim.StateFault {
		t.Fatalf("r1 is %v at once after its link went down, want FAULT", r1.State())
	}
	if p.r1.Iface("eth0").HasAddr(vip.Addr()) {
		t.Fatal("r1 kept the VIP in FAULT")
	}
	// Its priority-0 adverts die on the dead link: r2 waits out its down
	// timer, last reset by the advert of 9.414062 s.
	p.k.Run(20 * time.Second)
	var took, back time.Duration
	for _, e := range p.log.Events() {
		if e.Kind == history.KindVRRP && e.Router == "r2" && e.To == "MASTER" {
			took = e.T.Duration()
		}
		if e.Kind == history.KindVRRP && e.Router == "r1" && e.From == "FAULT" {
			back = e.T.Duration()
		}
	}
	want := 9414062*time.Microsecond + 100*time.Microsecond + vrrpsim.MasterDownInterval(2, 100, time.Second)
	if took != want || took <= downAt {
		t.Fatalf("r2 took over at %v, want %v", took, want)
	}
	if back != 0 {
		t.Fatalf("r1 left FAULT at %v with its link down", back)
	}
	// The link returns: r1 goes to BACKUP, ignores r2's lower priority and
	// preempts when its fresh down timer runs out.
	upAt := p.k.Now()
	p.r1.Iface("eth0").SetUp(true)
	if r1.State() != vrrpsim.StateBackup {
		t.Fatalf("r1 is %v after its link came back, want BACKUP", r1.State())
	}
	p.k.Run(upAt + vrrpsim.MasterDownInterval(2, 150, time.Second) + time.Millisecond)
	if r1.State() != vrrpsim.StateMaster || p.h2.Routers()[0].State() != vrrpsim.StateBackup {
		t.Fatalf("r1 %v, r2 %v one Master_Down_Interval after the link came back", r1.State(), p.h2.Routers()[0].State())
	}
	if got := p.ping(t); got != "r1" {
		t.Fatalf("VIP answered by %q after r1 preempted, want r1", got)
	}
}

func TestSimLinkDownWhileStoppedStartsInFault(t *testing.T) {
	p := newPair(t, cfg(150, ipA), cfg(100, ipB))
	p.k.Run(5 * time.Second)
	p.h1.Stop()
	p.r1.Iface("eth0").SetUp(false)
	p.h1.Start()
	if s := p.h1.Routers()[0].State(); s != vrrpsim.StateFault {
		t.Fatalf("r1 started as %v with its link down, want FAULT", s)
	}
	// Frozen (SIGSTOP) when the link returns: it learns on thaw.
	p.h1.Pause()
	p.r1.Iface("eth0").SetUp(true)
	if s := p.h1.Routers()[0].State(); s != vrrpsim.StateFault {
		t.Fatalf("a frozen agent moved to %v", s)
	}
	p.h1.Resume()
	p.k.Run(p.k.Now() + time.Millisecond)
	if s := p.h1.Routers()[0].State(); s != vrrpsim.StateBackup {
		t.Fatalf("r1 is %v after the thaw, want BACKUP", s)
	}
}

// TestSimUnicastPeers runs a unicast pair in the simulator: adverts go to
// the peer, not the group, and are taken; a pair where only one side has
// unicast_peer hears nothing of each other (each drops the other's
// adverts as addr_list_err, as keepalived does) and both become master.
func TestSimUnicastPeers(t *testing.T) {
	c1, c2 := cfg(150, ipA), cfg(100, ipB)
	c1.UnicastPeers, c2.UnicastPeers = []netip.Addr{ipB}, []netip.Addr{ipA}
	p := newPair(t, c1, c2)
	p.k.Run(10 * time.Second)
	r1, r2 := p.h1.Routers()[0], p.h2.Routers()[0]
	if r1.State() != vrrpsim.StateMaster || r2.State() != vrrpsim.StateBackup {
		t.Fatalf("unicast pair: r1 %v, r2 %v; want MASTER and BACKUP", r1.State(), r2.State())
	}
	if s := r2.Stats(); s.Dropped() != 0 || s[vrrpsim.StatAdvertRcvd] < 5 {
		t.Fatalf("r2's counters %v: want r1's adverts taken, none dropped", s.Map(true))
	}

	c2.UnicastPeers = nil
	p = newPair(t, c1, c2)
	p.k.Run(10 * time.Second)
	r1, r2 = p.h1.Routers()[0], p.h2.Routers()[0]
	if r1.State() != vrrpsim.StateMaster || r2.State() != vrrpsim.StateMaster {
		t.Fatalf("mixed pair: r1 %v, r2 %v; want both MASTER", r1.State(), r2.State())
	}
	for _, r := range []*vrrpsim.Router{r1, r2} {
		if s := r.Stats(); s[vrrpsim.StatAddrListErr] == 0 || s[vrrpsim.StatAddrListErr] != s.Dropped() || s[vrrpsim.StatAdvertRcvd] != 0 {
			t.Errorf("%s: counters %v, want only addr_list_err drops", r.Config().PrimaryIP, s.Map(true))
		}
	}
}

// Adverts a router discards are counted and written at the end, one
// vrrp_stats event per cause and instance; a run that discards nothing
// gets no event (so its history is as it was).
func TestSimRecordDrops(t *testing.T) {
	stats := func(p *pair) []history.Event {
		var out []history.Event
		for _, e := range p.log.Events() {
			if e.Kind == history.KindVRRPStats {
				out = append(out, e)
			}
		}
		return out
	}
	p := newPair(t, cfg(150, ipA), cfg(100, ipB))
	p.k.Run(10 * time.Second)
	p.h1.RecordDrops()
	p.h2.RecordDrops()
	if got := stats(p); len(got) != 0 {
		t.Fatalf("agreeing routers recorded drops: %+v", got)
	}

	c1, c2 := cfg(150, ipA), cfg(100, ipB)
	c1.AuthType, c1.AuthPass = vrrpsim.AuthPass, "secret1"
	c2.AuthType, c2.AuthPass = vrrpsim.AuthPass, "secret2"
	p = newPair(t, c1, c2)
	p.k.Run(10 * time.Second)
	p.h1.RecordDrops()
	p.h2.RecordDrops()
	got := stats(p)
	byRouter := map[string]history.Event{}
	for _, e := range got {
		if e.Counter != "auth_failure" || e.Count == 0 || e.VRID == 0 || e.Instance == "" || e.T != history.Stamp(10*time.Second) {
			t.Errorf("unexpected stats event %+v", e)
		}
		byRouter[e.Router] = e
	}
	// Both are MASTER (split brain): each discards the other's adverts,
	// about one a second.
	for _, r := range []string{"r1", "r2"} {
		if e, ok := byRouter[r]; !ok || e.Count < 5 {
			t.Errorf("%s: auth_failure %+v, want one event counting about 10 adverts", r, e)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d stats events, want 2 (one per router and cause)", len(got))
	}
}

// TestScriptsRunInTheOrderAdded checks that track scripts due at the
// same time report in the order they were added, so that the priority
// steps they cause come in one order on every run (a map of scripts gave
// a random one).
func TestScriptsRunInTheOrderAdded(t *testing.T) {
	const n = 12
	c1 := cfg(150, ipA)
	var scripts []Script
	var want []string
	for i := range n {
		name := "chk_" + string(rune('a'+i))
		scripts = append(scripts, Script{Name: name, Interval: time.Second, OK: true})
		c1.Tracks = append(c1.Tracks, vrrpsim.Track{Name: name, Weight: -1, Fall: 1, Rise: 1})
		want = append(want, "track script "+name+" failed")
	}
	p := newPair(t, c1, cfg(100, ipB), scripts...)
	p.k.Run(5 * time.Second)
	for _, s := range scripts {
		if err := p.h1.SetScript(s.Name, false); err != nil {
			t.Fatal(err)
		}
	}
	p.k.Run(6 * time.Second)
	var got []string
	for _, e := range p.log.Events() {
		if e.Kind == history.KindVRRP && e.Router == "r1" && e.T.Duration() == 6*time.Second && e.Priority != 0 {
			got = append(got, e.Reason)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("priority steps at 6s:\n%q\nwant the order the scripts were added:\n%q", got, want)
	}
}
