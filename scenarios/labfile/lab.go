// Package labfile holds the lab file format: its types, reading (lab
// files, lb: files, clients: and backends: spec files), validation,
// warnings and the protocol's timing theory computed from a lab's
// configuration. It imports no driver (no simulator, no network
// namespaces, no real proxy or agent), so a role that only reads the
// format links none of them.
package labfile

import (
	"fmt"
	"time"

	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/sim/cloud"
	"github.com/lblab/lblab/units"
)

// Lab is a lab file. Every field is documented with its default; unknown
// fields are errors.
type Lab struct {
	// Name is the lab's short name, used in the catalog and results.
	// Required: lowercase letters, digits and dashes.
	Name string `yaml:"name"`
	// Title is a one-line human title. Required.
	Title string `yaml:"title"`
	// Teaching is the text shown at the top of the report: what the lab
	// shows and why. Paragraphs are separated by blank lines.
	Teaching string `yaml:"teaching"`
	// TitleZh is Title in Simplified Chinese, shown by lblab run --lang zh
	// (or LANG=zh_CN*). Default: Title.
	TitleZh string `yaml:"title_zh"`
	// TeachingZh is Teaching in Simplified Chinese, shown by --lang zh.
	// Default: Teaching.
	TeachingZh string `yaml:"teaching_zh"`
	// Duration is how long the lab runs (virtual time in the simulator,
	// real time on real hosts). Default 30s; at most 24h (MaxDuration).
	Duration units.Duration `yaml:"duration"`
	// Topology lists the L2 segments and the hosts on them.
	Topology Topology `yaml:"topology"`
	// VRRP configures the VRRP routers of the lab.
	VRRP *VRRP `yaml:"vrrp"`
	// LB is the load balancer (listeners and server groups).
	LB *proxy.Config `yaml:"lb"`
	// Nginx is an nginx configuration the load balancer is imported from,
	// instead of lb: the text itself, or a path relative to the lab file.
	Nginx string `yaml:"nginx"`
	// Backends are the servers behind the load balancer (simulated in
	// the simulator).
	Backends []workload.Backend `yaml:"backends"`
	// Services are containerised services (docker compose's): replicas
	// of one backend whose labels register them with the load balancer
	// (lb.discovery: docker). Simulator only.
	Services []Service `yaml:"services"`
	// Clients are the simulated users and the load they send; open-loop
	// clients send at most MaxRequests in all (rate × time).
	Clients []workload.Clients `yaml:"clients"`
	// Network sets the load balancer's latencies.
	Network *LBNetwork `yaml:"network"`
	// Faults is the fault timeline.
	Faults []Fault `yaml:"faults"`
	// Expect lists the expectations checked after a run.
	Expect []Expectation `yaml:"expect"`
	// Sweep sets the checks of a multi-seed sweep (--seeds N).
	Sweep *Sweep `yaml:"sweep"`
	// Impl names the programs that play the lab's roles on real hosts
	// (lblab run --impl sets it too). Default: lblab's own for every role.
	Impl *Impl `yaml:"impl"`
	// Probes are ICMP echo and TCP connect probes sent from a topology
	// host to an address all through the run (a high-availability lab's;
	// see HA). Each clients element with from and to adds an icmp and a
	// tcp probe of its own unless it says probe: off. Default none.
	Probes []Probe `yaml:"probes"`

	// written holds the field paths the file writes (writtenPaths).
	written map[string]bool
	// imported is true when LB came from the nginx field.
	imported bool
	// warnings are those of the embedded configurations (Warnings).
	warnings []Warning
	// lang is the language the lab was localized to (see Localized): ""
	// or i18n.English for English, i18n.Chinese.
	lang string
	// en is the lab as written when this one was localized to Chinese
	// (its English title and teaching text); nil otherwise.
	en *Lab
}

// Impl names the implementation of each role a lab runs: lblab's own
// agents, or the peer the user runs in production, so that a lab answers
// its question about the user's own stack. The simulator plays lblab's
// cores only; a world that cannot run a peer refuses the lab
// (Capabilities.Impls).
type Impl struct {
	// VRRP is the VRRP routers' program: lblab (lblab vrrp) or keepalived
	// (the system's keepalived, with a keepalived.conf generated from the
	// lab). Default lblab.
	VRRP string `yaml:"vrrp"`
	// Proxy is the load balancer's program: lblab (lblab proxy) or nginx
	// (the system's nginx, with an nginx.conf generated from the lab).
	// Default lblab.
	Proxy string `yaml:"proxy"`
}

