package sim

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

const protoTest = 253 // RFC 3692 experimental

var (
	vrrpGroup = netip.MustParseAddr("224.0.0.18")
	vip       = netip.MustParseAddr("10.0.0.100")
)

// arrival is one delivered packet as seen by a test handler.
type arrival struct {
	at   time.Duration
	host string
	p    Packet
}

// lab is a small network for tests: hosts named as given, each with eth0 on
// segment "lan" at 10.0.0.<n>/24 (n = 1-based position).
type lab struct {
	k    *Kernel
	n    *Network
	lan  *Segment
	got  []arrival
	eth0 map[string]*Iface
}

func newLab(t *testing.T, seed uint64, seg Link, hosts ...string) *lab {
	t.Helper()
	return newLabLinks(t, seed, seg, nil, hosts...)
}

func newLabLinks(t *testing.T, seed uint64, seg Link, links map[string]Link, hosts ...string) *lab {
	t.Helper()
	l := &lab{k: NewKernel(seed), eth0: map[string]*Iface{}}
	l.n = NewNetwork(l.k)
	var err error
	if l.lan, err = l.n.AddSegment("lan", seg); err != nil {
		t.Fatal(err)
	}
	for idx, name := range hosts {
		h, err := l.n.AddHost(name)
		if err != nil {
			t.Fatal(err)
		}
		addr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(idx + 1)}), 24)
		i, err := h.Attach("eth0", l.lan, addr, links[name])
		if err != nil {
			t.Fatal(err)
		}
		l.eth0[name] = i
		h.Listen(protoTest, func(in *Iface, p Packet) {
			l.got = append(l.got, arrival{l.k.Now(), in.Host().Name(), p})
		})
	}
	return l
}

func (l *lab) receivers() []string {
	var out []string
	for _, a := range l.got {
		out = append(out, a.host)
	}
	return out
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestAddSegmentErrors(t *testing.T) {
	tests := []struct {
		name, seg string
		link      Link
		wantErr   bool
	}{
		{"ok", "b", Link{Latency: time.Millisecond, Jitter: 1, Loss: 0.5}, false},
		{"loss one", "c", Link{Loss: 1}, false},
		{"duplicate", "a", Link{}, true},
		{"empty name", "", Link{}, true},
		{"negative latency", "d", Link{Latency: -1}, true},
		{"negative jitter", "e", Link{Jitter: -1}, true},
		{"loss above one", "f", Link{Loss: 1.01}, true},
		{"negative loss", "g", Link{Loss: -0.1}, true},
		{"NaN loss", "h", Link{Loss: math.NaN()}, true},
	}
	n := NewNetwork(NewKernel(1))
	if _, err := n.AddSegment("a", Link{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := n.AddSegment(tt.seg, tt.link)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (n.Segment(tt.seg) != s || s.Name() != tt.seg) {
				t.Fatal("segment not registered under its name")
			}
		})
	}
}

