package keepalived

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
)

// Options says how ParseWith reads include lines.
type Options struct {
	// Dir is the folder of the file being read: keepalived reads a
	// relative include from the folder of the file that holds it. Empty:
	// the text has no folder (a lab's embedded text), and an include is
	// an error.
	Dir string
}

// The messages of include lines, each with the pattern (or file) first.
const (
	msgIncludeNoDir    = "include %s: this text has no folder to read included files from (a lab's keepalived text): paste the included text in place (lblab validate and lblab vrrp --config read the includes of a keepalived.conf)"
	msgIncludeMissing  = "Config files missing '%s' (keepalived goes on without them; lblab too)"
	msgIncludeMustRead = "%s: %v (keepalived -t fails: this include%s wants every file)"
	msgIncludeSkipped  = "Configuration file '%s' is %s - skipping (as keepalived does)"
	msgIncludeBrace    = "include %s: brace patterns ({a,b}) are not supported by lblab"
	msgIncludeLoop     = "include %s: include loop (%s)"
	msgIncludeTooDeep  = "include %s: includes are nested more than %d deep"
	msgIncludeTooMany  = "include %s: more than %d files are included"
	msgIncludeTooLarge = "include %s: the included files are larger than %d bytes together"
)

// srcLine is one line of text and its place.
type srcLine struct {
	line int
	text string
}

// source is one file read.
type source struct {
	name, text string
}

// includer splices the files of include lines into the lines of the main
// text, as keepalived's read_line does: an include line may stand
// anywhere, in any block; its path is a glob pattern (matches in sorted
// order), relative to the folder of the file that holds it. A plain
// include that matches nothing, or names a missing file, is reported and
// skipped (keepalived -t passes); includer, includem, includew, includeb
// and includea make that an error, as in keepalived.
type includer struct {
	name  string
	dir   string
	files []source
	bytes int
	errs  Errors
	warns []Warning
}

// lines returns the lines of file idx (text, in folder dir), with the
// lines of the files it includes in place of its include lines. chain is
// the files being read, outermost first.
func (in *includer) lines(idx int, text, dir string, chain []string) []srcLine {
	var out []srcLine
	for i, raw := range strings.Split(text, "\n") {
		line := units.Place(idx, i+1)
		kind, pattern, ok := includeLine(raw)
		if !ok {
			out = append(out, srcLine{line, raw})
			continue
		}
		out = append(out, in.include(line, kind, pattern, dir, chain)...)
	}
	return out
}

// includeLine reports whether raw is an include line (is_include): the
// word include, or includer/m/w/b/a, then a path.
func includeLine(raw string) (kind byte, pattern string, ok bool) {
	words, err := splitWords(raw)
	if err != nil || len(words) < 2 {
		return 0, "", false
	}
	switch words[0] {
	case "include":
		return ' ', strings.Join(words[1:], " "), true
	case "includer", "includem", "includew", "includeb", "includea":
		return words[0][7], strings.Join(words[1:], " "), true
	}
	return 0, "", false
}

// include reads the files of one include line.
func (in *includer) include(line int, kind byte, pattern, dir string, chain []string) []srcLine {
	bad := func(at int, format string, args ...any) {
		in.errs = append(in.errs, newError(in.name, at, i18n.T(format, args...)))
	}
	if dir == "" && len(chain) == 1 && in.dir == "" {
		bad(line, msgIncludeNoDir, pattern)
		return nil
	}
	if strings.Contains(pattern, "{") {
		bad(line, msgIncludeBrace, pattern)
		return nil
	}
	full := pattern
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, full)
	}
	matches, err := filepath.Glob(full)
	if err != nil {
		bad(line, msgIncludeMustRead, pattern, err, "")
		return nil
	}
	sort.Strings(matches)
	wild := strings.ContainsAny(pattern, "*?[")
	if len(matches) == 0 {
		// open_and_check_glob: a missing file or folder is an error for
		// includem, includew and includea (INCLUDE_M); a wildcard that
		// matches nothing in a folder that exists, for includew and
		// includea (INCLUDE_W); otherwise keepalived goes on.
		_, dirErr := os.Stat(filepath.Dir(full))
		mustMatch := kind == 'w' || kind == 'a' || kind == 'm' && (!wild || dirErr != nil)
		if mustMatch {
			bad(line, msgIncludeMustRead, pattern, i18n.T("no such file"), string(kind))
			return nil
		}
		in.warns = append(in.warns, newWarning(in.name, line, i18n.T(msgIncludeMissing, pattern)))
		return nil
	}
	var out []srcLine
	for _, m := range matches {
		st, err := os.Stat(m)
		switch {
		case err != nil:
			in.warns = append(in.warns, newWarning(in.name, line, i18n.T(msgIncludeSkipped, m, i18n.T("not readable"))))
			continue
		case !st.Mode().IsRegular() || st.Mode()&0o111 != 0:
			// check_glob_file: a directory or an executable is skipped;
			// an error with includer and the others.
			what := i18n.T("not a regular non-executable file")
			if kind != ' ' {
				bad(line, msgIncludeMustRead, m, what, string(kind))
				continue
			}
			in.warns = append(in.warns, newWarning(in.name, line, i18n.T(msgIncludeSkipped, m, what)))
			continue
		}
		if len(chain) >= units.MaxIncludeDepth {
			bad(line, msgIncludeTooDeep, m, units.MaxIncludeDepth)
			return out
		}
		for _, c := range chain {
			if c == m {
				bad(line, msgIncludeLoop, m, strings.Join(append(append([]string{}, chain...), m), " → "))
				return out
			}
		}
		if len(in.files) >= units.MaxIncludeFiles {
			bad(line, msgIncludeTooMany, m, units.MaxIncludeFiles)
			return out
		}
		if in.bytes+int(st.Size()) > units.MaxIncludeBytes {
			bad(line, msgIncludeTooLarge, m, units.MaxIncludeBytes)
			return out
		}
		b, err := os.ReadFile(m)
		if err != nil {
			bad(line, msgIncludeMustRead, m, err, "")
			continue
		}
		in.bytes += len(b)
		idx := len(in.files)
		in.files = append(in.files, source{m, string(b)})
		out = append(out, in.lines(idx, string(b), filepath.Dir(m), append(chain, m))...)
	}
	return out
}

// place gives each error and warning its file and line, and the hint of
// a lookalike character on that line.
func (in *includer) place(errs Errors, warns []Warning) {
	hints := make([]func(int) i18n.Text, len(in.files))
	at := func(line int) (string, int, i18n.Text) {
		idx, l := units.Unplace(line)
		if idx < 0 || idx >= len(in.files) {
			idx = 0
		}
		if hints[idx] == nil {
			hints[idx] = units.LineHints(in.files[idx].text, "#!")
		}
		return in.files[idx].name, l, hints[idx](l)
	}
	for _, e := range errs {
		var h i18n.Text
		e.File, e.Line, h = at(e.Line)
		if !h.IsZero() {
			e.Text = i18n.T("%s (%s)", e.Message(), h)
			e.Msg = e.Text.String()
		}
	}
	for i := range warns {
		w := &warns[i]
		var h i18n.Text
		w.File, w.Line, h = at(w.Line)
		if !h.IsZero() {
			w.Text = i18n.T("%s (%s)", w.Message(), h)
			w.Msg = w.Text.String()
		}
	}
}
