package scenarios

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/lblab/lblab/reports"
)

// screenshotsEnv names a folder where TestReportsInBrowser keeps its
// screenshots (default: the test's temporary folder, removed after).
const screenshotsEnv = "LBLAB_SCREENSHOTS"

// needChromium returns the path of a Chromium or Chrome binary; without
// one the test skips with one line, or fails under CI=true (the test task
// installs Debian's chromium when root).
func needChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no chromium binary is installed (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium): skipping the browser check of the reports")
	return ""
}

// startBrowser starts headless Chromium, 1280×900, for at most a minute;
// stop ends it.
func startBrowser(t *testing.T, chromium string) (browser context.Context, stop func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
		// Chromium puts its singleton socket folder
		// (org.chromium.Chromium.XXXXXX) in TMPDIR and leaves it there:
		// give it the test's own folder, removed with the test.
		chromedp.Env("TMPDIR="+t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browser, cancelBrowser := chromedp.NewContext(actx)
	stop = func() { cancelBrowser(); cancelAlloc(); cancel() }
	if err := chromedp.Do(browser); err != nil {
		stop()
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return browser, stop
}

// pageCheck is what the page itself reports after loading (see
// pageCheckJS).
type pageCheck struct {
	Lang     string   `json:"lang"`
	Images   int      `json:"images"`
	SVGs     int      `json:"svgs"`
	Broken   []string `json:"broken"`   // images not loaded, SVGs of no size
	Overflow []string `json:"overflow"` // boxes whose text does not fit
	Texts    int      `json:"texts"`    // SVG text elements checked
}

// pageCheckJS checks the page: every <img> loaded (naturalWidth > 0), every
// <svg> has a non-empty box, no element extends beyond the document's
// width, no block's text is wider than its box (scrollWidth > clientWidth
// where overflow is not meant to scroll), and every text of a plot lies
// inside its plot.
const pageCheckJS = `(() => {
  const name = (el) => el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined && el.className ? "." + el.className : "") +
    ' "' + (el.textContent || "").trim().slice(0, 40) + '"';
  const out = {lang: document.documentElement.lang, images: document.images.length,
    svgs: document.querySelectorAll("svg").length, broken: [], overflow: [], texts: 0};
  for (const im of document.images) {
    if (!im.complete || im.naturalWidth === 0) out.broken.push("img " + (im.alt || im.src.slice(0, 60)));
  }
  for (const s of document.querySelectorAll("svg")) {
    const r = s.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) out.broken.push("svg " + s.getAttribute("aria-label") + " has an empty box");
    for (const t of s.querySelectorAll("text")) {
      out.texts++;
      const b = t.getBoundingClientRect();
      if (b.left < r.left - 1 || b.right > r.right + 1 || b.top < r.top - 1 || b.bottom > r.bottom + 1) {
        out.overflow.push("svg " + s.getAttribute("aria-label") + ': text "' + t.textContent + '" leaves the plot (' +
          Math.round(b.left - r.left) + ".." + Math.round(b.right - r.left) + " of " + Math.round(r.width) + " px)");
      }
    }
  }
  const W = document.documentElement.clientWidth;
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("svg")) continue;
    const r = el.getBoundingClientRect();
    if (r.right > W + 1) out.overflow.push(name(el) + " ends at " + Math.round(r.right) + " px, beyond the page's " + W + " px");
    const cs = getComputedStyle(el);
    if (cs.display !== "inline" && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 &&
        cs.overflowX !== "auto" && cs.overflowX !== "scroll") {
      out.overflow.push(name(el) + " holds text " + el.scrollWidth + " px wide in " + el.clientWidth + " px");
    }
  }
  return out;
})()`

// TestReportsInBrowser opens report.html of backend-crash, healthcheck-502
// and vrrp-failover, in English and in Chinese, in headless Chromium, and
// checks the rendered pages: every image loaded, every inline SVG plot has
// a size and keeps its texts inside it, no text overflows its box, and the
// console has no error. It takes a full screenshot of each page (kept in
// $LBLAB_SCREENSHOTS when set). Without Chromium it skips; with CI=true
// that is a failure (the test task installs Debian's chromium when root).
func TestReportsInBrowser(t *testing.T) {
	chromium := needChromium(t)
	shots := os.Getenv(screenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	browser, stop := startBrowser(t, chromium)
	defer stop()

	for _, name := range []string{"backend-crash", "healthcheck-502", "vrrp-failover"} {
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
				for _, p := range checkInBrowser(t, browser, path, filepath.Join(shots, name+"-"+lang+".png"), wantLang) {
					t.Error(p)
				}
			})
		}
	}
}

