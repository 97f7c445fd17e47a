package vrrpsim

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	ipA = netip.MustParseAddr("10.77.0.11")
	ipB = netip.MustParseAddr("10.77.0.12")
	ipC = netip.MustParseAddr("10.77.0.13")
	vip = netip.MustParsePrefix("10.77.0.100/24")
)

func cfg(prio uint8, ip netip.Addr) Config {
	return Config{Name: "VI_1", VRID: 51, Priority: prio, PrimaryIP: ip, VIPs: []netip.Prefix{vip},
		AuthType: AuthPass, AuthPass: "1111"}
}

func mustRouter(t *testing.T, c Config) *Router {
	t.Helper()
	r, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// advert builds the bytes a peer with config c and priority prio sends.
func advert(t *testing.T, c Config, prio uint8) Received {
	t.Helper()
	c, err := c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p := &Packet{Version: uint8(c.Version), Type: TypeAdvertisement, VRID: c.VRID, Priority: prio, Interval: c.Interval}
	for _, v := range c.VIPs {
		p.Addrs = append(p.Addrs, v.Addr())
	}
	if c.Version == 2 {
		p.AuthType = c.AuthType
		p.AuthData = PasswordData(c.AuthPass)
	}
	b, err := p.Marshal(c.PrimaryIP, GroupAddr)
	if err != nil {
		t.Fatal(err)
	}
	return Received{Src: c.PrimaryIP, Dst: GroupAddr, TTL: 255, Payload: b}
}

func kinds(acts []Action) string {
	names := map[ActionKind]string{ActSend: "send", ActAddVIPs: "add", ActRemoveVIPs: "remove", ActGARP: "garp",
		ActState: "state", ActPriority: "prio", ActDrop: "drop"}
	var s []string
	for _, a := range acts {
		n := names[a.Kind]
		switch a.Kind {
		case ActSend:
			n += "(" + strconv.Itoa(int(a.Advert.Priority)) + ")"
		case ActState:
			n += "(" + a.To.String() + ")"
		case ActPriority:
			n += "(" + strconv.Itoa(int(a.Priority)) + ")"
		}
		s = append(s, n)
	}
	return strings.Join(s, " ")
}

func deadline(t *testing.T, r *Router) time.Duration {
	t.Helper()
	d, ok := r.Deadline()
	if !ok {
		t.Fatalf("no deadline in state %v", r.State())
	}
	return d
}

func TestTimersExactToKeepalived(t *testing.T) {
	cases := []struct {
		version  int
		prio     uint8
		interval time.Duration
		skew     time.Duration
	}{
		{2, 100, time.Second, 609375 * time.Microsecond},
		{2, 150, time.Second, 414062 * time.Microsecond},     // 106e6/256 = 414062.5 µs, truncated
		{2, 100, 2 * time.Second, 609375 * time.Microsecond}, // v2: not scaled by the interval
		{3, 100, time.Second, 609375 * time.Microsecond},
		{3, 100, 500 * time.Millisecond, 304687 * time.Microsecond},
		{3, 254, 10 * time.Millisecond, 78 * time.Microsecond},
		{2, 255, time.Second, 3906 * time.Microsecond},
	}
	for _, c := range cases {
		if got := SkewTime(c.version, c.prio, c.interval); got != c.skew {
			t.Errorf("SkewTime(v%d, %d, %v) = %v, want %v", c.version, c.prio, c.interval, got, c.skew)
		}
		if got, want := MasterDownInterval(c.version, c.prio, c.interval), 3*c.interval+c.skew; got != want {
			t.Errorf("MDI(v%d, %d, %v) = %v, want %v", c.version, c.prio, c.interval, got, want)
		}
	}
	if got := MasterDownInterval(2, 100, time.Second); got != 3609375*time.Microsecond {
		t.Errorf("DESIGN.md's figure: MDI for priority 100, 1 s = %v, want 3.609375s", got)
	}
}

func TestStartup(t *testing.T) {
	owner := mustRouter(t, cfg(255, ipA))
	if got := kinds(owner.Startup(5 * time.Second)); got != "state(MASTER) send(255) add garp" {
		t.Errorf("owner startup: %s", got)
	}
	if d := deadline(t, owner); d != 6*time.Second {
		t.Errorf("owner adver timer at %v, want 6s", d)
	}
	for _, initial := range []State{StateBackup, StateMaster} {
		c := cfg(100, ipB)
		c.InitialState = initial
		r := mustRouter(t, c)
		if got := kinds(r.Startup(0)); got != "state(BACKUP)" {
			t.Errorf("state %v startup: %s", initial, got)
		}
		if d := deadline(t, r); d != 3609375*time.Microsecond {
			t.Errorf("state %v: down timer at %v, want MDI 3.609375s", initial, d)
		}
	}
}

func TestBackupRules(t *testing.T) {
	t0 := 10 * time.Second
	newBackup := func(c Config) *Router {
		r := mustRouter(t, c)
		r.Startup(0)
		return r
	}
	t.Run("down timer expiry makes master", func(t *testing.T) {
		r := newBackup(cfg(100, ipB))
		if got := kinds(r.Tick(deadline(t, r) - 1)); got != "" {
			t.Fatalf("early tick acted: %s", got)
		}
		if got := kinds(r.Tick(deadline(t, r))); got != "state(MASTER) send(100) add garp" {
			t.Fatalf("expiry: %s", got)
		}
	})
	t.Run("higher priority resets the timer to MDI", func(t *testing.T) {
		r := newBackup(cfg(100, ipB))
		if got := kinds(r.Receive(t0, advert(t, cfg(150, ipA), 150))); got != "" {
			t.Fatalf("acts: %s", got)
		}
		if d := deadline(t, r); d != t0+3609375*time.Microsecond {
			t.Fatalf("deadline %v", d)
		}
	})
	t.Run("equal priority is accepted whatever the address", func(t *testing.T) {
		r := newBackup(cfg(100, ipB))
		r.Receive(t0, advert(t, cfg(100, ipA), 100))
		if d := deadline(t, r); d != t0+3609375*time.Microsecond {
			t.Fatalf("deadline %v", d)
		}
	})
	t.Run("lower priority is discarded with preemption", func(t *testing.T) {
		r := newBackup(cfg(150, ipA))
		before := deadline(t, r)
		r.Receive(t0/10, advert(t, cfg(100, ipB), 100))
		if d := deadline(t, r); d != before {
			t.Fatalf("timer moved to %v", d)
		}
	})
	t.Run("lower priority is accepted with nopreempt", func(t *testing.T) {
		c := cfg(150, ipA)
		c.NoPreempt = true
		r := newBackup(c)
		r.Receive(t0, advert(t, cfg(100, ipB), 100))
		if d := deadline(t, r); d != t0+MasterDownInterval(2, 150, time.Second) {
			t.Fatalf("deadline %v", d)
		}
	})
	t.Run("nopreempt is ignored with state MASTER", func(t *testing.T) {
		c := cfg(150, ipA)
		c.NoPreempt, c.InitialState = true, StateMaster
		r := newBackup(c)
		before := deadline(t, r)
		r.Receive(time.Second, advert(t, cfg(100, ipB), 100))
		if d := deadline(t, r); d != before {
			t.Fatalf("lower advert accepted: timer moved to %v", d)
		}
	})
	t.Run("priority 0 sets the timer to Skew_Time", func(t *testing.T) {
		r := newBackup(cfg(100, ipB))
		r.Receive(t0, advert(t, cfg(150, ipA), 150))
		r.Receive(t0+time.Second/2, advert(t, cfg(150, ipA), 0))
		if d := deadline(t, r); d != t0+time.Second/2+609375*time.Microsecond {
			t.Fatalf("deadline %v", d)
		}
	})
	t.Run("preempt_delay accepts lower adverts until it has passed", func(t *testing.T) {
		c := cfg(150, ipA)
		c.PreemptDelay = 5 * time.Second
		r := newBackup(c)
		low := advert(t, cfg(100, ipB), 100)
		mdi := MasterDownInterval(2, 150, time.Second)
		r.Receive(t0, low) // starts the delay, accepted
		if d := deadline(t, r); d != t0+mdi {
			t.Fatalf("first lower advert not accepted: %v", d)
		}
		r.Receive(t0+4*time.Second, low) // still inside the delay
		if d := deadline(t, r); d != t0+4*time.Second+mdi {
			t.Fatalf("advert inside the delay not accepted: %v", d)
		}
		r.Receive(t0+5*time.Second, low) // delay over: discarded
		if d := deadline(t, r); d != t0+4*time.Second+mdi {
			t.Fatalf("advert after the delay accepted: %v", d)
		}
		// A higher advert cancels the delay; the next lower one starts it again.
		r.Receive(t0+6*time.Second, advert(t, cfg(200, ipC), 200))
		r.Receive(t0+7*time.Second, low)
		if d := deadline(t, r); d != t0+7*time.Second+mdi {
			t.Fatalf("delay not restarted: %v", d)
		}
	})
	t.Run("v3 backup learns the master's interval", func(t *testing.T) {
		c := cfg(100, ipB)
		c.Version, c.AuthType, c.AuthPass = 3, AuthNone, ""
		r := newBackup(c)
		m := cfg(150, ipA)
		m.Version, m.AuthType, m.AuthPass, m.Interval = 3, AuthNone, "", 500*time.Millisecond
		r.Receive(t0, advert(t, m, 150))
		if d, want := deadline(t, r), t0+1500*time.Millisecond+304687*time.Microsecond; d != want {
			t.Fatalf("deadline %v, want %v", d, want)
		}
	})
}

func TestMasterRules(t *testing.T) {
	t0 := 20 * time.Second
	newMaster := func(c Config) *Router {
		r := mustRouter(t, c)
		r.Startup(0)
		r.Tick(deadline(t, r))
		if r.State() != StateMaster {
			t.Fatalf("not master: %v", r.State())
		}
		return r
	}
	t.Run("adver timer sends and rearms", func(t *testing.T) {
		r := newMaster(cfg(100, ipB))
		d := deadline(t, r)
		if got := kinds(r.Tick(d)); got != "send(100)" {
			t.Fatalf("tick: %s", got)
		}
		if next := deadline(t, r); next != d+time.Second {
			t.Fatalf("next %v", next)
		}
	})
	cases := []struct {
		name      string
		prio      uint8
		from      netip.Addr
		acts      string
		state     State
		wantTimer time.Duration
	}{
		{"higher priority: backup", 150, ipA, "remove state(BACKUP)", StateBackup, t0 + 3609375*time.Microsecond},
		{"equal priority, larger address: backup", 100, ipC, "remove state(BACKUP)", StateBackup, t0 + 3609375*time.Microsecond},
		{"equal priority, smaller address: assert", 100, ipA, "send(100) garp", StateMaster, 0},
		{"lower priority: assert", 50, ipA, "send(100) garp", StateMaster, 0},
		{"priority 0: advert at once", 0, ipA, "send(100)", StateMaster, t0 + time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newMaster(cfg(100, ipB))
			before := deadline(t, r)
			if got := kinds(r.Receive(t0, advert(t, cfg(c.prio, c.from), c.prio))); got != c.acts {
				t.Fatalf("acts %q, want %q", got, c.acts)
			}
			if r.State() != c.state {
				t.Fatalf("state %v", r.State())
			}
			want := c.wantTimer
			if want == 0 {
				want = before
			}
			if d := deadline(t, r); d != want {
				t.Fatalf("deadline %v, want %v", d, want)
			}
		})
	}
	t.Run("shutdown sends priority 0 and releases", func(t *testing.T) {
		r := newMaster(cfg(100, ipB))
		if got := kinds(r.Shutdown(t0)); got != "send(0) remove state(STOP)" {
			t.Fatalf("shutdown: %s", got)
		}
		if _, ok := r.Deadline(); ok {
			t.Fatal("timer still running after shutdown")
		}
		if got := kinds(r.Startup(t0 + time.Second)); got != "state(BACKUP)" {
			t.Fatalf("restart: %s", got)
		}
	})
	t.Run("backup shutdown sends nothing", func(t *testing.T) {
		r := mustRouter(t, cfg(100, ipB))
		r.Startup(0)
		if got := kinds(r.Shutdown(t0)); got != "state(STOP)" {
			t.Fatalf("shutdown: %s", got)
		}
	})
}

