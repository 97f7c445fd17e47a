package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// NeighTimers are an interface's neighbour (ARP) cache settings, Linux's
// net.ipv4.neigh.IFACE.* sysctls. Zero fields are Linux's defaults.
type NeighTimers struct {
	// Reachable is base_reachable_time_ms: how long an entry stays
	// REACHABLE after its last confirmation. Linux draws the time it uses
	// in [0.5, 1.5] × Reachable at each write; SetNeigh pins the draw to
	// Reachable (ReachablePin). Default 30s.
	Reachable time.Duration
	// DelayFirstProbe is delay_first_probe_time (whole seconds). Default
	// 5s.
	DelayFirstProbe time.Duration
	// Retrans is retrans_time_ms, the time between two ARP requests.
	// Default 1s.
	Retrans time.Duration
	// UcastProbes is ucast_solicit, McastProbes mcast_solicit. Default 3
	// each.
	UcastProbes, McastProbes int
}

// ReachablePin is how close to NeighTimers.Reachable SetNeigh pins the
// kernel's random draw of the reachable time: one jiffy at HZ=250.
const ReachablePin = 4 * time.Millisecond

// maxPinTries bounds SetNeigh's draws: each lands within ReachablePin of
// a 30 s base with probability ≥ 2 jiffies / 30 s at HZ=100 (1/1500), so
// 200000 fail with probability < e^-133.
const maxPinTries = 200000

