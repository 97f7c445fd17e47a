package scenarios_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios/labfile"
)

// The warnings of an embedded keepalived.conf reach the loaded lab, each
// with its line in the lab file and in the embedded text: a
// vrrp_sync_group is not modelled, and the lab says so.
func TestLabCarriesKeepalivedWarnings(t *testing.T) {
	src := strings.Replace(keepalivedLab, "    r2: |\n", "    r2: |\n      vrrp_sync_group VG_1 {\n          group {\n              VI_1\n          }\n      }\n", 1)
	lab, err := labfile.Parse("k.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	ws := lab.Warnings()
	if len(ws) != 1 {
		t.Fatalf("warnings: %v", ws)
	}
	lines := strings.Split(src, "\n")
	w := ws[0]
	if w.Line < 1 || !strings.Contains(lines[w.Line-1], "vrrp_sync_group VG_1") {
		t.Errorf("warning at lab line %d, which is %q", w.Line, lines[max(w.Line-1, 0)])
	}
	want := fmt.Sprintf("k.yaml:%d:1: ", w.Line) + "vrrp.keepalived.r2: vrrp_sync_group VG_1: sync groups are not modelled: each of its instances fails over on its own, with its weighted track_script and track_interface as written (keepalived ignores those weights in a sync group unless sync_group_tracking_weight) (line 1 of r2's keepalived.conf)"
	if w.String() != want {
		t.Errorf("warning:\n%s\nwant:\n%s", w, want)
	}
	// The lab without it has none.
	clean, err := labfile.Parse("k.yaml", []byte(keepalivedLab), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ws := clean.Warnings(); len(ws) != 0 {
		t.Errorf("warnings of the clean lab: %v", ws)
	}
}