func TestReceiveChecks(t *testing.T) {
	peer := cfg(150, ipA)
	good := func() Received { return advert(t, peer, 150) }
	v3 := func(c Config) Config { c.Version, c.AuthType, c.AuthPass = 3, AuthNone, ""; return c }
	cases := []struct {
		name   string
		local  func(Config) Config
		mutate func(*Received)
		reason string // "" = accepted
	}{
		{"good", nil, func(*Received) {}, ""},
		{"TTL 254", nil, func(r *Received) { r.TTL = 254 }, "TTL 254"},
		{"own address", nil, func(r *Received) { r.Src = ipB }, "own advert"},
		{"truncated", nil, func(r *Received) { r.Payload = r.Payload[:6] }, "short"},
		{"bad checksum", nil, func(r *Received) { r.Payload[7] ^= 0xff }, "checksum"},
		{"other VRID", func(c Config) Config { c.VRID = 52; return c }, func(*Received) {}, "VRID 51"},
		{"wrong password", func(c Config) Config { c.AuthPass = "2222"; return c }, func(*Received) {}, "password"},
		{"auth type differs", func(c Config) Config { c.AuthType, c.AuthPass = AuthNone, ""; return c }, func(*Received) {}, "auth type"},
		{"v2 interval differs", func(c Config) Config { c.Interval = 2 * time.Second; return c }, func(*Received) {}, "interval"},
		{"version differs", v3, func(*Received) {}, "version"},
		{"addresses differ", func(c Config) Config {
			c.VIPs = []netip.Prefix{netip.MustParsePrefix("10.77.0.101/24")}
			return c
		}, func(*Received) {}, "addresses"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			local := cfg(100, ipB)
			if c.local != nil {
				local = c.local(local)
			}
			r := mustRouter(t, local)
			r.Startup(0)
			in := good()
			c.mutate(&in)
			acts := r.Receive(time.Second, in)
			switch {
			case c.reason == "" && len(acts) != 0:
				t.Fatalf("good advert dropped: %+v", acts)
			case c.reason != "" && (len(acts) != 1 || acts[0].Kind != ActDrop || !strings.Contains(acts[0].Reason, c.reason)):
				t.Fatalf("want a drop for %q, got %+v", c.reason, acts)
			}
		})
	}
	t.Run("v3 accepts both checksum forms", func(t *testing.T) {
		r := mustRouter(t, v3(cfg(100, ipB)))
		r.Startup(0)
		in := advert(t, v3(peer), 150)
		if VerifyChecksum(in.Payload, in.Src, in.Dst) != ChecksumPseudoHeader {
			t.Fatal("Marshal did not send the pseudo-header form")
		}
		msgOnly := append([]byte(nil), in.Payload...)
		msgOnly[6], msgOnly[7] = 0, 0
		sum := ^onesFold(onesSum(0, msgOnly))
		msgOnly[6], msgOnly[7] = byte(sum>>8), byte(sum)
		in.Payload = msgOnly
		if acts := r.Receive(time.Second, in); len(acts) != 0 {
			t.Fatalf("message-only checksum dropped: %+v", acts)
		}
	})
}

