package units

import (
	"strings"

	"github.com/lblab/lblab/i18n"
)

// lookalike is a non-ASCII character that an editor or an input method
// puts where a configuration file wants an ASCII one.
type lookalike struct {
	what  i18n.Text // how the hint names it
	ascii string    // what to write instead
}

// lookalikeOf returns the ASCII character r stands in for, if any:
// Unicode hyphens, dashes and minus signs, wide and no-break spaces, and
// the full-width forms of ASCII (U+FF01..U+FF5E: digits, '.', letters)
// that Chinese and Japanese input methods type.
func lookalikeOf(r rune) (lookalike, bool) {
	switch {
	case r >= 0x2010 && r <= 0x2015, r == 0x2212, r == 0xFE58, r == 0xFE63:
		return lookalike{i18n.T("a Unicode hyphen"), "-"}, true
	case r == 0xFF0D:
		return lookalike{i18n.T("a full-width hyphen"), "-"}, true
	case r == 0x3000:
		return lookalike{i18n.T("a full-width space"), " "}, true
	case r == 0x00A0, r >= 0x2000 && r <= 0x200B, r == 0x202F, r == 0x205F, r == 0xFEFF:
		return lookalike{i18n.T("a Unicode space"), " "}, true
	case r == 0x3002:
		return lookalike{i18n.T("an ideographic full stop"), "."}, true
	case r >= 0xFF10 && r <= 0xFF19:
		return lookalike{i18n.T("a full-width digit"), string(rune(r - 0xFF10 + '0'))}, true
	case r >= 0xFF01 && r <= 0xFF5E:
		return lookalike{i18n.T("a full-width character"), string(rune(r - 0xFF01 + '!'))}, true
	}
	return lookalike{}, false
}

// LookalikeHint names the first character of s that looks like an ASCII
// character but is not (a Unicode hyphen, a full-width space or digit),
// and what to write instead, e.g. `"‐60": looks like a Unicode hyphen
// (U+2010); use '-'`. It returns "" when s has none. Parsers append it to
// the error about a value that did not parse.
func LookalikeHint(s string) string { return Lookalike(s).String() }

// Lookalike is LookalikeHint as a message, to say in other languages; the
// zero Text when s has no such character.
func Lookalike(s string) i18n.Text {
	for _, r := range s {
		if l, ok := lookalikeOf(r); ok {
			if l.ascii == " " {
				return i18n.T("%q looks like %s (U+%04X); use an ASCII space", string(r), l.what, r)
			}
			return i18n.T("%q looks like %s (U+%04X); use '%s'", string(r), l.what, r, l.ascii)
		}
	}
	return i18n.Text{}
}

// LineHints returns a function giving LookalikeHint of one line of src
// (1-based; the zero Text for a line out of range), ignoring what follows the first
// of the comment characters on that line ("#" for nginx, "#!" for
// keepalived). A configuration parser appends it to every error and
// warning of that line.
func LineHints(src, comment string) func(line int) i18n.Text {
	lines := strings.Split(src, "\n")
	return func(line int) i18n.Text {
		if line < 1 || line > len(lines) {
			return i18n.Text{}
		}
		text := lines[line-1]
		if i := strings.IndexAny(text, comment); i >= 0 {
			text = text[:i]
		}
		return Lookalike(text)
	}
}
