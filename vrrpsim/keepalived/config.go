package keepalived

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
	"github.com/lblab/lblab/vrrpsim"
)

// Config is what a keepalived.conf holds.
type Config struct {
	// RouterID is global_defs router_id.
	RouterID string
	// Version is global_defs vrrp_version. Default 2.
	Version int
	// GARPMasterDelay and GARPMasterRepeat are global_defs
	// vrrp_garp_master_delay and vrrp_garp_master_repeat. Defaults
	// vrrpsim.DefaultGARPDelay and vrrpsim.DefaultGARPRepeat.
	GARPMasterDelay  time.Duration
	GARPMasterRepeat int
	// CheckUnicastSrc is global_defs vrrp_check_unicast_src: every
	// instance with unicast_peer checks the source of adverts, as if it
	// had check_unicast_src. Default false.
	CheckUnicastSrc bool
	// NotifyFIFO is global_defs vrrp_notify_fifo: the FIFO keepalived
	// writes a line to on each state change of an instance (INSTANCE
	// "NAME" STATE PRIORITY). Default none.
	NotifyFIFO string
	// NotifyPriorityChanges is global_defs vrrp_notify_priority_changes:
	// a change of an instance's effective priority is written to the
	// FIFO too (STATE_PRIORITY, e.g. BACKUP_PRIORITY 90). Default false.
	NotifyPriorityChanges bool
	// ScriptUser is global_defs script_user: the user (and group,
	// after a space) keepalived runs scripts as. Default keepalived_script (root when that user does
	// not exist).
	ScriptUser string
	// ScriptSecurity is global_defs enable_script_security: keepalived
	// refuses scripts that a non-root user could change. Default false.
	ScriptSecurity bool
	// Scripts are the vrrp_script blocks by name.
	Scripts map[string]*Script
	// Instances are the vrrp_instance blocks in file order.
	Instances []*Instance

	// files are the files read: the main one, then those it includes.
	// The Line fields of this package's types are places: see Place.
	files []string
}

// Place returns the file and line that the Line field of a Script,
// Instance, TrackScript or TrackInterface stands for: the line of the
// main file (and file "") or of a file it includes.
func (c *Config) Place(line int) (file string, fileLine int) {
	idx, l := units.Unplace(line)
	if idx <= 0 || idx >= len(c.files) {
		return "", line
	}
	return c.files[idx], l
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
	// Priority; 0 when not written (then vrrpsim.PriorityFor: 255 for
	// state MASTER, else 100, as keepalived does).
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

// ParseFile reads path and calls ParseWith, with the folder of path as
// the one its relative includes are read from.
func ParseFile(path string) (*Config, []Warning, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, Errors{{File: path, Msg: err.Error()}}
	}
	return ParseWith(path, b, Options{Dir: filepath.Dir(path)})
}

// Parse reads a keepalived.conf. name is used in errors and warnings. An
// include line is an error: the text has no folder to read files from
// (ParseWith reads them). A keyword keepalived 2.2.7 does not know, in
// the block it stands in, is an error ("Unknown keyword", as keepalived
// -t reports it); one it knows that lblab does not model is a warning.
func Parse(name string, src []byte) (*Config, []Warning, error) {
	return ParseWith(name, src, Options{})
}

// ParseWith is Parse, reading include lines as opt says; an error or
// warning in an included file names that file and its line.
func ParseWith(name string, src []byte, opt Options) (*Config, []Warning, error) {
	inc := &includer{name: name, dir: opt.Dir, files: []source{{name, string(src)}}}
	lines := inc.lines(0, string(src), opt.Dir, []string{name})
	nodes, errs := parseTree(name, lines)
	p := &parser{name: name, errs: append(inc.errs, errs...), warns: inc.warns,
		c: &Config{Version: vrrpsim.DefaultVersion, GARPMasterDelay: vrrpsim.DefaultGARPDelay,
			GARPMasterRepeat: vrrpsim.DefaultGARPRepeat, Scripts: map[string]*Script{}}}
	for _, f := range inc.files {
		p.c.files = append(p.c.files, f.name)
	}
	nodes = p.checkKeywords(nodes, "")
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
	p.errs = sortErrors(p.errs)
	sort.SliceStable(p.warns, func(i, j int) bool { return p.warns[i].Line < p.warns[j].Line })
	inc.place(p.errs, p.warns)
	if len(p.errs) > 0 {
		return nil, p.warns, p.errs
	}
	return p.c, p.warns, nil
}

