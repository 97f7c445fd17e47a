package labfile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/vrrpsim"
)

// TheoryWindow is the interval in which the protocol says a takeover (or
// a health transition) lands, measured from the fault.
type TheoryWindow struct {
	// Lo and Hi bound the delay from the fault, inclusive.
	Lo, Hi time.Duration
	// Why says where the numbers come from, for the report.
	Why i18n.Text
}

// String writes the window in seconds: [3.6 s, 3.7 s].
func (w TheoryWindow) String() string {
	return fmt.Sprintf("[%s, %s]", Secs(w.Lo), Secs(w.Hi))
}

// Secs prints a duration in seconds with up to nine decimals and no
// trailing zeros: 3.609375 s.
func Secs(d time.Duration) string {
	b, _ := stampJSON(d)
	return string(b) + " s"
}

// InstanceOn returns the lab's vrrp_instance on a host (its first).
func (lab *Lab) InstanceOn(host string) (*Instance, *Host) {
	if lab.VRRP == nil {
		return nil, nil
	}
	for i := range lab.VRRP.Instances {
		in := &lab.VRRP.Instances[i]
		if in.Host != host {
			continue
		}
		for j := range lab.Topology.Hosts {
			if lab.Topology.Hosts[j].Name == host {
				return in, &lab.Topology.Hosts[j]
			}
		}
	}
	return nil, nil
}

// latency returns the least and largest one-way delay from host a to host
// b over the segment of b's VRRP interface.
func (lab *Lab) latency(a, b string) (lo, hi time.Duration) {
	in, hb := lab.InstanceOn(b)
	if in == nil {
		return 0, 0
	}
	var seg string
	var linkB Interface
	for _, ifc := range hb.Interfaces {
		if ifc.Name == in.Interface {
			seg, linkB = ifc.Segment, ifc
		}
	}
	var linkA Interface
	for _, h := range lab.Topology.Hosts {
		if h.Name == a {
			for _, ifc := range h.Interfaces {
				if ifc.Segment == seg {
					linkA = ifc
				}
			}
		}
	}
	for _, s := range lab.Topology.Segments {
		if s.Name == seg {
			lo = s.Latency.D + linkA.Latency.D + linkB.Latency.D
			return lo, lo + s.Jitter.D + linkA.Jitter.D + linkB.Jitter.D
		}
	}
	return 0, 0
}

// TheoryFor returns the window in which router by becomes master after
// fault f, from the protocol's timers:
//   - crash, link_down or pause of the master (a silent death): the backup's down
//     timer was last reset by an advert sent at most one interval before
//     the fault, so [MDI − interval, MDI] plus the one-way latency;
//   - stop of the master: it sends priority 0 and the backup waits
//     Skew_Time, plus the latency;
//   - restore or start of a router that preempts: it boots into BACKUP,
//     discards the lower master's adverts and takes over when its own
//     down timer runs out, MDI after boot.
func (lab *Lab) TheoryFor(f Fault, by string) (TheoryWindow, error) {
	in, h := lab.InstanceOn(by)
	if in == nil {
		return TheoryWindow{}, i18n.Errorf("no VRRP router on %s", by)
	}
	c := InstanceConfig(lab, in, h)
	cfg, err := vrrpsim.New(c)
	if err != nil {
		return TheoryWindow{}, err
	}
	c = cfg.Config()
	mdi := vrrpsim.MasterDownInterval(c.Version, c.Priority, c.Interval)
	skew := vrrpsim.SkewTime(c.Version, c.Priority, c.Interval)
	latLo, latHi := lab.latency(f.Target, by)
	silent := TheoryWindow{mdi - c.Interval + latLo, mdi + latHi,
		i18n.T("silent death: [MDI − interval, MDI] + latency, MDI = %s", Formula(c))}
	switch f.Kind {
	case FaultCrash, FaultPause:
		return silent, nil
	case FaultLinkDown:
		return lab.linkDownTheory(f, by, c, silent, TheoryWindow{skew + latLo, skew + latHi, i18n.Text{}})
	case FaultStop:
		return TheoryWindow{skew + latLo, skew + latHi,
			i18n.T("priority 0 received: Skew_Time + latency, Skew_Time = %s", Secs(skew))}, nil
	case FaultScriptFail, FaultScriptOK:
		return lab.scriptTheory(f, by, c)
	case FaultProxyCrash:
		if name, ok := lab.RestartScript(f.Target); ok && f.Target != by {
			return lab.restartTheory(f, name, skew, latLo, latHi)
		}
		// The proxy's death moves the router only through a script that
		// checks the proxy (ProxyScripts): it is that script failing.
		if scripts := lab.ProxyScripts(f.Target); len(scripts) > 0 && f.Target != by {
			sf := f
			sf.Kind, sf.Script = FaultScriptFail, scripts[0]
			return lab.scriptTheory(sf, by, c)
		}
	case FaultRestore, FaultStart:
		if f.Target != by {
			break
		}
		return TheoryWindow{mdi, mdi, i18n.T("boots as backup and preempts when its down timer runs out: MDI = %s", Formula(c))}, nil
	}
	return TheoryWindow{}, i18n.Errorf("no theory for a %s fault of %s with %s taking over; give min and max", f.Kind, f.Target, by)
}

