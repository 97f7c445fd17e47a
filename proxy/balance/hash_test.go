package balance

import (
	"fmt"
	"hash/crc32"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// ---- ip_hash ----

// Hand computation for 192.168.1.10 (ngx_http_upstream_get_ip_hash_peer):
//
//	hash = 89
//	(89*113 + 192) % 6271 = 10249 % 6271 = 3978
//	(3978*113 + 168) % 6271 = 449682 % 6271 = 4441
//	(4441*113 + 1) % 6271 = 501834 % 6271 = 154
//
// 3 servers of weight 1: 154 % 3 = 1 -> b. Weights 3,1,2: 154 % 6 = 4 ->
// skip a (3), skip b (1), c. A rehash continues from 154 with the same
// three bytes: 5654 (-> 5654 % 3 = 2 -> c).
func TestIPHashTable(t *testing.T) {
	for _, tc := range []struct {
		client       string
		equal, wght  string // servers for weights 1,1,1 and 3,1,2
		rehashEqual  string // 1,1,1 with the first choice down
		rehashWeight string // 3,1,2 with the first choice down
	}{
		{"192.168.1.10", "b", "c", "c", "a"},
		{"192.168.1.200", "b", "c", "c", "a"}, // same /24
		{"10.0.0.1", "a", "b", "b", "a"},
		{"10.0.1.1", "b", "c", "c", "a"}, // 2321%6=5 -> c again (down); 1368%6=0 -> a
		{"172.16.5.4", "b", "c", "c", "a"},
		{"8.8.8.8", "c", "c", "b", "-"},
		{"1.2.3.4", "b", "a", "c", "-"},
		{"203.0.113.9", "a", "a", "c", "c"},
	} {
		r := Request{Client: netip.MustParseAddr(tc.client)}
		if got := pick(t, group(t, IPHash, []int{1, 1, 1}, nil), r, 0); got != tc.equal {
			t.Errorf("%s weights 1,1,1: %s, want %s", tc.client, got, tc.equal)
		}
		if got := pick(t, group(t, IPHash, []int{3, 1, 2}, nil), r, 0); got != tc.wght {
			t.Errorf("%s weights 3,1,2: %s, want %s", tc.client, got, tc.wght)
		}
		down := func(first string) func(int, *Server) {
			return func(i int, s *Server) { s.Down = s.Name == first }
		}
		if got := pick(t, group(t, IPHash, []int{1, 1, 1}, down(tc.equal)), r, 0); got != tc.rehashEqual {
			t.Errorf("%s weights 1,1,1, %s down: %s, want %s", tc.client, tc.equal, got, tc.rehashEqual)
		}
		if tc.rehashWeight != "-" {
			if got := pick(t, group(t, IPHash, []int{3, 1, 2}, down(tc.wght)), r, 0); got != tc.rehashWeight {
				t.Errorf("%s weights 3,1,2, %s down: %s, want %s", tc.client, tc.wght, got, tc.rehashWeight)
			}
		}
	}
}

// refIPHash is a straightforward transcription of the ip_hash formula:
// which server index a client gets, given which servers are unusable.
func refIPHash(addr netip.Addr, weights []int, unusable []bool) int {
	var b []byte
	if addr.Is4() {
		a := addr.As4()
		b = a[:3]
	} else {
		a := addr.As16()
		b = a[:]
	}
	total := 0
	for _, w := range weights {
		total += w
	}
	hash := 89
	tried := map[int]bool{}
	for tries := 0; tries <= 20; tries++ {
		for _, c := range b {
			hash = (hash*113 + int(c)) % 6271
		}
		w := hash % total
		i := 0
		for w >= weights[i] {
			w -= weights[i]
			i++
		}
		if !tried[i] && !unusable[i] {
			return i
		}
	}
	return -1 // round robin fallback
}

func TestIPHashMatchesReference(t *testing.T) {
	weights := []int{3, 1, 2, 5, 1}
	unusable := []bool{false, true, false, false, false}
	g := group(t, IPHash, weights, func(i int, s *Server) { s.Down = unusable[i] })
	for i := 0; i < 3000; i++ {
		var addr netip.Addr
		if i%3 == 0 {
			var b [16]byte
			b[0], b[1], b[14], b[15] = 0x20, 0x01, byte(i>>8), byte(i)
			addr = netip.AddrFrom16(b)
		} else {
			addr = netip.AddrFrom4([4]byte{byte(i * 7), byte(i * 13), byte(i), 1})
		}
		want := refIPHash(addr, weights, unusable)
		if want < 0 {
			continue
		}
		if got := pick(t, g, Request{Client: addr}, 0); got != string(rune('a'+want)) {
			t.Fatalf("%v: %s, want %c", addr, got, 'a'+want)
		}
	}
}

func TestIPHashSameSlash24(t *testing.T) {
	g := group(t, IPHash, []int{1, 1, 1, 1, 1, 1, 1}, nil)
	for i := 0; i < 100; i++ {
		base := pick(t, g, Request{Client: netip.AddrFrom4([4]byte{10, byte(i), 3, 1})}, 0)
		for last := 2; last < 256; last += 37 {
			if got := pick(t, g, Request{Client: netip.AddrFrom4([4]byte{10, byte(i), 3, byte(last)})}, 0); got != base {
				t.Fatalf("10.%d.3.%d -> %s, 10.%d.3.1 -> %s", i, last, got, i, base)
			}
		}
	}
}

func TestIPHashFallsBackToRoundRobin(t *testing.T) {
	// Only one of 7 servers usable: the rehashes may miss it 20 times, then
	// round robin finds it. Either way the request gets it.
	g := group(t, IPHash, []int{1, 1, 1, 1, 1, 1, 1}, func(i int, s *Server) { s.Down = i != 4 })
	for i := 0; i < 500; i++ {
		if got := pick(t, g, Request{Client: netip.AddrFrom4([4]byte{1, byte(i), byte(i / 3), 1})}, 0); got != "e" {
			t.Fatalf("got %s", got)
		}
	}
}

// ---- hash ----

func TestHashKnownValue(t *testing.T) {
	// crc32("abc") = 0x352441c2; (>> 16) & 0x7fff = 0x3524 = 13604;
	// 13604 % 3 = 2 -> c. Weights 1,1,2: 13604 % 4 = 0 -> a.
	if got := pick(t, group(t, Hash, []int{1, 1, 1}, nil), Request{Key: "abc"}, 0); got != "c" {
		t.Errorf("abc: %s, want c", got)
	}
	if got := pick(t, group(t, Hash, []int{1, 1, 2}, nil), Request{Key: "abc"}, 0); got != "a" {
		t.Errorf("abc weighted: %s, want a", got)
	}
	// c down: rehash: crc32("1abc") adds to 13604.
	h2 := 13604 + int((crc32.ChecksumIEEE([]byte("1abc"))>>16)&0x7fff)
	want := string(rune('a' + h2%3))
	if want == "c" {
		t.Fatal("test vector rehashes to c again; pick another key")
	}
	if got := pick(t, group(t, Hash, []int{1, 1, 1}, func(i int, s *Server) { s.Down = i == 2 }), Request{Key: "abc"}, 0); got != want {
		t.Errorf("abc with c down: %s, want %s", got, want)
	}
}

// refHash is the hash module's formula written out with hash/crc32:
// hash += (crc32([REHASH] KEY) >> 16) & 0x7fff, REHASH "" then "1", "2"...
func refHash(key string, weights []int, unusable []bool) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	var hash uint32
	for rehash := 0; rehash <= 20; rehash++ {
		s := key
		if rehash > 0 {
			s = strconv.Itoa(rehash) + key
		}
		hash += (crc32.ChecksumIEEE([]byte(s)) >> 16) & 0x7fff
		w := int(hash % uint32(total))
		i := 0
		for w >= weights[i] {
			w -= weights[i]
			i++
		}
		if !unusable[i] {
			return i
		}
	}
	return -1
}

