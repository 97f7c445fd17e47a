package scenarios

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lblab/lblab/internal/browsertest"
	"github.com/lblab/lblab/reports"
)

// screenshotsEnv names a folder where TestReportsInBrowser keeps its
// screenshots (default: the test's temporary folder, removed after).
const screenshotsEnv = "LBLAB_SCREENSHOTS"

// TestReportsInBrowser opens report.html of backend-crash, healthcheck-502,
// vrrp-failover and vpc-peering (the cloud topology figure), in English and
// in Chinese, in headless Chromium, and
// checks the rendered pages: every image loaded, every inline SVG plot has
// a size and keeps its texts inside it, no text overflows its box, and the
// console has no error and the page requests nothing outside its folder
// (internal/browsertest). It takes a full screenshot of each page (kept in
// $LBLAB_SCREENSHOTS when set). Without Chromium it skips; with CI=true
// that is a failure (the test task installs Debian's chromium when root).
func TestReportsInBrowser(t *testing.T) {
	chromium := browsertest.NeedChromium(t)
	shots := os.Getenv(screenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	browser, stop := browsertest.Start(t, chromium)
	defer stop()

	for _, name := range []string{"backend-crash", "healthcheck-502", "vrrp-failover", "vpc-peering"} {
		lab, err := Load(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		o, err := RunSim(lab, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, lang := range []string{reports.LangEnglish, reports.LangChinese} {
			t.Run(name+"/"+lang, func(t *testing.T) {
				l := lab.Localized(lang)
				o.Lab = l
				path, err := o.Write(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				wantLang := map[string]string{reports.LangEnglish: "en", reports.LangChinese: "zh-CN"}[lang]
				for _, p := range browsertest.CheckFile(t, browser, path, filepath.Join(shots, name+"-"+lang+".png"), wantLang) {
					t.Error(p)
				}
			})
		}
	}
}
