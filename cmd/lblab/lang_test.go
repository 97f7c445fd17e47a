package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunInChinese: lblab run --lang zh, or a zh_CN locale without
// --lang, prints the summary in Chinese and writes a Chinese report with
// the lab's Chinese texts; --lang en wins over the locale; lblab report
// --lang zh redraws a run's report in Chinese; an unknown language is bad
// input (exit 2).
func TestRunInChinese(t *testing.T) {
	plainLocale(t)
	page := func(dir string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "report.html"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	check := func(name string, env string, args ...string) {
		t.Run(name, func(t *testing.T) {
			t.Setenv("LANG", env)
			dir := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := lblab(t, append([]string{"run", "vrrp-failover", "--out", dir}, args...)...)
			wantExit(t, code, 0, stdout, stderr)
			for _, want := range []string{"通过  vrrp-failover (sim, 种子 1) 用时 ", "  通过 r2 在宕机后 [MDI − interval, MDI] 内接管: ", "(期望 ", "failover_s: ", "报告：" + dir} {
				if !strings.Contains(stdout, want) {
					t.Errorf("the summary lacks %q:\n%s", want, stdout)
				}
			}
			for _, bad := range []string{"PASS", "ok  ", "expected", "report:"} {
				if strings.Contains(stdout, bad) {
					t.Errorf("the summary has the English %q:\n%s", bad, stdout)
				}
			}
			p := page(dir)
			for _, want := range []string{`<html lang="zh-CN">`, "<h1>VRRP：主路由器静默宕机</h1>", "本实验说明什么", "<td>结束时 r2 是主</td>"} {
				if !strings.Contains(p, want) {
					t.Errorf("report.html lacks %q", want)
				}
			}
			// The plots speak the report's language, the failover mark too.
			svg, err := os.ReadFile(filepath.Join(dir, "timeline.svg"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{">VRRP 时间线 — vrrp-failover（种子 1）<", ">时间 (s)<", ">优先级<", "（理论 ["} {
				if !strings.Contains(string(svg), want) {
					t.Errorf("timeline.svg lacks %q", want)
				}
			}
			for _, bad := range []string{"VRRP timeline", "time (s)", "(theory"} {
				if strings.Contains(string(svg), bad) {
					t.Errorf("timeline.svg has the English %q", bad)
				}
			}
		})
	}
	check("flag", "C.UTF-8", "--lang", "zh")
	check("locale", "zh_CN.UTF-8")

	t.Run("flag over locale", func(t *testing.T) {
		t.Setenv("LANG", "zh_CN.UTF-8")
		dir := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := lblab(t, "run", "vrrp-failover", "--out", dir, "--lang", "en")
		wantExit(t, code, 0, stdout, stderr)
		if !strings.HasPrefix(stdout, "PASS  vrrp-failover") || !strings.Contains(stdout, "report: ") {
			t.Errorf("--lang en under LANG=zh_CN:\n%s", stdout)
		}
		if p := page(dir); !strings.Contains(p, `<html lang="en">`) || !strings.Contains(p, "What this lab shows") {
			t.Error("--lang en did not write an English report")
		}
		// lblab report --lang zh redraws the same run in Chinese.
		code, stdout, stderr = lblab(t, "report", dir, "--lang", "zh")
		wantExit(t, code, 0, stdout, stderr)
		if !strings.HasPrefix(stdout, "报告：") {
			t.Errorf("lblab report --lang zh printed %q", stdout)
		}
		if p := page(dir); !strings.Contains(p, `<html lang="zh-CN">`) || !strings.Contains(p, "检查项") || !strings.Contains(p, ">VRRP 时间线 — vrrp-failover") {
			t.Error("lblab report --lang zh did not write a Chinese report, plots included")
		}
	})

	t.Run("unknown language", func(t *testing.T) {
		code, stdout, stderr := lblab(t, "run", "vrrp-failover", "--out", t.TempDir(), "--lang", "fr")
		wantExit(t, code, 2, stdout, stderr)
		if !strings.Contains(stderr, `--lang: language "fr": want en or zh`) {
			t.Errorf("stderr %q", stderr)
		}
	})
}