// restartTheory is the window of a proxy_crash on a host whose
// vrrp_script name restarts the proxy (Script.RestartWait): the
// script's first run after the fault comes within one interval (its
// phase is not the fault's), finds no proxy, starts it and waits
// restart_wait; the start fails (start_fails), so it stops the agent,
// which sends priority 0, and the backup takes over after Skew_Time:
// [restart_wait, interval + restart_wait] + Skew_Time + latency. A
// restart that succeeds moves nothing.
func (lab *Lab) restartTheory(f Fault, name string, skew, latLo, latHi time.Duration) (TheoryWindow, error) {
	sc := lab.VRRP.Scripts[name]
	if !f.StartFails {
		return TheoryWindow{}, i18n.Errorf("%s restarts the proxy on %s and the restart succeeds (no start_fails): no takeover; write window: none", name, f.Target)
	}
	iv, wait := sc.Interval.Or(time.Second), sc.RestartWait.D
	return TheoryWindow{wait + skew + latLo, iv + wait + skew + latHi,
		i18n.T("%s's next run finds no proxy within one interval, starts it, waits %s, finds it still down and stops the agent: priority 0, [restart_wait, interval + restart_wait] + Skew_Time + latency = [%s, %s] + %s + latency",
			name, Secs(wait), Secs(wait), Secs(iv+wait), Secs(skew))}, nil
}

// scriptModel is the priority and state a router's model has with the
// lab's vrrp_script name failing (ok false) or succeeding, every other
// tracked script at its initial result.
func (lab *Lab) scriptModel(host, name string, ok bool) (*vrrpsim.Router, error) {
	in, h := lab.InstanceOn(host)
	if in == nil {
		return nil, i18n.Errorf("no VRRP router on %s", host)
	}
	r, err := vrrpsim.New(InstanceConfig(lab, in, h))
	if err != nil {
		return nil, err
	}
	r.Startup(0)
	for _, t := range in.TrackScript {
		result := !lab.VRRP.Scripts[t].InitFail
		if t == name {
			result = ok
		}
		r.TrackResult(0, t, result) // the first result decides at once
	}
	return r, nil
}