func TestHashMatchesReference(t *testing.T) {
	weights := []int{1, 2, 3, 1, 4}
	unusable := []bool{false, false, true, false, false}
	g := group(t, Hash, weights, func(i int, s *Server) { s.Down = unusable[i] })
	for i := 0; i < 5000; i++ {
		key := fmt.Sprintf("/item/%d?x=%x", i, i*i)
		want := refHash(key, weights, unusable)
		if want < 0 {
			continue
		}
		if got := pick(t, g, Request{Key: key}, 0); got != string(rune('a'+want)) {
			t.Fatalf("%q: %s, want %c", key, got, 'a'+want)
		}
	}
}

func TestHashEmptyKeyIsRoundRobin(t *testing.T) {
	for _, alg := range []string{Hash, HashConsistent} {
		g := group(t, alg, []int{5, 1, 1}, nil)
		var b strings.Builder
		for i := 0; i < 7; i++ {
			b.WriteString(pick(t, g, Request{}, 0))
		}
		if b.String() != "aabacaa" {
			t.Errorf("%s with empty key: %s, want aabacaa", alg, b.String())
		}
	}
}

// ---- hash consistent ----

func TestSplitHostPort(t *testing.T) {
	for _, tc := range []struct{ name, host, port string }{
		{"10.0.0.1:8080", "10.0.0.1", "8080"},
		{"backend1.example:80", "backend1.example", "80"},
		{"backend1.example", "backend1.example", ""},
		{"[::1]:80", "[::1]", "80"},
		{"unix:/tmp/s.sock", "/tmp/s.sock", ""},
		{"UNIX:/tmp/s.sock", "/tmp/s.sock", ""},
		{"a:b", "a:b", ""},
		{"a:", "a", ""},
		{"a:8b0", "a:8b0", ""},
	} {
		if h, p := splitHostPort(tc.name); h != tc.host || p != tc.port {
			t.Errorf("%q: %q %q, want %q %q", tc.name, h, p, tc.host, tc.port)
		}
	}
}

type refPoint struct {
	hash   uint32
	server int
}