func TestAttachErrors(t *testing.T) {
	n := NewNetwork(NewKernel(1))
	lan, _ := n.AddSegment("lan", Link{})
	other, _ := NewNetwork(n.Kernel()).AddSegment("lan", Link{})
	h, _ := n.AddHost("h")
	if _, err := n.AddHost("h"); err == nil {
		t.Fatal("duplicate host accepted")
	}
	if _, err := n.AddHost(""); err == nil {
		t.Fatal("empty host name accepted")
	}
	p := netip.MustParsePrefix("10.0.0.1/24")
	if _, err := h.Attach("eth0", lan, p, Link{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ifname string
		seg    *Segment
		addr   netip.Prefix
		link   Link
	}{
		{"duplicate iface", "eth0", lan, p, Link{}},
		{"empty iface", "", lan, p, Link{}},
		{"nil segment", "eth1", nil, p, Link{}},
		{"foreign segment", "eth1", other, p, Link{}},
		{"invalid prefix", "eth1", lan, netip.PrefixFrom(addr("10.0.0.2"), 40), Link{}},
		{"bad link", "eth1", lan, p, Link{Loss: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := h.Attach(tt.ifname, tt.seg, tt.addr, tt.link); err == nil {
				t.Fatal("Attach succeeded")
			}
		})
	}
	if len(h.Ifaces()) != 1 {
		t.Fatalf("%d interfaces after failed attaches, want 1", len(h.Ifaces()))
	}
	// No primary address is allowed.
	if i, err := h.Attach("eth1", lan, netip.Prefix{}, Link{}); err != nil || i.Addr().IsValid() {
		t.Fatalf("Attach without address: %v", err)
	}
}

func TestAccessors(t *testing.T) {
	l := newLab(t, 1, Link{}, "a", "b")
	a := l.n.Host("a")
	if l.n.Kernel() != l.k || a.Name() != "a" || l.n.Host("zz") != nil || l.n.Segment("zz") != nil {
		t.Fatal("network accessors")
	}
	i := a.Iface("eth0")
	if i == nil || i.Name() != "eth0" || i.Host() != a || i.Segment() != l.lan || a.Iface("eth9") != nil {
		t.Fatal("iface accessors")
	}
	if i.Addr() != netip.MustParsePrefix("10.0.0.1/24") || !i.Up() || !a.Up() {
		t.Fatal("iface state")
	}
	ifs := a.Ifaces()
	ifs[0] = nil
	if a.Ifaces()[0] != i {
		t.Fatal("Ifaces exposes internal slice")
	}
}

func TestMAC(t *testing.T) {
	n := NewNetwork(NewKernel(1))
	lan, _ := n.AddSegment("lan", Link{})
	a, _ := n.AddHost("a")
	b, _ := n.AddHost("b")
	a0, _ := a.Attach("eth0", lan, netip.Prefix{}, Link{})
	b0, _ := b.Attach("eth0", lan, netip.Prefix{}, Link{})
	a1, _ := a.Attach("eth1", lan, netip.Prefix{}, Link{})
	tests := []struct {
		i    *Iface
		want [6]byte
	}{
		{a0, [6]byte{2, 0, 0, 1, 0, 1}},
		{a1, [6]byte{2, 0, 0, 1, 0, 2}},
		{b0, [6]byte{2, 0, 0, 2, 0, 1}},
	}
	for _, tt := range tests {
		if got := tt.i.MAC(); got != tt.want {
			t.Errorf("%s/%s MAC = % x, want % x", tt.i.Host().Name(), tt.i.Name(), got, tt.want)
		}
		if tt.i.MAC()[0]&0x03 != 0x02 {
			t.Errorf("MAC not locally administered unicast")
		}
	}
}

func TestSendDefaultsAndCopy(t *testing.T) {
	l := newLab(t, 1, Link{}, "a", "b")
	payload := []byte("hello")
	l.eth0["a"].Send(Packet{Dst: addr("10.0.0.2"), Proto: protoTest, Payload: payload})
	payload[0] = 'X'
	l.k.Run(time.Second)
	if len(l.got) != 1 {
		t.Fatalf("got %d packets", len(l.got))
	}
	p := l.got[0].p
	if p.Src != addr("10.0.0.1") || p.TTL != DefaultTTL || string(p.Payload) != "hello" || p.Dst != addr("10.0.0.2") {
		t.Fatalf("packet = %+v", p)
	}
	// Explicit Src and TTL are kept.
	l.eth0["a"].Send(Packet{Src: vip, Dst: addr("10.0.0.2"), Proto: protoTest, TTL: 255})
	l.k.Run(2 * time.Second)
	if p := l.got[1].p; p.Src != vip || p.TTL != 255 {
		t.Fatalf("packet = %+v", p)
	}
}

func TestReceiversGetOwnPayload(t *testing.T) {
	l := newLab(t, 1, Link{}, "a", "b", "c")
	l.n.Host("b").Listen(protoTest, func(_ *Iface, p Packet) { p.Payload[0] = 'X' })
	var seen string
	l.n.Host("c").Listen(protoTest, func(_ *Iface, p Packet) { seen = string(p.Payload) })
	l.eth0["a"].Send(Packet{Dst: limitedBroadcast, Proto: protoTest, Payload: []byte("hi")})
	l.k.Run(time.Second)
	if seen != "hi" {
		t.Fatalf("c saw %q after b modified its copy", seen)
	}
}

func TestDeliveryDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name          string
		seg, snd, rcv Link
		want          time.Duration
	}{
		{"zero", Link{}, Link{}, Link{}, 0},
		{"segment only", Link{Latency: 3 * ms}, Link{}, Link{}, 3 * ms},
		{"sender only", Link{}, Link{Latency: 2 * ms}, Link{}, 2 * ms},
		{"receiver only", Link{}, Link{}, Link{Latency: 7 * ms}, 7 * ms},
		{"sum", Link{Latency: 1 * ms}, Link{Latency: 20 * ms}, Link{Latency: 300 * ms}, 321 * ms},
		{"nanoseconds", Link{Latency: 1}, Link{Latency: 2}, Link{Latency: 4}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLabLinks(t, 1, tt.seg, map[string]Link{"a": tt.snd, "b": tt.rcv}, "a", "b")
			l.k.Run(5 * time.Second)
			start := l.k.Now()
			for _, dst := range []string{"10.0.0.2", "224.0.0.18", "255.255.255.255", "10.0.0.255"} {
				l.eth0["b"].JoinGroup(vrrpGroup)
				l.eth0["a"].Send(Packet{Dst: addr(dst), Proto: protoTest})
			}
			l.k.Run(10 * time.Second)
			if len(l.got) != 4 {
				t.Fatalf("delivered %d packets, want 4", len(l.got))
			}
			for _, a := range l.got {
				if d := a.at - start; d != tt.want {
					t.Errorf("%v delivered after %v, want %v", a.p.Dst, d, tt.want)
				}
			}
		})
	}
}

