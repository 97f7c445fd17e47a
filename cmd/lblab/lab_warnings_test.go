package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const syncGroupLab = `name: sync-group-lab
title: "A keepalived.conf with a sync group"
duration: 15s
topology:
  segments: [{name: lan, latency: 100us}]
  hosts:
    - {name: r1, interfaces: [{segment: lan, address: 10.77.0.11/24}]}
    - {name: r2, interfaces: [{segment: lan, address: 10.77.0.12/24}]}
vrrp:
  keepalived:
    r1: |
      vrrp_sync_group VG_1 {
          group {
              VI_1
          }
      }
      vrrp_instance VI_1 {
          state MASTER
          interface eth0
          virtual_router_id 51
          priority 150
          virtual_ipaddress {
              10.77.0.100/24
          }
      }
    r2: |
      vrrp_instance VI_1 {
          interface eth0
          virtual_router_id 51
          priority 100
          virtual_ipaddress {
              10.77.0.100/24
          }
      }
faults:
  - {name: master dies, at: 5s, kind: crash, target: r1}
expect:
  - name: r2 takes over
    failover: {fault: master dies, by: r2, window: theory}
`

// The warnings of a lab's embedded keepalived.conf are printed by
// validate and run with the lab's line and the text's, and land in
// results.json and the report.
func TestLabWarningsPrintedAndRecorded(t *testing.T) {
	lab := writeFile(t, "lab.yaml", syncGroupLab)
	want := lab + ":12:1: vrrp.keepalived.r1: vrrp_sync_group VG_1: sync groups are not modelled"
	validateErr, warnings, html := warnedEverywhere(t, lab, want)
	if !strings.Contains(validateErr, "(line 1 of r1's keepalived.conf)") {
		t.Errorf("validate stderr:\n%s\nwant the line in r1's keepalived.conf", validateErr)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], want) {
		t.Errorf("results.json warnings %q, want one starting %q", warnings, want)
	}
	if !strings.Contains(html, "<h2>Warnings</h2>") || !strings.Contains(html, "sync groups are not modelled") {
		t.Error("report.html does not show the warning")
	}
}

// warnedEverywhere validates and runs lab, failing unless validate and
// run both print the warning want; it returns validate's stderr, the
// warnings of results.json and report.html.
func warnedEverywhere(t *testing.T, lab, want string) (validateErr string, warnings []string, html string) {
	t.Helper()
	code, out, validateErr := lblab(t, "validate", lab)
	wantExit(t, code, 0, out, validateErr)
	if !strings.Contains(validateErr, "warning: "+want) {
		t.Errorf("validate stderr:\n%s\nwant %q", validateErr, want)
	}
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errOut := lblab(t, "run", lab, "--out", dir)
	wantExit(t, code, 0, out, errOut)
	if !strings.Contains(errOut, "warning: "+want) {
		t.Errorf("run stderr:\n%s\nwant %q", errOut, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Warnings []string }
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	return validateErr, res.Warnings, string(page)
}