// The implementations a role may name in Impl.
const (
	// ImplLblab is lblab's own agent, the default for every role.
	ImplLblab = "lblab"
	// ImplKeepalived is the system's keepalived, for the VRRP routers.
	ImplKeepalived = "keepalived"
	// ImplNginx is the system's nginx, for the load balancer.
	ImplNginx = "nginx"
)

// VRRPImpl returns the VRRP routers' implementation: Impl.VRRP, or
// ImplLblab when the lab names none.
func (l *Lab) VRRPImpl() string {
	if l.Impl == nil || l.Impl.VRRP == "" {
		return ImplLblab
	}
	return l.Impl.VRRP
}

// ProxyImpl returns the load balancer's implementation: Impl.Proxy, or
// ImplLblab when the lab names none.
func (l *Lab) ProxyImpl() string {
	if l.Impl == nil || l.Impl.Proxy == "" {
		return ImplLblab
	}
	return l.Impl.Proxy
}

// LBNetwork is the one-way latencies around the load balancer.
type LBNetwork struct {
	// ClientLatency is client to load balancer, more than 0. Default 1ms.
	ClientLatency units.Duration `yaml:"client_latency"`
	// BackendLatency is load balancer to server, more than 0. Default
	// 250us.
	BackendLatency units.Duration `yaml:"backend_latency"`
	// DiscoveryDelay is how long a container's event (start, die, stop,
	// destroy) takes to change the load balancer's servers with
	// lb.discovery: docker: the Docker engine's event delay and the
	// reload. More than 0. Default 100ms.
	DiscoveryDelay units.Duration `yaml:"discovery_delay"`
	// ARPTimeout is how long a client host's neighbour (ARP) entry stays
	// REACHABLE after it was last confirmed (a reply on a connection to
	// the address, an answered ARP probe): Linux's base_reachable_time,
	// without its random factor. More than 0. Default 30s
	// (DefaultARPTimeout). The model follows Linux's stale handling:
	// REACHABLE → STALE when it runs out; a packet sent on a STALE entry
	// goes to the entry's host and moves it to DELAY; without a
	// confirmation within delay_first_probe_time (5 s) it goes to PROBE:
	// up to 3 unicast ARP probes 1 s apart (ucast_solicit, retrans_time);
	// unanswered, FAILED, and the next packet starts a broadcast
	// resolution (3 requests 1 s apart, mcast_solicit). A received
	// gratuitous ARP changes the host of an existing entry and makes it
	// STALE; it creates none (arp_accept=0).
	ARPTimeout units.Duration `yaml:"arp_timeout"`

	// The cloud network (VPCs, vswitches, route tables, peerings,
	// security groups, whitelists), in Alibaba Cloud's words; the
	// sim/cloud package documents each type and its defaults. Hosts are
	// placed in it by their interfaces: an interface writes vswitch:
	// NAME (and no segment) with its address (with or without a prefix
	// length), and the host lists its security_groups (and listen,
	// forward). A lab with vswitches needs no topology.segments.
	// Validation refuses what the cloud refuses (cloud.Validate). Default
	// none.

	// VPCs are the virtual private clouds: name, cidr.
	VPCs []cloud.VPC `yaml:"vpcs"`
	// VSwitches are the VPCs' subnets: name, vpc, zone, cidr.
	VSwitches []cloud.VSwitch `yaml:"vswitches"`
	// RouteTables are the VPCs' custom route entries, one table a VPC:
	// name, vpc, entries (destination, next_hop: local, a peering or an
	// instance).
	RouteTables []cloud.RouteTable `yaml:"route_tables"`
	// Peerings are the peering connections: name, vpc, peer_vpc.
	Peerings []cloud.Peering `yaml:"peerings"`
	// SecurityGroups are the stateful firewalls of hosts: name, vpc,
	// inner_access, rules (direction, ip_protocol, port_range,
	// source_cidr_ip or dest_cidr_ip, policy, priority).
	SecurityGroups []cloud.SecurityGroup `yaml:"security_groups"`
	// Whitelists are the services' IP whitelists: name, host, port,
	// security_ips.
	Whitelists []cloud.Whitelist `yaml:"whitelists"`
}

// DefaultARPTimeout is LBNetwork.ARPTimeout's default, Linux's
// base_reachable_time.
const DefaultARPTimeout = 30 * time.Second

// DefaultDiscoveryDelay is LBNetwork.DiscoveryDelay's default.
const DefaultDiscoveryDelay = 100 * time.Millisecond

// MaxReplicas is the most containers a service may run.
const MaxReplicas = 64