// SetNeigh sets the neighbour cache of the host's interface iface to t,
// with app_solicit and mcast_resolicit 0 and arp_accept 0 (a gratuitous
// ARP updates an entry, creates none), and pins the reachable time the
// kernel uses to t.Reachable within ReachablePin: Linux draws it at
// random in [0.5, 1.5] × base_reachable_time at each write of the
// sysctl, and SetNeigh writes it until the draw is the base, so that the
// kernel follows a model without the random factor. It returns the time
// pinned. (Linux draws it again every 300 s for every interface,
// neigh_periodic_work: Reachable tells, PinReachable pins it again.)
func (h *Host) SetNeigh(iface string, t NeighTimers) (time.Duration, error) {
	if t.Reachable <= 0 {
		t.Reachable = 30 * time.Second
	}
	if t.DelayFirstProbe <= 0 {
		t.DelayFirstProbe = 5 * time.Second
	}
	if t.Retrans <= 0 {
		t.Retrans = time.Second
	}
	if t.UcastProbes <= 0 {
		t.UcastProbes = 3
	}
	if t.McastProbes <= 0 {
		t.McastProbes = 3
	}
	dir := filepath.Join("/proc/sys/net/ipv4/neigh", iface)
	set := func(path string, v int64) error {
		if err := os.WriteFile(path, []byte(strconv.FormatInt(v, 10)), 0o644); err != nil {
			return fmt.Errorf("netns: %s:%s: %w", h.Name, iface, err)
		}
		return nil
	}
	err := h.Do(func() error {
		for name, v := range map[string]int64{
			"delay_first_probe_time": int64(t.DelayFirstProbe / time.Second),
			"retrans_time_ms":        t.Retrans.Milliseconds(),
			"ucast_solicit":          int64(t.UcastProbes),
			"mcast_solicit":          int64(t.McastProbes),
			"app_solicit":            0,
			"mcast_resolicit":        0,
		} {
			if err := set(filepath.Join(dir, name), v); err != nil {
				return err
			}
		}
		if err := set(filepath.Join("/proc/sys/net/ipv4/conf", iface, "arp_accept"), 0); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return h.PinReachable(iface, t.Reachable)
}

// PinReachable writes base_reachable_time_ms of the host's interface
// iface as base until the kernel's random draw of the reachable time is
// base within ReachablePin (SetNeigh), and returns the time drawn.
func (h *Host) PinReachable(iface string, base time.Duration) (time.Duration, error) {
	path := filepath.Join("/proc/sys/net/ipv4/neigh", iface, "base_reachable_time_ms")
	ms := []byte(strconv.FormatInt(base.Milliseconds(), 10))
	var got time.Duration
	err := h.Do(func() error {
		index, err := ifindex(iface)
		if err != nil {
			return fmt.Errorf("netns: %s:%s: %w", h.Name, iface, err)
		}
		for range maxPinTries {
			if err := os.WriteFile(path, ms, 0o644); err != nil {
				return fmt.Errorf("netns: %s:%s: %w", h.Name, iface, err)
			}
			if got, err = reachableTime(index); err != nil {
				return fmt.Errorf("netns: %s:%s: %w", h.Name, iface, err)
			}
			if (got - base).Abs() <= ReachablePin {
				return nil
			}
		}
		return fmt.Errorf("netns: %s:%s: the kernel's reachable time stayed away from %s in %d draws (last %s)", h.Name, iface, base, maxPinTries, got)
	})
	return got, err
}

// Reachable returns the reachable time the kernel uses for the host's
// interface iface (its draw from base_reachable_time).
func (h *Host) Reachable(iface string) (time.Duration, error) {
	var got time.Duration
	err := h.Do(func() error {
		index, err := ifindex(iface)
		if err == nil {
			got, err = reachableTime(index)
		}
		if err != nil {
			return fmt.Errorf("netns: %s:%s: %w", h.Name, iface, err)
		}
		return nil
	})
	return got, err
}

// ifindex returns the index of the interface name in the calling
// thread's namespace.
func ifindex(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}

// The attributes of a neighbour table message (linux/neighbour.h).
const (
	ndtaName            = 1 // NDTA_NAME
	ndtaParms           = 6 // NDTA_PARMS
	ndtpaIfindex        = 1 // NDTPA_IFINDEX
	ndtpaReachableTime  = 3 // NDTPA_REACHABLE_TIME, u64 ms (after NDTPA_REFCNT)
	ndtmsgLen           = 4 // struct ndtmsg
	maxNeighTableDumped = 1 << 16
)

// reachableTime returns the reachable time of the ARP table's parameters
// for the interface with index ifindex, in the calling thread's
// namespace (RTM_GETNEIGHTBL, as ip ntable show prints it).
func reachableTime(ifindex int) (time.Duration, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETNEIGHTBL, unix.NLM_F_DUMP)
	req.AddData(&nl.RtGenMsg{RtGenmsg: unix.RtGenmsg{Family: unix.AF_INET}})
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWNEIGHTBL)
	if err != nil {
		return 0, fmt.Errorf("neighbour tables: %w", err)
	}
	if len(msgs) > maxNeighTableDumped {
		return 0, fmt.Errorf("neighbour tables: %d messages", len(msgs))
	}
	for _, m := range msgs {
		if len(m) < ndtmsgLen {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[ndtmsgLen:])
		if err != nil {
			return 0, fmt.Errorf("neighbour table: %w", err)
		}
		arp := false
		var parms []byte
		for _, a := range attrs {
			switch a.Attr.Type {
			case ndtaName:
				arp = string(trimNUL(a.Value)) == "arp_cache"
			case ndtaParms:
				parms = a.Value
			}
		}
		if !arp || parms == nil {
			continue
		}
		pa, err := nl.ParseRouteAttr(parms)
		if err != nil {
			return 0, fmt.Errorf("neighbour table parameters: %w", err)
		}
		index, reach := -1, time.Duration(-1)
		for _, a := range pa {
			switch {
			case a.Attr.Type == ndtpaIfindex && len(a.Value) >= 4:
				index = int(binary.NativeEndian.Uint32(a.Value))
			case a.Attr.Type == ndtpaReachableTime && len(a.Value) >= 8:
				reach = time.Duration(binary.NativeEndian.Uint64(a.Value)) * time.Millisecond
			}
		}
		if index == ifindex && reach >= 0 {
			return reach, nil
		}
	}
	return 0, errors.New("no arp_cache parameters for the interface")
}

// trimNUL cuts b at its first NUL byte.
func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}
