package labfile

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lblab/lblab/sim/cloud"
)

// InCloud reports whether the lab has a cloud network: a network section
// with VPCs or vswitches, or a host interface placed in a vswitch.
func (lab *Lab) InCloud() bool {
	if n := lab.Network; n != nil && (len(n.VPCs) > 0 || len(n.VSwitches) > 0 || len(n.RouteTables) > 0 ||
		len(n.Peerings) > 0 || len(n.SecurityGroups) > 0 || len(n.Whitelists) > 0) {
		return true
	}
	for _, h := range lab.Topology.Hosts {
		for _, ifc := range h.Interfaces {
			if ifc.VSwitch != "" {
				return true
			}
		}
	}
	return false
}

// cloudPlace says where a model's instance comes from: the topology host
// and, for each of its NICs, the host's interface.
type cloudPlace struct {
	host   int
	ifaces []int
}

// Cloud returns the lab's cloud network as a model for sim/cloud (Trace,
// the worlds), nil when the lab has none (InCloud). Every topology host
// with an interface in a vswitch is an instance, its NICs those
// interfaces in order.
func (lab *Lab) Cloud() *cloud.Model {
	m, _ := lab.cloudModel()
	return m
}

func (lab *Lab) cloudModel() (*cloud.Model, []cloudPlace) {
	if !lab.InCloud() {
		return nil, nil
	}
	m := &cloud.Model{}
	if n := lab.Network; n != nil {
		m.VPCs, m.VSwitches, m.RouteTables = n.VPCs, n.VSwitches, n.RouteTables
		m.Peerings, m.SecurityGroups, m.Whitelists = n.Peerings, n.SecurityGroups, n.Whitelists
	}
	var places []cloudPlace
	for hi, h := range lab.Topology.Hosts {
		in := cloud.Instance{Name: h.Name, SecurityGroups: h.SecurityGroups, Listen: h.Listen, Forward: h.Forward}
		pl := cloudPlace{host: hi}
		for ii, ifc := range h.Interfaces {
			if ifc.VSwitch != "" {
				in.NICs = append(in.NICs, cloud.NIC{VSwitch: ifc.VSwitch, Address: ifc.Address})
				pl.ifaces = append(pl.ifaces, ii)
			}
		}
		if len(in.NICs) > 0 {
			m.Instances = append(m.Instances, in)
			places = append(places, pl)
		}
	}
	return m, places
}

// instancePath is a model path of an instance (instances[3].nics[1].address).
var instancePath = regexp.MustCompile(`^instances\[(\d+)\](?:\.nics\[(\d+)\])?(.*)$`)

// labPath turns a model's field path into the lab file's.
func labPath(path string, places []cloudPlace) string {
	mm := instancePath.FindStringSubmatch(path)
	if mm == nil {
		return "network." + path
	}
	i, _ := strconv.Atoi(mm[1])
	if i >= len(places) {
		return "topology.hosts"
	}
	p := fmt.Sprintf("topology.hosts[%d]", places[i].host)
	if mm[2] != "" {
		j, _ := strconv.Atoi(mm[2])
		if j < len(places[i].ifaces) {
			p += fmt.Sprintf(".interfaces[%d]", places[i].ifaces[j])
		}
	}
	return p + mm[3]
}

// validateCloud checks the cloud network and the hosts placed in it.
func validateCloud(v *validator, lab *Lab) {
	m, places := lab.cloudModel()
	inCloud := map[int]bool{}
	for _, pl := range places {
		inCloud[pl.host] = true
	}
	for hi, h := range lab.Topology.Hosts {
		p := fmt.Sprintf("topology.hosts[%d]", hi)
		if inCloud[hi] {
			if len(h.Roles) > 0 {
				v.bad(p+".roles", "a host in vswitches plays no role yet: the simulator has no L3 forwarding (lblab trace and reach checks read the network)")
			}
			if lab.VRRP != nil {
				for ii, in := range lab.VRRP.Instances {
					if in.Host == h.Name {
						v.bad(fmt.Sprintf("vrrp.vrrp_instance[%d].host", ii), "a host in vswitches plays no role yet: the simulator has no L3 forwarding (lblab trace and reach checks read the network)")
					}
				}
			}
			for ci, cl := range lab.Clients {
				if cl.From == h.Name {
					v.bad(fmt.Sprintf("clients[%d].from", ci), "a host in vswitches plays no role yet: the simulator has no L3 forwarding (lblab trace and reach checks read the network)")
				}
			}
			for pi, pr := range lab.Probes {
				if pr.From == h.Name {
					v.bad(fmt.Sprintf("probes[%d].from", pi), "a host in vswitches plays no role yet: the simulator has no L3 forwarding (lblab trace and reach checks read the network)")
				}
			}
			if len(places) > 0 && len(h.Interfaces) > 0 {
				for ii, ifc := range h.Interfaces {
					if ifc.VSwitch == "" && ifc.Segment != "" {
						v.bad(fmt.Sprintf("%s.interfaces[%d].segment", p, ii), "a host is in vswitches or on segments, not both")
					}
				}
			}
			continue
		}
		switch {
		case len(h.SecurityGroups) > 0:
			v.bad(p+".security_groups", "only a host with an interface in a vswitch has security groups")
		case len(h.Listen) > 0:
			v.bad(p+".listen", "only a host with an interface in a vswitch takes listen (the cloud network's ports)")
		case h.Forward:
			v.bad(p+".forward", "only a host with an interface in a vswitch takes forward")
		}
	}
	if m == nil {
		return
	}
	for _, pr := range cloud.Validate(m) {
		v.problems = append(v.problems, problem{labPath(pr.Path, places), pr.Text})
	}
}

