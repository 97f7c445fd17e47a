package balance

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestEmptyGroupPicksNothing: a group allowed to be empty (container
// discovery before any container registers) fails every pick, with every
// algorithm, and nginx's refusal stands without Empty.
func TestEmptyGroupPicksNothing(t *testing.T) {
	if _, err := NewGroup(Config{Algorithm: RoundRobin}); err == nil {
		t.Fatal("an empty group was accepted without Empty")
	}
	for alg := range algoByName {
		g, err := NewGroup(Config{Algorithm: alg, Empty: true})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		a := g.Start(Request{Client: netip.MustParseAddr("192.0.2.7"), Key: "k"})
		if p, err := a.Next(0, rand.New(rand.NewPCG(1, 2))); err == nil || p != nil {
			t.Fatalf("%s: picked %v from no servers", alg, p)
		}
	}
}