// Service is a containerised service: its containers NAME-1 … NAME-N are
// simulated backends at NAME-i:PORT, started in order, carrying Labels.
type Service struct {
	// Name names the service and its containers. Required: lowercase
	// letters, digits and dashes.
	Name string `yaml:"name"`
	// Replicas is how many containers run at the start, 0..MaxReplicas.
	// Default 1.
	Replicas *int `yaml:"replicas"`
	// Port is the container port its backend listens on, 1..65535.
	// Default 80.
	Port int `yaml:"port"`
	// Labels are the containers' labels: lblab.lb.port_<port>:
	// <scheme>://<lb name>:<front port> registers them (proxy/discovery).
	Labels map[string]string `yaml:"labels"`
	// Backend is each container's backend (its address is NAME-i:PORT and
	// must not be written). Default: a backends: entry's defaults.
	Backend workload.Backend `yaml:"backend"`
}

// ReplicasOr returns Replicas, or 1 when it was not written.
func (s Service) ReplicasOr() int {
	if s.Replicas == nil {
		return 1
	}
	return *s.Replicas
}

// PortOr returns Port, or 80 when it was not written.
func (s Service) PortOr() int {
	if s.Port == 0 {
		return 80
	}
	return s.Port
}

// Container returns the name of the service's container i (from 1).
func (s Service) Container(i int) string { return fmt.Sprintf("%s-%d", s.Name, i) }

// Slots returns how many containers the service ever runs in lab: the
// most of its replicas and of its scale faults' counts.
func (s Service) Slots(lab *Lab) int {
	n := s.ReplicasOr()
	for _, f := range lab.Faults {
		if f.Kind == FaultScale && f.Target == s.Name {
			if f.Count != nil {
				n = max(n, *f.Count)
			}
		}
	}
	return min(max(n, 0), MaxReplicas)
}

// Topology is the lab's network.
type Topology struct {
	// Segments are L2 broadcast domains (a switch each). At least one.
	Segments []Segment `yaml:"segments"`
	// Hosts are the machines; each has interfaces on segments.
	Hosts []Host `yaml:"hosts"`
}

// Segment is an L2 broadcast domain.
type Segment struct {
	// Name identifies the segment. Required.
	Name string `yaml:"name"`
	// Latency is the one-way delay of the medium. Default 0.
	Latency units.Duration `yaml:"latency"`
	// Jitter adds a uniform random delay in [0, jitter). Default 0.
	Jitter units.Duration `yaml:"jitter"`
	// Loss is the probability (0..1) that a packet is lost. Default 0.
	Loss float64 `yaml:"loss"`
}

// Host is a machine of the lab.
type Host struct {
	// Name identifies the host. Required.
	Name string `yaml:"name"`
	// Interfaces attach the host to segments. At least one.
	Interfaces []Interface `yaml:"interfaces"`
	// Roles are what the host runs: proxy (the lab's load balancer, its
	// lb section, one copy per proxy host, listening on every address
	// of the host and on a VIP while the host holds it), vrrp (implied by
	// a vrrp_instance's host), backend (implied by a backend whose
	// address's host part names the host) and client (implied by a
	// clients element's from). Listing a role that nothing fills is
	// refused. Default: the implied roles only.
	Roles []string `yaml:"roles"`
	// SecurityGroups are the network's security groups the host belongs
	// to, at least one when its interfaces are in vswitches (only then).
	SecurityGroups []string `yaml:"security_groups"`
	// Listen are the TCP ports the host accepts connections on in the
	// cloud network (lblab trace, reach checks); another port refuses
	// (RST). ICMP echo is always answered. Only for hosts in vswitches.
	// Default none.
	Listen []int `yaml:"listen"`
	// Forward makes a host in vswitches route packets that are not for it
	// (a NAT instance a route entry names). Default false.
	Forward bool `yaml:"forward"`
}

// The roles a topology host may list (Host.Roles).
const (
	// RoleProxy places the lab's load balancer on the host.
	RoleProxy = "proxy"
	// RoleVRRP: the host runs a vrrp_instance.
	RoleVRRP = "vrrp"
	// RoleBackend: a backend's address names the host.
	RoleBackend = "backend"
	// RoleClient: a clients element sends from the host.
	RoleClient = "client"
)

