// Package keepalived reads keepalived.conf: global_defs, vrrp_script and
// vrrp_instance blocks, into the VRRP state machine's configuration. An
// unknown keyword is a warning with its line; a bad value is an error with
// its line.
package keepalived

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lblab/lblab/i18n"
)

// Error is a problem in a keepalived.conf, with its line.
type Error struct {
	File string
	Line int
	Msg  string
	// Text is Msg as a message to say in other languages; zero when Msg
	// has no translation (an operating system's error).
	Text i18n.Text
}

// newError returns the problem t at file:line.
func newError(file string, line int, t i18n.Text) *Error {
	return &Error{File: file, Line: line, Msg: t.String(), Text: t}
}

// newWarning returns the warning t at file:line.
func newWarning(file string, line int, t i18n.Text) Warning {
	return Warning{File: file, Line: line, Msg: t.String(), Text: t}
}

// In formats the problem as Error does, its message in lang.
func (e *Error) In(lang string) string {
	return (&Error{File: e.File, Line: e.Line, Msg: e.Message().In(lang)}).Error()
}

// Message returns Msg as a message: Text, or Msg as it is.
func (e *Error) Message() i18n.Text { return i18n.Or(e.Text, e.Msg) }

// Error formats it as FILE:LINE: MSG.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// BadInput marks the error as the user's input (the CLI exits 2).
func (*Error) BadInput() {}

// Errors is every problem found in one file, by line.
type Errors []*Error

// Error lists the problems one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// In lists the problems in lang, one a line.
func (es Errors) In(lang string) string { return i18n.Lines(es, lang) }

// BadInput marks Errors as the user's input.
func (Errors) BadInput() {}

// Warning is a keyword lblab does not use, or a value keepalived changes
// as it reads it, with its line.
type Warning struct {
	File string
	Line int
	Msg  string
	// TestFails: keepalived -t reports it and exits 5 (a configuration
	// error), though keepalived runs with it; lblab validate refuses it,
	// the agent and labs run as keepalived does.
	TestFails bool
	// Text is Msg as a message to say in other languages.
	Text i18n.Text
}

// String formats it as FILE:LINE: MSG.
func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg) }

// In formats the warning as String does, its message in lang.
func (w Warning) In(lang string) string {
	return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message().In(lang))
}

// Message returns Msg as a message: Text, or Msg as it is.
func (w Warning) Message() i18n.Text { return i18n.Or(w.Text, w.Msg) }

// node is one statement: its words and, for a block, its children.
type node struct {
	line     int
	words    []string
	children []*node
	block    bool
}

// parseTree splits keepalived.conf into statements. keepalived is line
// based: a statement ends at the end of its line; `{` opens a block (on
// the same line as its keyword, or alone on the next), `}` closes one;
// `#` and `!` start comments; double quotes group words. The lines are
// those of the file and of the files it includes, each with its place.
func parseTree(name string, lines []srcLine) ([]*node, Errors) {
	root := &node{block: true}
	stack := []*node{root}
	var errs Errors
	for _, sl := range lines {
		line := sl.line
		words, err := splitWords(sl.text)
		if err != nil {
			errs = append(errs, newError(name, line, i18n.T("%s", err)))
			continue
		}
		var cur *node
		for _, w := range words {
			top := stack[len(stack)-1]
			switch w {
			case "{":
				if cur == nil {
					// "{" alone on a line opens the previous statement.
					if n := len(top.children); n > 0 && !top.children[n-1].block {
						cur = top.children[n-1]
					} else {
						// Report it, and read the block into a node no one sees.
						errs = append(errs, newError(name, line, i18n.T("{ without a keyword")))
						cur = &node{line: line}
					}
				}
				cur.block = true
				stack = append(stack, cur)
				cur = nil
			case "}":
				if len(stack) == 1 {
					errs = append(errs, newError(name, line, i18n.T("} without a matching {")))
					continue
				}
				stack = stack[:len(stack)-1]
				cur = nil
			default:
				if cur == nil {
					cur = &node{line: line}
					top.children = append(top.children, cur)
				}
				cur.words = append(cur.words, w)
			}
		}
	}
	for _, open := range stack[1:] {
		errs = append(errs, newError(name, open.line, i18n.T("block %q is not closed", strings.Join(open.words, " "))))
	}
	return root.children, errs
}

// splitWords splits one line into words, braces and quoted strings,
// dropping comments.
func splitWords(line string) ([]string, error) {
	var words []string
	var b strings.Builder
	inWord, quoted := false, false
	flush := func() {
		if inWord {
			words = append(words, b.String())
			b.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted:
			if c == '"' {
				quoted = false
				continue
			}
			b.WriteByte(c)
		case c == '"':
			quoted, inWord = true, true
		case c == '#' || c == '!':
			if !inWord {
				flush()
				return words, nil
			}
			b.WriteByte(c)
		case c == '{' || c == '}':
			flush()
			words = append(words, string(c))
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, i18n.Errorf("unterminated quoted string")
	}
	flush()
	return words, nil
}

func sortErrors(errs Errors) Errors {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs
}
