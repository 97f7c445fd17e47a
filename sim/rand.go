package sim

import "math/rand/v2"

// Rand returns the random stream named name: a *rand.Rand on a PCG source
// seeded from the kernel's seed and the name by a stable hash (FNV-1a 64 of
// the name, mixed with the seed through splitmix64). Calling Rand again with
// the same name returns the same *rand.Rand, so a component may fetch its
// stream lazily. A stream's numbers depend only on the seed, the name and the
// draws made from that stream: creating or using other streams never changes
// them.
//
// By convention names are "component/instance", e.g. "net/lan0".
func (k *Kernel) Rand(name string) *rand.Rand {
	if r, ok := k.rands[name]; ok {
		return r
	}
	r := Stream(k.seed, name)
	k.rands[name] = r
	return r
}

// Stream returns a new random stream named name of a run seeded with seed:
// the stream a Kernel of that seed gives as Rand(name), before any draw.
// It is a pure function, so that a real driver given the run's seed (lblab
// load --spec --seed) draws what the simulator's component of that name
// draws: the same arrivals, users and paths.
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