func TestTrackScripts(t *testing.T) {
	track := func(base uint8, tr ...Track) *Router {
		c := cfg(base, ipA)
		c.Tracks = tr
		r := mustRouter(t, c)
		r.Startup(0)
		return r
	}
	t.Run("negative weight with fall and rise", func(t *testing.T) {
		r := track(150, Track{Name: "chk", Weight: -60, Fall: 2, Rise: 3})
		steps := []struct {
			ok   bool
			want uint8
		}{{true, 150}, {false, 150}, {false, 90}, {true, 90}, {true, 90}, {false, 90}, {true, 90}, {true, 90}, {true, 150}}
		for i, s := range steps {
			r.TrackResult(time.Duration(i)*time.Second, "chk", s.ok)
			if r.Priority() != s.want {
				t.Fatalf("step %d (ok=%v): priority %d, want %d", i, s.ok, r.Priority(), s.want)
			}
		}
	})
	t.Run("positive weight added only while OK, and not before the first result", func(t *testing.T) {
		r := track(100, Track{Name: "chk", Weight: 20})
		if r.Priority() != 100 {
			t.Fatalf("before any result: %d", r.Priority())
		}
		r.TrackResult(0, "chk", true)
		if r.Priority() != 120 {
			t.Fatalf("OK: %d", r.Priority())
		}
		r.TrackResult(time.Second, "chk", false)
		if r.Priority() != 100 {
			t.Fatalf("failed: %d", r.Priority())
		}
	})
	t.Run("clamped to 1..254, owner never moves", func(t *testing.T) {
		low := track(10, Track{Name: "chk", Weight: -60})
		low.TrackResult(0, "chk", false)
		high := track(250, Track{Name: "chk", Weight: 60})
		high.TrackResult(0, "chk", true)
		owner := track(255, Track{Name: "chk", Weight: -60})
		owner.TrackResult(0, "chk", false)
		if low.Priority() != 1 || high.Priority() != 254 || owner.Priority() != 255 {
			t.Fatalf("low %d high %d owner %d", low.Priority(), high.Priority(), owner.Priority())
		}
	})
	t.Run("backup's down timer moves with its priority", func(t *testing.T) {
		r := track(150, Track{Name: "chk", Weight: -50})
		before := deadline(t, r)
		r.TrackResult(time.Second, "chk", false)
		want := before + MasterDownInterval(2, 100, time.Second) - MasterDownInterval(2, 150, time.Second)
		if d := deadline(t, r); d != want {
			t.Fatalf("deadline %v, want %v", d, want)
		}
	})
	t.Run("weight 0: FAULT until the first success, and from master", func(t *testing.T) {
		c := cfg(100, ipA)
		c.Tracks = []Track{{Name: "chk"}}
		r := mustRouter(t, c)
		if got := kinds(r.Startup(0)); got != "state(FAULT)" {
			t.Fatalf("startup: %s", got)
		}
		if got := kinds(r.TrackResult(time.Second, "chk", true)); got != "state(BACKUP)" {
			t.Fatalf("first success: %s", got)
		}
		if d := deadline(t, r); d != time.Second+3609375*time.Microsecond {
			t.Fatalf("deadline %v", d)
		}
		r.Tick(deadline(t, r))
		if got := kinds(r.TrackResult(10*time.Second, "chk", false)); got != "send(0) send(0) remove state(FAULT)" {
			t.Fatalf("master to fault: %s", got)
		}
		if got := kinds(r.Receive(11*time.Second, advert(t, cfg(150, ipB), 150))); got != "" {
			t.Fatalf("fault reacted to an advert: %s", got)
		}
	})
	t.Run("init_fail needs rise successes", func(t *testing.T) {
		r := track(100, Track{Name: "chk", Weight: -30, Rise: 2, InitFail: true})
		if r.Priority() != 70 {
			t.Fatalf("init_fail priority %d", r.Priority())
		}
		r.TrackResult(0, "chk", true)
		if r.Priority() != 70 {
			t.Fatal("one success was enough")
		}
		r.TrackResult(time.Second, "chk", true)
		if r.Priority() != 100 {
			t.Fatalf("after rise: %d", r.Priority())
		}
	})
}

