package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readme is the repository's README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fenced returns the fenced blocks of a markdown text in a language.
func fenced(md, lang string) []string {
	re := regexp.MustCompile("(?ms)^```" + lang + "\n(.*?)^```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

// The README's lab examples, copied as they are into files, validate and
// pass in the simulator over five seeds (the load-balancer example was a
// fragment with a window starting at the end of its 30 s lab).
func TestReadmeLabsValidateAndPass(t *testing.T) {
	blocks := fenced(readme(t), "yaml")
	if len(blocks) < 2 {
		t.Fatalf("README.md has %d yaml blocks, want the VRRP lab and the load-balancer lab", len(blocks))
	}
	for i, b := range blocks {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			lab := writeFile(t, "readme.yaml", b)
			code, out, errOut := lblab(t, "validate", lab)
			wantExit(t, code, 0, out, errOut)
			if errOut != "" {
				t.Errorf("validate printed warnings:\n%s", errOut)
			}
			code, out, errOut = lblab(t, "run", lab, "--seeds", "5", "--out", filepath.Join(t.TempDir(), "out"))
			wantExit(t, code, 0, out, errOut)
		})
	}
}

// The README's lblab run --set examples are accepted and run: exit 0, or
// 1 where the README says the run fails (exit 1).
func TestReadmeSetExamplesRun(t *testing.T) {
	n := 0
	for _, b := range fenced(readme(t), "sh") {
		for _, line := range strings.Split(b, "\n") {
			cmd, comment, _ := strings.Cut(line, "#")
			args := strings.Fields(cmd)
			if len(args) < 3 || args[0] != "lblab" || args[1] != "run" || !strings.Contains(cmd, "--set") {
				continue
			}
			n++
			want := 0
			if strings.Contains(comment, "(exit 1)") {
				want = 1
			}
			t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
				code, out, errOut := lblab(t, append(args[1:], "--out", filepath.Join(t.TempDir(), "out"))...)
				wantExit(t, code, want, out, errOut)
			})
		}
	}
	if n < 4 {
		t.Errorf("found %d lblab run --set examples in README.md, want the 4 of the --set section", n)
	}
}