// checkKeywords reports each keyword of nodes (standing in the block of
// path, "" at the top) that keepalived 2.2.7 does not know there, as
// keepalived -t does, and returns nodes without them. The blocks of
// known keywords that hold keywords are checked too; those that hold
// values (virtual_ipaddress, track_script, ...) are not.
func (p *parser) checkKeywords(nodes []*node, path string) []*node {
	kept := nodes[:0:0]
	for _, n := range nodes {
		kw := n.words[0]
		if strings.ContainsAny(kw[:1], "$@~") {
			// A parameter definition, a config-id line or a sequence:
			// keepalived reads them before keywords; lblab does not.
			p.warn(n, msgNotModelled, kw)
			continue
		}
		if !knownKeywords[path+kw] {
			p.bad(n.line, msgUnknownKeyword, kw)
			continue
		}
		if n.block && keywordBlocks[path+kw] {
			n.children = p.checkKeywords(n.children, path+kw+"/")
		}
		kept = append(kept, n)
	}
	return kept
}

// The messages of keywords keepalived does not know, or lblab does not
// model, each with the keyword as its one argument.
const (
	msgUnknownKeyword = "Unknown keyword '%s' (keepalived 2.2.7 does not know it here: keepalived -t fails, and keepalived ignores the line)"
	msgNotModelled    = "not modelled: %s (keepalived reads it; lblab does not)"
)

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
		case "vrrp_notify_fifo":
			if s, ok := p.arg(c); ok {
				p.c.NotifyFIFO = s
			}
		case "vrrp_notify_priority_changes":
			p.c.NotifyPriorityChanges = true
		case "script_user":
			// USER [GROUP]
			if len(c.words) < 2 || len(c.words) > 3 || c.block {
				p.bad(c.line, "script_user: want USER [GROUP]")
				continue
			}
			p.c.ScriptUser = strings.Join(c.words[1:], " ")
		case "enable_script_security":
			p.c.ScriptSecurity = true
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
	s := &Script{Name: n.words[1], Line: n.line, Interval: vrrpsim.DefaultScriptInterval, Fall: 1, Rise: 1}
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
	in := &Instance{Name: n.words[1], Line: n.line, AdvertInt: vrrpsim.DefaultInterval, Notify: map[string]string{},
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

// maxAuthPass is the size of the VRRPv2 authentication data (RFC 3768
// 5.3.10): keepalived keeps the first 8 bytes of a longer auth_pass.
const maxAuthPass = 8

// msgTruncatingAuthPass is keepalived's message for a longer auth_pass,
// with what it means: the limit and the password actually used.
const msgTruncatingAuthPass = "Truncating auth_pass to %d characters: keepalived uses %q (and keepalived -t fails on it); write the 8 characters, so both routers agree"

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
				if len(s) > maxAuthPass {
					// vrrp_auth_pass_handler: CONFIG_GENERAL_ERROR, and
					// the first 8 bytes are used.
					t := i18n.T(msgTruncatingAuthPass, maxAuthPass, s[:maxAuthPass])
					p.warns = append(p.warns, Warning{File: p.name, Line: c.line, TestFails: true, Msg: t.String(), Text: t})
					s = s[:maxAuthPass]
				}
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
// with the global GARP settings; what the file leaves out gets
// keepalived's defaults from vrrpsim.Config. primary is the interface's address when
// unicast_src_ip is not set.
func (c *Config) VRRPConfig(in *Instance, primary netip.Addr) vrrpsim.Config {
	state := vrrpsim.StateBackup
	if in.State == "MASTER" {
		state = vrrpsim.StateMaster
	}
	version := c.Version
	if in.Version != 0 {
		version = in.Version
	}
	src := primary
	if in.UnicastSrc.IsValid() {
		src = in.UnicastSrc
	}
	vc := vrrpsim.Config{Name: in.Name, VRID: uint8(in.VRID), Version: version, Priority: uint8(in.Priority),
		Interval: in.AdvertInt, NoPreempt: in.NoPreempt, PreemptDelay: in.PreemptDelay, InitialState: state,
		PrimaryIP: src, VIPs: in.VIPs,
		UnicastPeers: in.UnicastPeers, CheckUnicastSrc: len(in.UnicastPeers) > 0 && (in.CheckUnicastSrc || c.CheckUnicastSrc),
		GARPDelay: c.GARPMasterDelay, GARPRepeat: c.GARPMasterRepeat}
	if vc.GARPDelay == 0 {
		vc.GARPDelay = -1 // vrrp_garp_master_delay 0: no second burst
	}
	if len(in.Notify) > 0 {
		vc.Notify = in.Notify
	}
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

// ErrorAt returns an Error at the place line stands for (see Place):
// in file, or in the included file that holds it.
func (c *Config) ErrorAt(file string, line int, t i18n.Text) *Error {
	if f, l := c.Place(line); f != "" {
		file, line = f, l
	}
	return newError(file, line, t)
}

// WarningAt returns a Warning at the place line stands for (see Place):
// in file, or in the included file that holds it.
func (c *Config) WarningAt(file string, line int, t i18n.Text) Warning {
	e := c.ErrorAt(file, line, t)
	return Warning{File: e.File, Line: e.Line, Msg: e.Msg, Text: e.Text}
}