// scriptTheory is the window of a script_fail on the master (by takes
// over) or of a script_ok on the router by (it takes the address back),
// from the model's timers. The script runs every interval from the start
// of the host, so its first run after the fault comes within one interval
// (its phase is not the fault's), and the fall-th (rise-th) result in a
// row moves the priority: at T in [(fall−1) × interval, fall × interval]
// after the fault.
//   - script_fail, weight 0: the master goes to FAULT at T and sends
//     priority 0; the backup waits Skew_Time: T + Skew_Time + latency.
//   - script_fail, the master's priority falls below by's: its adverts
//     carry the new priority from its next one on, and by (preempting,
//     without preempt_delay) discards them: its down timer runs out MDI
//     after the last advert sent before T, which left at most one of the
//     master's advert intervals before T: [T − advert_int, T] + MDI +
//     latency.
//   - script_ok on by, its priority rises above the master's: by discards
//     the master's adverts from T on, and its down timer, moved to its new
//     MDI, runs out MDI after the last advert it received before T:
//     [T − advert_int, T] + MDI (the latency is in the reception).
func (lab *Lab) scriptTheory(f Fault, by string, c vrrpsim.Config) (TheoryWindow, error) {
	sc := lab.VRRP.Scripts[f.Script]
	iv := sc.Interval.Or(time.Second)
	runs, n := max(sc.Fall, 1), "fall"
	if f.Kind == "script_ok" {
		runs, n = max(sc.Rise, 1), "rise"
	}
	tLo, tHi := time.Duration(runs-1)*iv, time.Duration(runs)*iv
	turn := i18n.T("the %s run after the fault moves the priority, [(%s − 1) × interval, %s × interval] = [%s, %s]", ordinal(runs), n, n, Secs(tLo), Secs(tHi))
	mdi := vrrpsim.MasterDownInterval(c.Version, c.Priority, c.Interval)
	skew := vrrpsim.SkewTime(c.Version, c.Priority, c.Interval)
	if c.NoPreempt && c.InitialState != vrrpsim.StateMaster {
		return TheoryWindow{}, i18n.Errorf("%s has nopreempt: it does not take over from a live master whose priority changed; write window: none", by)
	}
	if c.PreemptDelay > 0 && c.InitialState != vrrpsim.StateMaster {
		return TheoryWindow{}, i18n.Errorf("no theory for a %s fault with preempt_delay on %s; give min and max", f.Kind, by)
	}
	if f.Kind == "script_fail" {
		if f.Target == by {
			return TheoryWindow{}, i18n.Errorf("a script_fail on %s does not make %s master; give min and max, or window: none", by, by)
		}
		m, err := lab.scriptModel(f.Target, f.Script, false)
		if err != nil {
			return TheoryWindow{}, err
		}
		latLo, latHi := lab.latency(f.Target, by)
		switch {
		case m.State() == vrrpsim.StateFault:
			return TheoryWindow{tLo + skew + latLo, tHi + skew + latHi,
				i18n.T("%s; %s goes to FAULT and sends priority 0: + Skew_Time + latency, Skew_Time = %s", turn, f.Target, Secs(skew))}, nil
		case m.Priority() < c.Priority:
			adv := m.Config().Interval
			return TheoryWindow{tLo - adv + mdi + latLo, tHi + mdi + latHi,
				i18n.T("%s; %s's priority falls to %d < %d, its last advert before that left in [T − %s, T]: + MDI + latency, MDI = %s",
					turn, f.Target, m.Priority(), c.Priority, Secs(adv), Formula(c))}, nil
		}
		return TheoryWindow{}, i18n.Errorf("a failing %s leaves %s's priority at %d, not below %s's %d, so %s does not take over; give min and max, or window: none",
			f.Script, f.Target, m.Priority(), by, c.Priority, by)
	}
	if f.Target != by {
		return TheoryWindow{}, i18n.Errorf("no theory for a script_ok on %s with %s taking over; give min and max", f.Target, by)
	}
	m, err := lab.scriptModel(by, f.Script, true)
	if err != nil {
		return TheoryWindow{}, err
	}
	// The master is the other router of the VRID with the highest priority.
	master, mp := "", 0
	for i := range lab.VRRP.Instances {
		o := &lab.VRRP.Instances[i]
		if o.VirtualRouterID != int(c.VRID) || o.Host == by {
			continue
		}
		om, err := lab.scriptModel(o.Host, "", true)
		if err != nil {
			return TheoryWindow{}, err
		}
		if p := int(om.Priority()); p > mp && om.State() != vrrpsim.StateFault {
			master, mp = o.Host, p
		}
	}
	if master == "" || int(m.Priority()) <= mp {
		return TheoryWindow{}, i18n.Errorf("a recovered %s gives %s priority %d, not above the master's %d, so %s does not take over; give min and max, or window: none",
			f.Script, by, m.Priority(), mp, by)
	}
	om, _ := lab.scriptModel(master, "", true)
	adv := om.Config().Interval
	up := m.Config()
	up.Priority = m.Priority()
	mdi = vrrpsim.MasterDownInterval(up.Version, up.Priority, up.Interval)
	return TheoryWindow{tLo - adv + mdi, tHi + mdi,
		i18n.T("%s; %s's priority rises to %d > %s's %d, it discards the adverts from then on: the last one it heard came in [T − %s, T], + MDI = %s",
			turn, by, up.Priority, master, mp, Secs(adv), Formula(up))}, nil
}

