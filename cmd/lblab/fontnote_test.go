package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFontNotePrintedAsWarning: on a machine without a CJK font
// (LBLAB_CJK_FONT set empty: no font search), lblab run prints that the
// PNG files lack glyphs once, as its other warnings ("warning: ",
// "警告："), not as a log line, naming the lab's group 权重 whole (and, in
// Chinese, the plots' own words) rather than a set of characters.
func TestFontNotePrintedAsWarning(t *testing.T) {
	bin := buildLblab(t)
	lab := writeFile(t, "zh-group.yaml", `name: zh-group
title: a group named in Chinese
duration: 5s
lb:
  listeners:
    - {name: l, port: 8002, group: 权重}
  groups:
    - name: 权重
      servers:
        - {address: "a:80", weight: 2}
        - {address: "b:80", weight: 1}
backends:
  - {address: "a:80"}
  - {address: "b:80"}
clients:
  - {listener: l, rate: 20}
`)
	for _, tt := range []struct{ lang, want string }{
		{"en", `warning: The PNG files lack glyphs for "权重": no font on this machine has them`},
		{"zh", `警告：PNG 文件缺少图中的固定文字、"权重"的字形（`},
	} {
		cmd := exec.Command(bin, "run", lab, "--lang", tt.lang, "--out", filepath.Join(t.TempDir(), "out"))
		cmd.Env = append(os.Environ(), "LBLAB_CJK_FONT=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("--lang %s: %v\n%s%s", tt.lang, err, stdout.String(), stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
			t.Errorf("--lang %s: stderr\n%s\nwant one line starting %q", tt.lang, stderr.String(), tt.want)
		}
		if strings.Contains(stderr.String(), "level=WARN") || strings.Contains(stderr.String(), "成功") {
			t.Errorf("--lang %s: stderr\n%s", tt.lang, stderr.String())
		}
	}
}