func TestJitter(t *testing.T) {
	seg := Link{Latency: time.Millisecond, Jitter: 500 * time.Microsecond}
	links := map[string]Link{"a": {Jitter: 300 * time.Microsecond}, "b": {Jitter: 200 * time.Microsecond}}
	run := func(seed uint64) []time.Duration {
		l := newLabLinks(t, seed, seg, links, "a", "b")
		var sentAt []time.Duration
		for i := range 2000 {
			l.k.At(time.Duration(i)*10*time.Millisecond, func() {
				sentAt = append(sentAt, l.k.Now())
				l.eth0["a"].Send(Packet{Dst: addr("10.0.0.2"), Proto: protoTest, Payload: []byte{byte(i), byte(i >> 8)}})
			})
		}
		l.k.Run(time.Hour)
		var delays []time.Duration
		for _, a := range l.got {
			i := int(a.p.Payload[0]) | int(a.p.Payload[1])<<8
			delays = append(delays, a.at-sentAt[i])
		}
		return delays
	}
	d1 := run(5)
	if len(d1) != 2000 {
		t.Fatalf("delivered %d, want 2000", len(d1))
	}
	lo, hi := time.Millisecond, time.Millisecond+time.Millisecond // latency + [0, 1ms)
	minD, maxD := slices.Min(d1), slices.Max(d1)
	if minD < lo || maxD >= hi {
		t.Fatalf("delays in [%v, %v], want within [%v, %v)", minD, maxD, lo, hi)
	}
	if maxD-minD < 900*time.Microsecond {
		t.Fatalf("delays span only [%v, %v]; jitter not uniform over its range", minD, maxD)
	}
	if !slices.Equal(d1, run(5)) {
		t.Fatal("same seed gave different delivery times")
	}
	if slices.Equal(d1, run(6)) {
		t.Fatal("different seeds gave identical delivery times")
	}
}

