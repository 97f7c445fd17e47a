package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
