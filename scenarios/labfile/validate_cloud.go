package labfile

import (
	"fmt"
	"regexp"
	"strconv"

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
