// Package seedrand derives a run's named random streams from its seed:
// the simulator's kernel (sim.Kernel.Rand) and the real roles that must
// draw what the simulator draws (lblab load --spec) both take their
// streams from here, without the real roles linking the simulator.
package seedrand

import "math/rand/v2"

// Stream returns a new random stream named name of a run seeded with
// seed: a *rand.Rand on a PCG source seeded from the seed and the name by
// a stable hash (FNV-1a 64 of the name, mixed with the seed through
// splitmix64). It is a pure function: the same seed and name give the
// same numbers, in the simulator and in a real role alike.
func Stream(seed uint64, name string) *rand.Rand {
	s1 := splitmix64(seed ^ fnv1a64(name))
	s2 := splitmix64(s1)
	return rand.New(rand.NewPCG(s1, s2))
}

// fnv1a64 is the 64-bit FNV-1a hash of s.
func fnv1a64(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}

// splitmix64 is one step of the SplitMix64 generator: a bijective mixer.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
