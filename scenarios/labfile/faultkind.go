package labfile

import "strings"

// FaultKind is the kind of a fault on a lab's timeline (a lab file's
// faults[].kind). Its meaning per target is on Fault.Kind.
type FaultKind string

// The fault kinds a timeline may use.
const (
	// FaultCrash: a host dies silently; a backend's process dies, so
	// connections are refused and requests in progress reset.
	FaultCrash FaultKind = "crash"
	// FaultRestore: a crashed, powered-off, hung or slow host or backend
	// comes back as it was at the start.
	FaultRestore FaultKind = "restore"
	// FaultStop: the host's VRRP agent shuts down cleanly (priority 0).
	FaultStop FaultKind = "stop"
	// FaultStart: the host's VRRP agent starts again.
	FaultStart FaultKind = "start"
	// FaultPause: the host's agents freeze, as by SIGSTOP.
	FaultPause FaultKind = "pause"
	// FaultResume: the host's agents thaw, as by SIGCONT.
	FaultResume FaultKind = "resume"
	// FaultLinkDown: a host's link (HOST or HOST:IFACE) goes down.
	FaultLinkDown FaultKind = "link_down"
	// FaultLinkUp: the link comes up again.
	FaultLinkUp FaultKind = "link_up"
	// FaultPartition: a segment splits into groups of hosts.
	FaultPartition FaultKind = "partition"
	// FaultHeal: the segment is whole again.
	FaultHeal FaultKind = "heal"
	// FaultScriptFail: a host's vrrp_script starts failing.
	FaultScriptFail FaultKind = "script_fail"
	// FaultScriptOK: the script passes again.
	FaultScriptOK FaultKind = "script_ok"
	// FaultPowerOff: a backend vanishes from the network: connections
	// time out.
	FaultPowerOff FaultKind = "power_off"
	// FaultHang: a backend accepts connections and never answers.
	FaultHang FaultKind = "hang"
	// FaultSlow: a backend's service times are multiplied by the fault's
	// factor.
	FaultSlow FaultKind = "slow"
	// FaultHealthFail: a backend's health endpoint answers 503.
	FaultHealthFail FaultKind = "health_fail"
	// FaultHealthOK: a backend's health endpoint answers 200 again.
	FaultHealthOK FaultKind = "health_ok"
	// FaultHealthPath: a group's active checks probe another path from
	// now on.
	FaultHealthPath FaultKind = "health_path"
	// FaultScale: a service (services:) runs Fault.Count containers from
	// now on: new ones start (their start events register them), the
	// highest-numbered ones stop and are removed (die, stop, destroy).
	FaultScale FaultKind = "scale"
	// FaultProxyCrash: the load balancer's process on a proxy host dies;
	// the host and its VRRP agent stay up, so a VIP it holds stays there
	// and its connections are refused.
	FaultProxyCrash FaultKind = "proxy_crash"
	// FaultFirewall: a segment's hosts named in Between drop IP protocol
	// Proto between each other (the others pass).
	FaultFirewall FaultKind = "firewall"
	// FaultFirewallClear: the firewall rules (firewall, garp_drop)
	// between those hosts go.
	FaultFirewallClear FaultKind = "firewall_clear"
	// FaultGARPDrop: on a segment, the gratuitous ARP one of the hosts
	// named in Between sends does not reach the others (a switch's
	// dynamic ARP inspection, an arptables rule on the clients); other ARP
	// passes, so their neighbour entries move only when they fail and
	// resolve again. keepalived cannot stop sending it
	// (garp_master_repeat 0 is read as 1): this is how its users meet the
	// stale entry.
	FaultGARPDrop FaultKind = "garp_drop"
)

// FaultKinds are the fault kinds a timeline may use, in the order the
// lab format's documentation lists them.
var FaultKinds = []FaultKind{FaultCrash, FaultRestore, FaultStop, FaultStart, FaultPause, FaultResume,
	FaultLinkDown, FaultLinkUp, FaultPartition, FaultHeal, FaultScriptFail, FaultScriptOK,
	FaultPowerOff, FaultHang, FaultSlow, FaultHealthFail, FaultHealthOK, FaultHealthPath, FaultScale,
	FaultProxyCrash, FaultFirewall, FaultFirewallClear, FaultGARPDrop}

// Silent reports whether the fault makes its target fall silent without a
// word to its peers (crash, pause, link_down, power_off, hang): the others
// notice only by their timers.
func (k FaultKind) Silent() bool {
	switch k {
	case FaultCrash, FaultPause, FaultLinkDown, FaultPowerOff, FaultHang:
		return true
	}
	return false
}

// kindList is FaultKinds as a comma-separated list, for messages.
func kindList() string {
	s := make([]string, len(FaultKinds))
	for i, k := range FaultKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
