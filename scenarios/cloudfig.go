package scenarios

import (
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/sim/cloud"
)

// cloudTopology returns the lab's cloud network as its report draws it
// (report.json's topology): VPCs, vswitches, each instance in the
// vswitch of its first NIC with that NIC's address, peerings. Nil for a
// lab without a network: section.
func cloudTopology(lab *labfile.Lab) *reports.Topology {
	m := lab.Cloud()
	if m == nil || len(m.VPCs) == 0 {
		return nil
	}
	t := &reports.Topology{}
	for _, v := range m.VPCs {
		t.VPCs = append(t.VPCs, reports.TopoVPC{Name: v.Name, CIDR: v.CIDR})
	}
	for _, s := range m.VSwitches {
		t.VSwitches = append(t.VSwitches, reports.TopoVSwitch{Name: s.Name, VPC: s.VPC, Zone: s.Zone, CIDR: s.CIDR})
	}
	for _, in := range m.Instances {
		if len(in.NICs) == 0 {
			continue
		}
		addr := in.NICs[0].Address
		if a, ok := cloud.ParseAddr(addr); ok {
			addr = a.String()
		}
		t.Hosts = append(t.Hosts, reports.TopoHost{Name: in.Name, VSwitch: in.NICs[0].VSwitch, Address: addr})
	}
	for _, p := range m.Peerings {
		t.Peerings = append(t.Peerings, reports.TopoPeering{Name: p.Name, VPC: p.VPC, PeerVPC: p.PeerVPC})
	}
	return t
}
