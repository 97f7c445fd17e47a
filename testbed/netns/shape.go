package netns

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
)

// Shape is the quality of a segment or of one interface's attachment to
// it, with the simulator's meaning (sim.Link): a packet from host A to
// host B on segment S is lost with probability
// 1-(1-S.Loss)(1-A.Loss)(1-B.Loss), else delivered after
// S.Latency + A.Latency + B.Latency plus a random jitter whose range is
// [0, S.Jitter + A.Jitter + B.Jitter). The zero Shape is a perfect link.
type Shape struct {
	// Latency is the fixed one-way delay (microsecond precision: netem's
	// unit). Default 0; not negative.
	Latency time.Duration
	// Jitter is the width of an extra delay drawn uniformly from
	// [0, Jitter). Default 0; not negative.
	Jitter time.Duration
	// Loss is the probability in [0, 1] that a packet is dropped.
	// Default 0.
	Loss float64
}

// IsZero reports whether s adds nothing (no delay, jitter or loss).
func (s Shape) IsZero() bool { return s == Shape{} }

func (s Shape) validate() error {
	switch {
	case s.Latency < 0:
		return fmt.Errorf("negative latency %v", s.Latency)
	case s.Jitter < 0:
		return fmt.Errorf("negative jitter %v", s.Jitter)
	case math.IsNaN(s.Loss) || s.Loss < 0 || s.Loss > 1:
		return fmt.Errorf("loss %v outside [0,1]", s.Loss)
	case s.Latency+s.Jitter > maxNetemDelay:
		return fmt.Errorf("latency %v + jitter %v above %v", s.Latency, s.Jitter, maxNetemDelay)
	}
	return nil
}

// maxNetemDelay bounds a shape's delay: netem takes it in 32 bits of
// scheduler ticks (64 ns each on Linux: at most 274 s).
const maxNetemDelay = time.Minute

// ticks is a duration of n scheduler ticks (netem's unit on the wire),
// rounded to the microsecond.
func ticks(n uint32) time.Duration {
	return time.Duration(math.Round(float64(n)/netlink.TickInUsec())) * time.Microsecond
}

// plus is the shape of a packet crossing both s and o: the delays and
// jitters add, and it gets through when neither loses it.
func (s Shape) plus(o Shape) Shape {
	return Shape{Latency: s.Latency + o.Latency, Jitter: s.Jitter + o.Jitter, Loss: 1 - (1-s.Loss)*(1-o.Loss)}
}

// netemLimit is the queue of each netem qdisc, in packets: ten times tc's
// default of 1000, so that a delay under load never drops by overflow
// (the simulator's links have no queue).
const netemLimit = 10000

// Shape gives the link the quality iface as the interface's own and seg
// as its segment's, the way the simulator adds them (see Shape): the
// interface's end sends with iface (a netem qdisc on its egress: what
// the host sends), and the segment's end sends to the host with
// seg + iface (a netem qdisc on the bridge port's egress: what the host
// receives). So a packet from host A to host B on one segment is delayed
// A + S + B and lost with 1-(1-A)(1-S)(1-B), as in the simulator.
//
// netem draws each delay uniformly from [latency, latency + jitter) (its
// ±jitter around the middle, with no distribution table); the two
// draws of a path add, so the sum has the simulator's range and mean but
// a triangular rather than a flat shape, and packets may overtake each
// other as they do in the simulator. Delays have microsecond precision.
//
// Calling Shape again changes the link at once (a qdisc replace: the
// packets already queued keep their delay); zero shapes remove the
// qdiscs. Each end is one netlink request from this process.
func (l *Link) Shape(iface, seg Shape) error {
	if err := iface.validate(); err != nil {
		return fmt.Errorf("netns: %s:%s: %w", l.Host.Name, l.Iface, err)
	}
	if err := seg.validate(); err != nil {
		return fmt.Errorf("netns: segment %s: %w", l.Segment.Name, err)
	}
	if err := setNetem(l.Host.NS, l.Iface, iface); err != nil {
		return err
	}
	return setNetem(l.Segment.NS, l.Port, seg.plus(iface))
}