// checkInBrowser opens the page at path in a new tab of browser, checks
// it, saves a full screenshot as shot, and returns the problems it saw.
func checkInBrowser(t *testing.T, browser context.Context, path, shot, wantLang string) []string {
	t.Helper()
	var mu sync.Mutex
	var console []string
	tab, closeTab := chromedp.NewContext(browser, chromedp.WithListener(func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				msg = fmt.Sprintf("log %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if msg != "" {
			mu.Lock()
			console = append(console, msg)
			mu.Unlock()
		}
	}))
	defer closeTab()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "file", Path: abs}
	if err := chromedp.Do(tab, chromedp.Navigate(u.String())); err != nil {
		t.Fatalf("opening %s: %v", u.String(), err)
	}
	// Fonts are ready before the layout is measured.
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.fonts.ready`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(tab, chromedp.Evaluate[pageCheck](pageCheckJS))
	if err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d images, %d inline SVGs with %d texts; screenshot %s (%d bytes)", got.Images, got.SVGs, got.Texts, shot, len(png))

	var problems []string
	if got.Lang != wantLang {
		problems = append(problems, fmt.Sprintf("<html lang=%q>, want %q", got.Lang, wantLang))
	}
	if got.SVGs+got.Images == 0 {
		problems = append(problems, "the page shows no plot")
	}
	for _, b := range got.Broken {
		problems = append(problems, "not drawn: "+b)
	}
	for _, o := range got.Overflow {
		problems = append(problems, "overflow: "+o)
	}
	if len(got.Overflow) > 0 {
		// The plots are laid out with Liberation Sans's metrics.
		if out, _ := exec.Command("fc-list", ":family=Liberation Sans").Output(); len(out) == 0 {
			problems = append(problems, "Liberation Sans is not installed, so the browser draws the plots' text in a wider font: go tool task deps:report installs fonts-liberation")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range console {
		problems = append(problems, "console: "+c)
	}
	return problems
}

// TestBrowserCheckSeesFaults: the browser check finds a broken image, an
// empty SVG, a plot text outside its plot, a word too wide for its cell,
// a box wider than the page, a console error and an exception.
func TestBrowserCheckSeesFaults(t *testing.T) {
	chromium := needChromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "bad.html")
	if err := os.WriteFile(page, []byte(`<!DOCTYPE html><html lang="en"><body style="margin:0;width:800px">
<img src="missing.png" alt="gone">
<svg width="0" height="0"></svg>
<svg width="100" height="50" aria-label="p"><text x="60" y="20">far too long a label</text></svg>
<div style="width:100px;overflow-wrap:normal">Supercalifragilisticexpialidocious_is_one_word</div>
<div style="width:3000px">wide</div>
<script>console.error("boom"); null.x;</script>
</body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	browser, stop := startBrowser(t, chromium)
	defer stop()
	problems := strings.Join(checkInBrowser(t, browser, page, filepath.Join(dir, "bad.png"), "en"), "\n")
	for _, want := range []string{"not drawn: img gone", "has an empty box", `text "far too long a label" leaves the plot`,
		"px wide in 100 px", "beyond the page's", "console: console.error", "console: exception"} {
		if !strings.Contains(problems, want) {
			t.Errorf("the check missed %q; it saw:\n%s", want, problems)
		}
	}
}