func TestLossRate(t *testing.T) {
	tests := []struct {
		name          string
		seg, snd, rcv float64
	}{
		{"segment", 0.1, 0, 0},
		{"sender", 0, 0.1, 0},
		{"receiver", 0, 0, 0.1},
		{"combined", 0.1, 0.2, 0.05}, // 1 - .9*.8*.95 = 0.316
		{"none", 0, 0, 0},
		{"all", 1, 0, 0},
	}
	const n = 10_000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			links := map[string]Link{"a": {Loss: tt.snd}, "b": {Loss: tt.rcv}}
			l := newLabLinks(t, 3, Link{Loss: tt.seg}, links, "a", "b")
			for range n {
				l.eth0["a"].Send(Packet{Dst: addr("10.0.0.2"), Proto: protoTest})
			}
			l.k.Run(time.Second)
			want := 1 - (1-tt.seg)*(1-tt.snd)*(1-tt.rcv)
			st := l.n.Stats()
			rate := float64(st.Dropped.Loss) / n
			if math.Abs(rate-want) > 0.015 {
				t.Fatalf("loss rate %.4f, want %.4f ± 0.015", rate, want)
			}
			if st.Sent != n || st.Delivered+st.Dropped.Loss != n || st.Dropped.Total() != st.Dropped.Loss {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestLossIndependentPerReceiver(t *testing.T) {
	l := newLab(t, 9, Link{Loss: 0.5}, "a", "b", "c")
	both := 0
	const n = 4000
	for i := range n {
		before := len(l.got)
		l.eth0["a"].Send(Packet{Dst: limitedBroadcast, Proto: protoTest})
		l.k.Run(time.Duration(i+1) * time.Millisecond)
		if len(l.got)-before == 2 {
			both++
		}
	}
	if r := float64(both) / n; math.Abs(r-0.25) > 0.03 {
		t.Fatalf("both receivers got %.3f of packets, want 0.25", r)
	}
}

func TestMulticast(t *testing.T) {
	l := newLab(t, 1, Link{}, "a", "b", "c", "d")
	other := addr("224.0.0.5")
	for _, h := range []string{"a", "b", "c"} {
		l.eth0[h].JoinGroup(vrrpGroup)
	}
	l.eth0["b"].JoinGroup(vrrpGroup) // twice
	l.eth0["d"].JoinGroup(other)
	l.eth0["a"].Send(Packet{Dst: vrrpGroup, Proto: protoTest})
	l.k.Run(time.Second)
	if got := l.receivers(); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("receivers %v, want [b c] (not the sender, not d)", got)
	}
	l.got = nil
	l.eth0["c"].LeaveGroup(vrrpGroup)
	l.eth0["d"].Send(Packet{Dst: vrrpGroup, Proto: protoTest}) // non-member may send
	l.k.Run(2 * time.Second)
	if got := l.receivers(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("receivers %v, want [a b]", got)
	}
}

func TestBroadcast(t *testing.T) {
	tests := []struct {
		dst  string
		want []string
	}{
		{"255.255.255.255", []string{"b", "c"}},
		{"10.0.0.255", []string{"b", "c"}},
		{"10.0.1.255", nil}, // not our subnet: unicast nobody holds
	}
	for _, tt := range tests {
		t.Run(tt.dst, func(t *testing.T) {
			l := newLab(t, 1, Link{}, "a", "b", "c")
			l.eth0["a"].Send(Packet{Dst: addr(tt.dst), Proto: protoTest})
			l.k.Run(time.Second)
			if got := l.receivers(); !slices.Equal(got, tt.want) {
				t.Fatalf("receivers %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUnicastNoRoute(t *testing.T) {
	l := newLab(t, 1, Link{}, "a", "b")
	tests := []struct {
		name string
		dst  netip.Addr
	}{
		{"unknown address", addr("10.0.0.77")},
		{"own address", addr("10.0.0.1")},
		{"zero address", netip.Addr{}},
	}
	for n, tt := range tests {
		if !l.eth0["a"].Send(Packet{Dst: tt.dst, Proto: protoTest}) {
			t.Fatalf("%s: Send returned false", tt.name)
		}
		if got := l.n.Stats().Dropped.NoRoute; got != uint64(n+1) {
			t.Fatalf("%s: NoRoute = %d, want %d", tt.name, got, n+1)
		}
	}
	// No handler for the protocol: NoRoute at delivery.
	l.eth0["a"].Send(Packet{Dst: addr("10.0.0.2"), Proto: 99})
	l.k.Run(time.Second)
	if st := l.n.Stats(); st.Dropped.NoRoute != 4 || st.Delivered != 0 || st.Sent != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCrashRestore(t *testing.T) {
	l := newLabLinks(t, 1, Link{Latency: 10 * time.Millisecond}, nil, "a", "b")
	b := l.n.Host("b")
	var hooks []string
	b.OnDown(func() { hooks = append(hooks, fmt.Sprintf("down1@%v", l.k.Now())) })
	b.OnDown(func() { hooks = append(hooks, "down2") })
	b.OnUp(func() { hooks = append(hooks, fmt.Sprintf("up@%v", l.k.Now())) })
	send := func(from string) bool {
		return l.eth0[from].Send(Packet{Dst: limitedBroadcast, Proto: protoTest, Payload: []byte(from)})
	}

	// t=0: b sends, then crashes at 5ms: its packet in flight is delivered.
	send("b")
	// t=0: a sends; arrives at 10ms while b is down: dropped.
	send("a")
	l.k.At(5*time.Millisecond, b.Crash)
	l.k.At(6*time.Millisecond, func() {
		if send("b") {
			t.Error("crashed host could send")
		}
		b.Crash() // no-op
	})
	l.k.At(20*time.Millisecond, b.Restore)
	l.k.At(21*time.Millisecond, func() { send("a"); b.Restore() /* no-op */ })
	l.k.Run(time.Second)

	want := []string{"down1@5ms", "down2", "up@20ms"}
	if !slices.Equal(hooks, want) {
		t.Fatalf("hooks %v, want %v", hooks, want)
	}
	var got []string
	for _, a := range l.got {
		got = append(got, fmt.Sprintf("%s<-%s@%v", a.host, a.p.Payload, a.at))
	}
	wantGot := []string{"a<-b@10ms", "b<-a@31ms"}
	if !slices.Equal(got, wantGot) {
		t.Fatalf("deliveries %v, want %v", got, wantGot)
	}
	if st := l.n.Stats(); st.Dropped.Down != 2 || st.Sent != 3 || st.Delivered != 2 {
		t.Fatalf("stats %+v, want Down=2 (refused send + arrival at crashed host)", st)
	}
}

func TestHostAfter(t *testing.T) {
	l := newLab(t, 1, Link{}, "a")
	a := l.n.Host("a")
	var ran []string
	a.After(10, func() { ran = append(ran, "before-crash") })
	a.After(30, func() { ran = append(ran, "crashed-and-restored") })
	l.k.At(20, a.Crash)
	l.k.At(25, a.Restore)
	l.k.At(26, func() { a.After(4, func() { ran = append(ran, "after-restore") }) })
	l.k.At(40, func() { a.After(5, func() { ran = append(ran, "down-when-due") }) })
	l.k.At(42, a.Crash)
	l.k.At(50, a.Restore)
	tm := a.After(60, func() { ran = append(ran, "stopped") })
	tm.Stop()
	l.k.Run(time.Second)
	if want := []string{"before-crash", "after-restore"}; !slices.Equal(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
}

func TestLinkDown(t *testing.T) {
	l := newLabLinks(t, 1, Link{Latency: 10 * time.Millisecond}, nil, "a", "b", "c")
	for _, h := range []string{"a", "b", "c"} {
		l.eth0[h].JoinGroup(vrrpGroup)
	}
	bcast := func(from string) bool {
		return l.eth0[from].Send(Packet{Dst: vrrpGroup, Proto: protoTest, Payload: []byte(from)})
	}
	var seen []bool
	l.eth0["c"].OnLink(func(up bool) { seen = append(seen, up) })
	l.eth0["c"].SetUp(false)
	l.eth0["c"].SetUp(false) // no change: no hook
	if l.eth0["c"].Up() || !l.n.Host("c").Up() {
		t.Fatal("link state")
	}
	if bcast("c") {
		t.Fatal("send on down link succeeded")
	}
	bcast("a") // b receives, c's link is down on arrival
	l.k.Run(time.Second)
	if got := l.receivers(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("receivers %v, want [b]", got)
	}
	l.got = nil
	l.eth0["c"].SetUp(true)
	bcast("a")
	bcast("c")
	l.k.Run(2 * time.Second)
	if got := l.receivers(); !slices.Equal(got, []string{"b", "c", "a", "b"}) {
		t.Fatalf("receivers after link up %v", got)
	}
	if st := l.n.Stats(); st.Dropped.Down != 2 {
		t.Fatalf("Down = %d, want 2", st.Dropped.Down)
	}
	if !slices.Equal(seen, []bool{false, true}) {
		t.Fatalf("OnLink saw %v, want [false true]", seen)
	}
}

func TestPartition(t *testing.T) {
	l := newLab(t, 1, Link{}, "a", "b", "c", "d", "e")
	for _, i := range l.eth0 {
		i.JoinGroup(vrrpGroup)
	}
	if err := l.lan.Partition([][]string{{"a", "nope"}}); err == nil {
		t.Fatal("unknown host accepted")
	}
	if err := l.lan.Partition([][]string{{"a"}, {"a", "b"}}); err == nil {
		t.Fatal("host in two groups accepted")
	}
	// Groups {a,b}, {c}; d and e are the unnamed group.
	if err := l.lan.Partition([][]string{{"a", "b"}, {"c"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from string
		want []string
	}{
		{"a", []string{"b"}},
		{"c", nil},
		{"d", []string{"e"}},
	}
	for _, tt := range tests {
		l.got = nil
		l.eth0[tt.from].Send(Packet{Dst: vrrpGroup, Proto: protoTest})
		l.k.Run(l.k.Now() + time.Second)
		if got := l.receivers(); !slices.Equal(got, tt.want) {
			t.Errorf("from %s: receivers %v, want %v", tt.from, got, tt.want)
		}
	}
	// Unicast across the partition.
	l.got = nil
	l.eth0["a"].Send(Packet{Dst: addr("10.0.0.3"), Proto: protoTest})
	l.k.Run(l.k.Now() + time.Second)
	if len(l.got) != 0 {
		t.Fatal("unicast crossed the partition")
	}
	if st := l.n.Stats(); st.Dropped.Partition != 3+4+3+1 {
		t.Fatalf("Partition drops = %d, want 11", st.Dropped.Partition)
	}
	l.lan.Heal()
	l.got = nil
	l.eth0["c"].Send(Packet{Dst: vrrpGroup, Proto: protoTest})
	l.k.Run(l.k.Now() + time.Second)
	if got := l.receivers(); !slices.Equal(got, []string{"a", "b", "d", "e"}) {
		t.Fatalf("after heal: receivers %v", got)
	}
}

func TestPartitionCheckedAtSendTime(t *testing.T) {
	l := newLab(t, 1, Link{Latency: 10 * time.Millisecond}, "a", "b")
	l.eth0["a"].Send(Packet{Dst: addr("10.0.0.2"), Proto: protoTest})
	l.k.At(5*time.Millisecond, func() { l.lan.Partition([][]string{{"a"}}) })
	l.k.Run(time.Second)
	if len(l.got) != 1 {
		t.Fatal("packet sent before the partition was dropped")
	}
}

func TestVIPBlackholeThenGARP(t *testing.T) {
	lat := 10 * time.Millisecond
	l := newLab(t, 1, Link{Latency: lat}, "client", "r1", "r2")
	r1, r2, client := l.eth0["r1"], l.eth0["r2"], l.eth0["client"]
	r1.AddAddr(vip)
	r1.AddAddr(vip) // twice is once
	if !r1.HasAddr(vip) || r2.HasAddr(vip) || !r1.HasAddr(addr("10.0.0.2")) {
		t.Fatal("HasAddr")
	}
	if l.lan.Owner(vip) != nil {
		t.Fatal("VIP known before any resolution")
	}
	send := func() { client.Send(Packet{Dst: vip, Proto: protoTest}) }

	send() // t=0: resolves to r1 and caches
	if l.lan.Owner(vip) != r1 {
		t.Fatal("resolution did not cache r1")
	}
	l.k.Run(50 * time.Millisecond)

	// Failover: r1 crashes; r2 takes the VIP but has not announced it yet.
	l.n.Host("r1").Crash()
	r2.AddAddr(vip)
	send() // to stale r1: blackholed (Down)
	l.k.Run(100 * time.Millisecond)
	// r1 comes back without the VIP: still stale, now NoRoute.
	r1.RemoveAddr(vip)
	l.n.Host("r1").Restore()
	send()
	l.k.Run(150 * time.Millisecond)

	r2.GratuitousARP(vip) // t=150ms; takes effect at 160ms
	l.k.Run(159 * time.Millisecond)
	if l.lan.Owner(vip) != r1 {
		t.Fatal("GARP took effect before one segment latency")
	}
	l.k.Run(160 * time.Millisecond)
	if l.lan.Owner(vip) != r2 {
		t.Fatal("GARP did not take effect after one segment latency")
	}
	send()
	l.k.Run(time.Second)

	var got []string
	for _, a := range l.got {
		got = append(got, fmt.Sprintf("%s@%v", a.host, a.at))
	}
	if want := []string{"r1@10ms", "r2@170ms"}; !slices.Equal(got, want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	st := l.n.Stats()
	if st.Dropped.Down != 1 || st.Dropped.NoRoute != 1 || st.Delivered != 2 {
		t.Fatalf("stats %+v", st)
	}
	// RemoveAddr does not remove the primary address.
	r2.RemoveAddr(addr("10.0.0.3"))
	if !r2.HasAddr(addr("10.0.0.3")) {
		t.Fatal("RemoveAddr removed the primary address")
	}
}

func TestGARPFromDownHostIgnored(t *testing.T) {
	l := newLab(t, 1, Link{}, "a", "b")
	l.n.Host("b").Crash()
	l.eth0["b"].GratuitousARP(vip)
	l.eth0["a"].SetUp(false)
	l.eth0["a"].GratuitousARP(vip)
	l.k.Run(time.Second)
	if l.lan.Owner(vip) != nil {
		t.Fatal("GARP from a down host or link took effect")
	}
}

// scenario runs a busy network with jitter, loss, failures and VIP moves and
// returns a trace of every delivery.
func scenario(seed uint64) string {
	k := NewKernel(seed)
	n := NewNetwork(k)
	lan, _ := n.AddSegment("lan", Link{Latency: time.Millisecond, Jitter: time.Millisecond, Loss: 0.05})
	wan, _ := n.AddSegment("wan", Link{Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.01})
	var b strings.Builder
	var ifs []*Iface
	for h := range 6 {
		host, _ := n.AddHost(fmt.Sprintf("h%d", h))
		host.Listen(protoTest, func(in *Iface, p Packet) {
			fmt.Fprintf(&b, "%d %s/%s %v>%v %x\n", k.Now(), host.Name(), in.Name(), p.Src, p.Dst, p.Payload)
		})
		i, _ := host.Attach("eth0", lan, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(h + 1)}), 24),
			Link{Jitter: time.Duration(h) * 100 * time.Microsecond, Loss: 0.01 * float64(h)})
		i.JoinGroup(vrrpGroup)
		w, _ := host.Attach("eth1", wan, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, 0, byte(h + 1)}), 24), Link{})
		ifs = append(ifs, i, w)
	}
	r := k.Rand("test/scenario")
	for step := range 3000 {
		k.At(time.Duration(step)*time.Millisecond, func() {
			from := ifs[r.IntN(len(ifs))]
			switch x := r.IntN(100); {
			case x < 40:
				from.Send(Packet{Dst: vrrpGroup, Proto: protoTest, Payload: []byte{byte(step)}})
			case x < 80:
				from.Send(Packet{Dst: vip, Proto: protoTest, Payload: []byte{byte(step)}})
			case x < 85:
				from.AddAddr(vip)
				from.GratuitousARP(vip)
			case x < 90:
				from.Host().Crash()
				k.After(time.Duration(r.IntN(50))*time.Millisecond, from.Host().Restore)
			case x < 95:
				from.SetUp(false)
				k.After(time.Duration(r.IntN(50))*time.Millisecond, func() { from.SetUp(true) })
			default:
				lan.Partition([][]string{{"h0", "h1"}, {"h2"}})
				k.After(30*time.Millisecond, lan.Heal)
			}
		})
	}
	k.Run(time.Hour)
	fmt.Fprintf(&b, "%+v executed=%d", n.Stats(), k.Executed())
	return b.String()
}

func TestNetworkDeterministic(t *testing.T) {
	a, b := scenario(11), scenario(11)
	if a != b {
		t.Fatal("same seed gave different runs")
	}
	if strings.Count(a, "\n") < 1000 {
		t.Fatalf("scenario delivered too little:\n%s", a[max(0, len(a)-300):])
	}
	if a == scenario(12) {
		t.Fatal("different seeds gave the same run")
	}
}
