package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
)

// TestTopologyFigure runs vpc-peering in the simulator and checks that
// its report, in English and in Chinese, draws the topology figure: every
// VPC, vswitch, host and peering of the lab, and each probe's verdict in
// the list under it, with the place a dropped probe was dropped; and that
// a lab without a cloud network (vrrp-failover) has no such figure.
func TestTopologyFigure(t *testing.T) {
	lab, o := runSeed1(t, "vpc-peering")
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{reports.LangEnglish, []string{"VPC vpc-a", "192.168.6.0/25", "vSwitch vsw-b", "192.168.5.128/25", "zone cn-hangzhou-i",
			"ecs-b 192.168.5.130", "peering pcc-ab", "peering pcc-ae",
			"1. ecs-a → 192.168.5.130 (icmp): ACCEPTED",
			"2. ecs-a → 192.168.5.130:80 (tcp): ACCEPTED",
			"3. ecs-a → 172.16.0.10 (icmp): NO_REPLY_ROUTE, dropped at vpc-d on the reply",
			"4. ecs-a → 172.17.0.10 (icmp): NO_ROUTE, dropped at vpc-a on the request",
			"5. ecs-a → 10.0.1.10 (icmp): NO_ROUTE, dropped at vpc-b on the request",
			"6. ecs-b → 10.0.1.10 (icmp): ACCEPTED", "dropped here"}},
		{reports.LangChinese, []string{"VPC vpc-a", "交换机 vsw-b", "可用区 cn-hangzhou-i", "对等连接 pcc-ab",
			"3. ecs-a → 172.16.0.10 (icmp)：NO_REPLY_ROUTE，回包在 vpc-d 处被丢弃",
			"4. ecs-a → 172.17.0.10 (icmp)：NO_ROUTE，请求在 vpc-a 处被丢弃", "在此被丢弃"}},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			o.Lab = lab.Localized(tt.lang)
			dir := t.TempDir()
			path, err := o.Write(dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "topology.png")); err != nil {
				t.Errorf("no topology.png: %v", err)
			}
			svg, err := os.ReadFile(filepath.Join(dir, "topology.svg"))
			if err != nil {
				t.Fatal(err)
			}
			html, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(html), `aria-label="topology"`) {
				t.Error("report.html has no topology figure")
			}
			texts := strings.Join(svgTexts(string(svg)), "\n")
			for _, w := range tt.want {
				if !strings.Contains(texts, w) {
					t.Errorf("the figure has no text %q; it has:\n%s", w, texts)
				}
			}
		})
	}
	t.Run("no cloud", func(t *testing.T) {
		_, o := runSeed1(t, "vrrp-failover")
		dir := t.TempDir()
		path, err := o.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "topology.png")); err == nil {
			t.Error("vrrp-failover has a topology.png")
		}
		if html, _ := os.ReadFile(path); strings.Contains(string(html), `aria-label="topology"`) {
			t.Error("vrrp-failover's report has a topology figure")
		}
	})
}

// runSeed1 loads a catalog lab and runs it in the simulator, seed 1.
func runSeed1(t *testing.T, name string) (*labfile.Lab, *Outcome) {
	t.Helper()
	lab, err := Load(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	return lab, o
}

// svgTexts returns the contents of an SVG file's text elements, entities
// decoded as gonum/plot writes them.
func svgTexts(svg string) []string {
	var out []string
	for _, part := range strings.Split(svg, "<text")[1:] {
		_, body, ok := strings.Cut(part, ">")
		if !ok {
			continue
		}
		body, _, _ = strings.Cut(body, "</text>")
		out = append(out, strings.NewReplacer("&gt;", ">", "&lt;", "<", "&amp;", "&", "&#39;", "'", "&#34;", `"`).Replace(body))
	}
	return out
}
