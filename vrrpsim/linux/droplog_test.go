package vrrplinux

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/vrrpsim"
)

// TestDropLogOneLinePerCausePerInterval runs the drop log on a made-up
// clock: a drop every 100 ms of one cause for 25 s, and one drop of
// another cause, give a line at the first drop of each, then one line per
// DropLogInterval with the count since the last line, and the rest at
// exit; the counts add up to the drops.
func TestDropLogOneLinePerCausePerInterval(t *testing.T) {
	var d dropLog
	src := netip.MustParseAddr("10.0.0.9")
	type line struct {
		at   time.Duration
		text string
	}
	var lines []line
	emit := func(at time.Duration, s string) {
		if s != "" {
			lines = append(lines, line{at, s})
		}
	}
	const step = 100 * time.Millisecond
	drops := 0
	for now := time.Duration(0); now < 25*time.Second; now += step {
		// The agent's loop flushes what is due before the next packet.
		if at, ok := d.due(); ok && at <= now {
			for _, l := range d.flush(now, false) {
				emit(now, l)
			}
		}
		emit(now, d.drop(now, vrrpsim.StatIPTTLErr, src, "TTL 64, want 255"))
		drops++
		if now == 3*time.Second {
			emit(now, d.drop(now, vrrpsim.StatChkErr, src, "bad checksum"))
		}
	}
	if _, ok := d.due(); !ok {
		t.Fatal("nothing pending after the last drops")
	}
	for _, l := range d.flush(25*time.Second, true) {
		emit(25*time.Second, l)
	}
	if _, ok := d.due(); ok {
		t.Fatal("a line is still due after the final flush")
	}
	want := []line{
		{0, "drop: ip_ttl_err (1 packet) from 10.0.0.9: TTL 64, want 255"},
		{3 * time.Second, "drop: chk_err (1 packet) from 10.0.0.9: bad checksum"},
		{10 * time.Second, "drop: ip_ttl_err (99 packets in 9.9s) the last from 10.0.0.9: TTL 64, want 255"},
		{20 * time.Second, "drop: ip_ttl_err (100 packets in 10s) the last from 10.0.0.9: TTL 64, want 255"},
		{25 * time.Second, "drop: ip_ttl_err (50 packets in 5s) the last from 10.0.0.9: TTL 64, want 255"},
	}
	var got, exp []string
	for _, l := range lines {
		got = append(got, l.at.String()+" "+l.text)
	}
	for _, l := range want {
		exp = append(exp, l.at.String()+" "+l.text)
	}
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
	}
	if 1+99+100+50 != drops {
		t.Fatalf("the lines count %d drops, %d were made", 1+99+100+50, drops)
	}
}