// CloudField turns a field path of the lab's cloud model (Cloud; a Trace
// hop's Field, security_groups[1].rules[0]) into the lab file's
// (network.security_groups[1].rules[0]); "" stays "".
func (lab *Lab) CloudField(path string) string {
	if path == "" {
		return ""
	}
	_, places := lab.cloudModel()
	return labPath(path, places)
}

// CloudHost returns the first address of topology host name in the
// cloud network (its first interface in a vswitch); ok is false when no
// such host is in a vswitch.
func (lab *Lab) CloudHost(name string) (addr string, ok bool) {
	for _, h := range lab.Topology.Hosts {
		if h.Name != name {
			continue
		}
		for _, ifc := range h.Interfaces {
			if ifc.VSwitch != "" {
				a, good := cloud.ParseAddr(ifc.Address)
				return a.String(), good
			}
		}
	}
	return "", false
}

// ReachFlow returns the flow of a reach check in lab's cloud network,
// and the destination as a net event writes it (ADDR, or ADDR:PORT for a
// TCP connect). ok is false when From or To name nothing the network
// holds (validation refuses those).
func (lab *Lab) ReachFlow(c *ReachCheck) (f cloud.Flow, dst string, ok bool) {
	if _, in := lab.CloudHost(c.From); !in {
		return cloud.Flow{}, "", false
	}
	f, ok = lab.CloudFlow(c.From, c.To)
	if !ok {
		return cloud.Flow{}, "", false
	}
	dst = f.Dst.String()
	if f.Protocol == cloud.TCP {
		dst = netip.AddrPortFrom(f.Dst, uint16(f.Port)).String()
	}
	return f, dst, true
}

// CloudFlow returns the flow from src to to in lab's cloud network: to
// is ADDR or HOST (a host in a vswitch, its first address there), with
// :PORT (1..65535) a TCP connect, without an ICMP echo. ok is false when
// to is none of those. src is not looked at (Trace does).
func (lab *Lab) CloudFlow(src, to string) (f cloud.Flow, ok bool) {
	f = cloud.Flow{Src: src, Protocol: cloud.ICMP}
	host := to
	if h, p, cut := strings.Cut(to, ":"); cut {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return cloud.Flow{}, false
		}
		host, f.Protocol, f.Port = h, cloud.TCP, port
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		f.Dst = a
	} else if addr, in := lab.CloudHost(host); in {
		f.Dst = netip.MustParseAddr(addr)
	} else {
		return cloud.Flow{}, false
	}
	return f, true
}

func validateReach(v *validator, lab *Lab, p string, c *ReachCheck) {
	if !lab.InCloud() {
		v.bad(p, "a reach check needs the lab's cloud network (network: vpcs, vswitches; hosts in vswitches)")
		return
	}
	if _, in := lab.CloudHost(c.From); !in {
		v.bad(p+".from", "no host %q with an interface in a vswitch", c.From)
	} else if _, _, ok := lab.ReachFlow(c); !ok {
		v.bad(p+".to", "want ADDR or HOST (a host in a vswitch), with :PORT (1..65535) for a TCP connect, got %q", c.To)
	}
	if !slices.Contains(cloud.Outcomes, cloud.Outcome(c.Outcome)) {
		v.bad(p+".outcome", "want one of %s, got %q", outcomeList(), c.Outcome)
	}
}

func outcomeList() string {
	s := make([]string, len(cloud.Outcomes))
	for i, o := range cloud.Outcomes {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}