// Probe is a stream of probes from a topology host to an address: one
// every Interval, each ending answered or with its error class after at
// most Timeout, written as a net event when it ends.
type Probe struct {
	// Name labels the probe. Default "KIND FROM TO".
	Name string `yaml:"name"`
	// From is the topology host that sends it. Required.
	From string `yaml:"from"`
	// To is the address probed: ADDR (icmp), ADDR:PORT (tcp), an IPv4
	// address a host or a VIP holds. Required.
	To string `yaml:"to"`
	// Kind is icmp (an echo request) or tcp (a connect). Default icmp.
	Kind string `yaml:"kind"`
	// Interval is the time between two probes, more than 0. Default
	// 100ms (DefaultProbeInterval).
	Interval units.Duration `yaml:"interval"`
	// Timeout is how long a probe waits for its answer before it ends as
	// error timeout, more than 0. Default 1s (DefaultProbeTimeout).
	Timeout units.Duration `yaml:"timeout"`
	// Start is when the probes begin. Default 0 (a clients element's own
	// probes: its start).
	Start units.Duration `yaml:"start"`
}

// Defaults of a probe (Probe).
const (
	// DefaultProbeInterval is Probe.Interval's default.
	DefaultProbeInterval = 100 * time.Millisecond
	// DefaultProbeTimeout is Probe.Timeout's default.
	DefaultProbeTimeout = time.Second
)

// Interface is a host's attachment to a segment.
type Interface struct {
	// Name is the interface name. Default eth0, eth1, ... in order.
	Name string `yaml:"name"`
	// Segment is the segment it is attached to. Required, unless VSwitch
	// is set.
	Segment string `yaml:"segment"`
	// VSwitch places the interface in a vswitch of network.vswitches
	// instead of a segment (the host is then a cloud instance). Default
	// none.
	VSwitch string `yaml:"vswitch"`
	// Address is the primary IPv4 address with its prefix length, e.g.
	// 10.77.0.11/24; in a vswitch the prefix length may be left out (the
	// vswitch's). Required.
	Address string `yaml:"address"`
	// Latency is added to this host's packets on the segment, both ways.
	// Default 0.
	Latency units.Duration `yaml:"latency"`
	// Jitter is added to the segment's jitter. Default 0.
	Jitter units.Duration `yaml:"jitter"`
	// Loss is this link's own loss probability (0..1). Default 0.
	Loss float64 `yaml:"loss"`
}

// VRRP is the lab's VRRP configuration, in keepalived's words.
type VRRP struct {
	// Version is global_defs vrrp_version for every instance: 2 or 3.
	// Default 2.
	Version int `yaml:"vrrp_version"`
	// Scripts are the vrrp_script blocks, by name.
	Scripts map[string]Script `yaml:"vrrp_script"`
	// Instances are the vrrp_instance blocks, each on one host.
	Instances []Instance `yaml:"vrrp_instance"`
	// GARPMasterDelay is global_defs vrrp_garp_master_delay: a new master
	// sends a second burst of gratuitous ARPs this long after the first,
	// if it is still master; 0 sends none. Default 5s.
	GARPMasterDelay units.Duration `yaml:"vrrp_garp_master_delay"`
	// GARPMasterRepeat is global_defs vrrp_garp_master_repeat: how many
	// gratuitous ARPs per virtual address each burst sends. Default 5.
	GARPMasterRepeat int `yaml:"vrrp_garp_master_repeat"`
	// Keepalived gives hosts' VRRP setup as keepalived.conf text instead,
	// by host name: its vrrp_script and vrrp_instance blocks become this
	// section's scripts and instances (global_defs vrrp_version and the
	// GARP settings too; vrrp_check_unicast_src becomes each unicast
	// instance's check_unicast_src).
	Keepalived map[string]string `yaml:"keepalived"`
}

// Script is a keepalived vrrp_script. In the simulator its result is
// driven by script_fail and script_ok faults; it starts succeeding unless
// init_fail is set. A lab never runs the program it names (netns runs a
// check of a flag file that the faults set in its place), so a program
// missing from the host, which keepalived and lblab vrrp disable, changes
// nothing in a lab.
type Script struct {
	// Script is the command keepalived would run; shown in reports.
	Script string `yaml:"script"`
	// Interval is how often the script runs. Default 1s.
	Interval units.Duration `yaml:"interval"`
	// Timeout is how long a run may take before it counts as failed
	// (real worlds; a simulated script answers at once). Default the
	// interval.
	Timeout units.Duration `yaml:"timeout"`
	// Weight is -253..253: added to the priority while the script succeeds
	// (positive), or while it fails (negative); 0 puts the instance in FAULT
	// while it fails. Default 0.
	Weight int `yaml:"weight"`
	// Fall is how many failures in a row mark it failed, at least 1.
	// Default 1.
	Fall int `yaml:"fall"`
	// Rise is how many successes in a row mark it OK, at least 1. Default
	// 1.
	Rise int `yaml:"rise"`
	// InitFail starts the script in the failed state. Default false.
	InitFail bool `yaml:"init_fail"`
	// RestartWait makes the script the seed's restarting check_nginx.sh,
	// tracked on a host with the proxy role: each run looks whether the
	// host's proxy runs; if not, it starts it, waits RestartWait (its
	// `sleep 2`), looks again, and if the proxy still does not run stops
	// the host's VRRP agent cleanly (keepalived stop: priority 0). The
	// script exits 0 either way, so its weight never applies (model:
	// vrrpsim.RestartCheck). It must be less than the script's timeout,
	// or the agent kills the script before it looks again. Default 0: the
	// script only checks (Lab.ProxyScripts).
	RestartWait units.Duration `yaml:"restart_wait"`
}

