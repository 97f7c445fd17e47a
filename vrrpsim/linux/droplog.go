package vrrplinux

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lblab/lblab/vrrpsim"
)

// DropLogInterval is how often at most the agent logs a line about the
// packets an instance discarded for one cause (a vrrpsim drop counter):
// the first drop of a cause is logged at once; later ones are counted and
// logged as one line with their count DropLogInterval after the last line
// (or when the agent stops). A flood of bad packets so gives a few lines
// a minute, not one a packet; every drop is still counted (/status and
// the history's vrrp_stats events).
const DropLogInterval = 10 * time.Second

// dropLog decides when the drops of one instance are logged. It is pure:
// the caller passes the time.
type dropLog struct {
	causes [vrrpsim.NumStats]dropCause
}

type dropCause struct {
	loggedAt time.Duration // when the last line was written
	logged   bool          // a line was ever written
	pending  uint64        // drops since that line
	since    time.Duration // when the first pending drop came
	src      netip.Addr    // the last pending drop's source
	reason   string        // and its reason
}

// drop records a drop of cause at now; it returns the line to log, or "".
func (d *dropLog) drop(now time.Duration, cause vrrpsim.Stat, src netip.Addr, reason string) string {
	c := &d.causes[cause]
	if c.pending == 0 {
		c.since = now
	}
	c.pending++
	c.src, c.reason = src, reason
	if c.logged && now-c.loggedAt < DropLogInterval {
		return ""
	}
	return d.line(now, cause)
}

// due returns when the next pending line is due, if any is pending.
func (d *dropLog) due() (time.Duration, bool) {
	var at time.Duration
	found := false
	for i := range d.causes {
		c := &d.causes[i]
		if c.pending > 0 && (!found || c.loggedAt+DropLogInterval < at) {
			at, found = c.loggedAt+DropLogInterval, true
		}
	}
	return at, found
}

// flush returns the lines due at now; with all, every pending line.
func (d *dropLog) flush(now time.Duration, all bool) []string {
	var lines []string
	for i := range d.causes {
		c := &d.causes[i]
		if c.pending > 0 && (all || now-c.loggedAt >= DropLogInterval) {
			lines = append(lines, d.line(now, vrrpsim.Stat(i)))
		}
	}
	return lines
}

// line writes the pending drops of cause as one line and clears them.
func (d *dropLog) line(now time.Duration, cause vrrpsim.Stat) string {
	c := &d.causes[cause]
	var s string
	if c.pending == 1 {
		s = fmt.Sprintf("drop: %v (1 packet) from %v: %s", cause, c.src, c.reason)
	} else {
		s = fmt.Sprintf("drop: %v (%d packets in %v) the last from %v: %s",
			cause, c.pending, (now - c.since).Round(time.Millisecond), c.src, c.reason)
	}
	c.loggedAt, c.logged, c.pending = now, true, 0
	return s
}
