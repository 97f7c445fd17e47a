package labfile

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// cloudLab is a small cloud lab; the cases below change one line of it.
const cloudLab = `name: c
title: c
network:
  vpcs:
    - {name: vpc-a, cidr: 192.168.6.0/25}
    - {name: vpc-b, cidr: 192.168.5.0/24}
  vswitches:
    - {name: vsw-a, vpc: vpc-a, zone: z1, cidr: 192.168.6.0/25}
    - {name: vsw-b, vpc: vpc-b, zone: z1, cidr: 192.168.5.128/25}
  peerings:
    - {name: pcc-ab, vpc: vpc-a, peer_vpc: vpc-b}
  route_tables:
    - vpc: vpc-a
      entries:
        - {destination: 192.168.5.0/24, next_hop: pcc-ab}
  security_groups:
    - name: sg-a
      vpc: vpc-a
      rules:
        - {direction: ingress, ip_protocol: icmp}
    - {name: sg-b, vpc: vpc-b}
  whitelists:
    - {name: wl, host: ecs-b, port: 3306, security_ips: [192.168.6.76]}
topology:
  hosts:
    - name: ecs-a
      interfaces: [{vswitch: vsw-a, address: 192.168.6.76/25}]
      security_groups: [sg-a]
    - name: ecs-b
      interfaces: [{vswitch: vsw-b, address: 192.168.5.130}]
      security_groups: [sg-b]
      listen: [3306]
`

func TestCloudLab(t *testing.T) {
	lab, err := Parse("c.yaml", []byte(cloudLab), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := lab.Cloud()
	if m == nil || len(m.Instances) != 2 || m.Instances[1].NICs[0].Address != "192.168.5.130" || m.RouteTables[0].Name != "rtb-vpc-a" {
		t.Fatalf("model: %+v", m)
	}
	if (&Lab{}).Cloud() != nil {
		t.Error("a lab without a cloud network has a model")
	}
}

// TestCloudErrors: each broken line gives FILE:LINE:COL: FIELD: message.
func TestCloudErrors(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{"cidr: 192.168.6.0/25}\n    - {name: vpc-b", "cidr: 192.168.6.0/99}\n    - {name: vpc-b", "c.yaml:5:27: network.vpcs[0].cidr: want an IPv4 CIDR"},
		{"zone: z1, cidr: 192.168.6.0/25}", "zone: z1, cidr: 192.168.7.0/25}", "c.yaml:8:49: network.vswitches[0].cidr: 192.168.7.0/25 is not inside"},
		{"peer_vpc: vpc-b}", "peer_vpc: vpc-q}", "c.yaml:11:44: network.peerings[0].peer_vpc: no VPC \"vpc-q\""},
		{"next_hop: pcc-ab}", "next_hop: pcc-zz}", "c.yaml:15:51: network.route_tables[0].entries[0].next_hop: want local, a peering or an instance"},
		{"{destination: 192.168.5.0/24", "{destination: 192.168.6.0/26", "c.yaml:15:25: network.route_tables[0].entries[0].destination: 192.168.6.0/26 lies inside"},
		{"ip_protocol: icmp}", "ip_protocol: gre}", "c.yaml:20:45: network.security_groups[0].rules[0].ip_protocol: want tcp, udp, icmp or all"},
		{"host: ecs-b, port", "host: ecs-q, port", "c.yaml:23:24: network.whitelists[0].host: no instance \"ecs-q\""},
		{"address: 192.168.6.76/25}", "address: 192.168.5.76/25}", "c.yaml:27:46: topology.hosts[0].interfaces[0].address: 192.168.5.76 is outside vswitch vsw-a"},
		{"vswitch: vsw-b,", "vswitch: vsw-q,", "c.yaml:30:30: topology.hosts[1].interfaces[0].vswitch: no vswitch \"vsw-q\""},
		{"[sg-b]", "[sg-a]", "c.yaml:31:25: topology.hosts[1].security_groups[0]: security group sg-a is in VPC vpc-a, the instance in VPC vpc-b"},
		{"listen: [3306]", "listen: [70000]", "c.yaml:32:16: topology.hosts[1].listen[0]: want a port from 1 to 65535"},
		{"- name: ecs-b\n", "- name: vpc-a\n", "c.yaml:29:13: topology.hosts[1].name: \"vpc-a\" is also the name of vpcs[0]"},
		{"[{vswitch: vsw-b,", "[{segment: lan, vswitch: vsw-b,", "topology.hosts[1].interfaces[0].segment: an interface is in a segment or in a vswitch, not both"},
		{"      security_groups: [sg-a]\n", "", "c.yaml:26:11: topology.hosts[0].security_groups: an instance belongs to at least one security group"},
		{"    - {name: sg-b, vpc: vpc-b}", "    - {name: sg-b, vpc: vpc-b, rules: [{direction: in}]}", "network.security_groups[1].rules[0].direction: want ingress or egress"},
		{"  whitelists:", "  bogus: 1\n  whitelists:", "c.yaml:22:3: network.bogus: unknown field \"bogus\""},
	} {
		src := strings.Replace(cloudLab, tc.old, tc.new, 1)
		if src == cloudLab {
			t.Fatalf("%q is not in the lab", tc.old)
		}
		_, err := Parse("c.yaml", []byte(src), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: got %v, want …%s…", tc.old, tc.new, err, tc.want)
		}
	}
}

