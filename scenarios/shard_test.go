package scenarios_test

import (
	"math"
	"testing"

	"github.com/lblab/lblab/scenarios"
)

// The shards of a sweep cover its seeds once each, in order, whatever
// the size (the last shard shorter when the size does not divide the
// seeds); an index past the last shard, a size below 1 and a range past
// 2^64−1 are refused.
func TestShardRangeCoversTheSeedsOnce(t *testing.T) {
	for _, c := range []struct {
		base       uint64
		n, size    int
		shards     int
		lastLength int
	}{{1, 1000, 20, 50, 20}, {7, 40, 10, 4, 10}, {1, 10, 3, 4, 1}, {0, 1, 5, 1, 1}, {math.MaxUint64 - 9, 10, 4, 3, 2}} {
		if got := scenarios.Shards(c.n, c.size); got != c.shards {
			t.Errorf("%d seeds by %d: %d shards, want %d", c.n, c.size, got, c.shards)
		}
		next := c.base
		for i := range c.shards {
			first, n, err := scenarios.ShardRange(c.base, c.n, c.size, i)
			if err != nil {
				t.Fatalf("%d seeds by %d, shard %d: %v", c.n, c.size, i, err)
			}
			if first != next || n < 1 || n > c.size {
				t.Errorf("%d seeds by %d, shard %d: %d seeds from %d, want from %d", c.n, c.size, i, n, first, next)
			}
			if i == c.shards-1 && n != c.lastLength {
				t.Errorf("%d seeds by %d: the last shard has %d, want %d", c.n, c.size, n, c.lastLength)
			}
			next = first + uint64(n)
		}
		if next-c.base != uint64(c.n) {
			t.Errorf("%d seeds by %d: the shards cover %d", c.n, c.size, next-c.base)
		}
		if _, _, err := scenarios.ShardRange(c.base, c.n, c.size, c.shards); err == nil {
			t.Errorf("%d seeds by %d: shard %d is accepted", c.n, c.size, c.shards)
		}
	}
	for _, bad := range []struct {
		base           uint64
		n, size, index int
	}{{1, 10, 0, 0}, {1, 10, 3, -1}, {math.MaxUint64, 2, 1, 0}, {1, 0, 1, 0}} {
		if _, _, err := scenarios.ShardRange(bad.base, bad.n, bad.size, bad.index); err == nil {
			t.Errorf("ShardRange(%d, %d, %d, %d) is accepted", bad.base, bad.n, bad.size, bad.index)
		}
	}
}
