package nginxconf

import (
	"bytes"

	"github.com/lblab/lblab/i18n"
)

// node is one directive: its name, arguments (unquoted and unescaped as
// nginx does), the line of its name, and its block when it has one.
type node struct {
	name    string
	args    []string
	line    int
	isBlock bool
	block   []*node
}

// maxDepth bounds block nesting; real configurations stay far below it.
const maxDepth = 64

// confBuffer is nginx's NGX_CONF_BUFFER: a word, a quoted string (with
// its closing quote) or a comment must fit in it, or nginx refuses it as
// a "too long parameter".
const confBuffer = 4096

// syntaxError is a problem found while reading the text.
type syntaxError struct {
	line int
	msg  i18n.Text
}

// parse reads an nginx configuration into directives, with nginx's own
// grammar (ngx_conf_read_token in src/core/ngx_conf_file.c): words, "double"
// and 'single' quoted strings with backslash escapes, ${var} inside words,
// `;`, `{`, `}`, and # comments that start where a word could start.
func parse(src []byte) ([]*node, *syntaxError) {
	l := &lexer{src: src, line: 1}
	root := &node{}
	stack := []*node{root}
	for {
		words, end, msg := l.statement()
		if !msg.IsZero() {
			return nil, &syntaxError{l.line, msg}
		}
		cur := stack[len(stack)-1]
		switch end {
		case 0:
			if len(stack) > 1 {
				return nil, &syntaxError{l.line, i18n.T(`unexpected end of file, expecting "}"`)}
			}
			return root.block, nil
		case '}':
			if len(stack) == 1 {
				return nil, &syntaxError{l.line, i18n.T(`unexpected "}"`)}
			}
			stack = stack[:len(stack)-1]
		default:
			n := &node{name: words[0].text, line: words[0].line}
			for _, w := range words[1:] {
				n.args = append(n.args, w.text)
			}
			cur.block = append(cur.block, n)
			if end == '{' {
				if len(stack) > maxDepth {
					return nil, &syntaxError{n.line, i18n.T("blocks are nested more than %d deep", maxDepth)}
				}
				n.isBlock = true
				stack = append(stack, n)
			}
		}
	}
}

type word struct {
	text string
	line int
}

type lexer struct {
	src  []byte
	pos  int
	line int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// statement reads the words of one statement and what ended it: ';', '{',
// '}' (with no words), or 0 at the end of the input (with no words). On a
// syntax error it returns nginx's message for it.
func (l *lexer) statement() (words []word, end byte, msg i18n.Text) {
	lastSpace := true
	var needSpace, comment, quoted, sQuoted, dQuoted, variable bool
	start, startLine := l.pos, l.line
	for {
		if l.pos >= len(l.src) {
			if len(words) > 0 || !lastSpace {
				return nil, 0, i18n.T(`unexpected end of file, expecting ";" or "}"`)
			}
			return nil, 0, i18n.Text{}
		}
		if l.pos-start >= confBuffer {
			// ngx_conf_read_token: the text from the start of the word
			// (or comment) fills the whole buffer.
			l.line = startLine
			switch {
			case dQuoted:
				return nil, 0, i18n.T(`too long parameter, probably missing terminating """ character`)
			case sQuoted:
				return nil, 0, i18n.T(`too long parameter, probably missing terminating "'" character`)
			}
			return nil, 0, i18n.T("too long parameter %q started", string(l.src[start:start+10])+"...")
		}
		ch := l.src[l.pos]
		l.pos++
		if ch == '\n' {
			l.line++
			comment = false
		}
		if comment {
			continue
		}
		if quoted {
			quoted = false
			continue
		}
		if needSpace {
			switch {
			case isSpace(ch):
				lastSpace, needSpace = true, false
				continue
			case ch == ';' || ch == '{':
				return words, ch, i18n.Text{}
			case ch == ')':
				lastSpace, needSpace = true, false
			default:
				return nil, 0, i18n.T("unexpected %q", string(ch))
			}
		}
		if lastSpace {
			start, startLine = l.pos-1, l.line
			if isSpace(ch) {
				continue
			}
			switch ch {
			case ';', '{':
				if len(words) == 0 {
					return nil, 0, i18n.T("unexpected %q", string(ch))
				}
				return words, ch, i18n.Text{}
			case '}':
				if len(words) != 0 {
					return nil, 0, i18n.T(`unexpected "}"`)
				}
				return nil, '}', i18n.Text{}
			case '#':
				comment = true
				continue
			case '\\':
				quoted, lastSpace = true, false
				continue
			case '"':
				start++
				dQuoted, lastSpace = true, false
				continue
			case '\'':
				start++
				sQuoted, lastSpace = true, false
				continue
			case '$':
				variable, lastSpace = true, false
				continue
			default:
				lastSpace = false
			}
			continue
		}
		if ch == '{' && variable {
			continue
		}
		variable = false
		if ch == '\\' {
			quoted = true
			continue
		}
		if ch == '$' {
			variable = true
			continue
		}
		found := false
		switch {
		case dQuoted:
			if ch == '"' {
				dQuoted, needSpace, found = false, true, true
			}
		case sQuoted:
			if ch == '\'' {
				sQuoted, needSpace, found = false, true, true
			}
		case isSpace(ch) || ch == ';' || ch == '{':
			lastSpace, found = true, true
		}
		if found {
			words = append(words, word{unescape(l.src[start : l.pos-1]), startLine})
			if ch == ';' || ch == '{' {
				return words, ch, i18n.Text{}
			}
		}
	}
}

// unescape applies nginx's escapes: \" \' \\ stand for the character, \t
// \r \n for the control characters; any other backslash is kept.
func unescape(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] == '\\' && i+1 < len(b) {
			switch b[i+1] {
			case '"', '\'', '\\':
				i++
			case 't':
				out = append(out, '\t')
				i += 2
				continue
			case 'r':
				out = append(out, '\r')
				i += 2
				continue
			case 'n':
				out = append(out, '\n')
				i += 2
				continue
			}
		}
		out = append(out, b[i])
		i++
	}
	return string(out)
}
