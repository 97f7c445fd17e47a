package i18n

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// checked are the packages whose messages reach the user through the
// builders below; in them every message is built with one (fmt.Errorf and
// a Msg written out are refused), so that every message can be said in
// Chinese.
var checked = []string{"scenarios", "scenarios/labfile", "proxy", "proxy/nginxconf", "vrrpsim/keepalived", "units", "sim/cloud"}

// builders are the message builders of the checked packages, by name, with
// the index of their format argument.
var builders = map[string]int{"bad": 1, "errorf": 1, "warnf": 1, "warn": 1}

// formatUse is one format given to a builder, and where.
type formatUse struct {
	format string
	at     string
}

// sourceFormats walks the module's non-test Go files and returns every
// format given to i18n.T and i18n.Errorf, and, in the checked packages, to
// the builders; and the places where a checked package makes a message
// another way, or gives a builder a format that is not a constant.
func sourceFormats(t *testing.T) (uses []formatUse, bad []string) {
	t.Helper()
	root := ".."
	fset := token.NewFileSet()
	// Files are parsed first, so that a format given by the name of a
	// string constant of its package (msgIncludeMissing) is resolved.
	type parsed struct {
		f         *ast.File
		dir       string
		inChecked bool
	}
	var files []parsed
	consts := map[string]map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if filepath.Dir(rel) == "i18n" {
			return nil
		}
		inChecked := slices.Contains(checked, filepath.ToSlash(filepath.Dir(rel)))
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir := filepath.Dir(rel)
		if consts[dir] == nil {
			consts[dir] = map[string]string{}
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, sp := range g.Specs {
					vs := sp.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i < len(vs.Values) {
							if v, ok := constString(vs.Values[i], nil); ok {
								consts[dir][name.Name] = v
							}
						}
					}
				}
			}
		}
		files = append(files, parsed{f, dir, inChecked})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, pf := range files {
		f, inChecked, named := pf.f, pf.inChecked, consts[pf.dir]
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				idx, ok := formatArg(n, inChecked)
				if ok == "fmt.Errorf" {
					bad = append(bad, fset.Position(n.Pos()).String()+": fmt.Errorf: use i18n.Errorf")
				}
				if ok == "" || idx >= len(n.Args) {
					return true
				}
				if id, isID := n.Args[idx].(*ast.Ident); isID && id.Name == "format" {
					return true // a builder handing its own format on
				}
				s, isConst := constString(n.Args[idx], named)
				if !isConst {
					bad = append(bad, fset.Position(n.Pos()).String()+": "+ok+" with a format that is not a constant string")
					return true
				}
				uses = append(uses, formatUse{s, fset.Position(n.Pos()).String()})
			case *ast.KeyValueExpr:
				if k, isID := n.Key.(*ast.Ident); inChecked && isID && k.Name == "Msg" && madeHere(n.Value) {
					bad = append(bad, fset.Position(n.Pos()).String()+": a Msg written out: build it with i18n.T")
				}
			}
			return true
		})
	}
	return uses, bad
}

// formatArg returns the index of the call's format argument and the
// builder's name, or "" when the call is no builder.
func formatArg(c *ast.CallExpr, inChecked bool) (int, string) {
	switch fn := c.Fun.(type) {
	case *ast.SelectorExpr:
		if x, ok := fn.X.(*ast.Ident); ok {
			switch name := x.Name + "." + fn.Sel.Name; name {
			case "i18n.T", "i18n.Errorf":
				return 0, name
			case "fmt.Errorf":
				if inChecked {
					return 0, name
				}
				return 0, ""
			}
		}
		if i, ok := builders[fn.Sel.Name]; ok && inChecked {
			return i, fn.Sel.Name
		}
	case *ast.Ident:
		if i, ok := builders[fn.Name]; ok && inChecked {
			return i, fn.Name
		}
	}
	return 0, ""
}

// madeHere reports whether e is a message text made on the spot: a string
// literal or a fmt.Sprintf.
func madeHere(e ast.Expr) bool {
	if _, ok := constString(e, nil); ok {
		return true
	}
	if c, ok := e.(*ast.CallExpr); ok {
		if s, ok := c.Fun.(*ast.SelectorExpr); ok {
			if x, ok := s.X.(*ast.Ident); ok && x.Name == "fmt" && s.Sel.Name == "Sprintf" {
				return true
			}
		}
	}
	return false
}

// constString returns the value of a string literal, a string constant
// named in named (its package's), or a sum of them.
func constString(e ast.Expr, named map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.Ident:
		s, ok := named[e.Name]
		return s, ok
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, ok1 := constString(e.X, named)
		b, ok2 := constString(e.Y, named)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return constString(e.X, named)
	}
	return "", false
}

// TestEveryFormatHasChinese fails when a message format given to a
// builder has no Chinese entry, or its Chinese has other verbs: a new
// message needs its translation in zh_*.go.
func TestEveryFormatHasChinese(t *testing.T) {
	uses, bad := sourceFormats(t)
	for _, b := range bad {
		t.Error(b)
	}
	if len(uses) < 300 {
		t.Errorf("found %d formats; the walk misses the builders", len(uses))
	}
	missing := map[string]bool{}
	for _, u := range uses {
		zh, ok := chinese[u.format]
		if !ok {
			if !missing[u.format] {
				t.Errorf("%s: no Chinese for %q", u.at, u.format)
			}
			missing[u.format] = true
			continue
		}
		if !slices.Equal(Verbs(zh), Verbs(u.format)) {
			t.Errorf("%s: Chinese %q has verbs %v, English %q has %v", u.at, zh, Verbs(zh), u.format, Verbs(u.format))
		}
	}
	if len(missing) > 0 && os.Getenv("I18N_MISSING") != "" {
		var keys []string
		for k := range missing {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString("\t" + strconv.Quote(k) + ": " + strconv.Quote(k) + ",\n")
		}
		os.WriteFile(os.Getenv("I18N_MISSING"), []byte(b.String()), 0o644)
	}
}

