package scenarios_test

import (
	"testing"

	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios"
)

// The report's outage table and results.json's outage_s read one
// definition (reports.Outage): for ha-pair-master-crash seed 1, whose
// clients resend the requests reset on reused connections (none fails),
// the table's client1 row shows the 2.84 s that outage_s has, made of
// the probes that failed meanwhile, not "0 (nothing failed)".
func TestOutageTableIsOutageS(t *testing.T) {
	lab, err := scenarios.Load("ha-pair-master-crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := scenarios.RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, ok := o.Results.Metrics["outage_s_client1"].(float64)
	if !ok || want < 2.8 || want > 2.9 {
		t.Fatalf("outage_s_client1 = %v, want about 2.84 s", o.Results.Metrics["outage_s_client1"])
	}
	for _, out := range reports.Outages(o.Events, lab.Duration.D) {
		if out.Client != "client1" || !out.Primary {
			continue
		}
		s, _ := out.Seconds()
		if s != want || out.Failures+out.ProbeFailures == 0 {
			t.Fatalf("the table's client1 (%s): %v s, %d failed requests, %d failed probes; want outage_s %v",
				out.Channel, s, out.Failures, out.ProbeFailures, want)
		}
		return
	}
	t.Fatal("no outage of client1 in the report")
}
