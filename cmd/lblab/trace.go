package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/sim/cloud"
)

func init() { commands = append(commands, newTrace) }

// newTrace is lblab trace: reachability analysis of a lab's cloud network.
func newTrace() *cobra.Command {
	var sets []string
	var asJSON, verify bool
	c := &cobra.Command{
		Use:   "trace LAB SRC DST[:PORT]",
		Short: "Follow a probe through a lab's cloud network hop by hop, request and reply, and say which route, security-group rule or whitelist decided",
		Long: `Follow one probe through the cloud network of a lab (network: vpcs,
vswitches, route_tables, peerings, security_groups, whitelists) as a
reachability analyzer does: it reads the lab, it sends nothing. SRC is a
host placed in a vswitch, by name or address; DST is an address or a
host's name; with :PORT the probe is a TCP connect, without an ICMP echo.

Each hop is one line: where (instance, vswitch, VPC router, peering), and
the route entry, security-group rule or whitelist entry that decided, with
its field in the lab. The outcome is one of ACCEPTED, NO_ROUTE,
DENIED_OUT, DENIED_IN, NO_REPLY_ROUTE, REFUSED, TTL_EXCEEDED.

Exit status: 0 when ACCEPTED, 1 for any other outcome, 2 on bad input.

With --verify (root) lblab also builds the lab's network in namespaces,
sends the same probe from SRC there, and prints the model's verdict
beside the real one (for a drop, where: read from the nftables rule
counters and the kernel's IP counters), then AGREE or DISAGREE; the exit
status is then 0 on AGREE, 1 on DISAGREE.`,
		Args: exactArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			language, err := langOf(c)
			if err != nil {
				return err
			}
			lab, err := unlessInterrupted(c.Context(), func() (*labfile.Lab, error) { return scenarios.Load(args[0], sets) })
			if err != nil {
				return err
			}
			res, err := traceLab(lab, args[1], args[2])
			if err != nil {
				return err
			}
			if verify {
				v, err := verifyTrace(c.Context(), lab.Cloud(), res)
				if err != nil {
					return err
				}
				if err := writeVerified(c.OutOrStdout(), v, language, asJSON); err != nil {
					return err
				}
				if !v.Agree {
					return &exitError{1}
				}
				return nil
			}
			if asJSON {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				writeTrace(c.OutOrStdout(), res, language)
			}
			if res.Outcome != cloud.Accepted {
				return &exitError{1}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON (stable field names)")
	c.Flags().BoolVar(&verify, "verify", false, "also send the probe in the lab's network built in namespaces (root) and say whether the real network agrees")
	c.Flags().StringArrayVar(&sets, "set", nil, "override a field of the lab: PATH=VALUE (repeatable)")
	return c
}

// traceLab traces SRC → DST[:PORT] in lab's cloud network; the hops'
// fields are the lab file's.
func traceLab(lab *labfile.Lab, src, dst string) (cloud.Result, error) {
	m := lab.Cloud()
	if m == nil {
		return cloud.Result{}, usageError{i18n.Errorf("lab %s has no cloud network (network: vpcs, vswitches; hosts with an interface in a vswitch)", lab.Name)}
	}
	f, ok := lab.CloudFlow(src, dst)
	if !ok {
		return cloud.Result{}, usageError{i18n.Errorf("DST %q: want ADDR or HOST (a host in a vswitch), with :PORT (1..65535) for a TCP connect", dst)}
	}
	res, err := cloud.Trace(m, f)
	if err != nil {
		return cloud.Result{}, usageError{err}
	}
	for _, leg := range [][]cloud.Hop{res.Request, res.Reply} {
		for i := range leg {
			leg[i].Field = lab.CloudField(leg[i].Field)
		}
	}
	return res, nil
}

// writeTrace prints a result for a student: a header, one hop a line for
// each leg, and the outcome explained.
func writeTrace(w io.Writer, r cloud.Result, lang string) {
	say := func(t i18n.Text) string { return t.In(lang) }
	probe := say(i18n.T("icmp echo"))
	if r.Protocol == cloud.TCP {
		probe = say(i18n.T("tcp connect to port %d", r.Port))
	}
	fmt.Fprintln(w, say(i18n.T("%s (%s) → %s, %s: %s", r.Src, r.SrcAddr, r.Dst, probe, string(r.Outcome))))
	legs := []struct {
		title i18n.Text
		hops  []cloud.Hop
	}{{i18n.T("request %s → %s", r.SrcAddr, r.Dst), r.Request}, {i18n.T("reply %s → %s", r.Dst, r.SrcAddr), r.Reply}}
	for li, leg := range legs {
		fmt.Fprintln(w, say(leg.title))
		if li == 1 && len(leg.hops) == 0 {
			fmt.Fprintln(w, "  "+say(i18n.T("(none: the request did not arrive)")))
		}
		for i, h := range leg.hops {
			target := r.SrcAddr
			if li == 0 {
				target = r.Dst
			}
			line := fmt.Sprintf("  %2d  %-22s %-7s %s", i+1, say(hopWhere(h)), say(verdictWord(h.Verdict)), say(hopWhy(h, target)))
			if h.Field != "" {
				line += "  [" + h.Field + "]"
			}
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		}
	}
	fmt.Fprintln(w, say(i18n.T("%s: %s", string(r.Outcome), outcomeWords(r.Outcome))))
}

func hopWhere(h cloud.Hop) i18n.Text {
	switch h.Kind {
	case cloud.HopInstance:
		return i18n.T("instance %s", h.At)
	case cloud.HopVSwitch:
		return i18n.T("vswitch %s", h.At)
	case cloud.HopRouter:
		return i18n.T("router of %s", h.At)
	case cloud.HopPeering:
		return i18n.T("peering %s", h.At)
	}
	return i18n.T("%s %s", h.Kind, h.At)
}

func verdictWord(v string) i18n.Text {
	switch v {
	case cloud.VerdictPass:
		return i18n.T("pass")
	case cloud.VerdictDrop:
		return i18n.T("DROP")
	case cloud.VerdictAnswer:
		return i18n.T("answer")
	}
	return i18n.T("%s", v)
}

// hopWhy says what decided at a hop; target is the leg's destination.
func hopWhy(h cloud.Hop, target string) i18n.Text {
	switch h.Reason {
	case "sg_rule":
		return i18n.T("security group rule: %s", h.Rule)
	case "sg_default_in":
		return i18n.T("no inbound rule matches: denied by default (security groups %s)", h.Rule)
	case "sg_default_out":
		return i18n.T("no outbound rule matches: allowed by default (security groups %s)", h.Rule)
	case "sg_inner":
		return i18n.T("same security group %s: members reach each other (inner access)", h.Rule)
	case "sg_stateful":
		return i18n.T("part of an allowed flow: the security group is stateful")
	case "route":
		return i18n.T("route %s", h.Rule)
	case "no_route":
		return i18n.T("no route entry matches %s", target)
	case "not_transitive":
		return i18n.T("route %s, but the packet came in over a peering: peering is not transitive", h.Rule)
	case "no_vswitch":
		return i18n.T("no vswitch of the VPC holds %s", target)
	case "no_instance":
		return i18n.T("no instance holds %s", target)
	case "not_forwarding":
		return i18n.T("not its address, and it does not forward (forward: false)")
	case "peering":
		return i18n.T("%s", h.Rule)
	case "vswitch":
		if h.Rule == "" {
			return i18n.T("%s", "")
		}
		return i18n.T("zone %s", h.Rule)
	case "whitelist":
		return i18n.T("whitelist entry %s", h.Rule)
	case "whitelist_default":
		return i18n.T("whitelist %s does not list the source", h.Rule)
	case "echo":
		return i18n.T("echo reply")
	case "listen":
		return i18n.T("%s listens: SYN-ACK", h.Rule)
	case "closed":
		return i18n.T("nothing listens on %s: RST", h.Rule)
	case "ttl":
		return i18n.T("the TTL ran out: a routing loop")
	case "other_host":
		return i18n.T("it holds %s too, but never sent the request (another VPC's host)", target)
	case "self":
		return i18n.T("its own address")
	}
	return i18n.T("%s %s", h.Reason, h.Rule)
}

func outcomeWords(o cloud.Outcome) i18n.Text {
	switch o {
	case cloud.Accepted:
		return i18n.T("the request arrived and its answer came back")
	case cloud.NoRoute:
		return i18n.T("the request found no way to its destination: the probe times out")
	case cloud.DeniedOut:
		return i18n.T("the sender's security group dropped the request: the probe times out")
	case cloud.DeniedIn:
		return i18n.T("dropped on arrival by a security group or a whitelist: the probe times out")
	case cloud.NoReplyRoute:
		return i18n.T("the request arrived, but the reply has no way back: the probe times out (not a refusal)")
	case cloud.Refused:
		return i18n.T("the request arrived at a closed port and its RST came back: connection refused")
	case cloud.TTLExceeded:
		return i18n.T("the packet looped until its TTL ran out")
	}
	return i18n.T("%s", string(o))
}
