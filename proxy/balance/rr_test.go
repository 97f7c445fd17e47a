package balance

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const sec = time.Second

// group builds a group of servers named a, b, c, ... with the given weights
// and nginx's defaults otherwise; mod, if not nil, adjusts server i.
func group(t testing.TB, alg string, weights []int, mod func(i int, s *Server)) *Group {
	t.Helper()
	var ss []Server
	for i, w := range weights {
		s := NewServer(string(rune('a' + i)))
		s.Weight = w
		if mod != nil {
			mod(i, &s)
		}
		ss = append(ss, s)
	}
	g, err := NewGroup(Config{Algorithm: alg, Servers: ss})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func peer(g *Group, name string) *Peer {
	for _, p := range g.Peers() {
		if p.Name() == name {
			return p
		}
	}
	panic("no peer " + name)
}

// pick runs one request that succeeds on its first peer and returns the
// peer's name ("-" for ErrNoPeer).
func pick(t testing.TB, g *Group, r Request, now time.Duration) string {
	t.Helper()
	a := g.Start(r)
	p, err := a.Next(now, nil)
	if errors.Is(err, ErrNoPeer) {
		return "-"
	}
	if err != nil {
		t.Fatal(err)
	}
	a.Done(now, p, false, 0)
	return p.Name()
}

// picks runs n successful requests and returns the names picked.
func picks(t testing.TB, g *Group, n int, now time.Duration) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(pick(t, g, Request{}, now))
	}
	return b.String()
}

