package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckSeesFaults: the browser check finds a broken image, a linked
// plot file that is missing, an empty SVG, a plot text outside its plot,
// a word too wide for its cell, a word broken across two lines, a box wider than the page, a console
// error, an exception, and a request that leaves the page's folder (to
// a loopback port where nothing listens).
func TestCheckSeesFaults(t *testing.T) {
	chromium := NeedChromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "bad.html")
	if err := os.WriteFile(page, []byte(`<!DOCTYPE html><html lang="en"><body style="margin:0;width:800px">
<img src="missing.png" alt="gone">
<a href="nothing.svg">nothing.svg</a>
<svg width="0" height="0"></svg>
<svg width="100" height="50" aria-label="p"><text x="60" y="20">far too long a label</text></svg>
<div style="width:100px;overflow-wrap:normal">Supercalifragilisticexpialidocious_is_one_word</div>
<div style="width:3000px">wide</div>
<div style="width:2em;overflow-wrap:anywhere">verdict</div>
<img src="http://127.0.0.1:1/far.png" alt="far">
<script>console.error("boom"); null.x;</script>
</body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	browser, stop := Start(t, chromium)
	defer stop()
	problems := strings.Join(CheckFile(t, browser, page, filepath.Join(dir, "bad.png"), "en"), "\n")
	for _, want := range []string{"not drawn: img gone", "not drawn: linked image nothing.svg does not load", "has an empty box",
		`text "far too long a label" leaves the plot`, "px wide in 100 px", "beyond the page's", `breaks the word "verdict" across lines`, "console: console.error",
		"console: exception", "not self-contained: the page requested http://127.0.0.1:1/far.png"} {
		if !strings.Contains(problems, want) {
			t.Errorf("the check missed %q; it saw:\n%s", want, problems)
		}
	}
}
