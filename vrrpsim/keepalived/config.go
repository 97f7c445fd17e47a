package keepalived

import (
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/vrrpsim"
)

// Config is what a keepalived.conf holds.
type Config struct {
	// RouterID is global_defs router_id.
	RouterID string
	// Version is global_defs vrrp_version. Default 2.
	Version int
	// GARPMasterDelay and GARPMasterRepeat are global_defs
	// vrrp_garp_master_delay and vrrp_garp_master_repeat. Defaults 5 s
	// and 5.
	GARPMasterDelay  time.Duration
	GARPMasterRepeat int
	// CheckUnicastSrc is global_defs vrrp_check_unicast_src: every
	// instance with unicast_peer checks the source of adverts, as if it
	// had check_unicast_src. Default false.
	CheckUnicastSrc bool
	// Scripts are the vrrp_script blocks by name.
	Scripts map[string]*Script
	// Instances are the vrrp_instance blocks in file order.
	Instances []*Instance
}

// Script is a vrrp_script block.
type Script struct {
	Name string
	Line int
	// Command is `script`. Required.
	Command string
	// CommandLine is the line of the `script` keyword.
	CommandLine int
	// Interval between runs. Default 1 s.
	Interval time.Duration
	// Timeout of one run. Default Interval.
	Timeout time.Duration
	// Weight is -253..253. Default 0.
	Weight int
	// Fall and Rise. Default 1.
	Fall, Rise int
	// InitFail starts the script failed.
	InitFail bool
}

// TrackScript is one entry of an instance's track_script block; Weight
// overrides the script's when set.
type TrackScript struct {
	Name   string
	Weight *int
	Line   int
}

// TrackInterface is one track_interface entry.
type TrackInterface struct {
	// Name is the interface.
	Name string
	// Weight is -253..253; 0 (the default) faults the instance while the
	// interface is down.
	Weight int
	// Line is the entry's line in the file.
	Line int
}

// Instance is a vrrp_instance block.
type Instance struct {
	Name string
	Line int
	// State is MASTER or BACKUP. Default BACKUP.
	State string
	// Interface is the interface it runs on. Required.
	Interface string
	// InterfaceLine is the line of the `interface` keyword.
	InterfaceLine int
	// VRID is virtual_router_id. Required.
	VRID int
	// Priority; 0 when not written (then 255 for state MASTER, else 100,
	// as keepalived does).
	Priority int
	// AdvertInt is advert_int. Default 1 s.
	AdvertInt time.Duration
	// Version overrides the global vrrp_version (keepalived's `version`).
	Version      int
	NoPreempt    bool
	PreemptDelay time.Duration
	AuthType     string
	AuthPass     string
	VIPs         []netip.Prefix
	TrackScripts []TrackScript
	// TrackInterfaces are the track_interface entries.
	TrackInterfaces []TrackInterface
	// DontTrackPrimary is dont_track_primary: Interface going down does
	// not fault the instance. Default false.
	DontTrackPrimary bool
	// UnicastSrc is unicast_src_ip: the address adverts are sent from.
	// Default: the interface's primary address.
	UnicastSrc netip.Addr
	// UnicastPeers are the unicast_peer addresses: set, adverts go to
	// them and only unicast adverts are taken (vrrpsim.Config).
	UnicastPeers []netip.Addr
	// CheckUnicastSrc is check_unicast_src: adverts from an address that
	// is not a unicast peer are dropped. Default false (keepalived takes
	// them).
	CheckUnicastSrc bool
	// Notify holds notify_master, notify_backup, notify_fault,
	// notify_stop and notify, by those names.
	Notify map[string]string
	// NotifyLines are the lines of the Notify keywords, by name.
	NotifyLines map[string]int
}

// ParseFile reads path and calls Parse.
func ParseFile(path string) (*Config, []Warning, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, Errors{{File: path, Msg: err.Error()}}
	}
	return Parse(path, b)
}

