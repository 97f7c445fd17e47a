package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lblab/lblab/history"
	"gonum.org/v1/plot/vg"
)

// TestTopologyRefused: a report.json whose topology has a nameless VPC
// or too many items is refused, the error naming the field.
func TestTopologyRefused(t *testing.T) {
	for _, tt := range []struct{ topology, want string }{
		{`{"vpcs": [{"name": "", "cidr": "10.0.0.0/8"}]}`, "topology.vpcs[0].name: empty"},
		{`{"vpcs": [` + strings.Repeat(`{"name": "v", "cidr": "10.0.0.0/8"},`, maxTopoItems) + `{"name": "v", "cidr": "10.0.0.0/8"}]}`,
			"topology.vpcs: 1001 items: want at most 1000"},
		{`{"vpcs": [], "routers": []}`, `unknown field "routers"`},
	} {
		dir := t.TempDir()
		if _, err := WriteRun(dir, Results{Lab: "vpc-peering", Mode: "sim", Metrics: map[string]any{}},
			Inputs{Lab: "vpc-peering", Lang: LangEnglish}, nil); err != nil {
			t.Fatal(err)
		}
		doc := `{"format": 1, "lab": "vpc-peering", "lang": "en", "title": "t", "duration_s": 10, "topology": ` + tt.topology + "}"
		if err := os.WriteFile(filepath.Join(dir, InputsFile), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFolder(dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("topology %.60s…: error %v, want one saying %q", tt.topology, err, tt.want)
		}
	}
}

// TestTopologyBounded: a topology far larger than a figure can show (40
// VPCs of 10 vswitches of 12 hosts, 1000 peerings, 30 probes, some with
// places it does not know or empty legs) draws within bounds: the figure
// is at most 40 inches high, and says how many items it left out.
func TestTopologyBounded(t *testing.T) {
	top := &Topology{}
	for v := range 40 {
		top.VPCs = append(top.VPCs, TopoVPC{Name: fmt.Sprintf("vpc-%d", v), CIDR: fmt.Sprintf("10.%d.0.0/16", v)})
		for s := range 10 {
			sw := fmt.Sprintf("vsw-%d-%d", v, s)
			top.VSwitches = append(top.VSwitches, TopoVSwitch{Name: sw, VPC: top.VPCs[v].Name, Zone: "cn-hangzhou-a-very-long-zone-name",
				CIDR: fmt.Sprintf("10.%d.%d.0/24", v, s)})
			for h := range 12 {
				top.Hosts = append(top.Hosts, TopoHost{Name: fmt.Sprintf("ecs-%d-%d-%d", v, s, h), VSwitch: sw, Address: fmt.Sprintf("10.%d.%d.%d", v, s, h+2)})
			}
		}
	}
	for i := range 1000 {
		top.Peerings = append(top.Peerings, TopoPeering{Name: fmt.Sprintf("pcc-%d", i), VPC: top.VPCs[i%40].Name, PeerVPC: top.VPCs[(i*7+1)%40].Name})
	}
	var events []history.Event
	no := false
	for i := range 30 {
		path := []string{"ecs-0-0-0 > vsw-0-0 > vpc-0 > pcc-1 > vpc-8 ✗", " | ✗", "nowhere > ✗ > vpc-3", ""}[i%4]
		events = append(events, history.Event{Kind: history.KindNet, Src: "ecs-0-0-0", Dst: "10.8.0.2", Probe: "icmp", OK: &no,
			Path: path, Reason: "NO_ROUTE"})
	}
	f, _, ok := topologyFigure(Report{Lang: LangEnglish, Topology: top, History: events})
	if !ok {
		t.Fatal("no figure")
	}
	if f.height > 40*vg.Inch {
		t.Errorf("figure %.0f pt high, want at most %.0f", f.height, 40*vg.Inch)
	}
	_, svg, err := f.render()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), "more items not drawn") {
		t.Error("the figure does not say it left items out")
	}
}
