package seedrand

import (
	"hash/fnv"
	"testing"
)

func TestFNV1a64MatchesStdlib(t *testing.T) {
	for _, s := range []string{"", "a", "net/lan0", "vrrp/r1"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := fnv1a64(s), h.Sum64(); got != want {
			t.Errorf("fnv1a64(%q) = %#x, want %#x", s, got, want)
		}
	}
}