// Shaping returns the shapes of the link's two ends as netem holds them
// (the interface's egress, then the bridge port's): zero where there is
// no netem qdisc.
func (l *Link) Shaping() (hostEnd, portEnd Shape, err error) {
	if hostEnd, err = getNetem(l.Host.NS, l.Iface); err != nil {
		return
	}
	portEnd, err = getNetem(l.Segment.NS, l.Port)
	return
}

// setNetem replaces the root qdisc of dev in namespace ns by a netem
// qdisc of shape s, or deletes it when s is zero.
func setNetem(ns, dev string, s Shape) error {
	nl, err := handleIn(ns)
	if err != nil {
		return err
	}
	defer nl.Close()
	link, err := nl.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("netns: %s:%s: %w", ns, dev, err)
	}
	attrs := netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT}
	if s.IsZero() {
		err := nl.QdiscDel(&netlink.Netem{QdiscAttrs: attrs})
		if err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("netns: %s:%s: remove netem: %w", ns, dev, err)
		}
		return nil
	}
	// netem draws from [latency − jitter, latency + jitter): its middle
	// is the shape's latency plus half its jitter.
	half := s.Jitter / 2
	q := netlink.NewNetem(attrs, netlink.NetemQdiscAttrs{
		Latency: uint32((s.Latency + half) / time.Microsecond),
		Jitter:  uint32(half / time.Microsecond),
		Loss:    float32(s.Loss * 100),
		Limit:   netemLimit,
	})
	if err := nl.QdiscReplace(q); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			err = ErrNoNetem
		}
		return fmt.Errorf("netns: %s:%s: netem %+v: %w", ns, dev, s, err)
	}
	return nil
}

// getNetem reads the netem qdisc at the root of dev in namespace ns.
func getNetem(ns, dev string) (Shape, error) {
	nl, err := handleIn(ns)
	if err != nil {
		return Shape{}, err
	}
	defer nl.Close()
	link, err := nl.LinkByName(dev)
	if err != nil {
		return Shape{}, fmt.Errorf("netns: %s:%s: %w", ns, dev, err)
	}
	qs, err := dump(func() ([]netlink.Qdisc, error) { return nl.QdiscList(link) })
	if err != nil {
		return Shape{}, fmt.Errorf("netns: %s:%s: qdiscs: %w", ns, dev, err)
	}
	for _, q := range qs {
		n, ok := q.(*netlink.Netem)
		if !ok || q.Attrs().Parent != netlink.HANDLE_ROOT {
			continue
		}
		// The kernel reports latency and jitter in scheduler ticks.
		mid := ticks(n.Latency)
		half := ticks(n.Jitter)
		loss := 0.0
		if n.Loss > 0 {
			loss = float64(n.Loss) / math.MaxUint32
		}
		return Shape{Latency: mid - half, Jitter: 2 * half, Loss: loss}, nil
	}
	return Shape{}, nil
}

// ErrNoNetem says the kernel has no netem qdisc, so links cannot be
// shaped.
var ErrNoNetem = errors.New("the kernel has no netem qdisc (CONFIG_NET_SCH_NETEM, module sch_netem): links cannot be delayed or made lossy")

// NetemAvailable returns nil when links can be shaped here (Link.Shape),
// or why not: not root, or ErrNoNetem. It asks the kernel once, with a
// netem qdisc on the loopback of a namespace of its own that vanishes
// with the probe.
func NetemAvailable() error {
	netemOnce.Do(func() { netemErr = probeNetem() })
	return netemErr
}

var (
	netemOnce sync.Once
	netemErr  error
)

