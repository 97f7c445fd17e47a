package reports

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"

	"github.com/lblab/lblab/history"
)

// needCJKFont returns the CJK font the PNG plots draw with; without one
// it skips (outside CI) or fails (CI=true: the test task installs
// fonts-wqy-microhei when root).
func needCJKFont(t *testing.T) string {
	t.Helper()
	if p := plotText().cjkPath; p != "" {
		return p
	}
	if p, set := os.LookupEnv(cjkFontEnv); set && os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s=%q is not a CJK font this package can read", cjkFontEnv, p)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but no CJK font was found under %v (apt-get install fonts-wqy-microhei)", fontDirs)
	}
	t.Skipf("no CJK font under %v (apt-get install fonts-wqy-microhei): skipping", fontDirs)
	return ""
}

// cjkFigure is a plot titled title (in colour c) with one legend entry
// named label.
func cjkFigure(title string, c color.Color, label string) figure {
	p := newPlot(title)
	p.Title.TextStyle.Color = c
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 10, 0, 1
	return figure{name: "cjk", draw: withLegend(p, []legendEntry{
		{label: label, thumb: swatch(colFaultRed)},
	})}
}

// inkDiff counts the pixels that differ between two PNGs of one size.
func inkDiff(t *testing.T, a, b []byte) int {
	t.Helper()
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("sizes differ: %v and %v", ia.Bounds(), ib.Bounds())
	}
	n := 0
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if !sameColor(ia, ib, x, y) {
				n++
			}
		}
	}
	return n
}

func sameColor(a, b image.Image, x, y int) bool {
	r1, g1, b1, a1 := a.At(x, y).RGBA()
	r2, g2, b2, a2 := b.At(x, y).RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

// TestPNGDrawsChinese renders plots whose title or legend label is
// Chinese (a fault named 主服务器宕机) and checks the glyphs put ink on the
// PNG. The title is compared with the same title drawn in white (the same
// layout, no ink): Chinese must change about as many pixels as six Latin
// letters do. The legend label is compared with six other Chinese
// characters: drawn, they differ; with gonum/plot's Liberation fonts alone
// both are six empty advances and the PNGs are the same.
func TestPNGDrawsChinese(t *testing.T) {
	needCJKFont(t)
	const zh, other = "主服务器宕机", "健康检查权重"
	render := func(f figure) []byte {
		t.Helper()
		b, _, err := f.render()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	white := color.White
	t.Run("title", func(t *testing.T) {
		ink := inkDiff(t, render(cjkFigure(zh, colText, "x")), render(cjkFigure(zh, white, "x")))
		latin := inkDiff(t, render(cjkFigure("ABCDEF", colText, "x")), render(cjkFigure("ABCDEF", white, "x")))
		t.Logf("pixels inked by %q: %d; by \"ABCDEF\": %d", zh, ink, latin)
		if ink < latin/2 {
			t.Errorf("%q inks %d pixels of the PNG, \"ABCDEF\" %d: the Chinese glyphs are not drawn", zh, ink, latin)
		}
	})
	t.Run("legend", func(t *testing.T) {
		a, b := cjkFigure("t", colText, zh), cjkFigure("t", colText, other)
		d := inkDiff(t, render(a), render(b))
		t.Logf("pixels that differ between legends %q and %q: %d", zh, other, d)
		if d < 200 {
			t.Errorf("legends %q and %q differ in %d pixels: the Chinese glyphs are not drawn", zh, other, d)
		}
		_, svg, err := a.render()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(svg), ">"+zh+"</text>") {
			t.Errorf("the SVG does not keep %q as text", zh)
		}
	})
}

// TestFontNoteWhenNoCJKFont: without a CJK font the PNG plots cannot draw
// Chinese, and the note that says so names the user's texts that lack
// glyphs, whole: a fault's name and a group's, not the characters of the
// plots' fixed words (a Chinese report's legends lack them too, and are
// named as such, once).
func TestFontNoteWhenNoCJKFont(t *testing.T) {
	h := newFallbackText("")
	miss := h.missingGlyphs([]string{"a3 crashes", "主服务器宕机 (r1)"})
	if string(miss) != "主服务器宕机" {
		t.Fatalf("missing glyphs %q, want 主服务器宕机", string(miss))
	}
	en := []string{"主服务器宕机 (crash r1)", "权重/a:80", "权重/b:80", "group 权重", "successful (3564 of 17817 shown)"}
	zh := []string{"主服务器宕机 (crash r1)", "权重/a:80", "权重/b:80", "组 权重", "成功（显示 3564 / 17817 个）", "失败：5xx 或无应答（共 0 个）"}
	own := plotNames(Report{Title: "t", Lab: "zh-group", History: []history.Event{
		{Kind: history.KindFault, Name: "主服务器宕机", Fault: "crash", Target: "r1"},
		{Kind: history.KindRequest, Group: "权重", Backend: "a:80"}}})
	for _, tt := range []struct {
		lang  string
		texts []string
		want  string
	}{
		{LangEnglish, en, `The PNG files lack glyphs for "主服务器宕机", "权重": no font`},
		{LangChinese, zh, `PNG 文件缺少图中的固定文字、"主服务器宕机"、"权重"的字形（`},
	} {
		n := h.fontNote(tt.texts, own, langOf(tt.lang))
		if !strings.HasPrefix(n, tt.want) || !strings.Contains(n, "fonts-wqy-microhei") {
			t.Errorf("%s note %q, want it to start %q", tt.lang, n, tt.want)
		}
		if strings.Contains(n, "成功") || strings.Contains(n, "应答") {
			t.Errorf("%s note names characters of the fixed words: %q", tt.lang, n)
		}
	}
	if n := h.fontNote([]string{"a3 crashes"}, own, langOf(LangEnglish)); n != "" {
		t.Errorf("note without missing glyphs: %q", n)
	}
	if p := findCJKFont([]string{t.TempDir()}); p != "" {
		t.Errorf("found %s in an empty folder", p)
	}
}

// TestCJKFontFound: with a CJK font installed, nothing is missing.
func TestCJKFontFound(t *testing.T) {
	path := needCJKFont(t)
	h := newFallbackText(path)
	if miss := h.missingGlyphs([]string{"主服务器宕机", "健康检查 权重 后端服务器 主备切换 虚拟IP"}); len(miss) != 0 {
		t.Errorf("%s lacks %q", path, string(miss))
	}
}
