package balance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

var allAlgorithms = []string{RoundRobin, LeastConn, IPHash, Hash, HashConsistent, Random, RandomTwo, RandomTwoLeastConn, LeastTime, SourceHash}

// FuzzGroup builds a random group from the input and drives a few
// concurrent attempts through random sequences of Next, Done, clock steps
// and health changes, checking that nothing panics, conns never go
// negative and always equal the picks in flight, no down, unhealthy or
// weight-0 peer is picked, no peer is picked twice in one attempt and
// max_conns holds.
func FuzzGroup(f *testing.F) {
	f.Add([]byte{0, 3, 5, 1, 1, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{2, 4, 1, 2, 3, 0, 9, 9, 9, 1, 1, 1, 0, 0, 2, 2, 7, 7})
	f.Add([]byte{4, 6, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{6, 2, 255, 128, 7, 3, 1, 2, 0, 0, 0, 5, 5, 5, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		alg := allAlgorithms[int(next())%len(allAlgorithms)]
		n := 1 + int(next())%12
		var servers []Server
		for i := 0; i < n; i++ {
			b := next()
			s := Server{
				Name:        fmt.Sprintf("10.0.0.%d:%d", i, 80+int(b>>6)),
				Weight:      int(b & 7),
				MaxFails:    int(b>>3) & 3,
				FailTimeout: time.Duration(b>>5&3) * time.Second,
				MaxConns:    int(b>>6) & 1 * 2,
				Down:        b&0x18 == 0x18,
				Backup:      b&0xe0 == 0xe0 && i > 0,
			}
			if s.Backup && alg != RoundRobin && alg != LeastConn && alg != LeastTime {
				s.Backup = false
			}
			servers = append(servers, s)
		}
		g, err := NewGroup(Config{Algorithm: alg, Servers: servers})
		if err != nil {
			return // e.g. only backups
		}
		rnd := rand.New(rand.NewPCG(uint64(len(data)), 7))
		const slots = 3
		var atts [slots]*Attempt
		var held [slots]*Peer
		for i := range atts {
			atts[i] = g.Start(Request{})
		}
		var now time.Duration
		inflight := 0
		for len(data) > 0 {
			op := next()
			i := int(op>>4) % slots
			a := atts[i]
			switch op & 7 {
			case 0, 1, 2: // Next (after ending the held pick, as nginx does)
				if held[i] != nil {
					a.Done(now, held[i], op&8 != 0, time.Duration(op)*time.Millisecond)
					held[i] = nil
					inflight--
				}
				p, err := a.Next(now, rnd)
				if err != nil {
					if !errors.Is(err, ErrNoPeer) && !errors.Is(err, ErrNoTries) {
						t.Fatalf("unexpected error %v", err)
					}
					continue
				}
				if p.srv.Down || !p.Healthy() || p.Weight() == 0 {
					t.Fatalf("%s picked unusable %+v healthy=%v", alg, p.Server(), p.Healthy())
				}
				if p.maxConns != 0 && p.conns > p.maxConns {
					t.Fatalf("%s: %s over max_conns: %d > %d", alg, p.Name(), p.conns, p.maxConns)
				}
				held[i] = p
				inflight++
			case 3: // Done
				if held[i] != nil {
					a.Done(now, held[i], op&8 != 0, time.Duration(op)*time.Millisecond)
					held[i] = nil
					inflight--
				}
			case 4: // new request on this slot
				if held[i] != nil {
					a.Done(now, held[i], false, 0)
					held[i] = nil
					inflight--
				}
				key := string(rune('a' + op>>3))
				a.Reset(Request{Key: key, Client: netip.AddrFrom4([4]byte{10, op, next(), 1})})
			case 5: // clock
				now += time.Duration(next()) * 100 * time.Millisecond
			case 6: // health
				ps := g.Peers()
				ps[int(next())%len(ps)].SetHealthy(op&8 != 0)
			case 7:
				now += 5 * time.Second
			}
			total := 0
			for _, p := range g.Peers() {
				if p.conns < 0 {
					t.Fatalf("%s: negative conns", p.Name())
				}
				total += p.conns
			}
			if total != inflight {
				t.Fatalf("conns %d, picks in flight %d", total, inflight)
			}
		}
	})
}

// TestAttemptNeverRepeatsAPeer: within one attempt every try is a different
// peer (nginx's tried bitmap), for every algorithm.
func TestAttemptNeverRepeatsAPeer(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 9))
	for _, alg := range allAlgorithms {
		backup := alg == RoundRobin || alg == LeastConn || alg == LeastTime
		g := group(t, alg, []int{3, 1, 2, 1, 5, 1, 1, 2}, func(i int, s *Server) {
			s.MaxFails = 0
			s.Backup = backup && i >= 6
		})
		for r := 0; r < 200; r++ {
			a := g.Start(Request{Key: fmt.Sprint(r), Client: netip.AddrFrom4([4]byte{1, byte(r), 2, 3})})
			seen := map[*Peer]bool{}
			for {
				p, err := a.Next(0, rnd)
				if err != nil {
					break
				}
				if seen[p] {
					t.Fatalf("%s: %s tried twice", alg, p.Name())
				}
				seen[p] = true
				a.Done(0, p, true, 0)
			}
			if len(seen) != 8 || a.Tries() != 8 {
				t.Fatalf("%s: tried %d peers (%d tries), want all 8", alg, len(seen), a.Tries())
			}
		}
	}
}

func TestNextDoneDoNotAllocate(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, alg := range allAlgorithms {
		g := group(t, alg, []int{1, 2, 3, 1, 1, 2, 1, 1, 1, 4}, nil)
		a := g.Start(Request{})
		reqs := []Request{{Key: "/a/b/c", Client: netip.MustParseAddr("192.0.2.1")}, {Key: "x", Client: netip.MustParseAddr("2001:db8::1")}}
		i := 0
		allocs := testing.AllocsPerRun(1000, func() {
			i++
			a.Reset(reqs[i&1])
			now := time.Duration(i) * 100 * time.Millisecond
			p, err := a.Next(now, rnd)
			if err != nil {
				return // all failed within fail_timeout: no live upstreams
			}
			a.Done(now, p, i%7 == 0, time.Millisecond)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs per Reset+Next+Done", alg, allocs)
		}
	}
}
