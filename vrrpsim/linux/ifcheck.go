package vrrplinux

import (
	"fmt"
	"github.com/lblab/lblab/i18n"
	"net"
	"slices"
	"strings"

	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// Link is a network interface of the host, as CheckLinks needs it.
type Link struct {
	// Name is the interface's name (eth0).
	Name string
	// Loopback is true for a loopback interface (lo).
	Loopback bool
	// Multicast is true when the interface supports multicast
	// (IFF_MULTICAST); without it an instance needs unicast_peer.
	Multicast bool
}

// HostLinks lists the interfaces of this host's network namespace.
func HostLinks() ([]Link, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]Link, len(ifs))
	for i, f := range ifs {
		out[i] = Link{Name: f.Name, Loopback: f.Flags&net.FlagLoopback != 0, Multicast: f.Flags&net.FlagMulticast != 0}
	}
	return out, nil
}

// CheckLinks checks that each interface and track_interface of the
// instances that will run (all, or only the one named) is one of links,
// as keepalived does at start ("interface eth9 for vrrp_instance VI_1
// doesn't exist" stops it), that no instance runs on a loopback
// interface, and that an instance without unicast_peer runs on an
// interface with multicast (keepalived disables it otherwise). Each
// problem names file and the line of the keyword.
func CheckLinks(file string, c *keepalived.Config, only string, links []Link) keepalived.Errors {
	byName := map[string]Link{}
	names := make([]string, 0, len(links))
	for _, l := range links {
		byName[l.Name] = l
		names = append(names, l.Name)
	}
	slices.Sort(names)
	have := i18n.T("this host has no interface")
	if len(names) > 0 {
		have = i18n.T("this host has %s", strings.Join(names, ", "))
	}
	var errs keepalived.Errors
	for _, in := range c.Instances {
		if only != "" && in.Name != only {
			continue
		}
		line := in.InterfaceLine
		if line == 0 {
			line = in.Line
		}
		if l, ok := byName[in.Interface]; !ok {
			errs = append(errs, c.ErrorAt(file, line, i18n.T("interface %s (vrrp_instance %s) does not exist on this host (%s)", in.Interface, in.Name, have)))
		} else if l.Loopback {
			errs = append(errs, c.ErrorAt(file, line, i18n.T("interface %s (vrrp_instance %s) is a loopback interface: VRRP cannot run on it", in.Interface, in.Name)))
		} else if !l.Multicast && len(in.UnicastPeers) == 0 {
			errs = append(errs, c.ErrorAt(file, line, i18n.T("interface %s (vrrp_instance %s) does not support multicast: give unicast_peer addresses", in.Interface, in.Name)))
		}
		for _, t := range in.TrackInterfaces {
			if _, ok := byName[t.Name]; !ok {
				errs = append(errs, c.ErrorAt(file, t.Line, i18n.T("track_interface %s (vrrp_instance %s) does not exist on this host (%s)", t.Name, in.Name, have)))
			}
		}
	}
	return errs
}