// Instance is a keepalived vrrp_instance running on one host.
type Instance struct {
	// Name is the instance name. Default VI_<virtual_router_id>.
	Name string `yaml:"name"`
	// Host is the host the instance runs on. Required.
	Host string `yaml:"host"`
	// Interface is the host interface it runs on. Default the host's first.
	Interface string `yaml:"interface"`
	// State is the initial state, MASTER or BACKUP. Default BACKUP.
	State string `yaml:"state"`
	// VirtualRouterID is 1..255. Required.
	VirtualRouterID int `yaml:"virtual_router_id"`
	// Priority is 1..255 (255: address owner). Default 100 (255 with
	// state MASTER); 0 is refused.
	Priority int `yaml:"priority"`
	// AdvertInt is the advertisement interval in seconds (a number, or a
	// duration like 500ms for VRRPv3). Default 1.
	AdvertInt units.Duration `yaml:"advert_int"`
	// Version overrides vrrp.vrrp_version for this instance (2 or 3).
	Version int `yaml:"vrrp_version"`
	// Authentication is the VRRPv2 authentication block. Default none.
	Authentication *Authentication `yaml:"authentication"`
	// VirtualIPAddress lists the VIPs with prefix length, e.g.
	// 10.77.0.100/24. At least one.
	VirtualIPAddress []string `yaml:"virtual_ipaddress"`
	// NoPreempt stops a backup from taking over from a lower-priority
	// master. Default false.
	NoPreempt bool `yaml:"nopreempt"`
	// PreemptDelay delays preemption after startup. Default 0.
	PreemptDelay units.Duration `yaml:"preempt_delay"`
	// TrackScript names the vrrp_script entries this instance tracks.
	TrackScript []string `yaml:"track_script"`
	// TrackInterface lists other interfaces of the host whose link moves
	// the instance, in keepalived's words: "eth1" (FAULT while its link is
	// down) or "eth1 weight -20" (priority moved by the weight: a negative
	// one while the link is down, a positive one while it is up). Default
	// none.
	TrackInterface []string `yaml:"track_interface"`
	// DontTrackPrimary stops the instance's own interface from faulting it
	// when its link goes down (keepalived's dont_track_primary). Default
	// false: a master whose link goes down goes to FAULT at once.
	DontTrackPrimary bool `yaml:"dont_track_primary"`
	// UnicastSrcIP is the address adverts are sent from (keepalived's
	// unicast_src_ip). Default the interface's address.
	UnicastSrcIP string `yaml:"unicast_src_ip"`
	// UnicastPeer lists IPv4 addresses: set, adverts go to each of them
	// instead of the multicast group, and only adverts sent unicast are
	// taken, as keepalived does. An address nobody holds takes the adverts
	// nowhere. Default none (multicast).
	UnicastPeer []string `yaml:"unicast_peer"`
	// CheckUnicastSrc drops adverts from addresses not in UnicastPeer
	// (keepalived's check_unicast_src). Default false.
	CheckUnicastSrc bool `yaml:"check_unicast_src"`
	// NotifyMaster, NotifyBackup, NotifyFault and NotifyStop are run on
	// entering that state, Notify on every change with INSTANCE NAME
	// STATE PRIORITY appended (keepalived's notify_master ... notify).
	// Every world records each run as a notify event; real worlds run
	// the command. Default none.
	NotifyMaster string `yaml:"notify_master"`
	NotifyBackup string `yaml:"notify_backup"`
	NotifyFault  string `yaml:"notify_fault"`
	NotifyStop   string `yaml:"notify_stop"`
	Notify       string `yaml:"notify"`
}

// NotifyScripts returns the instance's notify scripts by keepalived's
// keywords (vrrpsim.Config.Notify), nil for none.
func (in *Instance) NotifyScripts() map[string]string {
	var m map[string]string
	for k, v := range map[string]string{"notify_master": in.NotifyMaster, "notify_backup": in.NotifyBackup,
		"notify_fault": in.NotifyFault, "notify_stop": in.NotifyStop, "notify": in.Notify} {
		if v != "" {
			if m == nil {
				m = map[string]string{}
			}
			m[k] = v
		}
	}
	return m
}