// fail runs one request whose first peer fails, without retrying, and
// returns the peer's name.
func fail(t testing.TB, g *Group, now time.Duration) string {
	t.Helper()
	a := g.Start(Request{})
	p, err := a.Next(now, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Done(now, p, true, 0)
	return p.Name()
}

// Expected sequences below are derived by hand from ngx_http_upstream_get_peer:
// every usable peer adds effective_weight to current_weight, the largest
// current_weight wins (the first one on a tie) and loses the total.
func TestSmoothWRR(t *testing.T) {
	for _, tc := range []struct {
		weights []int
		want    string // one period
	}{
		{[]int{5, 1, 1}, "aabacaa"}, // DESIGN.md; nginx's own comment in the commit
		{[]int{3, 2}, "ababa"},      // 3,2 | 1,4 | 4,1 | 2,3 | 5,0
		{[]int{4, 2, 1}, "abacaba"}, // 4,2,1 | 1,4,2 | 5,-1,3 | 2,1,4 | 6,3,-2 | 3,5,-1 | 7,0,0
		{[]int{2, 1}, "aba"},
		{[]int{1, 1, 1}, "abc"},
		{[]int{2, 2, 2}, "abc"}, // ties go to the first
		{[]int{1}, "a"},
	} {
		g := group(t, RoundRobin, tc.weights, nil)
		want := strings.Repeat(tc.want, 3)
		if got := picks(t, g, len(want), 0); got != want {
			t.Errorf("weights %v: got %s, want %s", tc.weights, got, want)
		}
	}
}

func TestWeightZeroAndDownNeverPicked(t *testing.T) {
	// a=1, b=0, c=2: b takes no part; a,c behave as weights 1,2:
	// 1,2 -> c (c=-1) | 2,1 -> a (a=-1) | 0,3 -> c (c=0) | back to 0,0.
	g := group(t, RoundRobin, []int{1, 0, 2}, nil)
	if got, want := picks(t, g, 9, 0), "caccaccac"; got != want {
		t.Errorf("weight 0: got %s, want %s", got, want)
	}
	g = group(t, RoundRobin, []int{1, 1, 1}, func(i int, s *Server) { s.Down = i == 0 })
	if got, want := picks(t, g, 6, 0), "bcbcbc"; got != want {
		t.Errorf("down: got %s, want %s", got, want)
	}
	// All weight 0 or down: no live upstreams.
	g = group(t, RoundRobin, []int{0, 1}, func(i int, s *Server) { s.Down = i == 1 })
	if got := pick(t, g, Request{}, 0); got != "-" {
		t.Errorf("nothing usable: got %s, want no peer", got)
	}
	if g.MaxTries() != 0 {
		t.Errorf("MaxTries = %d, want 0 (down and weight-0 servers do not count)", g.MaxTries())
	}
}

func TestUnhealthySkippedLikeDown(t *testing.T) {
	g := group(t, RoundRobin, []int{1, 1, 1}, nil)
	peer(g, "b").SetHealthy(false)
	if got, want := picks(t, g, 4, 0), "acac"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	peer(g, "b").SetHealthy(true)
	if !peer(g, "b").Healthy() {
		t.Fatal("not healthy")
	}
	// cw after acac: a=0? a: 1-3=-2, +1=-1; c: 1,2-3=-1... b joins with 0.
	got := picks(t, g, 3, 0)
	if !strings.Contains(got, "b") {
		t.Errorf("b not picked again after SetHealthy(true): %s", got)
	}
}

func TestBackup(t *testing.T) {
	g := group(t, RoundRobin, []int{1, 1, 1, 2}, func(i int, s *Server) {
		s.Backup = i >= 2 // a, b primaries; c (1), d (2) backups
	})
	if got, want := picks(t, g, 4, 0), "abab"; got != want {
		t.Fatalf("primaries: got %s, want %s", got, want)
	}
	// Both primaries fail at second 100 (max_fails 1): backups take over
	// (weights 1,2: d c d | d c d ...: 1,2 -> d | 2,1 -> c | 0,3 -> d).
	if fail(t, g, 100*sec) != "a" || fail(t, g, 100*sec) != "b" {
		t.Fatal("unexpected order")
	}
	if got, want := picks(t, g, 6, 100*sec), "dcddcd"; got != want {
		t.Errorf("backups: got %s, want %s", got, want)
	}
	// Still within fail_timeout at 110 s (110-100 <= 10): backups.
	if got := pick(t, g, Request{}, 110*sec+999*time.Millisecond); got != "d" {
		t.Errorf("at 110.999s: got %s, want backup d", got)
	}
	// At 111 s the primaries are usable again, with effective_weight 0
	// after their failure (1 - 1/1). current_weight: after abab a=0 b=0;
	// the failed picks at 100 s left a=-1 (a,b took part: 1,1 -> a) and
	// b=0 (b alone: 1 -> b). At 111 s: a -1+0, b 0+0 -> b (both ew -> 1);
	// then a 0, b 1 -> b.
	if got := picks(t, g, 2, 111*sec); got != "bb" {
		t.Errorf("at 111s: got %s, want primaries bb", got)
	}
	if p := peer(g, "b"); p.Fails() != 0 {
		t.Errorf("b: fails %d after a successful probe, want 0", p.Fails())
	}
	if p := peer(g, "a"); p.Fails() != 1 || p.EffectiveWeight() != 1 {
		t.Errorf("a: fails %d ew %d, want 1 1 (not picked yet, ew climbed)", p.Fails(), p.EffectiveWeight())
	}
}

func TestBackupWithinOneRequest(t *testing.T) {
	// One request: a fails, b fails, then backups c, d in the same attempt.
	g := group(t, RoundRobin, []int{1, 1, 1, 1}, func(i int, s *Server) { s.Backup = i >= 2 })
	a := g.Start(Request{})
	if a.MaxTries() != 4 {
		t.Fatalf("MaxTries = %d, want 4", a.MaxTries())
	}
	var got []string
	for {
		p, err := a.Next(0, nil)
		if err != nil {
			if !errors.Is(err, ErrNoTries) {
				t.Fatalf("err = %v, want ErrNoTries", err)
			}
			break
		}
		got = append(got, p.Name())
		a.Done(0, p, true, 0)
	}
	if s := strings.Join(got, ""); s != "abcd" {
		t.Errorf("tries: %s, want abcd", s)
	}
	if a.Tries() != 4 || a.Remaining() != 0 {
		t.Errorf("Tries %d Remaining %d", a.Tries(), a.Remaining())
	}
	// Next request: everything failed within fail_timeout.
	if got := pick(t, g, Request{}, 0); got != "-" {
		t.Errorf("got %s, want no live upstreams", got)
	}
}

func TestSingleServer(t *testing.T) {
	// ngx_http_upstream_free_round_robin_peer: a single peer gets no failure
	// accounting and no second try.
	g := group(t, RoundRobin, []int{1}, nil)
	a := g.Start(Request{})
	p, err := a.Next(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Done(0, p, true, 0)
	if p.Fails() != 0 || p.EffectiveWeight() != 1 {
		t.Errorf("single peer accounted a failure: fails %d ew %d", p.Fails(), p.EffectiveWeight())
	}
	if _, err := a.Next(0, nil); !errors.Is(err, ErrNoTries) {
		t.Errorf("second try: err %v, want ErrNoTries", err)
	}
	if got := pick(t, g, Request{}, 0); got != "a" {
		t.Errorf("got %s", got)
	}
}

// Refund (a failed try on a cached keep-alive connection,
// ngx_http_upstream_next's u->peer.tries++) gives back the try but keeps
// the failure and the tried bit: the next pick is another peer; a single
// peer is picked again; a refund before Done gives nothing.
func TestRefund(t *testing.T) {
	g := group(t, RoundRobin, []int{1, 1, 1}, nil)
	a := g.Start(Request{})
	var got []string
	for range 3 {
		p, err := a.Next(0, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Name())
		a.Refund() // before Done: nothing
		a.Done(0, p, true, 0)
		a.Refund()
		if p.Fails() != 1 {
			t.Errorf("%s: fails %d, want 1", p.Name(), p.Fails())
		}
	}
	if s := strings.Join(got, ""); s != "abc" || a.Remaining() != 3 {
		t.Errorf("picks %s remaining %d, want abc and 3", s, a.Remaining())
	}
	if _, err := a.Next(0, nil); !errors.Is(err, ErrNoPeer) {
		t.Errorf("after every peer: err %v, want ErrNoPeer", err)
	}

	one := group(t, RoundRobin, []int{1}, nil)
	a = one.Start(Request{})
	p, _ := a.Next(0, nil)
	a.Done(0, p, true, 0)
	a.Refund()
	if q, err := a.Next(0, nil); err != nil || q != p {
		t.Fatalf("single peer after a refund: %v %v, want it again", q, err)
	}
	a.Done(0, p, true, 0)
	if _, err := a.Next(0, nil); !errors.Is(err, ErrNoTries) || p.Fails() != 0 {
		t.Errorf("single peer without a refund: err %v fails %d, want ErrNoTries and 0", err, p.Fails())
	}
}

func TestNextUpstreamTries(t *testing.T) {
	g, err := NewGroup(Config{Servers: []Server{NewServer("a"), NewServer("b"), NewServer("c")}, NextUpstreamTries: 2})
	if err != nil {
		t.Fatal(err)
	}
	if g.MaxTries() != 2 {
		t.Errorf("MaxTries = %d, want 2", g.MaxTries())
	}
}

func TestDoneMisuseIsIgnored(t *testing.T) {
	g := group(t, RoundRobin, []int{1, 1}, nil)
	a := g.Start(Request{})
	p, _ := a.Next(0, nil)
	a.Done(0, p, false, 0)
	a.Done(0, p, false, 0)
	a.Done(0, peer(g, "b"), true, 0)
	a.Done(0, nil, true, 0)
	for _, q := range g.Peers() {
		if q.Conns() != 0 || q.Fails() != 0 {
			t.Errorf("%s: conns %d fails %d", q.Name(), q.Conns(), q.Fails())
		}
	}
}

func TestReuseAttempt(t *testing.T) {
	g := group(t, RoundRobin, []int{5, 1, 1}, nil)
	a := g.Start(Request{})
	var b strings.Builder
	for i := 0; i < 14; i++ {
		a.Reset(Request{})
		p, err := a.Next(0, nil)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(p.Name())
		a.Done(0, p, false, 0)
	}
	if got := b.String(); got != "aabacaaaabacaa" {
		t.Errorf("got %s", got)
	}
}

func TestNewGroupErrors(t *testing.T) {
	ok := NewServer("a:80")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Algorithm: "bogus", Servers: []Server{ok}}, "unknown algorithm"},
		{Config{}, "no servers"},
		{Config{Servers: []Server{{Name: "b", Weight: 1, Backup: true}}}, "no servers"},
		{Config{Servers: []Server{ok, {Name: ""}}}, `server 1 (""): empty Name`},
		{Config{Servers: []Server{ok, {Name: "x", Weight: -1}}}, `server 1 ("x"): Weight -1`},
		{Config{Servers: []Server{{Name: "x", Weight: 1, MaxFails: -1}}}, `"x"): MaxFails`},
		{Config{Servers: []Server{{Name: "x", Weight: 1, MaxConns: -1}}}, `"x"): MaxConns`},
		{Config{Servers: []Server{{Name: "x", Weight: 1, FailTimeout: 1500 * time.Millisecond}}}, `"x"): FailTimeout 1.5s is not whole seconds`},
		{Config{Algorithm: IPHash, Servers: []Server{ok, {Name: "y", Weight: 1, Backup: true}}}, `"y"): Backup: balancing method ip_hash does not support`},
		{Config{Algorithm: HashConsistent, Servers: []Server{ok, {Name: "y", Weight: 1, Backup: true}}}, "does not support"},
		{Config{Algorithm: Random, Servers: []Server{ok, {Name: "y", Weight: 1, Backup: true}}}, "does not support"},
	} {
		_, err := NewGroup(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.cfg, err, tc.want)
		}
	}
	for _, alg := range []string{"", RoundRobin, LeastConn, LeastTime} {
		if _, err := NewGroup(Config{Algorithm: alg, Servers: []Server{ok, {Name: "y", Weight: 1, Backup: true}}}); err != nil {
			t.Errorf("%s with backup: %v", alg, err)
		}
	}
}

