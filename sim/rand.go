package sim

import (
	"math/rand/v2"

	"github.com/lblab/lblab/internal/seedrand"
)

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
	r := seedrand.Stream(k.seed, name)
	k.rands[name] = r
	return r
}
