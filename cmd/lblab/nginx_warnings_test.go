package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nginxWarningLab has an inline nginx configuration with a directive
// lblab ignores (gzip, line 7 of the text, line 10 of the lab).
const nginxWarningLab = `name: nginx-warning-lab
title: "An nginx configuration with a directive lblab ignores"
duration: 5s
nginx: |
  http {
    upstream app {
      server a:80;
    }
    server {
      listen 80;
      gzip on;
      location / { proxy_pass http://app; }
    }
  }
backends: [{address: "a:80"}]
clients: [{rate: 10}]
`

// The warnings of a lab's nginx configuration (inline or in a file beside
// the lab) are printed by validate, run and balance with the lab's line
// and the text's, and land in results.json and the report; balance
// --nginx prints those of the file (they were dropped).
func TestNginxWarningsPrintedAndRecorded(t *testing.T) {
	lab := writeFile(t, "lab.yaml", nginxWarningLab)
	want := lab + ":11:1: nginx: ignored: gzip (line 7 of the nginx text)"
	_, warnings, html := warnedEverywhere(t, lab, want)
	if len(warnings) != 1 || warnings[0] != want {
		t.Errorf("results.json warnings %q, want [%q]", warnings, want)
	}
	if !strings.Contains(html, "ignored: gzip") {
		t.Error("report.html does not show the warning")
	}
	code, out, errOut := lblab(t, "balance", "--lab", lab, "--group", "app", "--count", "1")
	wantExit(t, code, 0, out, errOut)
	if out != "a:80\n" || !strings.Contains(errOut, "warning: "+want) {
		t.Errorf("balance --lab: stdout %q, stderr:\n%s\nwant the warning %q", out, errOut, want)
	}

	// The same configuration in a file beside the lab.
	text := strings.ReplaceAll(nginxWarningLab[strings.Index(nginxWarningLab, "  http {"):strings.Index(nginxWarningLab, "backends:")], "\n  ", "\n")
	beside := writeFile(t, "beside.yaml", strings.Replace(nginxWarningLab, nginxWarningLab[strings.Index(nginxWarningLab, "nginx: |"):strings.Index(nginxWarningLab, "backends:")], "nginx: nginx.conf\n", 1))
	conf := filepath.Join(filepath.Dir(beside), "nginx.conf")
	if err := os.WriteFile(conf, []byte(strings.TrimPrefix(text, "  ")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = lblab(t, "validate", beside)
	wantExit(t, code, 0, out, errOut)
	if w := beside + ":4:8: nginx: ignored: gzip (line 7 of " + conf + ")"; !strings.Contains(errOut, "warning: "+w) {
		t.Errorf("validate stderr:\n%s\nwant %q", errOut, w)
	}
	code, out, errOut = lblab(t, "balance", "--nginx", conf, "--upstream", "app", "--count", "1")
	wantExit(t, code, 0, out, errOut)
	if w := conf + ":7: ignored: gzip"; out != "a:80\n" || !strings.Contains(errOut, "warning: "+w) {
		t.Errorf("balance --nginx: stdout %q, stderr:\n%s\nwant the warning %q", out, errOut, w)
	}
}

// weight: 2.9 in a lab is refused by validate, run and balance with
// file:line:column and field, exit status 2 (it was truncated to 2).
func TestFractionalWeightRefused(t *testing.T) {
	src := nginxWarningLab[:strings.Index(nginxWarningLab, "nginx: |")] + `lb:
  listeners: [{port: 80, group: app}]
  groups: [{name: app, servers: [{address: "a:80", weight: 2.9}, {address: "b:80"}]}]
backends: [{address: "a:80"}, {address: "b:80"}]
clients: [{rate: 10}]
`
	lab := writeFile(t, "lab.yaml", src)
	want := lab + ":6:60: lb.groups[0].servers[0].weight: 2.9 is not a whole number"
	for _, args := range [][]string{
		{"validate", lab},
		{"run", lab, "--out", filepath.Join(t.TempDir(), "out")},
		{"balance", "--lab", lab, "--group", "app", "--count", "3"},
	} {
		code, out, errOut := lblab(t, args...)
		wantExit(t, code, 2, out, errOut)
		if strings.TrimSpace(errOut) != "lblab: "+want {
			t.Errorf("lblab %s: stderr %q, want %q", args[0], errOut, "lblab: "+want)
		}
	}
}
