package scenarios

import (
	"html"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
)

// hasHan says whether s has a Chinese character.
func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

// pageWords returns the texts of a report's headings, table heads,
// definition terms, badges and verdict cells: the template's fixed words
// (protocol field names such as Skew_Time left out: they stay in every
// language).
func pageWords(page string) []string {
	re := regexp.MustCompile(`<(?:h2|th|dt|span class="badge [a-z]+"|td class="(?:pass|fail)-cell"|p class="empty")>([^<]+)<`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		if w := strings.TrimSpace(m[1]); !strings.Contains(w, "_") {
			out = append(out, w)
		}
	}
	return out
}

// TestCatalogInChinese: every catalog lab has its title, teaching text,
// expectation and fault names in Chinese, and its report in Chinese shows them and
// none of the English fixed words the English report of the same run has.
func TestCatalogInChinese(t *testing.T) {
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 13 {
		t.Fatalf("%d catalog labs, want at least 13", len(entries))
	}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			lab, err := Load(e.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !hasHan(lab.TitleZh) || !hasHan(lab.TeachingZh) {
				t.Fatalf("title_zh %q or teaching_zh is missing or not Chinese", lab.TitleZh)
			}
			for i, x := range lab.Expect {
				if !hasHan(x.NameZh) {
					t.Errorf("expect[%d] %q: name_zh %q is missing or not Chinese", i, x.Name, x.NameZh)
				}
			}
			for i, f := range lab.Faults {
				if !hasHan(f.NameZh) {
					t.Errorf("faults[%d] %q: name_zh %q is missing or not Chinese", i, f.Name, f.NameZh)
				}
			}
			zh := lab.Localized(reports.LangChinese)
			if lab.Title == zh.Title {
				t.Fatal("Localized changed the lab it was given, or did not translate")
			}
			o, err := RunSim(zh, 1)
			if err != nil {
				t.Fatal(err)
			}
			// results.json keeps each name as written, its name_zh beside it.
			for i, x := range o.Results.Expectations[:len(lab.Expect)] {
				if x.Name != lab.Expect[i].Name || x.NameZh != lab.Expect[i].NameZh {
					t.Errorf("results.json's expectation %d: name %q, name_zh %q; want %q, %q", i, x.Name, x.NameZh, lab.Expect[i].Name, lab.Expect[i].NameZh)
				}
			}
			write := func(l *labfile.Lab) string {
				o.Lab = l
				path, err := o.Write(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			pageZh := write(zh)
			pageEn := write(lab.Localized(reports.LangEnglish))
			want := []string{"<h1>" + lab.TitleZh + "</h1>"}
			for _, x := range lab.Expect {
				want = append(want, "<td>"+x.NameZh+"</td>")
			}
			for _, f := range lab.Faults { // on the fault lines
				want = append(want, ">"+f.NameZh+" (")
				if o.Results.FaultNamesZh[f.Name] != f.NameZh {
					t.Errorf("results.json's fault_names_zh has %q for %q, want %q", o.Results.FaultNamesZh[f.Name], f.Name, f.NameZh)
				}
			}
			// the teaching text's longest run without markup or line break
			runs := strings.FieldsFunc(lab.TeachingZh, func(r rune) bool { return strings.ContainsRune("`<>&\"'\n", r) })
			want = append(want, slices.MaxFunc(runs, func(a, b string) int { return len(a) - len(b) }))
			text := html.UnescapeString(pageZh)
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("the Chinese report lacks %q", w)
				}
			}
			if strings.Contains(pageZh, "every request sent is accounted for") {
				t.Error("the Chinese report names the runner's own check in English")
			}
			words := pageWords(pageEn)
			if len(words) < 8 {
				t.Fatalf("only %d fixed words in the English report: %q", len(words), words)
			}
			for _, w := range words {
				if strings.Contains(pageZh, ">"+w+"<") {
					t.Errorf("the Chinese report has the English fixed word %q", w)
				}
			}
		})
	}
}