func TestTrackInterfaces(t *testing.T) {
	mdi100 := MasterDownInterval(2, 100, time.Second)
	t.Run("own interface down: master to FAULT, back up: BACKUP with a fresh down timer", func(t *testing.T) {
		c := cfg(100, ipA)
		c.Interface = "eth0"
		r := mustRouter(t, c)
		r.Startup(0)
		r.Tick(deadline(t, r))
		if r.State() != StateMaster {
			t.Fatalf("state %v", r.State())
		}
		acts := r.LinkChange(10*time.Second, "eth0", false)
		if got := kinds(acts); got != "send(0) send(0) remove state(FAULT)" {
			t.Fatalf("link down: %s", got)
		}
		if acts[len(acts)-1].Reason != "interface eth0 down" {
			t.Fatalf("reason %q", acts[len(acts)-1].Reason)
		}
		if _, ok := r.Deadline(); ok {
			t.Fatal("a timer runs in FAULT")
		}
		if got := kinds(r.LinkChange(11*time.Second, "eth0", false)); got != "" {
			t.Fatalf("a repeated down did something: %s", got)
		}
		if got := kinds(r.LinkChange(12*time.Second, "eth1", false)); got != "" {
			t.Fatalf("an untracked link did something: %s", got)
		}
		if got := kinds(r.LinkChange(15*time.Second, "eth0", true)); got != "state(BACKUP)" {
			t.Fatalf("link up: %s", got)
		}
		if d := deadline(t, r); d != 15*time.Second+mdi100 {
			t.Fatalf("deadline %v, want %v", d, 15*time.Second+mdi100)
		}
	})
	t.Run("dont_track_primary ignores the own interface", func(t *testing.T) {
		c := cfg(100, ipA)
		c.Interface, c.DontTrackPrimary = "eth0", true
		r := mustRouter(t, c)
		r.Startup(0)
		if got := kinds(r.LinkChange(time.Second, "eth0", false)); got != "" || r.State() != StateBackup {
			t.Fatalf("link down with dont_track_primary: %q, state %v", got, r.State())
		}
	})
	t.Run("a link down before startup starts in FAULT, and survives a restart", func(t *testing.T) {
		c := cfg(100, ipA)
		c.Interface = "eth0"
		r := mustRouter(t, c)
		r.LinkChange(0, "eth0", false)
		acts := r.Startup(0)
		if got := kinds(acts); got != "state(FAULT)" || acts[0].Reason != "interface eth0 down at startup" {
			t.Fatalf("startup: %s (%q)", got, acts[0].Reason)
		}
		r.Shutdown(time.Second)
		if got := kinds(r.Startup(2 * time.Second)); got != "state(FAULT)" {
			t.Fatalf("restart with the link still down: %s", got)
		}
	})
	t.Run("weighted links move the priority; the explicit entry beats the implicit one", func(t *testing.T) {
		c := cfg(150, ipA)
		c.Interface = "eth0"
		c.TrackInterfaces = []TrackInterface{{Name: "eth0", Weight: -60}, {Name: "eth1", Weight: 20}}
		r := mustRouter(t, c)
		r.Startup(0)
		if r.Priority() != 170 {
			t.Fatalf("both up: priority %d, want 170", r.Priority())
		}
		before := deadline(t, r)
		if got := kinds(r.LinkChange(time.Second, "eth0", false)); got != "prio(110)" {
			t.Fatalf("eth0 down: %s", got)
		}
		// In BACKUP the running down timer moves with Master_Down_Interval.
		want := before + MasterDownInterval(2, 110, time.Second) - MasterDownInterval(2, 170, time.Second)
		if d := deadline(t, r); d != want {
			t.Fatalf("deadline %v, want %v", d, want)
		}
		if got := kinds(r.LinkChange(2*time.Second, "eth1", false)); got != "prio(90)" || r.State() != StateBackup {
			t.Fatalf("eth1 down: %s, state %v", got, r.State())
		}
	})
	t.Run("a track script and a link both hold FAULT", func(t *testing.T) {
		c := cfg(100, ipA)
		c.Interface = "eth0"
		c.Tracks = []Track{{Name: "chk"}}
		r := mustRouter(t, c)
		r.Startup(0)
		r.TrackResult(0, "chk", true)
		r.LinkChange(time.Second, "eth0", false)
		if got := kinds(r.TrackResult(2*time.Second, "chk", false)); got != "" {
			t.Fatalf("script failing in FAULT: %s", got)
		}
		if got := kinds(r.LinkChange(3*time.Second, "eth0", true)); got != "" || r.State() != StateFault {
			t.Fatalf("link up with the script failing: %q, state %v", got, r.State())
		}
		if got := kinds(r.TrackResult(4*time.Second, "chk", true)); got != "state(BACKUP)" {
			t.Fatalf("script back: %s", got)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.VRID = 0 }, "virtual_router_id"},
		{func(c *Config) { c.Interval = 1500 * time.Millisecond }, "advert_int"},
		{func(c *Config) { c.Version = 3 }, "no authentication"},
		{func(c *Config) { c.Version = 4 }, "vrrp_version"},
		{func(c *Config) { c.VIPs = nil }, "virtual_ipaddress"},
		{func(c *Config) { c.Tracks = []Track{{Name: "x", Weight: 300}} }, "weight"},
		{func(c *Config) { c.TrackInterfaces = []TrackInterface{{Name: "eth1", Weight: -254}} }, "track_interface eth1.weight"},
		{func(c *Config) { c.TrackInterfaces = []TrackInterface{{Weight: 5}} }, "no interface name"},
	}
	for _, c := range cases {
		conf := cfg(100, ipA)
		c.mut(&conf)
		if _, err := New(conf); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want error about %q, got %v", c.want, err)
		}
	}
}
