package labfile

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
)

// OutageCheck expects the outage a client host sees (its metric
// outage_s_<client>) to lie within a window: the longest time between
// two successes of the host's requests and probes (each at its end) that
// a failed one overlaps; 0 when nothing failed.
type OutageCheck struct {
	// Client is the topology host the clients send from. Required.
	Client string `yaml:"client"`
	// Fault is the fault the outage follows. Default the lab's first
	// fault on a proxy host.
	Fault string `yaml:"fault"`
	// By is the router expected to take the clients' VIP over. Default
	// the router of highest priority, other than the fault's target, that
	// holds the VIP the client sends to.
	By string `yaml:"by"`
	// Window is theory (default): the takeover's window after the fault
	// (Lab.TheoryFor: [MDI − interval, MDI] for a silent death), plus the
	// gratuitous ARP's trip to the client, plus a new connection and its
	// request (OutageTheory); or set Min and Max, which replace it.
	Window string         `yaml:"window"`
	Min    units.Duration `yaml:"min"`
	Max    units.Duration `yaml:"max"`
}

// OutageTheory returns, for an outage_within check, the law the outage
// follows (Law: the takeover window shifted by the mean time the client
// needs to see a success again) and the window the check accepts
// (Window: from the takeover's earliest plus the least reconnect, to its
// latest plus a slow reconnect):
//
//	law    = takeover + GARP + 4L + 2B + service median + 2/rate
//	window = [takeover.Lo + GARP + 4L + 2B, takeover.Hi + GARP + 4L + 2B + service p99 + 10/rate]
//
// where L is the one-way latency between the client and the new master
// (GARP is one such trip), 4L a new connection's handshake and its
// request, B the load balancer's backend latency, and 1/rate the mean
// time between two of the client's requests (one before the fault, one
// after the gratuitous ARP, on average).
func (lab *Lab) OutageTheory(c *OutageCheck) (law, window TheoryWindow, err error) {
	f, by, err := lab.outageFault(c)
	if err != nil {
		return law, window, err
	}
	take, err := lab.TheoryFor(f, by)
	if err != nil {
		return law, window, err
	}
	l, _ := lab.latency(c.Client, by)
	b := 250 * time.Microsecond
	if lab.Network != nil && lab.Network.BackendLatency.D > 0 {
		b = lab.Network.BackendLatency.D
	}
	var med, p99 time.Duration
	for _, be := range lab.Backends {
		m, p := lawQuantiles(be.Service.Law, be.Service.Mean.Or(10*time.Millisecond), be.Service.Median.D, be.Service.P99.D)
		med, p99 = max(med, m), max(p99, p)
	}
	rate, timeout := 0.0, time.Duration(0)
	for _, cl := range lab.Clients {
		if cl.From == c.Client {
			rate += cl.WithDefaults().Rate
			timeout = max(timeout, cl.WithDefaults().Timeout.D)
		}
	}
	gap := time.Duration(0)
	if rate > 0 {
		gap = time.Duration(float64(time.Second) / rate)
	}
	base := l + 4*l + 2*b
	if stale, ok := lab.staleARP(c.Client, by, f); ok {
		// The GARP never reaches the client: its entry follows the dead
		// node until Linux gives up on it, unless the takeover is later.
		lo, hi := max(take.Lo, stale), max(take.Hi, stale)
		law = TheoryWindow{lo + base + med + 2*gap, hi + base + med + 2*gap,
			i18n.T("the gratuitous ARP is dropped: the ARP entry's life %s (arp_timeout %s + delay_first_probe_time %s + %d unicast probes × %s), or the takeover %s if later; + a resolution and a new connection's request (5 × %s + 2 × %s) + the service's median %s + 2 request gaps (%s)",
				stale, lab.ARPTimeoutOr(), neighDelayFirstProbe, neighUcastProbes, neighRetransTime, take.String(), l, b, med, gap)}
		// Linux confirms the entry with the next segment a connection
		// sends after an acknowledgement (sk_dst_pending_confirm), and
		// so does the simulator: a request the dead node acknowledged
		// but never answered (sent before the crash) confirms it once
		// more when the client gives it up (its close, at its send + the
		// client's timeout), and the entry's life starts again then. The
		// last confirmation is the later of the crash's (the last
		// replies) and that close, whichever the run had: up to the
		// client's timeout after the crash. (Linux's timer wheel adds
		// its slack on real hosts: OutageTimerSlack.)
		late := max(hi, stale+timeout)
		window = TheoryWindow{lo + base, late + base + p99 + 10*gap,
			i18n.T("the gratuitous ARP is dropped: the ARP entry's life %s (arp_timeout %s + delay_first_probe_time %s + %d unicast probes × %s) from its last confirmation, or the takeover %s if later; the last confirmation is the crash's, or up to the client's timeout %s later (Linux confirms the entry with the next segment a connection sends after an acknowledgement: the close of a request the dead node acknowledged and never answered); + a resolution and a new connection's request (5 × %s + 2 × %s), up to the service's p99 %s + 10 request gaps (%s)",
				stale, lab.ARPTimeoutOr(), neighDelayFirstProbe, neighUcastProbes, neighRetransTime, take.String(), timeout, l, b, p99, gap)}
		return law, window, nil
	}
	law = TheoryWindow{take.Lo + base + med + 2*gap, take.Hi + base + med + 2*gap,
		i18n.T("%s; + GARP and a new connection's request (5 × %s + 2 × %s) + the service's median %s + 2 request gaps (%s)",
			take.Why, l, b, med, gap)}
	window = TheoryWindow{take.Lo + base, take.Hi + base + p99 + 10*gap,
		i18n.T("takeover %s + GARP and a new connection's request (5 × %s + 2 × %s), up to the service's p99 %s + 10 request gaps (%s)",
			take.String(), l, b, p99, gap)}
	return law, window, nil
}

