package vrrplinux

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/lblab/lblab/vrrpsim"
	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// Config is what one agent runs: its VRRP instances and the vrrp_scripts
// they track.
type Config struct {
	// Name is the router's name in the history (a lab's host name).
	// Default: the keepalived router_id, else the host name.
	Name string
	// Instances are the VRRP instances, each on its interface.
	Instances []Instance
	// Scripts are the vrrp_scripts the instances track.
	Scripts []Script
}

// Instance is one VRRP instance on one interface.
type Instance struct {
	// Interface is the interface it runs on (keepalived's interface).
	Interface string
	// VRRP is the state machine's configuration. A zero PrimaryIP is
	// filled with the interface's primary IPv4 address at start. Its
	// UnicastPeers, when set, replace the multicast group: adverts go to
	// each peer, and only unicast adverts are taken. Its Notify scripts
	// run as processes, its GARP settings act on the interface.
	VRRP vrrpsim.Config
}

// Script is a vrrp_script: a command run with /bin/sh -c every Interval;
// a run that exits 0 within Timeout succeeds.
type Script struct {
	Name     string
	Command  string
	Interval time.Duration
	Timeout  time.Duration
}

// FromKeepalived turns a parsed keepalived.conf into an agent's Config.
// With only set, just that vrrp_instance runs. Like keepalived at start,
// it looks for each tracked vrrp_script's program on this host: one that
// does not exist or is not executable is disabled (the instances keep
// their priority) with a warning. Warnings have their lines and File left
// empty.
func FromKeepalived(c *keepalived.Config, only string) (Config, []keepalived.Warning, error) {
	out := Config{Name: c.RouterID}
	var warns []keepalived.Warning
	used := map[string]bool{}
	for _, in := range c.Instances {
		if only != "" && in.Name != only {
			continue
		}
		vc := c.VRRPConfig(in, netip.Addr{})
		notify, nwarns := disableMissingNotifies(in)
		for i, w := range nwarns {
			nwarns[i] = c.WarningAt("", w.Line, w.Message())
		}
		warns = append(warns, nwarns...)
		vc.Notify = notify
		out.Instances = append(out.Instances, Instance{Interface: in.Interface, VRRP: vc})
		for _, t := range vc.Tracks {
			used[t.Name] = true
		}
	}
	if len(out.Instances) == 0 {
		if only != "" {
			return Config{}, warns, fmt.Errorf("no vrrp_instance %s in the configuration", only)
		}
		return Config{}, warns, fmt.Errorf("no vrrp_instance in the configuration")
	}
	for name := range used {
		s := c.Scripts[name]
		out.Scripts = append(out.Scripts, Script{Name: s.Name, Command: s.Command, Interval: s.Interval, Timeout: s.Timeout})
	}
	sortScripts(out.Scripts)
	var swarns []keepalived.Warning
	out.Scripts, swarns = disableMissingScripts(c, out.Instances, out.Scripts)
	warns = append(warns, swarns...)
	sort.SliceStable(warns, func(i, j int) bool { return warns[i].Line < warns[j].Line })
	return out, warns, nil
}

func sortScripts(s []Script) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Name < s[j-1].Name; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// withDefaults fills the defaults of c.
func (c Config) withDefaults() Config {
	for i := range c.Scripts {
		if c.Scripts[i].Interval <= 0 {
			c.Scripts[i].Interval = vrrpsim.DefaultScriptInterval
		}
		if c.Scripts[i].Timeout <= 0 {
			c.Scripts[i].Timeout = c.Scripts[i].Interval
		}
	}
	return c
}