func probeNetem() error {
	if err := Available(); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		// vns.New enters the new namespace; it is gone once no thread
		// is in it and its handle is closed.
		probe, err := vns.New()
		if err != nil {
			vns.Set(orig)
			errc <- fmt.Errorf("netns: probe namespace: %w", err)
			return
		}
		err = func() error {
			defer probe.Close()
			lo, err := netlink.LinkByName("lo")
			if err != nil {
				return err
			}
			q := netlink.NewNetem(netlink.QdiscAttrs{LinkIndex: lo.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
				netlink.NetemQdiscAttrs{Latency: 1000})
			if err := netlink.QdiscAdd(q); err != nil {
				if errors.Is(err, syscall.ENOENT) {
					return ErrNoNetem
				}
				return fmt.Errorf("netns: netem probe: %w", err)
			}
			return nil
		}()
		if serr := vns.Set(orig); serr != nil {
			errc <- errors.Join(err, serr) // the thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// hostLink returns a netlink handle inside the link's host and the link's
// interface there; the caller closes the handle.
func (l *Link) hostLink() (*netlink.Handle, netlink.Link, error) {
	nl, err := l.Host.handle()
	if err != nil {
		return nil, nil, err
	}
	link, err := nl.LinkByName(l.Iface)
	if err != nil {
		nl.Close()
		return nil, nil, fmt.Errorf("netns: %s:%s: %w", l.Host.Name, l.Iface, err)
	}
	return nl, link, nil
}

// AddAddrs gives the host's interface more addresses (a population of
// client source addresses, a proxy's address in front of it), one
// netlink request each. An address the interface holds already is kept.
func (l *Link) AddAddrs(addrs ...netip.Prefix) error {
	nl, link, err := l.hostLink()
	if err != nil {
		return err
	}
	defer nl.Close()
	if err := AddAddrsTo(nl, link, addrs...); err != nil {
		return fmt.Errorf("netns: %s:%s: %w", l.Host.Name, l.Iface, err)
	}
	return nil
}

// AddAddrsTo gives link, in nl's namespace, more addresses with no
// prefix route (Link.AddAddrs), one netlink request each; an address it
// holds already is kept.
func AddAddrsTo(nl *netlink.Handle, link netlink.Link, addrs ...netip.Prefix) error {
	for _, a := range addrs {
		if !a.IsValid() {
			return errors.New("invalid address")
		}
		na := &netlink.Addr{IPNet: &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}}
		// No prefix route for the extra addresses: they are the host's
		// own, reached by ARP on the segment (see RouteAll).
		na.Flags = 0x200 // IFA_F_NOPREFIXROUTE
		if err := nl.AddrAdd(link, na); err != nil && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("add %s: %w", a, err)
		}
	}
	return nil
}

// RouteAll sends every destination the host has no better route for out
// of the link's interface, straight onto its segment (a default route
// with no gateway): the host then reaches any address another host of
// the segment holds, such as the extra addresses of AddAddrs, by ARP.
func (l *Link) RouteAll() error {
	nl, link, err := l.hostLink()
	if err != nil {
		return err
	}
	defer nl.Close()
	if err := RouteAllOut(nl, link); err != nil {
		return fmt.Errorf("netns: %s:%s: %w", l.Host.Name, l.Iface, err)
	}
	return nil
}

// RouteAllOut replaces the default route of nl's namespace by one with
// no gateway out of link (Link.RouteAll).
func RouteAllOut(nl *netlink.Handle, link netlink.Link) error {
	_, all, _ := net.ParseCIDR("0.0.0.0/0")
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: all, Scope: netlink.SCOPE_LINK}
	if err := nl.RouteReplace(r); err != nil {
		return fmt.Errorf("default route: %w", err)
	}
	return nil
}

// Do runs fn on an OS thread that has entered the host's namespace, so
// that the sockets fn opens live there (they stay there after Do
// returns). The thread returns to the caller's namespace afterwards, or
// is thrown away when it cannot.
func (h *Host) Do(fn func() error) error {
	target, err := vns.GetFromName(h.NS)
	if err != nil {
		return fmt.Errorf("netns: namespace %s: %w", h.NS, err)
	}
	defer target.Close()
	return DoIn(target, h.NS, fn)
}

// DoIn runs fn on an OS thread that has entered the network namespace
// target (named name in errors), as Host.Do does: the sockets fn opens
// live there.
func DoIn(target vns.NsHandle, name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: own namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := vns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: enter %s: %w", name, err)
			return
		}
		ferr := fn()
		if err := vns.Set(orig); err != nil {
			// Stay locked: the goroutine's end takes the thread with it.
			errc <- errors.Join(ferr, fmt.Errorf("netns: leave %s: %w", name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