// Parse reads a keepalived.conf. name is used in errors and warnings.
func Parse(name string, src []byte) (*Config, []Warning, error) {
	nodes, errs := parseTree(name, string(src))
	p := &parser{name: name, errs: errs,
		c: &Config{Version: 2, GARPMasterDelay: 5 * time.Second, GARPMasterRepeat: 5, Scripts: map[string]*Script{}}}
	for _, n := range nodes {
		switch n.words[0] {
		case "global_defs":
			p.global(n)
		case "vrrp_script":
			p.script(n)
		case "vrrp_instance":
			p.instance(n)
		case "vrrp_sync_group":
			name := ""
			if len(n.words) > 1 {
				name = " " + n.words[1]
			}
			p.warn(n, "vrrp_sync_group%s: sync groups are not modelled: each of its instances fails over on its own, with its weighted track_script and track_interface as written (keepalived ignores those weights in a sync group unless sync_group_tracking_weight)", name)
		default:
			p.warn(n, "ignored: %s (lblab runs VRRP only)", n.words[0])
		}
	}
	for _, in := range p.c.Instances {
		for _, t := range in.TrackScripts {
			if p.c.Scripts[t.Name] == nil {
				p.bad(t.Line, "track_script %s: no vrrp_script %s", t.Name, t.Name)
			}
		}
	}
	if len(p.c.Instances) == 0 && len(p.errs) == 0 {
		p.errs = append(p.errs, newError(name, 0, i18n.T("no vrrp_instance found")))
	}
	hintLookalikes(string(src), p.errs, p.warns)
	if len(p.errs) > 0 {
		return nil, p.warns, sortErrors(p.errs)
	}
	return p.c, p.warns, nil
}

type parser struct {
	name  string
	c     *Config
	errs  Errors
	warns []Warning
}

func (p *parser) bad(line int, format string, args ...any) {
	p.errs = append(p.errs, newError(p.name, line, i18n.T(format, args...)))
}

func (p *parser) warn(n *node, format string, args ...any) {
	t := i18n.T(format, args...)
	p.warns = append(p.warns, Warning{File: p.name, Line: n.line, Msg: t.String(), Text: t})
}

// arg returns the single argument of n, or reports an error.
func (p *parser) arg(n *node) (string, bool) {
	if len(n.words) != 2 || n.block {
		p.bad(n.line, "%s takes one value", n.words[0])
		return "", false
	}
	return n.words[1], true
}

func (p *parser) integer(n *node, lo, hi int) (int, bool) {
	s, ok := p.arg(n)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		p.bad(n.line, "%s: want a whole number %d..%d, got %q", n.words[0], lo, hi, s)
		return 0, false
	}
	return v, true
}

