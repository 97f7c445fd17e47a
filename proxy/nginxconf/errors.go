package nginxconf

import (
	"fmt"
	"strings"

	"github.com/lblab/lblab/i18n"
)

// Error is one problem in an nginx configuration, with its place.
type Error struct {
	// File is the name given to Import (or the path given to ImportFile).
	File string
	// Line is 1-based; 0 when the problem has no line (an unreadable file,
	// a configuration without any upstream or proxy_pass).
	Line int
	// Msg says what is wrong.
	Msg string
	// Text is Msg as a message to say in other languages; zero when Msg
	// has no translation (an operating system's error).
	Text i18n.Text
}

// Error formats the problem as FILE:LINE: MSG (FILE: MSG when Line is 0).
func (e *Error) Error() string { return place(e.File, e.Line) + e.Msg }

// In formats the problem as Error does, its message in lang.
func (e *Error) In(lang string) string { return place(e.File, e.Line) + e.Message().In(lang) }

// Message returns Msg as a message: Text, or Msg as it is.
func (e *Error) Message() i18n.Text { return i18n.Or(e.Text, e.Msg) }

// BadInput marks Error as a problem with what the user gave; the CLI exits
// 2 on it.
func (*Error) BadInput() {}

// Errors is every problem found in one configuration, sorted by line.
type Errors []*Error

// Error lists the problems, one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// In lists the problems in lang, one a line.
func (es Errors) In(lang string) string { return i18n.Lines(es, lang) }

// BadInput marks Errors as problems with what the user gave; the CLI exits
// 2 on them.
func (Errors) BadInput() {}

// Warning is something in the configuration that was accepted but is not
// imported, or imported only approximately (a directive with no effect on
// which backend gets a request, an exact location read as a prefix).
type Warning struct {
	// File is the name given to Import.
	File string
	// Line is 1-based; 0 when the warning has no line.
	Line int
	// Msg says what was ignored or approximated.
	Msg string
	// Text is Msg as a message to say in other languages.
	Text i18n.Text
}

// String formats the warning as FILE:LINE: MSG (FILE: MSG when Line is 0).
func (w Warning) String() string { return place(w.File, w.Line) + w.Msg }

// In formats the warning as String does, its message in lang.
func (w Warning) In(lang string) string { return place(w.File, w.Line) + w.Message().In(lang) }

// Message returns Msg as a message: Text, or Msg as it is.
func (w Warning) Message() i18n.Text { return i18n.Or(w.Text, w.Msg) }

func place(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d: ", file, line)
	}
	return file + ": "
}
