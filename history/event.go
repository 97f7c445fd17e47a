// Package history holds the single record of a lab run: a time-ordered list
// of events, written as JSON Lines (one object a line). Both worlds (the
// simulator and real hosts) write it; checks and reports read only it.
package history

import "time"

// Kind names what an event records.
type Kind string

// The event kinds of DESIGN.md.
const (
	// KindVRRP is a VRRP router's state or priority change.
	KindVRRP Kind = "vrrp"
	// KindVIP is a change of the host that holds a virtual IP address.
	KindVIP Kind = "vip"
	// KindFault is a fault of the timeline being applied.
	KindFault Kind = "fault"
	// KindHealth is a server's up/down transition in a load balancer.
	KindHealth Kind = "health"
	// KindRequest is one client request, written when it ends.
	KindRequest Kind = "request"
	// KindNet is a probe (ping) result.
	KindNet Kind = "net"
	// KindVRRPStats is one counter of a VRRP instance, written by a real
	// agent when it stops (a killed agent writes none): Router, Instance
	// and VRID name the instance, Counter and Count the counter and its
	// value since the agent started. Counters at zero are not written.
	KindVRRPStats Kind = "vrrp_stats"
	// KindNotify is a VRRP notify script run on a state change (notify,
	// notify_master, ...): Router, Instance and VRID name the instance, To
	// the state it entered, Reason the command line with its arguments.
	// The simulator records it without running anything; a real agent
	// records it and runs the command.
	KindNotify Kind = "notify"
	// KindAgent is a moment in a real VRRP agent's own life that says
	// whether the routers could hear each other from their start, written
	// by the agent (the simulator has no such moments): Reason "booted:
	// ..." when it starts its instances (Router; Reason says how long its
	// sockets had been joined to the group), "first advert sent" (Router,
	// Instance, VRID, Priority, Src, Dst) and "first advert received"
	// from each source (the same fields; ", discarded: why" when the
	// state machine dropped it). Checks do not read it; it is there to
	// tell a lost startup election from a late boot.
	KindAgent Kind = "agent"
)

// Event is one line of a history. It is a flat union: Kind says which of
// the optional fields are set; unset fields are left out of the JSON.
type Event struct {
	// T is the time of the event since the run's start (virtual time in the
	// simulator), written in seconds with nanosecond precision.
	T Stamp `json:"t"`
	// Kind says what the event records.
	Kind Kind `json:"kind"`

	// Fault events: the fault kind (crash, restore, stop, start, link_down,
	// link_up, partition, heal, script_fail, script_ok) and its target
	// (host, or host:interface for links, segment for partitions).
	// Name is the fault's name in the lab, which expectations refer to.
	Fault  string `json:"fault,omitempty"`
	Target string `json:"target,omitempty"`
	Name   string `json:"name,omitempty"`

	// VRRP events: the router (host name), its instance name, the virtual
	// router ID, the state it left and the state it entered (equal when only
	// the priority changed), its effective priority afterwards, and why.
	Router   string `json:"router,omitempty"`
	Instance string `json:"instance,omitempty"`
	VRID     int    `json:"vrid,omitempty"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Priority int    `json:"priority,omitempty"`

	// VIP events: the address, its new owner ("" when nobody holds it,
	// or when several routers do) and the router that held it before (the
	// one that let it go, for a release). Holders, set only when two or
	// more routers hold the address at once (a split brain: each answers
	// ARP for it), names them comma-separated in the order they took it
	// ("r1,r2"; a string, so that events stay comparable). Instance is
	// the VRRP instance that took or released it.
	VIP     string `json:"vip,omitempty"`
	Owner   string `json:"owner,omitempty"`
	Holders string `json:"holders,omitempty"`
	Prev    string `json:"prev,omitempty"`

	// Net events: source host, destination address (ADDR, or ADDR:PORT
	// for a tcp probe), the probe's kind (icmp: an echo request; tcp: a
	// connect), whether the probe was answered, by whom (the host that
	// answered, when the world can tell), and its round-trip time. A
	// probe that was not answered has the class of its failure in Error
	// (timeout, refused, reset, unreachable). Start is when the probe was
	// sent (a failed one has no RTT: Start places it in time). Src is
	// also the client host of a request event, and the proxy host of a
	// health event in an HA lab (each node checks its servers).
	Src    string `json:"src,omitempty"`
	Dst    string `json:"dst,omitempty"`
	Probe  string `json:"probe,omitempty"`
	OK     *bool  `json:"ok,omitempty"`
	Answer string `json:"answer,omitempty"`
	RTT    Stamp  `json:"rtt,omitempty"`
	// Path is a net event's hop path through a cloud network, as lblab
	// trace finds it: the request's places joined by " > ", then " | "
	// and the reply's (a place that dropped it marked "✗"), e.g. "ecs-a >
	// vsw-a > vpc-a > pcc-ab > vpc-b > vsw-b > ecs-b | ecs-b > vsw-b >
	// vpc-b ✗". Rule is the entry that decided a dropped probe (a route
	// entry, a security-group rule, a whitelist) with its lab field, or
	// the destination's answer. Reason holds the outcome code (ACCEPTED,
	// NO_ROUTE, DENIED_OUT, DENIED_IN, NO_REPLY_ROUTE, REFUSED,
	// TTL_EXCEEDED).
	Path string `json:"path,omitempty"`
	Rule string `json:"rule,omitempty"`

	// Request events (written when the request ends, so T is its end):
	// the client address, the listener, the group, the server that gave
	// the final answer ("" if none), the HTTP status (0 when the client
	// got no answer), the error class (refused, reset, timeout, no_server,
	// "" for none), when the request was meant to be sent (latency is
	// measured from there, not from when it was sent), its latency, and
	// how many servers were tried. Resent is the error class ("reset") of
	// a first try that the client sent once more on a new connection: a
	// request on a reused kept-alive connection that failed before any
	// byte of its answer came (the server had closed or forgotten the
	// connection, as the new holder of a VIP does), which the client
	// resends, as lblab load, browsers and net/http do; "" when the
	// request was sent once. Status and Error are those of the last try.
	Client   string `json:"client,omitempty"`
	Listener string `json:"listener,omitempty"`
	Group    string `json:"group,omitempty"`
	Backend  string `json:"backend,omitempty"`
	Status   int    `json:"status,omitempty"`
	Error    string `json:"error,omitempty"`
	Start    Stamp  `json:"start,omitempty"`
	Latency  Stamp  `json:"latency,omitempty"`
	Tries    int    `json:"tries,omitempty"`
	Resent   string `json:"resent,omitempty"`

	// Health events: Group and Server name the server, From and To are
	// "up" or "down", Reason says why (a check result, passive failures).
	Server string `json:"server,omitempty"`

	// VRRP stats events: the counter, by keepalived's name where it has
	// one (advert_rcvd, packet_len_err, ...; vrrpsim.Stat), and its value.
	Counter string `json:"counter,omitempty"`
	Count   uint64 `json:"count,omitempty"`

	// Reason explains the event in words ("master down timer expired",
	// "received priority 0", "host crashed").
	Reason string `json:"reason,omitempty"`
}

// Stamp is a duration since a run's start. In JSON it is a number of
// seconds with exactly the nanoseconds it holds (10.609375, not a rounded
// float), so equal runs give byte-identical files.
type Stamp time.Duration

// Seconds returns the stamp in seconds.
func (s Stamp) Seconds() float64 { return time.Duration(s).Seconds() }

// Duration returns the stamp as a time.Duration.
func (s Stamp) Duration() time.Duration { return time.Duration(s) }
