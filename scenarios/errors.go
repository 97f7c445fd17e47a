package scenarios

import (
	"fmt"
	"strings"

	"github.com/lblab/lblab/units"
)

// Error is one problem in a lab file, with its place.
type Error struct {
	// File is the lab file's path (or catalog name).
	File string
	// Line and Column are 1-based; 0 when the problem has no place in the
	// file (a --set override, a missing section).
	Line, Column int
	// Field is the field's path, e.g. vrrp.vrrp_instance[1].priority.
	Field string
	// Msg says what is wrong.
	Msg string
}

// maxMsg bounds the message of an Error, in bytes: the place of a problem
// and one line of text, whatever a broken file holds.
const maxMsg = 512

// Error formats the problem as FILE:LINE:COL: FIELD: MSG, with FIELD and
// MSG cut to a line's worth each (a field path may hold a key of the file).
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(units.CutN(e.Field, 2*units.QuoteMax))
		b.WriteString(": ")
	}
	b.WriteString(units.CutN(e.Msg, maxMsg))
	return b.String()
}

// Errors is every problem found in one lab file, in file order.
type Errors []*Error

// Error lists the problems one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// BadInput is implemented by errors caused by what the user gave (a lab
// file, a flag); the CLI exits 2 on them.
type BadInput interface{ BadInput() }

// BadInput marks Errors as the user's input.
func (Errors) BadInput() {}

// InputError wraps a problem with the command line or an input file that
// has no line to point at.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// BadInput marks InputError as the user's input.
func (*InputError) BadInput() {}