func TestParseServer(t *testing.T) {
	s, err := ParseServer("10.0.0.1:8080 weight=5 max_fails=3 fail_timeout=1m30s max_conns=7 backup down;")
	if err != nil {
		t.Fatal(err)
	}
	want := Server{Name: "10.0.0.1:8080", Weight: 5, MaxFails: 3, FailTimeout: 90 * sec, MaxConns: 7, Backup: true, Down: true}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if got := s.String(); got != "10.0.0.1:8080 weight=5 max_fails=3 fail_timeout=90s max_conns=7 backup down" {
		t.Errorf("String() = %q", got)
	}
	if s, _ := ParseServer("b:80"); s != NewServer("b:80") || s.Weight != 1 || s.MaxFails != 1 || s.FailTimeout != 10*sec {
		t.Errorf("defaults: %+v", s)
	}
	if s, _ := ParseServer("b fail_timeout=30"); s.FailTimeout != 30*sec {
		t.Errorf("bare number: %v", s.FailTimeout)
	}
	for _, bad := range []string{"", "a weight=0", "a weight=x", "a fail_timeout=500ms", "a max_fails=-1", "a slow_start=1"} {
		if _, err := ParseServer(bad); err == nil {
			t.Errorf("ParseServer(%q) accepted", bad)
		}
	}
}
