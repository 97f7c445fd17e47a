package health

import (
	"testing"
	"time"
)

func TestParseCodes(t *testing.T) {
	c, err := ParseCodes("http_2xx, http_3xx")
	if err != nil || !c.Healthy(204) || !c.Healthy(302) || c.Healthy(404) || c.Healthy(500) {
		t.Fatalf("http_2xx,http_3xx: %v %v", c, err)
	}
	if d, _ := ParseCodes(""); !d.Healthy(200) || d.Healthy(301) {
		t.Fatal("default is http_2xx")
	}
	for _, bad := range []string{"2xx", "http_6xx", "http_2x", "http_axx"} {
		if _, err := ParseCodes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// drive runs the checker against a server whose probe answers ok(t) after
// rtt, or never (timeout) when hang(t), until end; it returns the times of
// transitions.
func drive(c *Checker, end time.Duration, rtt time.Duration, ok, hang func(time.Duration) bool) []time.Duration {
	var out []time.Duration
	type pending struct {
		at time.Duration
		ok bool
		d  string
	}
	var inflight []pending
	now := time.Duration(0)
	for now <= end {
		// next event: a due probe or a pending result
		next, has := c.Deadline()
		for _, p := range inflight {
			if !has || p.at < next {
				next, has = p.at, true
			}
		}
		if !has || next > end {
			break
		}
		now = next
		var rest []pending
		for _, p := range inflight {
			if p.at == now {
				if tr, changed := c.Result(now, 0, p.ok, p.d); changed {
					_ = tr
					out = append(out, now)
				}
			} else {
				rest = append(rest, p)
			}
		}
		inflight = rest
		for range c.Due(now, nil) {
			switch {
			case hang(now):
				inflight = append(inflight, pending{now + c.Config().Timeout, false, "timeout"})
			default:
				inflight = append(inflight, pending{now + rtt, ok(now), "refused"})
			}
		}
	}
	return out
}

func TestFallAndRiseTiming(t *testing.T) {
	cfg := Config{Interval: 2 * time.Second, Timeout: 5 * time.Second, Rise: 3, Fall: 3}
	crash, restore := 10*time.Second+300*time.Millisecond, 30*time.Second+300*time.Millisecond
	rtt := time.Millisecond
	ok := func(at time.Duration) bool { return at < crash || at >= restore }
	never := func(time.Duration) bool { return false }
	got := drive(New(cfg, 1, 0), 60*time.Second, rtt, ok, never)
	// Probes at even seconds. Failing probes at 12, 14, 16 s: down at 16 s + rtt.
	// Passing probes from 32 s: up after the third, at 36 s + rtt.
	want := []time.Duration{16*time.Second + rtt, 36*time.Second + rtt}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("transitions at %v, want %v", got, want)
	}
}

func TestHungServerProbesDoNotOverlap(t *testing.T) {
	cfg := Config{Interval: 2 * time.Second, Timeout: 5 * time.Second, Rise: 2, Fall: 3}
	hangAt := 10*time.Second + 300*time.Millisecond
	hang := func(at time.Duration) bool { return at >= hangAt }
	always := func(time.Duration) bool { return true }
	got := drive(New(cfg, 1, 0), 60*time.Second, time.Millisecond, always, hang)
	// First hung probe at 12 s times out at 17 s; the next starts then and
	// fails at 22 s, the third at 27 s: down after Timeout + (fall−1) ×
	// max(Interval, Timeout) from the first hung probe.
	if len(got) != 1 || got[0] != 27*time.Second {
		t.Fatalf("transitions at %v, want [27s]", got)
	}
}

func TestStaggeredStartAndStreakReset(t *testing.T) {
	c := New(Config{Interval: 2 * time.Second, Fall: 2}, 4, 0)
	var due []int
	for _, at := range []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond} {
		due = c.Due(at, due[:0])
		if len(due) != 1 {
			t.Fatalf("at %v due %v, want one server", at, due)
		}
	}
	// A failure then a pass resets the streak: no transition.
	c.Result(time.Second, 2, false, "status 500")
	c.Due(3*time.Second, nil)
	c.Result(3*time.Second, 2, true, "")
	c.Due(5*time.Second, nil)
	if _, changed := c.Result(5*time.Second, 2, false, "status 500"); changed || !c.Up(2) {
		t.Fatal("a single failure after a pass took the server down")
	}
	c.Due(7*time.Second, nil)
	tr, changed := c.Result(7*time.Second, 2, false, "status 500")
	if !changed || tr.Up || c.Up(2) || tr.Reason != "2 check(s) failed in a row (last: status 500)" {
		t.Fatalf("second failure: %+v %v", tr, changed)
	}
	if _, changed := c.Result(8*time.Second, 2, true, ""); changed {
		t.Fatal("a result with no probe in flight was taken")
	}
}