// setNotifyScripts sets the instance's notify scripts from keepalived's
// keywords.
func (in *Instance) setNotifyScripts(m map[string]string) {
	in.NotifyMaster, in.NotifyBackup, in.NotifyFault = m["notify_master"], m["notify_backup"], m["notify_fault"]
	in.NotifyStop, in.Notify = m["notify_stop"], m["notify"]
}

// Authentication is keepalived's authentication block (VRRPv2 only).
type Authentication struct {
	// AuthType is PASS. (AH is not supported.) Required.
	AuthType string `yaml:"auth_type"`
	// AuthPass is the password; only its first 8 characters are sent.
	AuthPass string `yaml:"auth_pass"`
}

// Fault is one entry of the fault timeline.
type Fault struct {
	// Name labels the fault for expectations and reports. Default
	// "KIND TARGET".
	Name string `yaml:"name"`
	// NameZh is Name in Simplified Chinese, drawn on the fault lines of a
	// --lang zh report. Default: Name. Expectations and the history name
	// the fault by Name in every language.
	NameZh string `yaml:"name_zh"`
	// At is when the fault happens. Required.
	At units.Duration `yaml:"at"`
	// Jitter moves the fault later by a uniform random amount in
	// [0, jitter), drawn from the run's seed. Default 0.
	Jitter units.Duration `yaml:"jitter"`
	// Kind is one of: crash (a host dies silently; a backend's process
	// dies, so connections are refused), restore (it comes back), stop
	// (the VRRP agent shuts down cleanly), start (it starts again),
	// link_down, link_up (target HOST or HOST:IFACE), partition, heal
	// (target SEGMENT), script_fail, script_ok (target HOST, with script),
	// pause and resume (the host's agents are frozen, as by SIGSTOP, and
	// thawed, as by SIGCONT);
	// for backends also power_off (connections time out), hang (accepts,
	// never answers), slow (service times × factor), health_fail,
	// health_ok (its health endpoint answers 503 or 200); and health_path
	// (target GROUP: its active checks probe path from now on); in an HA
	// lab proxy_crash (target HOST), firewall, firewall_clear and
	// garp_drop (target SEGMENT, with between; FaultKind's constants say
	// what each does).
	Kind FaultKind `yaml:"kind"`
	// Target is a host, HOST:IFACE, a segment (partition, heal), a
	// backend's address, or a group (health_path).
	Target string `yaml:"target"`
	// Factor multiplies a slow backend's service times, more than 0 (slow
	// only: another kind refuses it). Default 10; 0 is refused.
	Factor float64 `yaml:"factor"`
	// Path is the new health check path of health_path (only).
	Path string `yaml:"path"`
	// Count is how many containers the service a scale fault targets runs
	// from then on, 0..MaxReplicas (scale only). Required.
	Count *int `yaml:"count"`
	// Script is the vrrp_script whose result script_fail/script_ok sets
	// (only those kinds take it).
	Script string `yaml:"script"`
	// Groups are the sides of a partition, as lists of host names; hosts
	// not named form one more side (partition only).
	Groups [][]string `yaml:"groups"`
	// Proto is the IP protocol number a firewall fault drops, 1..255
	// (firewall only; 112 is VRRP). Required there.
	Proto int `yaml:"proto"`
	// Multicast makes a firewall fault drop only the packets sent to a
	// multicast group (VRRP's 224.0.0.18): a switch whose IGMP snooping
	// has no querier, a cloud network without multicast; unicast VRRP
	// (unicast_peer) passes (firewall only). Default false: every packet
	// of Proto.
	Multicast bool `yaml:"multicast"`
	// Between names the hosts a firewall (firewall_clear) blocks
	// (unblocks) Proto between, on the target segment: packets of that
	// protocol from one of them to another are dropped; the others pass.
	// For garp_drop, the hosts that do not hear each other's gratuitous
	// ARP. At least two (firewall, firewall_clear, garp_drop only).
	Between []string `yaml:"between"`
	// StartFails says the proxy cannot start again after a proxy_crash
	// (its configuration was broken while it ran: nginx reads it only
	// when it starts): a restart by a vrrp_script with restart_wait fails;
	// a restore or a start of the host still starts it (proxy_crash
	// only). Default false: the script's restart succeeds.
	StartFails bool `yaml:"start_fails"`
}

