// Package poll is the tests' one way to wait for a condition on real
// sockets and processes: poll it until it holds, with a deadline the test
// derives from the protocol's timers, never a bare sleep.
package poll

import (
	"testing"
	"time"
)

// Every is how often Until checks its condition: 2 ms.
const Every = 2 * time.Millisecond

// Until checks cond every Every until it holds; if within passes first,
// the test fails with what and within.
func Until(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(Every)
	}
}
