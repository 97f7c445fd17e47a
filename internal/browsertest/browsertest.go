// Package browsertest opens lblab's HTML pages (report.html,
// compare.html) in headless Chromium for the tests, and checks what a
// reader would see: every image and plot drawn, no text out of its box,
// no console error, no request that leaves the page's folder.
package browsertest

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
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// NeedChromium returns the path of a Chromium or Chrome binary; without
// one the test skips with one line, or fails under CI=true (go tool task
// deps:report installs Debian's chromium when root).
func NeedChromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no chromium binary is installed (go tool task deps:report, or apt-get install chromium)")
	}
	t.Skip("chromium is not installed (go tool task deps:report, or apt-get install chromium): skipping the browser check of the page")
	return ""
}

// ScreenshotsEnv names a folder where the browser tests keep their
// screenshots (default: the test's temporary folder, removed after).
const ScreenshotsEnv = "LBLAB_SCREENSHOTS"

// Screenshots returns the folder for a test's screenshots: $LBLAB_SCREENSHOTS
// (created if missing) when set, else a temporary folder of the test.
func Screenshots(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Start starts headless Chromium, 1280×900, for at most a minute; stop
// ends it.
func Start(t testing.TB, chromium string) (browser context.Context, stop func()) {
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

// Page is a page open in a tab of the browser.
type Page struct {
	// Tab is the tab's context, for chromedp actions.
	Tab context.Context
	// URL is the page's file:// address.
	URL string

	dir   string // the page's folder, as a file:// prefix ending in "/"
	close func()

	mu       sync.Mutex
	console  []string
	requests []string
}

// Open opens the page at path in a new tab of browser and waits until
// it is loaded and its fonts are ready. The tab records console errors,
// exceptions and every request the page makes; close it with Close.
func Open(t testing.TB, browser context.Context, path string) *Page {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "file", Path: abs}
	d := url.URL{Scheme: "file", Path: filepath.Dir(abs) + "/"}
	p := &Page{URL: u.String(), dir: d.String()}
	p.Tab, p.close = chromedp.NewContext(browser, chromedp.WithListener(p.listen))
	if err := chromedp.Do(p.Tab, chromedp.Navigate(p.URL)); err != nil {
		p.close()
		t.Fatalf("opening %s: %v", p.URL, err)
	}
	// Fonts are ready before the layout is measured.
	if err := chromedp.Do(p.Tab, chromedp.Evaluate[chromedp.Void](`document.fonts.ready`, chromedp.EvalAwaitPromise)); err != nil {
		p.close()
		t.Fatal(err)
	}
	return p
}

// Close closes the page's tab.
func (p *Page) Close() { p.close() }

// listen records what the tab says: console errors and assertions,
// exceptions, error log entries, and each request's URL.
func (p *Page) listen(ev any) {
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
	case *network.EventRequestWillBeSent:
		p.mu.Lock()
		p.requests = append(p.requests, ev.Request.URL)
		p.mu.Unlock()
	}
	if msg != "" {
		p.mu.Lock()
		p.console = append(p.console, msg)
		p.mu.Unlock()
	}
}

// Eval evaluates the JavaScript expression js in the page (awaiting it
// when it is a promise) and returns its value as a T.
func Eval[T any](t testing.TB, p *Page, js string) T {
	t.Helper()
	v, err := chromedp.Run(p.Tab, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: evaluating %.60q: %v", p.URL, js, err)
	}
	return v
}

// layout is what the page itself reports after loading (see layoutJS).
type layout struct {
	Lang     string   `json:"lang"`
	Images   int      `json:"images"`
	SVGs     int      `json:"svgs"`
	Linked   int      `json:"linked"`
	Broken   []string `json:"broken"`   // images not loaded, SVGs of no size
	Overflow []string `json:"overflow"` // boxes whose text does not fit
	Texts    int      `json:"texts"`    // SVG text elements checked
}

// layoutJS checks the page: every <img> loaded (naturalWidth > 0), every
// plot file the page links (.png, .svg) loads as an image of non-zero
// width, every <svg> has a non-empty box, no element extends beyond the
// document's width, no block's text is wider than its box (scrollWidth >
// clientWidth where overflow is not meant to scroll), no short word of
// letters is broken across two lines, and every text of a plot lies
// inside its plot.
const layoutJS = `(async () => {
  const name = (el) => el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined && el.className ? "." + el.className : "") +
    ' "' + (el.textContent || "").trim().slice(0, 40) + '"';
  const out = {lang: document.documentElement.lang, images: document.images.length,
    svgs: document.querySelectorAll("svg").length, linked: 0, broken: [], overflow: [], texts: 0};
  for (const im of document.images) {
    if (!im.complete || im.naturalWidth === 0) out.broken.push("img " + (im.alt || im.src.slice(0, 60)));
  }
  const links = [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")).filter((h) => /\.(png|svg)$/.test(h));
  out.linked = links.length;
  await Promise.all(links.map((h) => new Promise((done) => {
    const im = new Image();
    im.onload = () => { if (im.naturalWidth === 0) out.broken.push("linked image " + h + " has no width"); done(); };
    im.onerror = () => { out.broken.push("linked image " + h + " does not load"); done(); };
    im.src = h;
  })));
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
  // A short word of letters broken across two lines (overflow-wrap:
  // anywhere in a cell too narrow for it); long identifiers may break.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest("svg")) continue;
    for (const m of n.textContent.matchAll(/[A-Za-z]{2,12}/g)) {
      const before = m.index > 0 ? n.textContent[m.index - 1] : " ", after = n.textContent[m.index + m[0].length] || " ";
      if (/[A-Za-z0-9_]/.test(before) || /[A-Za-z0-9_]/.test(after)) continue;
      const r = document.createRange();
      r.setStart(n, m.index);
      r.setEnd(n, m.index + m[0].length);
      const lines = new Set([...r.getClientRects()].filter((b) => b.width > 0).map((b) => Math.round(b.top)));
      if (lines.size > 1) out.overflow.push(name(n.parentElement) + ' breaks the word "' + m[0] + '" across lines');
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

// Check checks the open page as a reader sees it: <html lang> is
// wantLang; it shows a plot; every image, linked plot file and inline
// SVG is drawn; no text leaves its box or the page; the console has no
// error; and the page requested nothing outside its own folder (no
// network, no other file). It saves a full screenshot as shot and
// returns the problems it saw.
func (p *Page) Check(t testing.TB, shot, wantLang string) []string {
	t.Helper()
	got := Eval[layout](t, p, layoutJS)
	png, err := chromedp.Run(p.Tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d images, %d linked plot files, %d inline SVGs with %d texts; screenshot %s (%d bytes)",
		got.Images, got.Linked, got.SVGs, got.Texts, shot, len(png))

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
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.console {
		problems = append(problems, "console: "+c)
	}
	for _, r := range p.requests {
		if r != p.URL && !strings.HasPrefix(r, p.dir) && !strings.HasPrefix(r, "data:") {
			problems = append(problems, "not self-contained: the page requested "+r)
		}
	}
	return problems
}

// CheckFile opens the page at path in a new tab of browser, checks it
// (Check), closes the tab, and returns the problems it saw.
func CheckFile(t testing.TB, browser context.Context, path, shot, wantLang string) []string {
	t.Helper()
	p := Open(t, browser, path)
	defer p.Close()
	return p.Check(t, shot, wantLang)
}
