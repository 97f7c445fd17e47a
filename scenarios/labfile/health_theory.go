package labfile

import (
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
)

// HealthTheory returns when a server's health transition follows a fault:
// probes come every Interval (or every Timeout when they time out), the
// first one after the fault within one period, and the transition at the
// fall-th (rise-th) result.
func (lab *Lab) HealthTheory(c *HealthDelayCheck, f Fault) (TheoryWindow, error) {
	var g *proxy.Group
	for i := range lab.LB.Groups {
		if lab.LB.Groups[i].Name == c.Group {
			g = &lab.LB.Groups[i]
		}
	}
	hc := g.HealthCheck
	iv, to := hc.Interval.Or(2*time.Second), hc.Timeout.Or(5*time.Second)
	fall, rise := hc.UnhealthyThreshold, hc.HealthyThreshold
	if fall == 0 {
		fall = 3
	}
	if rise == 0 {
		rise = 3
	}
	rtt := 2 * 250 * time.Microsecond
	if lab.Network != nil && lab.Network.BackendLatency.IsSet() {
		rtt = 2 * lab.Network.BackendLatency.D
	}
	silent := func(kind FaultKind) bool { return kind == FaultHang || kind == FaultPowerOff }
	switch {
	case c.To == "down" && (f.Kind == FaultCrash || f.Kind == FaultHealthFail):
		n := time.Duration(fall - 1)
		return TheoryWindow{n*iv + rtt, n*iv + iv + rtt,
			i18n.T("the first failing probe within one interval, down at the %s: [(fall−1)×interval, fall×interval] + RTT", ordinal(fall))}, nil
	case c.To == "down" && silent(f.Kind) && tcpCheck(hc):
		return TheoryWindow{}, i18n.Errorf("a TCP check never sees a %s server (it still accepts)", f.Kind)
	case c.To == "down" && silent(f.Kind):
		period := max(iv, to)
		n := time.Duration(fall - 1)
		return TheoryWindow{n*period + to, iv + n*period + to,
			i18n.T("probes time out after %s and start every %s: [timeout + (fall−1)×period, interval + timeout + (fall−1)×period]", to.String(), period.String())}, nil
	case c.To == "up" && (f.Kind == FaultRestore || f.Kind == FaultHealthOK || f.Kind == FaultHealthPath):
		period := iv
		for _, earlier := range lab.Faults {
			if earlier.Target == f.Target && earlier.At.D < f.At.D && silent(earlier.Kind) {
				period = max(iv, to)
			}
		}
		n := time.Duration(rise - 1)
		return TheoryWindow{n*iv + rtt, n*iv + period + rtt,
			i18n.T("the first passing probe within one period, up at the %s: [(rise−1)×interval, (rise−1)×interval + period] + RTT", ordinal(rise))}, nil
	}
	return TheoryWindow{}, i18n.Errorf("no theory for going %s after a %s fault; give min and max", c.To, f.Kind)
}

func tcpCheck(hc *proxy.HealthCheck) bool { return hc.Type == "tcp" }

// ordinal writes 1st, 2nd, 3rd, 4th, 11th, 21st.
func ordinal(n int) i18n.Text {
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			return i18n.T("%dst", n)
		case 2:
			return i18n.T("%dnd", n)
		case 3:
			return i18n.T("%drd", n)
		}
	}
	return i18n.T("%dth", n)
}