// seconds reads a time in seconds, fractions allowed ("1", "0.5").
func (p *parser) seconds(n *node, max float64) (time.Duration, bool) {
	s, ok := p.arg(n)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > max || math.IsNaN(f) {
		p.bad(n.line, "%s: want seconds 0..%g, got %q", n.words[0], max, s)
		return 0, false
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond, true
}

func (p *parser) global(n *node) {
	for _, c := range n.children {
		switch c.words[0] {
		case "router_id":
			if s, ok := p.arg(c); ok {
				p.c.RouterID = s
			}
		case "vrrp_version":
			if v, ok := p.integer(c, 2, 3); ok {
				p.c.Version = v
			}
		case "vrrp_garp_master_delay":
			if d, ok := p.seconds(c, 3600); ok {
				p.c.GARPMasterDelay = d
			}
		case "vrrp_garp_master_repeat":
			if v, ok := p.integer(c, 1, 1000); ok {
				p.c.GARPMasterRepeat = v
			}
		case "vrrp_check_unicast_src":
			p.c.CheckUnicastSrc = true
		default:
			p.warn(c, "ignored: global_defs %s", c.words[0])
		}
	}
}

func (p *parser) script(n *node) {
	if len(n.words) != 2 || !n.block {
		p.bad(n.line, "want: vrrp_script NAME { ... }")
		return
	}
	s := &Script{Name: n.words[1], Line: n.line, Interval: time.Second, Fall: 1, Rise: 1}
	if p.c.Scripts[s.Name] != nil {
		p.bad(n.line, "vrrp_script %s is defined twice", s.Name)
	}
	p.c.Scripts[s.Name] = s
	timeoutSet := false
	for _, c := range n.children {
		switch c.words[0] {
		case "script":
			if len(c.words) < 2 {
				p.bad(c.line, "script needs a command")
				continue
			}
			s.Command, s.CommandLine = strings.Join(c.words[1:], " "), c.line
		case "interval":
			if d, ok := p.seconds(c, 86400); ok {
				if d < time.Millisecond {
					p.bad(c.line, "interval must be at least 0.001")
				}
				s.Interval = d
			}
		case "timeout":
			if d, ok := p.seconds(c, 86400); ok {
				s.Timeout, timeoutSet = d, true
			}
		case "weight":
			if len(c.words) == 3 && c.words[2] == "reverse" {
				p.bad(c.line, "weight ... reverse is not supported")
				continue
			}
			if v, ok := p.integer(c, -253, 253); ok {
				s.Weight = v
			}
		case "fall":
			if v, ok := p.integer(c, 1, 1000); ok {
				s.Fall = v
			}
		case "rise":
			if v, ok := p.integer(c, 1, 1000); ok {
				s.Rise = v
			}
		case "init_fail":
			s.InitFail = true
		default:
			p.warn(c, "ignored: vrrp_script %s", c.words[0])
		}
	}
	if !timeoutSet {
		s.Timeout = s.Interval
	}
	if s.Command == "" {
		p.bad(n.line, "vrrp_script %s has no script", s.Name)
	}
}

func (p *parser) instance(n *node) {
	if len(n.words) != 2 || !n.block {
		p.bad(n.line, "want: vrrp_instance NAME { ... }")
		return
	}
	in := &Instance{Name: n.words[1], Line: n.line, AdvertInt: time.Second, Notify: map[string]string{},
		NotifyLines: map[string]int{}}
	p.c.Instances = append(p.c.Instances, in)
	vridWritten := false
	for _, c := range n.children {
		switch key := c.words[0]; key {
		case "state":
			if s, ok := p.arg(c); ok {
				if s != "MASTER" && s != "BACKUP" {
					p.bad(c.line, "state: want MASTER or BACKUP, got %q", s)
				}
				in.State = s
			}
		case "interface":
			if s, ok := p.arg(c); ok {
				in.Interface, in.InterfaceLine = s, c.line
			}
		case "virtual_router_id":
			vridWritten = true
			if v, ok := p.integer(c, 1, 255); ok {
				in.VRID = v
			}
		case "priority":
			if v, ok := p.integer(c, 1, 255); ok {
				in.Priority = v
			}
		case "advert_int":
			if d, ok := p.seconds(c, 255); ok {
				if d <= 0 {
					p.bad(c.line, "advert_int must be positive")
				}
				in.AdvertInt = d
			}
		case "version":
			if v, ok := p.integer(c, 2, 3); ok {
				in.Version = v
			}
		case "nopreempt":
			in.NoPreempt = true
		case "preempt_delay":
			if d, ok := p.seconds(c, 1000); ok {
				in.PreemptDelay = d
			}
		case "authentication":
			p.auth(in, c)
		case "virtual_ipaddress":
			for _, v := range c.children {
				pfx, err := vipPrefix(v.words)
				if err != nil {
					p.bad(v.line, "virtual_ipaddress: %v", err)
					continue
				}
				in.VIPs = append(in.VIPs, pfx)
			}
		case "track_script":
			for _, t := range c.children {
				ts := TrackScript{Name: t.words[0], Line: t.line}
				if len(t.words) == 3 && t.words[1] == "weight" {
					w, err := strconv.Atoi(t.words[2])
					if err != nil || w < -253 || w > 253 {
						p.bad(t.line, "track_script %s: weight must be -253..253, got %q", ts.Name, t.words[2])
					}
					ts.Weight = &w
				} else if len(t.words) != 1 {
					p.bad(t.line, "track_script: want NAME [weight N]")
				}
				in.TrackScripts = append(in.TrackScripts, ts)
			}
		case "track_interface":
			for _, t := range c.children {
				ti := TrackInterface{Name: t.words[0], Line: t.line}
				if len(t.words) == 3 && t.words[1] == "weight" {
					w, err := strconv.Atoi(t.words[2])
					if err != nil || w < -253 || w > 253 {
						p.bad(t.line, "track_interface %s: weight must be -253..253, got %q", ti.Name, t.words[2])
					}
					ti.Weight = w
				} else if len(t.words) != 1 {
					p.bad(t.line, "track_interface: want IFACE [weight N]")
				}
				in.TrackInterfaces = append(in.TrackInterfaces, ti)
			}
		case "dont_track_primary":
			in.DontTrackPrimary = true
		case "unicast_src_ip":
			if s, ok := p.arg(c); ok {
				a, err := netip.ParseAddr(s)
				if err != nil || !a.Is4() {
					p.bad(c.line, "unicast_src_ip: want an IPv4 address, got %q", s)
				}
				in.UnicastSrc = a
			}
		case "unicast_peer":
			for _, u := range c.children {
				a, err := netip.ParseAddr(u.words[0])
				if err != nil || !a.Is4() {
					p.bad(u.line, "unicast_peer: want an IPv4 address, got %q", u.words[0])
					continue
				}
				if len(u.words) > 1 {
					// keepalived's per-peer min_ttl/max_ttl and the like
					p.warn(u, "ignored: unicast_peer %s %s", u.words[0], strings.Join(u.words[1:], " "))
				}
				in.UnicastPeers = append(in.UnicastPeers, a)
			}
		case "check_unicast_src":
			in.CheckUnicastSrc = true
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			if len(c.words) < 2 {
				p.bad(c.line, "%s needs a script", key)
				continue
			}
			in.Notify[key] = strings.Join(c.words[1:], " ")
			in.NotifyLines[key] = c.line
		default:
			p.warn(c, "ignored: vrrp_instance %s", key)
		}
	}
	if in.Interface == "" {
		p.bad(n.line, "vrrp_instance %s has no interface", in.Name)
	}
	if !vridWritten {
		p.bad(n.line, "vrrp_instance %s has no virtual_router_id", in.Name)
	}
	if len(in.VIPs) == 0 {
		p.bad(n.line, "vrrp_instance %s has no virtual_ipaddress", in.Name)
	}
}

func (p *parser) auth(in *Instance, n *node) {
	for _, c := range n.children {
		switch c.words[0] {
		case "auth_type":
			if s, ok := p.arg(c); ok {
				if s != "PASS" && s != "AH" {
					p.bad(c.line, "auth_type: want PASS, got %q", s)
				} else if s == "AH" {
					p.bad(c.line, "auth_type AH is not supported")
				}
				in.AuthType = s
			}
		case "auth_pass":
			if s, ok := p.arg(c); ok {
				in.AuthPass = s
			}
		default:
			p.warn(c, "ignored: authentication %s", c.words[0])
		}
	}
}

// vipPrefix reads a virtual_ipaddress line: ADDRESS[/LEN] [dev IF]
// [label L] ...; only the address and length matter here.
func vipPrefix(words []string) (netip.Prefix, error) {
	s := words[0]
	if !strings.Contains(s, "/") {
		s += "/32"
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil || !pfx.Addr().Is4() {
		return netip.Prefix{}, i18n.Errorf("want an IPv4 address like 10.0.0.100/24, got %q", words[0])
	}
	return pfx, nil
}

// VRRPConfig returns the state machine's configuration of instance in,
// with keepalived's defaults. primary is the interface's address when
// unicast_src_ip is not set.
func (c *Config) VRRPConfig(in *Instance, primary netip.Addr) vrrpsim.Config {
	state := vrrpsim.StateBackup
	if in.State == "MASTER" {
		state = vrrpsim.StateMaster
	}
	prio := in.Priority
	if prio == 0 {
		prio = 100
		if state == vrrpsim.StateMaster {
			prio = 255
		}
	}
	version := c.Version
	if in.Version != 0 {
		version = in.Version
	}
	src := primary
	if in.UnicastSrc.IsValid() {
		src = in.UnicastSrc
	}
	vc := vrrpsim.Config{Name: in.Name, VRID: uint8(in.VRID), Version: version, Priority: uint8(prio),
		Interval: in.AdvertInt, NoPreempt: in.NoPreempt, PreemptDelay: in.PreemptDelay, InitialState: state,
		PrimaryIP: src, VIPs: in.VIPs,
		UnicastPeers: in.UnicastPeers, CheckUnicastSrc: len(in.UnicastPeers) > 0 && (in.CheckUnicastSrc || c.CheckUnicastSrc)}
	if in.AuthType == "PASS" && in.AuthPass != "" {
		vc.AuthType, vc.AuthPass = vrrpsim.AuthPass, in.AuthPass
	}
	for _, t := range in.TrackScripts {
		s := c.Scripts[t.Name]
		if s == nil {
			continue
		}
		w := s.Weight
		if t.Weight != nil {
			w = *t.Weight
		}
		vc.Tracks = append(vc.Tracks, vrrpsim.Track{Name: s.Name, Weight: w, Fall: s.Fall, Rise: s.Rise, InitFail: s.InitFail})
	}
	vc.Interface, vc.DontTrackPrimary = in.Interface, in.DontTrackPrimary
	for _, t := range in.TrackInterfaces {
		vc.TrackInterfaces = append(vc.TrackInterfaces, vrrpsim.TrackInterface{Name: t.Name, Weight: t.Weight})
	}
	return vc
}