// Expectation is one check of a run. Exactly one kind is set.
type Expectation struct {
	// Name says what is expected, in words. Required.
	Name string `yaml:"name"`
	// NameZh is Name in Simplified Chinese, shown by --lang zh. Default:
	// Name.
	NameZh string `yaml:"name_zh"`
	// Failover: after a fault, a router becomes master within a window.
	Failover *FailoverCheck `yaml:"failover"`
	// SingleMaster: never more than one master of a VRID at once.
	SingleMaster *SingleMasterCheck `yaml:"single_master"`
	// VIPOwnerChanges: how often a VIP changed hands.
	VIPOwnerChanges *VIPOwnerChangesCheck `yaml:"vip_owner_changes"`
	// State: a router's state at a time.
	State *StateCheck `yaml:"state"`
	// StatusCount: how many requests got a status (or error) in a window.
	StatusCount *StatusCountCheck `yaml:"status_count"`
	// Share: a server's share of a group's answered requests.
	Share *ShareCheck `yaml:"share"`
	// Latency: a percentile of answered requests' latency.
	Latency *LatencyCheck `yaml:"latency"`
	// HealthDelay: the time from a fault to a server's health transition.
	HealthDelay *HealthDelayCheck `yaml:"health_delay"`
	// OutageWithin: the outage a client host sees, within a window.
	OutageWithin *OutageCheck `yaml:"outage_within"`
	// Reach: a probe's verdict in the lab's cloud network, as lblab
	// trace gives it.
	Reach *ReachCheck `yaml:"reach"`
}

// ReachCheck expects a probe across the lab's cloud network (network:
// vpcs, vswitches, ...) to end with an outcome. The simulator evaluates
// it with sim/cloud's Trace at t = 0 and records a net event with the
// hop path and the rule that decided.
type ReachCheck struct {
	// From is the sending host, placed in a vswitch. Required.
	From string `yaml:"from"`
	// To is an address or a host in a vswitch; with :PORT a TCP connect,
	// without an ICMP echo. Required.
	To string `yaml:"to"`
	// Outcome is the verdict expected: ACCEPTED, NO_ROUTE, DENIED_OUT,
	// DENIED_IN, NO_REPLY_ROUTE, REFUSED or TTL_EXCEEDED. Required.
	Outcome string `yaml:"outcome"`
}

// Window bounds a check in time: requests sent in [from, to). A window
// that holds no time of the lab is refused; a check whose window holds no
// request fails ("no request in [from, to)").
type Window struct {
	// From is the start, before the lab's end. Default 0.
	From units.Duration `yaml:"from"`
	// To is the end, after From. Default the end of the lab.
	To units.Duration `yaml:"to"`
}

// StatusCountCheck counts requests by outcome in a window.
type StatusCountCheck struct {
	Window `yaml:",inline"`
	// Group limits the count to one group. Default all.
	Group string `yaml:"group"`
	// Status counts one HTTP status (502); Class a class ("5xx", "2xx");
	// Error a client-side error class (refused, reset, timeout,
	// no_server, in_flight). Exactly one; a status is 100..599.
	Status int    `yaml:"status"`
	Class  string `yaml:"class"`
	Error  string `yaml:"error"`
	// Min and Max bound the count (inclusive), min ≤ max. Min default 0;
	// Max default none (no bound). Negative bounds are refused, and so is
	// a check with neither min above 0 nor max: it could not fail.
	Min int  `yaml:"min"`
	Max *int `yaml:"max"`
	// Metric stores the count in results.json under this name; two
	// expectations may not store the same metric, nor one a run stores
	// itself (p99_ms, requests_failed, ...).
	Metric string `yaml:"metric"`
}

// ShareCheck checks a server's share of the requests a group's servers
// answered themselves (errors made by the load balancer do not count).
type ShareCheck struct {
	Window `yaml:",inline"`
	// Group is the group. Required.
	Group string `yaml:"group"`
	// Server is the server's address as written. Required.
	Server string `yaml:"server"`
	// Expected is the share, 0..1. Default: from the weights (the
	// server's weight over the sum of its group's usable primaries').
	Expected *float64 `yaml:"expected"`
	// Tolerance is how far the observed share may be from Expected, 0..1.
	// Default 0.02. One that holds every share (0..1) is refused: the
	// check could not fail.
	Tolerance *float64 `yaml:"tolerance"`
}

// LatencyCheck checks a latency percentile of answered requests.
type LatencyCheck struct {
	Window `yaml:",inline"`
	// Group limits it to one group. Default all.
	Group string `yaml:"group"`
	// Percentile is more than 0 and at most 100 (100: the largest).
	// Default 99; 0 is refused.
	Percentile float64 `yaml:"percentile"`
	// Min and Max bound it, min ≤ max; at least one of max, or min above
	// 0, is required (a check without is refused: it could not fail).
	Min units.Duration `yaml:"min"`
	Max units.Duration `yaml:"max"`
	// Metric stores it in results.json (milliseconds) under this name.
	Metric string `yaml:"metric"`
}

