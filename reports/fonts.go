package reports

import (
	"encoding/binary"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/font/liberation"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// The plots are drawn with the Liberation fonts that gonum/plot ships,
// which have no CJK glyphs: a fault named 主服务器宕机 would be an empty
// label in the PNG files. When a CJK font is installed (Debian's
// fonts-wqy-microhei or fonts-noto-cjk), a text that Liberation cannot
// draw is drawn with it instead. The SVG files (and the report, which
// embeds them inline) keep text as text, so a browser draws it with its
// own fonts either way.

// cjkFontEnv names an environment variable that, when set, is the path of
// the font file (TTF, OTF, TTC or OTC) to draw CJK text with; an empty
// value disables the search of the system's font folders.
const cjkFontEnv = "LBLAB_CJK_FONT"

// cjkTypeface is the typeface name the CJK font is registered under in
// the plots' font cache.
const cjkTypeface font.Typeface = "lblab-cjk"

// fontDirs are searched for a CJK font, in order.
var fontDirs = []string{"/usr/share/fonts", "/usr/local/share/fonts"}

// cjkFontFiles are the font files looked for under fontDirs, most
// preferred first: WenQuanYi Micro Hei (small, TrueType), then Noto Sans
// CJK and the other Debian CJK fonts.
var cjkFontFiles = []string{
	"wqy-microhei.ttc",
	"NotoSansCJK-Regular.ttc",
	"NotoSansCJKsc-Regular.otf",
	"NotoSansSC-Regular.otf",
	"NotoSansSC-Regular.ttf",
	"wqy-zenhei.ttc",
	"DroidSansFallbackFull.ttf",
	"uming.ttc",
	"ukai.ttc",
}

// findCJKFont returns the path of the most preferred of cjkFontFiles under
// dirs, or "" when there is none.
func findCJKFont(dirs []string) string {
	best, rank := "", len(cjkFontFiles)
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil // an unreadable folder is skipped
			}
			if i := slices.Index(cjkFontFiles, e.Name()); i >= 0 && i < rank {
				best, rank = path, i
			}
			return nil
		})
	}
	return best
}

// loadFontFile parses the first font of a font file or collection. A
// font whose tables do not start on 4-byte boundaries (Debian's
// wqy-microhei.ttc), which golang.org/x/image/font/sfnt refuses, is copied
// into an aligned one first.
func loadFontFile(path string) (*opentype.Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := firstFont(data)
	if err == nil {
		return f, nil
	}
	aligned, aerr := alignedFirstFont(data)
	if aerr != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f, err = opentype.Parse(aligned); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// firstFont parses the first font of a font file or collection.
func firstFont(data []byte) (*opentype.Font, error) {
	coll, err := opentype.ParseCollection(data)
	if err != nil {
		return nil, err
	}
	return coll.Font(0)
}

// alignedFirstFont copies the first font of an SFNT file or collection
// into a font file of its own whose tables start on 4-byte boundaries.
func alignedFirstFont(data []byte) ([]byte, error) {
	u32 := func(o int) uint32 { return binary.BigEndian.Uint32(data[o:]) }
	bad := errors.New("not an SFNT font")
	off := 0
	if len(data) >= 16 && string(data[:4]) == "ttcf" {
		off = int(u32(12)) // the first font's offset table
	}
	if off < 0 || off+12 > len(data) {
		return nil, bad
	}
	n := int(binary.BigEndian.Uint16(data[off+4:]))
	dir := off + 12
	if n == 0 || dir+16*n > len(data) {
		return nil, bad
	}
	out := make([]byte, 12+16*n)
	copy(out, data[off:off+12])
	for i := range n {
		rec := dir + 16*i
		o, l := int(u32(rec+8)), int(u32(rec+12))
		if o < 0 || l < 0 || o+l > len(data) || o+l < o {
			return nil, bad
		}
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		copy(out[12+16*i:], data[rec:rec+8]) // tag and checksum
		binary.BigEndian.PutUint32(out[12+16*i+8:], uint32(len(out)))
		binary.BigEndian.PutUint32(out[12+16*i+12:], uint32(l))
		out = append(out, data[o:o+l]...)
	}
	return out, nil
}

// fallbackText is the plots' text handler: text.Plain, except that a text
// with a character the requested font lacks and the CJK font has is
// measured and drawn with the CJK font.
type fallbackText struct {
	text.Plain
	// cjk is the CJK font, nil when none is installed.
	cjk *opentype.Font
	// cjkPath is the file it was read from.
	cjkPath string
}

// pick returns the font to draw txt with instead of f.
func (h *fallbackText) pick(txt string, f font.Font) font.Font {
	if h.cjk == nil || f.Typeface == cjkTypeface {
		return f
	}
	base := h.Fonts.Lookup(f, f.Size).Face
	var buf sfnt.Buffer
	for _, r := range txt {
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) {
			continue
		}
		if i, err := base.GlyphIndex(&buf, r); err == nil && i != 0 {
			continue
		}
		if i, err := h.cjk.GlyphIndex(&buf, r); err == nil && i != 0 {
			return font.Font{Typeface: cjkTypeface, Size: f.Size}
		}
	}
	return f
}

