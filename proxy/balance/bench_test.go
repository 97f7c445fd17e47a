package balance

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// moduloRR is the reference: a trivial modulo round robin over 10 servers
// that keeps a conns counter per server, i.e. about the least work a
// balancer's pick+release can do.
type moduloRR struct {
	next  int
	conns [10]int
}

//go:noinline
func (m *moduloRR) pick() int {
	i := m.next
	m.next++
	if m.next == len(m.conns) {
		m.next = 0
	}
	m.conns[i]++
	return i
}

//go:noinline
func (m *moduloRR) done(i int) { m.conns[i]-- }

func runReference(n int) time.Duration {
	var m moduloRR
	start := time.Now()
	for i := 0; i < n; i++ {
		m.done(m.pick())
	}
	return time.Since(start)
}

// BenchmarkNext measures one request's Reset + Next + Done for each
// algorithm with 10 servers (weights 1..4, distinct keys and clients), and
// reports next to ns/op the reference modulo round robin measured over the
// same number of iterations in the same run (ref-ns/op) and the ratio
// (x-ref).
func BenchmarkNext(b *testing.B) {
	const nkeys = 1024
	reqs := make([]Request, nkeys)
	for i := range reqs {
		reqs[i] = Request{
			Key:    fmt.Sprintf("/api/v1/items/%d", i*7919),
			Client: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(i * 3)}),
		}
	}
	b.Run("reference_modulo_rr", func(b *testing.B) {
		var m moduloRR
		for i := 0; i < b.N; i++ {
			m.done(m.pick())
		}
	})
	for _, alg := range allAlgorithms {
		if alg == RandomTwoLeastConn {
			continue // same code as RandomTwo
		}
		b.Run(alg, func(b *testing.B) {
			var ss []Server
			for i := 0; i < 10; i++ {
				s := NewServer(fmt.Sprintf("10.1.0.%d:8080", i+1))
				s.Weight = 1 + i%4
				ss = append(ss, s)
			}
			g, err := NewGroup(Config{Algorithm: alg, Servers: ss})
			if err != nil {
				b.Fatal(err)
			}
			rnd := rand.New(rand.NewPCG(1, 2))
			a := g.Start(Request{})
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				now := time.Duration(i) * time.Microsecond
				a.Reset(reqs[i&(nkeys-1)])
				p, err := a.Next(now, rnd)
				if err != nil {
					b.Fatal(err)
				}
				a.Done(now, p, false, time.Millisecond)
			}
			b.StopTimer()
			elapsed := b.Elapsed()
			ref := runReference(b.N)
			b.ReportMetric(float64(ref.Nanoseconds())/float64(b.N), "ref-ns/op")
			b.ReportMetric(float64(elapsed)/float64(ref), "x-ref")
		})
	}
}
