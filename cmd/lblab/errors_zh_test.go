package main

import (
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestErrorsInChinese: with --lang zh, or a zh_CN locale, lblab validate,
// run and balance say a bad lab's problems, the warnings of its embedded
// nginx text, and their own usage errors with Chinese fixed words; the
// place, the field path, the numbers and the quoted values stay as they
// are, and the exit status too. --lang en under a zh_CN locale is English.
func TestErrorsInChinese(t *testing.T) {
	plainLocale(t)
	dir := t.TempDir()
	lab := filepath.Join(dir, "bad.yaml")
	src := `name: bad
title: bad
duration: 30s
topology:
  segments: [{name: lan}]
  hosts:
    - {name: r1, interfaces: [{segment: lan, address: 10.77.0.11/24}]}
vrrp:
  vrrp_instance:
    - {host: r1, interface: eth0, state: MASTER, virtual_router_id: 51, priority: 300, advert_int: 1s, virtual_ipaddress: [10.77.0.100/24]}
faults:
  - {at: 10s, kind: explode, target: r1}
`
	if err := os.WriteFile(lab, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	nginxLab := filepath.Join(dir, "nginx.yaml")
	nsrc := `name: ng
title: ng
duration: 10s
backends:
  - {address: "app1:8080"}
clients:
  - {rate: 10}
nginx: |
  upstream app { server app1:8080 weight=2; }
  server { listen 8080; gzip on; location / { proxy_pass http://app; } }
`
	if err := os.WriteFile(nginxLab, []byte(nsrc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		lang string // LANG
		args []string
		code int
		// want are in the output; notWant are not.
		want, notWant []string
	}{
		{"validate --lang zh", "C.UTF-8", []string{"validate", lab, "--lang", "zh"}, 2,
			[]string{"lblab: " + lab + ":10:", "vrrp.vrrp_instance[0].priority: 必须为 1..255，实际为 300",
				lab + ":12:", `faults[0].kind: 未知故障类型 "explode"（可选 `},
			[]string{"must be", "unknown fault kind"}},
		{"validate under zh_CN", "zh_CN.UTF-8", []string{"validate", lab}, 2,
			[]string{"vrrp.vrrp_instance[0].priority: 必须为 1..255，实际为 300"}, []string{"must be"}},
		{"--lang en wins over zh_CN", "zh_CN.UTF-8", []string{"validate", lab, "--lang", "en"}, 2,
			[]string{"vrrp.vrrp_instance[0].priority: must be 1..255, got 300"}, []string{"必须"}},
		{"run --lang zh", "C.UTF-8", []string{"run", lab, "--lang", "zh", "--out", filepath.Join(dir, "out")}, 2,
			[]string{"faults[0].kind: 未知故障类型 \"explode\""}, []string{"unknown fault kind"}},
		{"an nginx warning", "C.UTF-8", []string{"validate", nginxLab, "--lang", "zh"}, 0,
			[]string{"警告：" + nginxLab + ":10:1: nginx: 已忽略：gzip（nginx 文本 第 2 行）", nginxLab + "：通过（ng）"},
			[]string{"ignored", "warning"}},
		{"balance usage", "zh_CN.UTF-8", []string{"balance", "--count", "3"}, 2,
			[]string{"lblab: 请给出 --nginx FILE --upstream NAME 或 --lab LAB --group NAME 之一"}, nil},
		{"unknown command", "zh_CN.UTF-8", []string{"valdate", lab}, 2,
			[]string{`lblab: 未知命令 "valdate"（是不是 validate？）；'lblab --help' 列出所有命令`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LANG", tt.lang)
			code, stdout, stderr := lblab(t, tt.args...)
			wantExit(t, code, tt.code, stdout, stderr)
			out := stdout + stderr
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("the output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("the output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCheckTextsInChinese: a check's observed and expected texts are kept
// in results.json as messages (format and args) beside the English, so a
// Chinese summary says them in Chinese, and lblab report --lang zh redraws
// an English run's table in Chinese; the English fields stay English.
func TestCheckTextsInChinese(t *testing.T) {
	plainLocale(t)
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := lblab(t, "run", "vrrp-failover", "--out", dir)
	wantExit(t, code, 0, stdout, stderr)
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Expectations []struct {
			Expected     string
			ExpectedText struct {
				Format string
				Args   []any
			} `json:"expected_text"`
		}
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	x := res.Expectations[0]
	if !strings.HasPrefix(x.Expected, "r2 master within [") || x.ExpectedText.Format != "%s master within %s (%s)" || len(x.ExpectedText.Args) != 3 {
		t.Errorf("results.json's first expectation: expected %q, expected_text %+v", x.Expected, x.ExpectedText)
	}
	code, stdout, stderr = lblab(t, "report", dir, "--lang", "zh")
	wantExit(t, code, 0, stdout, stderr)
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	text := html.UnescapeString(string(page))
	for _, want := range []string{"<td>r2 在 [", "] 内成为主（静默宕机：[MDI − interval, MDI] + 延迟，MDI = 3 × 1 s + (256 − 100)/256 s = 3.609375 s）</td>", "<td>1 次变化</td>"} {
		if !strings.Contains(text, want) {
			t.Errorf("the Chinese report lacks %q", want)
		}
	}
	for _, not := range []string{"master within", "silent death", "1 change"} {
		if strings.Contains(text, not) {
			t.Errorf("the Chinese report has %q", not)
		}
	}
	code, stdout, stderr = lblab(t, "run", "vrrp-failover", "--out", filepath.Join(t.TempDir(), "zh"), "--lang", "zh")
	wantExit(t, code, 0, stdout, stderr)
	if !strings.Contains(stdout, "内成为主（静默宕机：") || strings.Contains(stdout, "master within") {
		t.Errorf("the Chinese summary:\n%s", stdout)
	}
}

// TestChineseReportHealthWords: a Chinese report of backend-crash draws
// the health marks and the health legend in Chinese (the bars keep the
// state names UP and DOWN, as the timeline keeps MASTER), and the checks' and
// faults' texts, not the English ones.
func TestChineseReportHealthWords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := lblab(t, "run", "backend-crash", "--out", dir, "--lang", "zh")
	wantExit(t, code, 0, stdout, stderr)
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	text := html.UnescapeString(string(page))
	// The delays are seed 1's (each seed draws its probes' phase).
	raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Metrics struct {
			Down float64 `json:"health_down_delay_s"`
			Up   float64 `json:"health_up_delay_s"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || res.Metrics.Down == 0 || res.Metrics.Up == 0 {
		t.Fatalf("results.json: %v, delays %+v", err, res.Metrics)
	}
	down := strconv.FormatFloat(res.Metrics.Down, 'f', -1, 64)
	up := strconv.FormatFloat(res.Metrics.Up, 'f', -1, 64)
	for _, want := range []string{"a3:80 在 " + down + " s 后被标记为不健康", "a3:80 在 " + up + " s 后重新上线",
		">DOWN（不健康）<", ">UP（健康）<", ">p3 宕机 (crash p3:80)<", "3 个请求为状态码 5xx，发出于 [19 s, 40 s)"} {
		if !strings.Contains(text, want) {
			t.Errorf("the Chinese report lacks %q", want)
		}
	}
	for _, not := range []string{"down after", "up after", "requests with status", "down within", "the first failing probe"} {
		if strings.Contains(text, not) {
			t.Errorf("the Chinese report has %q", not)
		}
	}
}

// plainLocale sets a locale that asks for no language (LANG=C.UTF-8,
// LC_ALL and LC_MESSAGES empty) for the test.
func plainLocale(t *testing.T) {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES"} {
		t.Setenv(v, "")
	}
	t.Setenv("LANG", "C.UTF-8")
}
