// Package sim is a deterministic discrete-event simulation kernel and a
// simulated L2/L3 network on top of it. It runs real protocol cores (a VRRP
// state machine, a load balancer) on virtual time.
//
// Everything is single-threaded and driven by a [Kernel]: events run one at a
// time in (time, scheduling order) order, and all randomness comes from named
// streams derived from the kernel's seed ([Kernel.Rand]). The same seed and the
// same sequence of calls give the same run, byte for byte.
//
// A [Network] holds [Host]s and [Segment]s (L2 broadcast domains). Hosts
// [Host.Attach] interfaces ([Iface]) to segments and exchange IP [Packet]s with
// per-segment and per-interface latency, jitter and loss, partitions, host
// crashes, link failures and a segment-wide neighbour (ARP) table that moves
// only by gratuitous ARP, so a virtual IP blackholes until its new owner
// announces it.
//
// None of the types in this package are safe for concurrent use.
package sim