// linkDownTheory is the window of a link_down of the master, for the
// backup by (its instance c): silent is the silent-death window, skew the
// Skew_Time one.
//   - its own interface (tracked or not): nothing it sends gets out, a
//     silent death;
//   - another interface tracked without a weight: FAULT, and the
//     priority-0 adverts go out on the live LAN, so Skew_Time;
//   - another interface tracked with a weight that takes the priority
//     below the backup's: the backup discards the adverts from then on and
//     its down timer runs out as after a silent death;
//   - anything else moves nothing: no theory.
func (lab *Lab) linkDownTheory(f Fault, by string, c vrrpsim.Config, silent, skew TheoryWindow) (TheoryWindow, error) {
	host, ifname, _ := strings.Cut(f.Target, ":")
	fin, fh := lab.InstanceOn(host)
	if fin == nil {
		return TheoryWindow{}, i18n.Errorf("no VRRP router on %s", host)
	}
	fr, err := vrrpsim.New(InstanceConfig(lab, fin, fh))
	if err != nil {
		return TheoryWindow{}, err
	}
	fc := fr.Config()
	if ifname == "" || ifname == fc.Interface {
		return silent, nil
	}
	// Ask the model what the cut does to the master.
	fr.Startup(0)
	fr.LinkChange(0, ifname, false)
	switch {
	case fr.State() == vrrpsim.StateFault:
		skew.Why = i18n.T("%s tracks %s: FAULT, priority 0 sent on the LAN: Skew_Time + latency, Skew_Time = %s",
			host, ifname, Secs(vrrpsim.SkewTime(c.Version, c.Priority, c.Interval)))
		return skew, nil
	case fr.Priority() < c.Priority:
		silent.Why = i18n.T("%s's priority drops to %d < %d: its adverts are discarded, [MDI − interval, MDI] + latency, MDI = %s",
			host, fr.Priority(), c.Priority, Formula(c))
		return silent, nil
	}
	return TheoryWindow{}, i18n.Errorf("a link_down of %s does not take %s's priority below %s's %d, so %s does not take over; give min and max, or window: none",
		f.Target, host, by, c.Priority, by)
}

// Formula writes Master_Down_Interval with its numbers filled in.
func Formula(c vrrpsim.Config) string {
	mdi := vrrpsim.MasterDownInterval(c.Version, c.Priority, c.Interval)
	if c.Version == 2 {
		return fmt.Sprintf("3 × %s + (256 − %d)/256 s = %s", Secs(c.Interval), c.Priority, Secs(mdi))
	}
	return fmt.Sprintf("3 × %s + (256 − %d) × %s/256 = %s", Secs(c.Interval), c.Priority, Secs(c.Interval), Secs(mdi))
}

// TakeoverOrder returns the routers of a VRID in the order VRRP elects
// them: the highest priority first and, between equal priorities, the
// higher primary IP (keepalived's tie-break). The first is the master;
// when it dies, the second takes over.
func (lab *Lab) TakeoverOrder(vrid int) []vrrpsim.Config {
	var out []vrrpsim.Config
	hosts := map[string]bool{}
	for i := range lab.VRRP.Instances {
		in := &lab.VRRP.Instances[i]
		if in.VirtualRouterID != vrid || hosts[in.Host] {
			continue
		}
		hosts[in.Host] = true
		bin, bh := lab.InstanceOn(in.Host)
		r, err := vrrpsim.New(InstanceConfig(lab, bin, bh))
		if err != nil {
			continue
		}
		c := r.Config()
		c.Name = in.Host
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b vrrpsim.Config) int {
		if a.Priority != b.Priority {
			return cmp.Compare(b.Priority, a.Priority)
		}
		return b.PrimaryIP.Compare(a.PrimaryIP)
	})
	return out
}

// stampJSON writes d as history stamps it: seconds with up to nine
// decimals and no trailing zeros.
func stampJSON(d time.Duration) ([]byte, error) { return history.Stamp(d).MarshalJSON() }
