package sim

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Link describes the quality of a segment or of one interface's attachment to
// it. The zero Link is perfect: no delay, no jitter, no loss.
type Link struct {
	// Latency is the fixed one-way delay added to every packet. Default 0;
	// must not be negative.
	Latency time.Duration
	// Jitter is the width of an extra uniform delay: a packet's jitter is
	// drawn from [0, sum of the Jitters on its path). Default 0; must not be
	// negative.
	Jitter time.Duration
	// Loss is the probability, in [0, 1], that a packet is dropped on this
	// link, independently per receiver. Default 0.
	Loss float64
}

func (l Link) validate() error {
	if l.Latency < 0 {
		return fmt.Errorf("negative latency %v", l.Latency)
	}
	if l.Jitter < 0 {
		return fmt.Errorf("negative jitter %v", l.Jitter)
	}
	if math.IsNaN(l.Loss) || l.Loss < 0 || l.Loss > 1 {
		return fmt.Errorf("loss %v outside [0,1]", l.Loss)
	}
	return nil
}

// Drops counts packet copies that were not delivered, by cause. A copy is one
// packet towards one receiver.
type Drops struct {
	// Loss counts copies dropped by random link loss.
	Loss uint64
	// Down counts sends refused because the sending host or link was down,
	// and copies that arrived at a crashed host or a down link.
	Down uint64
	// Partition counts copies between hosts in different partition groups.
	Partition uint64
	// Firewall counts copies a segment's firewall rule dropped
	// ([Segment.Block]).
	Firewall uint64
	// NoRoute counts unicast packets whose destination no interface on the
	// segment holds (or only the sender), copies reaching an interface that
	// no longer holds the unicast destination (a stale neighbour entry), and
	// copies for which the receiving host has no handler for the protocol.
	NoRoute uint64
}

// Total returns the sum of all drop causes.
func (d Drops) Total() uint64 { return d.Loss + d.Down + d.Partition + d.Firewall + d.NoRoute }

// Stats are a network's packet counters since it was created.
type Stats struct {
	// Sent counts packets accepted by [Iface.Send] (once per packet, whatever
	// the number of receivers).
	Sent uint64
	// Delivered counts packet copies handed to a receiver's handler.
	Delivered uint64
	// Dropped counts packet copies lost, by cause.
	Dropped Drops
}

// Network is a set of named hosts and named segments on one kernel.
type Network struct {
	k          *Kernel
	hosts      []*Host
	hostByName map[string]*Host
	segs       []*Segment
	segByName  map[string]*Segment
	stats      Stats
}

// NewNetwork returns an empty network whose events run on k.
func NewNetwork(k *Kernel) *Network {
	return &Network{
		k:          k,
		hostByName: make(map[string]*Host),
		segByName:  make(map[string]*Segment),
	}
}

// Kernel returns the kernel the network runs on.
func (n *Network) Kernel() *Kernel { return n.k }

// AddSegment adds an L2 broadcast domain (a switch) named name whose packets
// all see link l. Its randomness comes from the kernel stream "net/"+name.
// It fails if the name is empty or taken, or l is invalid (negative
// durations, Loss outside [0,1]).
func (n *Network) AddSegment(name string, l Link) (*Segment, error) {
	if name == "" {
		return nil, errors.New("sim: empty segment name")
	}
	if _, dup := n.segByName[name]; dup {
		return nil, fmt.Errorf("sim: duplicate segment %q", name)
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("sim: segment %q: %w", name, err)
	}
	s := &Segment{net: n, name: name, link: l, neigh: make(map[netip.Addr]*Iface)}
	n.segs = append(n.segs, s)
	n.segByName[name] = s
	return s, nil
}

// AddHost adds a host named name, up, with no interfaces. It fails if the
// name is empty or taken.
func (n *Network) AddHost(name string) (*Host, error) {
	if name == "" {
		return nil, errors.New("sim: empty host name")
	}
	if _, dup := n.hostByName[name]; dup {
		return nil, fmt.Errorf("sim: duplicate host %q", name)
	}
	h := &Host{net: n, name: name, index: len(n.hosts) + 1, up: true}
	n.hosts = append(n.hosts, h)
	n.hostByName[name] = h
	return h, nil
}

// Host returns the host named name, or nil.
func (n *Network) Host(name string) *Host { return n.hostByName[name] }

// Segment returns the segment named name, or nil.
func (n *Network) Segment(name string) *Segment { return n.segByName[name] }

// Stats returns the network's packet counters.
func (n *Network) Stats() Stats { return n.stats }
