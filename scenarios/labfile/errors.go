package labfile

import (
	"fmt"
	"strings"

	"github.com/lblab/lblab/i18n"
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
	// Text is Msg as a message to say in other languages (In); zero when
	// Msg has no translation (a YAML library's message).
	Text i18n.Text
}

// errorAt returns the problem t at file:line:column, field.
func errorAt(file string, line, column int, field string, t i18n.Text) *Error {
	return &Error{File: file, Line: line, Column: column, Field: field, Msg: t.String(), Text: t}
}

// Message returns Msg as a message: Text, or Msg as it is.
func (e *Error) Message() i18n.Text { return i18n.Or(e.Text, e.Msg) }

// say sets the message to t.
func (e *Error) say(t i18n.Text) { e.Msg, e.Text = t.String(), t }

// maxMsg bounds the message of an Error, in bytes: the place of a problem
// and one line of text, whatever a broken file holds.
const maxMsg = 512

// Error formats the problem as FILE:LINE:COL: FIELD: MSG, with FIELD and
// MSG cut to a line's worth each (a field path may hold a key of the file).
func (e *Error) Error() string { return e.format(e.Msg) }

// In formats the problem as Error does, its message in lang (English or
// Chinese); the place, the field and the values it quotes stay as they
// are.
func (e *Error) In(lang string) string {
	if e.Text.IsZero() {
		return e.Error()
	}
	return e.format(e.Text.In(lang))
}

func (e *Error) format(msg string) string {
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
	b.WriteString(units.CutN(msg, maxMsg))
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

// In lists the problems in lang, one a line.
func (es Errors) In(lang string) string { return i18n.Lines(es, lang) }

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

// In says the problem in lang.
func (e *InputError) In(lang string) string { return i18n.Say(e.Err, lang) }

// BadInput marks InputError as the user's input.
func (*InputError) BadInput() {}
