package nginxconf

import (
	"fmt"
	"strings"
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
}

// Error formats the problem as FILE:LINE: MSG (FILE: MSG when Line is 0).
func (e *Error) Error() string { return place(e.File, e.Line) + e.Msg }

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
}

// String formats the warning as FILE:LINE: MSG (FILE: MSG when Line is 0).
func (w Warning) String() string { return place(w.File, w.Line) + w.Msg }

func place(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d: ", file, line)
	}
	return file + ": "
}
