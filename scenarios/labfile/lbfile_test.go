package labfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
)

const lbYAML = `listeners: [{port: 8080, group: web}]
groups:
  - name: web
    servers: [{address: "127.0.0.1:9001"}]
`

// loadLB writes src to a file and loads it with LoadLB; the nginx
// importer records what it was given.
func loadLB(t *testing.T, src string) (cfg *proxy.Config, nginxName string, err error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lb.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = LoadLB(path, func(name string, _ []byte) (*proxy.Config, error) {
		nginxName = name
		return &proxy.Config{}, nil
	})
	return cfg, nginxName, err
}

func TestLoadLBForms(t *testing.T) {
	cfg, ng, err := loadLB(t, lbYAML)
	if err != nil || ng != "" || len(cfg.Listeners) != 1 || cfg.Listeners[0].Name != "http:8080" {
		t.Fatalf("an lb section: %v, %+v, nginx %q", err, cfg, ng)
	}
	lab := "name: x\nlb:\n" + "  " + strings.ReplaceAll(strings.TrimSuffix(lbYAML, "\n"), "\n", "\n  ") + "\n"
	if cfg, _, err := loadLB(t, lab); err != nil || len(cfg.Groups) != 1 {
		t.Fatalf("a lab's lb section: %v", err)
	}
	if _, ng, err := loadLB(t, "name: x\nnginx: |\n  upstream a { server b:80; }\n"); err != nil || !strings.HasSuffix(ng, "lb.yaml") {
		t.Errorf("a lab's inline nginx: %v, nginx %q", err, ng)
	}
	if _, ng, err := loadLB(t, "upstream a {\n  server b:80;\n}\n"); err != nil || !strings.HasSuffix(ng, "lb.yaml") {
		t.Errorf("an nginx.conf: %v, nginx %q", err, ng)
	}
	if _, _, err := loadLB(t, "just: words\n"); err == nil || !strings.Contains(err.Error(), "neither a load balancer") {
		t.Errorf("neither: %v", err)
	}
}

// A bad field of an lb file names its line and field (it was a list
// without lines).
func TestLoadLBPlacesProblems(t *testing.T) {
	_, _, err := loadLB(t, "name: x\nlb:\n  listeners: [{port: 0, group: web}]\n  groups: [{name: web, servers: [{address: nowhere}]}]\n")
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("want two Errors, got %v", err)
	}
	if es[0].Field != "lb.listeners[0].port" || es[0].Line != 3 || es[1].Field != "lb.groups[0].servers[0].address" || es[1].Line != 4 {
		t.Errorf("got %v", es)
	}
	if !strings.Contains(es[0].Error(), "lb.yaml:3:") {
		t.Errorf("%v does not name file and line", es[0])
	}
}

// The limits of a lab file hold for lblab proxy --config: deep nesting,
// size, a huge token.
func TestLoadLBBounds(t *testing.T) {
	n := 100_000
	var err error
	cpu, alloc := cost(t, func() {
		_, _, err = loadLB(t, "listeners: "+strings.Repeat("[", n)+strings.Repeat("]", n)+"\n")
	})
	if err == nil || !strings.Contains(err.Error(), "lb.yaml:1:75: lists and mappings nest deeper than 64 levels") {
		t.Errorf("deep: %v", err)
	}
	if cpu > time.Second || alloc > 256<<20 {
		t.Errorf("refusing a deep lb cost %v of CPU and %d MB", cpu, alloc>>20)
	}
	_, _, err = loadLB(t, lbYAML+strings.Repeat("# comment\n", MaxFileSize/10))
	if err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("large: %v", err)
	}
	_, _, err = loadLB(t, strings.Replace(lbYAML, "name: web", "name: web\n    algorithm: "+strings.Repeat("y", MaxFileSize/2), 1))
	if err == nil || len(err.Error()) > 400 || !strings.Contains(err.Error(), `unknown algorithm "yyyy`) {
		t.Errorf("a huge token: %.500v", err)
	}
}

// An nginx configuration is told from a YAML file by its first line, so
// that a large one is not parsed as YAML (cmd/lblab's
// TestNginxConfIsNotReadAsYAMLFirst runs a 2 MB one).
func TestLooksLikeYAML(t *testing.T) {
	for src, want := range map[string]bool{
		"listeners: [{port: 80, group: g}]\n":        true,
		"# a lab\n\nname: x\nlb:\n  listeners: []\n": true,
		"---\nname: x\n":                                         true,
		"nginx: |\n  upstream a {}\n":                            true,
		"events {}\nhttp { server { listen 80; } }\n":            false,
		"# nginx.conf\nupstream app {\n  server 10.0.0.1:80;\n}": false,
		"listen 127.0.0.1:80;\n":                                 false,
		"":                                                       false,
	} {
		if got := looksLikeYAML([]byte(src)); got != want {
			t.Errorf("looksLikeYAML(%q) = %v, want %v", src, got, want)
		}
	}
}

// An lb file (lblab proxy --config) refuses a weight of 2.9 with its line
// and field, alone or as a lab's lb section: the YAML library truncated it
// to 2.
func TestLoadLBRefusesNonWholeNumbers(t *testing.T) {
	src := strings.Replace(lbYAML, `{address: "127.0.0.1:9001"}`, `{address: "127.0.0.1:9001", weight: 2.9}`, 1)
	for _, tc := range []struct{ src, field string }{
		{src, "groups[0].servers[0].weight"},
		{"name: x\nlb:\n  " + strings.ReplaceAll(strings.TrimSuffix(src, "\n"), "\n", "\n  ") + "\n", "lb.groups[0].servers[0].weight"},
	} {
		_, _, err := loadLB(t, tc.src)
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 {
			t.Fatalf("want one Error, got %v", err)
		}
		line, col := 0, 0
		for i, l := range strings.Split(tc.src, "\n") {
			if c := strings.Index(l, "2.9"); c >= 0 {
				line, col = i+1, c+1
			}
		}
		if e := es[0]; e.Field != tc.field || e.Line != line || e.Column != col || e.Msg != "2.9 is not a whole number" {
			t.Errorf("got %v, want lb.yaml:%d:%d: %s: 2.9 is not a whole number", e, line, col, tc.field)
		}
	}
}

// The YAML given to lblab proxy --config refuses, as a lab does, a health
// check threshold written 0 (the checker ran it as 3) and an octal number.
func TestLoadLBRefusesExplicitZeroAndOctal(t *testing.T) {
	for _, tc := range []struct{ add, field, msg string }{
		{"\n    health_check: {unhealthy_threshold: 0}", "groups[0].health_check.unhealthy_threshold", "must be at least 1, got 0 (leave it out for 3)"},
		{"\n    health_check: {interval: 0}", "groups[0].health_check.interval", "must be more than 0 (leave it out for 2s)"},
		{"\n    health_check: {interval: 010}", "groups[0].health_check.interval", "010 is not a plain decimal number (YAML would read 8)"},
	} {
		src := strings.Replace(lbYAML, `servers: [{address: "127.0.0.1:9001"}]`, `servers: [{address: "127.0.0.1:9001"}]`+tc.add, 1)
		_, _, err := loadLB(t, src)
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 || es[0].Field != tc.field || !strings.Contains(es[0].Msg, tc.msg) || es[0].Line != 5 {
			t.Errorf("%s: got %v, want line 5, %s: %s", tc.add, err, tc.field, tc.msg)
		}
	}
}