// HealthDelayCheck checks the delay from a fault to a server's transition
// by its group's active health checks (a transition of the passive
// accounting, max_fails, is not one: it has no such theory).
type HealthDelayCheck struct {
	// Fault is the fault's name. Required.
	Fault string `yaml:"fault"`
	// Group and Server name the server. Group defaults to the only group
	// that has the server.
	Group  string `yaml:"group"`
	Server string `yaml:"server"`
	// To is down or up. Required.
	To string `yaml:"to"`
	// Node is the proxy host whose view counts: in an HA lab each proxy
	// host checks its servers and writes its own health events (their
	// src). Default: the first event of any node.
	Node string `yaml:"node"`
	// Window is theory (default): computed from the check's interval,
	// timeout and thresholds; or set Min and Max (min ≤ max), which
	// replace it.
	Window string         `yaml:"window"`
	Min    units.Duration `yaml:"min"`
	Max    units.Duration `yaml:"max"`
	// Metric stores the delay in results.json. Default
	// health_<to>_delay_s.
	Metric string `yaml:"metric"`
}

// FailoverCheck expects a router to become master after a fault.
type FailoverCheck struct {
	// Fault is the name of the fault (see Fault.Name). Required.
	Fault string `yaml:"fault"`
	// By is the router (host) expected to become master. Required.
	By string `yaml:"by"`
	// Window is "theory" (default): the delay the protocol predicts for
	// the fault's kind, computed from the lab — [MDI − interval, MDI] for a
	// silent death, Skew_Time for a clean stop, the startup wait for a
	// restore, the script's fall (rise) runs and then MDI or Skew_Time for
	// a script_fail (script_ok) — plus the segment's latency. A lab whose
	// fault and routers give no theory is refused by validation. Or
	// "none": the router must NOT become master before the run ends (with
	// no min, max or metric: those are refused).
	Window string `yaml:"window"`
	// Min and Max replace the theoretical window when set; min ≤ max.
	Min units.Duration `yaml:"min"`
	Max units.Duration `yaml:"max"`
	// Metric is the results.json metric the delay is stored under.
	// Default failover_s.
	Metric string `yaml:"metric"`
}

// SingleMasterCheck expects at most one master of a VRID at any time.
type SingleMasterCheck struct {
	// VRID is the virtual router ID. Required.
	VRID int `yaml:"vrid"`
	// Overlap is how long two masters may coexist (e.g. the latency of a
	// preemption advert). Default 0.
	Overlap units.Duration `yaml:"overlap"`
}

// VIPOwnerChangesCheck counts how often a VIP moved to another router
// after its first owner took it.
type VIPOwnerChangesCheck struct {
	// VIP is the address, without prefix length. Required.
	VIP string `yaml:"vip"`
	// Count is the exact number of changes expected, 0 or more.
	Count int `yaml:"count"`
	// Overlap is how long two routers may hold the VIP at once (e.g. the
	// latency of a preemption advert). Longer is a split brain, and the
	// check fails. Default 0.
	Overlap units.Duration `yaml:"overlap"`
}

// StateCheck expects a router's state at a time.
type StateCheck struct {
	// Router is the host of the instance. Required.
	Router string `yaml:"router"`
	// State is INIT, BACKUP, MASTER, FAULT or STOP. Required.
	State string `yaml:"state"`
	// At is the time; default the end of the run.
	At units.Duration `yaml:"at"`
}

// Sweep sets what a multi-seed sweep checks.
type Sweep struct {
	// Metric is the per-seed metric whose distribution is checked.
	// Default failover_s.
	Metric string `yaml:"metric"`
	// Uniform checks that the metric spreads uniformly over the first
	// failover expectation's theoretical window. Default false.
	Uniform bool `yaml:"uniform"`
	// KSMax is the largest Kolmogorov–Smirnov distance to that uniform law
	// that passes; a small sweep is allowed the 5% critical value 1.358/√n
	// when that is larger. Default 0.05; 0 is refused, and so is ks_max
	// without uniform: true.
	KSMax float64 `yaml:"ks_max"`
}

// defaultDuration is how long a lab runs when it does not say.
const defaultDuration = 30 * time.Second

// Duration returns how long the lab runs.
func (lab *Lab) RunDuration() time.Duration { return lab.Duration.Or(defaultDuration) }