// TestCloudHostile: long lists are refused quickly, by their count.
func TestCloudHostile(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: c\ntitle: c\nnetwork:\n  vswitches:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "    - {name: v%d, vpc: vpc-a, cidr: 10.%d.%d.0/24}\n", i, i/256, i%256)
	}
	b.WriteString("  vpcs: [{name: vpc-a, cidr: 10.0.0.0/8}]\n")
	start := time.Now()
	_, err := Parse("c.yaml", []byte(b.String()), nil)
	if err == nil || !strings.Contains(err.Error(), "network.vswitches: at most 1000, got 5000") {
		t.Errorf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	// 1000 vswitches that all overlap: refused, each once, in bounded time.
	b.Reset()
	b.WriteString("name: c\ntitle: c\nnetwork:\n  vpcs: [{name: vpc-a, cidr: 10.0.0.0/8}]\n  vswitches:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "    - {name: v%d, vpc: vpc-a, cidr: 10.0.0.0/24}\n", i)
	}
	b.WriteString("topology:\n  hosts: [{name: h, interfaces: [{vswitch: v0, address: 10.0.0.1}], security_groups: [nope]}]\n")
	start = time.Now()
	_, err = Parse("c.yaml", []byte(b.String()), nil)
	if err == nil || !strings.Contains(err.Error(), "network.vswitches[1].cidr: 10.0.0.0/24 overlaps vswitch v0") {
		t.Errorf("got %.300v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestReachErrors: a reach check names a host in a vswitch, a place the
// network holds and an outcome.
func TestReachErrors(t *testing.T) {
	for _, tc := range []struct{ check, want string }{
		{"{from: ecs-a, to: 192.168.5.130, outcome: ACCEPTED}", ""},
		{"{from: ecs-a, to: \"ecs-b:3306\", outcome: ACCEPTED}", ""},
		{"{from: nobody, to: 192.168.5.130, outcome: ACCEPTED}", "c.yaml:35:19: expect[0].reach.from: no host \"nobody\" with an interface in a vswitch"},
		{"{from: ecs-a, to: \"ecs-b:99999\", outcome: ACCEPTED}", "expect[0].reach.to: want ADDR or HOST"},
		{"{from: ecs-a, to: ecs-q, outcome: ACCEPTED}", "expect[0].reach.to: want ADDR or HOST"},
		{"{from: ecs-a, to: ecs-b, outcome: OK}", "expect[0].reach.outcome: want one of ACCEPTED, NO_ROUTE, DENIED_OUT, DENIED_IN, NO_REPLY_ROUTE, REFUSED, TTL_EXCEEDED, got \"OK\""},
	} {
		src := cloudLab + "expect:\n  - name: r\n    reach: " + tc.check + "\n"
		_, err := Parse("c.yaml", []byte(src), nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.check, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want …%s…", tc.check, err, tc.want)
		}
	}
	noCloud := "name: c\ntitle: c\ntopology:\n  segments: [{name: lan}]\n  hosts: [{name: h, interfaces: [{segment: lan, address: 10.0.0.1/24}]}]\n" +
		"expect:\n  - name: r\n    reach: {from: h, to: 10.0.0.2, outcome: ACCEPTED}\n"
	if _, err := Parse("c.yaml", []byte(noCloud), nil); err == nil || !strings.Contains(err.Error(), "expect[0].reach: a reach check needs the lab's cloud network") {
		t.Errorf("got %v", err)
	}
}

// TestCloudHostRoles: a host in vswitches plays no role yet.
func TestCloudHostRoles(t *testing.T) {
	src := strings.Replace(cloudLab, "      listen: [3306]\n", "      listen: [3306]\n      roles: [proxy]\n", 1)
	if _, err := Parse("c.yaml", []byte(src), nil); err == nil || !strings.Contains(err.Error(), "topology.hosts[1].roles: a host in vswitches plays no role yet") {
		t.Errorf("got %v", err)
	}
	src = cloudLab + "probes: [{from: ecs-a, to: 192.168.5.130}]\n"
	if _, err := Parse("c.yaml", []byte(src), nil); err == nil || !strings.Contains(err.Error(), "probes[0].from: a host in vswitches plays no role yet") {
		t.Errorf("got %v", err)
	}
}