// Box implements text.Handler.
func (h *fallbackText) Box(txt string, f font.Font) (width, height, depth vg.Length) {
	return h.Plain.Box(txt, h.pick(txt, f))
}

// Draw implements text.Handler.
func (h *fallbackText) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	sty.Font = h.pick(txt, sty.Font)
	h.Plain.Draw(c, txt, sty, pt)
}

// plotText returns the text handler of every plot: it is made once, with
// the CJK font found then (LBLAB_CJK_FONT, or the system's font folders).
var plotText = sync.OnceValue(func() *fallbackText {
	path, set := os.LookupEnv(cjkFontEnv)
	if !set {
		path = findCJKFont(fontDirs)
	}
	return newFallbackText(path)
})

// newFallbackText returns a handler drawing CJK text with the font at
// path; with path "" or a font that cannot be read, with Liberation only.
func newFallbackText(path string) *fallbackText {
	cache := font.NewCache(liberation.Collection())
	h := &fallbackText{Plain: text.Plain{Fonts: cache}}
	if path == "" {
		return h
	}
	f, err := loadFontFile(path)
	if err != nil {
		slog.Warn("the PNG plots cannot use this CJK font", "font", path, "err", err)
		return h
	}
	cache.Add(font.Collection{{Font: font.Font{Typeface: cjkTypeface}, Face: f}})
	h.cjk, h.cjkPath = f, path
	return h
}

// cjkFamily returns the family name of the CJK font, "" when there is
// none.
func (h *fallbackText) cjkFamily() string {
	if h.cjk == nil {
		return ""
	}
	var buf sfnt.Buffer
	name, err := h.cjk.Name(&buf, sfnt.NameIDFamily)
	if err != nil {
		return ""
	}
	return name
}

// missingGlyphs returns the characters of texts that the PNG plots cannot
// draw (no font has them), each once, in order of first appearance.
func (h *fallbackText) missingGlyphs(texts []string) []rune {
	base := h.Fonts.Lookup(sansFont, 10).Face
	var buf sfnt.Buffer
	var out []rune
	for _, s := range texts {
		for _, r := range s {
			if unicode.IsSpace(r) || !unicode.IsGraphic(r) || slices.Contains(out, r) {
				continue
			}
			if i, err := base.GlyphIndex(&buf, r); err == nil && i != 0 {
				continue
			}
			if h.cjk != nil {
				if i, err := h.cjk.GlyphIndex(&buf, r); err == nil && i != 0 {
					continue
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// svgTextContents returns the contents of the <text> elements of an SVG file
// written by gonum/plot (one element a line, its text escaped).
func svgTextContents(svg []byte) []string {
	var out []string
	s := string(svg)
	for {
		i := strings.Index(s, "<text ")
		if i < 0 {
			return out
		}
		s = s[i:]
		j := strings.IndexByte(s, '>')
		k := strings.Index(s, "</text>")
		if j < 0 || k < j {
			return out
		}
		out = append(out, html.UnescapeString(s[j+1:k]))
		s = s[k:]
	}
}

// cjkFontFamilies are the names given to browsers after the CJK font's own
// in the SVG files, for viewers that do not have it.
const cjkFontFamilies = "'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif"

// maxNoteTexts bounds the texts a font note names.
const maxNoteTexts = 8

// fontNote returns what the report and the terminal say when the PNG
// plots cannot draw some of texts (the plots' texts; none when they can
// draw them all): the user's texts among own (names of faults, groups,
// servers, the title) that the plots show and lack glyphs, each whole
// and quoted, and, when other characters lack glyphs too, the plots' own
// words (in a Chinese report).
func (h *fallbackText) fontNote(texts, own []string, l lang) string {
	if len(h.missingGlyphs(texts)) == 0 {
		return ""
	}
	var names []string
	rest := slices.Clone(texts)
	for _, u := range own {
		if u == "" || len(h.missingGlyphs([]string{u})) == 0 || !slices.ContainsFunc(texts, func(t string) bool { return strings.Contains(t, u) }) {
			continue
		}
		for i := range rest {
			rest[i] = strings.ReplaceAll(rest[i], u, " ")
		}
		if !slices.Contains(names, strconv.Quote(u)) {
			names = append(names, strconv.Quote(u))
		}
	}
	if len(names) > maxNoteTexts {
		names = append(names[:maxNoteTexts], l.f("andMore", len(names)-maxNoteTexts))
	}
	if len(h.missingGlyphs(rest)) > 0 {
		names = append([]string{l.s("plotWords")}, names...)
	}
	return l.f("fontNote", strings.Join(names, l.s("listSep")))
}

// plotNames returns the texts of r that the plots may draw and the user
// wrote: the title, the lab's name, and the names in its history (faults,
// their targets, routers, groups, servers, listeners, clients), each
// once.
func plotNames(r Report) []string {
	out := []string{r.Title, r.Lab}
	for _, e := range r.History {
		out = append(out, e.Name, e.Target, e.Router, e.Group, e.Server, e.Listener, e.Client, e.Backend, e.Src, e.Answer)
	}
	for _, s := range r.Shares {
		out = append(out, s.Group, s.Server)
	}
	for _, m := range r.SweepMetrics {
		out = append(out, m.Name)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	// The longest first: a name inside another (r1 in "r1 dies") is
	// named only where it stands alone.
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}
