package scenarios_test

import (
	"testing"

	"github.com/lblab/lblab/scenarios/labfile"
)

// A check window that ends after the lab is refused at its to: the part
// beyond the end holds no request, and the check would say "sent in
// [10 s, 100 s)" of a 30 s lab. A window ending at the end is accepted.
func TestParseRefusesWindowPastTheEnd(t *testing.T) {
	weighted := catalogSource(t, "weighted")
	share := `share: {group: smooth, server: "c:80", tolerance: 0.002}`
	for _, tc := range []struct{ name, check, at, field string }{
		{"share", `share: {from: 10s, to: 100s, ` + share[len("share: {"):], "100s", "expect[4].share.to"},
		{"status_count", "status_count: {class: 5xx, max: 0, to: 31s}", "31s", "expect[4].status_count.to"},
		{"latency", "latency: {max: 1s, from: 1s, to: 30001ms}", "30001ms", "expect[4].latency.to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := variant(t, weighted, share, tc.check)
			wantOneError(t, src, tc.at, tc.field, "the window ends at ")
			wantError(t, src, tc.at, tc.field, "after the end of the lab (duration 30s): write 30s or less, or leave to out for the end")
		})
	}
	if _, err := labfile.Parse(labFile, []byte(variant(t, weighted, share, `share: {to: 30s, `+share[len("share: {"):])), nil); err != nil {
		t.Errorf("a window ending at the lab's end is refused: %v", err)
	}
}
