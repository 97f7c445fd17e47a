package labfile

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
	"github.com/lblab/lblab/vrrpsim"
)

// InstanceConfig turns a lab's vrrp_instance into the state machine's
// configuration; what the lab leaves out gets keepalived's defaults from
// vrrpsim.Config (priority 255 for state MASTER, else 100; advert_int 1 s),
// and the version comes from vrrp.vrrp_version.
func InstanceConfig(lab *Lab, in *Instance, h *Host) vrrpsim.Config {
	state := vrrpsim.StateBackup
	if strings.EqualFold(in.State, "MASTER") {
		state = vrrpsim.StateMaster
	}
	version := in.Version
	if version == 0 {
		version = lab.VRRP.Version
	}
	c := vrrpsim.Config{
		Name:         in.Name,
		VRID:         uint8(in.VirtualRouterID),
		Version:      version,
		Priority:     uint8(in.Priority),
		Interval:     in.AdvertInt.D,
		NoPreempt:    in.NoPreempt,
		PreemptDelay: in.PreemptDelay.D,
		InitialState: state,
	}
	for _, ifc := range h.Interfaces {
		if ifc.Name == in.Interface {
			if p, err := netip.ParsePrefix(ifc.Address); err == nil {
				c.PrimaryIP = p.Addr()
			}
		}
	}
	if a, err := netip.ParseAddr(in.UnicastSrcIP); err == nil {
		c.PrimaryIP = a
	}
	for _, s := range in.UnicastPeer {
		if a, err := netip.ParseAddr(s); err == nil { // checked by validate
			c.UnicastPeers = append(c.UnicastPeers, a)
		}
	}
	c.CheckUnicastSrc = in.CheckUnicastSrc && len(c.UnicastPeers) > 0
	c.Notify = in.NotifyScripts()
	c.GARPRepeat = lab.VRRP.GARPMasterRepeat
	if g := lab.VRRP.GARPMasterDelay; g.IsSet() {
		c.GARPDelay = g.D
		if g.D == 0 {
			c.GARPDelay = -1 // keepalived's 0: no second burst
		}
	}
	for _, s := range in.VirtualIPAddress {
		if p, err := ParseVIP(s); err == nil {
			c.VIPs = append(c.VIPs, p)
		}
	}
	if a := in.Authentication; a != nil && strings.EqualFold(a.AuthType, "PASS") {
		c.AuthType, c.AuthPass = vrrpsim.AuthPass, a.AuthPass
	}
	for _, name := range in.TrackScript {
		s := lab.VRRP.Scripts[name]
		c.Tracks = append(c.Tracks, vrrpsim.Track{Name: name, Weight: s.Weight, Fall: s.Fall, Rise: s.Rise, InitFail: s.InitFail})
	}
	c.Interface, c.DontTrackPrimary = in.Interface, in.DontTrackPrimary
	for _, s := range in.TrackInterface {
		if t, err := parseTrackInterface(s); err == nil { // checked by validate
			c.TrackInterfaces = append(c.TrackInterfaces, t)
		}
	}
	return c
}

// parseTrackInterface reads a track_interface entry: "IFACE" or
// "IFACE weight N".
func parseTrackInterface(s string) (vrrpsim.TrackInterface, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 1:
		return vrrpsim.TrackInterface{Name: f[0]}, nil
	case len(f) == 3 && f[1] == "weight":
		w, err := strconv.Atoi(f[2])
		if err != nil || w < -253 || w > 253 {
			if hint := units.Lookalike(f[2]); !hint.IsZero() {
				return vrrpsim.TrackInterface{}, i18n.Errorf("weight must be -253..253, got %q (%s)", f[2], hint)
			}
			return vrrpsim.TrackInterface{}, i18n.Errorf("weight must be -253..253, got %q", f[2])
		}
		return vrrpsim.TrackInterface{Name: f[0], Weight: w}, nil
	}
	if hint := units.Lookalike(s); !hint.IsZero() {
		return vrrpsim.TrackInterface{}, i18n.Errorf("want IFACE or \"IFACE weight N\", got %q (%s)", s, hint)
	}
	return vrrpsim.TrackInterface{}, i18n.Errorf("want IFACE or \"IFACE weight N\", got %q", s)
}
