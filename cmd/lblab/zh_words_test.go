package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// englishRun matches two English words in a row: a fixed phrase left in
// English ("does not exist", "this host has"); the field names, keywords
// and values a message quotes are single words.
var englishRun = regexp.MustCompile(`[A-Za-z]{2,} [a-z]{2,}`)

// TestNoEnglishInChineseErrors: with --lang zh the parts of a message
// built apart and spliced in (the list of backends, the host's
// interfaces, why a script cannot run, why an included file is skipped)
// and the flag and argument errors of the command line are said in
// Chinese; flag names, values, paths and quoted input stay as given. A
// Latin word meets the Chinese with a space. The English of each is
// unchanged.
func TestNoEnglishInChineseErrors(t *testing.T) {
	plainLocale(t)
	noBackend := writeFile(t, "nobackend.yaml", `name: nobackend
title: t
duration: 10s
lb:
  listeners:
    - {name: l, port: 8002, group: g}
  groups:
    - name: g
      servers:
        - {address: "a:80"}
        - {address: "typo:80"}
backends:
  - {address: "a:80"}
clients:
  - {listener: l, rate: 70}
`)
	missingScript := writeFile(t, "keepalived.conf", `vrrp_script chk {
    script "/nonexistent/lblab/check.sh"
    weight -20
}
vrrp_instance VI_1 {
    interface lblabnosuch0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.1
    }
}
`)
	withDir := writeFile(t, "keepalived.conf", "include inc.d\nvrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 51\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n")
	if err := os.Mkdir(filepath.Join(filepath.Dir(withDir), "inc.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	hyphen := writeFile(t, "hyphen.yaml", strings.Replace(readFile(t, noBackend), `"typo:80"}`, `"typo:80", weight: ‐3}`, 1))
	for _, tt := range []struct {
		name       string
		args       []string
		want, en   []string
		allowedRun []string // English runs that are input or keywords
	}{
		{"a server without backend", []string{"validate", noBackend},
			[]string{`backends 中没有模拟后端服务器 "typo:80"（现有后端服务器为 a:80）`},
			[]string{`no simulated backend "typo:80" in backends (the backends are a:80)`}, []string{"backend: none"}},
		{"a missing script and interface", []string{"validate", missingScript},
			[]string{":2: vrrp_script chk：本机上 /nonexistent/lblab/check.sh 不存在：", "lblab vrrp 也是如此",
				":6: 接口 lblabnosuch0（vrrp_instance VI_1）在本机上不存在（本机有 "},
			[]string{":2: vrrp_script chk: /nonexistent/lblab/check.sh does not exist on this host: keepalived disables the script and the instances tracking it keep their priority (no weight, no FAULT), as lblab vrrp does; keepalived -t fails on it",
				"(this host has "},
			[]string{"vrrp_instance VI_1", "vrrp_script chk", "lblab vrrp"}},
		{"an included folder", []string{"validate", withDir},
			[]string{"不是普通的非可执行文件"}, []string{"is not a regular non-executable file - skipping"}, []string{"vrrp_instance VI_1"}},
		{"a Unicode hyphen", []string{"validate", hyphen},
			[]string{`"‐3" 不是整数（"‐" 看起来像 Unicode 连字符（U+2010）；请用 '-'）`}, []string{`looks like a Unicode hyphen`}, nil},
		{"a flag's bad value", []string{"run", "x", "--seed", "abc"},
			[]string{`lblab: 选项 "--seed" 的值 "abc" 无效：strconv.ParseUint：解析 "abc"：写法无效`},
			[]string{`lblab: invalid argument "abc" for "--seed" flag: strconv.ParseUint: parsing "abc": invalid syntax`}, nil},
		{"arguments", []string{"validate"}, []string{"lblab: 接受 1 个参数，实际收到 0 个"}, []string{"lblab: accepts 1 arg(s), received 0"}, nil},
		{"an unknown flag", []string{"validate", "--bogus", "x"}, []string{"lblab: 未知选项：--bogus"}, []string{"lblab: unknown flag: --bogus"}, nil},
		{"a flag without its value", []string{"run", "x", "--seed"}, []string{"lblab: 选项需要一个值：--seed"}, []string{"lblab: flag needs an argument: --seed"}, nil},
		{"an unknown command", []string{"bogus"}, []string{`lblab: 未知命令 "bogus"；'lblab --help' 列出所有命令`}, []string{`lblab: unknown command "bogus"; 'lblab --help' lists the commands`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, lang := range []string{"zh", "en"} {
				args := append([]string{tt.args[0], "--lang", lang}, tt.args[1:]...)
				code, stdout, stderr := lblab(t, args...)
				wantExit(t, code, 2, stdout, stderr)
				want := tt.want
				if lang == "en" {
					want = tt.en
				}
				for _, w := range want {
					if !strings.Contains(stderr, w) {
						t.Errorf("--lang %s: stderr lacks %q:\n%s", lang, w, stderr)
					}
				}
				if lang == "en" {
					continue
				}
				rest := stderr
				for _, a := range append(tt.allowedRun, "keepalived -t", "U+2010", "ASCII space") {
					rest = strings.ReplaceAll(rest, a, "")
				}
				if m := englishRun.FindAllString(rest, -1); len(m) > 0 {
					t.Errorf("English words in Chinese: %q\n%s", m, stderr)
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWarningsInChineseReport: a Chinese report lists the lab's warnings
// in Chinese, as the terminal says them, whether the run was in Chinese
// or lblab report --lang zh redraws an English run from its folder;
// results.json keeps them in English (warnings) beside their messages
// (warning_texts).
func TestWarningsInChineseReport(t *testing.T) {
	plainLocale(t)
	lab := writeFile(t, "lab.yaml", syncGroupLab)
	const zh = ":12:1: vrrp.keepalived.r1: vrrp_sync_group VG_1：未模拟同步组："
	const en = ":12:1: vrrp.keepalived.r1: vrrp_sync_group VG_1: sync groups are not modelled"
	zhDir := filepath.Join(t.TempDir(), "zh")
	code, stdout, stderr := lblab(t, "run", lab, "--lang", "zh", "--out", zhDir)
	wantExit(t, code, 0, stdout, stderr)
	if !strings.Contains(stderr, "警告："+lab+zh) {
		t.Errorf("stderr:\n%s", stderr)
	}
	enDir := filepath.Join(t.TempDir(), "en")
	code, stdout, stderr = lblab(t, "run", lab, "--out", enDir)
	wantExit(t, code, 0, stdout, stderr)
	code, stdout, stderr = lblab(t, "report", enDir, "--lang", "zh")
	wantExit(t, code, 0, stdout, stderr)
	for _, dir := range []string{zhDir, enDir} {
		page := readFile(t, filepath.Join(dir, "report.html"))
		if !strings.Contains(page, "<li><code>"+lab+zh) || strings.Contains(page, "not modelled") {
			t.Errorf("%s: the report's warnings are not in Chinese", dir)
		}
		results := readFile(t, filepath.Join(dir, "results.json"))
		if !strings.Contains(results, lab+en) || !strings.Contains(results, `"warning_texts"`) {
			t.Errorf("%s: results.json:\n%s", dir, results)
		}
	}
}