// refRing builds the ketama ring as ngx_http_upstream_init_chash describes
// it, with hash/crc32 on whole byte strings: point j of a server is
// crc32(HOST "\0" PORT PREV) where PREV is point j-1's hash in 4
// little-endian bytes (zero for j = 0).
func refRing(names []string, weights []int) []refPoint {
	var pts []refPoint
	for s, name := range names {
		host, port := name, ""
		if i := strings.LastIndexByte(name, ':'); i >= 0 {
			host, port = name[:i], name[i+1:]
		}
		prev := uint32(0)
		for j := 0; j < 160*weights[s]; j++ {
			b := []byte(host + "\x00" + port)
			b = append(b, byte(prev), byte(prev>>8), byte(prev>>16), byte(prev>>24))
			h := crc32.ChecksumIEEE(b)
			pts = append(pts, refPoint{h, s})
			prev = h
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].hash < pts[j].hash })
	out := pts[:0]
	for _, p := range pts {
		if len(out) == 0 || out[len(out)-1].hash != p.hash {
			out = append(out, p)
		}
	}
	return out
}

// refCHash returns the server of key's point, walking on while the server
// is unusable.
func refCHash(ring []refPoint, key string, unusable []bool) int {
	h := crc32.ChecksumIEEE([]byte(key))
	i := sort.Search(len(ring), func(i int) bool { return ring[i].hash >= h })
	for tries := 0; tries <= 20; tries++ {
		s := ring[(i+tries)%len(ring)].server
		if !unusable[s] {
			return s
		}
	}
	return -1
}

func ringGroup(t *testing.T, alg string, names []string, weights []int, unusable []bool) *Group {
	var ss []Server
	for i, n := range names {
		s := NewServer(n)
		s.Weight = weights[i]
		s.Down = unusable != nil && unusable[i]
		ss = append(ss, s)
	}
	g, err := NewGroup(Config{Algorithm: alg, Servers: ss})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCHashMatchesReference(t *testing.T) {
	names := []string{"10.0.0.1:80", "10.0.0.2:80", "backend3.example:8080", "10.0.0.4:80", "unix-like.example"}
	weights := []int{1, 2, 1, 3, 1}
	for _, unusable := range [][]bool{make([]bool, 5), {false, true, false, false, true}} {
		g := ringGroup(t, HashConsistent, names, weights, unusable)
		ring := refRing(names, weights)
		if len(g.points) != len(ring) {
			t.Fatalf("ring has %d points, reference %d", len(g.points), len(ring))
		}
		for i := 0; i < 5000; i++ {
			key := fmt.Sprintf("session-%d", i*7919)
			want := refCHash(ring, key, unusable)
			if want < 0 {
				continue
			}
			if got := pick(t, g, Request{Key: key}, 0); got != names[want] {
				t.Fatalf("%q: %s, want %s", key, got, names[want])
			}
		}
	}
}

func TestCHashRingProperty(t *testing.T) {
	names := []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80", "10.0.0.5:80"}
	weights := []int{1, 1, 2, 1, 1}
	full := ringGroup(t, HashConsistent, names, weights, nil)
	if n := len(full.points); n < 6*160-2 || n > 6*160 {
		t.Errorf("%d points, want about %d", n, 6*160)
	}
	const removed = 2
	less := ringGroup(t, HashConsistent, append(append([]string{}, names[:removed]...), names[removed+1:]...),
		append(append([]int{}, weights[:removed]...), weights[removed+1:]...), nil)
	down := ringGroup(t, HashConsistent, names, weights, []bool{false, false, true, false, false})
	moved, onRemoved := 0, 0
	for i := 0; i < 20000; i++ {
		key := "k" + strconv.Itoa(i)
		r := Request{Key: key}
		before, after, withDown := pick(t, full, r, 0), pick(t, less, r, 0), pick(t, down, r, 0)
		if before == names[removed] {
			onRemoved++
			if after == names[removed] {
				t.Fatalf("%s still on the removed server", key)
			}
		} else if after != before {
			t.Fatalf("%s moved from %s to %s though its server stayed", key, before, after)
		}
		if withDown != after {
			// Removing a server and marking it down agree: both walk on
			// to the next point of another server.
			t.Fatalf("%s: removed -> %s, down -> %s", key, after, withDown)
		}
		if after != before {
			moved++
		}
	}
	if moved != onRemoved || onRemoved < 20000*2/6/2 {
		t.Errorf("moved %d, on removed %d (expect about %d)", moved, onRemoved, 20000*2/6)
	}
}

func TestSourceHashIsHashRemoteAddrConsistent(t *testing.T) {
	names := []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}
	sch := ringGroup(t, SourceHash, names, []int{1, 2, 1}, nil)
	ch := ringGroup(t, HashConsistent, names, []int{1, 2, 1}, nil)
	for i := 0; i < 2000; i++ {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(i * 3)})
		if i%4 == 0 {
			addr = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i))
		}
		if got, want := pick(t, sch, Request{Client: addr}, 0), pick(t, ch, Request{Key: addr.String()}, 0); got != want {
			t.Fatalf("%v: sch %s, hash consistent %s", addr, got, want)
		}
	}
}
