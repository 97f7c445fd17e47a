package health

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"time"
)

// Phase returns where in its interval the active checks of a run seeded
// with seed first probe server of group: a draw uniform in [0, interval),
// from a random stream of its own, derived from the seed, the group's name
// and the server's name (a ChaCha8 stream keyed by the SHA-256 of the
// three). It is a pure function: the simulator, given the lab's seed, and
// the real proxy, given the same seed (lblab proxy --seed), put each
// server's probes at the same phase; two seeds give independent phases,
// so a sweep over seeds sees every delay between a fault and the next
// probe. interval ≤ 0 gives 0.
//
// The phase is what nginx users meet with the upstream check module
// (Tengine's and yaoweibin's ngx_http_upstream_check_module): each peer's
// first check comes after a random delay below its interval, so the
// checks of a group do not all go out at once.
func Phase(seed uint64, group, server string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := sha256.New()
	var b [binary.MaxVarintLen64]byte
	h.Write([]byte("lblab health phase\x00"))
	h.Write(binary.BigEndian.AppendUint64(b[:0], seed))
	// Each name with its length first: ("ab", "c") and ("a", "bc") differ.
	for _, name := range []string{group, server} {
		h.Write(binary.AppendUvarint(b[:0], uint64(len(name))))
		h.Write([]byte(name))
	}
	var key [32]byte
	h.Sum(key[:0])
	return time.Duration(rand.New(rand.NewChaCha8(key)).Int64N(int64(interval)))
}