// TestTableVerbs checks every entry of the table, used or not.
func TestTableVerbs(t *testing.T) {
	for en, zh := range chinese {
		if !slices.Equal(Verbs(zh), Verbs(en)) {
			t.Errorf("Chinese %q has verbs %v, English %q has %v", zh, Verbs(zh), en, Verbs(en))
		}
	}
}

func TestVerbs(t *testing.T) {
	for _, tt := range []struct {
		format string
		want   []string
	}{
		{"%s (line %d of %s)", []string{"%s", "%d", "%s"}},
		{"%s（%[3]s 第 %[2]d 行）", []string{"%s", "%d", "%s"}},
		{"100%% of %.3g", []string{"%.3g"}},
		{"U+%04X %q", []string{"%04X", "%q"}},
	} {
		if got := Verbs(tt.format); !slices.Equal(got, tt.want) {
			t.Errorf("Verbs(%q) = %q, want %q", tt.format, got, tt.want)
		}
	}
}

// TestChineseKeepsValues says an error in Chinese: the fixed words change,
// the field names, numbers and quoted values do not, and a message inside
// a message is said in Chinese too.
func TestChineseKeepsValues(t *testing.T) {
	inner := T("%s is not a whole number", "2.9")
	msg := T("%s (line %d of %s)", inner, 7, T("the nginx text"))
	if got, want := msg.String(), "2.9 is not a whole number (line 7 of the nginx text)"; got != want {
		t.Errorf("English: %q, want %q", got, want)
	}
	if got, want := msg.In(Chinese), "2.9 不是整数（nginx 文本 第 7 行）"; got != want {
		t.Errorf("Chinese: %q, want %q", got, want)
	}
	err := Errorf("lab %s: %w", "x", Errorf("no VRRP router on %s", "r1"))
	if got, want := Say(err, Chinese), "实验 x：r1 上没有 VRRP 路由器"; got != want {
		t.Errorf("Say(Errorf) = %q, want %q", got, want)
	}
	if got, want := err.Error(), "lab x: no VRRP router on r1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestTextJSON: a Text read back from JSON says the same, in English and
// in Chinese, numbers and nested messages included.
func TestTextJSON(t *testing.T) {
	in := T("%s (%s)", T("%d requests with %s %s", 3, "status 5xx", T("sent in [%s, %s)", "19 s", "40 s")),
		T("%.4f ± %g (%s)", 0.5, 0.05, T("set in the lab")))
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Text
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{English, Chinese} {
		if got, want := out.In(lang), in.In(lang); got != want {
			t.Errorf("%s after JSON: %q, want %q (%s)", lang, got, want, b)
		}
	}
}

// TestChineseSpacing: where the fixed words meet an argument between a
// Han character and a Latin letter or digit, the Chinese has a space
// ("看起来像 Unicode 连字符", not "看起来像Unicode"); inside an argument, and
// between Han words, nothing changes; every format says the same as
// fmt.Sprintf but for those spaces.
func TestChineseSpacing(t *testing.T) {
	for _, tt := range []struct {
		msg  Text
		want string
	}{
		{T("%q looks like %s (U+%04X); use '%s'", "‐3", T("a Unicode hyphen"), 0x2010, "-"),
			`"‐3" 看起来像 Unicode 连字符（U+2010）；请用 '-'`},
		{T("%q looks like %s (U+%04X); use an ASCII space", "5\u30001", T("a full-width space"), 0x3000),
			`"5\u30001" 看起来像全角空格（U+3000）；请用 ASCII 空格`},
		{T("%s is not %s", "主A", T("a whole number")), "主A 不是整数"},
		{T("%s (line %d of %s's keepalived.conf)", T("%s is not %s", "x", T("a whole number")), 7, "r1"),
			"x 不是整数（r1 的 keepalived.conf 第 7 行）"},
		{T("100%% of %d", 3), "100% of 3"},
	} {
		if got := tt.msg.In(Chinese); got != tt.want {
			t.Errorf("%q in Chinese: %q, want %q", tt.msg.Format, got, tt.want)
		}
	}
	// Every entry of the table, with each argument a Latin word, says what
	// fmt.Sprintf says once the added spaces are taken out.
	for en, zh := range chinese {
		args := make([]any, len(Verbs(en)))
		for i, v := range Verbs(en) {
			switch v[len(v)-1] {
			case 's', 'q', 'v':
				args[i] = "w"
			case 'g', 'f', 'e':
				args[i] = 1.5
			default:
				args[i] = 7
			}
		}
		got := T(en, args...).In(Chinese)
		want := fmt.Sprintf(wrapVerb.ReplaceAllString(zh, "%${1}v"), args...)
		if strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(want, " ", "") {
			t.Errorf("%q: %q, fmt.Sprintf says %q", zh, got, want)
		}
	}
}
