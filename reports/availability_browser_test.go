package reports

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lblab/lblab/internal/browsertest"
)

// availSeen is what availSeenJS reads of the availability section.
type availSeen struct {
	Heading string   `json:"heading"`
	Figure  bool     `json:"figure"` // the figure is an inline SVG of the section
	Width   float64  `json:"width"`  // its drawn width, px
	Rows    []string `json:"rows"`   // the outage table's rows, cells joined by " | "
	Texts   []string `json:"texts"`  // the figure's texts
	Order   bool     `json:"order"`  // the section comes before the other plots
}

// availSeenJS reads the availability section as drawn: its heading, the
// inline figure and its size, the outage table's rows, and whether the
// section comes before the Plots heading.
const availSeenJS = `(() => {
  const text = (el) => el.textContent.trim().replace(/\s+/g, " ");
  const svg = document.querySelector('svg[aria-label="availability"]');
  const table = document.querySelector("table.outages");
  const h2 = [...document.querySelectorAll("h2")];
  const avail = h2.find((h) => h.nextElementSibling && h.nextElementSibling.classList.contains("avail-intro"));
  const plots = h2.find((h) => h !== avail && h.compareDocumentPosition(svg) & Node.DOCUMENT_POSITION_PRECEDING);
  return {heading: avail ? text(avail) : "", figure: !!svg, width: svg ? svg.getBoundingClientRect().width : 0,
    rows: table ? [...table.querySelectorAll("tr")].slice(1).map((tr) => [...tr.children].map(text).join(" | ")) : [],
    texts: svg ? [...svg.querySelectorAll("text")].map(text) : [],
    order: !!avail && (!plots || !!(avail.compareDocumentPosition(plots) & Node.DOCUMENT_POSITION_FOLLOWING))};
})()`

// TestAvailabilityInBrowser opens the report of a synthetic HA run (a
// crash, a recovery, requests in flight at the end, probes answered by
// two nodes in turn) in headless Chromium, in English and in Chinese:
// every image and plot loads, nothing overflows, no console error, the
// page asks for nothing outside its folder (browsertest), and the
// availability section shows its heading, the outage of each client
// and the figure, in the page's language, before the other plots.
// Screenshots are kept in $LBLAB_SCREENSHOTS when set. Without Chromium
// it skips (CI=true fails).
func TestAvailabilityInBrowser(t *testing.T) {
	chromium := browsertest.NeedChromium(t)
	shots := browsertest.Screenshots(t)
	browser, stop := browsertest.Start(t, chromium)
	defer stop()
	for _, tt := range []struct {
		lang, htmlLang, heading string
		rows                    []string
		texts                   []string
	}{
		{LangEnglish, "en", "Availability as the clients saw it",
			[]string{"c1 | requests | 3.5 | 9.955 | 13.455 | timeout × 66, reset × 3, probe icmp timeout × 33, probe tcp timeout × 33 | 3 | tcp probes: 3.4, icmp probes: 3.4",
				"c2 | tcp probes | 3.4 | 9.9074 | 13.3074 | timeout × 33 | 0 | icmp probes: 3.4"},
			[]string{"c1 requests", "c2 tcp probes", "answered by lb2", "lb1", "MASTER"}},
		{LangChinese, "zh-CN", "客户端看到的可用性",
			[]string{"c1 | 请求 | 3.5 | 9.955 | 13.455 | timeout × 66、reset × 3、探测 icmp timeout × 33、探测 tcp timeout × 33 | 3 | tcp 探测：3.4、icmp 探测：3.4",
				"c2 | tcp 探测 | 3.4 | 9.9074 | 13.3074 | timeout × 33 | 0 | icmp 探测：3.4"},
			[]string{"c1 的请求", "c2 的 tcp 探测", "由 lb2 应答", "lb1", "MASTER"}},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			path, err := Write(t.TempDir(), haReport(true, tt.lang))
			if err != nil {
				t.Fatal(err)
			}
			p := browsertest.Open(t, browser, path)
			defer p.Close()
			for _, problem := range p.Check(t, filepath.Join(shots, "availability-"+tt.lang+".png"), tt.htmlLang) {
				t.Error(problem)
			}
			got := browsertest.Eval[availSeen](t, p, availSeenJS)
			if got.Heading != tt.heading || !got.Figure || got.Width < 600 || !got.Order {
				t.Errorf("section %q, figure %v (%.0f px wide), before the plots %v; want %q, an inline figure, first",
					got.Heading, got.Figure, got.Width, got.Order, tt.heading)
			}
			if strings.Join(got.Rows, "\n") != strings.Join(tt.rows, "\n") {
				t.Errorf("outage rows:\n%s\nwant:\n%s", strings.Join(got.Rows, "\n"), strings.Join(tt.rows, "\n"))
			}
			for _, w := range tt.texts {
				if !hasText(got.Texts, w) {
					t.Errorf("the figure has no text %q: %q", w, got.Texts)
				}
			}
		})
	}
}