// OutageTimerSlack returns how much later than its theoretical window an
// outage_within check's outage may be on real hosts beyond the world's
// timing tolerance: when the gratuitous ARP is dropped (the outage is the
// client's ARP entry's life, OutageTheory), Linux's timer wheel fires a
// timer armed Δ ahead up to Δ/8 late (its level's granularity, the
// wheel's 12.5 % worst case), so the entry's timers (arp_timeout +
// delay_first_probe_time + the probes) add up to 1/8 of its life; 0
// otherwise (and for a check whose window the lab sets).
func (lab *Lab) OutageTimerSlack(c *OutageCheck) time.Duration {
	if c.Min.IsSet() || c.Max.IsSet() {
		return 0
	}
	f, by, err := lab.outageFault(c)
	if err != nil {
		return 0
	}
	if stale, ok := lab.staleARP(c.Client, by, f); ok {
		return stale / 8
	}
	return 0
}

// Linux's neighbour timers the clients' caches use beside arp_timeout
// (sim.NeighConfig's defaults): delay_first_probe_time, retrans_time,
// ucast_solicit.
const (
	neighDelayFirstProbe = 5 * time.Second
	neighRetransTime     = time.Second
	neighUcastProbes     = 3
)

// staleARP reports whether a garp_drop fault keeps the new master by's
// gratuitous ARP from client when fault f happens (set before f, not
// cleared by a firewall_clear between them since), and then how long the
// client's entry keeps pointing at the old node after its last
// confirmation: arp_timeout + delay_first_probe_time + ucast_solicit ×
// retrans_time, Linux's stale handling up to FAILED.
func (lab *Lab) staleARP(client, by string, f Fault) (time.Duration, bool) {
	both := func(x Fault) bool { return slices.Contains(x.Between, client) && slices.Contains(x.Between, by) }
	dropped := false
	for _, x := range lab.Faults {
		if x.At.D > f.At.D {
			continue
		}
		switch {
		case x.Kind == FaultGARPDrop && both(x):
			dropped = true
		case x.Kind == FaultFirewallClear && both(x):
			dropped = false
		}
	}
	if !dropped {
		return 0, false
	}
	return lab.ARPTimeoutOr() + neighDelayFirstProbe + neighUcastProbes*neighRetransTime, true
}

// lawQuantiles returns a service law's median and 99th percentile.
func lawQuantiles(law string, mean, median, p99 time.Duration) (time.Duration, time.Duration) {
	switch law {
	case "lognormal":
		return median, p99
	case "exponential":
		return time.Duration(float64(mean) * math.Ln2), time.Duration(float64(mean) * math.Log(100))
	}
	return mean, mean
}

// outageFault returns the fault and the router of an outage check.
func (lab *Lab) outageFault(c *OutageCheck) (Fault, string, error) {
	var f *Fault
	proxies := lab.ProxyHosts()
	for i := range lab.Faults {
		x := &lab.Faults[i]
		if (c.Fault != "" && x.Name == c.Fault) || (c.Fault == "" && slices.Contains(proxies, x.Target)) {
			f = x
			break
		}
	}
	if f == nil {
		return Fault{}, "", i18n.Errorf("no fault for the outage of %s", c.Client)
	}
	if c.By != "" {
		return *f, c.By, nil
	}
	var vip netip.Addr
	for _, cl := range lab.Clients {
		if cl.From == c.Client {
			vip, _ = netip.ParseAddr(cl.To)
		}
	}
	best, prio := "", -1
	if lab.VRRP != nil {
		for _, in := range lab.VRRP.Instances {
			if in.Host == f.Target {
				continue
			}
			for _, s := range in.VirtualIPAddress {
				if p, err := ParseVIP(s); err == nil && p.Addr() == vip && in.Priority > prio {
					best, prio = in.Host, in.Priority
				}
			}
		}
	}
	if best == "" {
		return Fault{}, "", i18n.Errorf("no router other than %s holds %s, the address %s sends to", f.Target, vip, c.Client)
	}
	return *f, best, nil
}

// validateOutage checks an outage_within expectation at path p.
func validateOutage(v *validator, lab *Lab, p string, c *OutageCheck, faults map[string]Fault) {
	pp := p + ".outage_within"
	found := false
	for _, cl := range lab.Clients {
		found = found || (cl.From != "" && cl.From == c.Client)
	}
	if !found {
		v.bad(pp+".client", "no clients element sends from %q", c.Client)
	}
	if c.Fault != "" {
		if _, ok := faults[c.Fault]; !ok {
			v.bad(pp+".fault", "no fault named %q", c.Fault)
		}
	}
	if c.Window == "" {
		c.Window = "theory"
	}
	if c.Window != "theory" {
		v.bad(pp+".window", "want theory, or min and max, got %q", c.Window)
	}
	v.duration(pp+".min", c.Min, false)
	v.duration(pp+".max", c.Max, false)
	if c.Min.IsSet() || c.Max.IsSet() {
		if c.Min.IsSet() && c.Max.IsSet() && c.Min.D > c.Max.D {
			v.bad(pp+".max", "max %v is below min %v", c.Max.D, c.Min.D)
		}
		return
	}
	if found && len(v.problems) == 0 { // a theory from a broken lab would only repeat its problems
		if _, _, err := lab.OutageTheory(c); err != nil {
			v.bad(pp, "%s", fmt.Sprint(err))
		}
	}
}
